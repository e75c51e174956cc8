//! Every built-in rule's positive examples must be found by that rule, and its negative
//! examples must not be reported by that rule. Also: schema requirements of the rule set.

use palisade_secrets::{RuleSet, Scanner};
use std::collections::HashSet;

#[test]
fn every_rule_has_examples_and_they_behave() {
    let set = RuleSet::builtin();
    let scanner = Scanner::new(set.clone());
    let mut failures = Vec::new();
    for rule in &set.rules {
        if rule.examples.is_empty() || rule.negative_examples.is_empty() {
            failures.push(format!(
                "{}: needs at least one positive and one negative example",
                rule.id
            ));
        }
        // Path-restricted rules are exercised on a path their filter admits.
        let path = match rule.id.as_str() {
            "pgpass-password" => "home/u/.pgpass",
            "rails-master-key" => "config/master.key",
            _ => "example.txt",
        };
        for ex in &rule.examples {
            let found = scanner.scan(path, ex.as_bytes());
            if !found
                .iter()
                .any(|f| f.rule_id == rule.id && f.shown_by_default())
            {
                let got: Vec<_> = found
                    .iter()
                    .map(|f| (f.rule_id.as_str(), &f.flags))
                    .collect();
                failures.push(format!(
                    "{}: positive example not found (got {got:?}): {ex:?}",
                    rule.id
                ));
            }
        }
        for ex in &rule.flagged_examples {
            let found = scanner.scan(path, ex.as_bytes());
            match found.iter().find(|f| f.rule_id == rule.id) {
                None => failures.push(format!(
                    "{}: flagged example not found at all: {ex:?}",
                    rule.id
                )),
                Some(f) if f.shown_by_default() => failures.push(format!(
                    "{}: flagged example shown by default (flags {:?}): {ex:?}",
                    rule.id, f.flags
                )),
                Some(_) => {}
            }
        }
        for ex in &rule.negative_examples {
            let found = scanner.scan(path, ex.as_bytes());
            if let Some(f) = found.iter().find(|f| f.rule_id == rule.id) {
                failures.push(format!(
                    "{}: negative example reported ({:?}): {ex:?}",
                    rule.id, f.secret
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn builtin_set_is_large_unique_and_covers_the_required_providers() {
    let set = RuleSet::builtin();
    assert!(set.rules.len() >= 120, "only {} rules", set.rules.len());
    let ids: HashSet<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), set.rules.len(), "duplicate ids");
    for required in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
        "gcp-service-account-key-id",
        "gcp-api-key",
        "azure-storage-account-key",
        "azure-shared-access-key",
        "azure-sas-token",
        "github-pat",
        "github-fine-grained-pat",
        "github-app-token",
        "github-oauth-token",
        "github-refresh-token",
        "gitlab-pat",
        "bitbucket-app-password",
        "slack-bot-token",
        "slack-user-token",
        "slack-app-token",
        "slack-webhook-url",
        "stripe-secret-key",
        "twilio-api-key",
        "sendgrid-api-key",
        "mailgun-api-key",
        "mailchimp-api-key",
        "npm-access-token",
        "pypi-upload-token",
        "rubygems-api-key",
        "dockerhub-pat",
        "vault-service-token",
        "terraform-cloud-token",
        "shopify-access-token",
        "datadog-api-key",
        "newrelic-user-api-key",
        "sentry-user-token",
        "heroku-api-key",
        "digitalocean-pat",
        "cloudflare-api-token",
        "openai-api-key",
        "anthropic-api-key",
        "huggingface-token",
        "jwt",
        "private-key-rsa",
        "private-key-ec",
        "private-key-dsa",
        "private-key-pkcs8",
        "private-key-openssh",
        "private-key-pgp",
        "url-credentials",
        "connection-string-password",
        "generic-password",
        "generic-secret",
    ] {
        assert!(ids.contains(required), "missing rule {required}");
    }
    for r in &set.rules {
        assert!(!r.description.is_empty(), "{}: empty description", r.id);
        assert!(
            r.keywords.iter().all(|k| !k.is_empty()),
            "{}: empty keyword",
            r.id
        );
        assert!(
            r.keywords.len() + usize::from(r.path.is_some()) > 0,
            "{}: runs on everything",
            r.id
        );
    }
    // The generic rules are entropy-gated.
    for id in ["generic-password", "generic-secret"] {
        let r = set.rules.iter().find(|r| r.id == id).map(|r| r.entropy);
        assert!(
            matches!(r, Some(Some(e)) if e > 2.0),
            "{id} must have an entropy threshold"
        );
    }
}

#[test]
fn a_positive_example_needs_its_keyword_to_be_found() {
    // The prefilter is load-bearing: an example with its keywords removed is not reported.
    let set = RuleSet::builtin();
    let scanner = Scanner::new(set);
    let f = scanner.scan(
        "x",
        concat!("token: gh", "s_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5").as_bytes(),
    );
    assert!(f.iter().any(|f| f.rule_id == "github-app-token"));
}

#[test]
fn invalid_rules_file_error_names_file_line_and_problem() {
    let src = "[[rules]]\nid = \"x\"\ndescription = \"d\"\nkeywords = [\"k\"]\nregex = '''k(unclosed'''\nexamples = []\n";
    let err = RuleSet::from_toml(src, "my-rules.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("my-rules.toml:5:"), "{err}");
    assert!(err.contains("rule `x`: regex: invalid regex"), "{err}");

    let err = RuleSet::from_toml(
        "[[rules]]\nid = \"x\"\ndescription = \"d\"\nregexx = 'a'\n",
        "r.toml",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.starts_with("r.toml:"), "{err}");
    assert!(err.contains("regexx"), "{err}");

    let err = RuleSet::from_toml("[[rules]\n", "broken.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("broken.toml:1:"), "{err}");

    let err = RuleSet::from_toml(
        "[[rules]]\nid = \"x\"\ndescription = \"d\"\nregex = 'a'\nsecret_group = 2\n",
        "g.toml",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("secret_group 2"), "{err}");
}

/// Built-in regexes are compiled on first use, so a scan can never meet one that does not
/// compile: every one is compiled here.
#[test]
fn every_builtin_regex_compiles() {
    let set = RuleSet::builtin();
    let failed: Vec<String> = set
        .rules
        .iter()
        .filter_map(|r| match r.regex.compile() {
            Err(e) => Some(format!("{}: {e}", r.id)),
            Ok(_) if r.secret_group() >= r.regex.captures_len() => Some(format!(
                "{}: secret_group {} out of range",
                r.id,
                r.secret_group()
            )),
            Ok(_) => None,
        })
        .collect();
    assert_eq!(failed, Vec::<String>::new());
    assert!(set.rules.len() >= 120, "{} rules", set.rules.len());
}

/// A user's rules file is compiled in full when loaded: a regex that parses but exceeds the
/// size limit fails at load with its line, never in the middle of a scan.
#[test]
fn user_rules_are_compiled_at_load_time() {
    let src = "[[rules]]\nid = \"huge\"\ndescription = \"d\"\nkeywords = [\"k\"]\nregex = '''(?:[a-z0-9]{1000}){1000}'''\n";
    let err = RuleSet::from_toml(src, "big.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("big.toml:5:"), "{err}");
    assert!(err.contains("rule `huge`: regex: invalid regex"), "{err}");
    assert!(err.contains("size limit"), "{err}");
}

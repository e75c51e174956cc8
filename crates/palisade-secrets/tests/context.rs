//! Issue 18: confidence and context flags. Example values, placeholders, references,
//! localhost credentials and values equal to their key are found (`--all` shows them) but not
//! shown by default; test, example and docs paths hide a finding without changing its
//! confidence. All values are synthetic.

use palisade_secrets::rules::{Confidence, Flag};
use palisade_secrets::{Finding, RuleSet, Scanner};

const GH: &str = concat!("gh", "p_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");

fn scan(path: &str, text: &str) -> Vec<Finding> {
    Scanner::new(RuleSet::builtin()).scan(path, text.as_bytes())
}

/// The line's single finding, which must carry `flag`, be low confidence and be hidden.
#[track_caller]
fn flagged(text: &str, flag: Flag) -> Finding {
    let f = scan("src/app.txt", text);
    assert_eq!(f.len(), 1, "{text:?} -> {f:?}");
    let f = f.into_iter().next().unwrap_or_else(|| unreachable!());
    assert!(f.flags.contains(&flag), "{text:?}: {:?}", f.flags);
    assert_eq!(f.confidence, Confidence::Low, "{text:?}");
    assert!(!f.shown_by_default(), "{text:?}");
    f
}

#[test]
fn provider_formats_are_high_and_generic_assignments_medium() {
    let f = scan("src/a.rs", &format!("let t = \"{GH}\";"));
    assert_eq!((f[0].confidence, f[0].flags.len()), (Confidence::High, 0));
    assert!(f[0].shown_by_default());
    let f = scan("src/a.py", "api_key = \"q8Zr2LmX0vB7nT4kW9sE1cY6\"");
    assert_eq!(f[0].confidence, Confidence::Medium);
    assert!(f[0].shown_by_default());
}

#[test]
fn values_containing_fake_are_flagged_not_dropped() {
    flagged("password = \"FAKE-Xk9#mQ2vL7pR\"", Flag::ExampleValue);
    flagged(
        "api_key = \"fake_q8Zr2LmX0vB7nT4kW9sE1cY6\"",
        Flag::ExampleValue,
    );
}

#[test]
fn aws_documented_example_keys_are_flagged() {
    let f = flagged(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", // palisade:allow (synthetic test vector)
        Flag::ExampleValue,
    );
    assert_eq!(f.rule_id, "aws-access-key-id");
    let f = flagged(
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", // palisade:allow (synthetic test vector)
        Flag::ExampleValue,
    );
    assert_eq!(f.rule_id, "aws-secret-access-key");
}

#[test]
fn interpolations_and_references_are_not_values() {
    flagged(
        "<a set-password-enabled=\"$vm.canSetPass\">",
        Flag::Reference,
    );
}

#[test]
fn a_value_equal_to_its_key_is_flagged() {
    let f = flagged(
        "Teams(name=name, password=\"password\")",
        Flag::ValueEqualsKey,
    );
    assert_eq!(f.rule_id, "xml-password-attribute");
}

#[test]
fn localhost_credentials_are_flagged() {
    let f = flagged(
        "see postgres://admin:admin@localhost:5432/app", // palisade:allow (synthetic test vector)
        Flag::Localhost,
    );
    assert!(f.flags.contains(&Flag::ValueEqualsKey), "{:?}", f.flags);
}

#[test]
fn placeholder_shapes_are_flagged() {
    let ctx = RuleSet::builtin().context;
    for v in [
        "deadbeefdeadbeef00",
        "sk_live_xxxxxxxxxxxxxxxxxxxx",
        "changeme-2024",
        "<YOUR_API_KEY>",
        "your-api-key-here",
        "********",
        "abababab",
    ] {
        let flags = ctx.value_flags(v.as_bytes(), b"api_key", v.as_bytes());
        assert!(flags.contains(&Flag::Placeholder), "{v}: {flags:?}");
    }
    for v in ["q8Zr2LmX0vB7nT4kW9sE1cY6", "Xk9#mQ2vL7pR", GH] {
        let flags = ctx.value_flags(v.as_bytes(), b"api_key", v.as_bytes());
        assert!(flags.is_empty(), "{v}: {flags:?}");
    }
}

#[test]
fn test_example_and_docs_paths_hide_without_lowering_confidence() {
    let line = format!("token = \"{GH}\"\n");
    for (path, flag) in [
        ("tests/fixtures/config.py", Flag::TestPath),
        ("pkg/client_test.go", Flag::TestPath),
        ("src/auth.test.ts", Flag::TestPath),
        ("src/test/java/AuthTest.java", Flag::TestPath),
        ("examples/quickstart.py", Flag::ExamplePath),
        (".env.example", Flag::ExamplePath),
        ("docs/setup.md", Flag::DocsPath),
        ("frontend/src/assets/i18n/nl_NL.json", Flag::LocalePath),
        ("config/locales/de.yml", Flag::LocalePath),
        ("t/t5550-http-fetch-dumb.sh", Flag::TestPath),
        ("internal/testutil/registry/registry.go", Flag::TestPath),
        ("hpke-0.12.0/test-vectors-5f503c5.json", Flag::TestPath),
        ("openpgp/keys_test_data.go", Flag::TestPath),
        ("contrib/credential/netrc/test.netrc", Flag::TestPath),
        ("pem/benches/pem_benchmark.rs", Flag::TestPath),
        ("README.md", Flag::DocsPath),
        ("guides/source/command_line.md", Flag::DocsPath),
        (
            "framework-docs/modules/ROOT/pages/beans.adoc",
            Flag::DocsPath,
        ),
        ("api/swagger.yaml", Flag::DocsPath),
        (
            "vendor/github.com/fernet/fernet-go/verify.json",
            Flag::VendorPath,
        ),
        ("third_party/zlib/config.h", Flag::VendorPath),
    ] {
        let f = scan(path, &line);
        assert_eq!(f.len(), 1, "{path}");
        assert!(f[0].flags.contains(&flag), "{path}: {:?}", f[0].flags);
        assert_eq!(f[0].confidence, Confidence::High, "{path}");
        assert!(!f[0].shown_by_default(), "{path}");
    }
    for path in [
        "src/latest.py",
        "src/contest/app.py",
        "attestation.rs",
        "src/t.rs",
        "pkg/protest_data.go",
        "docsify.config.js",
        "vendors.py",
        "config/settings.yml",
        "notes.txt",
    ] {
        let f = scan(path, &line);
        assert!(f[0].flags.is_empty(), "{path}: {:?}", f[0].flags);
        assert!(f[0].shown_by_default(), "{path}");
    }
}

#[test]
fn context_data_comes_from_the_rules_file_and_a_config_can_extend_it() {
    let mut set = RuleSet::builtin();
    let extra = RuleSet::from_toml(
        "[context]\nexample_values = [\"q8Zr2LmX0vB7nT4kW9sE1cY6\"]\ntest_paths = ['''^qa/''']\n",
        "extra.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    set.merge(extra);
    let s = Scanner::new(set);
    let f = s.scan("src/a.py", b"api_key = \"q8Zr2LmX0vB7nT4kW9sE1cY6\"");
    assert_eq!(f[0].flags, vec![Flag::ExampleValue]);
    let f = s.scan("qa/a.rs", format!("t = \"{GH}\"").as_bytes());
    assert_eq!(f[0].flags, vec![Flag::TestPath]);
    let err = RuleSet::from_toml("[context]\nplaceholders = ['''(''']\n", "bad.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("bad.toml:2:"), "{err}");
}

#[test]
fn per_rule_char_class_minimum_is_data() {
    let set = RuleSet::from_toml(
        "[[rules]]\nid = \"k\"\ndescription = \"k\"\nkeywords = [\"k=\"]\nregex = '''k=(\\w+)'''\nmin_char_classes = 3\n",
        "r.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = Scanner::new(set);
    assert!(s.scan("a", b"k=abcdefgh12").is_empty());
    assert_eq!(s.scan("a", b"k=abcDEFgh12").len(), 1);
}

/// Where in a file: a Rust file's tests (after `#[cfg(test)]`) and documentation comments are
/// context, like a test or docs path; a commented line of a configuration file is not (it is
/// often a real value switched off).
#[test]
fn test_code_and_doc_comments_hide_but_commented_config_does_not() {
    let rust = format!(
        "fn main() {{\n    let t = \"{GH}\";\n}}\n#[cfg(test)]\nmod tests {{\n    const T: &str = \"{GH}\";\n}}\n"
    );
    let f = scan("src/lib.rs", &rust);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f[0].flags.is_empty(), "{:?}", f[0].flags);
    assert!(f[0].shown_by_default());
    assert_eq!(f[1].flags, vec![Flag::TestCode]);
    assert!(!f[1].shown_by_default());

    for (path, line) in [
        ("src/lib.rs", format!("/// let token = \"{GH}\";")),
        ("src/lib.rs", format!("//! let token = \"{GH}\";")),
        ("src/Auth.java", format!("     * token = \"{GH}\"")),
        ("lib/secure_password.rb", format!("#   token: \"{GH}\"")),
        ("app/models.py", format!("    # token = \"{GH}\"")),
    ] {
        let f = scan(path, &line);
        assert_eq!(f.len(), 1, "{path}: {line}");
        assert_eq!(f[0].flags, vec![Flag::DocComment], "{path}: {line}");
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(!f[0].shown_by_default(), "{path}: {line}");
    }
    for (path, line) in [
        ("config/app.yml", format!("# token: {GH}")),
        (".env", format!("# GH_TOKEN={GH}")),
        ("src/lib.rs", format!("// let token = \"{GH}\";")),
        ("src/main.go", format!("token := \"{GH}\" // the bot's")),
    ] {
        let f = scan(path, &line);
        assert_eq!(f.len(), 1, "{path}: {line}");
        assert!(f[0].flags.is_empty(), "{path}: {:?}", f[0].flags);
        assert!(f[0].shown_by_default(), "{path}: {line}");
    }
}

/// A base64 value that encodes text saying it is fake is an example; a base64 key is not.
#[test]
fn base64_text_that_says_it_is_fake_is_an_example() {
    let ctx = RuleSet::builtin().context;
    let fake = b"dGhpcyBpcyBhIGZha2UgYmVhcmVyIHRva2VuIQ==";
    assert!(
        ctx.value_flags(fake, b"token", fake)
            .contains(&Flag::ExampleValue)
    );
    let key = b"q8Zr2LmX0vB7nT4kW9sE1cY6aB3dE5gH7jK9mN1pQ3s=";
    assert!(ctx.value_flags(key, b"token", key).is_empty());
    for v in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0123456789",
        "creation1234567890x",
        "hunter2",
        "Aladdin:opensesame@y.ep",
    ] {
        let flags = ctx.value_flags(v.as_bytes(), b"token", v.as_bytes());
        assert!(flags.contains(&Flag::Placeholder), "{v}: {flags:?}");
    }
}

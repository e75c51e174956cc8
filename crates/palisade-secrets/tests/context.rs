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
        "README.md",
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

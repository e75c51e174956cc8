//! The condition language: what each form means, and how a mistake is reported.

use palisade_threat::cond::{MAX_DEPTH, parse};
use serde_json::{Value, json};

fn holds(cond: &str, element: Value) -> bool {
    let root = json!({ "element": element });
    parse(cond)
        .unwrap_or_else(|e| panic!("{cond}: {e}"))
        .eval(&root, &mut Vec::new())
}

#[test]
fn each_form_means_what_the_docs_say() {
    let e = json!({
        "internet_facing": true, "authentication": "password", "technology": "PostgreSQL database",
        "tags": ["legacy", "pci"], "confidentiality": "high", "inbound": 3, "encryption_at_rest": null
    });
    for (cond, want) in [
        ("element.internet_facing", true),
        ("element.encryption_at_rest", false),
        ("not element.encryption_at_rest", true),
        ("element.encryption_at_rest is not set", true),
        ("element.authentication is set", true),
        ("element.authentication == \"password\"", true),
        ("element.authentication != 'password'", false),
        ("element.authentication in [\"none\", \"password\"]", true),
        (
            "element.authentication not in [\"none\", \"password\"]",
            false,
        ),
        ("element.tags contains \"pci\"", true),
        ("element.tags contains \"gdpr\"", false),
        ("element.technology contains \"database\"", true),
        ("element.technology contains \"DATABASE\"", true),
        ("element.confidentiality >= \"high\"", true),
        ("element.confidentiality > \"high\"", false),
        ("element.confidentiality < \"critical\"", true),
        ("element.inbound > 2", true),
        ("element.inbound <= 2", false),
        // Unset compares with nothing: no level is below an unset one.
        ("element.integrity < \"critical\"", false),
        // `and` binds tighter than `or`; `not` tighter than both.
        (
            "element.internet_facing or element.inbound > 5 and false",
            true,
        ),
        (
            "(element.internet_facing or element.inbound > 5) and false",
            false,
        ),
        ("not element.internet_facing or true", true),
        ("not (element.internet_facing or true)", false),
    ] {
        assert_eq!(holds(cond, e.clone()), want, "{cond}");
    }
}

#[test]
fn a_trace_names_every_attribute_read_once() {
    let root = json!({ "element": { "a": true, "b": null } });
    let mut trace = Vec::new();
    parse("element.a and not element.b and element.a")
        .unwrap()
        .eval(&root, &mut trace);
    assert_eq!(
        trace,
        vec![
            ("element.a".to_string(), json!(true)),
            ("element.b".to_string(), Value::Null)
        ]
    );
}

#[test]
fn mistakes_are_reported_at_their_column() {
    for (cond, column, wanted) in [
        ("element.a = 1", 11, "use `==`"),
        ("element.a && element.b", 11, "`and`"),
        ("element.a and", 14, "ends too early"),
        ("element.a or or", 14, "found `or`"),
        ("(element.a", 1, "not closed"),
        ("element.a in \"x\"", 14, "takes a list"),
        ("element.a not element.b", 15, "expected `in`"),
        ("element.a is present", 14, "expected `set`"),
        ("\"open", 1, "closing quote"),
        ("element.a element.b", 11, "expected `and`"),
        ("element.", 9, "attribute name"),
        ("element.a == $x", 14, "no meaning"),
    ] {
        let e = parse(cond).unwrap_err();
        assert_eq!(e.column, column, "{cond}: {e}");
        assert!(e.message.contains(wanted), "{cond}: {e}");
    }
}

#[test]
fn deep_or_long_conditions_are_refused_not_recursed_into() {
    let deep = format!(
        "{}element.a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(parse(&deep).unwrap_err().message.contains("nested"));
    let nots = format!("{}element.a", "not ".repeat(1000));
    assert!(parse(&nots).is_err());
    let long = "element.a or ".repeat(400) + "element.a";
    assert!(parse(&long).unwrap_err().message.contains("at most"));
}

proptest::proptest! {
    /// Any text parses or is refused; nothing panics.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s).map(|e| e.eval(&json!({"element": {}}), &mut Vec::new()));
    }
}

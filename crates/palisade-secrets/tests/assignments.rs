//! Issue 18: secrets written in ordinary code, one line each. Every shape here was missed (or
//! misread) once; each test names the shape. All values are synthetic.

use palisade_secrets::{Finding, RuleSet, Scanner};

fn scan(path: &str, text: &str) -> Vec<Finding> {
    Scanner::new(RuleSet::builtin()).scan(path, text.as_bytes())
}

/// The single finding of `text`: its rule and secret.
#[track_caller]
fn one(text: &str) -> (String, String) {
    let f = scan("src/app.txt", text);
    assert_eq!(f.len(), 1, "{text:?} -> {f:?}");
    (f[0].rule_id.clone(), f[0].secret.clone())
}

#[track_caller]
fn none(text: &str) {
    let f = scan("src/app.txt", text);
    assert!(f.is_empty(), "{text:?} -> {f:?}");
}

#[test]
fn go_short_variable_declaration() {
    assert_eq!(
        one("my_password := \"Xk9#mQ2vL7pR\""),
        ("generic-password".into(), "Xk9#mQ2vL7pR".into())
    );
    assert_eq!(
        one("\tapiToken := \"q8Zr2LmX0vB7nT4kW9sE1cY6\""),
        ("generic-secret".into(), "q8Zr2LmX0vB7nT4kW9sE1cY6".into())
    );
}

#[test]
fn subscript_assignments() {
    for line in [
        "config[\"password\"] = \"Xk9#mQ2vL7pR\"",
        "DATABASES['default']['PASSWORD'] = 'Xk9#mQ2vL7pR'", // palisade:allow (synthetic test vector)
        "$cfg['db_password'] = 'Xk9#mQ2vL7pR';", // palisade:allow (synthetic test vector)
    ] {
        assert_eq!(
            one(line),
            ("generic-password".into(), "Xk9#mQ2vL7pR".into()),
            "{line}"
        );
    }
    assert_eq!(
        one("os.environ[\"API_TOKEN\"] = \"q8Zr2LmX0vB7nT4kW9sE1cY6\""),
        ("generic-secret".into(), "q8Zr2LmX0vB7nT4kW9sE1cY6".into())
    );
}

#[test]
fn backtick_quoted_values() {
    assert_eq!(
        one("const apiKey = `q8Zr2LmX0vB7nT4kW9sE1cY6`;"), // palisade:allow (synthetic test vector)
        ("generic-secret".into(), "q8Zr2LmX0vB7nT4kW9sE1cY6".into())
    );
    assert_eq!(
        one("dbPassword := `Xk9#mQ2vL7pR`"), // palisade:allow (synthetic test vector)
        ("generic-password".into(), "Xk9#mQ2vL7pR".into())
    );
}

#[test]
fn unquoted_values_with_their_digits_at_the_end() {
    assert_eq!(
        one("TOKEN=YXNkZmZmZmZm_HARDcoded02"),
        ("generic-secret".into(), "YXNkZmZmZmZm_HARDcoded02".into())
    );
}

#[test]
fn aws_key_without_the_word_secret() {
    assert_eq!(
        one("aws_key = \"6RxrrBR7RZ53l3a/rfzk1J/o82PYnILGwQGvBSBB\""),
        (
            "aws-secret-access-key".into(),
            "6RxrrBR7RZ53l3a/rfzk1J/o82PYnILGwQGvBSBB".into()
        )
    );
}

#[test]
fn comparisons_are_not_assignments() {
    none("if(\"password\"===e.type){return}");
    none("if (\"password\"==e.type) {");
    none("if password == \"Xk9#mQ2vL7pR\":");
    none("if (token != \"q8Zr2LmX0vB7nT4kW9sE1cY6\") {");
    none("return secret !== q8Zr2LmX0vB7nT4kW9sE1cY6;");
    none("api_key >= 4242424242424242424242");
}

#[test]
fn an_empty_npmrc_token_does_not_read_into_the_next_line() {
    none("//registry.npmjs.org/:_authToken=\nbXlzZWNyZXRub3RhdG9rZW5qdXN0YWxpbmUx\n");
    none("_auth =\nbXlzZWNyZXRub3RhdG9rZW5qdXN0YWxpbmUx\n");
}

#[test]
fn opaque_bearer_tokens_in_calls_and_headers() {
    assert_eq!(
        one("let c = Client::new().bearer_auth(\"A1Freo9s8VttghMMXwU7mo31GcKnlDd\");"), // palisade:allow (synthetic test vector)
        (
            "bearer-token".into(),
            "A1Freo9s8VttghMMXwU7mo31GcKnlDd".into()
        )
    );
    assert_eq!(
        one("curl -H 'Authorization: Bearer A1Freo9s8VttghMMXwU7mo31GcKnlDd' https://api"), // palisade:allow (synthetic test vector)
        (
            "bearer-token".into(),
            "A1Freo9s8VttghMMXwU7mo31GcKnlDd".into()
        )
    );
    none("headers = {\"Authorization\": \"Bearer \" + token}");
    none("Authorization: Bearer ${API_TOKEN}");
    none("// send the Bearer token in the Authorization header");
}

//! The served OpenAPI document, walked whole as a client generator (or schemathesis, in CI) reads
//! it: every body has a real schema, every reference resolves, every error is a problem detail,
//! every request that can be malformed documents its 400, and values carry their formats.

mod common;

use common::spawn;
use palisade_server::routes::alerts::is_intake_path;
use serde_json::Value;

async fn document() -> Value {
    let app = spawn().await;
    let r = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, reqwest::StatusCode::OK);
    r.body
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m, path.as_str(), op));
            }
        }
    }
    assert!(out.len() > 40, "only {} operations documented", out.len());
    out
}

/// Collect the places (JSON pointers) under `at` where `schema` says nothing about its value: an
/// object (or an untyped schema) with no `properties`, `additionalProperties`, `$ref`,
/// `allOf`/`oneOf`/`anyOf`, `enum` or `const`.
fn untyped(schema: &Value, at: &str, out: &mut Vec<String>) {
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(true) => return out.push(at.to_string()),
        _ => return,
    };
    if obj.contains_key("$ref") {
        return;
    }
    for k in ["allOf", "oneOf", "anyOf"] {
        for (i, s) in obj
            .get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            untyped(s, &format!("{at}/{k}/{i}"), out);
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, s) in props {
            untyped(s, &format!("{at}/properties/{name}"), out);
        }
    }
    if let Some(s @ Value::Object(_)) = obj.get("additionalProperties") {
        untyped(s, &format!("{at}/additionalProperties"), out);
    }
    for k in ["items", "not"] {
        if let Some(s) = obj.get(k) {
            untyped(s, &format!("{at}/{k}"), out);
        }
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let described = [
        "properties",
        "additionalProperties",
        "allOf",
        "oneOf",
        "anyOf",
        "enum",
        "const",
    ]
    .iter()
    .any(|k| obj.contains_key(*k));
    if (types.is_empty() || types.contains(&"object")) && !described {
        out.push(at.to_string());
    }
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[tokio::test]
async fn every_body_parameter_and_component_has_a_real_schema() {
    let doc = document().await;
    let mut found = Vec::new();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components");
    for (name, s) in schemas {
        untyped(s, &format!("#/components/schemas/{name}"), &mut found);
    }
    for (m, path, op) in operations(&doc) {
        let at = format!("#/paths/{}/{m}", escape(path));
        for (ct, c) in op["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let s = c.get("schema").expect("a request body has a schema");
            untyped(
                s,
                &format!("{at}/requestBody/content/{}", escape(ct)),
                &mut found,
            );
        }
        for (status, r) in op["responses"].as_object().expect("responses") {
            for (ct, c) in r["content"].as_object().into_iter().flatten() {
                let Some(s) = c.get("schema") else {
                    found.push(format!("{at}/responses/{status}/content/{ct}: no schema"));
                    continue;
                };
                let at = format!("{at}/responses/{status}/content/{}", escape(ct));
                untyped(s, &at, &mut found);
            }
        }
        for (i, p) in op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            untyped(&p["schema"], &format!("{at}/parameters/{i}"), &mut found);
        }
    }
    assert!(found.is_empty(), "untyped schemas:\n{}", found.join("\n"));

    // And the walk did reach what used to be untyped.
    for (schema, prop) in [
        ("IncidentView", "communications"),
        ("IncidentView", "postmortem"),
        ("StatementView", "revisions"),
        ("CommunicationsView", "status"),
        ("LedgerRow", "event"),
    ] {
        assert!(
            schemas[schema]["properties"][prop].is_object(),
            "{schema}.{prop} is not documented"
        );
    }
    for c in [
        "CommsStatus",
        "PostmortemSummary",
        "PostmortemReport",
        "EvidenceState",
        "AccessOutcome",
        "AccessResult",
        "StatementRevision",
        "IncidentEvent",
        "Payload",
        "Playbook",
    ] {
        assert!(schemas.contains_key(c), "no component {c}");
    }
    // The event body: both envelope formats, and one variant per payload type.
    assert_eq!(
        schemas["IncidentEvent"]["oneOf"].as_array().unwrap().len(),
        2
    );
    let variants = schemas["Payload"]["oneOf"].as_array().unwrap();
    let tags: Vec<&str> = variants
        .iter()
        .map(|v| v["properties"]["type"]["enum"][0].as_str().unwrap())
        .collect();
    for t in [
        "declared",
        "step_done",
        "evidence_acquired",
        "evidence_accessed",
        "evidence_access_verified",
        "evidence_access_incomplete",
        "evidence_integrity_failed",
        "action_item_done",
    ] {
        assert!(tags.contains(&t), "Payload lacks {t}: {tags:?}");
    }
}

/// Every `$ref` in `v`, with where it is.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "$ref"
                    && let Some(r) = x.as_str()
                {
                    out.push((at.clone(), r));
                } else {
                    refs(x, format!("{at}/{}", escape(k)), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_resolves() {
    let doc = document().await;
    let mut all = Vec::new();
    refs(&doc, "#".into(), &mut all);
    assert!(!all.is_empty());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let dangling: Vec<String> = all
        .iter()
        .filter(|(_, r)| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .map(|(at, r)| format!("{at} -> {r}"))
        .collect();
    assert!(
        dangling.is_empty(),
        "dangling references:\n{}",
        dangling.join("\n")
    );
}

/// The response to `GET target` sent as raw HTTP/1.1 (head and body, as text).
async fn raw_get(url: &str, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn errors_are_problem_details_and_malformable_requests_document_400() {
    let app = spawn().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    // The one error that is not a problem detail: the HTTP server refuses an over-long URI itself
    // (written by hand: HTTP clients refuse to send one).
    let answer = raw_get(&app.url, &format!("/api/v1/me?x={}", "a".repeat(70_000))).await;
    assert!(
        answer.starts_with("HTTP/1.1 414 "),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        answer.to_ascii_lowercase().contains("content-length: 0"),
        "{answer}"
    );

    let mut wrong = Vec::new();
    for (m, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        if !responses.keys().any(|s| s.starts_with('2')) {
            wrong.push(format!("{m} {path}: no success response"));
        }
        let has = |s: &str| responses.contains_key(s);
        let mut need = |cond: bool, status: &str, why: &str| {
            if cond && !has(status) {
                wrong.push(format!("{m} {path}: no {status} ({why})"));
            }
        };
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let json_body = op["requestBody"]["content"]["application/json"].is_object();
        let query = params.iter().any(|p| p["in"] == "query");
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        need(json_body, "400", "a JSON body can be malformed");
        need(json_body, "413", "a JSON body can be too large");
        // (The Events API answers a wrong shape with 400, as PagerDuty does.)
        need(
            json_body && !is_intake_path(path),
            "422",
            "a JSON body can have the wrong shape",
        );
        need(
            query,
            "400",
            "a query string can be malformed or carry unknown parameters",
        );
        need(secured, "401", "it needs a token");
        need(true, "414", "any URI can be too long");
        for (status, r) in responses {
            if !status.starts_with(['4', '5']) {
                continue;
            }
            let content = r["content"].as_object();
            let types: Vec<&String> = content.into_iter().flatten().map(|(k, _)| k).collect();
            if status == "414" {
                // The HTTP server's own refusal of an over-long URI: no body at all.
                if !types.is_empty() {
                    wrong.push(format!("{m} {path} 414: content types {types:?}"));
                }
            } else if is_intake_path(path) {
                // The Events API answers its errors as PagerDuty does (clients parse that).
                if types != ["application/json"]
                    || r["content"]["application/json"]["schema"]["$ref"]
                        != "#/components/schemas/EventRefused"
                {
                    wrong.push(format!("{m} {path} {status}: not the Events API's error"));
                }
            } else if types != ["application/problem+json"] {
                wrong.push(format!("{m} {path} {status}: content types {types:?}"));
            } else if r["content"]["application/problem+json"]["schema"]["$ref"]
                != "#/components/schemas/Problem"
            {
                wrong.push(format!("{m} {path} {status}: not the Problem schema"));
            }
            if r["description"].as_str().is_none_or(str::is_empty) {
                wrong.push(format!("{m} {path} {status}: no description"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `schema`, with a `$ref` (or a nullable `oneOf` around one) followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(alts) = schema["oneOf"].as_array() {
        let non_null: Vec<&Value> = alts.iter().filter(|a| a["type"] != "null").collect();
        if let [one] = non_null[..] {
            return resolve(doc, one);
        }
    }
    schema
}

#[tokio::test]
async fn values_carry_their_enums_formats_and_bounds() {
    let doc = document().await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut wrong = Vec::new();

    // Times are date-times, wherever they are.
    for (name, s) in schemas {
        for (prop, p) in s["properties"].as_object().into_iter().flatten() {
            if !(prop.ends_with("_at") || ["at", "until", "now"].contains(&prop.as_str())) {
                continue;
            }
            let p = resolve(&doc, p);
            if p["format"] != "date-time" {
                wrong.push(format!("{name}.{prop} is not a date-time: {p}"));
            }
        }
    }
    // Severities, kinds, statuses and roles are enums.
    for (schema, prop) in [
        ("IncidentView", "severity"),
        ("IncidentView", "kind"),
        ("IncidentView", "status"),
        ("IncidentListItem", "severity"),
        ("IncidentListItem", "kind"),
        ("IncidentListItem", "status"),
        ("StepView", "status"),
        ("StatementView", "state"),
        ("TokenView", "role"),
        ("Me", "role"),
        ("DeclareRequest", "severity"),
        ("DeclareRequest", "kind"),
        ("RoleRequest", "role"),
        ("StatusRequest", "status"),
        ("StatusRequest", "audience"),
        ("TokenRequest", "role"),
        ("PostmortemStatusRequest", "status"),
        ("PostmortemSummary", "status"),
        ("CustodyEntry", "action"),
    ] {
        let p = resolve(&doc, &schemas[schema]["properties"][prop]);
        if !p["enum"].is_array() {
            wrong.push(format!("{schema}.{prop} is not an enum: {p}"));
        }
    }
    let roles = resolve(&doc, &schemas["MemberView"]["properties"]["roles"]["items"]);
    if !roles["enum"].is_array() {
        wrong.push(format!("MemberView.roles are not an enum: {roles}"));
    }
    // Numbers of steps, statements, action items and evidence.
    for (m, path, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            let s = &p["schema"];
            let ok = p["in"] != "path"
                || match name {
                    "step" | "statement" | "item" => s["type"] == "integer" && s["minimum"] == 1,
                    "evidence" => s["type"] == "string" && s["pattern"].is_string(),
                    "action" => s["$ref"].is_string() || s["enum"].is_array(),
                    _ => true,
                };
            if !ok {
                wrong.push(format!("{m} {path}: parameter {name} is {s}"));
            }
        }
    }
    for (schema, prop) in [
        ("StepView", "n"),
        ("StatementView", "n"),
        ("StatementRevision", "revision"),
        ("ActionItem", "n"),
        ("EvidenceState", "n"),
    ] {
        let p = &schemas[schema]["properties"][prop];
        if p["type"] != "integer" || p["minimum"] != 1 {
            wrong.push(format!("{schema}.{prop} is not an integer ≥ 1: {p}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The postmortem comes as JSON or as Markdown.
    let pm = &doc["paths"]["/api/v1/incidents/{incident}/postmortem"]["get"]["responses"]["200"]["content"];
    assert!(pm["application/json"]["schema"].is_object(), "{pm}");
    assert!(pm["text/markdown"]["schema"].is_object(), "{pm}");
}

#[tokio::test]
async fn every_documented_query_string_refuses_unknown_parameters() {
    let app = spawn().await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .body;
    let inc = app
        .declare(
            &app.admin,
            serde_json::json!({"title": "Strict query strings", "severity": "SEV-2"}),
        )
        .await;
    let cn = inc["codename"].as_str().unwrap();
    let r = app
        .http
        .post(format!(
            "{}/api/v1/incidents/{cn}/evidence?name=a.log&source=web-1&tool=scp",
            app.url
        ))
        .bearer_auth(&app.admin)
        .body("content")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let mut checked = Vec::new();
    for (m, path, op) in operations(&doc) {
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if !params.iter().any(|p| p["in"] == "query") {
            continue;
        }
        let target = format!(
            "{}?bogus=1",
            path.replace("{incident}", cn).replace("{evidence}", "E1")
        );
        let r = app
            .call(&m.to_uppercase(), &target, Some(&app.admin), None)
            .await;
        common::assert_problem(&r, reqwest::StatusCode::BAD_REQUEST);
        assert!(
            r.body["detail"].as_str().unwrap().contains("\"bogus\""),
            "{m} {path}: {}",
            r.text
        );
        checked.push(format!("{m} {path}"));
    }
    // The lists, the ledger, the postmortem, downloads, exports and uploads.
    assert!(
        checked.contains(&"get /api/v1/incidents/{incident}/events".to_string()),
        "{checked:?}"
    );
    assert!(checked.len() >= 7, "{checked:?}");
}

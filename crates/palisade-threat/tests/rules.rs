//! The built-in rules are the specification: each one is raised by its `raises` example and not by
//! its `silent` one, the set covers all six STRIDE categories with at least eight rules each
//! (Repudiation included), and a broken rules file is reported with its file and line.

use std::path::Path;

use palisade_threat::model;
use palisade_threat::rules::{self, RuleSet, Stride};

const TODAY: (i32, u8, u8) = (2026, 12, 7);

fn only(rule: &rules::Rule) -> RuleSet {
    RuleSet {
        rules: vec![rule.clone()],
    }
}

#[test]
fn every_builtin_rule_is_raised_by_its_example_and_not_by_its_counter_example() {
    let set = RuleSet::builtin();
    let mut failures = Vec::new();
    for rule in &set.rules {
        let Some(ex) = &rule.examples else {
            failures.push(format!("{}: no [rule.examples]", rule.id));
            continue;
        };
        for (which, text, want) in [("raises", &ex.raises, true), ("silent", &ex.silent, false)] {
            let m = match model::from_str(Path::new(which), text) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!(
                        "{} {which}: the example model is invalid: {}",
                        rule.id, e[0]
                    ));
                    continue;
                }
            };
            let a = palisade_threat::analyse(&m, &only(rule), TODAY);
            let raised = !a.threats.is_empty();
            if raised != want {
                failures.push(format!(
                    "{} {which}: {} ({:?})",
                    rule.id,
                    if want {
                        "raised nothing"
                    } else {
                        "raised a threat"
                    },
                    a.threats
                        .iter()
                        .map(|t| (&t.id, &t.matched))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_builtin_set_covers_every_stride_category_with_at_least_eight_rules() {
    let set = RuleSet::builtin();
    assert!(
        set.rules.len() >= 80,
        "{} built-in rules; at least 80 wanted",
        set.rules.len()
    );
    for s in Stride::ALL {
        let n = set.rules.iter().filter(|r| r.stride == s).count();
        assert!(n >= 8, "{}: {n} rules; at least 8 wanted", s.title());
    }
    let mut ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), set.rules.len(), "rule ids are unique");
}

#[test]
fn a_condition_with_a_misspelt_attribute_is_reported_with_file_line_and_column() {
    let text = "\n[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoofing\"\ntarget = \"process\"\nwhen = 'element.internet_facing and not element.autentication'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let errors = rules::parse_toml(Path::new("mine.toml"), text).unwrap_err();
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!((e.file.as_path(), e.line), (Path::new("mine.toml"), 7));
    assert_eq!(e.column, 41, "{e}");
    assert!(e.message.contains("did you mean `authentication`"), "{e}");
}

#[test]
fn a_syntax_error_in_a_rules_file_names_its_line() {
    let text = "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoofing\"\ntarget = \"process\"\nwhen = 'element.internet_facing and and'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let e = &rules::parse_toml(Path::new("r.toml"), text).unwrap_err()[0];
    assert_eq!(e.line, 6);
    assert!(e.message.contains("found `and`"), "{e}");
    let bad_toml = "[[rule]]\nid = \"X1\"\nstride = \"spoofing\nwhen = 1\n";
    let e = &rules::parse_toml(Path::new("r.toml"), bad_toml).unwrap_err()[0];
    assert_eq!(e.line, 3, "{e}");
    let unknown_category = "[[rule]]\nid = \"X1\"\ntitle = \"t\"\nstride = \"spoof\"\ntarget = \"process\"\nwhen = 'element.internet_facing'\nlikelihood = \"low\"\nimpact = \"low\"\nrationale = \"r\"\n";
    let e = &rules::parse_toml(Path::new("r.toml"), unknown_category).unwrap_err()[0];
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("spoofing"), "{e}");
}

#[test]
fn yaml_rules_files_load_and_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.yaml");
    std::fs::write(
        &p,
        "rules:\n  - id: ACME-R1\n    title: \"{name} keeps no audit trail\"\n    stride: repudiation\n    target: process\n    when: not element.audit_log\n    likelihood: medium\n    impact: medium\n    rationale: Nobody can tell who did what.\n",
    )
    .unwrap();
    let rules = rules::load_file(&p).unwrap();
    assert_eq!(rules[0].id, "ACME-R1");
    assert_eq!(rules[0].stride, Stride::Repudiation);
    std::fs::write(
        &p,
        "rules:\n  - id: ACME-R1\n    title: t\n    stride: repudiation\n    target: process\n    when: not element.audit_logs\n    likelihood: medium\n    impact: medium\n    rationale: r\n",
    )
    .unwrap();
    let e = &rules::load_file(&p).unwrap_err()[0];
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("audit_log"), "{e}");
}

/// The backticked spans of a text.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn builtin_rules_follow_the_conventions_of_the_set() {
    use palisade_threat::model::{ATTRIBUTES, AttrType};
    use palisade_threat::rules::{ELEMENT_FIELDS, FLOW_FIELDS};

    let set = RuleSet::builtin();
    let mut failures = Vec::new();
    for stride in Stride::ALL {
        let rules: Vec<&rules::Rule> = set.rules.iter().filter(|r| r.stride == stride).collect();
        for (i, r) in rules.iter().enumerate() {
            // Numbered in order within the category, with its letter.
            let want = format!("PAL-TM-{}{:02}", stride.letter(), i + 1);
            if r.id != want {
                failures.push(format!("{}: expected id {want} here", r.id));
            }
            if r.file.file_stem().and_then(|s| s.to_str()) != Some(stride.as_str()) {
                failures.push(format!(
                    "{}: a {} rule lives in rules/{}.toml",
                    r.id,
                    stride.as_str(),
                    stride.as_str()
                ));
            }
        }
    }
    for r in &set.rules {
        // The title names what the threat is about.
        if r.targets_flows() {
            if !(r.title.contains("{source}") || r.title.contains("{target}")) {
                failures.push(format!(
                    "{}: a flow rule's title names {{source}} or {{target}}",
                    r.id
                ));
            }
        } else if !r.title.contains("{name}") || r.title.contains("{source}") {
            failures.push(format!(
                "{}: an element rule's title names {{name}} only",
                r.id
            ));
        }
        if !(1..=3).contains(&r.mitigations.len()) {
            failures.push(format!("{}: one to three mitigations", r.id));
        }
        // Mitigations say how to state the control in the model, with attributes that exist and
        // values they accept (`authentication: mfa` (or `sso`)).
        let mut states_a_control = false;
        for m in &r.mitigations {
            let mut words: Option<&[&str]> = None;
            for span in code_spans(m) {
                if let Some((name, value)) = span.split_once(':') {
                    if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        continue;
                    }
                    let value = value.trim();
                    states_a_control = true;
                    words = None;
                    let known = ELEMENT_FIELDS
                        .iter()
                        .chain(FLOW_FIELDS)
                        .any(|(n, _)| *n == name);
                    match ATTRIBUTES.iter().find(|a| a.name == name) {
                        None if known => {}
                        None => failures.push(format!("{}: `{span}`: no attribute `{name}`", r.id)),
                        Some(a) => match a.ty {
                            AttrType::Bool if !["true", "false"].contains(&value) => {
                                failures.push(format!("{}: `{span}`: true or false", r.id))
                            }
                            AttrType::OneOf(allowed) => {
                                if !allowed.contains(&value) {
                                    failures.push(format!(
                                        "{}: `{span}`: not one of {allowed:?}",
                                        r.id
                                    ));
                                }
                                words = Some(allowed);
                            }
                            _ => {}
                        },
                    }
                } else if let Some(allowed) = words
                    && span.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    && !allowed.contains(&span)
                {
                    failures.push(format!("{}: `{span}` is not one of {allowed:?}", r.id));
                }
            }
        }
        if !states_a_control {
            failures.push(format!(
                "{}: no mitigation says what to write in the model (`attribute: value`)",
                r.id
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One system twice: with every control stated, and with none.
const SHOP: &str = r#"
name: Shop
assets:
  card-data: { confidentiality: critical, integrity: high, pii: true }
  orders: { confidentiality: medium, integrity: high, availability: high }
  login: { credentials: true, confidentiality: critical }
  events: { confidentiality: low }
boundaries:
  internet: { name: Internet }
  dmz: { name: DMZ }
  data: { name: Data tier }
elements:
  customer: { type: external-entity, boundary: internet, human: true }
  psp: { type: external-entity, boundary: internet, third_party: true, audit_log: true }
  web:
    type: process
    boundary: dmz
    internet_facing: true
    renders_html: true
    authentication: mfa
    authorization: owner
    input_validation: true
    output_encoding: true
    parameterized_queries: true
    csrf_protection: true
    security_headers: true
    session_management: true
    account_lockout: true
    rate_limiting: true
    quotas: true
    timeouts: true
    autoscaling: true
    redundancy: true
    audit_log: true
    log_integrity: true
    time_sync: true
    monitoring: true
    error_handling: true
    least_privilege: true
    dependency_scanning: true
    signed_artifacts: true
    hardened: true
    secrets_storage: vault
  db:
    type: data-store
    boundary: data
    technology: postgres
    authentication: mtls
    encryption_at_rest: true
    access_logging: true
    backups: true
    redundancy: true
    integrity_checks: true
    least_privilege: true
    quotas: true
  logs:
    type: data-store
    boundary: data
    technology: log-store
    stores_logs: true
    authentication: mtls
    append_only: true
    time_sync: true
    redundancy: true
    access_logging: true
    least_privilege: true
    quotas: true
flows:
  sign-in: { from: customer, to: web, protocol: https, data: [login], logged: true }
  checkout: { from: customer, to: web, protocol: https, data: [orders, card-data], logged: true }
  pay: { from: web, to: psp, protocol: https, data: [card-data], bidirectional: true, validates_input: true }
  paid: { from: psp, to: web, protocol: https, data: [orders], signed_requests: true, replay_protection: true }
  query: { from: web, to: db, protocol: postgres+tls, data: [orders, card-data] }
  ship: { from: web, to: logs, protocol: tls, data: [events], authentication: mtls }
"#;

/// The controls of [`SHOP`] taken out: every attribute line and inline attribute that states one.
fn without_controls(model: &str) -> String {
    const KEEP: &[&str] = &[
        "type",
        "boundary",
        "technology",
        "internet_facing",
        "renders_html",
        "stores_logs",
        "human",
        "third_party",
    ];
    let mut out = String::new();
    for line in model.lines() {
        let trimmed = line.trim_start();
        if let Some((key, _)) = trimmed.split_once(": ")
            && line.starts_with("    ")
            && !KEEP.contains(&key)
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for control in [
        ", logged: true",
        ", validates_input: true",
        ", signed_requests: true, replay_protection: true",
        ", authentication: mtls",
        ", audit_log: true",
    ] {
        out = out.replace(control, "");
    }
    out.replace("protocol: https", "protocol: http")
        .replace("protocol: postgres+tls", "protocol: postgres")
        .replace("protocol: tls", "protocol: tcp")
}

#[test]
fn a_model_that_states_its_controls_is_quiet_and_the_same_model_without_them_is_not() {
    let set = RuleSet::builtin();
    let shop = model::from_str(Path::new("shop.yaml"), SHOP).unwrap();
    let a = palisade_threat::analyse(&shop, &set, TODAY);
    assert!(
        a.threats.is_empty(),
        "every control is stated, yet: {:#?}",
        a.threats
            .iter()
            .map(|t| (&t.id, &t.matched))
            .collect::<Vec<_>>()
    );

    let bare_text = without_controls(SHOP);
    let bare = model::from_str(Path::new("bare.yaml"), &bare_text)
        .unwrap_or_else(|e| panic!("{}\n{bare_text}", e[0]));
    let a = palisade_threat::analyse(&bare, &set, TODAY);
    for s in Stride::ALL {
        assert!(
            a.threats.iter().any(|t| t.stride == s),
            "no {} threat in\n{bare_text}",
            s.title()
        );
    }
    for (id, element) in [
        ("PAL-TM-S01", "web"),
        ("PAL-TM-T02", "query"),
        ("PAL-TM-R04", "logs"),
        ("PAL-TM-I01", "checkout"),
        ("PAL-TM-D03", "db"),
        ("PAL-TM-E08", "web"),
    ] {
        let want = format!("{id}@{element}");
        assert!(a.get(&want).is_some(), "{want} is not raised");
    }
}

#[test]
fn the_rules_reference_is_generated_from_the_rules_and_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/threat-rules.md");
    let set = RuleSet::builtin();
    let want = palisade_threat::docs::markdown(&set);
    if std::env::var_os("PALISADE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run `PALISADE_UPDATE_DOCS=1 cargo test -p palisade-threat --test rules`",
        path.display()
    );
    for r in &set.rules {
        assert!(have.contains(&format!("\n### {}\n", r.id)), "{}", r.id);
        for n in &r.cwe {
            assert!(
                have.contains(&format!("https://cwe.mitre.org/data/definitions/{n}.html")),
                "{} CWE-{n}",
                r.id
            );
        }
    }
}

//! `palisade maturity evidence` against a real server: what the teams upload from CI becomes
//! proposed SAMM answers with links; added to the answers file, they count once confirmed.

mod common;

use common::{ok, palisade, serve};
use palisade_test_support::shared_data;
use serde_json::Value;
use std::path::Path;

/// A minimal SARIF of one Palisade threat-model result (the design phase's upload).
fn threat_sarif(dir: &Path) -> String {
    let model = dir.join("threatmodel.yaml");
    std::fs::write(
        &model,
        "elements:\n  web: { type: process, internet_facing: true }\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["threat", "check", "--format", "sarif"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = dir.join("threats.sarif");
    std::fs::write(&p, &out.stdout).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn proposals_come_from_the_record_with_links_and_count_once_confirmed() {
    let Some(model) = shared_data("maturity/samm/model") else {
        return;
    };
    let model = model.to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = serve(&d.join("data"));
    let admin = srv.admin.clone();
    ok(&srv, &admin, &["service", "create", "payments"]);
    ok(&srv, &admin, &["service", "create", "search"]);
    let sarif = threat_sarif(d);
    ok(
        &srv,
        &admin,
        &[
            "upload",
            "--service",
            "payments",
            "--phase",
            "design",
            &sarif,
        ],
    );

    // One of two services keeps a threat model: "some" on SAMM's scale would be 0.25; a half
    // is "at least half", 0.5.
    let out = ok(
        &srv,
        &admin,
        &[
            "maturity", "evidence", "--model", &model, "--format", "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let proposals = v["proposals"].as_array().unwrap();
    let tm = proposals
        .iter()
        .find(|p| p["item"] == "D-TA-B-1")
        .expect("a threat-model proposal");
    assert_eq!(tm["value"], 0.5);
    assert_eq!(
        tm["evidence"][0]["url"],
        format!("{}/services/payments", srv.url)
    );
    assert_eq!(v["facts"]["coverage.threat_model"]["value"], 0.5);
    assert!(
        proposals.iter().all(|p| p["item"] != "I-SB-B-1"),
        "no SBOM uploaded: nothing proposed for it"
    );

    // The team adds the proposals as an assessment: unconfirmed, they count for nothing.
    let template = ok(&srv, &admin, &["maturity", "template", "--model", &model]);
    let block = ok(
        &srv,
        &admin,
        &[
            "maturity",
            "evidence",
            "--model",
            &model,
            "--yaml",
            "--at",
            "2026-12-08",
        ],
    );
    let answers = d.join("answers.yaml");
    std::fs::write(
        &answers,
        format!(
            "{}{block}",
            template.trim_end_matches('\n').to_string() + "\n"
        ),
    )
    .unwrap();
    let assess = |file: &Path| -> (Value, String) {
        let r = palisade(
            &srv,
            &admin,
            &[
                "maturity",
                "assess",
                "--model",
                &model,
                "--answers",
                file.to_str().unwrap(),
                "--format",
                "json",
            ],
        );
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
    };
    let (v, stderr) = assess(&answers);
    assert_eq!(v["assessment"]["date"], "2026-12-08");
    assert!(
        stderr.contains("not confirmed") && stderr.contains("D-TA-B-1"),
        "{stderr}"
    );
    let unconfirmed: Vec<&str> = v["unconfirmed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(unconfirmed.contains(&"D-TA-B-1"));
    let overall_before = v["evaluation"]["scores"]["overall"].as_f64().unwrap();
    assert_eq!(overall_before, 0.0, "nothing confirmed, nothing counted");

    // Confirmed by a person, the answer counts, and says who and when.
    let text = std::fs::read_to_string(&answers).unwrap().replace(
        "      D-TA-B-1:\n        value: 0.5\n        by: palisade\n",
        "      D-TA-B-1:\n        value: 0.5\n        by: palisade\n        confirmed_by: dana\n        confirmed_at: 2026-12-08\n",
    );
    std::fs::write(&answers, text).unwrap();
    let (v, stderr) = assess(&answers);
    assert!(
        !v["unconfirmed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "D-TA-B-1"),
        "{stderr}"
    );
    assert!(v["evaluation"]["scores"]["overall"].as_f64().unwrap() > overall_before);
    assert_eq!(
        v["assessment"]["answers"]["D-TA-B-1"]["confirmed_by"],
        "dana"
    );
}

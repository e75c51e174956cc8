//! Every reader on malformed, oversized and hostile input: a clear error naming the file (and
//! the line, where the format has lines), never a panic. No shared data needed.

use std::path::{Path, PathBuf};

use palisade_maturity::{Kind, answers, bsimm, csf, dsomm, load, samm};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// An alias bomb: nine levels of ten aliases each (10^9 nodes if expanded).
fn alias_bomb() -> String {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    s
}

fn deep_yaml() -> String {
    "[".repeat(5000) + &"]".repeat(5000)
}

fn deep_json() -> String {
    "{\"catalog\":".to_string() + &"[".repeat(5000) + &"]".repeat(5000) + "}"
}

/// An error naming `file`, with a line when `line` is given, whose message has `needle`.
fn check(e: palisade_maturity::Error, file: &Path, line: Option<usize>, needle: &str) {
    assert_eq!(e.file, file, "{e}");
    if let Some(l) = line {
        assert_eq!(e.line, Some(l), "{e}");
    }
    assert!(e.message.contains(needle), "`{needle}` not in: {e}");
    assert!(e.to_string().starts_with(&file.display().to_string()));
}

/// A minimal valid SAMM model: one function, one practice, two streams, three levels.
fn tiny_samm(dir: &Path) {
    write(
        dir,
        "business_functions/G.yml",
        "id: f1\nname: Governance\norder: 1\n",
    );
    write(
        dir,
        "security_practices/G-SM.yml",
        "function: f1\nid: p1\nname: Strategy\nshortName: SM\norder: 1\n",
    );
    write(
        dir,
        "answer_sets/A.yml",
        "id: s1\nvalues:\n- {text: No, value: 0, order: 0}\n- {text: Some, value: 0.5, order: 1}\n- {text: All, value: 1, order: 2}\n",
    );
    for n in 1..=3 {
        write(
            dir,
            &format!("maturity_levels/{n}.yml"),
            &format!("id: m{n}\nnumber: {n}\n"),
        );
        write(
            dir,
            &format!("practice_levels/{n}.yml"),
            &format!("practice: p1\nmaturityLevel: m{n}\nid: pl{n}\nobjective: o{n}\n"),
        );
        for s in ["A", "B"] {
            write(
                dir,
                &format!("activities/{n}{s}.yml"),
                &format!("stream: st{s}\nlevel: pl{n}\nid: a{n}{s}\ntitle: Activity {n}{s}\n"),
            );
            write(
                dir,
                &format!("questions/{n}{s}.yml"),
                &format!(
                    "activity: a{n}{s}\nanswerSet: s1\nid: q{n}{s}\ntext: Question {n}{s}?\norder: 1\nquality: [criterion]\n"
                ),
            );
        }
    }
    for (i, s) in ["A", "B"].iter().enumerate() {
        write(
            dir,
            &format!("streams/{s}.yml"),
            &format!(
                "practice: p1\nid: st{s}\nname: Stream {s}\nletter: {s}\norder: {}\n",
                i + 1
            ),
        );
    }
}

#[test]
fn a_minimal_samm_model_loads_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    tiny_samm(dir.path());
    let m = samm::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        m.questions().map(|q| q.key.as_str()).collect::<Vec<_>>(),
        [
            "G-SM-A-1", "G-SM-A-2", "G-SM-A-3", "G-SM-B-1", "G-SM-B-2", "G-SM-B-3"
        ]
    );
    // A VERSION file states the version.
    write(dir.path(), "VERSION", "2.1.0\n");
    let m = samm::load(dir.path()).unwrap();
    assert_eq!((m.version.as_str(), m.version_declared), ("2.1.0", true));
}

#[test]
fn samm_errors_name_the_file_and_line() {
    type Break = fn(&Path) -> (PathBuf, Option<usize>, &'static str);
    let cases: [Break; 7] = [
        |d| {
            (
                write(
                    d,
                    "streams/A.yml",
                    "practice: p1\nid: stA\nname: [unclosed\n",
                ),
                None,
                "not valid YAML",
            )
        },
        |d| {
            (
                write(
                    d,
                    "streams/A.yml",
                    "practice: p1\nid: stA\nname: Stream A\nletter: A\norder: one\n",
                ),
                Some(5),
                "order",
            )
        },
        |d| {
            (
                write(
                    d,
                    "questions/1A.yml",
                    "activity: nowhere\nanswerSet: s1\nid: q1A\ntext: Q?\n",
                ),
                Some(1),
                "activity `nowhere`",
            )
        },
        |d| {
            (
                write(d, "questions/1B.yml", "answerSet: s1\nid: q1B\ntext: Q?\n"),
                Some(1),
                "missing field `activity`",
            )
        },
        |d| (write(d, "answer_sets/A.yml", &alias_bomb()), None, "alias"),
        |d| {
            (
                write(d, "answer_sets/A.yml", &deep_yaml()),
                None,
                "recursion limit",
            )
        },
        |d| {
            (
                write(d, "activities/1A.yml", &"x".repeat(2 * 1024 * 1024)),
                None,
                "larger than",
            )
        },
    ];
    for (i, break_it) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        tiny_samm(dir.path());
        let (file, line, needle) = break_it(dir.path());
        let e = samm::load(dir.path()).expect_err(&format!("case {i}"));
        check(e, &file, line, needle);
    }
}

#[test]
fn samm_refuses_links_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let e = samm::load(dir.path()).unwrap_err();
    assert!(e.message.contains("not a SAMM model directory"), "{e}");
    #[cfg(unix)]
    {
        tiny_samm(dir.path());
        let outside = write(dir.path(), "secret.txt", "id: x\n");
        std::os::unix::fs::symlink(&outside, dir.path().join("streams/C.yml")).unwrap();
        let e = samm::load(dir.path()).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
    }
}

const DSOMM_OK: &str = "---\nmeta:\n  version: 9.9.9\n---\nBuild:\n  Pipeline:\n    First:\n      uuid: u1\n      level: 1\n    Second:\n      uuid: u2\n      level: 2\n      dependsOn: [u1]\n";

#[test]
fn dsomm_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.yaml", DSOMM_OK);
    let m = dsomm::load(&ok).unwrap();
    assert_eq!(m.version, "9.9.9");
    // A single document is a model without meta: its version is a content hash.
    let single = write(
        dir.path(),
        "single.yaml",
        &DSOMM_OK[DSOMM_OK.find("Build").unwrap()..],
    );
    assert!(dsomm::load(&single).unwrap().version.starts_with("sha256:"));
    // Dependencies by name (older models) resolve to uuids.
    let by_name = write(
        dir.path(),
        "names.yaml",
        &DSOMM_OK.replace("[u1]", "[First]"),
    );
    assert_eq!(
        dsomm::load(&by_name)
            .unwrap()
            .activity("u2")
            .unwrap()
            .depends_on,
        ["u1"]
    );
    for (text, line, needle) in [
        (
            DSOMM_OK.replace("level: 2", "level: 7"),
            Some(11),
            "not 1–5",
        ),
        (
            DSOMM_OK.replace("[u1]", "[u9]"),
            Some(10),
            "`u9`, which is not an activity",
        ),
        (
            DSOMM_OK.replace(
                "      level: 1\n",
                "      level: 1\n      dependsOn: [u2]\n",
            ),
            None,
            "depends on itself",
        ),
        (
            DSOMM_OK.replace("uuid: u2", "uuid: u1"),
            Some(11),
            "used twice",
        ),
        (
            DSOMM_OK.replace("level: 2", "level: two"),
            Some(12),
            "level",
        ),
        (
            format!("{DSOMM_OK}---\nextra: 1\n"),
            None,
            "3 YAML documents",
        ),
        (
            "Build: [1, 2]\n".to_string(),
            Some(1),
            "maps sub-dimensions",
        ),
        (alias_bomb(), None, "alias"),
        (deep_yaml(), None, "recursion limit"),
        (String::new(), Some(1), "empty"),
    ] {
        let p = write(dir.path(), "bad.yaml", &text);
        let e = dsomm::load(&p).expect_err(&text[..text.len().min(60)]);
        check(e, &p, line, needle);
    }
    let big = write(dir.path(), "big.yaml", &"# x\n".repeat(5 * 1024 * 1024));
    check(dsomm::load(&big).unwrap_err(), &big, None, "larger than");
    let binary = dir.path().join("bin.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    check(
        dsomm::load(&binary).unwrap_err(),
        &binary,
        None,
        "not UTF-8",
    );
}

#[test]
fn csf_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line, needle) in [
        (
            "{\"catalog\": {\"metadata\": {\"title\": \"t\"",
            Some(1),
            "not valid JSON",
        ),
        ("{\"other\": 1}", None, "not an OSCAL catalog"),
        (
            "{\"catalog\": {\"metadata\": {\"title\": \"t\"}}}",
            None,
            "without a `version`",
        ),
        (
            "{\"catalog\": {\"metadata\": {\"title\": \"t\", \"version\": \"1\"}, \"groups\": []}}",
            None,
            "no CSF functions",
        ),
        (
            "{\"catalog\": {\"metadata\": {\"title\": \"t\", \"version\": \"1\"}, \"groups\": [{\"class\": \"function\", \"id\": \"GV\", \"title\": \"G\", \"controls\": [{\"class\": \"category\", \"id\": \"GV.A\", \"title\": \"A\", \"controls\": [{\"class\": \"subcategory\", \"id\": \"GV.A-01\"}, {\"class\": \"subcategory\", \"id\": \"GV.A-01\"}]}]}]}}",
            None,
            "listed twice",
        ),
        (&deep_json(), Some(1), "recursion limit"),
        ("\n\n  [1,\n", Some(4), "not valid JSON"),
    ] {
        let p = write(dir.path(), "c.json", text);
        let e = csf::load(&p).expect_err(&text[..text.len().min(60)]);
        check(e, &p, line, needle);
    }
    let big = write(dir.path(), "big.json", &" ".repeat(17 * 1024 * 1024));
    check(csf::load(&big).unwrap_err(), &big, None, "larger than");
}

#[test]
fn bsimm_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let ok = "bsimm:\n  version: BSIMM-test\n  activities:\n    - { id: SM1.1, domain: Governance, practice: Strategy & Metrics, level: 1, title: One }\n    - { id: SM2.1, domain: Governance, practice: Strategy & Metrics, level: 2, title: Two }\n    - { id: AM1.1, domain: Intelligence, practice: Attack Models, level: 1, title: Three }\n";
    let p = write(dir.path(), "b.yaml", ok);
    assert_eq!(load(&p, None).unwrap().kind(), Kind::Bsimm);
    let m = bsimm::load(&p).unwrap();
    let mut st = std::collections::BTreeMap::new();
    st.insert("SM2.1".to_string(), dsomm::Status::Implemented);
    let s = m.score(&st);
    assert_eq!(s.observed.implemented, 1);
    assert_eq!(s.practices[0].high_water_mark, 2);
    assert_eq!(s.practices[1].high_water_mark, 0);
    for (text, line, needle) in [
        (ok.replace("level: 2", "level: 4"), Some(5), "not 1–3"),
        (ok.replace("AM1.1", "SM1.1"), Some(6), "listed twice"),
        (
            ok.replace("title: One", "title: One, extra: 1"),
            Some(4),
            "unknown field `extra`",
        ),
        ("bsimm:\n  activities: []\n".to_string(), None, "empty"),
        (
            format!("bsimm:\n  activities:\n{}", "    - *x\n"),
            Some(3),
            "unknown anchor",
        ),
    ] {
        let p = write(dir.path(), "bad.yaml", &text);
        let e = bsimm::load(&p).expect_err(&text);
        check(e, &p, line, needle);
    }
    let big = write(dir.path(), "big.yaml", &"#\n".repeat(9 * 1024 * 1024));
    check(bsimm::load(&big).unwrap_err(), &big, None, "larger than");
}

#[test]
fn answers_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line, needle) in [
        (alias_bomb(), None, "alias"),
        (deep_yaml(), None, "recursion limit"),
        ("format: 1\n".to_string(), Some(1), "`model:` is missing"),
        ("- a\n- b\n".to_string(), Some(1), "a mapping"),
        ("format: 1\nmodel: {kind: samm, version: ''}\n".to_string(), Some(2), "version is empty"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments: 3\n".to_string(), Some(3), "is a list"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers: [1]\n".to_string(), Some(5), "maps each item"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers:\n      a: [1]\n".to_string(), Some(6), "not a list"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers:\n      a: {value: 1, current: 2}\n".to_string(), Some(6), "not both"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers:\n      a: {current: -1}\n".to_string(), Some(6), "not a level"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers:\n      a: 1\n      a: 2\n".to_string(), Some(7), "written twice"),
        ("format: 1\nmodel: {kind: samm, version: x}\nassessments:\n  - date: 2026-01-01\n    answers:\n      a: {value: 1, evidence: [{note: x}]}\n".to_string(), Some(6), "needs a `url`"),
    ] {
        let p = write(dir.path(), "a.yaml", &text);
        let e = answers::load(&p).expect_err(&text[..text.len().min(80)]);
        check(e, &p, line, needle);
    }
    let big = write(dir.path(), "big.yaml", &"#\n".repeat(5 * 1024 * 1024));
    check(answers::load(&big).unwrap_err(), &big, None, "larger than");
}

#[test]
fn detection_tells_models_apart_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "dsomm.yaml", DSOMM_OK);
    assert_eq!(palisade_maturity::detect(&d).unwrap(), Kind::Dsomm);
    let a = write(
        dir.path(),
        "answers.yaml",
        "format: 1\nmodel: {kind: samm, version: x}\nassessments: []\n",
    );
    check(
        palisade_maturity::detect(&a).unwrap_err(),
        &a,
        None,
        "answers file",
    );
    let j = write(dir.path(), "x.json", "{\"a\": 1}");
    check(
        palisade_maturity::detect(&j).unwrap_err(),
        &j,
        None,
        "not an OSCAL catalog",
    );
    let empty = tempfile::tempdir().unwrap();
    let e = palisade_maturity::detect(empty.path()).unwrap_err();
    assert!(e.message.contains("not a SAMM model"), "{e}");
    let missing = dir.path().join("missing.yaml");
    check(
        load(&missing, None).unwrap_err(),
        &missing,
        None,
        "cannot read",
    );
}

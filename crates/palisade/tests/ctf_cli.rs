//! `palisade ctf` as an author uses it: the shipped beginner set checks clean; a challenge with a
//! plain flag fails the check until `ctf hash` replaces it, after which the same flag still
//! solves it; a broken challenge names its file and line; values follow CTFd's decay.

use std::path::Path;

use palisade_training::ctf::challenge;

mod common;

fn palisade(args: &[&str]) -> common::Run {
    common::offline(&std::env::temp_dir(), args)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn plain_flags_fail_the_check_until_hashed_and_the_hashed_flag_still_solves() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("ctf");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../palisade-training/ctf"),
        &set,
    );
    let clean = palisade(&["ctf", "check", set.to_str().unwrap()]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("crypto-layers") && clean.stdout.contains("200→50"),
        "{}",
        clean.stdout
    );

    std::fs::write(
        set.join("warmup.toml"),
        "id = \"warmup\"\nname = \"Warm-up\"\ncategory = \"misc\"\ndescription = \"Say hello.\"\nvalue = 50\n\n[[flags]]\ntype = \"static\"\nflag = \"palisade{Hello}\"\ncase_sensitive = true\n",
    )
    .unwrap();
    let plain = palisade(&["ctf", "check", set.to_str().unwrap()]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    assert!(
        plain.stderr.contains("warmup.toml") && plain.stderr.contains("ctf hash"),
        "{}",
        plain.stderr
    );

    let hashed = palisade(&["ctf", "hash", set.to_str().unwrap()]);
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    let text = std::fs::read_to_string(set.join("warmup.toml")).unwrap();
    assert!(!text.contains("palisade{Hello}"), "{text}");
    let c = challenge::Challenge::from_toml("warmup.toml", &text).unwrap();
    assert!(c.check_flag("palisade{Hello}"));
    assert!(
        !c.check_flag("palisade{hello}"),
        "case-sensitive stays case-sensitive"
    );
    assert_eq!(palisade(&["ctf", "check", set.to_str().unwrap()]).code, 0);
}

#[test]
fn a_broken_challenge_names_its_file_and_line_and_values_decay() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"bad\"\nname = \"Bad\"\ncategory = \"web\"\ndescription = \"d\"\nvalue = \"lots\"\n",
    )
    .unwrap();
    let o = palisade(&["ctf", "check", dir.path().to_str().unwrap()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("bad.toml:5"), "{}", o.stderr);

    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../palisade-training/ctf/crypto-layers/challenge.toml");
    let v = palisade(&["ctf", "values", file.to_str().unwrap(), "--solves", "12"]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    let values: Vec<u32> = v
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(values.len(), 13);
    assert_eq!(values[0], 200);
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    assert_eq!(
        *values.last().unwrap(),
        50,
        "the minimum after `decay` solves"
    );
}

/// A CTF event run from the command line as organisers and players would, against a real
/// `palisade serve`: write a challenge with a plain flag, hash it, set the event up, register
/// two teams, submit (wrong, then right), freeze, and the public scoreboard stops while the
/// live one moves on; `palisade verify` passes on the data directory.
#[test]
fn an_event_runs_with_two_teams_and_a_frozen_scoreboard() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = common::serve(&data);
    let json = |token: &str, args: &[&str]| -> serde_json::Value {
        let out = common::ok(&server, token, args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let token = |user: &str| {
        json(
            &server.admin,
            &[
                "token", "create", "--user", user, "--role", "viewer", "--format", "json",
            ],
        )["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ann, bob) = (token("ann"), token("bob"));

    let set = dir.path().join("challenges");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::write(
        set.join("warmup.toml"),
        "id = \"warmup\"\nname = \"Warm-up\"\ncategory = \"misc\"\ndescription = \"The flag is palisade{hello}.\"\nvalue = 50\nattachments = [\"notes/read me.txt\"]\n\n[[hints]]\ntext = \"Read the description.\"\ncost = 0\n\n[[flags]]\ntype = \"static\"\nflag = \"palisade{hello}\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(set.join("notes")).unwrap();
    let notes: Vec<u8> = b"line one\n\x00\xff binary too\n".to_vec();
    std::fs::write(set.join("notes/read me.txt"), &notes).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = |h: i64| {
        (now + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let set_s = set.to_str().unwrap();
    let (start, end) = (at(-1), at(2));
    let create = [
        "ctf",
        "create",
        set_s,
        "--name",
        "friday-ctf",
        "--start",
        &start,
        "--end",
        &end,
    ];
    // A plain flag never leaves the author's machine.
    let r = common::palisade(&server, &server.admin, &create);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("palisade ctf hash"), "{}", r.stderr);
    let r = palisade(&["ctf", "hash", set_s]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = common::ok(&server, &server.admin, &create);
    assert!(
        out.contains("friday-ctf") && out.contains("warmup"),
        "{out}"
    );

    // Players download the attachments the organiser's directory held, checked.
    let got = dir.path().join("got.txt");
    let get = |extra: &[&str]| {
        let mut args = vec![
            "ctf",
            "attachment",
            "friday-ctf",
            "warmup",
            "notes/read me.txt",
            "--output",
            got.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        common::palisade(&server, &bob, &args)
    };
    let r = get(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("SHA-256 checked"), "{}", r.stderr);
    assert_eq!(std::fs::read(&got).unwrap(), notes);
    let r = get(&[]);
    assert_eq!(r.code, 2, "an existing file is kept: {}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    std::fs::write(&got, "mine").unwrap();
    assert_eq!(get(&["--force"]).code, 0);
    assert_eq!(std::fs::read(&got).unwrap(), notes);
    let r = common::palisade(
        &server,
        &bob,
        &[
            "ctf",
            "attachment",
            "friday-ctf",
            "warmup",
            "nope.txt",
            "-o",
            "-",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no attachment \"nope.txt\""),
        "{}",
        r.stderr
    );

    // The shipped beginner set runs as an event whose files all come from the server.
    let shipped = dir.path().join("beginner");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../palisade-training/ctf"),
        &shipped,
    );
    let mut beginner = create;
    beginner[2] = shipped.to_str().unwrap();
    beginner[4] = "beginner";
    common::ok(&server, &server.admin, &beginner);
    for (challenge, file) in [
        ("web-robots", "robots.txt"),
        ("crypto-layers", "message.txt"),
        ("forensics-custody", "proxy-a.log"),
        ("secrets-history", "make-repo.sh"),
    ] {
        let out = common::ok(
            &server,
            &ann,
            &["ctf", "attachment", "beginner", challenge, file, "-o", "-"],
        );
        let want = std::fs::read_to_string(shipped.join(challenge).join(file)).unwrap();
        assert_eq!(out, want, "{challenge}/{file}");
    }

    for (team, member) in [("red", "ann"), ("blue", "bob")] {
        common::ok(
            &server,
            &server.admin,
            &["ctf", "register", "friday-ctf", team, "--member", member],
        );
    }
    let submit = |who: &str, team: &str, flag: &str| {
        common::palisade(
            &server,
            who,
            &[
                "ctf",
                "submit",
                "friday-ctf",
                "warmup",
                flag,
                "--account",
                team,
            ],
        )
    };
    let r = submit(&ann, "red", "palisade{bye}");
    assert_eq!(
        r.code, 1,
        "a wrong flag exits 1: {}\n{}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.starts_with("wrong"), "{}", r.stdout);
    let r = submit(&ann, "red", "palisade{hello}");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("correct"), "{}", r.stdout);
    // Bob plays for blue, not red.
    common::refused(
        &server,
        &bob,
        &[
            "ctf",
            "submit",
            "friday-ctf",
            "warmup",
            "palisade{hello}",
            "--account",
            "red",
        ],
        "ctf-not-a-member",
    );
    let out = common::ok(
        &server,
        &ann,
        &[
            "ctf",
            "hint",
            "friday-ctf",
            "warmup",
            "0",
            "--account",
            "red",
        ],
    );
    assert!(out.contains("Read the description."), "{out}");

    common::refused(
        &server,
        &bob,
        &["ctf", "freeze", "friday-ctf"],
        "ctf-organisers",
    );
    common::ok(&server, &server.admin, &["ctf", "freeze", "friday-ctf"]);
    assert_eq!(submit(&bob, "blue", "palisade{hello}").code, 0);

    let score = |board: &serde_json::Value, team: &str| {
        board["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["account"] == team)
            .map(|s| s["score"].as_i64().unwrap())
    };
    let public = json(
        &bob,
        &["ctf", "scoreboard", "friday-ctf", "--format", "json"],
    );
    assert!(public["frozen_at"].is_string(), "{public:#}");
    assert_eq!(
        (score(&public, "red"), score(&public, "blue")),
        (Some(50), Some(0))
    );
    let live = json(
        &server.admin,
        &[
            "ctf",
            "scoreboard",
            "friday-ctf",
            "--live",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (score(&live, "red"), score(&live, "blue")),
        (Some(50), Some(50))
    );
    let table = common::ok(&server, &bob, &["ctf", "scoreboard", "friday-ctf"]);
    assert!(
        table.contains("frozen at") && table.contains("red"),
        "{table}"
    );
    let r = common::palisade(
        &server,
        &bob,
        &["ctf", "scoreboard", "friday-ctf", "--live"],
    );
    assert_ne!(r.code, 0, "{}", r.stdout);

    drop(server);
    let r = common::offline(
        dir.path(),
        &["verify", "--data-dir", data.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

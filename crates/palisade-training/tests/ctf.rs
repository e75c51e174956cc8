//! CTF: flags, values against CTFd's formula, the event's rules, the scoreboard with a freeze,
//! the shipped beginner set solved, and CTFd import.

use palisade_core::Timestamp;
use palisade_training::ctf::challenge::{Challenge, hash_flag, load_dir};
use palisade_training::ctf::ctfd;
use palisade_training::ctf::value::value;
use palisade_training::ctf::{
    Account, Change, Ctf, CtfState, Decay, EventConfig, Mode, RateLimit, Refusal, Scoring, View,
};
use palisade_training::duration::Dur;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

fn t(hhmm: &str) -> Timestamp {
    Timestamp::parse(&format!("2026-05-01T{hhmm}:00Z")).unwrap()
}

fn challenge(id: &str, extra: &str) -> Challenge {
    let salt = [7u8; 16];
    let text = format!(
        "id = \"{id}\"\nname = \"{id}\"\ncategory = \"misc\"\ndescription = \"d\"\n{extra}\n[[flags]]\ntype = \"static\"\nsalt = \"{}\"\nsha256 = \"{}\"\n",
        hex::encode(salt),
        hash_flag(&salt, &format!("flag{{{id}}}"), true)
    );
    Challenge::from_toml(&format!("{id}.toml"), &text).unwrap()
}

#[test]
fn static_flags_are_checked_against_their_hash_with_and_without_case() {
    let salt = [1u8; 16];
    let text = format!(
        "id = \"c\"\nname = \"c\"\ncategory = \"x\"\ndescription = \"d\"\nvalue = 10\n\
         [[flags]]\ntype = \"static\"\nsalt = \"{s}\"\nsha256 = \"{a}\"\n\
         [[flags]]\ntype = \"static\"\nsalt = \"{s}\"\nsha256 = \"{b}\"\ncase_sensitive = false\n",
        s = hex::encode(salt),
        a = hash_flag(&salt, "Exact{Case}", true),
        b = hash_flag(&salt, "ANY{case}", false),
    );
    let c = Challenge::from_toml("c.toml", &text).unwrap();
    for (submitted, ok) in [
        ("Exact{Case}", true),
        ("  Exact{Case}\n", true),
        ("exact{case}", false),
        ("any{CASE}", true),
        ("ANY{case}", true),
        ("ANY{case}x", false),
        ("", false),
    ] {
        assert_eq!(c.check_flag(submitted), ok, "{submitted:?}");
    }
    assert!(
        !c.to_toml().contains("Exact{Case}"),
        "only the hash is stored"
    );
}

#[test]
fn regex_flags_match_whole_submissions_within_limits() {
    let c = Challenge::from_toml(
        "r.toml",
        "id = \"r\"\nname = \"r\"\ncategory = \"x\"\ndescription = \"d\"\nvalue = 10\n\
         [[flags]]\ntype = \"regex\"\npattern = 'flag\\{[0-9]{4}\\}'\n\
         [[flags]]\ntype = \"regex\"\npattern = 'ctf\\{yes\\}'\ncase_sensitive = false\n",
    )
    .unwrap();
    for (s, ok) in [
        ("flag{1234}", true),
        ("flag{12345}", false),
        ("xflag{1234}", false),
        ("flag{1234}x", false),
        ("FLAG{1234}", false),
        ("CTF{YES}", true),
    ] {
        assert_eq!(c.check_flag(s), ok, "{s}");
    }
    let huge = Challenge::from_toml(
        "h.toml",
        "id = \"h\"\nname = \"h\"\ncategory = \"x\"\ndescription = \"d\"\nvalue = 10\n\
         [[flags]]\ntype = \"regex\"\npattern = '(\\w{100}){100}'\n",
    );
    let err = huge.unwrap_err()[0].to_string();
    assert!(
        err.starts_with("h.toml:6:") && err.contains("not a usable regex"),
        "{err}"
    );
}

#[test]
fn challenge_files_report_mistakes_at_their_line() {
    let cases = [
        (
            "id = \"x\"\nname = \"x\"\ncategory = \"c\"\ndescription = \"d\"\nvalue = \"ten\"\n",
            "x.toml:5:9",
            "invalid type",
        ),
        (
            "id = \"x\"\nname = \"x\"\ncategory = \"c\"\ndescription = \"d\"\ncolour = 1\n",
            "x.toml:5:1",
            "unknown field `colour`",
        ),
        (
            "id = \"x\"\nname = \"x\"\ncategory = \"c\"\ndescription = \"d\"\n[dynamic]\ninitial = 100\nminimum = 200\ndecay = 5\n[[flags]]\ntype = \"static\"\nflag = \"f\"\n",
            "x.toml:7:1",
            "more than the initial value",
        ),
        (
            "id = \"x\"\nname = \"x\"\ncategory = \"c\"\ndescription = \"d\"\nvalue = 1\nattachments = [\"../secret\"]\n[[flags]]\ntype = \"static\"\nflag = \"f\"\n",
            "x.toml:6:1",
            "not a relative path",
        ),
        (
            "id = \"x\"\nname = \"x\"\ncategory = \"c\"\ndescription = \"d\"\nvalue = 1\n[[flags]]\ntype = \"static\"\nflag = \"f\"\nsha256 = \"00\"\n",
            "x.toml:6:1",
            "nothing else",
        ),
        ("id = [\n", "x.toml:1:", ""),
    ];
    for (text, at, what) in cases {
        let errs: Vec<String> = Challenge::from_toml("x.toml", text)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(
            errs.iter().any(|e| e.starts_with(at) && e.contains(what)),
            "{at} {what}: {errs:?}"
        );
    }
}

#[test]
fn plain_flags_are_for_authoring_and_hashing_turns_them_into_the_stored_form() {
    let text = "id = \"a\"\nname = \"a\"\ncategory = \"c\"\ndescription = \"d\"\nvalue = 5\n[[flags]]\ntype = \"static\"\nflag = \"Plain{Flag}\"\ncase_sensitive = false\n";
    let mut c = Challenge::from_toml("a.toml", text).unwrap();
    let config = event_config(None);
    let refused = Ctf::new(config.clone(), vec![c.clone()]).unwrap_err();
    assert!(refused.to_string().contains("holds a flag in plain"));
    c.hash_plain_flags(&[9u8; 16]);
    assert!(!c.has_plain_flags());
    let stored = c.to_toml();
    assert!(!stored.contains("Plain{Flag}") && stored.contains("sha256"));
    let again = Challenge::from_toml("a.toml", &stored).unwrap();
    assert_eq!(again, c);
    assert!(again.check_flag("plain{flag}"));
    assert!(Ctf::new(config, vec![again]).is_ok_and(|ctf| ctf.challenges.len() == 1));
}

#[test]
fn dynamic_values_follow_ctfds_formulas() {
    let log = |initial, minimum, decay| Scoring::Dynamic {
        initial,
        minimum,
        decay,
        function: Decay::Logarithmic,
    };
    let lin = |initial, minimum, decay| Scoring::Dynamic {
        initial,
        minimum,
        decay,
        function: Decay::Linear,
    };
    // Reference values from CTFd's decay.py (floating point, ceil, minimum), solves 0, 1, 2, …
    let table: Vec<(Scoring, Vec<(u64, u32)>)> = vec![
        (
            log(500, 100, 10),
            (0..13)
                .zip([
                    500, 500, 496, 484, 464, 436, 400, 356, 304, 244, 176, 100, 100,
                ])
                .collect(),
        ),
        (
            log(200, 50, 7),
            (0..12)
                .zip([200, 200, 197, 188, 173, 152, 124, 90, 50, 50, 50, 50])
                .collect(),
        ),
        (
            lin(500, 100, 30),
            vec![
                (0, 500),
                (1, 500),
                (2, 470),
                (3, 440),
                (14, 110),
                (15, 100),
                (16, 100),
            ],
        ),
        (
            log(1000, 100, 0),
            vec![(0, 1000), (1, 1000), (2, 100), (3, 100)],
        ),
    ];
    for (scoring, rows) in table {
        for (solves, expected) in rows {
            assert_eq!(
                value(&scoring, solves),
                expected,
                "{scoring:?} after {solves} solves"
            );
        }
    }
}

fn event_config(freeze: Option<Timestamp>) -> EventConfig {
    EventConfig {
        name: "Spring CTF".into(),
        start: t("09:00"),
        end: t("17:00"),
        freeze,
        mode: Mode::Teams,
        rate_limit: RateLimit {
            max_wrong: 3,
            per: Dur::minutes(1),
        },
    }
}

fn team(id: &str, members: &[&str]) -> Account {
    Account {
        id: id.into(),
        name: id.to_uppercase(),
        members: members.iter().map(|m| m.to_string()).collect(),
        hidden: false,
    }
}

fn event(freeze: Option<Timestamp>) -> (Ctf, CtfState) {
    let ctf = Ctf::new(
        event_config(freeze),
        vec![
            challenge("warmup", "value = 100\n[[hints]]\ntext = \"look closer\"\ncost = 30\n[[hints]]\ntext = \"pricey\"\ncost = 500"),
            challenge("dyn", "[dynamic]\ninitial = 500\nminimum = 100\ndecay = 10"),
            challenge("locked", "value = 300\nprerequisites = [\"warmup\"]"),
        ],
    )
    .unwrap();
    let mut st = CtfState::default();
    for a in [team("red", &["ana", "bo"]), team("blue", &["cy"])] {
        let c = ctf.register(&st, a, t("08:00")).unwrap();
        st.apply(c);
    }
    (ctf, st)
}

fn solve(ctf: &Ctf, st: &mut CtfState, team: &str, user: &str, ch: &str, at: &str) {
    let c = ctf
        .submit(st, team, user, ch, &format!("flag{{{ch}}}"), t(at))
        .unwrap();
    assert!(
        matches!(&c, Change::Submitted(s) if s.correct),
        "{team} {ch}"
    );
    st.apply(c);
}

#[test]
fn the_event_window_is_enforced_with_clear_messages() {
    let (ctf, st) = event(None);
    let early = ctf
        .submit(&st, "red", "ana", "warmup", "flag{warmup}", t("08:30"))
        .unwrap_err();
    assert_eq!(
        early.to_string(),
        "the event has not started: it opens at 2026-05-01T09:00:00Z (in 30m 00s)"
    );
    let late = ctf
        .submit(&st, "red", "ana", "warmup", "flag{warmup}", t("17:00"))
        .unwrap_err();
    assert_eq!(
        late.to_string(),
        "the event is over: it ended at 2026-05-01T17:00:00Z"
    );
    assert!(matches!(
        ctf.unlock_hint(&st, "red", "ana", "warmup", 0, t("08:59")),
        Err(Refusal::NotStarted { .. })
    ));
    assert!(matches!(
        ctf.submit(&st, "red", "cy", "warmup", "x", t("10:00")),
        Err(Refusal::NotAMember { .. })
    ));
    assert!(matches!(
        ctf.submit(&st, "green", "x", "warmup", "x", t("10:00")),
        Err(Refusal::UnknownAccount(_))
    ));
}

#[test]
fn prerequisites_lock_a_challenge_until_they_are_solved() {
    let (ctf, mut st) = event(None);
    let e = ctf
        .submit(&st, "red", "ana", "locked", "flag{locked}", t("10:00"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "challenge \"locked\" is locked: solve warmup first"
    );
    assert!(matches!(
        ctf.unlock_hint(&st, "red", "ana", "locked", 0, t("10:00")),
        Err(Refusal::Locked { .. })
    ));
    solve(&ctf, &mut st, "red", "bo", "warmup", "10:01");
    solve(&ctf, &mut st, "red", "ana", "locked", "10:02");
    let again = ctf
        .submit(&st, "red", "ana", "locked", "flag{locked}", t("10:03"))
        .unwrap_err();
    assert!(matches!(again, Refusal::AlreadySolved { .. }));
}

#[test]
fn wrong_answers_are_rate_limited_per_team_and_challenge_with_a_time_to_retry() {
    let (ctf, mut st) = event(None);
    for at in ["10:00:10", "10:00:20", "10:00:30"] {
        let now = Timestamp::parse(&format!("2026-05-01T{at}Z")).unwrap();
        let c = ctf
            .submit(&st, "red", "ana", "warmup", "nope", now)
            .unwrap();
        assert!(
            matches!(&c, Change::Submitted(s) if !s.correct && s.provided.as_deref() == Some("nope"))
        );
        st.apply(c);
    }
    let now = Timestamp::parse("2026-05-01T10:00:40Z").unwrap();
    let e = ctf
        .submit(&st, "red", "ana", "warmup", "flag{warmup}", now)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "too many wrong answers: at most 3 per 1m on one challenge; try again at 2026-05-01T10:01:10Z (in 30s)"
    );
    // Another challenge, and another team, are not limited.
    assert!(
        ctf.submit(&st, "red", "ana", "dyn", "nope", now)
            .is_ok_and(|c| matches!(c, Change::Submitted(_)))
    );
    assert!(
        ctf.submit(&st, "blue", "cy", "warmup", "nope", now)
            .is_ok_and(|c| matches!(c, Change::Submitted(_)))
    );
    // At the time given, it is accepted again.
    let retry = Timestamp::parse("2026-05-01T10:01:10Z").unwrap();
    let c = ctf
        .submit(&st, "red", "bo", "warmup", "flag{warmup}", retry)
        .unwrap();
    assert!(matches!(c, Change::Submitted(s) if s.correct && s.provided.is_none()));
}

#[test]
fn hints_cost_points_and_need_the_points_to_pay() {
    let (ctf, mut st) = event(None);
    let poor = ctf
        .unlock_hint(&st, "red", "ana", "warmup", 0, t("10:00"))
        .unwrap_err();
    assert_eq!(
        poor.to_string(),
        "not enough points: the hint costs 30 and the score is 0"
    );
    solve(&ctf, &mut st, "red", "ana", "dyn", "10:05");
    let c = ctf
        .unlock_hint(&st, "red", "ana", "warmup", 0, t("10:06"))
        .unwrap();
    st.apply(c);
    assert_eq!(
        ctf.unlocked_hints(&st, "red", "warmup"),
        vec![(0, "look closer")]
    );
    assert!(ctf.unlocked_hints(&st, "blue", "warmup").is_empty());
    assert!(matches!(
        ctf.unlock_hint(&st, "red", "bo", "warmup", 0, t("10:07")),
        Err(Refusal::AlreadyUnlocked { .. })
    ));
    assert!(matches!(
        ctf.unlock_hint(&st, "red", "bo", "warmup", 1, t("10:07")),
        Err(Refusal::NotEnoughPoints {
            cost: 500,
            score: 470
        })
    ));
    assert!(matches!(
        ctf.unlock_hint(&st, "red", "bo", "warmup", 9, t("10:07")),
        Err(Refusal::UnknownHint { .. })
    ));
    assert_eq!(ctf.score_of(&st, "red", None), 500 - 30);
}

#[test]
fn two_teams_and_a_frozen_scoreboard() {
    let (ctf, mut st) = event(Some(t("16:00")));
    solve(&ctf, &mut st, "blue", "cy", "dyn", "09:30"); // first blood on dyn
    solve(&ctf, &mut st, "red", "ana", "dyn", "09:40");
    solve(&ctf, &mut st, "red", "bo", "warmup", "10:00");
    solve(&ctf, &mut st, "blue", "cy", "warmup", "10:30");
    // dyn has 2 solves: 496 each. red and blue tie at 596; red's last solve (10:00) was first.
    let before = ctf.scoreboard(&st, t("15:00"), View::Public);
    assert_eq!(before.frozen_at, None);
    let rows: Vec<(&str, i64, u32)> = before
        .standings
        .iter()
        .map(|s| (s.account.as_str(), s.score, s.rank))
        .collect();
    assert_eq!(rows, [("red", 596, 1), ("blue", 596, 2)]);
    assert_eq!(
        before
            .challenge("dyn")
            .unwrap()
            .first_blood()
            .unwrap()
            .account,
        "blue"
    );
    assert_eq!(before.challenge("dyn").unwrap().value, 496);

    // After the freeze, blue solves the locked one and a hint costs red points.
    let c = ctf
        .unlock_hint(&st, "red", "ana", "warmup", 0, t("16:10"))
        .unwrap();
    st.apply(c);
    solve(&ctf, &mut st, "blue", "cy", "locked", "16:20");
    solve(&ctf, &mut st, "red", "ana", "locked", "16:30");
    let public = ctf.scoreboard(&st, t("16:45"), View::Public);
    assert_eq!(public.frozen_at, Some(t("16:00")));
    assert_eq!(
        public.standings, before.standings,
        "the public board does not move after the freeze"
    );
    assert!(public.challenge("locked").unwrap().solvers.is_empty());
    let admin = ctf.scoreboard(&st, t("16:45"), View::Admin);
    assert_eq!(admin.frozen_at, None);
    let rows: Vec<(&str, i64)> = admin
        .standings
        .iter()
        .map(|s| (s.account.as_str(), s.score))
        .collect();
    assert_eq!(rows, [("blue", 896), ("red", 866)]);
    assert_eq!(admin.standing("red").unwrap().hint_costs, 30);
    let locked: Vec<&str> = admin
        .challenge("locked")
        .unwrap()
        .solvers
        .iter()
        .map(|s| s.account.as_str())
        .collect();
    assert_eq!(locked, ["blue", "red"], "first-blood order");
    // The state is plain data the application can store.
    let json = serde_json::to_string(&st).unwrap();
    assert_eq!(serde_json::from_str::<CtfState>(&json).unwrap(), st);
}

#[test]
fn hidden_accounts_do_not_decay_values_or_show_publicly() {
    let (ctf, mut st) = event(None);
    let org = Account {
        hidden: true,
        ..team("org", &["admin"])
    };
    let c = ctf.register(&st, org, t("08:00")).unwrap();
    st.apply(c);
    solve(&ctf, &mut st, "org", "admin", "dyn", "09:01");
    solve(&ctf, &mut st, "red", "ana", "dyn", "09:02");
    solve(&ctf, &mut st, "blue", "cy", "dyn", "09:03");
    let public = ctf.scoreboard(&st, t("12:00"), View::Public);
    assert!(public.standing("org").is_none());
    assert_eq!(
        public.challenge("dyn").unwrap().value,
        496,
        "two visible solves"
    );
    assert_eq!(
        public
            .challenge("dyn")
            .unwrap()
            .first_blood()
            .unwrap()
            .account,
        "red"
    );
    assert!(
        ctf.scoreboard(&st, t("12:00"), View::Admin)
            .standing("org")
            .is_some_and(|s| s.hidden)
    );
    assert!(matches!(
        ctf.register(&st, team("red", &[]), t("10:00")),
        Err(Refusal::AccountTaken(_))
    ));
}

/// Solve each shipped challenge from its attachments, the way a player would, and check the
/// flag found is accepted.
#[test]
fn the_shipped_beginner_set_loads_and_each_challenge_can_be_solved() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ctf");
    let loaded = load_dir(&dir).unwrap_or_else(|e| panic!("{e:?}"));
    let by_id: BTreeMap<&str, &Challenge> = loaded
        .iter()
        .map(|l| (l.challenge.id.as_str(), &l.challenge))
        .collect();
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        [
            "crypto-layers",
            "forensics-custody",
            "secrets-history",
            "web-robots"
        ]
    );
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();

    // Web: robots.txt names the hidden file; the flag is in it.
    let robots = read("web-robots/robots.txt");
    let path = robots
        .lines()
        .find_map(|l| l.strip_prefix("Disallow: /"))
        .unwrap();
    let hidden = read(&format!("web-robots/{path}"));
    let flag = hidden.lines().find(|l| l.starts_with("palisade{")).unwrap();
    assert!(by_id["web-robots"].check_flag(flag));

    // Crypto: base64, then ROT13.
    let decoded = decode_base64(read("crypto-layers/message.txt").trim());
    let rot = rot13(decoded.lines().nth(1).unwrap());
    assert!(by_id["crypto-layers"].check_flag(&rot));
    assert!(
        by_id["crypto-layers"].check_flag(&rot.to_uppercase()),
        "case-insensitive"
    );

    // Forensics: the copy whose hash the custody report recorded names the address.
    let report: serde_json::Value =
        serde_json::from_str(&read("forensics-custody/custody.json")).unwrap();
    let recorded = report["evidence"][0]["sha256"].as_str().unwrap();
    let genuine = ["proxy-a.log", "proxy-b.log"]
        .into_iter()
        .find(|f| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(
                read(&format!("forensics-custody/{f}")).as_bytes(),
            )) == recorded
        })
        .unwrap();
    let line = read(&format!("forensics-custody/{genuine}"))
        .lines()
        .find(|l| l.contains("customers-export.zip"))
        .unwrap()
        .to_string();
    let ip = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("src="))
        .unwrap();
    assert!(by_id["forensics-custody"].check_flag(&format!("palisade{{{ip}}}")));
    assert!(by_id["forensics-custody"].check_flag(&format!("palisade{{ {ip} }}")));
    assert!(
        !by_id["forensics-custody"].check_flag("palisade{198.51.100.99}"),
        "the tampered copy's address"
    );

    // Secrets: the token committed (and removed) by the script, clearly marked as fake.
    let script = read("secrets-history/make-repo.sh");
    let token = script
        .split("payments_api_key = \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(token.contains("FAKE"));
    assert!(by_id["secrets-history"].check_flag(token));
    assert_eq!(by_id["secrets-history"].prerequisites, ["web-robots"]);

    // And they make an event.
    let set: Vec<Challenge> = loaded.into_iter().map(|l| l.challenge).collect();
    assert!(Ctf::new(event_config(None), set).is_ok_and(|c| c.challenges.len() == 4));
}

fn decode_base64(s: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | alphabet.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a' + 13) % 26) + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A' + 13) % 26) + b'A') as char,
            c => c,
        })
        .collect()
}

fn export_zip(tables: &[(&str, serde_json::Value)], uploads: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, rows) in tables {
            z.start_file(format!("db/{name}.json"), opts).unwrap();
            let body = serde_json::json!({"count": rows.as_array().map_or(0, |a| a.len()), "results": rows, "meta": {}});
            z.write_all(body.to_string().as_bytes()).unwrap();
        }
        for (name, bytes) in uploads {
            z.start_file(format!("uploads/{name}"), opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn a_ctfd_export_is_imported_with_flags_hashed_and_the_rest_named() {
    use serde_json::json;
    let zip = export_zip(
        &[
            ("alembic_version", json!([{"version_num": "x"}])),
            (
                "challenges",
                json!([
                    {"id": 1, "name": "Hello Web", "description": "Find it", "connection_info": "http://10.0.0.5", "value": 100, "category": "Web", "type": "standard", "state": "visible", "max_attempts": 0, "requirements": null},
                    {"id": 2, "name": "Decay!", "description": "d", "value": 480, "category": "Crypto", "type": "dynamic", "state": "hidden", "requirements": {"prerequisites": [1]}},
                    {"id": 3, "name": "Multi", "description": "d", "value": 50, "category": "x", "type": "multiple_choice", "state": "visible"},
                    {"id": 4, "name": "Hello Web", "description": "", "value": 10, "category": "", "type": "standard", "requirements": "{\"prerequisites\": [3]}", "max_attempts": 5}
                ]),
            ),
            (
                "dynamic_challenge",
                json!([{"id": 2, "initial": 500, "minimum": 100, "decay": 10, "function": "linear"}]),
            ),
            (
                "flags",
                json!([
                    {"id": 1, "challenge_id": 1, "type": "static", "content": "flag{web}", "data": ""},
                    {"id": 2, "challenge_id": 2, "type": "regex", "content": "flag\\{[a-z]+\\}", "data": "case_insensitive"},
                    {"id": 3, "challenge_id": 4, "type": "static", "content": "Flag{Two}", "data": "case_insensitive"},
                    {"id": 4, "challenge_id": 4, "type": "plugin_flag", "content": "?", "data": null}
                ]),
            ),
            (
                "hints",
                json!([{"id": 1, "challenge_id": 1, "content": "view source", "cost": 10, "type": "standard"}]),
            ),
            (
                "files",
                json!([
                    {"id": 1, "type": "challenge", "location": "abc123/page.html", "challenge_id": 1},
                    {"id": 2, "type": "challenge", "location": "def456/missing.bin", "challenge_id": 2}
                ]),
            ),
            ("users", json!([{"id": 1, "name": "admin"}])),
        ],
        &[("abc123/page.html", b"<html>hi</html>")],
    );
    let mut n = 0u8;
    let imported = ctfd::import_zip(&zip, &mut || {
        n += 1;
        [n; 16]
    })
    .unwrap();
    let ids: Vec<&str> = imported.challenges.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["hello-web", "decay", "hello-web-2"]);
    let web = &imported.challenges[0];
    assert_eq!(web.scoring, Scoring::Static { value: 100 });
    assert!(web.description.ends_with("Connection: http://10.0.0.5"));
    assert!(!web.has_plain_flags() && web.check_flag("flag{web}") && !web.check_flag("FLAG{web}"));
    assert_eq!(web.hints[0].cost, 10);
    assert_eq!(web.attachments, ["page.html"]);
    assert_eq!(imported.files[0].bytes, b"<html>hi</html>");
    let decay = &imported.challenges[1];
    assert_eq!(
        decay.scoring,
        Scoring::Dynamic {
            initial: 500,
            minimum: 100,
            decay: 10,
            function: Decay::Linear
        }
    );
    assert_eq!(decay.prerequisites, ["hello-web"]);
    assert!(decay.check_flag("FLAG{abc}"));
    let second = &imported.challenges[2];
    assert!(second.check_flag("flag{two}"));
    assert_eq!(second.max_attempts, Some(5));
    assert!(
        second.prerequisites.is_empty(),
        "its prerequisite was not imported"
    );
    let notes = imported.notes.join("\n");
    for expected in [
        "\"multiple_choice\", which Palisade does not run",
        "was hidden in CTFd",
        "type \"plugin_flag\" was skipped",
        "missing.bin",
        "lost a prerequisite",
    ] {
        assert!(notes.contains(expected), "{expected}: {notes}");
    }
    assert!(
        ctfd::import_zip(b"not a zip", &mut || [0; 16])
            .unwrap_err()
            .to_string()
            .contains("not a zip")
    );
    let escape = export_zip(&[("challenges", json!([]))], &[("../../etc/x", b"x")]);
    assert!(
        ctfd::import_zip(&escape, &mut || [0; 16])
            .unwrap_err()
            .to_string()
            .contains("escapes the archive")
    );
}

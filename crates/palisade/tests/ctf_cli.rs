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

//! `palisade ctf`: authoring CTF challenges, offline, over `palisade-training`'s CTF library —
//! check a directory of challenges, hash the plain flags of authoring files before they are
//! shared, import a CTFd export, and show a dynamic challenge's value as it is solved.
//!
//! Exit codes: 0 done (`check`: every challenge is valid and no flag is in plain); 1 `check`
//! found plain flags (they must be hashed before an event); 2 errors (a challenge that does not
//! load, with its file and line; an unreadable file; an export that cannot be imported).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use palisade_training::ctf::challenge::{self, Challenge, Loaded};

use crate::deps_cmd::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

#[derive(clap::Subcommand, Debug)]
pub enum CtfCmd {
    /// Check a directory of challenges (`*.toml`, or `*/challenge.toml` with attachments beside
    /// it): every file loads, attachments exist, ids are unique, prerequisites name challenges
    /// and form no cycle, regex flags compile within their limits, and no flag is left in plain.
    Check(DirArgs),
    /// Replace every plain flag (`flag = "…"`) in the challenge files with its salted SHA-256,
    /// so the files can be shared and committed; run it once after writing a challenge.
    Hash(DirArgs),
    /// Import a CTFd export (the zip its admin panel writes) as a directory of challenge files:
    /// standard and dynamic challenges, static flags (hashed on import) and regex flags,
    /// hints, prerequisites, attachments; what is left out is listed.
    ImportCtfd(ImportArgs),
    /// A dynamic challenge's value after each number of solves (CTFd's decay), to tune
    /// `initial`, `minimum` and `decay` before an event.
    Values(ValuesArgs),
}

#[derive(clap::Args, Debug)]
pub struct DirArgs {
    /// The directory of challenges.
    dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The CTFd export (zip).
    export: PathBuf,
    /// The directory to write the challenges to (created; must be empty when it exists).
    #[arg(long, short, value_name = "DIR")]
    output: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ValuesArgs {
    /// A challenge file (TOML) with a `[dynamic]` section.
    file: PathBuf,
    /// Up to how many solves.
    #[arg(long, default_value_t = 30)]
    solves: u64,
}

/// Run a `palisade ctf` command; returns the exit code.
pub fn run(cmd: CtfCmd) -> i32 {
    let result = match cmd {
        CtfCmd::Check(a) => check(&a.dir),
        CtfCmd::Hash(a) => hash(&a.dir),
        CtfCmd::ImportCtfd(a) => import(&a),
        CtfCmd::Values(a) => values(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: error: {e:#}");
            EXIT_ERROR
        }
    }
}

fn load(dir: &Path) -> anyhow::Result<Vec<Loaded>> {
    match challenge::load_dir(dir) {
        Ok(l) => Ok(l),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!(
                "{} problem(s) in the challenges of {}, listed above",
                errors.len(),
                dir.display()
            )
        }
    }
}

/// 16 random bytes from the operating system, for a flag's salt.
fn salt() -> anyhow::Result<[u8; 16]> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s)
        .map_err(|e| anyhow::anyhow!("the random number generator failed: {e}"))?;
    Ok(s)
}

fn check(dir: &Path) -> anyhow::Result<i32> {
    let loaded = load(dir)?;
    if loaded.is_empty() {
        bail!(
            "no challenges in {} (`*.toml`, or `*/challenge.toml`)",
            dir.display()
        );
    }
    let set: Vec<Challenge> = loaded.iter().map(|l| l.challenge.clone()).collect();
    let problems = challenge::check_set(&set);
    for p in &problems {
        eprintln!("{}: {p}", dir.display());
    }
    let plain: Vec<&Loaded> = loaded
        .iter()
        .filter(|l| l.challenge.has_plain_flags())
        .collect();
    let rows: Vec<Vec<String>> = loaded
        .iter()
        .map(|l| {
            let c = &l.challenge;
            vec![
                c.id.clone(),
                c.name.clone(),
                c.category.clone(),
                match c.scoring {
                    palisade_training::ctf::Scoring::Static { value } => value.to_string(),
                    palisade_training::ctf::Scoring::Dynamic {
                        initial,
                        minimum,
                        decay,
                        function,
                    } => format!(
                        "{initial}→{minimum} ({}, decay {decay})",
                        match function {
                            palisade_training::ctf::Decay::Linear => "linear",
                            palisade_training::ctf::Decay::Logarithmic => "logarithmic",
                        }
                    ),
                },
                c.hints.len().to_string(),
                if c.has_plain_flags() {
                    "PLAIN".into()
                } else {
                    "hashed".into()
                },
            ]
        })
        .collect();
    print!(
        "{}",
        crate::output::table(
            &["ID", "NAME", "CATEGORY", "VALUE", "HINTS", "FLAGS"],
            &rows
        )
    );
    if !problems.is_empty() {
        return Ok(EXIT_ERROR);
    }
    if !plain.is_empty() {
        for l in &plain {
            eprintln!(
                "{}: a flag is written in plain; run `palisade ctf hash {}` before sharing it",
                l.file.display(),
                dir.display()
            );
        }
        return Ok(EXIT_FINDINGS);
    }
    eprintln!(
        "palisade: {} challenge(s), all valid, every static flag hashed",
        loaded.len()
    );
    Ok(EXIT_CLEAN)
}

fn hash(dir: &Path) -> anyhow::Result<i32> {
    let loaded = load(dir)?;
    let mut changed = 0;
    for l in loaded {
        if !l.challenge.has_plain_flags() {
            continue;
        }
        let mut c = l.challenge;
        c.hash_plain_flags(&salt()?);
        let text = c.to_toml();
        // The rewritten file must read back as the same challenge, flags aside.
        Challenge::from_toml(&l.file.display().to_string(), &text).map_err(|e| {
            anyhow::anyhow!(
                "{}: the hashed file does not read back: {}",
                l.file.display(),
                e[0]
            )
        })?;
        std::fs::write(&l.file, text)
            .with_context(|| format!("cannot write {}", l.file.display()))?;
        eprintln!("palisade: hashed the plain flags of {}", l.file.display());
        changed += 1;
    }
    eprintln!("palisade: {changed} file(s) rewritten");
    Ok(EXIT_CLEAN)
}

fn import(a: &ImportArgs) -> anyhow::Result<i32> {
    let meta = std::fs::metadata(&a.export)
        .with_context(|| format!("cannot read {}", a.export.display()))?;
    if meta.len() as usize > palisade_training::ctf::ctfd::MAX_ZIP_BYTES {
        bail!(
            "{} is larger than {} bytes",
            a.export.display(),
            palisade_training::ctf::ctfd::MAX_ZIP_BYTES
        );
    }
    if a.output.exists() && std::fs::read_dir(&a.output)?.next().is_some() {
        bail!(
            "{} is not empty; import into a new directory",
            a.output.display()
        );
    }
    let bytes =
        std::fs::read(&a.export).with_context(|| format!("cannot read {}", a.export.display()))?;
    let mut fail = None;
    let mut draw = || match salt() {
        Ok(s) => s,
        Err(e) => {
            fail = Some(e);
            [0u8; 16]
        }
    };
    let imported = palisade_training::ctf::ctfd::import_zip(&bytes, &mut draw)?;
    if let Some(e) = fail {
        return Err(e);
    }
    std::fs::create_dir_all(&a.output)?;
    for c in &imported.challenges {
        let dir = a.output.join(&c.id);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("challenge.toml"), c.to_toml())?;
    }
    for f in &imported.files {
        // Names come from the archive: only a plain file name is written, inside its challenge.
        let name = Path::new(&f.name);
        let ok = name.components().count() == 1
            && matches!(
                name.components().next(),
                Some(std::path::Component::Normal(_))
            );
        if !ok {
            eprintln!(
                "palisade: note: attachment {:?} of {} skipped (not a plain file name)",
                f.name, f.challenge
            );
            continue;
        }
        std::fs::write(a.output.join(&f.challenge).join(name), &f.bytes)?;
    }
    for n in &imported.notes {
        eprintln!("palisade: note: {n}");
    }
    // What was written must check as a directory of challenges.
    let back = load(&a.output)?;
    eprintln!(
        "palisade: imported {} challenge(s) and {} attachment(s) into {}; `palisade ctf check {}`",
        back.len(),
        imported.files.len(),
        a.output.display(),
        a.output.display()
    );
    Ok(EXIT_CLEAN)
}

fn values(a: &ValuesArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let c = Challenge::from_toml(&a.file.display().to_string(), &text).map_err(|e| {
        for x in &e {
            eprintln!("{x}");
        }
        anyhow::anyhow!("{} does not load", a.file.display())
    })?;
    let rows: Vec<Vec<String>> = (0..=a.solves.min(10_000))
        .map(|n| {
            vec![
                n.to_string(),
                palisade_training::ctf::value::value(&c.scoring, n).to_string(),
            ]
        })
        .collect();
    print!("{}", crate::output::table(&["SOLVES", "VALUE"], &rows));
    Ok(EXIT_CLEAN)
}

//! `palisade ctf`: authoring CTF challenges, offline, over `palisade-training`'s CTF library —
//! check a directory of challenges, hash the plain flags of authoring files before they are
//! shared, import a CTFd export, and show a dynamic challenge's value as it is solved — and
//! running an event on the server (a thin client of `/api/v1/ctf`): set one up from a directory
//! of challenges (their attachments sent with them), register teams, submit flags, unlock
//! hints, download attachments, freeze and read the scoreboard.
//!
//! Exit codes: 0 done (`check`: every challenge is valid and no flag is in plain; `submit`: the
//! flag was right); 1 `check` found plain flags (they must be hashed before an event), `submit`
//! was wrong, or the server refused the command by a rule; 2 errors (a challenge that does not
//! load, with its file and line; an unreadable file; an export that cannot be imported; a server
//! that cannot be reached).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use palisade_training::ctf::challenge::{self, Challenge, Loaded};

use crate::client::{Client, ClientArgs, seg};
use crate::deps_cmd::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::output::{json, table};
use crate::{Format, Outcome};
use palisade_server::routes::ctf::{CtfList, CtfScoreboardView, CtfView};
use serde_json::json;

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
    /// Set up an event on the server (admins) from a directory of challenges whose flags are
    /// hashed (`palisade ctf check` first), sending every attachment the challenges list (at
    /// most 8 MiB each, 32 MiB in all). Times are RFC 3339 (2026-05-01T09:00:00Z).
    Create(CreateArgs),
    /// Download a challenge's attachment (from the event's start; admins at any time). The
    /// content is checked against the SHA-256 the server recorded when the event was set up.
    Attachment(AttachmentArgs),
    /// List the server's events.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an event: its window, challenges (values now, solves, hint costs) and accounts.
    Show {
        /// The event (name or id).
        event: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Register a team or a player. Admins register anyone; a player registers themself alone
    /// (`--member` their own name; in individuals mode the id is their user name).
    Register(RegisterArgs),
    /// Submit a flag for a challenge, for an account you play for. Exit 0 right, 1 wrong.
    Submit(SubmitArgs),
    /// Unlock a hint (its position, from 0) for its cost in points; prints its text.
    Hint(HintArgs),
    /// Freeze the public scoreboard now (or `--at` a time within the event), or `--unfreeze`
    /// it (admins). The admin board stays live.
    Freeze(FreezeArgs),
    /// The scoreboard: the public one (stops at the freeze), or `--live` (admins).
    Scoreboard(ScoreboardArgs),
}

impl CtfCmd {
    /// Whether the command talks to a server (the others work on files only).
    pub fn needs_server(&self) -> bool {
        !matches!(
            self,
            CtfCmd::Check(_) | CtfCmd::Hash(_) | CtfCmd::ImportCtfd(_) | CtfCmd::Values(_)
        )
    }
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The directory of challenges (`*.toml`, or `*/challenge.toml`).
    dir: PathBuf,
    /// The event's name: 1–64 characters of a-z, 0-9, '.', '_', '-'; unique.
    #[arg(long)]
    name: String,
    /// When it opens (RFC 3339).
    #[arg(long)]
    start: String,
    /// When it ends (RFC 3339).
    #[arg(long)]
    end: String,
    /// When the public scoreboard stops moving (RFC 3339, within the event).
    #[arg(long)]
    freeze: Option<String>,
    /// `teams` (members submit for their team) or `individuals`.
    #[arg(long, default_value = "teams", value_parser = ["teams", "individuals"])]
    mode: String,
    /// Wrong answers allowed per account and challenge within `--per` seconds (default 10).
    #[arg(long)]
    max_wrong: Option<u32>,
    /// The rate limit's window in seconds (default 60).
    #[arg(long)]
    per: Option<u64>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// The event (name or id).
    event: String,
    /// The account's id: 1–64 of a-z, 0-9, '-', '_', '.'.
    id: String,
    /// Its display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    /// A member (a user name); repeat for each.
    #[arg(long = "member", required = true)]
    members: Vec<String>,
    /// An organiser's test account: counts for nothing, on no public board.
    #[arg(long)]
    hidden: bool,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// The event (name or id).
    event: String,
    /// The challenge's id.
    challenge: String,
    /// The flag. Prefer `-` to read it from standard input (out of shell history).
    flag: String,
    /// The account (team or player id) you play for.
    #[arg(long)]
    account: String,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct AttachmentArgs {
    /// The event (name or id).
    event: String,
    /// The challenge's id.
    challenge: String,
    /// The attachment's name, as `palisade ctf show --format json` lists it.
    name: String,
    /// Where to write it: a file (default: its name, in the current directory), or `-` for
    /// standard output.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace the output file when it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct HintArgs {
    /// The event (name or id).
    event: String,
    /// The challenge's id.
    challenge: String,
    /// The hint's position, from 0 (`palisade ctf show` lists their costs).
    hint: usize,
    /// The account (team or player id) you play for.
    #[arg(long)]
    account: String,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct FreezeArgs {
    /// The event (name or id).
    event: String,
    /// Freeze at this time (RFC 3339, within the event) instead of now.
    #[arg(long, conflicts_with = "unfreeze")]
    at: Option<String>,
    /// Let the public scoreboard follow the event live again.
    #[arg(long)]
    unfreeze: bool,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct ScoreboardArgs {
    /// The event (name or id).
    event: String,
    /// The live board, past the freeze (admins).
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    client: ClientArgs,
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

/// Run an offline `palisade ctf` command; returns the exit code.
pub fn run(cmd: CtfCmd) -> i32 {
    let result = match cmd {
        CtfCmd::Check(a) => check(&a.dir),
        CtfCmd::Hash(a) => hash(&a.dir),
        CtfCmd::ImportCtfd(a) => import(&a),
        CtfCmd::Values(a) => values(&a),
        _ => Err(anyhow::anyhow!(
            "this command talks to a server: run it through run_server"
        )),
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

fn path(event: &str, rest: &str) -> String {
    format!("/api/v1/ctf/{}{rest}", seg(event))
}

fn print_event(v: &CtfView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!(
                "{} ({}): {} to {}{}{}",
                v.name,
                v.id,
                v.start,
                v.end,
                v.freeze
                    .as_deref()
                    .map(|f| format!(", scoreboard frozen at {f}"))
                    .unwrap_or_default(),
                if v.running { " — running" } else { "" }
            );
            let rows: Vec<Vec<String>> = v
                .challenges
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.name.clone(),
                        c.category.clone(),
                        c.value.to_string(),
                        c.solves.to_string(),
                        c.hint_costs
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.prerequisites.join(", "),
                    ]
                })
                .collect();
            outln!();
            out!(
                "{}",
                table(
                    &[
                        "CHALLENGE",
                        "NAME",
                        "CATEGORY",
                        "VALUE",
                        "SOLVES",
                        "HINT COSTS",
                        "AFTER"
                    ],
                    &rows
                )
            );
            let rows: Vec<Vec<String>> = v
                .accounts
                .iter()
                .map(|a| vec![a.id.clone(), a.name.clone(), a.members.join(", ")])
                .collect();
            outln!();
            out!("{}", table(&["ACCOUNT", "NAME", "MEMBERS"], &rows));
        }
    }
}

/// Read the challenge files of `dir` as the server takes them (their text), after checking
/// them here so that errors name the files and lines before anything is sent.
fn challenge_files(dir: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let loaded = load(dir)?;
    if loaded.is_empty() {
        bail!(
            "no challenges in {} (`*.toml`, or `*/challenge.toml`)",
            dir.display()
        );
    }
    if let Some(l) = loaded.iter().find(|l| l.challenge.has_plain_flags()) {
        bail!(
            "{}: a flag is written in plain; run `palisade ctf hash {}` first (the server keeps flags hashed)",
            l.file.display(),
            dir.display()
        );
    }
    use base64::Engine;
    use palisade_training::ctf::stream::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_BYTES};
    let mut total = 0u64;
    loaded
        .iter()
        .map(|l| {
            let text = std::fs::read_to_string(&l.file)
                .with_context(|| format!("cannot read {}", l.file.display()))?;
            let name = l
                .file
                .strip_prefix(dir)
                .unwrap_or(&l.file)
                .display()
                .to_string();
            let attachments = l
                .challenge
                .attachments
                .iter()
                .map(|a| {
                    let path = l.dir.join(a);
                    let size = std::fs::metadata(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?
                        .len();
                    if size > MAX_ATTACHMENT_BYTES {
                        bail!(
                            "{}: {size} bytes; an attachment is at most {MAX_ATTACHMENT_BYTES} bytes (put bigger files on a download server and link them from the description)",
                            path.display()
                        );
                    }
                    total += size;
                    if total > MAX_ATTACHMENTS_BYTES {
                        bail!(
                            "the attachments come to more than {MAX_ATTACHMENTS_BYTES} bytes, an event's limit (at {})",
                            path.display()
                        );
                    }
                    let content = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Ok(json!({"name": a,
                        "content_base64": base64::engine::general_purpose::STANDARD.encode(content)}))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(json!({"file": name, "toml": text, "attachments": attachments}))
        })
        .collect()
}

/// Download an attachment, check it against the digest the server recorded, and write it.
async fn download_attachment(a: &AttachmentArgs) -> anyhow::Result<()> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let c = Client::new(&a.client)?;
    let what = format!("attachment {} of {}", a.name, a.challenge);
    let resp = c
        .request(
            reqwest::Method::GET,
            &path(
                &a.event,
                &format!(
                    "/challenges/{}/attachments/{}",
                    seg(&a.challenge),
                    seg(&a.name)
                ),
            ),
        )
        .send()
        .await
        .with_context(|| format!("cannot reach the Palisade server at {}", c.base()))?;
    if !resp.status().is_success() {
        return Err(crate::client::problem_error(resp, &what).await);
    }
    let digest = resp
        .headers()
        .get("repr-digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha-256=:"))
        .and_then(|v| v.strip_suffix(':'))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .context("the server sent no Repr-Digest for the attachment: it cannot be checked")?;
    let content = resp
        .bytes()
        .await
        .with_context(|| format!("{what}: the download broke off"))?;
    if Sha256::digest(&content).as_slice() != digest.as_slice() {
        bail!(
            "{what}: the content does not match the SHA-256 the server recorded; nothing was written"
        );
    }
    let out = a.output.clone().unwrap_or_else(|| {
        PathBuf::from(
            a.name
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty() && *n != "." && *n != "..")
                .unwrap_or("attachment"),
        )
    });
    if out.as_os_str() == "-" {
        std::io::stdout()
            .write_all(&content)
            .context("cannot write to standard output")?;
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if a.force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let mut f = match open.open(&out) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} exists; choose another with --output, or replace it with --force",
            out.display()
        ),
        r => r.with_context(|| format!("cannot write {}", out.display()))?,
    };
    f.write_all(&content)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, SHA-256 checked)",
        out.display(),
        content.len()
    );
    Ok(())
}

/// Run a `palisade ctf` command that talks to the server.
pub async fn run_server(cmd: CtfCmd) -> anyhow::Result<Outcome> {
    match cmd {
        CtfCmd::Create(a) => {
            let challenges = challenge_files(&a.dir)?;
            let c = Client::new(&a.client)?;
            let v: CtfView = c
                .post(
                    "/api/v1/ctf",
                    &json!({"name": a.name, "start": a.start, "end": a.end, "freeze": a.freeze,
                            "mode": a.mode, "rate_limit_wrong": a.max_wrong,
                            "rate_limit_seconds": a.per, "challenges": challenges}),
                )
                .await?;
            print_event(&v, a.client.format);
        }
        CtfCmd::Attachment(a) => download_attachment(&a).await?,
        CtfCmd::List { client } => {
            let c = Client::new(&client)?;
            let list: CtfList = c.get("/api/v1/ctf").await?;
            match client.format {
                Format::Json => outln!("{}", json(&list)),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .events
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.start.clone(),
                                e.end.clone(),
                                e.challenges.to_string(),
                                e.accounts.to_string(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(&["NAME", "START", "END", "CHALLENGES", "ACCOUNTS"], &rows)
                    );
                }
            }
        }
        CtfCmd::Show { event, client } => {
            let c = Client::new(&client)?;
            let v: CtfView = c.get(&path(&event, "")).await?;
            print_event(&v, client.format);
        }
        CtfCmd::Register(a) => {
            let c = Client::new(&a.client)?;
            let name = a.name.clone().unwrap_or_else(|| a.id.clone());
            let v: CtfView = c
                .post(
                    &path(&a.event, "/accounts"),
                    &json!({"id": a.id, "name": name, "members": a.members, "hidden": a.hidden}),
                )
                .await?;
            print_event(&v, a.client.format);
        }
        CtfCmd::Submit(a) => {
            let flag = if a.flag == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .context("cannot read the flag from standard input")?;
                s.trim().to_string()
            } else {
                a.flag.clone()
            };
            let c = Client::new(&a.client)?;
            let v: CtfView = c
                .post(
                    &path(&a.event, "/submissions"),
                    &json!({"account": a.account, "challenge": a.challenge, "flag": flag}),
                )
                .await?;
            let correct = v.result.as_ref().and_then(|r| r.correct) == Some(true);
            match a.client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table if correct => {
                    outln!("correct: {} solved {}", a.account, a.challenge)
                }
                Format::Table => outln!(
                    "wrong: that is not the flag of {} (wrong answers count towards the rate limit)",
                    a.challenge
                ),
            }
            if !correct {
                return Ok(Outcome::Refused);
            }
        }
        CtfCmd::Hint(a) => {
            let c = Client::new(&a.client)?;
            let v: CtfView = c
                .post(
                    &path(&a.event, "/hints"),
                    &json!({"account": a.account, "challenge": a.challenge, "hint": a.hint}),
                )
                .await?;
            match a.client.format {
                Format::Json => outln!("{}", json(&v)),
                Format::Table => outln!(
                    "hint {} of {}: {}",
                    a.hint,
                    a.challenge,
                    v.result
                        .as_ref()
                        .and_then(|r| r.hint.clone())
                        .unwrap_or_default()
                ),
            }
        }
        CtfCmd::Freeze(a) => {
            let c = Client::new(&a.client)?;
            let v: CtfView = c
                .post(
                    &path(&a.event, "/freeze"),
                    &json!({"at": a.at, "unfreeze": a.unfreeze}),
                )
                .await?;
            print_event(&v, a.client.format);
        }
        CtfCmd::Scoreboard(a) => {
            let c = Client::new(&a.client)?;
            let view = if a.live { "admin" } else { "public" };
            let b: CtfScoreboardView = c
                .get(&path(&a.event, &format!("/scoreboard?view={view}")))
                .await?;
            match a.client.format {
                Format::Json => outln!("{}", json(&b)),
                Format::Table => {
                    match &b.frozen_at {
                        Some(f) => outln!("{} scoreboard, frozen at {f}", b.view),
                        None => outln!("{} scoreboard, live", b.view),
                    }
                    let rows: Vec<Vec<String>> = b
                        .standings
                        .iter()
                        .map(|s| {
                            vec![
                                s.rank.to_string(),
                                s.account.clone(),
                                s.name.clone(),
                                s.score.to_string(),
                                s.solves.to_string(),
                                s.last_solve_at.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    out!(
                        "{}",
                        table(
                            &["RANK", "ACCOUNT", "NAME", "SCORE", "SOLVES", "LAST SOLVE"],
                            &rows
                        )
                    );
                }
            }
        }
        CtfCmd::Check(_) | CtfCmd::Hash(_) | CtfCmd::ImportCtfd(_) | CtfCmd::Values(_) => {
            unreachable!("offline commands run through run")
        }
    }
    Ok(Outcome::Ok)
}

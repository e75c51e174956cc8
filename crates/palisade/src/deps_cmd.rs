//! `palisade db …`, `palisade scan deps`: argument parsing and printing only; the work is in
//! `palisade-deps`.
//!
//! Exit codes (the same contract as every scanner): 0 no finding at or above `--fail-on`,
//! 1 findings, 2 error (including a lockfile that could not be parsed; the others are still
//! scanned and reported).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use palisade_deps::cvss::Rating;
use palisade_deps::index::Index;
use palisade_deps::{report, sbom, scan};

/// Exit code: nothing to report.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: findings at or above the threshold.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: error.
pub const EXIT_ERROR: i32 = 2;

/// The data directory holding the vulnerability index.
pub type DataDir = crate::settings::DataDirArg;

impl DataDir {
    fn index_path(&self) -> PathBuf {
        self.resolve().vulns_index()
    }
}

/// `palisade db`
#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Import OSV records: JSON/YAML files, directories of them, or OSV `all.zip` archives.
    Import {
        /// Files, directories or zip archives.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output: `table` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Download each ecosystem's OSV `all.zip` and import it (needs network access).
    Update {
        /// OSV ecosystem names (`crates.io`, `PyPI`, `npm`, …); default: those already in the index.
        #[arg(long = "ecosystem")]
        ecosystems: Vec<String>,
        /// Base URL of the archives (`{base}/{ecosystem}/all.zip`).
        #[arg(long, env = "PALISADE_OSV_URL", default_value = palisade_deps::update::DEFAULT_BASE_URL)]
        base_url: String,
    },
    /// Ecosystems, record counts and age of the local index.
    Status {
        /// Output: `table` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

/// `palisade scan`
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub command: ScanCommand,
}

#[derive(Subcommand, Debug)]
pub enum ScanCommand {
    /// Find secrets in files, stdin, the git index or the full git history.
    Secrets(crate::scan_secrets::Args),
    /// Scan lockfiles for dependencies with known vulnerabilities (offline, against `db import`ed data).
    Deps(ScanDepsArgs),
    /// Scan a container image (`docker save` tarball, OCI layout tar or directory): OS packages
    /// (dpkg, apk), lockfiles and Python packages inside it.
    Image(ScanImageArgs),
    /// Check Dockerfiles, Kubernetes manifests (Helm output included) and docker-compose files
    /// for insecure configuration (rules with stable ids: docs/config-rules.md).
    Config(crate::config_cmd::Args),
}

#[derive(Args, Debug)]
pub struct ScanImageArgs {
    /// The image: a `docker save` tarball, an OCI layout tarball (either may be gzip-compressed),
    /// or an OCI layout directory.
    pub image: PathBuf,
    /// Output: `table` for people, `json` for scripts, `sarif` (2.1.0) for code-scanning tools.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Lowest severity that makes the scan fail (exit 1). Findings of unknown severity always count.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Args, Debug)]
pub struct ScanDepsArgs {
    /// Lockfiles or directories to search for them.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output: `table` for people, `json` for scripts, `sarif` (2.1.0) for code-scanning tools.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Lowest severity that makes the scan fail (exit 1). Findings of unknown severity always count.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Json,
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn rating(self) -> Rating {
        match self {
            FailOn::Low => Rating::Low,
            FailOn::Medium => Rating::Medium,
            FailOn::High => Rating::High,
            FailOn::Critical => Rating::Critical,
        }
    }
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: {e}");
    EXIT_ERROR
}

/// Run `palisade db …`; returns the exit code.
pub fn run_db(args: DbArgs) -> i32 {
    let path = args.data.index_path();
    let mut index = match Index::open(&path) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    if let Some(old) = index.rebuilt_from() {
        eprintln!(
            "warning: index {} had format {old}, older than this palisade's: rebuilt empty; \
             records of earlier imports are gone, import every source again",
            path.display()
        );
    }
    match args.command {
        DbCommand::Import { paths, format } => {
            let r = match index.import_paths(&paths) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            match format {
                ListFormat::Json => {
                    outln!("{}", serde_json::to_string_pretty(&r).unwrap_or_default())
                }
                ListFormat::Table => outln!(
                    "read {} records: {} written, {} unchanged, {} withdrawn; {} warnings; index {}",
                    r.read,
                    r.written,
                    r.unchanged,
                    r.withdrawn,
                    r.warnings.len(),
                    path.display()
                ),
            }
            EXIT_CLEAN
        }
        DbCommand::Update {
            ecosystems,
            base_url,
        } => {
            let ecosystems = if ecosystems.is_empty() {
                match index.status() {
                    Ok(st) => st.into_iter().map(|s| s.ecosystem).collect(),
                    Err(e) => return fail(e),
                }
            } else {
                ecosystems
            };
            if ecosystems.is_empty() {
                return fail(
                    "the index is empty: name what to download with --ecosystem (e.g. --ecosystem crates.io)",
                );
            }
            match palisade_deps::update::update(
                &mut index,
                args.data.resolve().path(),
                &base_url,
                &ecosystems,
            ) {
                Ok(reports) => {
                    for (eco, r) in reports {
                        outln!(
                            "{eco}: read {} records: {} written, {} unchanged, {} withdrawn",
                            r.read,
                            r.written,
                            r.unchanged,
                            r.withdrawn
                        );
                    }
                    EXIT_CLEAN
                }
                Err(e) => fail(e),
            }
        }
        DbCommand::Status { format } => {
            let st = match index.status() {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            match format {
                ListFormat::Json => {
                    outln!("{}", serde_json::to_string_pretty(&st).unwrap_or_default())
                }
                ListFormat::Table => {
                    if st.is_empty() {
                        outln!(
                            "index {} is empty; run `palisade db import`",
                            path.display()
                        );
                    }
                    let now = time::OffsetDateTime::now_utc();
                    let age = |t: &Option<String>| {
                        t.as_deref().map_or("-".to_string(), |t| {
                            format!("{} ago", palisade_deps::index::age(t, now))
                        })
                    };
                    outln!(
                        "{:<12} {:>8} {:>10}  {:>12}  {:>9}",
                        "ECOSYSTEM",
                        "RECORDS",
                        "WITHDRAWN",
                        "NEWEST DATA",
                        "IMPORTED"
                    );
                    for s in &st {
                        outln!(
                            "{:<12} {:>8} {:>10}  {:>12}  {:>9}",
                            s.ecosystem,
                            s.records,
                            s.withdrawn,
                            age(&s.newest_modified),
                            age(&s.imported_at)
                        );
                    }
                }
            }
            EXIT_CLEAN
        }
    }
}

/// Run `palisade scan …` (the dependency part); returns the exit code.
pub fn run_scan(args: ScanArgs) -> i32 {
    match args.command {
        ScanCommand::Secrets(a) => crate::scan_secrets::run(a),
        ScanCommand::Deps(a) => run_scan_deps(a),
        ScanCommand::Config(a) => crate::config_cmd::run(a),
        ScanCommand::Image(a) => {
            let index = match open_existing(&a.data.index_path()) {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            match scan::scan_image(&index, &a.image) {
                Ok(r) => print_result(&r, a.format, a.fail_on),
                Err(e) => fail(e),
            }
        }
    }
}

fn open_existing(path: &Path) -> Result<Index, String> {
    if !path.exists() {
        return Err(format!(
            "no vulnerability index at {}; run `palisade db import PATH…` first (or set PALISADE_DATA_DIR)",
            path.display()
        ));
    }
    let index = Index::open_read(path).map_err(|e| e.to_string())?;
    if index.is_empty().map_err(|e| e.to_string())? {
        return Err(format!(
            "vulnerability index {} is empty; run `palisade db import PATH…`",
            path.display()
        ));
    }
    Ok(index)
}

fn run_scan_deps(args: ScanDepsArgs) -> i32 {
    let index = match open_existing(&args.data.index_path()) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let result = match scan::scan_paths(&index, &args.paths) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // Nothing scanned is not "clean": a CI gate pointed at the wrong directory must not pass.
    if result.lockfiles.is_empty() && result.errors.is_empty() {
        return fail("no lockfile found (see docs/scan-deps.md for the recognised files)");
    }
    print_result(&result, args.format, args.fail_on)
}

fn print_result(result: &scan::ScanResult, format: ReportFormat, fail_on: FailOn) -> i32 {
    for e in &result.errors {
        eprintln!("error: {e}");
    }
    let text = match format {
        ReportFormat::Table => report::table(result),
        ReportFormat::Json => report::json(result),
        ReportFormat::Sarif => report::sarif(result),
    };
    outln!("{}", text.trim_end());
    exit_code(result, fail_on)
}

fn exit_code(result: &scan::ScanResult, fail_on: FailOn) -> i32 {
    if !result.errors.is_empty() {
        return EXIT_ERROR;
    }
    let threshold = fail_on.rating();
    let failing = result
        .findings
        .iter()
        .any(|f| f.severity == Rating::Unknown || f.severity >= threshold);
    if failing { EXIT_FINDINGS } else { EXIT_CLEAN }
}

/// An image is a `.tar` file (or gzip-compressed: `.tar.gz`, `.tgz`) or a directory holding an
/// OCI layout (`oci-layout`/`index.json`).
fn is_image(p: &Path) -> bool {
    if p.is_dir() {
        return p.join("oci-layout").is_file() || p.join("index.json").is_file();
    }
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// `palisade sbom`
#[derive(Args, Debug)]
pub struct SbomArgs {
    /// Lockfiles, directories to search for them, or images (`.tar`, `.tar.gz`, `.tgz`, OCI
    /// layout directory).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// The document's format: `cyclonedx` (CycloneDX 1.6 JSON) or `spdx` (SPDX 2.3 JSON).
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub format: SbomFormat,
    /// Write the document here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// Run `palisade sbom`; returns the exit code. Any lockfile that cannot be parsed is an error
/// (exit 2) and no document is written: an SBOM that silently misses packages would mislead.
pub fn run_sbom(args: SbomArgs) -> i32 {
    let mut lockfiles = Vec::new();
    let mut errors = Vec::new();
    let mut paths = Vec::new();
    for p in &args.paths {
        if is_image(p) {
            match palisade_deps::image::read_image(p) {
                Ok(fs) => {
                    let (l, e) = palisade_deps::image::image_lockfiles(p, &fs);
                    lockfiles.extend(l);
                    errors.extend(e);
                }
                Err(e) => errors.push(e),
            }
        } else {
            paths.push(p.clone());
        }
    }
    if !paths.is_empty() {
        let (files, e) = scan::discover(&paths);
        errors.extend(e);
        let (l, e) = scan::parse_all(&files);
        lockfiles.extend(l);
        errors.extend(e);
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return EXIT_ERROR;
    }
    if lockfiles.is_empty() {
        return fail("no lockfile found");
    }
    let first = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let subject = std::fs::canonicalize(&first)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| first.display().to_string());
    let (uuid, timestamp) = sbom::Meta::now();
    let meta = sbom::Meta {
        subject: &subject,
        is_image: args.paths.iter().any(|p| is_image(p)),
        timestamp: &timestamp,
        uuid: &uuid,
    };
    let doc = match args.format {
        SbomFormat::Cyclonedx => sbom::cyclonedx(&lockfiles, &meta),
        SbomFormat::Spdx => sbom::spdx(&lockfiles, &meta),
    };
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    match &args.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, text + "\n") {
                return fail(format!("{}: {e}", p.display()));
            }
        }
        None => outln!("{text}"),
    }
    EXIT_CLEAN
}

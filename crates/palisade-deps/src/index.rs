//! The local vulnerability index: OSV records in one SQLite file in the data directory.
//!
//! Invariants:
//! - one row per OSV id; re-importing a record with the same or an older `modified` changes
//!   nothing (import is idempotent), a newer `modified` replaces it;
//! - a withdrawn record keeps its row (so an older copy cannot resurrect it) but has no
//!   `affected` rows, so it is never matched;
//! - records are stored compacted (no `details`); lookups go through `(ecosystem, name)`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::osv::{self, Vulnerability};
use crate::scanrec::ScanRecord;
use crate::version::Ecosystem;
use crate::{Error, Result};

/// File name of the index inside the data directory.
/// Format of the index. 2: `vulns.scan` holds each record in its [`ScanRecord`] form, and
/// `names` each ecosystem's matchable package names (sorted, one per line). 3: the same layout,
/// with severities computed from CVSS v4.0 vectors too (a format-2 index rated v4-only records
/// `unknown`, and re-importing the same records would not recompute them).
/// An index of an older format is rebuilt by [`Index::open`] (import, update) and refused by
/// [`Index::open_read`] (scans) with a message to re-run `palisade db import`.
const SCHEMA_VERSION: &str = "3";

const CREATE_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS vulns(
         id TEXT PRIMARY KEY, modified TEXT NOT NULL, withdrawn INTEGER NOT NULL,
         ecosystems TEXT NOT NULL, record TEXT NOT NULL, scan BLOB NOT NULL);
     CREATE TABLE IF NOT EXISTS affected(
         ecosystem TEXT NOT NULL, name TEXT NOT NULL,
         vuln_id TEXT NOT NULL REFERENCES vulns(id) ON DELETE CASCADE,
         PRIMARY KEY(ecosystem, name, vuln_id)) WITHOUT ROWID;
     CREATE INDEX IF NOT EXISTS affected_vuln ON affected(vuln_id);
     CREATE TABLE IF NOT EXISTS imports(ecosystem TEXT PRIMARY KEY, imported_at TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS names(ecosystem TEXT PRIMARY KEY, list TEXT);";

/// An open index.
pub struct Index {
    conn: Connection,
    path: PathBuf,
    rebuilt_from: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read from all inputs.
    pub read: usize,
    /// Records inserted or replaced by a newer `modified`.
    pub written: usize,
    /// Records skipped because the index already had the same or a newer one.
    pub unchanged: usize,
    /// Records written that are withdrawn (kept out of matching).
    pub withdrawn: usize,
    /// Non-fatal problems: unreadable entries, schema deviations (`path: message`).
    pub warnings: Vec<String>,
}

/// Per-ecosystem figures of `db status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EcosystemStatus {
    pub ecosystem: String,
    /// Records matched by scans (not withdrawn).
    pub records: u64,
    pub withdrawn: u64,
    /// Newest `modified` among the ecosystem's records.
    pub newest_modified: Option<String>,
    /// When records of this ecosystem were last imported (RFC 3339, UTC).
    pub imported_at: Option<String>,
}

impl Index {
    /// Open or create the index at `path` (its parent directory is created).
    pub fn open(path: &Path) -> Result<Index> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let ix = |source| Error::Index {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(ix)?;
        // A rollback journal, not WAL: the index has one writer (import/update) and many
        // short-lived readers (scans); WAL would make every scan create, checkpoint and
        // remove -wal/-shm files on close, which cost more than the scan itself.
        conn.execute_batch(
            "PRAGMA journal_mode=DELETE; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;",
        )
        .map_err(ix)?;
        conn.execute_batch(CREATE_TABLES).map_err(ix)?;
        let mut rebuilt_from = None;
        match schema_version(&conn).map_err(ix)? {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(ix)?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) if is_older(&v) => {
                // Everything in the index derives from OSV data: start again from empty.
                conn.execute_batch(
                    "BEGIN; DROP TABLE IF EXISTS affected; DROP TABLE IF EXISTS vulns;
                     DROP TABLE IF EXISTS imports; DROP TABLE IF EXISTS meta;
                     DROP TABLE IF EXISTS names; COMMIT;",
                )
                .map_err(ix)?;
                conn.execute_batch(CREATE_TABLES).map_err(ix)?;
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(ix)?;
                rebuilt_from = Some(v);
            }
            Some(v) => {
                return Err(Error::SchemaVersion {
                    path: path.to_path_buf(),
                    found: v,
                    expected: SCHEMA_VERSION.to_string(),
                });
            }
        }
        Ok(Index {
            conn,
            path: path.to_path_buf(),
            rebuilt_from,
        })
    }

    /// Open an existing index read-only, for scans: no schema set-up, nothing written. An index
    /// of another format is refused ([`Error::SchemaVersion`]: re-run `palisade db import`).
    pub fn open_read(path: &Path) -> Result<Index> {
        use rusqlite::OpenFlags;
        let ix = |source| Error::Index {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(ix)?;
        conn.execute_batch("PRAGMA mmap_size=268435456;")
            .map_err(ix)?;
        let found = schema_version(&conn).map_err(ix)?;
        if found.as_deref() != Some(SCHEMA_VERSION) {
            return Err(Error::SchemaVersion {
                path: path.to_path_buf(),
                found: found.unwrap_or_else(|| "none".to_string()),
                expected: SCHEMA_VERSION.to_string(),
            });
        }
        Ok(Index {
            conn,
            path: path.to_path_buf(),
            rebuilt_from: None,
        })
    }

    /// The older format this index had when [`Index::open`] found it and rebuilt it empty.
    pub fn rebuilt_from(&self) -> Option<&str> {
        self.rebuilt_from.as_deref()
    }

    fn ix(&self, source: rusqlite::Error) -> Error {
        Error::Index {
            path: self.path.clone(),
            source,
        }
    }

    /// Import OSV records from files (`.json`, `.yaml`, `.yml`, `.zip`) and directories of them.
    pub fn import_paths(&mut self, paths: &[PathBuf]) -> Result<ImportReport> {
        let mut records: Vec<(String, Vulnerability)> = Vec::new();
        let mut report = ImportReport::default();
        for p in paths {
            collect(p, &mut records, &mut report.warnings)?;
        }
        self.import_records(records, report)
    }

    /// Import already-parsed records (`origin` names where each came from, for warnings).
    pub fn import_records(
        &mut self,
        records: Vec<(String, Vulnerability)>,
        mut report: ImportReport,
    ) -> Result<ImportReport> {
        let now = now_rfc3339();
        let path = self.path.clone();
        let ix = |source| Error::Index {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(ix)?;
        let mut touched: BTreeMap<String, ()> = BTreeMap::new();
        {
            let mut get = tx
                .prepare("SELECT modified FROM vulns WHERE id = ?1")
                .map_err(ix)?;
            let mut put = tx
                .prepare(
                    "INSERT INTO vulns(id, modified, withdrawn, ecosystems, record, scan) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(id) DO UPDATE SET modified=excluded.modified, withdrawn=excluded.withdrawn,
                         ecosystems=excluded.ecosystems, record=excluded.record, scan=excluded.scan",
                )
                .map_err(ix)?;
            let mut del = tx
                .prepare("DELETE FROM affected WHERE vuln_id = ?1")
                .map_err(ix)?;
            let mut add = tx
                .prepare(
                    "INSERT OR IGNORE INTO affected(ecosystem, name, vuln_id) VALUES(?1, ?2, ?3)",
                )
                .map_err(ix)?;
            for (origin, rec) in records {
                report.read += 1;
                for w in osv::validate(&rec) {
                    report.warnings.push(format!("{origin}: {}: {w}", rec.id));
                }
                let existing: Option<String> = get
                    .query_row([&rec.id], |r| r.get(0))
                    .optional()
                    .map_err(ix)?;
                if let Some(old) = existing
                    && !newer(&rec.modified, &old)
                {
                    report.unchanged += 1;
                    continue;
                }
                let mut ecosystems: Vec<String> = rec
                    .affected
                    .iter()
                    .filter_map(|a| a.package.as_ref())
                    .map(|p| Ecosystem::from_osv(&p.ecosystem).osv_name().to_string())
                    .collect();
                ecosystems.sort();
                ecosystems.dedup();
                let withdrawn = rec.withdrawn.is_some();
                let compacted = osv::compact(rec.clone());
                let text = serde_json::to_string(&compacted)
                    .map_err(|e| Error::parse(origin.clone(), 0, e.to_string()))?;
                let scan = ScanRecord::from_vulnerability(&compacted).encode();
                put.execute(params![
                    rec.id,
                    rec.modified,
                    withdrawn,
                    ecosystems.join(","),
                    text,
                    scan
                ])
                .map_err(ix)?;
                del.execute([&rec.id]).map_err(ix)?;
                if withdrawn {
                    report.withdrawn += 1;
                } else {
                    for a in &rec.affected {
                        if let Some(p) = &a.package {
                            let eco = Ecosystem::from_osv(&p.ecosystem);
                            add.execute(params![
                                eco.osv_name(),
                                eco.normalize_name(&p.name),
                                rec.id
                            ])
                            .map_err(ix)?;
                        }
                    }
                }
                for e in ecosystems {
                    touched.insert(e, ());
                }
                report.written += 1;
            }
            let mut stamp = tx
                .prepare("INSERT INTO imports(ecosystem, imported_at) VALUES(?1, ?2) ON CONFLICT(ecosystem) DO UPDATE SET imported_at=excluded.imported_at")
                .map_err(ix)?;
            for e in touched.keys() {
                stamp.execute(params![e, now]).map_err(ix)?;
            }
            if report.written > 0 {
                write_names(&tx).map_err(ix)?;
            }
        }
        tx.commit().map_err(ix)?;
        Ok(report)
    }

    /// Figures per ecosystem, sorted by name.
    pub fn status(&self) -> Result<Vec<EcosystemStatus>> {
        let mut out: BTreeMap<String, EcosystemStatus> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT ecosystems, withdrawn, modified FROM vulns")
            .map_err(|e| self.ix(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.ix(e))?;
        for row in rows {
            let (ecos, withdrawn, modified) = row.map_err(|e| self.ix(e))?;
            for e in ecos.split(',').filter(|e| !e.is_empty()) {
                let s = out.entry(e.to_string()).or_insert_with(|| EcosystemStatus {
                    ecosystem: e.to_string(),
                    records: 0,
                    withdrawn: 0,
                    newest_modified: None,
                    imported_at: None,
                });
                if withdrawn {
                    s.withdrawn += 1;
                } else {
                    s.records += 1;
                }
                if s.newest_modified
                    .as_deref()
                    .is_none_or(|m| newer(&modified, m))
                {
                    s.newest_modified = Some(modified.clone());
                }
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT ecosystem, imported_at FROM imports")
            .map_err(|e| self.ix(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.ix(e))?;
        for row in rows {
            let (e, at) = row.map_err(|e| self.ix(e))?;
            if let Some(s) = out.get_mut(&e) {
                s.imported_at = Some(at);
            }
        }
        Ok(out.into_values().collect())
    }

    /// Records (not withdrawn) that name `name` in `eco`.
    pub fn lookup(&self, eco: &Ecosystem, name: &str) -> Result<Vec<Vulnerability>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT v.id, v.record FROM affected a JOIN vulns v ON v.id = a.vuln_id
                 WHERE a.ecosystem = ?1 AND a.name = ?2 AND v.withdrawn = 0 ORDER BY v.id",
            )
            .map_err(|e| self.ix(e))?;
        let rows = stmt
            .query_map(params![eco.osv_name(), eco.normalize_name(name)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.ix(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, text) = row.map_err(|e| self.ix(e))?;
            let v = osv::from_json(&text)
                .map_err(|e| Error::parse(&self.path, 0, format!("record {id}: {e}")))?;
            out.push(v);
        }
        Ok(out)
    }

    /// The matchable records, in their [`ScanRecord`] form, of each of `names` (normalised) in
    /// `eco`, by name, each name's records ordered by id: one query for the whole lockfile
    /// (`names` sorted is fastest).
    /// Names no record mentions are absent from the map.
    pub fn scan_records(
        &self,
        eco: &Ecosystem,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<ScanRecord>>> {
        let mut out: std::collections::HashMap<String, Vec<ScanRecord>> =
            std::collections::HashMap::new();
        if names.is_empty() {
            return Ok(out);
        }
        // The sorted name list of the ecosystem filters out most names without a query.
        let list: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT list FROM names WHERE ecosystem = ?1")
            .and_then(|mut st| st.query_row([eco.osv_name()], |r| r.get(0)).optional())
            .map_err(|e| self.ix(e))?;
        let names: Vec<&str> = match &list {
            None => return Ok(out),
            Some(None) => {
                let mut all = names.to_vec();
                all.sort_unstable();
                all.dedup();
                all
            }
            Some(Some(list)) if names.is_sorted() => {
                // Both sorted: one merge pass, no allocation for the list.
                let mut known = list.split('\n').peekable();
                let mut hits = Vec::new();
                for &n in names {
                    while known.next_if(|k| *k < n).is_some() {}
                    if known.peek() == Some(&n) && hits.last() != Some(&n) {
                        hits.push(n);
                    }
                }
                hits
            }
            Some(Some(list)) => {
                let known: Vec<&str> = list.split('\n').collect();
                let mut hits: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| known.binary_search(n).is_ok())
                    .collect();
                hits.sort_unstable();
                hits.dedup();
                hits
            }
        };
        if names.is_empty() {
            return Ok(out);
        }
        let list = serde_json::to_string(&names)
            .map_err(|e| Error::parse(&self.path, 0, e.to_string()))?;
        // json_each first (CROSS JOIN keeps that order): one primary-key probe per name.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.name, v.id, v.scan FROM json_each(?2) j
                 CROSS JOIN affected a ON a.ecosystem = ?1 AND a.name = j.value
                 JOIN vulns v ON v.id = a.vuln_id
                 WHERE v.withdrawn = 0 ORDER BY a.name, v.id",
            )
            .map_err(|e| self.ix(e))?;
        let mut rows = stmt
            .query(params![eco.osv_name(), list])
            .map_err(|e| self.ix(e))?;
        while let Some(row) = rows.next().map_err(|e| self.ix(e))? {
            let name = row
                .get_ref(0)
                .map_err(|e| self.ix(e))?
                .as_str()
                .map_err(|e| {
                    self.ix(rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    ))
                })?;
            let bytes = row
                .get_ref(2)
                .map_err(|e| self.ix(e))?
                .as_blob()
                .map_err(|e| {
                    self.ix(rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Blob,
                        Box::new(e),
                    ))
                })?;
            let Some(rec) = ScanRecord::decode(bytes) else {
                let id: String = row.get(1).map_err(|e| self.ix(e))?;
                return Err(Error::parse(
                    &self.path,
                    0,
                    format!("record {id}: unreadable scan form; re-run `palisade db import`"),
                ));
            };
            match out.get_mut(name) {
                Some(v) => v.push(rec),
                None => {
                    out.insert(name.to_string(), vec![rec]);
                }
            }
        }
        Ok(out)
    }

    /// Every (normalised) package name of `eco` that some matchable record names: lets a scan
    /// skip the per-package lookup for the many packages no advisory mentions.
    pub fn names(&self, eco: &Ecosystem) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT name FROM affected WHERE ecosystem = ?1")
            .map_err(|e| self.ix(e))?;
        let rows = stmt
            .query_map([eco.osv_name()], |r| r.get::<_, String>(0))
            .map_err(|e| self.ix(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.ix(e))
    }

    /// Run `f` inside one read transaction: one consistent snapshot, and the file lock taken
    /// once instead of around every lookup.
    pub fn read_snapshot<T>(&self, f: impl FnOnce(&Index) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| self.ix(e))?;
        let out = f(self);
        self.conn.execute_batch("COMMIT").map_err(|e| self.ix(e))?;
        out
    }

    /// Number of records stored (withdrawn included).
    pub fn len(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM vulns", [], |r| r.get(0))
            .map_err(|e| self.ix(e))
    }

    /// True when no record was imported yet.
    pub fn is_empty(&self) -> Result<bool> {
        // Not `len() == 0`: counting walks every page of the table.
        self.conn
            .query_row("SELECT NOT EXISTS(SELECT 1 FROM vulns)", [], |r| r.get(0))
            .map_err(|e| self.ix(e))
    }
}

/// Rewrite the `names` table from `affected`: per ecosystem, its distinct names sorted (byte
/// order, as `binary_search` on `&str` expects), one per line. An ecosystem where some name
/// has a line break gets no list (NULL), and scans then query every name.
fn write_names(conn: &Connection) -> rusqlite::Result<()> {
    let mut lists: BTreeMap<String, Option<String>> = BTreeMap::new();
    {
        let mut st =
            conn.prepare("SELECT DISTINCT ecosystem, name FROM affected ORDER BY ecosystem, name")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (eco, name): (String, String) = (r.get(0)?, r.get(1)?);
            let list = lists.entry(eco).or_insert_with(|| Some(String::new()));
            if name.contains('\n') {
                *list = None;
            }
            if let Some(l) = list {
                if !l.is_empty() {
                    l.push('\n');
                }
                l.push_str(&name);
            }
        }
    }
    conn.execute("DELETE FROM names", [])?;
    let mut put = conn.prepare("INSERT INTO names(ecosystem, list) VALUES(?1, ?2)")?;
    for (eco, list) in &lists {
        put.execute(params![eco, list])?;
    }
    Ok(())
}

/// The `schema_version` in `meta`, if the table and the key exist.
fn schema_version(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row(
        "SELECT value FROM meta WHERE key='schema_version'",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Is format `v` older than this build's (so rebuilding loses nothing newer)?
fn is_older(v: &str) -> bool {
    matches!((v.parse::<u32>(), SCHEMA_VERSION.parse::<u32>()), (Ok(a), Ok(b)) if a < b)
}

/// How long ago an RFC 3339 time was, for people: `45s`, `12m`, `5h`, `3d`; `?` if unparsable.
pub fn age(rfc3339: &str, now: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return "?".to_string();
    };
    let secs = (now - t).whole_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Is `a` strictly newer than `b` (RFC 3339, falling back to text order)?
fn newer(a: &str, b: &str) -> bool {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

fn now_rfc3339() -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn parse_record(name: &str, text: &str) -> std::result::Result<Vulnerability, String> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        osv::from_yaml(text).map_err(|e| e.to_string())
    } else {
        osv::from_json(text).map_err(|e| e.to_string())
    }
}

fn is_record_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Gather records from `path` (file, zip or directory). Unparseable records become warnings.
fn collect(
    path: &Path,
    out: &mut Vec<(String, Vulnerability)>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() || is_record_name(name) || name.to_ascii_lowercase().ends_with(".zip") {
                collect(&p, out, warnings)?;
            }
        }
        return Ok(());
    }
    let display = path.display().to_string();
    if display.to_ascii_lowercase().ends_with(".zip") {
        return collect_zip(path, out, warnings);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    match parse_record(&display, &text) {
        Ok(v) => out.push((display, v)),
        Err(e) => warnings.push(format!("{display}: skipped, not an OSV record: {e}")),
    }
    Ok(())
}

fn collect_zip(
    path: &Path,
    out: &mut Vec<(String, Vulnerability)>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let arch = |m: String| Error::Archive {
        path: path.to_path_buf(),
        message: m,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| arch(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| arch(e.to_string()))?;
        let name = entry.name().to_string();
        if !entry.is_file() || !is_record_name(&name) {
            continue;
        }
        let origin = format!("{}!{name}", path.display());
        let mut text = String::new();
        if let Err(e) = entry.read_to_string(&mut text) {
            warnings.push(format!("{origin}: skipped: {e}"));
            continue;
        }
        match parse_record(&name, &text) {
            Ok(v) => out.push((origin, v)),
            Err(e) => warnings.push(format!("{origin}: skipped, not an OSV record: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, modified: &str, name: &str, fixed: &str) -> String {
        format!(
            r#"{{"id":"{id}","modified":"{modified}","affected":[{{"package":{{"ecosystem":"PyPI","name":"{name}"}},
            "ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
        )
    }

    #[test]
    fn import_is_idempotent_and_newer_modified_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = Index::open(&dir.path().join("ix.sqlite3")).unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(
            src.join("A.json"),
            rec("A", "2024-01-01T00:00:00Z", "Foo_Bar", "1.0"),
        )
        .unwrap();
        let r1 = ix.import_paths(std::slice::from_ref(&src)).unwrap();
        assert_eq!((r1.read, r1.written, r1.unchanged), (1, 1, 0));
        let r2 = ix.import_paths(std::slice::from_ref(&src)).unwrap();
        assert_eq!((r2.read, r2.written, r2.unchanged), (1, 0, 1));

        // An older copy does not replace the stored record; a newer one does.
        std::fs::write(
            src.join("A.json"),
            rec("A", "2023-01-01T00:00:00Z", "foo-bar", "0.5"),
        )
        .unwrap();
        ix.import_paths(std::slice::from_ref(&src)).unwrap();
        let got = ix.lookup(&Ecosystem::PyPI, "foo.bar").unwrap();
        assert_eq!(
            got[0].affected[0].ranges[0].events[1].fixed.as_deref(),
            Some("1.0")
        );
        std::fs::write(
            src.join("A.json"),
            rec("A", "2025-01-01T00:00:00Z", "foo-bar", "2.0"),
        )
        .unwrap();
        let r3 = ix.import_paths(std::slice::from_ref(&src)).unwrap();
        assert_eq!(r3.written, 1);
        let got = ix.lookup(&Ecosystem::PyPI, "FOO_BAR").unwrap();
        assert_eq!(
            got[0].affected[0].ranges[0].events[1].fixed.as_deref(),
            Some("2.0")
        );
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let now = time::macros::datetime!(2026-01-10 12:00:00 UTC);
        assert_eq!(age("2026-01-10T11:59:30Z", now), "30s");
        assert_eq!(age("2026-01-10T09:00:00Z", now), "3h");
        assert_eq!(age("2026-01-01T00:00:00Z", now), "9d");
        assert_eq!(age("2024-10-10T17:22:00.587279Z", now), "456d");
        assert_eq!(age("yesterday", now), "?");
    }

    #[test]
    fn withdrawn_records_are_never_matched_and_not_resurrected() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = Index::open(&dir.path().join("ix.sqlite3")).unwrap();
        let f = dir.path().join("B.json");
        std::fs::write(&f, rec("B", "2024-01-01T00:00:00Z", "pkg", "1.0")).unwrap();
        ix.import_paths(std::slice::from_ref(&f)).unwrap();
        assert_eq!(ix.lookup(&Ecosystem::PyPI, "pkg").unwrap().len(), 1);
        let withdrawn = rec("B", "2024-02-01T00:00:00Z", "pkg", "1.0").replacen(
            "\"modified\"",
            "\"withdrawn\":\"2024-02-01T00:00:00Z\",\"modified\"",
            1,
        );
        std::fs::write(&f, withdrawn).unwrap();
        let r = ix.import_paths(std::slice::from_ref(&f)).unwrap();
        assert_eq!(r.withdrawn, 1);
        assert!(ix.lookup(&Ecosystem::PyPI, "pkg").unwrap().is_empty());
        std::fs::write(&f, rec("B", "2024-01-01T00:00:00Z", "pkg", "1.0")).unwrap();
        ix.import_paths(std::slice::from_ref(&f)).unwrap();
        assert!(ix.lookup(&Ecosystem::PyPI, "pkg").unwrap().is_empty());
        let st = ix.status().unwrap();
        assert_eq!(
            (st[0].ecosystem.as_str(), st[0].records, st[0].withdrawn),
            ("PyPI", 0, 1)
        );
    }

    #[test]
    fn yaml_zip_and_garbage_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = Index::open(&dir.path().join("ix.sqlite3")).unwrap();
        let y = dir.path().join("C.yaml");
        std::fs::write(
            &y,
            "id: C\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {ecosystem: crates.io, name: foo}\n  ranges:\n  - type: SEMVER\n    events: [{introduced: '0'}, {fixed: '1.0.0'}]\n",
        )
        .unwrap();
        let z = dir.path().join("all.zip");
        {
            use std::io::Write;
            let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
            let opts = zip::write::SimpleFileOptions::default();
            w.start_file("D.json", opts).unwrap();
            w.write_all(rec("D", "2024-01-01T00:00:00Z", "bar", "1").as_bytes())
                .unwrap();
            w.start_file("E.json", opts).unwrap();
            w.write_all(b"{ not json").unwrap();
            w.finish().unwrap();
        }
        let r = ix.import_paths(&[y, z]).unwrap();
        assert_eq!(r.written, 2);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("all.zip!E.json"));
        assert_eq!(ix.lookup(&Ecosystem::CratesIo, "foo").unwrap()[0].id, "C");
        assert_eq!(ix.lookup(&Ecosystem::PyPI, "bar").unwrap()[0].id, "D");
        assert!(ix.lookup(&Ecosystem::CratesIo, "bar").unwrap().is_empty());
    }

    #[test]
    fn an_index_of_the_previous_format_is_refused_by_scans_and_rebuilt_by_import() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ix.sqlite3");
        {
            // The format-1 layout: no `scan` column.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES('schema_version', '1');
                 CREATE TABLE vulns(id TEXT PRIMARY KEY, modified TEXT NOT NULL, withdrawn INTEGER NOT NULL,
                     ecosystems TEXT NOT NULL, record TEXT NOT NULL);
                 INSERT INTO vulns VALUES('A', '2024-01-01T00:00:00Z', 0, 'PyPI', '{}');",
            )
            .unwrap();
        }
        let err = Index::open_read(&path).err().expect("refused").to_string();
        assert!(
            err.contains("format 1") && err.contains("re-run `palisade db import"),
            "{err}"
        );
        let mut ix = Index::open(&path).unwrap();
        assert_eq!(ix.rebuilt_from(), Some("1"));
        assert!(ix.is_empty().unwrap());
        let f = dir.path().join("A.json");
        std::fs::write(&f, rec("A", "2024-01-01T00:00:00Z", "pkg", "1.0")).unwrap();
        assert_eq!(ix.import_paths(&[f]).unwrap().written, 1);
        drop(ix);
        let ix = Index::open_read(&path).unwrap();
        let got = ix
            .scan_records(&Ecosystem::PyPI, &["pkg", "other"])
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got["pkg"][0].id, "A");
        assert_eq!(Index::open(&path).unwrap().rebuilt_from(), None);
        // A newer format than this build's is refused, not rebuilt.
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        assert!(Index::open(&path).is_err());
        assert!(Index::open_read(&path).is_err());
    }
}

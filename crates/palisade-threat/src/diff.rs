//! What changed between two analyses of a model (two versions of it, e.g. a pull request's base
//! and head): threats added, removed, and changed (severity, status, title), matched by their
//! stable ids. For review: a reviewer reads what the change does to the threat picture.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{Analysis, Threat};
use crate::model::Level;
use crate::report::{because, md_cell};

/// One threat present in both, with what differs.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub id: String,
    pub old: Threat,
    pub new: Threat,
    /// `severity`, `status`, `title`, `matched` — each a short "old → new".
    pub changes: Vec<String>,
}

/// The difference between two analyses.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub added: Vec<Threat>,
    pub removed: Vec<Threat>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Threats that are open in the new version at `min` or above and were not open at that
    /// severity before: what a `--fail-on` gate on a pull request counts.
    pub fn newly_open_at_least(&self, min: Level) -> Vec<&Threat> {
        let mut out: Vec<&Threat> = self
            .added
            .iter()
            .filter(|t| t.status.is_open() && t.severity >= min)
            .collect();
        out.extend(
            self.changed
                .iter()
                .filter(|c| {
                    c.new.status.is_open()
                        && c.new.severity >= min
                        && !(c.old.status.is_open() && c.old.severity >= min)
                })
                .map(|c| &c.new),
        );
        out
    }
}

/// Compare `old` with `new`.
pub fn diff(old: &Analysis, new: &Analysis) -> Diff {
    let before: BTreeMap<&str, &Threat> = old.threats.iter().map(|t| (t.id.as_str(), t)).collect();
    let after: BTreeMap<&str, &Threat> = new.threats.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut d = Diff {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
    };
    for (id, t) in &after {
        match before.get(id) {
            None => d.added.push((*t).clone()),
            Some(o) => {
                let mut changes = Vec::new();
                if o.severity != t.severity {
                    changes.push(format!("severity {} → {}", o.severity, t.severity));
                }
                if o.status != t.status {
                    changes.push(format!("status {} → {}", o.status.name(), t.status.name()));
                }
                if o.title != t.title {
                    changes.push(format!("title “{}” → “{}”", o.title, t.title));
                }
                if o.matched != t.matched {
                    changes.push(format!("matched {} → {}", because(o), because(t)));
                }
                if changes.is_empty() {
                    d.unchanged += 1;
                } else {
                    d.changed.push(Changed {
                        id: (*id).to_string(),
                        old: (*o).clone(),
                        new: (*t).clone(),
                        changes,
                    });
                }
            }
        }
    }
    for (id, t) in &before {
        if !after.contains_key(id) {
            d.removed.push((*t).clone());
        }
    }
    let order = |a: &Threat, b: &Threat| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id));
    d.added.sort_by(order);
    d.removed.sort_by(order);
    d
}

/// The diff for a terminal or a log: one line per threat.
pub fn text(d: &Diff) -> String {
    let mut out = String::new();
    for t in &d.added {
        let _ = writeln!(
            out,
            "+ {:<8} {}  {} [{}]",
            t.severity.as_str(),
            t.id,
            t.title,
            t.status.name()
        );
    }
    for t in &d.removed {
        let _ = writeln!(out, "- {:<8} {}  {}", t.severity.as_str(), t.id, t.title);
    }
    for c in &d.changed {
        let _ = writeln!(
            out,
            "~ {:<8} {}  {}: {}",
            c.new.severity.as_str(),
            c.id,
            c.new.title,
            c.changes.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "{} added, {} removed, {} changed, {} unchanged",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.unchanged
    );
    out
}

/// The diff as Markdown, for a pull-request comment.
pub fn markdown(d: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**Threat model:** {} added, {} removed, {} changed, {} unchanged.\n",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.unchanged
    );
    if d.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| | Severity | Threat | On | Status |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for t in &d.added {
        let _ = writeln!(
            out,
            "| added | {} | `{}` {} | {} | {} |",
            t.severity,
            t.id,
            md_cell(&t.title),
            md_cell(&t.target.name),
            t.status.name()
        );
    }
    for t in &d.removed {
        let _ = writeln!(
            out,
            "| removed | {} | `{}` {} | {} | |",
            t.severity,
            t.id,
            md_cell(&t.title),
            md_cell(&t.target.name)
        );
    }
    for c in &d.changed {
        let _ = writeln!(
            out,
            "| changed | {} | `{}` {} | {} | {} |",
            c.new.severity,
            c.id,
            md_cell(&c.new.title),
            md_cell(&c.new.target.name),
            md_cell(&c.changes.join("; "))
        );
    }
    out
}

/// The diff as JSON.
pub fn json(d: &Diff) -> Value {
    json!({
        "summary": {
            "added": d.added.len(),
            "removed": d.removed.len(),
            "changed": d.changed.len(),
            "unchanged": d.unchanged,
        },
        "added": d.added,
        "removed": d.removed,
        "changed": d.changed,
    })
}

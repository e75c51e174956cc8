//! Assessments over time: what changed between two, and the scores along the way.

use serde::Serialize;

use crate::{Assessment, Evaluation, Model};

/// What a summary's figures measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A SAMM score, 0–3.
    Score,
    /// A share of activities implemented, 0–100.
    Percent,
    /// A CSF profile level, 0–4.
    Level,
}

impl Unit {
    pub fn format(self, v: Option<f64>) -> String {
        match (self, v) {
            (_, None) => "–".into(),
            (Unit::Percent, Some(v)) => format!("{v:.0} %"),
            (_, Some(v)) => crate::report::fixed2(v),
        }
    }
}

/// The headline figures of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub unit: Unit,
    /// The scale's top.
    pub max: f64,
    pub overall: Option<f64>,
    /// Business functions, dimensions, CSF functions, BSIMM domains.
    pub groups: Vec<(String, Option<f64>)>,
    /// Practices, sub-dimensions, categories, BSIMM practices.
    pub parts: Vec<(String, Option<f64>)>,
}

/// An item whose answer changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub id: String,
    pub label: String,
    /// `None`: not answered.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A figure before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moved {
    pub name: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

impl Moved {
    pub fn delta(&self) -> Option<f64> {
        Some(self.after? - self.before?)
    }
}

/// Two assessments compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub unit: Unit,
    pub overall: Moved,
    pub groups: Vec<Moved>,
    /// Only the parts whose figure changed.
    pub parts: Vec<Moved>,
    pub changes: Vec<Change>,
}

/// Compare two evaluated assessments of one model.
pub fn diff(
    model: &Model,
    before: (&Assessment, &Evaluation),
    after: (&Assessment, &Evaluation),
) -> Diff {
    let (sa, sb) = (before.1.summary(), after.1.summary());
    let (ta, tb) = (before.1.answer_texts(), after.1.answer_texts());
    let mut ids: Vec<&String> = ta.keys().chain(tb.keys()).collect();
    ids.sort();
    ids.dedup();
    let order: Vec<String> = model.ids().into_iter().collect();
    ids.sort_by_key(|i| order.iter().position(|o| o == *i).unwrap_or(usize::MAX));
    let changes = ids
        .into_iter()
        .filter(|i| ta.get(*i) != tb.get(*i))
        .map(|i| Change {
            id: i.clone(),
            label: model.label(i),
            before: ta.get(i).cloned(),
            after: tb.get(i).cloned(),
        })
        .collect();
    let pair = |a: &[(String, Option<f64>)], b: &[(String, Option<f64>)]| -> Vec<Moved> {
        a.iter()
            .zip(b.iter())
            .map(|((n, x), (_, y))| Moved {
                name: n.clone(),
                before: *x,
                after: *y,
            })
            .collect()
    };
    Diff {
        before: before.0.label(),
        after: after.0.label(),
        unit: sa.unit,
        overall: Moved {
            name: "Overall".into(),
            before: sa.overall,
            after: sb.overall,
        },
        groups: pair(&sa.groups, &sb.groups),
        parts: pair(&sa.parts, &sb.parts)
            .into_iter()
            .filter(|m| match (m.before, m.after) {
                (Some(x), Some(y)) => (x - y).abs() > 1e-9,
                (x, y) => x.is_some() != y.is_some(),
            })
            .collect(),
        changes,
    }
}

/// A diff as text (for people) or Markdown.
pub fn render(d: &Diff, markdown: bool) -> String {
    use crate::report::{Document, Table};
    let f = |v: Option<f64>| d.unit.format(v);
    let delta = |m: &Moved| match m.delta() {
        Some(x) if x.abs() > 1e-9 => {
            let s = d.unit.format(Some(x.abs()));
            format!("{}{s}", if x > 0.0 { "+" } else { "−" })
        }
        Some(_) => "=".into(),
        None => "".into(),
    };
    let row = |m: &Moved| vec![m.name.clone(), f(m.before), f(m.after), delta(m)];
    let mut doc = Document::new(format!("Maturity: {} → {}", d.before, d.after));
    let mut scores = Table::new("Scores", &["", "BEFORE", "AFTER", "CHANGE"]);
    scores.rows.push(row(&d.overall));
    scores.rows.extend(d.groups.iter().map(row));
    doc.tables.push(scores);
    if !d.parts.is_empty() {
        let mut t = Table::new("Changed parts", &["", "BEFORE", "AFTER", "CHANGE"]);
        t.rows.extend(d.parts.iter().map(row));
        doc.tables.push(t);
    }
    let mut t = Table::new(
        &format!("Changed answers ({})", d.changes.len()),
        &["ID", "BEFORE", "AFTER", "ITEM"],
    );
    for c in &d.changes {
        let s = |x: &Option<String>| x.clone().unwrap_or_else(|| "(none)".into());
        t.rows.push(vec![
            c.id.clone(),
            s(&c.before),
            s(&c.after),
            c.label.clone(),
        ]);
    }
    doc.tables.push(t);
    if markdown {
        crate::report::markdown(&doc)
    } else {
        crate::report::text(&doc)
    }
}

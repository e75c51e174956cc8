//! The debrief: a drill's score compared with the scenario's expectations and with earlier runs
//! of the same scenario, as Markdown and as HTML (one self-contained page, no scripts). Both are
//! rendered from one document so they always say the same thing.

use crate::duration::human;
use crate::scenario::Scenario;
use crate::score::DrillScore;
use std::collections::BTreeMap;

/// What a debrief is made of.
pub struct Debrief<'a> {
    pub scenario: &'a Scenario,
    pub score: &'a DrillScore,
    /// Earlier scores of the same scenario, any order (the newest first is not assumed).
    pub previous: &'a [DrillScore],
    /// The playbook's step titles by number, to name steps (missing titles show the number).
    pub step_titles: &'a BTreeMap<u32, String>,
}

enum Block {
    Heading(u8, String),
    Para(String),
    /// A list of (text, link) items.
    Links(Vec<(String, String)>),
    Table(Vec<String>, Vec<Vec<String>>),
}

fn at_or_dash(s: Option<i64>) -> String {
    s.map(human).unwrap_or_else(|| "—".into())
}

impl Debrief<'_> {
    fn earlier(&self) -> Vec<&DrillScore> {
        let mut v: Vec<&DrillScore> = self
            .previous
            .iter()
            .filter(|p| p.scenario == self.score.scenario && p.started_at < self.score.started_at)
            .collect();
        v.sort_by_key(|p| p.started_at);
        v
    }

    fn blocks(&self) -> Vec<Block> {
        let s = self.score;
        let mut out = vec![Block::Heading(1, format!("Drill debrief: {}", s.title))];
        out.push(Block::Para(format!(
            "Scenario {} on playbook {}, started {}, ran {}. Score: {} of {} points ({}%); {} of {} expectations met.",
            s.scenario,
            self.scenario.playbook,
            s.started_at,
            human(s.duration()),
            s.total,
            s.possible,
            (s.total * 100).checked_div(s.possible).unwrap_or(0),
            s.expectations.iter().filter(|e| e.met).count(),
            s.expectations.len(),
        )));
        if !self.scenario.sources.is_empty() {
            out.push(Block::Para("Based on these public write-ups:".into()));
            out.push(Block::Links(
                self.scenario
                    .sources
                    .iter()
                    .map(|x| (x.title.clone(), x.url.clone()))
                    .collect(),
            ));
        }

        let earlier = self.earlier();
        let last = earlier.last().copied();
        out.push(Block::Heading(2, "Expectations".into()));
        let mut rows = Vec::new();
        for e in &s.expectations {
            let before = last
                .and_then(|l| l.expectation(&e.id))
                .map(|p| if p.met { "met" } else { "missed" }.to_string());
            rows.push(vec![
                if e.met { "met" } else { "missed" }.to_string(),
                e.description.clone(),
                format!("{}/{}", e.earned, e.points),
                e.detail.clone(),
                before.unwrap_or_else(|| "—".into()),
            ]);
        }
        out.push(Block::Table(
            ["", "expectation", "points", "what happened", "last run"]
                .map(String::from)
                .to_vec(),
            rows,
        ));

        out.push(Block::Heading(2, "Time to each step".into()));
        let best = |step: u32| {
            earlier
                .iter()
                .filter_map(|p| p.step(step).and_then(|t| t.settled_after))
                .min()
        };
        let rows = s
            .steps
            .iter()
            .map(|st| {
                let title = self.step_titles.get(&st.step).cloned().unwrap_or_default();
                let last_time = last
                    .and_then(|l| l.step(st.step))
                    .and_then(|t| t.settled_after);
                let change = match (st.settled_after, last_time) {
                    (Some(now), Some(then)) if now < then => {
                        format!("{} faster", human(then - now))
                    }
                    (Some(now), Some(then)) if now > then => {
                        format!("{} slower", human(now - then))
                    }
                    (Some(_), Some(_)) => "same".into(),
                    _ => "—".into(),
                };
                vec![
                    st.step.to_string(),
                    title,
                    at_or_dash(st.started_after),
                    match (st.settled_after, st.waived) {
                        (Some(t), true) => format!("{} (waived)", human(t)),
                        (t, _) => at_or_dash(t),
                    },
                    at_or_dash(last_time),
                    at_or_dash(best(st.step)),
                    change,
                ]
            })
            .collect();
        out.push(Block::Table(
            [
                "step",
                "title",
                "started",
                "done",
                "last run",
                "best before",
                "change",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ));

        out.push(Block::Heading(2, "Playbook rules".into()));
        if s.refusals.is_empty() {
            out.push(Block::Para(
                "No command was refused: the team followed the playbook's order.".into(),
            ));
        } else {
            let rows = s
                .refusals
                .iter()
                .map(|r| {
                    vec![
                        r.rule.clone(),
                        r.refusals.to_string(),
                        palisade_core::rule::by_id(&r.rule)
                            .map(|x| x.summary.to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            out.push(Block::Table(
                ["rule", "refusals", "what it says"]
                    .map(String::from)
                    .to_vec(),
                rows,
            ));
        }

        if !s.cadence.is_empty() {
            out.push(Block::Heading(2, "Communications".into()));
            let rows = s
                .cadence
                .iter()
                .map(|c| {
                    vec![
                        c.audience.clone(),
                        human(c.every as i64),
                        c.updates.to_string(),
                        human(c.longest_gap),
                        c.late.to_string(),
                    ]
                })
                .collect();
            out.push(Block::Table(
                [
                    "audience",
                    "cadence",
                    "updates",
                    "longest gap",
                    "late intervals",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            ));
        }

        if !s.custody.is_empty() {
            out.push(Block::Heading(2, "Evidence custody".into()));
            let rows = s
                .custody
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        match c.kept {
                            None => "not recorded",
                            Some(true) => "kept",
                            Some(false) => "broken",
                        }
                        .to_string(),
                    ]
                })
                .collect();
            out.push(Block::Table(
                ["file", "custody"].map(String::from).to_vec(),
                rows,
            ));
        }

        out.push(Block::Heading(2, "Compared with earlier runs".into()));
        if earlier.is_empty() {
            out.push(Block::Para(
                "This is the first scored run of this scenario.".into(),
            ));
        } else {
            let mut rows: Vec<Vec<String>> = earlier
                .iter()
                .map(|p| {
                    vec![
                        p.started_at.to_string(),
                        format!("{}/{}", p.total, p.possible),
                        format!(
                            "{}/{}",
                            p.expectations.iter().filter(|e| e.met).count(),
                            p.expectations.len()
                        ),
                        human(p.duration()),
                    ]
                })
                .collect();
            rows.push(vec![
                format!("{} (this run)", s.started_at),
                format!("{}/{}", s.total, s.possible),
                format!(
                    "{}/{}",
                    s.expectations.iter().filter(|e| e.met).count(),
                    s.expectations.len()
                ),
                human(s.duration()),
            ]);
            out.push(Block::Table(
                ["run", "score", "expectations met", "length"]
                    .map(String::from)
                    .to_vec(),
                rows,
            ));
            if let Some(l) = last {
                let diff = s.total as i64 - l.total as i64;
                out.push(Block::Para(match diff {
                    0 => "The same score as the last run.".to_string(),
                    d if d > 0 => format!("{d} points more than the last run."),
                    d => format!("{} points fewer than the last run.", -d),
                }));
                let regressed: Vec<&str> = s
                    .expectations
                    .iter()
                    .filter(|e| !e.met && l.expectation(&e.id).is_some_and(|p| p.met))
                    .map(|e| e.description.as_str())
                    .collect();
                if !regressed.is_empty() {
                    out.push(Block::Para(format!(
                        "Met last time, missed this time: {}.",
                        regressed.join("; ")
                    )));
                }
                let improved: Vec<&str> = s
                    .expectations
                    .iter()
                    .filter(|e| e.met && l.expectation(&e.id).is_some_and(|p| !p.met))
                    .map(|e| e.description.as_str())
                    .collect();
                if !improved.is_empty() {
                    out.push(Block::Para(format!(
                        "Missed last time, met this time: {}.",
                        improved.join("; ")
                    )));
                }
            }
        }
        out
    }

    /// The debrief as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for b in self.blocks() {
            match b {
                Block::Heading(level, text) => {
                    out.push_str(&"#".repeat(level as usize));
                    out.push(' ');
                    out.push_str(&md_text(&text));
                    out.push_str("\n\n");
                }
                Block::Para(text) => {
                    out.push_str(&md_text(&text));
                    out.push_str("\n\n");
                }
                Block::Links(items) => {
                    for (text, url) in items {
                        out.push_str(&format!(
                            "- [{}](<{}>)\n",
                            md_text(&text).replace(['[', ']'], ""),
                            url.replace(['<', '>', '\n'], "")
                        ));
                    }
                    out.push('\n');
                }
                Block::Table(head, rows) => {
                    let line = |cells: &[String]| {
                        format!(
                            "| {} |\n",
                            cells
                                .iter()
                                .map(|c| md_cell(c))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        )
                    };
                    out.push_str(&line(&head));
                    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                    for r in rows {
                        out.push_str(&line(&r));
                    }
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The debrief as one HTML page.
    pub fn html(&self) -> String {
        let mut body = String::new();
        for b in self.blocks() {
            match b {
                Block::Heading(level, text) => {
                    body.push_str(&format!("<h{level}>{}</h{level}>\n", esc(&text)));
                }
                Block::Para(text) => body.push_str(&format!("<p>{}</p>\n", esc(&text))),
                Block::Links(items) => {
                    body.push_str("<ul>\n");
                    for (text, url) in items {
                        let href = if url.starts_with("https://") || url.starts_with("http://") {
                            esc(&url)
                        } else {
                            String::new()
                        };
                        body.push_str(&format!(
                            "<li><a href=\"{href}\" rel=\"noreferrer\">{}</a></li>\n",
                            esc(&text)
                        ));
                    }
                    body.push_str("</ul>\n");
                }
                Block::Table(head, rows) => {
                    body.push_str("<table>\n<thead><tr>");
                    for h in &head {
                        body.push_str(&format!("<th>{}</th>", esc(h)));
                    }
                    body.push_str("</tr></thead>\n<tbody>\n");
                    for r in rows {
                        body.push_str("<tr>");
                        for c in &r {
                            let class = match c.as_str() {
                                "met" | "kept" => " class=\"ok\"",
                                "missed" | "broken" | "not recorded" => " class=\"bad\"",
                                _ => "",
                            };
                            body.push_str(&format!("<td{class}>{}</td>", esc(c)));
                        }
                        body.push_str("</tr>\n");
                    }
                    body.push_str("</tbody>\n</table>\n");
                }
            }
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
             <title>Drill debrief: {}</title>\n<style>\n\
             body{{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#1b1f24}}\n\
             table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #c9d1d9;padding:.3em .6em;text-align:left;vertical-align:top}}\n\
             th{{background:#f3f5f7}}.ok{{color:#116329;font-weight:600}}.bad{{color:#a40e26;font-weight:600}}\n\
             </style>\n</head>\n<body>\n{body}</body>\n</html>\n",
            esc(&self.score.title)
        )
    }
}

/// Text safe in HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text that Markdown shows as written: no HTML, no emphasis or links taken from it.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn md_cell(s: &str) -> String {
    md_text(s)
}

//! Reports as documents of tables, rendered as aligned text, Markdown or standalone HTML (no
//! scripts, every model text escaped).

use std::fmt::Write as _;

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, header: &[&str]) -> Table {
        Table {
            title: title.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// A report: a title, facts (key, value), tables, notes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub title: String,
    pub facts: Vec<(String, String)>,
    pub tables: Vec<Table>,
    pub notes: Vec<String>,
    /// An SVG drawn into the HTML report (already escaped SVG text).
    pub figure: Option<String>,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            ..Document::default()
        }
    }
}

/// Two decimals, halves rounded away from zero as spreadsheets round (0.625 → 0.63; Rust's
/// formatting would round the exact half to even, 0.62).
pub fn fixed2(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r:.2}")
}

fn cell(s: &str) -> String {
    crate::source::one_line(s)
}

/// Aligned columns for a terminal.
pub fn text(d: &Document) -> String {
    let mut out = format!("{}\n", cell(&d.title));
    for (k, v) in &d.facts {
        let _ = writeln!(out, "  {}: {}", cell(k), cell(v));
    }
    for t in &d.tables {
        let _ = write!(out, "\n{}\n", cell(&t.title));
        let mut widths: Vec<usize> = t.header.iter().map(|h| h.chars().count()).collect();
        for r in &t.rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell(c).chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from("  ");
            for (i, c) in cells.iter().enumerate() {
                let c = cell(c);
                s.push_str(&c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(widths[i].saturating_sub(c.chars().count()) + 2));
                }
            }
            s.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&t.header));
        for r in &t.rows {
            out.push_str(&line(r));
        }
    }
    if !d.notes.is_empty() {
        out.push('\n');
        for n in &d.notes {
            let _ = writeln!(out, "{}", cell(n));
        }
    }
    out
}

/// A Markdown table cell: one line, pipes and markup characters escaped.
pub fn md(s: &str) -> String {
    let mut out = String::new();
    for c in cell(s).chars() {
        if matches!(c, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn markdown(d: &Document) -> String {
    let mut out = format!("# {}\n\n", md(&d.title));
    for (k, v) in &d.facts {
        let _ = writeln!(out, "- **{}:** {}", md(k), md(v));
    }
    for t in &d.tables {
        let _ = write!(out, "\n## {}\n\n", md(&t.title));
        let _ = writeln!(
            out,
            "| {} |",
            t.header
                .iter()
                .map(|h| md(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "|{}", "---|".repeat(t.header.len()));
        for r in &t.rows {
            let _ = writeln!(
                out,
                "| {} |",
                r.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ")
            );
        }
    }
    if !d.notes.is_empty() {
        out.push('\n');
        for n in &d.notes {
            let _ = writeln!(out, "> {}", md(n));
        }
    }
    out
}

/// Text for HTML (and SVG) content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn html(d: &Document) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}th,td{{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}}th{{background:#f0f0f0}}td.n{{text-align:right}}</style></head><body>\n<h1>{}</h1>\n",
        escape(&d.title),
        escape(&d.title)
    );
    if !d.facts.is_empty() {
        out.push_str("<dl>\n");
        for (k, v) in &d.facts {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
        }
        out.push_str("</dl>\n");
    }
    if let Some(svg) = &d.figure {
        out.push_str("<figure>\n");
        out.push_str(svg);
        out.push_str("</figure>\n");
    }
    for t in &d.tables {
        let _ = writeln!(
            out,
            "<h2>{}</h2>\n<table>\n<tr>{}</tr>",
            escape(&t.title),
            t.header
                .iter()
                .map(|h| format!("<th>{}</th>", escape(h)))
                .collect::<String>()
        );
        for r in &t.rows {
            out.push_str("<tr>");
            for c in r {
                let numeric = !c.is_empty()
                    && c.chars()
                        .all(|x| x.is_ascii_digit() || ".%/ +−-".contains(x));
                let _ = write!(
                    out,
                    "<td{}>{}</td>",
                    if numeric { " class=\"n\"" } else { "" },
                    escape(c)
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    for n in &d.notes {
        let _ = writeln!(out, "<p>{}</p>", escape(n));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_round_halves_up() {
        assert_eq!(fixed2(0.625), "0.63");
        assert_eq!(fixed2(0.125), "0.13");
        assert_eq!(fixed2(1.24166666666667), "1.24");
        assert_eq!(fixed2(-0.0), "0.00");
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut d = Document::new("<script>alert(1)</script>");
        let mut t = Table::new("t|x", &["A"]);
        t.rows.push(vec!["a|b\nc <img src=x onerror=y>".into()]);
        d.tables.push(t);
        let h = html(&d);
        assert!(!h.contains("<script>") && !h.contains("<img"), "{h}");
        let m = markdown(&d);
        assert!(m.contains("a\\|b c \\<img"), "{m}");
        assert_eq!(text(&d).lines().filter(|l| l.contains("img")).count(), 1);
    }
}

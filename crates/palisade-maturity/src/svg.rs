//! Charts as SVG, laid out here (no tool to install, the same bytes on every machine): the heat
//! map (rows × levels, share implemented) and the progress chart (scores over time). Every text
//! from a model or an answers file is escaped; long labels are shortened with the full text in
//! a `<title>` (a tooltip).

use std::fmt::Write as _;

use crate::report::escape;

/// One heat-map cell: the share it shows (`None`: nothing to count) and how it was counted.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    pub share: Option<f64>,
    /// `3/5`.
    pub detail: String,
}

const FONT: &str = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\"";
const LABEL_MAX: usize = 64;
const CHAR_W: f64 = 6.8;

fn short(s: &str) -> String {
    shorten(s, LABEL_MAX)
}

/// A title: longer than a label, still bounded.
fn heading(s: &str) -> String {
    shorten(s, 100)
}

fn shorten(s: &str, max: usize) -> String {
    let s = crate::source::one_line(s);
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The colour of a share: light warm (none) to deep green (all), and the text colour on it.
pub fn colour(share: Option<f64>) -> (&'static str, String) {
    let Some(s) = share else {
        return ("#555555", "#eeeeee".to_string());
    };
    let s = s.clamp(0.0, 1.0);
    let (a, b) = ((0xfd, 0xe8, 0xd7), (0x1a, 0x7f, 0x37));
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * s).round() as u8;
    let fill = format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    );
    (if s > 0.55 { "#ffffff" } else { "#1a1a1a" }, fill)
}

/// A heat map: `rows` × `columns`, each cell coloured by its share with the percentage written
/// in it, and a legend.
pub fn heatmap(
    title: &str,
    rows: &[String],
    columns: &[String],
    cells: &[Vec<HeatCell>],
) -> String {
    let label_w = rows
        .iter()
        .map(|r| short(r).chars().count())
        .max()
        .unwrap_or(0) as f64
        * CHAR_W
        + 24.0;
    let (cw, ch) = (92.0, 30.0);
    let top = 64.0;
    let width = (label_w + cw * columns.len() as f64 + 20.0)
        .max(600.0)
        .max(heading(title).chars().count() as f64 * 8.6 + 24.0);
    let grid_bottom = top + ch * rows.len() as f64;
    let height = grid_bottom + 78.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-labelledby=\"heatmap-title\" {FONT}>"
    );
    let _ = writeln!(s, "<title id=\"heatmap-title\">{}</title>", escape(title));
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"26\" font-size=\"16\" font-weight=\"600\" fill=\"#1a1a1a\">{}</text>",
        escape(&heading(title))
    );
    for (j, c) in columns.iter().enumerate() {
        let x = label_w + cw * j as f64 + cw / 2.0;
        let _ = writeln!(
            s,
            "<text x=\"{x:.0}\" y=\"{:.0}\" font-size=\"12\" font-weight=\"600\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
            top - 10.0,
            escape(&short(c))
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + ch * i as f64;
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1a1a1a\"><title>{}</title>{}</text>",
            label_w - 10.0,
            y + ch / 2.0 + 4.0,
            escape(&crate::source::one_line(r)),
            escape(&short(r))
        );
        for (j, c) in columns.iter().enumerate() {
            let cell = cells.get(i).and_then(|row| row.get(j));
            let share = cell.and_then(|c| c.share);
            let (ink, fill) = colour(share);
            let x = label_w + cw * j as f64;
            let shown = match share {
                Some(v) => format!("{:.0} %", v * 100.0),
                None => "–".into(),
            };
            let detail = cell.map(|c| c.detail.as_str()).unwrap_or("");
            let _ = writeln!(
                s,
                "<g><title>{} · {}: {} ({})</title><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{:.0}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"2\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{ink}\">{}</text></g>",
                escape(&crate::source::one_line(r)),
                escape(c),
                escape(&shown),
                escape(if detail.is_empty() {
                    "nothing to count"
                } else {
                    detail
                }),
                cw,
                ch,
                x + cw / 2.0,
                y + ch / 2.0 + 4.0,
                escape(&shown)
            );
        }
    }
    // Legend: five steps of the scale and the empty cell.
    let ly = grid_bottom + 26.0;
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{:.0}\" font-size=\"12\" fill=\"#1a1a1a\">Implemented:</text>",
        ly + 14.0
    );
    for (k, v) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
        let x = 100.0 + 62.0 * k as f64;
        let (ink, fill) = colour(Some(*v));
        let _ = writeln!(
            s,
            "<rect x=\"{x:.0}\" y=\"{ly:.0}\" width=\"58\" height=\"20\" fill=\"{fill}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{ink}\">{:.0} %</text>",
            x + 29.0,
            ly + 14.0,
            v * 100.0
        );
    }
    let (ink, fill) = colour(None);
    let x = 100.0 + 62.0 * 5.0 + 10.0;
    let _ = writeln!(
        s,
        "<rect x=\"{x:.0}\" y=\"{ly:.0}\" width=\"58\" height=\"20\" fill=\"{fill}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{ink}\">–</text><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" fill=\"#1a1a1a\">nothing to count</text>",
        x + 29.0,
        ly + 14.0,
        x + 64.0,
        ly + 14.0
    );
    s.push_str("</svg>\n");
    s
}

/// Days since 0000-03-01 of a `YYYY-MM-DD` day, for spacing dates on an axis.
fn day_number(d: &str) -> Option<i64> {
    let y: i64 = d.get(0..4)?.parse().ok()?;
    let m: i64 = d.get(5..7)?.parse().ok()?;
    let day: i64 = d.get(8..10)?.parse().ok()?;
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + day - 1)
}

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// A line chart of figures over time: `dates` (YYYY-MM-DD, ascending) on x, each series a line
/// (the first drawn bold: the overall figure), `0..=max` on y.
pub fn progress(
    title: &str,
    unit: &str,
    max: f64,
    dates: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> String {
    let (left, right, top, bottom) = (56.0, 230.0, 48.0, 56.0);
    let (pw, ph) = (520.0, 280.0);
    let width = left + pw + right;
    let height = top + ph + bottom;
    let days: Vec<i64> = dates.iter().map(|d| day_number(d).unwrap_or(0)).collect();
    let (d0, d1) = (
        days.first().copied().unwrap_or(0),
        days.last().copied().unwrap_or(0),
    );
    let x_of = |i: usize| {
        if d1 > d0 {
            left + pw * (days[i] - d0) as f64 / (d1 - d0) as f64
        } else {
            left + pw / 2.0
        }
    };
    let max = if max > 0.0 { max } else { 1.0 };
    let y_of = |v: f64| top + ph - ph * (v.clamp(0.0, max) / max);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-labelledby=\"progress-title\" {FONT}>"
    );
    let _ = writeln!(s, "<title id=\"progress-title\">{}</title>", escape(title));
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"28\" font-size=\"16\" font-weight=\"600\" fill=\"#1a1a1a\">{}</text>",
        escape(&heading(title))
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let y = y_of(v);
        let label = if unit == "%" {
            format!("{v:.0} %")
        } else {
            format!("{v:.2}")
        };
        let _ = writeln!(
            s,
            "<line x1=\"{left:.0}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/><text x=\"{:.0}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#444444\">{}</text>",
            left + pw,
            left - 6.0,
            y + 4.0,
            escape(&label)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left:.0}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#888888\"/>",
        top + ph,
        left + pw,
        top + ph
    );
    // Date labels: all when few, else about eight.
    let step = dates.len().div_ceil(8).max(1);
    for (i, d) in dates.iter().enumerate() {
        if i % step != 0 && i + 1 != dates.len() {
            continue;
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444444\">{}</text>",
            x_of(i),
            top + ph + 18.0,
            escape(d)
        );
    }
    // Drawn last to first, so the overall line lies on top; the legend keeps the order.
    for (n, (name, values)) in series.iter().enumerate().rev() {
        let colour = if n == 0 {
            "#1a1a1a"
        } else {
            PALETTE[(n - 1) % PALETTE.len()]
        };
        let w = if n == 0 { 3.0 } else { 1.6 };
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x_of(i),
                        y_of(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = writeln!(
            s,
            "<g><title>{}</title>",
            escape(&crate::source::one_line(name))
        );
        if !path.is_empty() {
            let _ = writeln!(
                s,
                "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{w}\"/>",
                path.trim_end()
            );
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let shown = if unit == "%" {
                    format!("{v:.0} %")
                } else {
                    format!("{v:.2}")
                };
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{colour}\"><title>{} · {}: {}</title></circle>",
                    x_of(i),
                    y_of(*v),
                    if n == 0 { 4 } else { 3 },
                    escape(&crate::source::one_line(name)),
                    escape(&dates[i]),
                    escape(&shown)
                );
            }
        }
        s.push_str("</g>\n");
        let ly = top + 8.0 + 20.0 * n as f64;
        let lx = left + pw + 20.0;
        let _ = writeln!(
            s,
            "<line x1=\"{lx:.0}\" y1=\"{ly:.0}\" x2=\"{:.0}\" y2=\"{ly:.0}\" stroke=\"{colour}\" stroke-width=\"{w}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            escape(&short(name).chars().take(26).collect::<String>())
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_ordered() {
        assert_eq!(
            day_number("2026-03-01").unwrap() - day_number("2026-02-28").unwrap(),
            1
        );
        assert_eq!(
            day_number("2025-01-01").unwrap() - day_number("2024-01-01").unwrap(),
            366
        );
    }

    #[test]
    fn colours_run_from_light_to_green() {
        assert_eq!(colour(Some(0.0)).1, "#fde8d7");
        assert_eq!(colour(Some(1.0)).1, "#1a7f37");
        assert_eq!(colour(Some(1.0)).0, "#ffffff");
    }
}

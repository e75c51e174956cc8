//! Generated evidence: a log excerpt of many lines from a template, with the lines that matter
//! inserted where the scenario says. Deterministic: the same scenario and drill start give the
//! same bytes (the generator is seeded; times are offsets from the start), so the hash a team
//! records in its chain of custody can be checked against a fresh rendering.
//!
//! Placeholders: `{time}` (the line's time, RFC 3339 UTC), `{n}` (the line number), `{ip}` (a
//! private address), `{int:A-B}` (a number in A…B), `{pick:a|b|c}` (one of the choices),
//! `{hex:N}` (N hex digits, at most 64); `{{` and `}}` are literal braces.

use crate::duration::{Dur, Offset};
use palisade_core::Timestamp;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

/// Most lines one generated file may have.
pub const MAX_LINES: u32 = 20_000;
/// Longest template or inserted line, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 2_000;

/// How to generate a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// How many lines.
    pub lines: u32,
    /// Time between two lines.
    pub every: Dur,
    /// The first line's time, from the drill's start (`-2h`: two hours before).
    #[serde(default)]
    pub from: Offset,
    /// Every line not inserted.
    pub template: String,
    /// Seed of the random parts.
    #[serde(default = "one")]
    pub seed: u64,
    /// Lines put in place of generated ones (1-based positions), with the same placeholders.
    #[serde(default)]
    pub insert: Vec<Insert>,
}

fn one() -> u64 {
    1
}

/// A line placed at `line` (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insert {
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Time,
    N,
    Ip,
    Int(u64, u64),
    Pick(Vec<String>),
    Hex(usize),
}

fn parse_template(t: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err("a lone `}`: write `}}` for a brace".into()),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("placeholder `{{{name}` is not closed")),
                    }
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(placeholder(&name)?);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

fn placeholder(name: &str) -> Result<Part, String> {
    let unknown = || {
        format!(
            "unknown placeholder `{{{name}}}`: use {{time}}, {{n}}, {{ip}}, {{int:A-B}}, {{pick:a|b}} or {{hex:N}}"
        )
    };
    Ok(match name.split_once(':') {
        None => match name {
            "time" => Part::Time,
            "n" => Part::N,
            "ip" => Part::Ip,
            _ => return Err(unknown()),
        },
        Some(("int", range)) => {
            let (a, b) = range
                .split_once('-')
                .ok_or_else(|| format!("`{{int:{range}}}` needs a range A-B"))?;
            let (a, b): (u64, u64) = (
                a.trim()
                    .parse()
                    .map_err(|_| format!("`{a}` is not a number"))?,
                b.trim()
                    .parse()
                    .map_err(|_| format!("`{b}` is not a number"))?,
            );
            if a > b {
                return Err(format!("`{{int:{range}}}`: {a} is more than {b}"));
            }
            Part::Int(a, b)
        }
        Some(("pick", choices)) => Part::Pick(choices.split('|').map(String::from).collect()),
        Some(("hex", n)) => {
            let n: usize = n
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| format!("`{{hex:{n}}}`: give 1 to 64 digits"))?;
            Part::Hex(n)
        }
        Some(_) => return Err(unknown()),
    })
}

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

impl Generate {
    /// What is wrong with this generator: (path below `generate`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.lines == 0 || self.lines > MAX_LINES {
            out.push((".lines".into(), format!("1 to {MAX_LINES} lines")));
        }
        for (path, t) in std::iter::once((".template".to_string(), &self.template)).chain(
            self.insert
                .iter()
                .enumerate()
                .map(|(i, ins)| (format!(".insert[{i}].text"), &ins.text)),
        ) {
            if t.len() > MAX_TEMPLATE_BYTES {
                out.push((
                    path.clone(),
                    format!("longer than {MAX_TEMPLATE_BYTES} bytes"),
                ));
            }
            if t.contains('\n') {
                out.push((path.clone(), "one line: no newline".into()));
            }
            if let Err(e) = parse_template(t) {
                out.push((path, e));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, ins) in self.insert.iter().enumerate() {
            if ins.line == 0 || ins.line > self.lines {
                out.push((
                    format!(".insert[{i}].line"),
                    format!("line {} is not one of 1–{}", ins.line, self.lines),
                ));
            } else if !seen.insert(ins.line) {
                out.push((
                    format!(".insert[{i}].line"),
                    format!("line {} is inserted twice", ins.line),
                ));
            }
        }
        out
    }

    /// The file's text for a drill that started at `start` (each line ends with a newline).
    pub fn render(&self, start: Timestamp) -> String {
        let template = parse_template(&self.template).unwrap_or_default();
        let inserts: Vec<(u32, Vec<Part>)> = self
            .insert
            .iter()
            .map(|i| (i.line, parse_template(&i.text).unwrap_or_default()))
            .collect();
        let mut rng = Rng(self.seed);
        let mut out = String::new();
        let first = start.utc() + time::Duration::seconds(self.from.0);
        for n in 1..=self.lines.min(MAX_LINES) {
            let at = first + time::Duration::seconds((n as i64 - 1) * self.every.0 as i64);
            let parts = inserts
                .iter()
                .find(|(l, _)| *l == n)
                .map(|(_, p)| p)
                .unwrap_or(&template);
            for p in parts {
                match p {
                    Part::Text(t) => out.push_str(t),
                    Part::Time => out.push_str(&at.format(&Rfc3339).unwrap_or_default()),
                    Part::N => out.push_str(&n.to_string()),
                    Part::Ip => {
                        let v = rng.next();
                        out.push_str(&format!(
                            "10.{}.{}.{}",
                            v & 0xff,
                            (v >> 8) & 0xff,
                            1 + (v >> 16) % 254
                        ));
                    }
                    Part::Int(a, b) => {
                        let v = a + rng.below(b - a + 1);
                        out.push_str(&v.to_string());
                    }
                    Part::Pick(choices) => {
                        let i = rng.below(choices.len() as u64) as usize;
                        out.push_str(&choices[i]);
                    }
                    Part::Hex(k) => {
                        let mut s = String::new();
                        while s.len() < *k {
                            s.push_str(&format!("{:016x}", rng.next()));
                        }
                        s.truncate(*k);
                        out.push_str(&s);
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        Timestamp::parse("2026-03-01T09:00:00Z").unwrap()
    }

    #[test]
    fn a_log_is_generated_the_same_way_every_time_with_its_inserted_lines() {
        let g = Generate {
            lines: 4,
            every: Dur::minutes(1),
            from: Offset(-120),
            template: "{time} {ip} GET /health {int:200-200} {pick:a|a} {hex:8} #{n} {{x}}".into(),
            seed: 7,
            insert: vec![Insert {
                line: 3,
                text: "{time} 203.0.113.9 POST /admin 200".into(),
            }],
        };
        assert!(g.problems().is_empty(), "{:?}", g.problems());
        let text = g.render(start());
        assert_eq!(text, g.render(start()), "deterministic");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].starts_with("2026-03-01T08:58:00Z 10."),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains(" GET /health 200 a "), "{}", lines[0]);
        assert!(lines[0].ends_with("#1 {x}"), "{}", lines[0]);
        assert_eq!(lines[2], "2026-03-01T09:00:00Z 203.0.113.9 POST /admin 200");
        assert!(lines[3].starts_with("2026-03-01T09:01:00Z"));
        let other = Generate {
            seed: 8,
            ..g.clone()
        }
        .render(start());
        assert_ne!(other, text, "the seed changes the random parts");
    }

    #[test]
    fn bad_templates_and_inserts_are_named() {
        let g = Generate {
            lines: 2,
            every: Dur::seconds(1),
            from: Offset(0),
            template: "{nope} {int:9-1} {hex:99} {open".into(),
            seed: 1,
            insert: vec![
                Insert {
                    line: 3,
                    text: "x".into(),
                },
                Insert {
                    line: 1,
                    text: "}".into(),
                },
            ],
        };
        let p = g.problems();
        let text = format!("{p:?}");
        assert!(text.contains("unknown placeholder `{nope}`"), "{text}");
        assert!(text.contains("line 3 is not one of 1–2"), "{text}");
        assert!(text.contains("lone `}`"), "{text}");
    }
}

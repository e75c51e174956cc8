//! A Dockerfile parser that follows BuildKit's reading of the format (the Dockerfile reference,
//! "Format", "Parser directives", "Here-documents"):
//!
//! - parser directives (`# escape=`, `# syntax=`, `# check=`) only at the very top, before any
//!   comment, blank line or instruction; `escape` is `\` (the default) or `` ` ``;
//! - comment lines (`#` first on the line, after whitespace) are dropped, also in the middle of a
//!   continued instruction; a `#` elsewhere is an argument;
//! - an instruction continues on the next line when its line ends with the escape character
//!   (trailing blanks allowed); blank and comment lines inside a continuation are skipped;
//! - keywords are case-insensitive; arguments keep their text (quotes included), so each
//!   instruction's own grammar ([`words`], [`exec_form`], [`flags`]) reads them as BuildKit does;
//! - here-documents (`<<EOF`, `<<-EOF`, `<<"EOF"`) of `RUN`, `COPY` and `ADD`: their bodies follow
//!   the instruction, several per instruction in order, each ending at a line that is its word
//!   (after leading tabs, with `<<-`).
//!
//! Pure: text in, [`Dockerfile`] or a [`ParseError`] with line and column out.

use std::fmt;

/// A parsed Dockerfile: instructions in order with their lines, and every comment line (the
/// inline suppressions are comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub escape: char,
    /// `# syntax=` directive, when given.
    pub syntax: Option<String>,
    pub instructions: Vec<Instruction>,
    /// Comment lines: (1-based line, text after the `#`, trimmed).
    pub comments: Vec<(usize, String)>,
}

/// One instruction. `args` is the rest of its logical line after the keyword: continuations
/// joined (the escape character and the line break removed), comment lines inside dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper case (`RUN`, `FROM`, …).
    pub keyword: String,
    pub args: String,
    /// 1-based line and column of the keyword.
    pub line: usize,
    pub column: usize,
    /// Last line of the instruction, here-document bodies included.
    pub end_line: usize,
    pub heredocs: Vec<Heredoc>,
}

/// A here-document of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// The body, lines joined with `\n` (leading tabs removed for `<<-`), without the end word.
    pub body: String,
    /// `<<-`: leading tabs stripped.
    pub strip_tabs: bool,
    /// The word was quoted (`<<"EOF"`): no variable expansion in the body.
    pub quoted: bool,
    /// 1-based line of the body's first line.
    pub line: usize,
}

/// Why a Dockerfile could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Instructions BuildKit knows. Anything else is an error, as it is for `docker build`.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A parser directive line: `# key=value` with an alphanumeric key.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (key, value) = rest.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((key.to_ascii_lowercase(), value.trim().to_string()))
}

/// Does `line` (without its line break) end with the escape character, blanks after it allowed?
/// Returns the line without it.
fn continued(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end_matches([' ', '\t']);
    t.strip_suffix(escape)
}

/// Parse a Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut escape = '\\';
    let mut syntax = None;
    let mut i = 0;
    // Directives: only at the top, each key once.
    let mut seen = Vec::new();
    while i < lines.len() {
        let Some((key, value)) = directive(lines[i]) else {
            break;
        };
        if seen.contains(&key) {
            // A repeated directive is a comment (BuildKit: "only the first is honoured");
            // directives end here.
            break;
        }
        match key.as_str() {
            "escape" => match value.as_str() {
                "\\" => escape = '\\',
                "`" => escape = '`',
                other => {
                    return Err(ParseError {
                        line: i + 1,
                        column: 1,
                        message: format!(
                            "invalid escape directive {other:?}: must be ` or \\ (backslash)"
                        ),
                    });
                }
            },
            "syntax" => syntax = Some(value),
            _ => {}
        }
        seen.push(key);
        i += 1;
    }

    let mut instructions = Vec::new();
    let mut comments = Vec::new();
    while i < lines.len() {
        let raw = lines[i];
        let trimmed = raw.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some(c) = trimmed.strip_prefix('#') {
            comments.push((i + 1, c.trim().to_string()));
            i += 1;
            continue;
        }
        let line = i + 1;
        let column = raw.len() - trimmed.len() + 1;
        let mut logical = String::new();
        let mut current = trimmed;
        loop {
            match continued(current, escape) {
                Some(head) => {
                    logical.push_str(head);
                    i += 1;
                    // Skip blank and comment lines inside the continuation.
                    while i < lines.len() {
                        let t = lines[i].trim_start();
                        if t.is_empty() {
                            i += 1;
                        } else if let Some(c) = t.strip_prefix('#') {
                            comments.push((i + 1, c.trim().to_string()));
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    if i >= lines.len() {
                        break;
                    }
                    current = lines[i];
                }
                None => {
                    logical.push_str(current);
                    i += 1;
                    break;
                }
            }
        }
        let logical = logical.trim_end();
        let (word, args) = match logical.find(|c: char| c.is_whitespace()) {
            Some(p) => (&logical[..p], logical[p..].trim_start()),
            None => (logical, ""),
        };
        let keyword = word.to_ascii_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(ParseError {
                line,
                column,
                message: format!("unknown instruction: {word}"),
            });
        }
        let mut heredocs = Vec::new();
        let here_keyword = if keyword == "ONBUILD" {
            args.split_whitespace()
                .next()
                .map(str::to_ascii_uppercase)
                .unwrap_or_default()
        } else {
            keyword.clone()
        };
        if matches!(here_keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for marker in heredoc_markers(args, escape) {
                let start = i + 1;
                let mut body = Vec::new();
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    let l = if marker.strip_tabs {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    if l == marker.name {
                        closed = true;
                        break;
                    }
                    body.push(l);
                }
                if !closed {
                    return Err(ParseError {
                        line,
                        column,
                        message: format!(
                            "here-document <<{} is not closed (no line `{}` after line {line})",
                            marker.name, marker.name
                        ),
                    });
                }
                heredocs.push(Heredoc {
                    name: marker.name,
                    body: body.join("\n"),
                    strip_tabs: marker.strip_tabs,
                    quoted: marker.quoted,
                    line: start,
                });
            }
        }
        instructions.push(Instruction {
            keyword,
            args: args.to_string(),
            line,
            column,
            end_line: i.max(line),
            heredocs,
        });
    }
    Ok(Dockerfile {
        escape,
        syntax,
        instructions,
        comments,
    })
}

struct Marker {
    name: String,
    strip_tabs: bool,
    quoted: bool,
}

/// The here-document words of an instruction's arguments (`<<EOF`, `<<-EOF`, `<<'EOF'`), in
/// order, outside quotes. `<<<` (a here-string) is not one.
fn heredoc_markers(args: &str, escape: char) -> Vec<Marker> {
    let chars: Vec<char> = args.chars().collect();
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if let Some(q) = quote {
            if c == escape && q == '"' {
                k += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            k += 1;
            continue;
        }
        if c == escape {
            k += 2;
            continue;
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
            k += 1;
            continue;
        }
        if c == '<' && chars.get(k + 1) == Some(&'<') && chars.get(k + 2) != Some(&'<') {
            let prev_lt = k > 0 && chars[k - 1] == '<';
            let mut j = k + 2;
            let strip_tabs = chars.get(j) == Some(&'-');
            if strip_tabs {
                j += 1;
            }
            let q = match chars.get(j) {
                Some(&c @ ('"' | '\'')) => {
                    j += 1;
                    Some(c)
                }
                _ => None,
            };
            let start = j;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || "_.-".contains(chars[j]))
            {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            let closed = match q {
                Some(qc) => chars.get(j) == Some(&qc),
                None => true,
            };
            if !prev_lt && !name.is_empty() && closed {
                out.push(Marker {
                    name,
                    strip_tabs,
                    quoted: q.is_some(),
                });
                k = if q.is_some() { j + 1 } else { j };
                continue;
            }
        }
        k += 1;
    }
    out
}

/// A word of an instruction's arguments (`ENV`, `ARG`, `LABEL`, `USER`, `FROM`, `COPY` …):
/// `raw` as written (quotes and escapes kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
}

/// Split arguments into words at blanks outside quotes, as BuildKit's `ENV`/`ARG`/`LABEL`
/// parser does (quotes and escapes are kept; [`unquote`] or [`expand`] removes them).
pub fn words(args: &str, escape: char) -> Vec<Word> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c.is_whitespace() {
                    if !cur.is_empty() {
                        out.push(Word {
                            raw: std::mem::take(&mut cur),
                        });
                    }
                    continue;
                }
                cur.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(Word { raw: cur });
    }
    out
}

/// The result of expanding a word: its text, and whether some part of it could not be known
/// (a variable with no value here: a build argument given only at build time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    pub unresolved: bool,
}

/// Remove quotes and escapes from a word without expanding variables.
pub fn unquote(word: &str, escape: char) -> String {
    expand_with(word, escape, &|_| None, false).text
}

/// Remove quotes and escapes and expand `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
/// `${VAR:+word}` and `${VAR+word}` with `lookup` (single quotes keep `$` literal). A variable
/// `lookup` does not know, or a form not listed, makes the result `unresolved`.
pub fn expand(word: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> Expanded {
    expand_with(word, escape, lookup, true)
}

fn expand_with(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    vars: bool,
) -> Expanded {
    let chars: Vec<char> = word.chars().collect();
    let mut text = String::new();
    let mut unresolved = false;
    let mut k = 0;
    let mut quote: Option<char> = None;
    while k < chars.len() {
        let c = chars[k];
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    text.push(c);
                }
                k += 1;
                continue;
            }
            Some(_) if c == '"' => {
                quote = None;
                k += 1;
                continue;
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                k += 1;
                continue;
            }
            _ => {}
        }
        if c == escape {
            if let Some(&n) = chars.get(k + 1) {
                text.push(n);
            }
            k += 2;
            continue;
        }
        if c == '$' && vars {
            let (value, next, ok) = variable(&chars, k + 1, escape, lookup);
            if next > k + 1 {
                text.push_str(&value);
                unresolved |= !ok;
                k = next;
                continue;
            }
        }
        text.push(c);
        k += 1;
    }
    Expanded { text, unresolved }
}

/// A variable reference starting after `$` at `k`: (value, index after it, known).
fn variable(
    chars: &[char],
    k: usize,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (String, usize, bool) {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if chars.get(k) == Some(&'{') {
        let Some(close) = chars[k..].iter().position(|&c| c == '}').map(|p| p + k) else {
            return (String::new(), k, false);
        };
        let inner: String = chars[k + 1..close].iter().collect();
        let name_len = inner.chars().take_while(|&c| is_name(c)).count();
        let name = &inner[..name_len];
        let rest = &inner[name_len..];
        let value = lookup(name);
        let word = |w: &str| expand(w, escape, lookup);
        let (text, ok) = match rest {
            "" => match value {
                Some(v) => (v, true),
                None => (String::new(), false),
            },
            r if r.starts_with(":-") || r.starts_with('-') => {
                let w = r.trim_start_matches(':')[1..].to_string();
                match value {
                    Some(v) if !(v.is_empty() && r.starts_with(':')) => (v, true),
                    // Unknown here: at build time the argument may be given; the default is
                    // what a build without it uses, and the best guess we have.
                    _ => {
                        let e = word(&w);
                        (e.text, !e.unresolved && value.is_some())
                    }
                }
            }
            r if r.starts_with(":+") || r.starts_with('+') => {
                let w = r.trim_start_matches(':')[1..].to_string();
                match value {
                    Some(v) if !(v.is_empty() && r.starts_with(':')) => {
                        let e = word(&w);
                        (e.text, !e.unresolved)
                    }
                    Some(_) => (String::new(), true),
                    None => (String::new(), false),
                }
            }
            _ => (String::new(), false),
        };
        return (text, close + 1, ok);
    }
    let len = chars[k..].iter().take_while(|&&c| is_name(c)).count();
    if len == 0 {
        return (String::new(), k, false);
    }
    let name: String = chars[k..k + len].iter().collect();
    match lookup(&name) {
        Some(v) => (v, k + len, true),
        None => (String::new(), k + len, false),
    }
}

/// The exec (JSON array) form of `RUN`, `CMD`, `ENTRYPOINT`, `COPY`, `ADD`, `SHELL`, when the
/// arguments are one; otherwise the shell form applies, as in BuildKit.
pub fn exec_form(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Leading `--name=value` (or `--name`) flags of an instruction, and the arguments after them.
pub fn flags(args: &str) -> (Vec<(String, String)>, &str) {
    let mut rest = args.trim_start();
    let mut out = Vec::new();
    while let Some(f) = rest.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let flag = &f[..end];
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        out.push((name.to_ascii_lowercase(), value.to_string()));
        rest = f[end..].trim_start();
    }
    (out, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per instruction: `line-end_line KEYWORD args` and its here-documents.
    fn check(input: &str, expect: &str) {
        let df = parse(input).unwrap_or_else(|e| panic!("parse error: {e}"));
        let mut got = String::new();
        for i in &df.instructions {
            got.push_str(&format!(
                "{}-{}:{} {} {}\n",
                i.line, i.end_line, i.column, i.keyword, i.args
            ));
            for h in &i.heredocs {
                got.push_str(&format!("  <<{}@{} {:?}\n", h.name, h.line, h.body));
            }
        }
        assert_eq!(got.trim_end(), expect.trim(), "\n{got}");
    }

    #[test]
    fn continuations_and_comments_inside_them() {
        check(
            "FROM alpine:3.20\nRUN apk add \\\n    curl \\\n# a comment in between\n\n    git\nrun echo done\n",
            "1-1:1 FROM alpine:3.20\n2-6:1 RUN apk add     curl     git\n7-7:1 RUN echo done",
        );
    }

    #[test]
    fn the_escape_directive_changes_the_continuation_character() {
        check(
            "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir c:\\ `\n  /s\n",
            "2-2:1 FROM mcr.microsoft.com/windows/servercore:ltsc2022\n3-4:1 RUN dir c:\\   /s",
        );
        let df = parse("# escape=`\nFROM x\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.escape, '`');
        // A directive after a comment is a comment.
        let df = parse("# hello\n# escape=`\nFROM x\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.escape, '\\');
        assert_eq!(df.comments.len(), 2);
    }

    #[test]
    fn syntax_directive_is_kept_and_a_bad_escape_is_an_error() {
        let df = parse("# syntax=docker/dockerfile:1\nFROM x\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
        let e = parse("# escape=x\nFROM x\n").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("1:1: invalid escape directive \"x\": must be ` or \\ (backslash)")
        );
    }

    #[test]
    fn heredocs_several_per_instruction_with_tabs_stripped() {
        check(
            "FROM debian:12\nRUN <<EOF\napt-get update\nEOF\nCOPY <<-\"A\" <<B /dst/\n\t\tfirst\n\tA\nsecond\nB\nUSER app\n",
            "1-1:1 FROM debian:12\n2-4:1 RUN <<EOF\n  <<EOF@3 \"apt-get update\"\n5-9:1 COPY <<-\"A\" <<B /dst/\n  <<A@6 \"first\"\n  <<B@8 \"second\"\n10-10:1 USER app",
        );
        let e = parse("FROM x\nRUN <<EOF\necho\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("2:1: here-document <<EOF is not closed (no line `EOF` after line 2)")
        );
        // A here-string and a quoted `<<` are not here-documents.
        check(
            "FROM x\nRUN cat <<<hi && echo '<<EOF'\n",
            "1-1:1 FROM x\n2-2:1 RUN cat <<<hi && echo '<<EOF'",
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_unknown_ones_are_errors() {
        check(
            "from x AS b\n  user 1000",
            "1-1:1 FROM x AS b\n2-2:3 USER 1000",
        );
        let e = parse("FROM x\nFOO bar\n").err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("2:1: unknown instruction: FOO"));
    }

    #[test]
    fn crlf_and_bom_are_read() {
        check(
            "\u{feff}FROM x\r\nRUN a \\\r\n b\r\n",
            "1-1:1 FROM x\n2-3:1 RUN a  b",
        );
    }

    #[test]
    fn words_keep_quotes_and_expansion_removes_them() {
        let w: Vec<String> = words(r#"A="a b" B=c\ d C='$X'"#, '\\')
            .into_iter()
            .map(|w| w.raw)
            .collect();
        assert_eq!(w, [r#"A="a b""#, r"B=c\ d", "C='$X'"]);
        let vars = |n: &str| match n {
            "X" => Some("x".to_string()),
            "E" => Some(String::new()),
            _ => None,
        };
        let e = |s: &str| {
            let r = expand(s, '\\', &vars);
            format!("{}{}", r.text, if r.unresolved { " ?" } else { "" })
        };
        assert_eq!(e(r#""a $X""#), "a x");
        assert_eq!(e("'$X'"), "$X");
        assert_eq!(e("${X}y"), "xy");
        assert_eq!(e("${Y:-def}"), "def ?");
        assert_eq!(e("${E:-def}"), "def");
        assert_eq!(e("${E-def}"), "");
        assert_eq!(e("${X:+alt}"), "alt");
        assert_eq!(e("$Y"), " ?");
        assert_eq!(e("${X#x}"), " ?");
        assert_eq!(e(r"\$X"), "$X");
        assert_eq!(e("price$"), "price$");
    }

    #[test]
    fn exec_form_and_flags() {
        assert_eq!(
            exec_form(r#"["sh", "-c", "echo"]"#),
            Some(vec!["sh".to_string(), "-c".into(), "echo".into()])
        );
        assert_eq!(exec_form("[not json"), None);
        let (f, rest) = flags("--platform=$BUILDPLATFORM --link golang:1.22 AS build");
        assert_eq!(
            f,
            [
                ("platform".to_string(), "$BUILDPLATFORM".to_string()),
                ("link".into(), String::new())
            ]
        );
        assert_eq!(rest, "golang:1.22 AS build");
    }
}

//! Dockerfile checks over the parsed file ([`parse`]): stages are tracked (`FROM … AS name`; a
//! later `FROM name` or `COPY --from=name` refers to the stage, not to an image), build
//! arguments declared before the first `FROM` expand image references, and `ARG`/`ENV` values
//! expand within their stage (a stage built `FROM` another inherits its `ENV`). `RUN` commands,
//! here-document bodies included, are read with [`crate::shell`]. Pure.

pub mod parse;

use std::collections::HashMap;

use crate::finding::Hit;
use crate::image::{self, Pin};
use crate::shell;
use crate::suppress::Suppressions;
use parse::{Dockerfile, Instruction, ParseError};

/// What a stage is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    Image(String),
    /// An image reference with a build argument that has no value here.
    Unresolved(String),
    Stage(usize),
    Scratch,
}

#[derive(Debug)]
struct Stage {
    name: Option<String>,
    base: Base,
    /// The `FROM` instruction.
    from: usize,
    /// `ENV` values at the end of the stage (inherited by stages built from it).
    env: HashMap<String, String>,
    /// The last `USER` of the stage: (instruction index, expanded value, resolved).
    user: Option<(usize, String, bool)>,
    /// Hits that count only when the stage ships in the final image (apt lists left behind).
    final_only: Vec<Hit>,
}

impl Stage {
    fn label(&self, index: usize) -> String {
        match &self.name {
            Some(n) => format!("stage {n}"),
            None => format!("stage {index}"),
        }
    }
}

/// Check a Dockerfile: its hits and its suppression comments.
pub fn check(text: &str) -> Result<(Vec<Hit>, Suppressions), ParseError> {
    let df = parse::parse(text)?;
    let lines: Vec<&str> = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .split('\n')
        .collect();
    let comments: Vec<(usize, String, usize)> = df
        .comments
        .iter()
        .map(|(l, t)| {
            let col = lines
                .get(l - 1)
                .and_then(|s| s.find('#'))
                .map_or(1, |c| c + 1);
            (*l, t.clone(), col)
        })
        .collect();
    let suppressions = Suppressions::from_comments(&comments, &lines);
    Ok((Checker::new(&df).run(), suppressions))
}

struct Checker<'a> {
    df: &'a Dockerfile,
    hits: Vec<Hit>,
    global_args: HashMap<String, Option<String>>,
    stages: Vec<Stage>,
    /// Values known in the current stage (ARG and ENV).
    vars: HashMap<String, String>,
}

impl<'a> Checker<'a> {
    fn new(df: &'a Dockerfile) -> Checker<'a> {
        Checker {
            df,
            hits: Vec::new(),
            global_args: HashMap::new(),
            stages: Vec::new(),
            vars: HashMap::new(),
        }
    }

    fn hit(&mut self, rule: &'static str, ins: &Instruction, message: String) {
        let mut h = Hit::new(rule, ins.line, ins.column, message);
        h.object = self.object();
        self.hits.push(h);
    }

    fn object(&self) -> String {
        match self.stages.last() {
            Some(s) => s.label(self.stages.len() - 1),
            None => "global".to_string(),
        }
    }

    fn expand(&self, word: &str) -> parse::Expanded {
        let vars = &self.vars;
        parse::expand(word, self.df.escape, &|n| vars.get(n).cloned())
    }

    fn run(mut self) -> Vec<Hit> {
        for (idx, ins) in self.df.instructions.iter().enumerate() {
            match ins.keyword.as_str() {
                "FROM" => self.from(idx, ins),
                "ARG" => self.arg(ins),
                "ENV" => self.env(ins),
                "USER" => self.user(idx, ins),
                "ADD" => {
                    self.add(ins);
                    self.copy_from(ins);
                }
                "COPY" => self.copy_from(ins),
                "RUN" => self.run_instruction(ins),
                _ => {}
            }
        }
        self.finish();
        self.hits
    }

    fn from(&mut self, idx: usize, ins: &Instruction) {
        if let Some(s) = self.stages.last_mut() {
            s.env = self
                .vars
                .iter()
                .filter(|(k, _)| s.env.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        let (_, rest) = parse::flags(&ins.args);
        let words = parse::words(rest, self.df.escape);
        let raw = words.first().map(|w| w.raw.clone()).unwrap_or_default();
        let name = match (words.get(1), words.get(2)) {
            (Some(a), Some(n)) if a.raw.eq_ignore_ascii_case("as") => {
                Some(parse::unquote(&n.raw, self.df.escape).to_ascii_lowercase())
            }
            _ => None,
        };
        let globals = &self.global_args;
        let image = parse::expand(&raw, self.df.escape, &|n| {
            globals.get(n).and_then(|v| v.clone())
        });
        let lower = image.text.to_ascii_lowercase();
        let base = if let Some(p) = self
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            Base::Stage(p)
        } else if lower == "scratch" {
            Base::Scratch
        } else if image.unresolved || image.text.is_empty() {
            Base::Unresolved(raw.clone())
        } else {
            Base::Image(image.text.clone())
        };
        // ENV of a parent stage is inherited; ARGs are not.
        self.vars = match &base {
            Base::Stage(p) => self.stages[*p].env.clone(),
            _ => HashMap::new(),
        };
        let env_keys = self.vars.clone();
        self.stages.push(Stage {
            name,
            base: base.clone(),
            from: idx,
            env: env_keys,
            user: None,
            final_only: Vec::new(),
        });
        if let Base::Image(img) = &base {
            self.image_pin(ins, img, "base image", true);
        }
    }

    /// `PAL-DF-003` (latest or no tag) and, when `digest_rule`, `PAL-DF-004` (a tag, no digest).
    fn image_pin(&mut self, ins: &Instruction, img: &str, what: &str, digest_rule: bool) {
        match image::pin(img) {
            Pin::Latest => self.hit(
                "PAL-DF-003",
                ins,
                format!("{what} {img} is not pinned to a version (no tag, or `latest`)"),
            ),
            Pin::Tag(tag) if digest_rule => self.hit(
                "PAL-DF-004",
                ins,
                format!("{what} {img} is pinned by the tag {tag}, not by a digest"),
            ),
            _ => {}
        }
    }

    fn arg(&mut self, ins: &Instruction) {
        for w in parse::words(&ins.args, self.df.escape) {
            let (name, value) = match w.raw.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w.raw.clone(), None),
            };
            let expanded = value.as_ref().map(|v| self.expand(v));
            if let Some(raw) = &value {
                let literal = parse::unquote(raw, self.df.escape);
                if image::secret_name(&name) && image::literal_secret_value(&literal) {
                    self.hit(
                        "PAL-DF-005",
                        ins,
                        format!(
                            "build argument {name} has a literal default value: it stays in the image's history"
                        ),
                    );
                }
            }
            if self.stages.is_empty() {
                self.global_args
                    .insert(name, expanded.filter(|e| !e.unresolved).map(|e| e.text));
                continue;
            }
            match expanded {
                Some(e) if !e.unresolved => {
                    self.vars.insert(name, e.text);
                }
                Some(_) => {
                    self.vars.remove(&name);
                }
                // `ARG NAME` in a stage takes the global default, if there is one.
                None => match self.global_args.get(&name).cloned().flatten() {
                    Some(v) => {
                        self.vars.insert(name, v);
                    }
                    None => {
                        self.vars.remove(&name);
                    }
                },
            }
        }
    }

    fn env(&mut self, ins: &Instruction) {
        let words = parse::words(&ins.args, self.df.escape);
        let pairs: Vec<(String, String)> = match words.first() {
            // Legacy `ENV NAME value with spaces`.
            Some(w) if !w.raw.contains('=') => {
                let rest = ins.args.trim_start()[w.raw.len()..].trim().to_string();
                vec![(w.raw.clone(), rest)]
            }
            _ => words
                .iter()
                .filter_map(|w| w.raw.split_once('='))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        for (name, raw) in pairs {
            let literal = parse::unquote(&raw, self.df.escape);
            if image::secret_name(&name) && image::literal_secret_value(&literal) {
                self.hit(
                    "PAL-DF-005",
                    ins,
                    format!(
                        "environment variable {name} has a literal value: it is in every container's environment and the image config"
                    ),
                );
            }
            let e = self.expand(&raw);
            if let Some(s) = self.stages.last_mut() {
                s.env.insert(name.clone(), String::new());
            }
            if e.unresolved {
                self.vars.remove(&name);
            } else {
                self.vars.insert(name, e.text);
            }
        }
    }

    fn user(&mut self, idx: usize, ins: &Instruction) {
        let raw = parse::words(&ins.args, self.df.escape)
            .first()
            .map(|w| w.raw.clone())
            .unwrap_or_default();
        let e = self.expand(&raw);
        if let Some(s) = self.stages.last_mut() {
            s.user = Some((idx, e.text, !e.unresolved));
        }
    }

    /// Sources of `ADD`/`COPY` (exec or shell form) and their flags.
    fn sources(&self, ins: &Instruction) -> (Vec<(String, String)>, Vec<String>) {
        let (flags, rest) = parse::flags(&ins.args);
        let mut words: Vec<String> = match parse::exec_form(rest) {
            Some(v) => v,
            None => parse::words(rest, self.df.escape)
                .iter()
                .map(|w| self.expand(&w.raw).text)
                .collect(),
        };
        words.pop(); // the destination
        (flags, words)
    }

    fn add(&mut self, ins: &Instruction) {
        let (flags, sources) = self.sources(ins);
        let checksum = flags.iter().any(|(n, _)| n == "checksum");
        for src in sources {
            let lower = src.to_ascii_lowercase();
            let remote = lower.starts_with("http://") || lower.starts_with("https://");
            let git = lower.starts_with("git@")
                || lower.starts_with("git://")
                || (remote && lower.split('#').next().is_some_and(|u| u.ends_with(".git")));
            if git {
                let commit = src.rsplit_once('#').is_some_and(|(_, r)| {
                    r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
                });
                if !commit {
                    self.hit(
                        "PAL-DF-006",
                        ins,
                        format!("ADD of the git repository {src} without a commit: what is fetched can change"),
                    );
                }
            } else if remote && !checksum {
                self.hit(
                    "PAL-DF-006",
                    ins,
                    format!(
                        "ADD of the URL {src} without --checksum: the download is not verified"
                    ),
                );
            }
        }
    }

    fn copy_from(&mut self, ins: &Instruction) {
        let (flags, _) = parse::flags(&ins.args);
        let Some((_, from)) = flags.into_iter().find(|(n, _)| n == "from") else {
            return;
        };
        let e = self.expand(&from);
        let lower = e.text.to_ascii_lowercase();
        let is_stage = self
            .stages
            .iter()
            .any(|s| s.name.as_deref() == Some(lower.as_str()))
            || lower.chars().all(|c| c.is_ascii_digit());
        if !is_stage && !e.unresolved && !lower.is_empty() {
            self.image_pin(
                ins,
                &e.text,
                &format!("{} --from image", ins.keyword),
                false,
            );
        }
    }

    fn run_instruction(&mut self, ins: &Instruction) {
        let (flags, rest) = parse::flags(&ins.args);
        let mut script = match parse::exec_form(rest) {
            Some(argv) => match argv.as_slice() {
                [sh, c, s, ..] if c == "-c" && shell::basename(sh).ends_with("sh") => s.clone(),
                _ => argv.join(" "),
            },
            None => rest.to_string(),
        };
        for h in &ins.heredocs {
            script.push('\n');
            script.push_str(&h.body);
        }
        let apt_cache = flags
            .iter()
            .any(|(n, v)| n == "mount" && v.contains("type=cache") && v.contains("/var/lib/apt"));
        let pipelines = shell::pipelines(&script);
        let mut installs = false;
        let mut cleaned = false;
        for p in &pipelines {
            self.pipe_to_shell(ins, p);
            for cmd in p {
                let cmd = shell::effective(cmd);
                let Some(first) = cmd.first() else { continue };
                match shell::basename(first) {
                    "apt-get" | "apt" => {
                        let sub = cmd[1..].iter().find(|w| !w.starts_with('-'));
                        match sub.map(String::as_str) {
                            Some("install") => {
                                installs = true;
                                self.apt_install(ins, cmd);
                            }
                            Some("update") => installs = true,
                            _ => {}
                        }
                    }
                    "rm" if cmd.iter().any(|w| w.starts_with("/var/lib/apt/lists")) => {
                        cleaned = true;
                    }
                    _ => {}
                }
            }
        }
        if installs && !cleaned && !apt_cache {
            let mut h = Hit::new(
                "PAL-DF-009",
                ins.line,
                ins.column,
                "apt-get without removing /var/lib/apt/lists/* in the same RUN: the package lists stay in the layer",
            );
            h.object = self.object();
            if let Some(s) = self.stages.last_mut() {
                s.final_only.push(h);
            }
        }
    }

    fn apt_install(&mut self, ins: &Instruction, cmd: &[String]) {
        let mut no_recommends = false;
        let mut unpinned = Vec::new();
        let mut k = 1;
        let mut seen_install = false;
        while k < cmd.len() {
            let w = &cmd[k];
            k += 1;
            if w == "--no-install-recommends" {
                no_recommends = true;
            } else if w == "-o" || w == "-t" || w == "--target-release" || w == "-c" {
                if let Some(v) = cmd.get(k)
                    && (v
                        .replace(' ', "")
                        .eq_ignore_ascii_case("APT::Install-Recommends=false")
                        || v.replace(' ', "")
                            .eq_ignore_ascii_case("APT::Install-Recommends=0"))
                {
                    no_recommends = true;
                }
                k += 1;
            } else if let Some(v) = w.strip_prefix("-o") {
                if v.to_ascii_lowercase().contains("install-recommends=false") {
                    no_recommends = true;
                }
            } else if w.starts_with('-') {
            } else if !seen_install {
                seen_install = w == "install";
            } else if !(w.contains('=')
                || w.contains('$')
                || w.ends_with(".deb")
                || w.contains('/'))
            {
                unpinned.push(w.clone());
            }
        }
        if !no_recommends {
            self.hit(
                "PAL-DF-007",
                ins,
                "apt-get install without --no-install-recommends".to_string(),
            );
        }
        if !unpinned.is_empty() {
            self.hit(
                "PAL-DF-008",
                ins,
                format!(
                    "apt-get install of packages without a version: {}",
                    unpinned.join(", ")
                ),
            );
        }
    }

    /// `PAL-DF-010`: a download piped into a shell, or a shell running a download's output.
    fn pipe_to_shell(&mut self, ins: &Instruction, pipeline: &[Vec<String>]) {
        let is_fetch = |w: &str| matches!(shell::basename(w), "curl" | "wget");
        let is_shell = |w: &str| {
            matches!(
                shell::basename(w),
                "sh" | "bash" | "zsh" | "dash" | "ash" | "ksh"
            )
        };
        let mut fetched = None;
        for cmd in pipeline {
            let cmd = shell::effective(cmd);
            let Some(first) = cmd.first() else { continue };
            if is_fetch(first) {
                fetched = Some(shell::basename(first).to_string());
                continue;
            }
            if is_shell(first) {
                if let Some(f) = &fetched {
                    self.hit(
                        "PAL-DF-010",
                        ins,
                        format!(
                            "{f} output piped into {}: a script from the network runs unverified",
                            shell::basename(first)
                        ),
                    );
                    return;
                }
                let substituted = cmd[1..].iter().find_map(|w| {
                    ["$(", "<(", "`"].iter().find_map(|open| {
                        let p = w.find(open)?;
                        let inner = w[p + open.len()..].trim_start();
                        ["curl", "wget"].into_iter().find(|f| inner.starts_with(f))
                    })
                });
                if let Some(f) = substituted {
                    self.hit(
                        "PAL-DF-010",
                        ins,
                        format!(
                            "{} runs the output of {f}: a script from the network runs unverified",
                            shell::basename(first)
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// Checks of the final image: its user, and what its stages left behind.
    fn finish(&mut self) {
        let Some(last) = self.stages.len().checked_sub(1) else {
            return;
        };
        // The chain of stages the final image is built from, final first.
        let mut chain = vec![last];
        while let Base::Stage(p) = self.stages[*chain.last().unwrap_or(&last)].base {
            if chain.contains(&p) {
                break;
            }
            chain.push(p);
        }
        let user = chain.iter().find_map(|&s| self.stages[s].user.clone());
        let final_from = &self.df.instructions[self.stages[last].from];
        let object = self.stages[last].label(last);
        // An image that says in its name or tag that it runs as non-root (distroless
        // `:nonroot`, `…-rootless`) sets its own unprivileged user.
        let root_base = &self.stages[*chain.last().unwrap_or(&last)].base;
        let nonroot_image = matches!(root_base, Base::Image(i) if {
            let i = i.to_ascii_lowercase();
            i.contains("nonroot") || i.contains("non-root") || i.contains("rootless")
        });
        match user {
            None if nonroot_image => {}
            None => {
                let base = match &self.stages[*chain.last().unwrap_or(&last)].base {
                    Base::Image(i) => format!("{i}'s default user (root in most images)"),
                    Base::Scratch => "UID 0 (scratch has no users)".to_string(),
                    Base::Unresolved(r) => format!("{r}'s default user (root in most images)"),
                    Base::Stage(_) => "root".to_string(),
                };
                let mut h = Hit::new(
                    "PAL-DF-001",
                    final_from.line,
                    final_from.column,
                    format!("the final stage sets no USER: the container runs as {base}"),
                );
                h.object = object;
                self.hits.push(h);
            }
            Some((idx, name, true)) => {
                let who = name.split(':').next().unwrap_or("");
                if who == "root" || who == "0" {
                    let ins = &self.df.instructions[idx];
                    let mut h = Hit::new(
                        "PAL-DF-002",
                        ins.line,
                        ins.column,
                        format!(
                            "the final stage's last USER is {name}: the container runs as root"
                        ),
                    );
                    h.object = object;
                    self.hits.push(h);
                }
            }
            Some(_) => {}
        }
        for &s in &chain {
            let hits = std::mem::take(&mut self.stages[s].final_only);
            self.hits.extend(hits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `line RULE message` per hit, in order of line.
    fn check_hits(input: &str, expect: &str) {
        let (mut hits, _) = check(input).unwrap_or_else(|e| panic!("{e}"));
        hits.sort_by_key(|h| (h.line, h.rule));
        let got: Vec<String> = hits
            .iter()
            .map(|h| format!("{} {} {}", h.line, h.rule, h.message))
            .collect();
        assert_eq!(got.join("\n"), expect.trim(), "\n{}", got.join("\n"));
    }

    #[test]
    fn stages_are_not_images_and_global_args_expand_from() {
        check_hits(
            "ARG GO=1.22\nARG BASE\nFROM golang:${GO}@sha256:0123 AS build\nRUN go build\nFROM build AS test\nFROM $BASE\nFROM gcr.io/distroless/static:nonroot@sha256:bb\nCOPY --from=build /app /app\nUSER 65532\n",
            "",
        );
        check_hits(
            "ARG TAG=latest\nFROM nginx:$TAG AS web\nFROM web\nUSER nginx\n",
            "2 PAL-DF-003 base image nginx:latest is not pinned to a version (no tag, or `latest`)",
        );
    }

    #[test]
    fn the_final_user_is_inherited_through_stages() {
        check_hits(
            "FROM alpine:3.20@sha256:aa AS base\nUSER app\nFROM base\nRUN true\n",
            "",
        );
        check_hits(
            "FROM alpine:3.20@sha256:aa AS base\nUSER app\nFROM base\nUSER root\n",
            "4 PAL-DF-002 the final stage's last USER is root: the container runs as root",
        );
        check_hits(
            "FROM scratch\nCOPY app /app\n",
            "1 PAL-DF-001 the final stage sets no USER: the container runs as UID 0 (scratch has no users)",
        );
        // A user from a build argument with no value here is not judged.
        check_hits("FROM scratch\nARG U\nUSER $U\n", "");
    }

    #[test]
    fn apt_lists_count_only_in_the_stages_that_ship() {
        check_hits(
            "FROM debian:12@sha256:aa AS build\nRUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3\nFROM scratch\nUSER 1000\n",
            "",
        );
        check_hits(
            "FROM debian:12@sha256:aa\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10\nUSER 1000\n",
            "",
        );
    }

    #[test]
    fn heredoc_bodies_are_commands_too() {
        check_hits(
            "FROM debian:12@sha256:aa\nRUN <<EOF\nset -e\ncurl -fsSL https://get.example.com | sh\nEOF\nUSER 1000\n",
            "2 PAL-DF-010 curl output piped into sh: a script from the network runs unverified",
        );
    }

    #[test]
    fn env_forms_and_secret_values() {
        check_hits(
            "FROM alpine:3.20@sha256:aa\nENV DB_PASSWORD hunter22 and more\nENV A=1 API_KEY=\"k-123\" TOKEN_FILE=/run/secrets/t\nENV DB_PASSWORD=${DB_PASSWORD}\nUSER 1\n",
            "2 PAL-DF-005 environment variable DB_PASSWORD has a literal value: it is in every container's environment and the image config\n3 PAL-DF-005 environment variable API_KEY has a literal value: it is in every container's environment and the image config",
        );
    }
}

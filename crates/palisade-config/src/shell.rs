//! Enough of POSIX shell to read `RUN` commands: split a script into pipelines of simple
//! commands (at `;`, `&&`, `||`, `&`, `|` and line breaks outside quotes), each a list of words
//! with quotes removed. `$(…)`, backticks and `<(…)` stay inside their word, as written. Not an
//! interpreter: no expansion, no control flow (`if`/`for` keywords are just words).
//!
//! Pure.

/// A pipeline: commands joined by `|`.
pub type Pipeline = Vec<Vec<String>>;

/// The pipelines of a script.
pub fn pipelines(script: &str) -> Vec<Pipeline> {
    let chars: Vec<char> = script.chars().collect();
    let mut out: Vec<Pipeline> = Vec::new();
    let mut pipeline: Pipeline = Vec::new();
    let mut command: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut k = 0;
    let end_word = |word: &mut String, in_word: &mut bool, command: &mut Vec<String>| {
        if *in_word {
            command.push(std::mem::take(word));
            *in_word = false;
        }
    };
    let end_command = |command: &mut Vec<String>, pipeline: &mut Pipeline| {
        if !command.is_empty() {
            pipeline.push(std::mem::take(command));
        }
    };
    while k < chars.len() {
        let c = chars[k];
        match c {
            '\\' => {
                match chars.get(k + 1) {
                    Some('\n') => {}
                    Some(&n) => {
                        word.push(n);
                        in_word = true;
                    }
                    None => {}
                }
                k += 2;
            }
            '\'' => {
                in_word = true;
                k += 1;
                while k < chars.len() && chars[k] != '\'' {
                    word.push(chars[k]);
                    k += 1;
                }
                k += 1;
            }
            '"' => {
                in_word = true;
                k += 1;
                while k < chars.len() && chars[k] != '"' {
                    if chars[k] == '\\' && k + 1 < chars.len() {
                        if chars[k + 1] != '\n' {
                            word.push(chars[k + 1]);
                        }
                        k += 2;
                        continue;
                    }
                    word.push(chars[k]);
                    k += 1;
                }
                k += 1;
            }
            '$' | '<' if chars.get(k + 1) == Some(&'(') => {
                // Command or process substitution: kept whole in the word.
                in_word = true;
                let mut depth = 0usize;
                while k < chars.len() {
                    let d = chars[k];
                    word.push(d);
                    k += 1;
                    if d == '(' {
                        depth += 1;
                    } else if d == ')' {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                }
            }
            '`' => {
                in_word = true;
                word.push(c);
                k += 1;
                while k < chars.len() && chars[k] != '`' {
                    word.push(chars[k]);
                    k += 1;
                }
                word.push('`');
                k += 1;
            }
            '#' if !in_word => {
                while k < chars.len() && chars[k] != '\n' {
                    k += 1;
                }
            }
            ' ' | '\t' | '\r' => {
                end_word(&mut word, &mut in_word, &mut command);
                k += 1;
            }
            '|' if chars.get(k + 1) != Some(&'|') => {
                end_word(&mut word, &mut in_word, &mut command);
                end_command(&mut command, &mut pipeline);
                k += 1;
                // `|&` pipes stderr too.
                if chars.get(k) == Some(&'&') {
                    k += 1;
                }
            }
            ';' | '\n' | '&' | '|' | '(' | ')' | '{' | '}'
                if !(c == '{' || c == '}') || !in_word =>
            {
                end_word(&mut word, &mut in_word, &mut command);
                end_command(&mut command, &mut pipeline);
                if !pipeline.is_empty() {
                    out.push(std::mem::take(&mut pipeline));
                }
                k += 1;
                if (c == '&' || c == '|') && chars.get(k) == Some(&c) {
                    k += 1;
                }
            }
            _ => {
                word.push(c);
                in_word = true;
                k += 1;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut command);
    end_command(&mut command, &mut pipeline);
    if !pipeline.is_empty() {
        out.push(pipeline);
    }
    out
}

/// The command a simple command runs: leading `VAR=value` assignments, `sudo` (with its flags)
/// and `env` (with its flags and assignments) skipped. The words from the command on.
pub fn effective(command: &[String]) -> &[String] {
    let mut k = 0;
    loop {
        let Some(w) = command.get(k) else {
            return &command[k..];
        };
        let assignment = w.split_once('=').is_some_and(|(n, _)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if assignment {
            k += 1;
            continue;
        }
        match basename(w) {
            "sudo" | "env" | "exec" | "nohup" | "time" => {
                k += 1;
                while command.get(k).is_some_and(|w| w.starts_with('-')) {
                    // sudo -u USER: the option's value.
                    let takes_value =
                        matches!(command[k].as_str(), "-u" | "-g" | "-C" | "-h" | "-p");
                    k += if takes_value { 2 } else { 1 };
                }
            }
            _ => return &command[k..],
        }
    }
}

/// The last path component of a command word (`/usr/bin/apt-get` → `apt-get`).
pub fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(script: &str, expect: &str) {
        let got: Vec<String> = pipelines(script)
            .iter()
            .map(|p| {
                p.iter()
                    .map(|c| c.join(" "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        assert_eq!(got.join("\n"), expect.trim(), "\n{got:#?}");
    }

    #[test]
    fn operators_split_commands_and_pipes_join_them() {
        check(
            "apt-get update && apt-get install -y 'a b' \"c\\\"d\"; rm -rf /x || true\ncurl -fsSL https://x | sudo -E bash -",
            "apt-get update\napt-get install -y a b c\"d\nrm -rf /x\ntrue\ncurl -fsSL https://x | sudo -E bash -",
        );
    }

    #[test]
    fn substitutions_stay_in_their_word_and_comments_go() {
        check(
            "sh -c \"$(curl -fsSL https://x)\" # run it\nbash <(wget -qO- https://y) `date`",
            "sh -c $(curl -fsSL https://x)\nbash <(wget -qO- https://y) `date`",
        );
        check("echo a#b", "echo a#b");
        check("a \\\n b", "a b");
    }

    #[test]
    fn effective_command_skips_assignments_sudo_and_env() {
        let words: Vec<String> =
            "DEBIAN_FRONTEND=noninteractive sudo -u root env -i A=1 /usr/bin/apt-get install x"
                .split(' ')
                .map(String::from)
                .collect();
        assert_eq!(effective(&words).join(" "), "/usr/bin/apt-get install x");
        assert_eq!(basename(&effective(&words)[0]), "apt-get");
    }
}

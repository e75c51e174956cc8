//! Container image references (`[registry[:port]/]path[:tag][@digest]`) and the two questions
//! the rules ask of them: is the tag `latest` or missing, and is the image pinned by digest.
//! Also the names that look like they hold a secret. Pure.

/// What a reference says about its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// `@sha256:…`: the exact image.
    Digest,
    /// A tag other than `latest`, no digest: the image behind it can change.
    Tag(String),
    /// `:latest`, or no tag and no digest (which means `latest`).
    Latest,
}

/// How `reference` is pinned. The tag is the part after the last `:` that follows the last `/`
/// (so a registry port is not a tag).
pub fn pin(reference: &str) -> Pin {
    let reference = reference.trim();
    if let Some((_, digest)) = reference.split_once('@')
        && !digest.is_empty()
    {
        return Pin::Digest;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rsplit_once(':') {
        Some((_, tag)) if !tag.is_empty() && tag != "latest" => Pin::Tag(tag.to_string()),
        _ => Pin::Latest,
    }
}

/// Words of a variable name that mark it as holding a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
];

/// Last words that make the name about a secret, not the secret itself (`PASSWORD_FILE` points
/// at one; `TOKEN_URL` is where one is fetched).
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "LENGTH", "LEN", "MIN", "MAX",
    "ENABLED", "TTL", "EXPIRY", "TIMEOUT", "TYPE", "NAME", "ID", "HEADER", "COUNT",
];

/// Does an environment variable or build argument named `name` look like it holds a secret
/// (`DB_PASSWORD`, `githubToken`, `API_KEY`, `AWS_SECRET_ACCESS_KEY`)?
pub fn secret_name(name: &str) -> bool {
    // Words: split at `_`, `-`, `.` and lower→upper case changes; upper-cased.
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let Some(last) = words.last() else {
        return false;
    };
    if NOT_SECRET_SUFFIXES.contains(&last.as_str()) {
        return false;
    }
    // Joined neighbours: API_KEY → APIKEY, PRIVATE_KEY, ACCESS_KEY.
    let joined: Vec<String> = words
        .windows(2)
        .map(|w| format!("{}{}", w[0], w[1]))
        .collect();
    words
        .iter()
        .chain(joined.iter())
        .any(|w| SECRET_WORDS.contains(&w.as_str()))
}

/// Is `value` a literal worth calling a secret: not empty, not only a reference to another
/// variable (`$X`, `${X}`), not a boolean or a placeholder of the shape `<...>`/`changeme`.
pub fn literal_secret_value(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return false;
    }
    let only_reference = (v.starts_with("${") && v.ends_with('}') && !v[2..].contains('$'))
        || (v.starts_with('$')
            && v.len() > 1
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if only_reference {
        return false;
    }
    !matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "none"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert_eq!(pin("nginx"), Pin::Latest);
        assert_eq!(pin("nginx:latest"), Pin::Latest);
        assert_eq!(pin("registry:5000/team/app"), Pin::Latest);
        assert_eq!(pin("registry:5000/team/app:1.2"), Pin::Tag("1.2".into()));
        assert_eq!(pin("nginx:1.27@sha256:abcd"), Pin::Digest);
        assert_eq!(pin("nginx@sha256:abcd"), Pin::Digest);
        assert_eq!(pin("nginx:latest@sha256:abcd"), Pin::Digest);
    }

    #[test]
    fn secret_names() {
        for yes in [
            "DB_PASSWORD",
            "password",
            "githubToken",
            "API_KEY",
            "apiKey",
            "AWS_SECRET_ACCESS_KEY",
            "PRIVATE_KEY",
            "REDIS_PASS",
            "NPM_AUTH",
            "client-secret",
        ] {
            assert!(secret_name(yes), "{yes}");
        }
        for no in [
            "PASSWORD_FILE",
            "TOKEN_URL",
            "PATH",
            "PWD",
            "KEYCLOAK_HOST",
            "PASSENGER",
            "SECRET_NAME",
            "NODE_ENV",
            "AUTHOR",
            "MONKEY",
        ] {
            assert!(!secret_name(no), "{no}");
        }
    }

    #[test]
    fn literal_values() {
        assert!(literal_secret_value("s3cr3t-value"));
        assert!(!literal_secret_value(""));
        assert!(!literal_secret_value("${DB_PASSWORD}"));
        assert!(!literal_secret_value("$DB_PASSWORD"));
        assert!(!literal_secret_value("false"));
        assert!(literal_secret_value("${A}${B}x"));
    }
}

//! JavaScript: `package-lock.json` v1–v3 and `npm-shrinkwrap.json`, `yarn.lock` (classic and
//! berry), `pnpm-lock.yaml`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::{Package, json_error};
use crate::version::Ecosystem;
use crate::{Error, Result};

fn pkg(path: &Path, line: usize, name: &str, version: &str) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: Ecosystem::Npm,
        path: path.to_path_buf(),
        line,
        source: None,
        dependencies: Vec::new(),
        os: None,
    }
}

/// The 1-based line of each package entry's key in a `package-lock.json`, keyed by the
/// node_modules path the entry describes: with `v1` false, the keys of the top-level `packages`
/// object as written (`node_modules/a/node_modules/b`); with `v1` true, the keys of the top-level
/// `dependencies` object and, recursively, of each entry's own `dependencies`, as the path their
/// nesting gives (`"b"` inside `"a"` is `node_modules/a/node_modules/b`). So a package's line is
/// that of its own entry, wherever else its name appears (as a dependency, nested elsewhere, in
/// the root's `"name"`), and however the file is laid out (one line or many).
///
/// A single pass over the tokens; the text is valid JSON (serde parsed it first).
fn npm_entry_lines(text: &str, v1: bool) -> HashMap<String, usize> {
    use std::borrow::Cow;
    enum Ctx {
        Root,
        /// v2/v3 `packages`.
        Packages,
        /// A v1 `dependencies` object; its entries are installed at `{prefix}node_modules/NAME`.
        V1Deps(String),
        /// A v1 entry installed at this path.
        V1Entry(String),
        Other,
    }
    struct Frame<'a> {
        ctx: Ctx,
        object: bool,
        expect_key: bool,
        key: Option<Cow<'a, str>>,
    }
    let b = text.as_bytes();
    let mut out = HashMap::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'\n' => line += 1,
            b'"' => {
                let start = i;
                let mut j = start;
                let mut escaped = false;
                loop {
                    let Some(k) = b
                        .get(j..)
                        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    else {
                        return out;
                    };
                    if b[j + k] == b'\\' {
                        escaped = true;
                        j += k + 2;
                    } else {
                        j += k;
                        break;
                    }
                }
                i = j + 1;
                let Some(f) = stack.last_mut() else { continue };
                if !(f.object && f.expect_key) {
                    continue;
                }
                f.expect_key = false;
                if matches!(f.ctx, Ctx::Other) {
                    continue;
                }
                let raw = &text[start..j];
                let key = if escaped {
                    serde_json::from_str::<String>(&text[start - 1..=j])
                        .map_or(Cow::Borrowed(raw), Cow::Owned)
                } else {
                    Cow::Borrowed(raw)
                };
                match &f.ctx {
                    Ctx::Packages => {
                        out.insert(key.to_string(), line);
                    }
                    Ctx::V1Deps(prefix) => {
                        out.insert(format!("{prefix}node_modules/{key}"), line);
                    }
                    _ => {}
                }
                f.key = Some(key);
            }
            b'{' | b'[' => {
                let object = c == b'{';
                let ctx = match stack.last() {
                    None if object => Ctx::Root,
                    Some(f) if object => match (&f.ctx, f.key.as_deref()) {
                        (Ctx::Root, Some("packages")) if !v1 => Ctx::Packages,
                        (Ctx::Root, Some("dependencies")) if v1 => Ctx::V1Deps(String::new()),
                        (Ctx::V1Deps(prefix), Some(name)) => {
                            Ctx::V1Entry(format!("{prefix}node_modules/{name}"))
                        }
                        (Ctx::V1Entry(path), Some("dependencies")) => {
                            Ctx::V1Deps(format!("{path}/"))
                        }
                        _ => Ctx::Other,
                    },
                    _ => Ctx::Other,
                };
                stack.push(Frame {
                    ctx,
                    object,
                    expect_key: object,
                    key: None,
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(f) = stack.last_mut()
                    && f.object
                {
                    f.expect_key = true;
                    f.key = None;
                }
            }
            _ => {}
        }
    }
    out
}

#[derive(Deserialize)]
struct NpmLock {
    #[serde(default)]
    packages: Option<BTreeMap<String, NpmEntry>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, NpmV1Entry>>,
}

#[derive(Deserialize)]
struct NpmEntry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    link: bool,
    resolved: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct NpmV1Entry {
    version: String,
    resolved: Option<String>,
    /// Direct dependencies (name -> range), dependencies and optional ones alike.
    #[serde(default)]
    requires: BTreeMap<String, serde_json::Value>,
    /// Packages installed in this package's own `node_modules`.
    #[serde(default)]
    dependencies: BTreeMap<String, NpmV1Entry>,
}

/// Node's module resolution over lockfile paths: `dep` required from the package installed at
/// `key` (`node_modules/a/node_modules/b`) is the nearest `node_modules/dep` up the tree.
fn resolve_node<'a>(at: &'a HashMap<&str, String>, key: &str, dep: &str) -> Option<&'a String> {
    let mut base = key;
    loop {
        let cand = format!("{base}/node_modules/{dep}");
        if let Some(d) = at.get(cand.trim_start_matches('/')) {
            return Some(d);
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind("/node_modules/") {
            Some(i) => &base[..i],
            None => "",
        };
    }
}

fn looks_like_version(v: &str) -> bool {
    v.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// The real package of an npm alias (`npm:string-width@4.2.3`, `npm:@scope/real@^1`): its name
/// and version (or range). `None` for anything else, including `npm:^4` (no name).
fn npm_alias(spec: &str) -> Option<(&str, &str)> {
    let rest = spec.strip_prefix("npm:")?;
    let at = rest.rfind('@').filter(|&i| i > 0)?;
    Some((&rest[..at], &rest[at + 1..]))
}

/// Parse `package-lock.json` / `npm-shrinkwrap.json` (v2/v3 `packages`, else v1 `dependencies`).
pub fn parse_package_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    let lock: NpmLock = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let mut out = Vec::new();
    if let Some(packages) = &lock.packages {
        let lines = npm_entry_lines(text, false);
        // node_modules path -> name@version, for resolving the dependency graph.
        let mut at: HashMap<&str, String> = HashMap::new();
        for (key, e) in packages {
            // The root ("") and workspace sources ("packages/x") are not installed packages.
            if !key.contains("node_modules/") || e.link {
                continue;
            }
            let name = e.name.clone().unwrap_or_else(|| {
                key.rsplit("node_modules/")
                    .next()
                    .unwrap_or(key)
                    .to_string()
            });
            let Some(version) = e.version.as_deref().filter(|v| looks_like_version(v)) else {
                continue;
            };
            at.insert(key, format!("{name}@{version}"));
        }
        for (key, e) in packages {
            let Some(id) = at.get(key.as_str()) else {
                continue;
            };
            let (name, version) = id.rsplit_once('@').unwrap_or((id, ""));
            let mut p = pkg(
                path,
                lines.get(key.as_str()).copied().unwrap_or(0),
                name,
                version,
            );
            p.source = e.resolved.clone();
            for dep in e.dependencies.keys().chain(e.optional_dependencies.keys()) {
                if let Some(d) = resolve_node(&at, key, dep) {
                    p.dependencies.push(d.clone());
                }
            }
            out.push(p);
        }
    } else if let Some(deps) = &lock.dependencies {
        let lines = npm_entry_lines(text, true);
        // v1 nests `dependencies` as node_modules nests packages: give each entry its
        // node_modules path, then resolve `requires` as v2/v3 resolve `dependencies`.
        fn walk<'a>(
            prefix: &str,
            deps: &'a BTreeMap<String, NpmV1Entry>,
            out: &mut Vec<(String, &'a str, &'a NpmV1Entry)>,
        ) {
            for (name, e) in deps {
                let key = format!("{prefix}node_modules/{name}");
                out.push((key.clone(), name, e));
                walk(&format!("{key}/"), &e.dependencies, out);
            }
        }
        let mut entries = Vec::new();
        walk("", deps, &mut entries);
        // The package each entry installs: an alias (`"string-width-cjs": {"version":
        // "npm:string-width@4.2.3"}`) installs the real package under another directory name.
        fn installed<'a>(name: &'a str, e: &'a NpmV1Entry) -> Option<(&'a str, &'a str)> {
            npm_alias(&e.version)
                .or(Some((name, e.version.as_str())))
                .filter(|(_, v)| looks_like_version(v))
        }
        let at: HashMap<&str, String> = entries
            .iter()
            .filter_map(|(key, name, e)| {
                let (n, v) = installed(name, e)?;
                Some((key.as_str(), format!("{n}@{v}")))
            })
            .collect();
        for (key, name, e) in &entries {
            let Some((name, version)) = installed(name, e) else {
                continue;
            };
            let mut p = pkg(
                path,
                lines.get(key.as_str()).copied().unwrap_or(0),
                name,
                version,
            );
            p.source = e.resolved.clone();
            for dep in e.requires.keys() {
                if let Some(d) = resolve_node(&at, key, dep) {
                    p.dependencies.push(d.clone());
                }
            }
            out.push(p);
        }
    } else {
        return Err(Error::parse(
            path,
            1,
            "neither `packages` nor `dependencies`: not an npm lockfile",
        ));
    }
    Ok(out)
}

/// The package name of a yarn descriptor such as `"@babel/core@^7.0.0"` or `lodash@npm:^4`.
fn yarn_name(spec: &str) -> Option<&str> {
    let s = spec.trim().trim_matches('"');
    let at = s.match_indices('@').map(|(i, _)| i).find(|&i| i > 0)?;
    Some(&s[..at])
}

/// The real package name of a yarn alias range: `npm:string-width@^4.2.0` (classic, and the
/// range of an aliased dependency) or `npm:string-width@npm:^4.2.0` (berry) name `string-width`.
/// `None` for a range that is not an alias (`^4.2.0`, `npm:^4.2.0`).
fn yarn_alias_target(range: &str) -> Option<&str> {
    yarn_name(range.trim().trim_matches('"').strip_prefix("npm:")?)
}

/// The package a yarn descriptor resolves to: an alias's real package (`string-width` for
/// `string-width-cjs@npm:string-width@^4.2.0`), else the descriptor's own name.
fn yarn_real_name(descriptor: &str) -> Option<&str> {
    let name = yarn_name(descriptor)?;
    let d = descriptor.trim().trim_matches('"');
    Some(
        d.get(name.len() + 1..)
            .and_then(yarn_alias_target)
            .unwrap_or(name),
    )
}

/// One package per (name, version), in first-seen order, at its first entry's line, with the
/// union of the entries' dependencies: yarn classic keeps an alias's entry apart from the real
/// package's, and pnpm v5/v6 have one entry per peer-dependency variant of a package.
fn merge_same_packages(packages: Vec<Package>) -> Vec<Package> {
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    let mut out: Vec<Package> = Vec::with_capacity(packages.len());
    for p in packages {
        match at.entry((p.name.clone(), p.version.clone())) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let first = &mut out[*o.get()];
                for d in p.dependencies {
                    if !first.dependencies.contains(&d) {
                        first.dependencies.push(d);
                    }
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(out.len());
                out.push(p);
            }
        }
    }
    out
}

/// One `name range` (classic) or `name: range` (berry) line of a yarn entry's dependency map.
fn yarn_dependency(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    let (name, rest) = match t.strip_prefix('"') {
        Some(q) => {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        }
        None => {
            let end = t.find([':', ' '])?;
            (&t[..end], &t[end..])
        }
    };
    let range = rest.trim_start_matches(':').trim().trim_matches('"');
    (!name.is_empty() && !range.is_empty()).then_some((name, range))
}

/// Parse a `yarn.lock`, classic (v1) or berry (YAML); both are read line by line.
///
/// An entry is the package it resolves to: an alias's header (`string-width-cjs@npm:string-
/// width@^4.2.0`) names the real package, as does berry's `resolution:`; entries of the same
/// package and version (classic keeps an alias's entry apart) are one package.
///
/// Each entry's header lists the descriptors (`name@range`) it resolves; its `dependencies` and
/// `optionalDependencies` are `name range` pairs, resolved to the entry whose header lists
/// `name@range` (berry writes `npm:` ranges, and older berry lockfiles leave the default `npm:`
/// protocol out of the dependency maps, so `name@npm:range` is tried too). A range no header lists
/// (overridden by `resolutions`) resolves to the package's only entry, if it has one.
pub fn parse_yarn_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    struct Entry<'a> {
        name: &'a str,
        descriptors: Vec<&'a str>,
        line: usize,
        version: Option<String>,
        local: bool,
        dependencies: Vec<(&'a str, &'a str)>,
    }
    let mut entries: Vec<Entry<'_>> = Vec::new();
    // Inside a `dependencies:` / `optionalDependencies:` map of the current entry.
    let mut in_deps = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            in_deps = false;
            let Some(header) = line.strip_suffix(':') else {
                return Err(Error::parse(
                    path,
                    i + 1,
                    format!("expected `descriptor:`, got {line:?}"),
                ));
            };
            if header.trim_matches('"') == "__metadata" {
                entries.push(Entry {
                    name: "",
                    descriptors: Vec::new(),
                    line: i + 1,
                    version: None,
                    local: true,
                    dependencies: Vec::new(),
                });
                continue;
            }
            // `"a@^1", "a@^1.2"` (classic) or `"a@npm:^1, a@npm:^1.2"` (berry).
            let descriptors: Vec<&str> = header
                .split(", ")
                .map(|d| d.trim().trim_matches('"'))
                .filter(|d| !d.is_empty())
                .collect();
            let first = descriptors.first().copied().unwrap_or(header);
            let Some(name) = yarn_real_name(first) else {
                return Err(Error::parse(
                    path,
                    i + 1,
                    format!("not a package descriptor: {header:?}"),
                ));
            };
            entries.push(Entry {
                name,
                descriptors,
                line: i + 1,
                version: None,
                local: false,
                dependencies: Vec::new(),
            });
            continue;
        }
        let Some(cur) = entries.last_mut() else {
            return Err(Error::parse(path, i + 1, "indented line before any entry"));
        };
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if indent > 2 {
            if in_deps && let Some(dep) = yarn_dependency(t) {
                cur.dependencies.push(dep);
            }
            continue;
        }
        // The entry's own fields (two-space indent).
        in_deps = matches!(
            t,
            "dependencies:" | "optionalDependencies:" | "dependencies" | "optionalDependencies"
        );
        if let Some(v) = t.strip_prefix("version") {
            let v = v.trim_start_matches(':').trim().trim_matches('"');
            cur.version = Some(v.to_string());
        } else if let Some(r) = t.strip_prefix("resolution:") {
            if r.contains("@workspace:") || r.contains("@link:") || r.contains("@portal:") {
                cur.local = true;
            } else if let Some(n) = yarn_name(r) {
                // Berry: the locator resolved, `string-width@npm:4.2.3` for an alias too.
                cur.name = n;
            }
        }
    }
    let mut by_descriptor: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for d in &e.descriptors {
            by_descriptor.entry(d).or_insert(i);
        }
    }
    let is_package =
        |e: &Entry<'_>| !e.local && e.version.as_deref().is_some_and(|v| v != "0.0.0-use.local");
    // Names with exactly one entry: a `resolutions` override in package.json makes yarn resolve
    // `trim@npm:0.0.1` to the only `trim` entry (`trim@npm:1.0.1`), and the lockfile keeps no
    // descriptor for the overridden range.
    let mut only: HashMap<&str, Option<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if is_package(e) {
            only.entry(e.name)
                .and_modify(|o| *o = None)
                .or_insert(Some(i));
        }
    }
    let mut out = Vec::new();
    for e in &entries {
        if e.local {
            continue;
        }
        let Some(v) = &e.version else {
            return Err(Error::parse(
                path,
                e.line,
                format!("entry {} has no version", e.name),
            ));
        };
        if !is_package(e) {
            continue;
        }
        let mut p = pkg(path, e.line, e.name, v);
        for (name, range) in &e.dependencies {
            // An aliased dependency (`string-width-cjs "npm:string-width@^4.2.0"`) is found by
            // its descriptor, which names the alias, or else as the real package.
            let real = yarn_alias_target(range).unwrap_or(name);
            let target = by_descriptor
                .get(format!("{name}@{range}").as_str())
                .or_else(|| by_descriptor.get(format!("{name}@npm:{range}").as_str()))
                .copied()
                .or_else(|| only.get(real).copied().flatten())
                .map(|j| &entries[j]);
            if let Some(t) = target.filter(|t| is_package(t))
                && let Some(tv) = &t.version
            {
                let id = format!("{}@{tv}", t.name);
                if !p.dependencies.contains(&id) {
                    p.dependencies.push(id);
                }
            }
        }
        out.push(p);
    }
    Ok(merge_same_packages(out))
}

/// Split a pnpm package key or dependency path into name and version, for every lockfile
/// version: `/name/1.0.0_peer@2` (v5), `/name@1.0.0(peer@2)` (v6), `name@1.0.0(peer@2)` (v9),
/// scoped names included. The peer suffix is dropped. `None` when no version follows the name.
fn pnpm_split(key: &str) -> Option<(&str, &str)> {
    let bare = key.strip_prefix('/').unwrap_or(key);
    let bare = bare.split('(').next().unwrap_or(bare);
    // v5: the last path segment is the version (peers after `_`, which versions never contain).
    if let Some((name, last)) = bare.rsplit_once('/') {
        let version = last.split('_').next().unwrap_or(last);
        // A v5 name has no `@` but a scope's and no `:` (tarball and git URLs do).
        let plain_name = !name.is_empty()
            && !name.strip_prefix('@').unwrap_or(name).contains('@')
            && !name.contains(':');
        if plain_name && looks_like_version(version) && !version.contains('@') {
            return Some((name, version));
        }
    }
    let at = bare.rfind('@').filter(|&i| i > 0)?;
    let version = &bare[at + 1..];
    looks_like_version(version).then_some((&bare[..at], version))
}

/// The `name@version` a pnpm dependency map entry (`name: value`) points at: a version (with a
/// peer suffix), or for aliases a dependency path (`real@1.0.0`, `/real/1.0.0`). Local
/// dependencies (`link:`, `file:`) are not packages.
fn pnpm_dependency(name: &str, value: &str) -> Option<String> {
    if looks_like_version(value) {
        let v = value.split(['(', '_']).next().unwrap_or(value);
        return Some(format!("{name}@{v}"));
    }
    let (n, v) = pnpm_split(value)?;
    Some(format!("{n}@{v}"))
}

/// Parse a `pnpm-lock.yaml` (lockfile versions 5 to 9: keys `/name/1.0.0`, `/name@1.0.0`,
/// `name@1.0.0(peer@2)`). Dependencies come from each package's `dependencies` and
/// `optionalDependencies` (v5/v6), or from its `snapshots` entries (v9, one per peer set, merged).
/// A package is listed once, however many peer variants the lockfile keys (v5/v6 key each
/// variant in `packages`), at its first key's line, with the union of the variants' dependencies.
pub fn parse_pnpm_lock(path: &Path, text: &str) -> Result<Vec<Package>> {
    // Typed, so the large `importers` section is skipped, not built as a tree; `packages` keeps
    // file order.
    #[derive(Deserialize)]
    struct PnpmLock {
        #[serde(default, deserialize_with = "ordered")]
        packages: Vec<(serde_norway::Value, PnpmEntry)>,
        #[serde(default)]
        snapshots: Option<BTreeMap<String, PnpmDeps>>,
    }
    #[derive(Deserialize)]
    struct PnpmEntry {
        version: Option<serde_norway::Value>,
        name: Option<String>,
        #[serde(flatten)]
        deps: PnpmDeps,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct PnpmDeps {
        dependencies: Option<BTreeMap<String, serde_norway::Value>>,
        #[serde(rename = "optionalDependencies")]
        optional_dependencies: Option<BTreeMap<String, serde_norway::Value>>,
    }
    impl PnpmDeps {
        fn resolved(&self) -> impl Iterator<Item = String> + '_ {
            self.dependencies
                .iter()
                .chain(self.optional_dependencies.iter())
                .flatten()
                .filter_map(|(name, v)| {
                    let v = match v {
                        serde_norway::Value::String(s) => s.clone(),
                        serde_norway::Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    pnpm_dependency(name, &v)
                })
        }
    }
    fn ordered<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<(serde_norway::Value, PnpmEntry)>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<(serde_norway::Value, PnpmEntry)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of packages")
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    out.push(kv);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
    let doc: PnpmLock = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        Error::parse(path, line, e.to_string())
    })?;
    let mut lines: HashMap<String, usize> = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(k) = l.strip_prefix("  ").filter(|k| !k.starts_with(' ')) {
            let k = k
                .trim_end()
                .trim_end_matches(':')
                .trim_matches('\'')
                .trim_matches('"');
            lines.entry(k.to_string()).or_insert(i + 1);
        }
    }
    // v9: name@version -> dependencies of all its snapshots (peer variants).
    let mut snapshot_deps: HashMap<String, Vec<String>> = HashMap::new();
    for (key, deps) in doc.snapshots.iter().flatten() {
        if let Some((n, v)) = pnpm_split(key) {
            let list = snapshot_deps.entry(format!("{n}@{v}")).or_default();
            for d in deps.resolved() {
                if !list.contains(&d) {
                    list.push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in doc.packages {
        let Some(key) = k.as_str() else { continue };
        let version_field = v.version.as_ref().and_then(|x| x.as_str());
        let (name, version) = match (pnpm_split(key), version_field) {
            (Some((n, ver)), _) => (n.to_string(), ver.to_string()),
            (_, Some(ver)) if looks_like_version(ver) => {
                let bare = key.strip_prefix('/').unwrap_or(key);
                let bare = bare.split('(').next().unwrap_or(bare);
                let n = v.name.as_deref().unwrap_or(bare);
                (n.to_string(), ver.to_string())
            }
            _ => continue,
        };
        let mut p = pkg(path, lines.get(key).copied().unwrap_or(0), &name, &version);
        p.dependencies = v.deps.resolved().collect();
        if let Some(more) = snapshot_deps.get(&p.id()) {
            for d in more {
                if !p.dependencies.contains(d) {
                    p.dependencies.push(d.clone());
                }
            }
        }
        out.push(p);
    }
    // v5/v6 key each peer-dependency variant of a package apart (`/react-dom/18.2.0_react@18.2.0`,
    // `/react-dom/18.2.0_react@18.1.0`): one package, as v9's `packages`.
    Ok(merge_same_packages(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lock_v3_with_nested_modules_and_graph() {
        let text = r#"{
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "app", "dependencies": { "a": "^1" } },
    "node_modules/a": { "version": "1.0.0", "dependencies": { "b": "^2" } },
    "node_modules/a/node_modules/b": { "version": "2.0.0" },
    "node_modules/b": { "version": "1.0.0" },
    "node_modules/@s/c": { "version": "3.0.0-rc.1" },
    "packages/ws": { "version": "0.0.1" },
    "node_modules/ws": { "resolved": "packages/ws", "link": true }
  }
}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("@s/c", "3.0.0-rc.1", 8),
                ("a", "1.0.0", 5),
                ("b", "2.0.0", 6),
                ("b", "1.0.0", 7)
            ]
        );
        assert_eq!(p[1].dependencies, ["b@2.0.0"]);
        assert_eq!(p[0].purl(), "pkg:npm/%40s/c@3.0.0-rc.1");
    }

    #[test]
    fn package_lock_v1_nested() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
  "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
  "g": {"version": "github:x/y#abc"}
}}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("a", "1.0.0"), ("b", "2.0.0")]);
    }

    /// `(name, version, line)` of each package, in output order.
    fn nvl(p: &[Package]) -> Vec<(&str, &str, usize)> {
        p.iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect()
    }

    #[test]
    fn package_lock_v1_lines_are_those_of_each_entry_key() {
        // `lodash` is the root's name, a dependency of `a` (a `requires` key), installed at the
        // top level and again nested under `a`; `b` is nested under `a` before its top-level entry.
        let text = r#"{
  "name": "lodash",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "requires": {
        "lodash": "^3.0.0",
        "b": "^2.0.0"
      },
      "dependencies": {
        "b": {
          "version": "2.0.0"
        },
        "lodash": {
          "version": "3.10.1",
          "dependencies": {
            "b": { "version": "2.1.0" }
          }
        }
      }
    },
    "b": {
      "version": "1.0.0"
    },
    "lodash": {
      "version": "4.17.21"
    }
  }
}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("a", "1.0.0", 6),
                ("b", "2.0.0", 13),
                ("lodash", "3.10.1", 16),
                ("b", "2.1.0", 19),
                ("b", "1.0.0", 24),
                ("lodash", "4.17.21", 27),
            ]
        );
        // The same lockfile on one line: every entry is on line 1.
        let one_line: serde_json::Value = serde_json::from_str(text).unwrap();
        let p = parse_package_lock(Path::new("package-lock.json"), &one_line.to_string()).unwrap();
        assert_eq!(p.len(), 6);
        assert!(p.iter().all(|p| p.line == 1), "{:?}", nvl(&p));
        // Escaped names are matched unescaped; a name that is also a key elsewhere ("version",
        // "dependencies") keeps its own entry's line.
        let text = "{\"lockfileVersion\": 1, \"dependencies\": {\n  \"\\u0040s/x\": {\"version\": \"1.0.0\"},\n  \"dependencies\": {\"version\": \"2.0.0\"},\n  \"version\": {\"version\": \"3.0.0\",\n    \"dependencies\": {\n      \"requires\": {\"version\": \"4.0.0\"}}}\n}}";
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("@s/x", "1.0.0", 2),
                ("dependencies", "2.0.0", 3),
                ("version", "3.0.0", 4),
                ("requires", "4.0.0", 6),
            ]
        );
    }

    #[test]
    fn package_lock_v2_v3_lines_of_nested_entries() {
        let text = r#"{
  "name": "node_modules/b",
  "lockfileVersion": 3,
  "packages": {
    "": {
      "name": "app",
      "dependencies": { "a": "^1", "b": "^1" }
    },
    "node_modules/a": {
      "version": "1.0.0",
      "dependencies": { "b": "^2" }
    },
    "node_modules/a/node_modules/b": {
      "version": "2.0.0",
      "dependencies": { "c": "^1" }
    },
    "node_modules/a/node_modules/b/node_modules/c": {
      "version": "1.0.0"
    },
    "node_modules/b": {
      "version": "1.0.0"
    }
  },
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "dependencies": {
        "b": { "version": "2.0.0" }
      }
    },
    "b": { "version": "1.0.0" }
  }
}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("a", "1.0.0", 9),
                ("b", "2.0.0", 13),
                ("c", "1.0.0", 17),
                ("b", "1.0.0", 20),
            ]
        );
        assert_eq!(p[1].dependencies, ["c@1.0.0"]);
        let one_line: serde_json::Value = serde_json::from_str(text).unwrap();
        let p = parse_package_lock(Path::new("package-lock.json"), &one_line.to_string()).unwrap();
        assert_eq!(p.iter().map(|p| p.line).collect::<Vec<_>>(), [1, 1, 1, 1]);
    }

    #[test]
    fn npm_aliases_are_the_real_package_in_every_lockfile_version() {
        // v3: `node_modules/string-width-cjs` installs string-width (its `name`); the alias
        // resolves as a directory name, so `app`'s dependency on the alias is an edge to it.
        let v3 = r#"{
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "root" },
    "node_modules/app": {
      "version": "1.0.0",
      "dependencies": { "string-width-cjs": "npm:string-width@^4.2.0", "pg2": "npm:@e/pg@0.2.0" }
    },
    "node_modules/pg2": {
      "name": "@e/pg",
      "version": "0.2.17"
    },
    "node_modules/string-width-cjs": {
      "name": "string-width",
      "version": "4.2.3"
    }
  }
}"#;
        // v1: the alias's version is `npm:real@version`.
        let v1 = r#"{
  "lockfileVersion": 1,
  "dependencies": {
    "app": {
      "version": "1.0.0",
      "requires": { "string-width-cjs": "npm:string-width@^4.2.0", "pg2": "npm:@e/pg@0.2.0" }
    },
    "pg2": {
      "version": "npm:@e/pg@0.2.17"
    },
    "string-width-cjs": {
      "version": "npm:string-width@4.2.3"
    },
    "git-alias": {
      "version": "npm:x@github:x/y#abc"
    }
  }
}"#;
        for (text, lines) in [(v3, [5, 9, 13]), (v1, [4, 8, 11])] {
            let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
            assert_eq!(
                nvl(&p),
                [
                    ("app", "1.0.0", lines[0]),
                    ("@e/pg", "0.2.17", lines[1]),
                    ("string-width", "4.2.3", lines[2])
                ],
                "{text}"
            );
            assert_eq!(p[0].dependencies, ["@e/pg@0.2.17", "string-width@4.2.3"]);
            assert_eq!(p[1].purl(), "pkg:npm/%40e/pg@0.2.17");
        }
    }

    /// `(name@version, dependencies)` of each package, in output order.
    fn graph(p: &[Package]) -> Vec<(String, Vec<String>)> {
        p.iter().map(|p| (p.id(), p.dependencies.clone())).collect()
    }

    fn edges(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        list.iter()
            .map(|(id, deps)| (id.to_string(), deps.iter().map(|d| d.to_string()).collect()))
            .collect()
    }

    #[test]
    fn package_lock_v1_requires_resolve_through_the_nesting() {
        // a@1 has its own b@2 (and d, which requires b: the nearest is a's b@2); c requires b and
        // gets the top-level b@1; e requires a package that is not installed and a git one.
        let text = r#"{"lockfileVersion": 1, "requires": true, "dependencies": {
  "a": {"version": "1.0.0", "requires": {"b": "^2", "d": "^1"}, "dependencies": {
    "b": {"version": "2.0.0"},
    "d": {"version": "1.0.0", "requires": {"b": "^2", "c": "^1"}}
  }},
  "b": {"version": "1.0.0"},
  "c": {"version": "1.0.0", "requires": {"b": "^1"}},
  "e": {"version": "1.0.0", "requires": {"missing": "^1", "g": "x/y"}},
  "g": {"version": "github:x/y#abc", "requires": {"b": "^1"}}
}}"#;
        let p = parse_package_lock(Path::new("package-lock.json"), text).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                ("a@1.0.0", &["b@2.0.0", "d@1.0.0"]),
                ("b@2.0.0", &[]),
                ("d@1.0.0", &["b@2.0.0", "c@1.0.0"]),
                ("b@1.0.0", &[]),
                ("c@1.0.0", &["b@1.0.0"]),
                ("e@1.0.0", &[]),
            ])
        );
    }

    #[test]
    fn yarn_dependencies_resolve_through_descriptors() {
        let classic = r#"# yarn lockfile v1


"@babel/highlight@^7.10.4", "@babel/highlight@^7.12.13":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.12.13.tgz"
  dependencies:
    chalk "^2.0.0"
    js-tokens "^4.0.0"

chalk@^2.0.0:
  version "2.4.2"
  dependencies:
    ansi-styles "^3.2.1"
  optionalDependencies:
    fsevents "~2.3.1"

chalk@^4.1.0:
  version "4.1.2"
  dependencies:
    ansi-styles "^4.1.0"

ansi-styles@^3.2.1:
  version "3.2.1"

ansi-styles@^4.1.0:
  version "4.3.0"

fsevents@~2.3.1:
  version "2.3.2"

js-tokens@^4.0.0:
  version "4.0.0"

string-width-cjs@npm:string-width@^4.2.0:
  version "4.2.3"
  dependencies:
    ansi-styles "^4.1.0"

app@^1.0.0:
  version "1.0.0"
  dependencies:
    string-width-cjs "npm:string-width@^4.2.0"
    chalk "^4.1.0"
    unlisted "^1.0.0"
"#;
        let p = parse_yarn_lock(Path::new("yarn.lock"), classic).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                (
                    "@babel/highlight@7.12.13",
                    &["chalk@2.4.2", "js-tokens@4.0.0"]
                ),
                ("chalk@2.4.2", &["ansi-styles@3.2.1", "fsevents@2.3.2"]),
                ("chalk@4.1.2", &["ansi-styles@4.3.0"]),
                ("ansi-styles@3.2.1", &[]),
                ("ansi-styles@4.3.0", &[]),
                ("fsevents@2.3.2", &[]),
                ("js-tokens@4.0.0", &[]),
                ("string-width@4.2.3", &["ansi-styles@4.3.0"]),
                ("app@1.0.0", &["string-width@4.2.3", "chalk@4.1.2"]),
            ])
        );

        // Berry: `npm:` ranges; an older berry lockfile's ranges without the protocol; peer
        // dependencies are not dependencies; the workspace itself is not a package.
        let berry = r#"__metadata:
  version: 6
  cacheKey: 8

"@babel/core@npm:^7.0.0, @babel/core@npm:^7.12.3":
  version: 7.24.0
  resolution: "@babel/core@npm:7.24.0"
  dependencies:
    "@babel/code-frame": "npm:^7.23.5"
    debug: ^4.1.0
  peerDependencies:
    typescript: "*"
  checksum: abc
  languageName: node
  linkType: hard

"@babel/code-frame@npm:^7.23.5":
  version: 7.23.5
  resolution: "@babel/code-frame@npm:7.23.5"
  languageName: node
  linkType: hard

"debug@npm:^4.1.0":
  version: 4.3.4
  resolution: "debug@npm:4.3.4"
  dependencies:
    ms: "npm:2.1.2"
  peerDependenciesMeta:
    supports-color:
      optional: true
  languageName: node
  linkType: hard

"ms@npm:2.1.2":
  version: 2.1.2
  resolution: "ms@npm:2.1.2"
  dependencies:
    trim: "npm:0.0.1"
  languageName: node
  linkType: hard

"trim@npm:1.0.1":
  version: 1.0.1
  resolution: "trim@npm:1.0.1"
  languageName: node
  linkType: hard

"typescript@npm:^5.0.0":
  version: 5.4.2
  resolution: "typescript@npm:5.4.2"
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    "@babel/core": "npm:^7.12.3"
  languageName: unknown
  linkType: soft
"#;
        let p = parse_yarn_lock(Path::new("yarn.lock"), berry).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                (
                    "@babel/core@7.24.0",
                    &["@babel/code-frame@7.23.5", "debug@4.3.4"]
                ),
                ("@babel/code-frame@7.23.5", &[]),
                ("debug@4.3.4", &["ms@2.1.2"]),
                // `resolutions` overrode trim 0.0.1 with the only trim there is.
                ("ms@2.1.2", &["trim@1.0.1"]),
                ("trim@1.0.1", &[]),
                ("typescript@5.4.2", &[]),
            ])
        );
    }

    #[test]
    fn yarn_aliases_are_the_real_package_and_edges_to_them_resolve() {
        // Classic: the alias has an entry of its own, apart from the real package's (merged
        // into one package at the first entry's line); a scoped alias of a scoped package.
        let classic = r#"# yarn lockfile v1


"@isaacs/cliui@^8.0.2":
  version "8.0.2"
  dependencies:
    string-width "^5.1.2"
    string-width-cjs "npm:string-width@^4.2.0"
    "@my/alias" "npm:@real/pkg@^1.0.0"

"@my/alias@npm:@real/pkg@^1.0.0":
  version "1.2.0"

ansi-regex@^5.0.1:
  version "5.0.1"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz"
  dependencies:
    strip-ansi "^6.0.1"

string-width@^4.1.0:
  version "4.2.3"
  dependencies:
    ansi-regex "^5.0.1"
    strip-ansi "^6.0.1"

string-width@^5.1.2:
  version "5.1.2"

strip-ansi@^6.0.1:
  version "6.0.1"

tool@^1.0.0:
  version "1.0.0"
  dependencies:
    string-width "^4.1.0"
    string-width-cjs "npm:string-width@^4.2.0"
"#;
        let p = parse_yarn_lock(Path::new("yarn.lock"), classic).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("@isaacs/cliui", "8.0.2", 4),
                ("@real/pkg", "1.2.0", 11),
                ("ansi-regex", "5.0.1", 14),
                ("string-width", "4.2.3", 17),
                ("string-width", "5.1.2", 29),
                ("strip-ansi", "6.0.1", 32),
                ("tool", "1.0.0", 35),
            ]
        );
        assert_eq!(
            graph(&p),
            edges(&[
                (
                    "@isaacs/cliui@8.0.2",
                    &[
                        "string-width@5.1.2",
                        "string-width@4.2.3",
                        "@real/pkg@1.2.0"
                    ]
                ),
                ("@real/pkg@1.2.0", &[]),
                ("ansi-regex@5.0.1", &[]),
                (
                    "string-width@4.2.3",
                    &["strip-ansi@6.0.1", "ansi-regex@5.0.1"]
                ),
                ("string-width@5.1.2", &[]),
                ("strip-ansi@6.0.1", &[]),
                // Both descriptors are one package: one edge.
                ("tool@1.0.0", &["string-width@4.2.3"]),
            ])
        );
        assert_eq!(p[1].purl(), "pkg:npm/%40real/pkg@1.2.0");

        // Berry: the alias shares the real package's entry (first descriptor the alias's), in
        // both the `alias@npm:real@range` and `alias@npm:real@npm:range` forms; `resolution`
        // names the real package.
        let berry = r#"__metadata:
  version: 8
  cacheKey: 10

"@isaacs/cliui@npm:^8.0.2":
  version: 8.0.2
  resolution: "@isaacs/cliui@npm:8.0.2"
  dependencies:
    string-width: "npm:^5.1.2"
    string-width-cjs: "npm:string-width@^4.2.0"
    strip-ansi-cjs: "npm:strip-ansi@npm:^6.0.1"
  languageName: node
  linkType: hard

"react-is-18@npm:react-is@^18.3.1":
  version: 18.3.1
  resolution: "react-is@npm:18.3.1"
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0, string-width@npm:^4.1.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"string-width@npm:^5.1.2":
  version: 5.1.2
  resolution: "string-width@npm:5.1.2"
  languageName: node
  linkType: hard

"strip-ansi-cjs@npm:strip-ansi@npm:^6.0.1, strip-ansi@npm:^6.0.1":
  version: 6.0.1
  resolution: "strip-ansi@npm:6.0.1"
  languageName: node
  linkType: hard
"#;
        let p = parse_yarn_lock(Path::new("yarn.lock"), berry).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("@isaacs/cliui", "8.0.2", 5),
                ("react-is", "18.3.1", 15),
                ("string-width", "4.2.3", 21),
                ("string-width", "5.1.2", 27),
                ("strip-ansi", "6.0.1", 33),
            ]
        );
        assert_eq!(
            p[0].dependencies,
            [
                "string-width@5.1.2",
                "string-width@4.2.3",
                "strip-ansi@6.0.1"
            ]
        );
        // Without `resolution` (as classic), the header's alias names the real package too.
        let no_resolution = berry.replace("  resolution: \"react-is@npm:18.3.1\"\n", "");
        let p = parse_yarn_lock(Path::new("yarn.lock"), &no_resolution).unwrap();
        assert_eq!(p[1].id(), "react-is@18.3.1");
    }

    #[test]
    fn pnpm_dependencies_for_lockfile_versions_5_6_and_9() {
        let v5 = "lockfileVersion: 5.4\npackages:\n  /react-dom/18.2.0_react@18.2.0:\n    resolution: {integrity: x}\n    dependencies:\n      loose-envify: 1.4.0\n      scheduler: 0.23.0\n    peerDependencies:\n      react: ^18.2.0\n  /loose-envify/1.4.0:\n    resolution: {integrity: y}\n  /scheduler/0.23.0:\n    resolution: {integrity: z}\n    dependencies:\n      loose-envify: 1.4.0\n  /@types/node/18.0.0:\n    dev: true\n  /react/18.2.0:\n    resolution: {integrity: w}\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v5).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                (
                    "react-dom@18.2.0",
                    &["loose-envify@1.4.0", "scheduler@0.23.0"]
                ),
                ("loose-envify@1.4.0", &[]),
                ("scheduler@0.23.0", &["loose-envify@1.4.0"]),
                ("@types/node@18.0.0", &[]),
                ("react@18.2.0", &[]),
            ])
        );

        let v6 = "lockfileVersion: '6.0'\npackages:\n  /@babel/core@7.24.0(supports-color@9.4.0):\n    resolution: {integrity: x}\n    dependencies:\n      debug: 4.3.4(supports-color@9.4.0)\n      string-width-cjs: /string-width@4.2.3\n      local: link:../local\n    optionalDependencies:\n      fsevents: 2.3.3\n  /debug@4.3.4(supports-color@9.4.0):\n    resolution: {integrity: y}\n  /string-width@4.2.3:\n    resolution: {integrity: z}\n  /fsevents@2.3.3:\n    optional: true\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v6).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                (
                    "@babel/core@7.24.0",
                    &["debug@4.3.4", "string-width@4.2.3", "fsevents@2.3.3"]
                ),
                ("debug@4.3.4", &[]),
                ("string-width@4.2.3", &[]),
                ("fsevents@2.3.3", &[]),
            ])
        );

        // v9: the graph is in `snapshots`, one per peer set, merged per package.
        let v9 = r#"lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18
        version: 18.2.0(react@18.2.0)

packages:

  '@types/prop-types@15.7.12':
    resolution: {integrity: a}

  loose-envify@1.4.0:
    resolution: {integrity: b}

  react-dom@18.2.0:
    resolution: {integrity: c}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: d}

  react@18.3.1:
    resolution: {integrity: e}

  strip-ansi-cjs@6.0.1:
    resolution: {integrity: f}

snapshots:

  '@types/prop-types@15.7.12': {}

  loose-envify@1.4.0: {}

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
      strip-ansi-cjs: strip-ansi-cjs@6.0.1

  react-dom@18.2.0(react@18.3.1):
    dependencies:
      loose-envify: 1.4.0
      react: 18.3.1
    optionalDependencies:
      '@types/prop-types': 15.7.12

  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0

  react@18.3.1: {}

  strip-ansi-cjs@6.0.1: {}
"#;
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v9).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                ("@types/prop-types@15.7.12", &[]),
                ("loose-envify@1.4.0", &[]),
                (
                    "react-dom@18.2.0",
                    &[
                        "loose-envify@1.4.0",
                        "react@18.2.0",
                        "strip-ansi-cjs@6.0.1",
                        "react@18.3.1",
                        "@types/prop-types@15.7.12"
                    ]
                ),
                ("react@18.2.0", &["loose-envify@1.4.0"]),
                ("react@18.3.1", &[]),
                ("strip-ansi-cjs@6.0.1", &[]),
            ])
        );
        assert_eq!(p[2].line, 19);
    }

    #[test]
    fn pnpm_peer_variants_are_one_package_with_the_union_of_their_dependencies() {
        let v5 = r#"lockfileVersion: 5.4

packages:

  /loose-envify/1.4.0:
    resolution: {integrity: a}

  /react-dom/18.2.0_react@18.1.0:
    resolution: {integrity: b}
    dependencies:
      loose-envify: 1.4.0
      react: 18.1.0
      scheduler: 0.23.0
    peerDependencies:
      react: ^18.2.0

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: b}
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
      scheduler: 0.23.0
      string-width-cjs: /string-width/4.2.3
    peerDependencies:
      react: ^18.2.0

  /react/18.1.0:
    resolution: {integrity: c}

  /react/18.2.0:
    resolution: {integrity: d}

  /scheduler/0.23.0:
    resolution: {integrity: e}

  /string-width/4.2.3:
    resolution: {integrity: f}
"#;
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v5).unwrap();
        assert_eq!(
            nvl(&p),
            [
                ("loose-envify", "1.4.0", 5),
                ("react-dom", "18.2.0", 8),
                ("react", "18.1.0", 27),
                ("react", "18.2.0", 30),
                ("scheduler", "0.23.0", 33),
                ("string-width", "4.2.3", 36),
            ]
        );
        assert_eq!(
            p[1].dependencies,
            [
                "loose-envify@1.4.0",
                "react@18.1.0",
                "scheduler@0.23.0",
                "react@18.2.0",
                "string-width@4.2.3"
            ]
        );
        // v6 keys variants by their peer suffix in parentheses.
        let v6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /react-dom@18.2.0(react@18.1.0):\n    dependencies:\n      react: 18.1.0\n\n  /react-dom@18.2.0(react@18.2.0):\n    dependencies:\n      react: 18.2.0\n\n  /react@18.1.0:\n    resolution: {integrity: c}\n\n  /react@18.2.0:\n    resolution: {integrity: d}\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v6).unwrap();
        assert_eq!(
            graph(&p),
            edges(&[
                ("react-dom@18.2.0", &["react@18.1.0", "react@18.2.0"]),
                ("react@18.1.0", &[]),
                ("react@18.2.0", &[]),
            ])
        );
        assert_eq!(p[0].line, 5);
    }

    #[test]
    fn pnpm_keys_split_into_name_and_version() {
        let cases = [
            ("/lodash/4.17.21", Some(("lodash", "4.17.21"))),
            ("/@types/node/18.0.0", Some(("@types/node", "18.0.0"))),
            (
                "/react-dom/18.2.0_react@18.2.0",
                Some(("react-dom", "18.2.0")),
            ),
            ("/x/1.0.0_@types+node@18.0.0", Some(("x", "1.0.0"))),
            (
                "/@babel/core@7.24.0(supports-color@9.4.0)",
                Some(("@babel/core", "7.24.0")),
            ),
            ("@scope/3d-lib@1.0.0", Some(("@scope/3d-lib", "1.0.0"))),
            ("7zip-bin@5.2.0", Some(("7zip-bin", "5.2.0"))),
            ("foo@https://codeload.github.com/x/y/tar.gz/3f2a1b", None),
            ("foo@git+https://github.com/x/y.git#3f2a1b", None),
            ("link:../local", None),
            ("", None),
            ("@", None),
            ("/", None),
            ("é@1.0.0", Some(("é", "1.0.0"))),
            ("/é/1.0.0", Some(("é", "1.0.0"))),
        ];
        for (key, want) in cases {
            assert_eq!(pnpm_split(key), want, "{key}");
        }
    }

    #[test]
    fn yarn_classic_and_berry() {
        let classic = "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  dependencies:\n    \"@babel/highlight\" \"^7.12.13\"\n\nlodash@^4.17.0:\n  version \"4.17.20\"\n";
        let p = parse_yarn_lock(Path::new("yarn.lock"), classic).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("@babel/code-frame", "7.12.13", 3),
                ("lodash", "4.17.20", 8)
            ]
        );

        let berry = "__metadata:\n  version: 8\n  cacheKey: 10\n\n\"@babel/core@npm:^7.0.0\":\n  version: 7.24.0\n  resolution: \"@babel/core@npm:7.24.0\"\n  dependencies:\n    debug: \"npm:^4\"\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n";
        let p = parse_yarn_lock(Path::new("yarn.lock"), berry).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(got, [("@babel/core", "7.24.0", 5)]);
        let e = parse_yarn_lock(
            Path::new("yarn.lock"),
            "a@^1:\n  version \"1\"\nbroken line\n",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    }

    #[test]
    fn pnpm_v6_and_v9_keys() {
        let v9 = "lockfileVersion: '9.0'\n\npackages:\n\n  '@babel/core@7.24.0':\n    resolution: {integrity: x}\n\n  react-dom@18.2.0:\n    resolution: {integrity: y}\n\nsnapshots:\n\n  react-dom@18.2.0(react@18.2.0):\n    dependencies: {}\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v9).unwrap();
        let got: Vec<(&str, &str, usize)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [("@babel/core", "7.24.0", 5), ("react-dom", "18.2.0", 8)]
        );
        let v5 = "lockfileVersion: 5.4\npackages:\n  /lodash/4.17.21:\n    resolution: {integrity: x}\n  /@types/node/18.0.0:\n    dev: true\n";
        let p = parse_pnpm_lock(Path::new("pnpm-lock.yaml"), v5).unwrap();
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("lodash", "4.17.21"), ("@types/node", "18.0.0")]);
    }
}

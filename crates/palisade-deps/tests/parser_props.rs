//! Property tests for every lockfile parser:
//! - arbitrary text never panics, and an error names a line inside the file;
//! - a lockfile rendered from random packages parses back to exactly those packages, each at a
//!   line that mentions it.

use std::collections::BTreeSet;
use std::path::Path;

use palisade_deps::Error;
use palisade_deps::lockfile::{self, Package};
use proptest::prelude::*;

type Parser = fn(&Path, &str) -> palisade_deps::Result<Vec<Package>>;

fn requirements(path: &Path, text: &str) -> palisade_deps::Result<Vec<Package>> {
    lockfile::parse_requirements(path, text, &|_| {
        Err(std::io::Error::other("no includes in this test"))
    })
}

const PARSERS: &[(&str, Parser)] = &[
    ("Cargo.lock", lockfile::parse_cargo_lock),
    ("requirements.txt", requirements),
    ("poetry.lock", lockfile::parse_poetry_lock),
    ("uv.lock", lockfile::parse_uv_lock),
    ("Pipfile.lock", lockfile::parse_pipfile_lock),
    ("package-lock.json", lockfile::parse_package_lock),
    ("yarn.lock", lockfile::parse_yarn_lock),
    ("pnpm-lock.yaml", lockfile::parse_pnpm_lock),
    ("go.mod", lockfile::parse_go_mod),
    ("go.sum", lockfile::parse_go_sum),
    ("Gemfile.lock", lockfile::parse_gemfile_lock),
    ("composer.lock", lockfile::parse_composer_lock),
    ("gradle.lockfile", lockfile::parse_gradle_lockfile),
    ("pom.xml", lockfile::parse_pom_xml),
];

/// Render `pkgs` in the format of `file`; returns the text and the expected (name, version)s.
fn render(file: &str, pkgs: &[(String, String)]) -> (String, Vec<(String, String)>) {
    let mut t = String::new();
    let mut want = Vec::new();
    let open = match file {
        "Cargo.lock" | "uv.lock" => "version = 3\n\n",
        "Pipfile.lock" => "{\n \"_meta\": {},\n \"default\": {\n",
        "package-lock.json" => {
            "{\n \"lockfileVersion\": 3,\n \"packages\": {\n  \"\": {\"name\": \"root\"},\n"
        }
        "pnpm-lock.yaml" => "lockfileVersion: '9.0'\n\npackages:\n\n",
        "yarn.lock" => "# yarn lockfile v1\n\n",
        "go.mod" => "module example.com/m\n\ngo 1.22\n\nrequire (\n",
        "Gemfile.lock" => "GEM\n  remote: https://rubygems.org/\n  specs:\n",
        "composer.lock" => "{\n    \"packages\": [\n",
        "pom.xml" => "<project>\n  <dependencies>\n",
        _ => "",
    };
    t.push_str(open);
    for (i, (n, v)) in pkgs.iter().enumerate() {
        let last = i + 1 == pkgs.len();
        let comma = if last { "" } else { "," };
        let (name, s) = match file {
            "Cargo.lock" => (
                n.clone(),
                format!(
                    "[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n"
                ),
            ),
            "requirements.txt" => (n.clone(), format!("{n}=={v} \\\n    --hash=sha256:00\n")),
            "poetry.lock" => (
                n.clone(),
                format!("[[package]]\nname = \"{n}\"\nversion = \"{v}\"\n\n"),
            ),
            "uv.lock" => (
                n.clone(),
                format!(
                    "[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n\n"
                ),
            ),
            "Pipfile.lock" => (
                n.clone(),
                format!("  \"{n}\": {{\"version\": \"=={v}\"}}{comma}\n"),
            ),
            "package-lock.json" => (
                n.clone(),
                format!("  \"node_modules/{n}\": {{\"version\": \"{v}\"}}{comma}\n"),
            ),
            "yarn.lock" => (
                n.clone(),
                format!(
                    "{n}@^{v}:\n  version \"{v}\"\n  resolved \"https://registry.yarnpkg.com/{n}/-/{n}-{v}.tgz\"\n\n"
                ),
            ),
            "pnpm-lock.yaml" => (
                n.clone(),
                format!("  {n}@{v}:\n    resolution: {{integrity: sha512-x}}\n\n"),
            ),
            "go.mod" => (
                format!("example.com/{n}"),
                format!("\texample.com/{n} v{v}\n"),
            ),
            "go.sum" => (
                format!("example.com/{n}"),
                format!("example.com/{n} v{v} h1:x=\nexample.com/{n} v{v}/go.mod h1:y=\n"),
            ),
            "Gemfile.lock" => (n.clone(), format!("    {n} ({v})\n")),
            "composer.lock" => (
                format!("vendor/{n}"),
                format!(
                    "        {{\n            \"name\": \"vendor/{n}\",\n            \"version\": \"v{v}\"\n        }}{comma}\n"
                ),
            ),
            "gradle.lockfile" => (
                format!("org.example:{n}"),
                format!("org.example:{n}:{v}=compileClasspath\n"),
            ),
            "pom.xml" => (
                format!("org.example:{n}"),
                format!(
                    "    <dependency>\n      <groupId>org.example</groupId>\n      <artifactId>{n}</artifactId>\n      <version>{v}</version>\n    </dependency>\n"
                ),
            ),
            _ => unreachable!(),
        };
        let version = if file.starts_with("go.") {
            format!("v{v}")
        } else {
            v.clone()
        };
        want.push((name, version));
        t.push_str(&s);
    }
    let close = match file {
        "Pipfile.lock" => " },\n \"develop\": {}\n}\n",
        "package-lock.json" => " }\n}\n",
        "go.mod" => ")\n",
        "composer.lock" => "    ]\n}\n",
        "pom.xml" => "  </dependencies>\n</project>\n",
        _ => "",
    };
    t.push_str(close);
    if file == "go.mod" {
        want.push(("stdlib".to_string(), "1.22".to_string()));
    }
    (t, want)
}

fn packages() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(
        "[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,4})?",
        (0u32..30, 0u32..30, 0u32..30),
        1..12,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(n, (a, b, c))| (n, format!("{a}.{b}.{c}")))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rendered_lockfiles_parse_back_to_their_packages(pkgs in packages()) {
        for (file, parse) in PARSERS {
            let (text, want) = render(file, &pkgs);
            let got = parse(Path::new(file), &text).unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
            let got_set: BTreeSet<(String, String)> = got.iter().map(|p| (p.name.clone(), p.version.clone())).collect();
            let want_set: BTreeSet<(String, String)> = want.into_iter().collect();
            prop_assert_eq!(&got_set, &want_set, "{}", file);
            let lines: Vec<&str> = text.lines().collect();
            for p in &got {
                let short = p.name.rsplit([':', '/']).next().unwrap_or(&p.name);
                let at = lines.get(p.line.wrapping_sub(1)).copied().unwrap_or("");
                prop_assert!(at.contains(short) || (p.name == "stdlib" && at.starts_with("go ")) || at.contains("<dependency>") || at.contains("[[package]]") || at.trim() == "{",
                    "{}: line {} of {} is {:?}", file, p.line, p.name, at);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_and_errors_point_inside_the_file(text in "(\\PC|\n|\"|\\[|\\]|=|:| ){0,200}") {
        for (file, parse) in PARSERS {
            if let Err(Error::Parse { line, .. }) = parse(Path::new(file), &text) {
                prop_assert!(line <= text.lines().count() + 1, "{}: line {} of {:?}", file, line, text);
            }
        }
    }

    #[test]
    fn mutated_valid_lockfiles_never_panic(pkgs in packages(), cut in 0usize..2000, junk in "[\\[\\]{}\"=:, \n]{0,3}") {
        for (file, parse) in PARSERS {
            let (text, _) = render(file, &pkgs);
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
            if let Err(Error::Parse { line, .. }) = parse(Path::new(file), &mutated) {
                prop_assert!(line <= mutated.lines().count() + 1, "{}: line {}", file, line);
            }
        }
    }
}

/// npm lockfiles with nested entries, names repeated at several nesting positions and aliases
/// (`"version": "npm:real@1.0.0"` in v1, `"name": "real"` in v2/v3): every package is the real
/// package, at the line of its own entry's key.
mod npm_nesting_and_aliases {
    use std::path::Path;

    use palisade_deps::lockfile::parse_package_lock;
    use proptest::prelude::*;

    /// Top-level packages (name, version, aliased) and nested ones (parent, child name index, minor).
    type Tree = (Vec<(String, String, bool)>, Vec<(usize, usize, u32)>);

    fn tree() -> impl Strategy<Value = Tree> {
        (
            super::packages(),
            prop::collection::vec(any::<bool>(), 12),
            prop::collection::vec((0usize..12, 0usize..12, 0u32..5), 0..10),
        )
            .prop_map(|(pkgs, alias, nested)| {
                let n = pkgs.len();
                let top: Vec<(String, String, bool)> = pkgs
                    .into_iter()
                    .zip(alias)
                    .map(|((name, v), a)| (name, v, a))
                    .collect();
                let mut nested: Vec<(usize, usize, u32)> = nested
                    .into_iter()
                    .map(|(p, c, m)| (p % n, c % n, m))
                    .collect();
                nested.sort();
                nested.dedup_by_key(|(p, c, _)| (*p, *c));
                (top, nested)
            })
    }

    fn dir(name: &str, aliased: bool) -> String {
        if aliased {
            format!("{name}-alias")
        } else {
            name.to_string()
        }
    }

    /// A v1 lockfile and the (name, version, line) it declares.
    fn render_v1((top, nested): &Tree) -> (String, Vec<(String, String, usize)>) {
        let mut lines: Vec<String> = vec![
            "{".into(),
            format!("  \"name\": \"{}\",", top[0].0),
            "  \"lockfileVersion\": 1,".into(),
            "  \"dependencies\": {".into(),
        ];
        let mut want = Vec::new();
        for (i, (name, v, aliased)) in top.iter().enumerate() {
            lines.push(format!("    \"{}\": {{", dir(name, *aliased)));
            want.push((name.clone(), v.clone(), lines.len()));
            let version = if *aliased {
                format!("npm:{name}@{v}")
            } else {
                v.clone()
            };
            let children: Vec<_> = nested.iter().filter(|(p, _, _)| *p == i).collect();
            let comma = if children.is_empty() { "" } else { "," };
            lines.push(format!("      \"version\": \"{version}\"{comma}"));
            if !children.is_empty() {
                lines.push("      \"requires\": {".into());
                for (k, (_, c, _)) in children.iter().enumerate() {
                    let comma = if k + 1 < children.len() { "," } else { "" };
                    lines.push(format!("        \"{}\": \"^9\"{comma}", top[*c].0));
                }
                lines.push("      },".into());
                lines.push("      \"dependencies\": {".into());
                for (k, (_, c, m)) in children.iter().enumerate() {
                    lines.push(format!("        \"{}\": {{", top[*c].0));
                    want.push((top[*c].0.clone(), format!("9.{m}.0"), lines.len()));
                    lines.push(format!("          \"version\": \"9.{m}.0\""));
                    let comma = if k + 1 < children.len() { "," } else { "" };
                    lines.push(format!("        }}{comma}"));
                }
                lines.push("      }".into());
            }
            let comma = if i + 1 < top.len() { "," } else { "" };
            lines.push(format!("    }}{comma}"));
        }
        lines.push("  }".into());
        lines.push("}".into());
        (lines.join("\n") + "\n", want)
    }

    /// The same tree as a v3 `packages` map.
    fn render_v3((top, nested): &Tree) -> (String, Vec<(String, String, usize)>) {
        let mut lines: Vec<String> = vec![
            "{".into(),
            "  \"lockfileVersion\": 3,".into(),
            "  \"packages\": {".into(),
            "    \"\": { \"name\": \"root\" },".into(),
        ];
        let mut want = Vec::new();
        let mut entries: Vec<(String, Option<&str>, String, String)> = Vec::new();
        for (i, (name, v, aliased)) in top.iter().enumerate() {
            let d = dir(name, *aliased);
            entries.push((
                format!("node_modules/{d}"),
                aliased.then_some(name.as_str()),
                name.clone(),
                v.clone(),
            ));
            for (_, c, m) in nested.iter().filter(|(p, _, _)| *p == i) {
                let child = &top[*c].0;
                entries.push((
                    format!("node_modules/{d}/node_modules/{child}"),
                    None,
                    child.clone(),
                    format!("9.{m}.0"),
                ));
            }
        }
        for (k, (key, real, name, v)) in entries.iter().enumerate() {
            lines.push(format!("    \"{key}\": {{"));
            want.push((name.clone(), v.clone(), lines.len()));
            if let Some(real) = real {
                lines.push(format!("      \"name\": \"{real}\","));
            }
            lines.push(format!("      \"version\": \"{v}\""));
            let comma = if k + 1 < entries.len() { "," } else { "" };
            lines.push(format!("    }}{comma}"));
        }
        lines.push("  }".into());
        lines.push("}".into());
        (lines.join("\n") + "\n", want)
    }

    fn parsed(text: &str) -> Vec<(String, String, usize)> {
        let mut got: Vec<(String, String, usize)> =
            parse_package_lock(Path::new("package-lock.json"), text)
                .unwrap_or_else(|e| panic!("{e}\n{text}"))
                .into_iter()
                .map(|p| (p.name, p.version, p.line))
                .collect();
        got.sort();
        got
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn every_package_is_the_real_one_at_its_own_entry_line(t in tree()) {
            for (text, mut want) in [render_v1(&t), render_v3(&t)] {
                want.sort();
                prop_assert_eq!(parsed(&text), want.clone(), "{}", text);
                // The same document on one line: every package on line 1.
                let one: serde_json::Value = serde_json::from_str(&text).unwrap();
                let ones: Vec<_> = want.into_iter().map(|(n, v, _)| (n, v, 1)).collect();
                prop_assert_eq!(parsed(&one.to_string()), ones);
            }
        }

        #[test]
        fn mutated_nested_lockfiles_never_panic(t in tree(), cut in 0usize..4000, junk in "[\\[\\]{}\"\\\\=:, \n]{0,3}") {
            for (text, _) in [render_v1(&t), render_v3(&t)] {
                let mut at = cut.min(text.len());
                while !text.is_char_boundary(at) { at -= 1; }
                let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
                match parse_package_lock(Path::new("package-lock.json"), &mutated) {
                    Ok(p) => for p in p {
                        prop_assert!(p.line >= 1 && p.line <= mutated.lines().count());
                    },
                    Err(palisade_deps::Error::Parse { line, .. }) => prop_assert!(line <= mutated.lines().count() + 1),
                    Err(e) => prop_assert!(false, "{}", e),
                }
            }
        }
    }
}

/// yarn lockfiles whose entries are npm aliases (classic `alias@npm:real@range`, berry
/// `alias@npm:real@npm:range`, scoped or not), depended on by the alias: every package is the
/// real one at its header's line, and the edges to the aliases resolve to it.
mod yarn_aliases {
    use std::collections::BTreeSet;
    use std::path::Path;

    use palisade_deps::lockfile::parse_yarn_lock;
    use proptest::prelude::*;

    /// (real name, version, alias name or none)
    fn entries() -> impl Strategy<Value = Vec<(String, String, Option<String>)>> {
        (
            super::packages(),
            prop::collection::vec(prop::option::of("(@[a-z]{1,4}/)?[a-z]{1,6}-al"), 12),
            any::<bool>(),
        )
            .prop_map(|(pkgs, aliases, scoped)| {
                pkgs.into_iter()
                    .zip(aliases)
                    .map(|((n, v), a)| {
                        let n = if scoped { format!("@s/{n}") } else { n };
                        (n, v, a)
                    })
                    .collect()
            })
    }

    fn render(
        berry: bool,
        entries: &[(String, String, Option<String>)],
    ) -> (String, Vec<(String, String, usize)>) {
        let mut lines: Vec<String> = if berry {
            vec!["__metadata:".into(), "  version: 8".into(), String::new()]
        } else {
            vec!["# yarn lockfile v1".into(), String::new()]
        };
        let mut want = Vec::new();
        let mut deps = Vec::new();
        for (n, v, alias) in entries {
            let (dep_name, dep_range) = match (alias, berry) {
                (Some(a), false) => (a.clone(), format!("npm:{n}@^{v}")),
                (Some(a), true) => (a.clone(), format!("npm:{n}@npm:^{v}")),
                (None, false) => (n.clone(), format!("^{v}")),
                (None, true) => (n.clone(), format!("npm:^{v}")),
            };
            lines.push(format!("\"{dep_name}@{dep_range}\":"));
            want.push((n.clone(), v.clone(), lines.len()));
            if berry {
                lines.push(format!("  version: {v}"));
                lines.push(format!("  resolution: \"{n}@npm:{v}\""));
            } else {
                lines.push(format!("  version \"{v}\""));
            }
            lines.push(String::new());
            deps.push(if berry {
                format!("    \"{dep_name}\": \"{dep_range}\"")
            } else {
                format!("    \"{dep_name}\" \"{dep_range}\"")
            });
        }
        lines.push(if berry {
            "\"zz-app@npm:^1.0.0\":".into()
        } else {
            "zz-app@^1.0.0:".into()
        });
        want.push(("zz-app".into(), "1.0.0".into(), lines.len()));
        lines.push(if berry {
            "  version: 1.0.0".into()
        } else {
            "  version \"1.0.0\"".into()
        });
        lines.push("  dependencies:".into());
        lines.extend(deps);
        (lines.join("\n") + "\n", want)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn aliased_entries_are_the_real_packages(e in entries()) {
            for berry in [false, true] {
                let (text, want) = render(berry, &e);
                let got = parse_yarn_lock(Path::new("yarn.lock"), &text)
                    .unwrap_or_else(|err| panic!("{err}\n{text}"));
                let got_nvl: Vec<(String, String, usize)> =
                    got.iter().map(|p| (p.name.clone(), p.version.clone(), p.line)).collect();
                prop_assert_eq!(&got_nvl, &want, "{}", text);
                let app = got.last().unwrap();
                let edges: BTreeSet<&String> = app.dependencies.iter().collect();
                let real: BTreeSet<String> = e.iter().map(|(n, v, _)| format!("{n}@{v}")).collect();
                prop_assert_eq!(edges, real.iter().collect::<BTreeSet<_>>(), "{}", text);
            }
        }
    }
}

/// pnpm v5 (`/name/1.0.0_peer@2.0.0`) and v6 (`/name@1.0.0(peer@2.0.0)`) lockfiles keying each
/// peer-dependency variant of a package apart: one package per (name, version), at its first
/// variant's line, with the union of the variants' dependencies.
mod pnpm_peer_variants {
    use std::path::Path;

    use palisade_deps::lockfile::parse_pnpm_lock;
    use proptest::prelude::*;

    /// Packages, each with 1 to 3 variants, each depending on one package (by index).
    type Lock = Vec<(String, String, Vec<usize>)>;

    fn lock() -> impl Strategy<Value = Lock> {
        (
            super::packages(),
            prop::collection::vec(prop::collection::vec(0usize..12, 1..4), 12),
        )
            .prop_map(|(pkgs, variants)| {
                let n = pkgs.len();
                pkgs.into_iter()
                    .zip(variants)
                    .map(|((name, v), deps)| (name, v, deps.into_iter().map(|d| d % n).collect()))
                    .collect()
            })
    }

    /// (name, version, line, dependencies) of a package.
    type Want = (String, String, usize, Vec<String>);

    fn render(v6: bool, lock: &Lock) -> (String, Vec<Want>) {
        let mut lines: Vec<String> = vec![
            if v6 {
                "lockfileVersion: '6.0'".into()
            } else {
                "lockfileVersion: 5.4".into()
            },
            String::new(),
            "packages:".into(),
            String::new(),
        ];
        let mut want = Vec::new();
        for (name, v, deps) in lock {
            let mut union: Vec<String> = Vec::new();
            let mut first = 0;
            for (k, d) in deps.iter().enumerate() {
                let (dn, dv, _) = &lock[*d];
                let peer = format!("peer{k}");
                lines.push(if v6 {
                    format!("  /{name}@{v}({peer}@1.0.{k}):")
                } else {
                    format!("  /{name}/{v}_{peer}@1.0.{k}:")
                });
                if k == 0 {
                    first = lines.len();
                }
                lines.push("    resolution: {integrity: sha512-x}".into());
                lines.push("    dependencies:".into());
                lines.push(format!("      {dn}: {dv}"));
                lines.push(String::new());
                let id = format!("{dn}@{dv}");
                if !union.contains(&id) {
                    union.push(id);
                }
            }
            want.push((name.clone(), v.clone(), first, union));
        }
        (lines.join("\n") + "\n", want)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn peer_variants_are_one_package(l in lock()) {
            for v6 in [false, true] {
                let (text, want) = render(v6, &l);
                let got: Vec<Want> =
                    parse_pnpm_lock(Path::new("pnpm-lock.yaml"), &text)
                        .unwrap_or_else(|e| panic!("{e}\n{text}"))
                        .into_iter()
                        .map(|p| (p.name, p.version, p.line, p.dependencies))
                        .collect();
                prop_assert_eq!(got, want, "{}", text);
            }
        }
    }
}

/// The OS package databases read from images.
mod os_databases {
    use std::path::Path;

    use palisade_deps::image::{parse_apk_installed, parse_dpkg_status};
    use proptest::prelude::*;

    fn packages() -> impl Strategy<Value = Vec<(String, String, Option<String>)>> {
        prop::collection::btree_map(
            "[a-z][a-z0-9+.-]{0,10}",
            (
                "[0-9]{1,2}:?[0-9]{1,3}\\.[0-9a-z~+.]{1,6}-[0-9]{1,2}",
                prop::option::of("[a-z][a-z0-9-]{0,8}"),
            ),
            1..10,
        )
        .prop_map(|m| m.into_iter().map(|(n, (v, s))| (n, v, s)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn dpkg_and_apk_databases_round_trip(pkgs in packages()) {
            let mut dpkg = String::new();
            let mut apk = String::new();
            for (n, v, s) in &pkgs {
                dpkg.push_str(&format!("Package: {n}\nStatus: install ok installed\nPriority: optional\n"));
                if let Some(s) = s {
                    dpkg.push_str(&format!("Source: {s}\n"));
                }
                dpkg.push_str(&format!("Version: {v}\nDescription: x\n more\n\n"));
                apk.push_str(&format!("C:Q1x=\nP:{n}\nV:{v}\n"));
                if let Some(s) = s {
                    apk.push_str(&format!("o:{s}\n"));
                }
                apk.push('\n');
            }
            for got in [parse_dpkg_status(Path::new("status"), &dpkg, "12"), parse_apk_installed(Path::new("installed"), &apk, "v3.19")] {
                prop_assert_eq!(got.len(), pkgs.len());
                for (p, (n, v, s)) in got.iter().zip(&pkgs) {
                    prop_assert_eq!((&p.name, &p.version), (n, v));
                    let os = p.os.as_ref().unwrap();
                    prop_assert_eq!(&os.source_name, s.as_ref().unwrap_or(n));
                }
            }
        }

        #[test]
        fn arbitrary_databases_never_panic(text in "(\\PC|\n|:| ){0,300}") {
            for p in parse_dpkg_status(Path::new("status"), &text, "12") {
                prop_assert!(p.line >= 1 && p.line <= text.lines().count());
            }
            for p in parse_apk_installed(Path::new("installed"), &text, "v3.19") {
                prop_assert!(p.line >= 1 && p.line <= text.lines().count());
            }
        }
    }
}

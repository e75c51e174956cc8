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

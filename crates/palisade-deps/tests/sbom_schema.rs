//! SBOM and SARIF output validated against the official JSON Schemas in the shared data.

use std::path::PathBuf;

use palisade_deps::lockfile::{self, Kind};
use palisade_deps::sbom::{self, Meta};
use serde_json::Value;

fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.join("schemas").is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data not found at {} (required when CI=true)",
            p.display()
        );
    }
    eprintln!("SKIP: shared data not found at {}", p.display());
    None
}

fn load(p: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// A compiled schema (boon, the workspace's one JSON Schema validator).
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

/// Compile the schema at `path` (known under `url`), with `extra` schemas it refers to.
fn validator(url: &str, path: PathBuf, extra: &[(&str, PathBuf)]) -> Validator {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, load(path)).unwrap();
    for (u, p) in extra {
        compiler.add_resource(u, load(p.clone())).unwrap();
    }
    let index = compiler
        .compile(url, &mut schemas)
        .unwrap_or_else(|e| panic!("{e:#}"));
    Validator { schemas, index }
}

fn errors(v: &Validator, doc: &Value) -> Vec<String> {
    match v.schemas.validate(doc, v.index) {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("{e:#}")],
    }
}

fn lockfiles(data: &std::path::Path) -> Vec<lockfile::Lockfile> {
    let l = data.join("lockfiles");
    vec![
        lockfile::parse_file(
            &l.join("cargo/BurntSushi_ripgrep/Cargo.lock"),
            Kind::CargoLock,
        )
        .unwrap(),
        lockfile::parse_file(
            &l.join("npm/OWASP_threat-dragon/package-lock.json"),
            Kind::PackageLock,
        )
        .unwrap(),
        lockfile::parse_file(&l.join("pypi/CTFd_CTFd/uv.lock"), Kind::UvLock).unwrap(),
    ]
}

const META: Meta<'static> = Meta {
    subject: "demo project",
    is_image: false,
    timestamp: "2026-01-02T03:04:05Z",
    uuid: "3e671687-395b-41f5-a30f-a58921a69b79",
};

#[test]
fn cyclonedx_is_valid_1_6_with_purls_and_the_dependency_graph() {
    let Some(data) = shared_data() else { return };
    let s = data.join("schemas");
    let validator = validator(
        "http://cyclonedx.org/schema/bom-1.6.schema.json",
        s.join("bom-1.6.schema.json"),
        &[
            (
                "http://cyclonedx.org/schema/spdx.schema.json",
                s.join("spdx.schema.json"),
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                s.join("jsf-0.82.schema.json"),
            ),
        ],
    );
    let lfs = lockfiles(&data);
    let bom = sbom::cyclonedx(&lfs, &META);
    assert_eq!(errors(&validator, &bom), Vec::<String>::new());
    let image_bom = sbom::cyclonedx(
        &lfs,
        &Meta {
            is_image: true,
            ..META
        },
    );
    assert_eq!(image_bom["metadata"]["component"]["type"], "container");
    assert_eq!(errors(&validator, &image_bom), Vec::<String>::new());
    let comps = bom["components"].as_array().unwrap();
    let total: usize = lfs.iter().map(|l| l.packages.len()).sum();
    assert_eq!(comps.len(), total);
    let regex = comps.iter().find(|c| c["name"] == "regex").unwrap();
    let purl = regex["purl"].as_str().unwrap();
    assert!(purl.starts_with("pkg:cargo/regex@"), "{purl}");
    // ripgrep's regex depends on regex-automata: the edge is in the graph.
    let deps = bom["dependencies"].as_array().unwrap();
    let edge = deps.iter().find(|d| d["ref"] == purl).unwrap();
    assert!(
        edge["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("pkg:cargo/regex-automata@")),
        "{edge}"
    );
    // A broken document is rejected by the same validator (the check is not vacuous).
    let mut broken = bom.clone();
    broken["components"][0]["type"] = Value::from("not-a-type");
    assert!(!errors(&validator, &broken).is_empty());
}

#[test]
fn spdx_is_valid_2_3() {
    let Some(data) = shared_data() else { return };
    let validator = validator(
        "file:///spdx-2.3-schema.json",
        data.join("schemas/spdx-2.3-schema.json"),
        &[],
    );
    let doc = sbom::spdx(&lockfiles(&data), &META);
    assert_eq!(errors(&validator, &doc), Vec::<String>::new());
    let rels = doc["relationships"].as_array().unwrap();
    assert!(
        rels.iter()
            .filter(|r| r["relationshipType"] == "DEPENDS_ON")
            .count()
            > 50
    );
    let mut broken = doc.clone();
    broken["packages"][1]
        .as_object_mut()
        .unwrap()
        .remove("downloadLocation");
    assert!(!errors(&validator, &broken).is_empty());
}

#[test]
fn sarif_report_is_valid_2_1_0() {
    let Some(data) = shared_data() else { return };
    let validator = validator(
        "file:///sarif-schema-2.1.0.json",
        data.join("schemas/sarif-schema-2.1.0.json"),
        &[],
    );
    let rec = palisade_deps::osv::from_json(
        &std::fs::read_to_string(data.join("osv/crates.io/RUSTSEC-2017-0004.json")).unwrap(),
    )
    .unwrap();
    let lf = lockfile::parse_file(
        &data.join("lockfiles/cargo/rustsec_rustsec_cargo-audit-fixtures/base64_vuln/Cargo.lock"),
        Kind::CargoLock,
    )
    .unwrap();
    let base64 = lf.packages.iter().find(|p| p.name == "base64").unwrap();
    let result = palisade_deps::scan::ScanResult {
        findings: palisade_deps::scan::findings_for_package(base64, &[rec]),
        ..Default::default()
    };
    assert_eq!(result.findings.len(), 1);
    let doc: Value = serde_json::from_str(&palisade_deps::report::sarif(&result)).unwrap();
    assert_eq!(errors(&validator, &doc), Vec::<String>::new());
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
}

/// The dependency graph of npm v1, yarn (classic and berry) and pnpm lockfiles: every declared
/// dependency of every package resolves to a package of the same lockfile (the counts are the
/// lockfiles' own `requires` / `dependencies` / `optionalDependencies` entries), and the SBOM's
/// `dependsOn` references all name components.
#[test]
fn npm_v1_yarn_and_pnpm_lockfiles_give_a_complete_dependency_graph() {
    let Some(data) = shared_data() else { return };
    let s = data.join("schemas");
    let cdx = validator(
        "http://cyclonedx.org/schema/bom-1.6.schema.json",
        s.join("bom-1.6.schema.json"),
        &[
            (
                "http://cyclonedx.org/schema/spdx.schema.json",
                s.join("spdx.schema.json"),
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                s.join("jsf-0.82.schema.json"),
            ),
        ],
    );
    let spdx_validator = validator(
        "file:///spdx-2.3-schema.json",
        data.join("schemas/spdx-2.3-schema.json"),
        &[],
    );
    // (file, kind, declared dependencies, a known edge)
    let cases = [
        (
            "npm/OWASP_threat-dragon_td.server@6546f9a/package-lock.json",
            Kind::PackageLock,
            1210,
            ("@babel/code-frame@7.16.0", "@babel/highlight@7.16.0"),
        ),
        (
            "yarn/CTFd_CTFd_themes-core/yarn.lock",
            Kind::YarnLock,
            150,
            ("@ctfdio/ctfd-js@0.0.19", "dayjs@1.11.7"),
        ),
        (
            "yarn/CTFd_CTFd_themes-admin/yarn.lock",
            Kind::YarnLock,
            310,
            ("@ctfdio/ctfd-js@0.0.13", "howler@2.2.4"),
        ),
        (
            "yarn/prettier_prettier/yarn.lock",
            Kind::YarnLock,
            // fsevents@2.3.3's `npm:` and `patch:` entries are one package: one node-gyp edge.
            1676,
            ("@angular/compiler@22.0.8", "tslib@2.8.1"),
        ),
        (
            "yarn/prettier_prettier@053fd41/yarn.lock",
            Kind::YarnLock,
            1562,
            ("@angular/compiler@21.2.8", "tslib@2.8.1"),
        ),
        (
            "yarn/prettier_prettier@c453fc9/yarn.lock",
            Kind::YarnLock,
            // Likewise fsevents, resolve@1.22.4 and resolve@2.0.0-next.4 (3 edges each).
            1755,
            (
                "@ampproject/remapping@2.2.1",
                "@jridgewell/gen-mapping@0.3.3",
            ),
        ),
        (
            "pnpm/grafana_oncall_grafana-plugin/pnpm-lock.yaml",
            Kind::PnpmLock,
            3494,
            ("@babel/core@7.25.2", "@babel/code-frame@7.26.2"),
        ),
    ];
    for (file, kind, declared, (from, to)) in cases {
        let lf = lockfile::parse_file(&data.join("lockfiles").join(file), kind).unwrap();
        let ids: std::collections::HashSet<String> = lf.packages.iter().map(|p| p.id()).collect();
        let edges: Vec<(&str, &String)> = lf
            .packages
            .iter()
            .flat_map(|p| p.dependencies.iter().map(move |d| (p.name.as_str(), d)))
            .collect();
        assert_eq!(edges.len(), declared, "{file}");
        let dangling: Vec<_> = edges.iter().filter(|(_, d)| !ids.contains(*d)).collect();
        assert!(dangling.is_empty(), "{file}: {dangling:?}");
        let p = lf.packages.iter().find(|p| p.id() == from).unwrap();
        assert!(p.dependencies.iter().any(|d| d == to), "{file}: {from}");
        let from_purl = p.purl();

        let lfs = [lf];
        let bom = sbom::cyclonedx(&lfs, &META);
        assert_eq!(errors(&cdx, &bom), Vec::<String>::new(), "{file}");
        let refs: std::collections::HashSet<&str> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        let deps = bom["dependencies"].as_array().unwrap();
        let mut depends_on = 0;
        for d in deps {
            for r in d["dependsOn"].as_array().unwrap() {
                assert!(refs.contains(r.as_str().unwrap()), "{file}: {r}");
                depends_on += 1;
            }
        }
        let roots = deps[0]["dependsOn"].as_array().unwrap().len();
        // Edges between packages that share a purl (the same name@version installed twice)
        // collapse into one.
        assert!(depends_on - roots > declared * 9 / 10, "{file}");
        let purl = lfs[0]
            .packages
            .iter()
            .find(|p| p.id() == to)
            .unwrap()
            .purl();
        let edge = deps.iter().find(|d| d["ref"] == from_purl).unwrap();
        assert!(
            edge["dependsOn"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d == &purl),
            "{file}: {edge}"
        );

        let doc = sbom::spdx(&lfs, &META);
        assert_eq!(
            errors(&spdx_validator, &doc),
            Vec::<String>::new(),
            "{file}"
        );
        let rels = doc["relationships"].as_array().unwrap();
        assert!(
            rels.iter()
                .filter(|r| r["relationshipType"] == "DEPENDS_ON"
                    && r["spdxElementId"] != "SPDXRef-Root")
                .count()
                > declared * 9 / 10,
            "{file}"
        );
    }
}

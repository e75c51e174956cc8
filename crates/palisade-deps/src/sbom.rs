//! SBOMs from parsed lockfiles: CycloneDX 1.6 JSON and SPDX 2.3 JSON, with purls and the
//! dependency graph where the lockfile records one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::lockfile::Lockfile;

/// Who and when, stamped into the document.
pub struct Meta<'a> {
    /// Name of what the SBOM describes (project directory or image).
    pub subject: &'a str,
    /// True when the subject is a container image (CycloneDX component type `container`).
    pub is_image: bool,
    /// RFC 3339 UTC timestamp.
    pub timestamp: &'a str,
    /// A UUID (`xxxxxxxx-xxxx-…`) unique to this document.
    pub uuid: &'a str,
}

impl Meta<'_> {
    /// A fresh UUID v4 and the current UTC time, for [`Meta`].
    pub fn now() -> (String, String) {
        use time::format_description::well_known::Rfc3339;
        let ts = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
        (uuid::Uuid::new_v4().to_string(), ts)
    }
}

/// Components keyed by purl, with their dependency purls (merged over all lockfiles).
fn graph(
    lockfiles: &[Lockfile],
) -> BTreeMap<String, (&crate::lockfile::Package, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (&crate::lockfile::Package, BTreeSet<String>)> = BTreeMap::new();
    for lf in lockfiles {
        let by_id: HashMap<String, String> =
            lf.packages.iter().map(|p| (p.id(), p.purl())).collect();
        for p in &lf.packages {
            let entry = out.entry(p.purl()).or_insert_with(|| (p, BTreeSet::new()));
            for d in &p.dependencies {
                // Lockfiles key dependencies by name@version; PyPI names may differ in case.
                let purl = by_id.get(d).cloned().or_else(|| {
                    let (n, v) = d.rsplit_once('@')?;
                    lf.packages
                        .iter()
                        .find(|q| {
                            q.version == v
                                && q.ecosystem.normalize_name(&q.name)
                                    == q.ecosystem.normalize_name(n)
                        })
                        .map(|q| q.purl())
                });
                if let Some(purl) = purl {
                    entry.1.insert(purl);
                }
            }
        }
    }
    out
}

/// A CycloneDX 1.6 JSON document.
pub fn cyclonedx(lockfiles: &[Lockfile], meta: &Meta<'_>) -> Value {
    let g = graph(lockfiles);
    let components: Vec<Value> = g
        .iter()
        .map(|(purl, (p, _))| {
            let mut c = json!({
                "type": "library",
                "bom-ref": purl,
                "name": p.name,
                "version": p.version,
                "purl": purl,
            });
            if let Some(s) = &p.source {
                c["properties"] = json!([{"name": "palisade:source", "value": s}]);
            }
            c
        })
        .collect();
    let depended: BTreeSet<&String> = g.values().flat_map(|(_, d)| d.iter()).collect();
    let roots: Vec<&String> = g.keys().filter(|k| !depended.contains(k)).collect();
    let mut dependencies = vec![json!({"ref": "root", "dependsOn": roots})];
    for (purl, (_, deps)) in &g {
        dependencies.push(json!({"ref": purl, "dependsOn": deps}));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", meta.uuid),
        "version": 1,
        "metadata": {
            "timestamp": meta.timestamp,
            "tools": {"components": [{"type": "application", "name": "palisade", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": if meta.is_image { "container" } else { "application" }, "bom-ref": "root", "name": meta.subject},
        },
        "components": components,
        "dependencies": dependencies,
    })
}

/// An SPDX 2.3 JSON document.
pub fn spdx(lockfiles: &[Lockfile], meta: &Meta<'_>) -> Value {
    let g = graph(lockfiles);
    let ids: HashMap<&String, String> = g
        .keys()
        .enumerate()
        .map(|(i, k)| (k, format!("SPDXRef-Package-{}", i + 1)))
        .collect();
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Root",
        "name": meta.subject,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Root",
    })];
    let depended: BTreeSet<&String> = g.values().flat_map(|(_, d)| d.iter()).collect();
    for (purl, (p, deps)) in &g {
        packages.push(json!({
            "SPDXID": ids[purl],
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}],
        }));
        if !depended.contains(purl) {
            relationships.push(json!({"spdxElementId": "SPDXRef-Root", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": ids[purl]}));
        }
        for d in deps {
            if let Some(did) = ids.get(d) {
                relationships.push(json!({"spdxElementId": ids[purl], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": did}));
            }
        }
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": meta.subject,
        "documentNamespace": format!("https://spdx.org/spdxdocs/palisade/{}-{}", meta.subject.replace(|c: char| !c.is_ascii_alphanumeric(), "-"), meta.uuid),
        "creationInfo": {"created": meta.timestamp, "creators": [format!("Tool: palisade-{}", env!("CARGO_PKG_VERSION"))]},
        "packages": packages,
        "relationships": relationships,
    })
}

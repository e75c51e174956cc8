//! Severity from CVSS vectors. Pure: no I/O.
//!
//! Base scores are computed from the vector by the RustSec `cvss` crate: CVSS v3.0/v3.1 (FIRST
//! specification §7, each version's rounding) and CVSS v4.0 (the specification's macro-vector
//! lookup table and severity distances); upstream tests both against Red Hat's reference
//! implementation, and a test here compares every v3 base vector with the specification's
//! formula. This module validates, picks the base metrics and chooses among vectors. Only base
//! metrics count: v3 temporal/environmental and v4 threat (`E`),
//! environmental and supplemental metrics are validated but ignored, so a record's score is the
//! publisher's base assessment whatever else its vector carries.
//!
//! A record may carry several vectors ([`best`]): the highest CVSS version wins (v4.0 over
//! v3.x), then the highest score of that version, then the first in record order. Scores of
//! different versions are not compared: v4.0 and v3.x rate the same flaw differently, and taking
//! the maximum across versions would always favour whichever scale is harsher.

use std::str::FromStr;

use serde::Serialize;

/// The CVSS version a score was computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
pub enum Version {
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl Version {
    /// The major version (3 or 4): scores of one major version are comparable.
    pub fn major(self) -> u8 {
        match self {
            Version::V3_0 | Version::V3_1 => 3,
            Version::V4_0 => 4,
        }
    }
}

/// A base score and the version of the vector it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaseScore {
    pub version: Version,
    pub score: f64,
}

/// Why a vector has no score. The message names the vector (cut to 120 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CVSS vector {vector:?}: {reason}")]
pub struct VectorError {
    pub vector: String,
    pub reason: String,
}

impl VectorError {
    fn new(vector: &str, reason: impl Into<String>) -> VectorError {
        let mut v: String = vector.chars().take(120).collect();
        if v.len() < vector.len() {
            v.push('…');
        }
        VectorError {
            vector: v,
            reason: reason.into(),
        }
    }
}

/// The base score of a CVSS v3.0, v3.1 or v4.0 vector (`CVSS:3.1/AV:N/…`, `CVSS:4.0/AV:N/…`).
pub fn base_score(vector: &str) -> Result<BaseScore, VectorError> {
    let head = vector.split('/').next().unwrap_or_default();
    match head {
        "CVSS:3.0" => Ok(BaseScore {
            version: Version::V3_0,
            score: v3(vector)?,
        }),
        "CVSS:3.1" => Ok(BaseScore {
            version: Version::V3_1,
            score: v3(vector)?,
        }),
        "CVSS:4.0" => Ok(BaseScore {
            version: Version::V4_0,
            score: v4_base_score(vector)?,
        }),
        h if h.starts_with("CVSS:") => Err(VectorError::new(
            vector,
            format!("unsupported CVSS version {:?}", &h[5..]),
        )),
        _ => Err(VectorError::new(
            vector,
            "not a CVSS v3/v4 vector (no `CVSS:3.x/` or `CVSS:4.0/` prefix)",
        )),
    }
}

/// The preferred base score among a record's vectors (see the module documentation): highest
/// version, then highest score, then first. Vectors without a score are skipped.
pub fn best<'a>(vectors: impl IntoIterator<Item = &'a str>) -> Option<(BaseScore, &'a str)> {
    let mut best: Option<(BaseScore, &str)> = None;
    for v in vectors {
        let Ok(s) = base_score(v) else { continue };
        let better = match &best {
            None => true,
            Some((b, _)) => {
                (s.version.major(), s.score).partial_cmp(&(b.version.major(), b.score))
                    == Some(std::cmp::Ordering::Greater)
            }
        };
        if better {
            best = Some((s, v));
        }
    }
    best
}

/// The eleven CVSS v4.0 base metrics.
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// Base score (CVSS-B) of a CVSS v4.0 vector. The whole vector is validated (every metric known,
/// valid and not repeated, the base metrics all present); threat, environmental and
/// supplemental metrics are then dropped and the base metrics scored.
pub fn v4_base_score(vector: &str) -> Result<f64, VectorError> {
    cvss::v4::Vector::from_str(vector).map_err(|e| VectorError::new(vector, e.to_string()))?;
    let mut base = String::from("CVSS:4.0");
    for part in vector.split('/').skip(1) {
        let key = part.split(':').next().unwrap_or_default();
        if V4_BASE.iter().any(|b| b.eq_ignore_ascii_case(key)) {
            base.push('/');
            base.push_str(part);
        }
    }
    let v =
        cvss::v4::Vector::from_str(&base).map_err(|e| VectorError::new(vector, e.to_string()))?;
    let score = v.score().value();
    if !(0.0..=10.0).contains(&score) {
        return Err(VectorError::new(
            vector,
            format!("score {score} out of range"),
        ));
    }
    Ok(score)
}

/// Qualitative severity rating (CVSS v3 bands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Rating {
    pub fn from_score(score: f64) -> Rating {
        match score {
            s if s <= 0.0 => Rating::None,
            s if s < 4.0 => Rating::Low,
            s if s < 7.0 => Rating::Medium,
            s if s < 9.0 => Rating::High,
            _ => Rating::Critical,
        }
    }

    /// Parse a word such as `HIGH` or `moderate` (GHSA's name for medium).
    pub fn from_word(w: &str) -> Rating {
        match w.to_ascii_lowercase().as_str() {
            "none" => Rating::None,
            "low" => Rating::Low,
            "medium" | "moderate" => Rating::Medium,
            "high" => Rating::High,
            "critical" => Rating::Critical,
            _ => Rating::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Unknown => "unknown",
            Rating::None => "none",
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }
}

/// Base score of a CVSS v3.x vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
/// `None` when the vector is not a valid v3 vector; [`base_score`] says why.
pub fn v3_base_score(vector: &str) -> Option<f64> {
    if !vector.starts_with("CVSS:3.0/") && !vector.starts_with("CVSS:3.1/") {
        return None;
    }
    v3(vector).ok()
}

/// The CVSS v3.x base score through the `cvss` crate (FIRST specification §7; v3.0 vectors are
/// rounded up as v3.0 specifies, v3.1 ones with v3.1's `Roundup`). The crate parses the whole
/// vector (every metric known, valid and not repeated); the base metrics must all be present,
/// temporal and environmental ones are validated and ignored.
fn v3(vector: &str) -> Result<f64, VectorError> {
    use cvss::v3::metric::MetricType;
    let err = |r: String| VectorError::new(vector, r);
    let v = cvss::v3::Vector::from_str(vector).map_err(|e| {
        err(match e {
            cvss::Error::InvalidComponent { component } => {
                format!("component {component:?} is not `METRIC:VALUE`")
            }
            cvss::Error::UnknownMetric { name } => format!("unknown CVSS v3 metric {name:?}"),
            cvss::Error::InvalidMetricV3 { metric_type, value } => {
                format!("invalid value {value:?} for {}", metric_type.name())
            }
            cvss::Error::DuplicateMetricV3 { metric_type } => {
                format!("metric {} given twice", metric_type.name())
            }
            other => other.to_string(),
        })
    })?;
    let present = [
        (MetricType::S, v.s.is_some()),
        (MetricType::AV, v.av.is_some()),
        (MetricType::AC, v.ac.is_some()),
        (MetricType::PR, v.pr.is_some()),
        (MetricType::UI, v.ui.is_some()),
        (MetricType::C, v.c.is_some()),
        (MetricType::I, v.i.is_some()),
        (MetricType::A, v.a.is_some()),
    ];
    if let Some((m, _)) = present.iter().find(|(_, p)| !p) {
        return Err(err(format!("base metric {} missing", m.name())));
    }
    let score = v.base_score().value();
    if !(0.0..=10.0).contains(&score) {
        return Err(err(format!("score {score} out of range")));
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_scores_match_the_reference_calculator() {
        // Expected values from FIRST's calculator.
        let cases = [
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
        ];
        for (v, want) in cases {
            assert_eq!(v3_base_score(v), Some(want), "{v}");
        }
    }

    /// The v3.1 specification's base formula (§7.1, Appendix A's `Roundup`), written out as a
    /// reference for the crate: every one of the 2,592 base vectors, as v3.0 and as v3.1, must
    /// score exactly (to the bit) what the formula gives. v3.0's own rounding (round up to one
    /// decimal) and v3.1's `Roundup` agree on all of them.
    fn spec_v3_1(m: [&str; 8]) -> f64 {
        let [av, ac, pr, ui, s, c, i, a] = m;
        let changed = s == "C";
        let w = |v: &str, t: &[(&str, f64)]| t.iter().find(|(k, _)| *k == v).unwrap().1;
        let cia = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
        let iss = 1.0 - (1.0 - w(c, &cia)) * (1.0 - w(i, &cia)) * (1.0 - w(a, &cia));
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
        } else {
            6.42 * iss
        };
        let pr_w = match (pr, changed) {
            ("N", _) => 0.85,
            ("L", false) => 0.62,
            ("L", true) => 0.68,
            ("H", false) => 0.27,
            _ => 0.5,
        };
        let exploitability = 8.22
            * w(av, &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)])
            * w(ac, &[("L", 0.77), ("H", 0.44)])
            * pr_w
            * w(ui, &[("N", 0.85), ("R", 0.62)]);
        if impact <= 0.0 {
            return 0.0;
        }
        let raw = if changed {
            (1.08 * (impact + exploitability)).min(10.0)
        } else {
            (impact + exploitability).min(10.0)
        };
        let int_input = (raw * 100_000.0).round() as i64;
        if int_input % 10_000 == 0 {
            int_input as f64 / 100_000.0
        } else {
            ((int_input / 10_000) + 1) as f64 / 10.0
        }
    }

    #[test]
    fn v3_scores_equal_the_specification_formula_on_every_base_vector() {
        const NAMES: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
        let hln: &[&str] = &["H", "L", "N"];
        let values: [&[&str]; 8] = [
            &["N", "A", "L", "P"],
            &["L", "H"],
            &["N", "L", "H"],
            &["N", "R"],
            &["U", "C"],
            hln,
            hln,
            hln,
        ];
        let total: usize = values.iter().map(|v| v.len()).product();
        assert_eq!(total, 2592);
        for k in 0..total {
            let mut rest = k;
            let m: [&str; 8] = std::array::from_fn(|j| {
                let v = values[j][rest % values[j].len()];
                rest /= values[j].len();
                v
            });
            let want = spec_v3_1(m);
            let metrics: Vec<String> = NAMES
                .iter()
                .zip(m)
                .map(|(n, v)| format!("{n}:{v}"))
                .collect();
            for ver in ["3.0", "3.1"] {
                let v = format!("CVSS:{ver}/{}", metrics.join("/"));
                assert_eq!(
                    v3_base_score(&v).map(f64::to_bits),
                    Some(want.to_bits()),
                    "{v}"
                );
            }
        }
    }

    #[test]
    fn incomplete_or_other_vectors_have_no_v3_score() {
        assert_eq!(v3_base_score("CVSS:3.1/AV:N/AC:L"), None);
        assert_eq!(
            v3_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            None
        );
        assert_eq!(v3_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
        // Temporal metrics are allowed and do not change the base score.
        assert_eq!(
            v3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C"),
            Some(9.8)
        );
    }

    /// Base vectors (no threat or environmental metrics) and their CVSS-B scores. The first two
    /// are the FIRST specification's examples; the others are from Red Hat's reference test set
    /// (`tests/vectors_simple4` of RedHatProductSecurity/cvss, which the FIRST calculator
    /// agrees with) and published CVE records (CVE-2024-27459: 8.5).
    const V4_CASES: [(&str, f64); 24] = [
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:H/VA:L/SC:N/SI:H/SA:L",
            9.2,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:N",
            6.9,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:L/SA:H",
            7.9,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:N/VA:N/SC:L/SI:N/SA:L",
            5.3,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.6,
        ),
        (
            "AV:N/AC:L/AT:N/PR:L/UI:A/VC:H/VI:H/VA:H/SC:H/SI:N/SA:H",
            9.3,
        ),
        (
            "AV:N/AC:L/AT:N/PR:H/UI:P/VC:L/VI:L/VA:N/SC:L/SI:N/SA:N",
            4.8,
        ),
        (
            "AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:N/SA:H",
            9.5,
        ),
        (
            "AV:N/AC:L/AT:P/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N",
            2.1,
        ),
        (
            "AV:N/AC:L/AT:P/PR:L/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N",
            2.3,
        ),
        (
            "AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:L/SI:H/SA:L",
            9.4,
        ),
        (
            "AV:N/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:H/SA:N",
            4.0,
        ),
        (
            "AV:N/AC:H/AT:P/PR:H/UI:A/VC:N/VI:L/VA:L/SC:L/SI:N/SA:N",
            1.8,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
            8.7,
        ),
        (
            "AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
        (
            "AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            7.1,
        ),
        (
            "AV:P/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:N/SI:H/SA:N",
            4.1,
        ),
        (
            "AV:P/AC:L/AT:P/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:N/SA:L",
            1.0,
        ),
        (
            "AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:L/SC:H/SI:N/SA:L",
            6.9,
        ),
        (
            "AV:P/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        (
            "AV:P/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:N/SC:H/SI:H/SA:H",
            7.2,
        ),
        (
            "AV:P/AC:H/AT:P/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:L",
            7.2,
        ),
    ];

    #[test]
    fn v4_scores_match_the_specification_and_reference_implementation() {
        for (metrics, want) in V4_CASES {
            let v = format!("CVSS:4.0/{metrics}");
            assert_eq!(v4_base_score(&v), Ok(want), "{v}");
            assert_eq!(
                base_score(&v),
                Ok(BaseScore {
                    version: Version::V4_0,
                    score: want
                }),
                "{v}"
            );
        }
        assert_eq!(
            Rating::from_score(v4_base_score(&format!("CVSS:4.0/{}", V4_CASES[0].0)).unwrap()),
            Rating::Critical
        );
    }

    #[test]
    fn v4_base_score_ignores_threat_environmental_and_supplemental_metrics() {
        // CVE-2025-47273: CVSS-BT 7.7 with E:P; the base score of the same vector is 8.7.
        let full = concat!(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N",
            "/E:P/CR:X/IR:X/AR:X",
            "/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X",
            "/S:X/AU:X/R:X/V:X/RE:X/U:X",
        );
        assert_eq!(v4_base_score(full), Ok(8.7));
        assert_eq!(
            v4_base_score(
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N/AR:L/E:U/MAV:P"
            ),
            Ok(8.7)
        );
        // Metric order does not matter.
        assert_eq!(
            v4_base_score("CVSS:4.0/SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N"),
            Ok(9.3)
        );
    }

    #[test]
    fn malformed_and_hostile_vectors_are_errors_that_name_the_vector() {
        let bad = [
            ("", "not a CVSS"),
            ("CVSS:4.0", "missing mandatory"),
            ("CVSS:4.0/", "invalid CVSS metric group component"),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
                "missing mandatory",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:J",
                "SA",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SI:H",
                "duplicate",
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/JJ:H",
                "JJ",
            ),
            (
                "CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "AV",
            ),
            (
                "CVSS:4.0/AV:N:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "AV:N:N",
            ),
            (
                "CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "version",
            ),
            (
                "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
                "unsupported CVSS version",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                "base metric A missing",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q",
                "invalid value \"Q\" for A",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:N",
                "given twice",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
                "unknown CVSS v3 metric",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
                "not `METRIC:VALUE`",
            ),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "not a CVSS"),
        ];
        for (v, why) in bad {
            let e = base_score(v).expect_err(v);
            let msg = e.to_string();
            assert!(msg.contains(why), "{v}: {msg}");
            assert!(msg.starts_with("CVSS vector "), "{msg}");
        }
        // A long hostile vector is cut in the message.
        let long = format!("CVSS:4.0/{}", "AV:N/".repeat(10_000));
        let e = base_score(&long).unwrap_err();
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
    }

    #[test]
    fn the_highest_version_wins_then_the_highest_score() {
        let v3_crit = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
        let v3_med = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"; // 5.9
        let v4_high = "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"; // 8.5
        let v4_low = "CVSS:4.0/AV:P/AC:L/AT:P/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:N/SA:L"; // 1.0
        let (s, v) = best([v3_crit, v4_low, v4_high, v3_med]).unwrap();
        assert_eq!((s.version, s.score, v), (Version::V4_0, 8.5, v4_high));
        let (s, v) = best([v3_med, "garbage", v3_crit]).unwrap();
        assert_eq!((s.version, s.score, v), (Version::V3_1, 9.8, v3_crit));
        // An invalid v4 vector does not hide a valid v3 one.
        let (s, _) = best(["CVSS:4.0/AV:N", v3_med]).unwrap();
        assert_eq!(s.score, 5.9);
        assert_eq!(best(["CVSS:4.0/AV:N", "x"]), None);
        // Equal scores: the first in record order.
        let same = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        assert_eq!(best([same, v3_crit]).unwrap().1, same);
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(s in "\\PC{0,200}") {
            let _ = base_score(&s);
            let _ = base_score(&format!("CVSS:4.0/{s}"));
            let _ = base_score(&format!("CVSS:3.1/{s}"));
        }

        #[test]
        fn every_valid_v4_base_vector_scores_within_0_10(
            av in 0..4usize, ac in 0..2usize, at in 0..2usize, pr in 0..3usize, ui in 0..3usize,
            vc in 0..3usize, vi in 0..3usize, va in 0..3usize, sc in 0..3usize, si in 0..3usize,
            sa in 0..3usize, e in 0..4usize,
        ) {
            let hml = ["H", "L", "N"];
            let v = format!(
                "CVSS:4.0/AV:{}/AC:{}/AT:{}/PR:{}/UI:{}/VC:{}/VI:{}/VA:{}/SC:{}/SI:{}/SA:{}",
                ["N", "A", "L", "P"][av], ["L", "H"][ac], ["N", "P"][at], ["N", "L", "H"][pr],
                ["N", "P", "A"][ui], hml[vc], hml[vi], hml[va], hml[sc], hml[si], hml[sa],
            );
            let s = v4_base_score(&v).unwrap();
            proptest::prop_assert!((0.0..=10.0).contains(&s), "{v}: {s}");
            // The threat metric never changes the base score.
            let with_e = format!("{v}/E:{}", ["X", "A", "P", "U"][e]);
            proptest::prop_assert_eq!(v4_base_score(&with_e).unwrap(), s);
        }
    }

    #[test]
    fn ratings_follow_the_v3_bands() {
        assert_eq!(Rating::from_score(0.0), Rating::None);
        assert_eq!(Rating::from_score(3.9), Rating::Low);
        assert_eq!(Rating::from_score(4.0), Rating::Medium);
        assert_eq!(Rating::from_score(7.0), Rating::High);
        assert_eq!(Rating::from_score(9.0), Rating::Critical);
        assert_eq!(Rating::from_word("MODERATE"), Rating::Medium);
    }
}

//! Severity from CVSS vectors. Pure: no I/O.
//!
//! CVSS v3.0/v3.1 base scores are computed from the vector (FIRST specification, §7). CVSS v4
//! scores need the specification's large macro-vector table, which is not implemented: a v4-only
//! record gets its severity from `database_specific.severity` when present, else `Unknown`.

use serde::Serialize;

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
/// `None` when the vector is not a complete v3 base vector.
pub fn v3_base_score(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    let head = parts.next()?;
    if !head.starts_with("CVSS:3.") {
        return None;
    }
    let mut m = std::collections::HashMap::new();
    for p in parts {
        let (k, v) = p.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        match *m.get(k)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(roundup(raw))
}

/// CVSS v3.1 Roundup: smallest number with one decimal that is >= the input.
fn roundup(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
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

    #[test]
    fn incomplete_or_other_vectors_have_no_v3_score() {
        assert_eq!(v3_base_score("CVSS:3.1/AV:N/AC:L"), None);
        assert_eq!(
            v3_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            None
        );
        assert_eq!(v3_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
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

//! Each ecosystem's own version ordering. Pure: no I/O.
//!
//! Versions that do not parse under their ecosystem's grammar fall back to [`generic_cmp`]
//! (numeric runs compared as numbers, other runs as text) so that a sloppy version never makes a
//! range silently unmatchable.

use std::cmp::Ordering;
use std::str::FromStr;

/// The package ecosystems Palisade knows, by their OSV names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    CratesIo,
    PyPI,
    Npm,
    Go,
    Maven,
    RubyGems,
    Packagist,
    Debian,
    Alpine,
    /// Any other OSV ecosystem name (ordered with [`generic_cmp`]).
    Other(String),
}

impl Ecosystem {
    /// Parse an OSV ecosystem name; a `:release` suffix (`Debian:12`) is ignored.
    pub fn from_osv(name: &str) -> Ecosystem {
        let base = name.split(':').next().unwrap_or(name);
        match base {
            "crates.io" => Ecosystem::CratesIo,
            "PyPI" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "Go" => Ecosystem::Go,
            "Maven" => Ecosystem::Maven,
            "RubyGems" => Ecosystem::RubyGems,
            "Packagist" => Ecosystem::Packagist,
            "Debian" => Ecosystem::Debian,
            "Alpine" => Ecosystem::Alpine,
            other => Ecosystem::Other(other.to_string()),
        }
    }

    /// The OSV ecosystem name.
    pub fn osv_name(&self) -> &str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Debian => "Debian",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Other(s) => s,
        }
    }

    /// The package-URL type.
    pub fn purl_type(&self) -> &str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Packagist => "composer",
            Ecosystem::Debian => "deb",
            Ecosystem::Alpine => "apk",
            Ecosystem::Other(_) => "generic",
        }
    }

    /// The name as the index keys it: PyPI names are normalised per PEP 503, others kept.
    pub fn normalize_name(&self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => normalize_pypi_name(name),
            _ => name.to_string(),
        }
    }

    /// Compare two versions under this ecosystem's ordering.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm => semver_cmp(a, b),
            Ecosystem::Go => semver_cmp(
                a.strip_prefix('v').unwrap_or(a),
                b.strip_prefix('v').unwrap_or(b),
            ),
            Ecosystem::PyPI => pep440_cmp(a, b),
            Ecosystem::Debian => dpkg_cmp(a, b),
            Ecosystem::RubyGems => rubygems_cmp(a, b),
            Ecosystem::Alpine => apk_cmp(a, b),
            Ecosystem::Maven => maven_cmp(a, b),
            Ecosystem::Packagist => {
                generic_cmp(a.trim_start_matches('v'), b.trim_start_matches('v'))
            }
            _ => generic_cmp(a, b),
        }
    }
}

/// PEP 503 name normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn semver_cmp(a: &str, b: &str) -> Ordering {
    // Most versions are plain `MAJOR.MINOR.PATCH`: compare those without a full parse.
    if let (Some(x), Some(y)) = (plain_semver(a), plain_semver(b)) {
        return x.cmp(&y);
    }
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        // Build metadata does not take part in precedence (SemVer 2.0 §10).
        (Ok(x), Ok(y)) => {
            (&x.major, &x.minor, &x.patch, &x.pre).cmp(&(&y.major, &y.minor, &y.patch, &y.pre))
        }
        _ => generic_cmp(a, b),
    }
}

/// `MAJOR.MINOR.PATCH` with no pre-release or build part, as SemVer accepts it (no leading
/// zeros); anything else is `None` and takes the full parse.
fn plain_semver(v: &str) -> Option<(u64, u64, u64)> {
    let mut nums = [0u64; 3];
    let mut part = 0;
    let mut len = 0; // digits in the current part
    let mut leading_zero = false;
    for &b in v.as_bytes() {
        match b {
            b'0'..=b'9' => {
                if len == 1 && leading_zero {
                    return None; // `01`: not SemVer
                }
                if len == 0 {
                    leading_zero = b == b'0';
                }
                nums[part] = nums[part]
                    .checked_mul(10)?
                    .checked_add(u64::from(b - b'0'))?;
                len += 1;
            }
            b'.' if len > 0 && part < 2 => {
                part += 1;
                len = 0;
            }
            _ => return None,
        }
    }
    (part == 2 && len > 0).then_some((nums[0], nums[1], nums[2]))
}

fn pep440_cmp(a: &str, b: &str) -> Ordering {
    match (
        pep440_rs::Version::from_str(a),
        pep440_rs::Version::from_str(b),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => generic_cmp(a, b),
    }
}

/// Generic ordering: split into digit and non-digit runs; digits compare numerically, text
/// lexically (case-insensitively). When one side runs out, a further number makes the other side
/// greater (`1.0.1 > 1.0`) and a further text run makes it smaller (`1.0-beta < 1.0`).
pub fn generic_cmp(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(rb.iter()) {
        let ord = match (x, y) {
            (Run::Num(p), Run::Num(q)) => cmp_digits(p, q),
            (Run::Text(p), Run::Text(q)) => p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase()),
            (Run::Num(_), Run::Text(_)) => Ordering::Greater,
            (Run::Text(_), Run::Num(_)) => Ordering::Less,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let tail = |r: &[Run<'_>]| match r.first() {
        Some(Run::Num(n)) if n.bytes().all(|c| c == b'0') => Ordering::Equal,
        Some(Run::Num(_)) => Ordering::Greater,
        Some(Run::Text(_)) => Ordering::Less,
        None => Ordering::Equal,
    };
    match ra.len().cmp(&rb.len()) {
        Ordering::Greater => tail(&ra[rb.len()..]),
        Ordering::Less => tail(&rb[ra.len()..]).reverse(),
        Ordering::Equal => Ordering::Equal,
    }
}

/// Alpine `apk` ordering: `1.2.3[letter][_suffix[N]…][-rN]`; `_alpha`, `_beta`, `_pre`, `_rc`
/// sort before the plain release, `_cvs`, `_svn`, `_git`, `_hg`, `_p` after it.
pub fn apk_cmp(a: &str, b: &str) -> Ordering {
    /// (numeric parts, trailing letter, suffixes as (rank, number), revision)
    type Apk<'a> = (Vec<&'a str>, Option<u8>, Vec<(i8, &'a str)>, &'a str);
    fn parse(v: &str) -> Apk<'_> {
        let (main, rev) = match v.rsplit_once("-r") {
            Some((m, r)) if r.bytes().all(|c| c.is_ascii_digit()) => (m, r),
            _ => (v, "0"),
        };
        let mut parts = main.split('_');
        let base = parts.next().unwrap_or("");
        let suffixes = parts
            .map(|s| {
                let name_end = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
                let rank = match &s[..name_end] {
                    "alpha" => -4,
                    "beta" => -3,
                    "pre" => -2,
                    "rc" => -1,
                    "cvs" => 1,
                    "svn" => 2,
                    "git" => 3,
                    "hg" => 4,
                    "p" => 5,
                    _ => 6,
                };
                (rank, &s[name_end..])
            })
            .collect();
        let (nums, letter) = match base.as_bytes().last() {
            Some(c) if c.is_ascii_alphabetic() => (&base[..base.len() - 1], Some(*c)),
            _ => (base, None),
        };
        (nums.split('.').collect(), letter, suffixes, rev)
    }
    let (na, la, sa, ra) = parse(a);
    let (nb, lb, sb, rb) = parse(b);
    for i in 0..na.len().max(nb.len()) {
        let ord = match (na.get(i), nb.get(i)) {
            (Some(x), Some(y)) => cmp_digits(x, y),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let ord = la.cmp(&lb);
    if ord != Ordering::Equal {
        return ord;
    }
    for i in 0..sa.len().max(sb.len()) {
        let (x, y) = (
            sa.get(i).copied().unwrap_or((0, "")),
            sb.get(i).copied().unwrap_or((0, "")),
        );
        let ord = x.0.cmp(&y.0).then_with(|| cmp_digits(x.1, y.1));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    cmp_digits(ra, rb)
}

/// RubyGems (`Gem::Version`): segments split at `.` and at digit/letter changes; a missing
/// segment is 0; a text segment (pre-release) sorts before any number.
pub fn rubygems_cmp(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (runs(a), runs(b));
    for i in 0..ra.len().max(rb.len()) {
        let ord = match (ra.get(i), rb.get(i)) {
            (Some(Run::Num(p)), Some(Run::Num(q))) => cmp_digits(p, q),
            (Some(Run::Text(p)), Some(Run::Text(q))) => p.cmp(q),
            (Some(Run::Num(_)), Some(Run::Text(_))) => Ordering::Greater,
            (Some(Run::Text(_)), Some(Run::Num(_))) => Ordering::Less,
            (Some(Run::Num(p)), None) => cmp_digits(p, "0"),
            (None, Some(Run::Num(q))) => cmp_digits("0", q),
            (Some(Run::Text(_)), None) => Ordering::Less,
            (None, Some(Run::Text(_))) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Rank of a Maven qualifier (`ComparableVersion`): alpha < beta < milestone < rc < snapshot <
/// release < sp < anything else (lexical).
fn maven_qualifier(q: &str) -> (u8, String) {
    let q = q.to_ascii_lowercase();
    let rank = match q.as_str() {
        "alpha" | "a" => 0,
        "beta" | "b" => 1,
        "milestone" | "m" => 2,
        "rc" | "cr" => 3,
        "snapshot" => 4,
        "" | "ga" | "final" | "release" => 5,
        "sp" => 6,
        _ => 7,
    };
    (rank, if rank == 7 { q } else { String::new() })
}

/// Maven ordering, after `ComparableVersion` (flattened: items split at `.`, `-` and
/// digit/letter changes; trailing zero and release items ignored; a number beats a qualifier).
pub fn maven_cmp(a: &str, b: &str) -> Ordering {
    fn items(s: &str) -> Vec<Run<'_>> {
        let mut r = runs(s);
        while let Some(last) = r.last() {
            let trailing = match last {
                Run::Num(n) => n.bytes().all(|c| c == b'0'),
                Run::Text(t) => maven_qualifier(t).0 == 5,
            };
            if !trailing {
                break;
            }
            r.pop();
        }
        r
    }
    let (ra, rb) = (items(a), items(b));
    for i in 0..ra.len().max(rb.len()) {
        let ord = match (ra.get(i), rb.get(i)) {
            (Some(Run::Num(p)), Some(Run::Num(q))) => cmp_digits(p, q),
            (Some(Run::Text(p)), Some(Run::Text(q))) => maven_qualifier(p).cmp(&maven_qualifier(q)),
            (Some(Run::Num(_)), Some(Run::Text(_))) => Ordering::Greater,
            (Some(Run::Text(_)), Some(Run::Num(_))) => Ordering::Less,
            (Some(Run::Num(p)), None) => cmp_digits(p, "0"),
            (None, Some(Run::Num(q))) => cmp_digits("0", q),
            (Some(Run::Text(p)), None) => maven_qualifier(p).cmp(&maven_qualifier("")),
            (None, Some(Run::Text(q))) => maven_qualifier("").cmp(&maven_qualifier(q)),
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

enum Run<'a> {
    Num(&'a str),
    Text(&'a str),
}

fn runs(s: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let digit = b[i].is_ascii_digit();
        while i < b.len() && b[i].is_ascii_alphanumeric() && b[i].is_ascii_digit() == digit {
            i += 1;
        }
        let part = &s[start..i];
        out.push(if digit {
            Run::Num(part)
        } else {
            Run::Text(part)
        });
    }
    out
}

/// Compare two digit strings as numbers of any length.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Debian version ordering (`dpkg --compare-versions`): `[epoch:]upstream[-revision]`.
pub fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_debian(a);
    let (eb, ub, rb) = split_debian(b);
    cmp_digits(ea, eb)
        .then_with(|| dpkg_part_cmp(ua, ub))
        .then_with(|| dpkg_part_cmp(ra, rb))
}

fn split_debian(v: &str) -> (&str, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, r),
        _ => ("0", v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn dpkg_part_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit prefix, compared with the dpkg character order.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            let (oa, ob) = (dpkg_order(ca), dpkg_order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            if ca.is_some() {
                i += 1;
            }
            if cb.is_some() {
                j += 1;
            }
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let na = std::str::from_utf8(&a[si..i]).unwrap_or("0");
        let nb = std::str::from_utf8(&b[sj..j]).unwrap_or("0");
        let ord = cmp_digits(na, nb);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(eco: Ecosystem, cases: &[(&str, &str, Ordering)]) {
        for (a, b, want) in cases {
            assert_eq!(eco.compare(a, b), *want, "{eco:?}: {a} vs {b}");
            assert_eq!(eco.compare(b, a), want.reverse(), "{eco:?}: {b} vs {a}");
        }
    }

    #[test]
    fn cargo_semver_ordering() {
        use Ordering::*;
        check(
            Ecosystem::CratesIo,
            &[
                ("0.5.1", "0.5.2", Less),
                ("1.0.0-alpha", "1.0.0", Less),
                ("1.0.0-alpha.1", "1.0.0-alpha.beta", Less),
                ("1.0.0-rc.1", "1.0.0-beta.11", Greater),
                ("0.0.0-0", "0.0.0", Less),
                ("1.10.0", "1.9.0", Greater),
                ("1.0.0+build1", "1.0.0+build2", Equal),
            ],
        );
    }

    proptest::proptest! {
        /// The plain `X.Y.Z` fast path orders exactly as a full SemVer parse does.
        #[test]
        fn plain_semver_fast_path_agrees_with_the_semver_crate(
            a in "(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})",
            b in "(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})",
        ) {
            let (x, y) = (semver::Version::parse(&a).unwrap(), semver::Version::parse(&b).unwrap());
            proptest::prop_assert!(plain_semver(&a).is_some());
            proptest::prop_assert_eq!(semver_cmp(&a, &b), x.cmp(&y));
        }
    }

    #[test]
    fn plain_semver_refuses_what_semver_refuses_or_orders_differently() {
        for v in [
            "01.0.0",
            "1.0",
            "1.0.0.0",
            "1.0.0-rc.1",
            "1.0.0+b",
            "",
            "1..0",
            "a.b.c",
        ] {
            assert_eq!(plain_semver(v), None, "{v}");
        }
        assert_eq!(plain_semver("10.0.3"), Some((10, 0, 3)));
    }

    #[test]
    fn pep440_ordering() {
        use Ordering::*;
        check(
            Ecosystem::PyPI,
            &[
                ("1.0", "1.0.0", Equal),
                ("1.0a1", "1.0", Less),
                ("1.0.dev0", "1.0a1", Less),
                ("1.0.post1", "1.0", Greater),
                ("1.0rc1", "1.0", Less),
                ("0.3.25.1", "0.3.26", Less),
                ("2!1.0", "3.0", Greater),
                ("1.0+local", "1.0", Greater),
            ],
        );
    }

    #[test]
    fn go_ordering_with_pseudo_versions() {
        use Ordering::*;
        check(
            Ecosystem::Go,
            &[
                ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", Less),
                (
                    "v0.0.0-20191109021931-daa7c04131f5",
                    "v0.0.0-20200101000000-aaaaaaaaaaaa",
                    Less,
                ),
                ("v1.2.3", "1.2.3", Equal),
                ("v2.0.0+incompatible", "v1.9.9", Greater),
            ],
        );
    }

    #[test]
    fn dpkg_ordering() {
        use Ordering::*;
        check(
            Ecosystem::Debian,
            &[
                ("1.0~rc1", "1.0", Less),
                ("1:0.9", "2.0", Greater),
                ("1.0-1", "1.0-2", Less),
                ("1.0-1", "1.0-1+deb12u1", Less),
                ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
                ("1.0a", "1.0+", Less),
                ("1.0", "1.0", Equal),
                ("3.0.11-1~deb12u2", "3.0.11-1", Less),
            ],
        );
    }

    #[test]
    fn generic_ordering() {
        use Ordering::*;
        check(
            Ecosystem::Other("X".into()),
            &[
                ("1.10", "1.9", Greater),
                ("1.0", "1.0.1", Less),
                ("010", "10", Equal),
                ("1.0.0-beta", "1.0.0", Less),
                ("1.0", "1.0.0", Equal),
            ],
        );
        check(
            Ecosystem::Packagist,
            &[("v1.9.0", "1.10.0", Less), ("2.0.0-RC1", "2.0.0", Less)],
        );
    }

    #[test]
    fn apk_ordering() {
        use Ordering::*;
        check(
            Ecosystem::Alpine,
            &[
                ("1.2.3-r4", "1.2.3-r10", Less),
                ("1.2.3_rc1-r0", "1.2.3-r0", Less),
                ("1.2.3_p1-r0", "1.2.3-r0", Greater),
                ("1.2.3a-r0", "1.2.3-r0", Greater),
                ("3.1.4-r5", "3.1.10-r0", Less),
                ("1.36.1-r2", "1.36.1-r2", Equal),
                ("1.2_alpha2", "1.2_beta1", Less),
            ],
        );
    }

    #[test]
    fn rubygems_ordering() {
        use Ordering::*;
        check(
            Ecosystem::RubyGems,
            &[
                ("1.0", "1", Equal),
                ("1.0.0.pre1", "1.0.0", Less),
                ("1.0.0.rc1", "1.0.0.beta2", Greater),
                ("1.13.10", "1.13.9", Greater),
                ("2.0.a", "2.0.0", Less),
            ],
        );
    }

    #[test]
    fn maven_ordering() {
        use Ordering::*;
        check(
            Ecosystem::Maven,
            &[
                ("1.0", "1.0.0", Equal),
                ("1.0-alpha-1", "1.0-beta-1", Less),
                ("1.0-rc1", "1.0", Less),
                ("1.0-SNAPSHOT", "1.0", Less),
                ("1.0-rc1", "1.0-SNAPSHOT", Less),
                ("1.0.Final", "1.0", Equal),
                ("1.0-sp1", "1.0", Greater),
                ("2.13.4.2", "2.13.4", Greater),
                ("5.3.20", "5.3.18", Greater),
            ],
        );
    }

    #[test]
    fn pypi_names_normalise_per_pep503() {
        assert_eq!(
            normalize_pypi_name("Django_Rest.Framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_pypi_name("PyYAML"), "pyyaml");
        assert_eq!(normalize_pypi_name("a--_b"), "a-b");
    }
}

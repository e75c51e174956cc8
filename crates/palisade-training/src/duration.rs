//! Durations as people write them in scenarios: `15m`, `1h30m`, `72h`, `2d`, `45s`; and signed
//! offsets (`-2h`) for generated logs that start before the drill.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The longest duration a scenario may name: 60 days.
pub const MAX_SECONDS: u64 = 60 * 24 * 3600;

/// A non-negative whole number of seconds, written `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub u64);

impl Dur {
    pub const fn seconds(s: u64) -> Dur {
        Dur(s)
    }
    pub const fn minutes(m: u64) -> Dur {
        Dur(m * 60)
    }
    pub const fn hours(h: u64) -> Dur {
        Dur(h * 3600)
    }
    pub fn as_secs(self) -> u64 {
        self.0
    }
    pub fn to_time(self) -> time::Duration {
        time::Duration::seconds(self.0 as i64)
    }
}

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {value:?}: {reason} (write e.g. 30s, 15m, 1h30m, 72h, 2d)")]
pub struct DurError {
    pub value: String,
    pub reason: &'static str,
}

impl FromStr for Dur {
    type Err = DurError;
    fn from_str(s: &str) -> Result<Dur, DurError> {
        let fail = |reason| DurError {
            value: s.to_string(),
            reason,
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut last_unit = u64::MAX;
        for c in t.chars() {
            if c.is_ascii_digit() {
                if digits.len() >= 9 {
                    return Err(fail("a number is too long"));
                }
                digits.push(c);
                continue;
            }
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(fail("units are d, h, m and s")),
            };
            if digits.is_empty() {
                return Err(fail("a unit needs a number before it"));
            }
            if unit >= last_unit {
                return Err(fail("units go from the largest to the smallest, each once"));
            }
            last_unit = unit;
            let n: u64 = digits.parse().map_err(|_| fail("not a number"))?;
            digits.clear();
            total = total.saturating_add(n.saturating_mul(unit));
        }
        if !digits.is_empty() {
            return Err(fail("a number needs a unit after it"));
        }
        if total > MAX_SECONDS {
            return Err(fail("it is longer than 60 days"));
        }
        Ok(Dur(total))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0;
        if s == 0 {
            return f.write_str("0m");
        }
        for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
            if s >= unit {
                write!(f, "{}{name}", s / unit)?;
                s %= unit;
            }
        }
        Ok(())
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A signed offset: `-2h` (before) or `30m` (after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub i64);

impl FromStr for Offset {
    type Err = DurError;
    fn from_str(s: &str) -> Result<Offset, DurError> {
        let t = s.trim();
        match t.strip_prefix('-') {
            Some(rest) => rest.parse::<Dur>().map(|d| Offset(-(d.0 as i64))),
            None => t
                .strip_prefix('+')
                .unwrap_or(t)
                .parse::<Dur>()
                .map(|d| Offset(d.0 as i64)),
        }
    }
}
impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{}", Dur(self.0.unsigned_abs()))
        } else {
            write!(f, "{}", Dur(self.0 as u64))
        }
    }
}
impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A number of seconds as people read it: `1h 05m`, `12m 30s`, `45s`.
pub fn human(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{sign}{d}d {h}h {m:02}m")
    } else if h > 0 {
        format!("{sign}{h}h {m:02}m")
    } else if m > 0 {
        format!("{sign}{m}m {sec:02}s")
    } else {
        format!("{sign}{sec}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_back() {
        for (text, secs, shown) in [
            ("15m", 900, "15m"),
            ("1h30m", 5400, "1h30m"),
            ("72h", 259_200, "3d"),
            ("2d", 172_800, "2d"),
            ("45s", 45, "45s"),
            ("0m", 0, "0m"),
        ] {
            let d: Dur = text.parse().unwrap();
            assert_eq!(d.0, secs, "{text}");
            assert_eq!(d.to_string(), shown, "{text}");
        }
        for bad in ["", "15", "m", "1x", "30m1h", "1h1h", "61d", "9999999999s"] {
            assert!(bad.parse::<Dur>().is_err(), "{bad:?} accepted");
        }
        assert_eq!("-2h".parse::<Offset>().unwrap(), Offset(-7200));
        assert_eq!("+5m".parse::<Offset>().unwrap(), Offset(300));
        assert_eq!(Offset(-7200).to_string(), "-2h");
        assert_eq!(human(3900), "1h 05m");
        assert_eq!(human(750), "12m 30s");
        assert_eq!(human(-45), "-45s");
    }
}

//! The analysis of a model as JSON, with the built-in rules and today's date (UTC): a stand-in for
//! `palisade threat` while the command is built, used by bench/threat/compare.sh.
//!
//! ```text
//! cargo run --release -p palisade-threat --example threats -- MODEL.yaml
//! ```
//!
//! Exit status 0 with the analysis on standard output; 1 when the model does not load (its errors
//! on standard error); 2 on a usage error.

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use palisade_threat::{RuleSet, analyse, model};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: threats MODEL.yaml");
        return ExitCode::from(2);
    };
    let model = match model::load(Path::new(path)) {
        Ok(m) => m,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(1);
        }
    };
    let analysis = analyse(&model, &RuleSet::builtin(), today());
    match serde_json::to_string_pretty(&analysis) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write the analysis: {e}");
            ExitCode::from(1)
        }
    }
}

/// Today's date in UTC as (year, month, day).
fn today() -> (i32, u8, u8) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_from_days((secs / 86_400) as i64)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's days-to-civil
/// algorithm).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn days_since_the_epoch_are_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_794), (2026, 12, 7));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}

//! "Playbook last tested": which playbooks have not been exercised by a drill within a period
//! (180 days by default). Pure: the dates and today are given.

use serde::{Deserialize, Serialize};
use time::Date;

/// The default period between two tests of a playbook.
pub const DEFAULT_PERIOD_DAYS: u32 = 180;

/// A playbook's dates, as written in it (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookDates {
    pub id: String,
    pub name: String,
    pub last_reviewed: Option<String>,
    pub last_tested: Option<String>,
}

impl From<&palisade_core::Playbook> for PlaybookDates {
    fn from(p: &palisade_core::Playbook) -> PlaybookDates {
        PlaybookDates {
            id: p.id.clone(),
            name: p.name.clone(),
            last_reviewed: p.last_reviewed.clone(),
            last_tested: p.last_tested.clone(),
        }
    }
}

/// Why a playbook is flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Flag {
    /// No drill has ever tested it.
    NeverTested,
    /// Its last test is older than the period.
    Overdue {
        last_tested: Date,
        due: Date,
        days_overdue: i64,
    },
    /// The date cannot be read.
    UnreadableDate { value: String },
}

/// One playbook's testing status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStatus {
    pub id: String,
    pub name: String,
    /// When the next test is due, if it was ever tested.
    pub due: Option<Date>,
    /// Set when the playbook needs a drill.
    pub flag: Option<Flag>,
    /// Reviewed after its last test: the version in force has not been drilled.
    pub reviewed_since_tested: bool,
}

impl TestStatus {
    pub fn is_flagged(&self) -> bool {
        self.flag.is_some()
    }
    /// In words, for a list or a notice.
    pub fn describe(&self) -> String {
        match &self.flag {
            None => format!(
                "{} was tested recently; next test due {}",
                self.id,
                self.due.map(fmt_date).unwrap_or_default()
            ),
            Some(Flag::NeverTested) => format!("{} has never been tested by a drill", self.id),
            Some(Flag::Overdue {
                last_tested,
                days_overdue,
                ..
            }) => format!(
                "{} was last tested on {}, {} day(s) overdue",
                self.id,
                fmt_date(*last_tested),
                days_overdue
            ),
            Some(Flag::UnreadableDate { value }) => format!(
                "{}: last_tested {value:?} is not a date (YYYY-MM-DD)",
                self.id
            ),
        }
    }
}

fn fmt_date(d: Date) -> String {
    palisade_core::comms::format_date(d)
}

/// Read `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), palisade_core::comms::DATE_FORMAT).ok()
}

/// The testing status of each playbook on `today`, given a period in days (a test on day D
/// is good through day D + period).
pub fn check(playbooks: &[PlaybookDates], period_days: u32, today: Date) -> Vec<TestStatus> {
    playbooks
        .iter()
        .map(|p| {
            let reviewed = p.last_reviewed.as_deref().and_then(parse_date);
            let (due, flag, tested) = match p.last_tested.as_deref() {
                None => (None, Some(Flag::NeverTested), None),
                Some(s) => match parse_date(s) {
                    None => (
                        None,
                        Some(Flag::UnreadableDate {
                            value: s.to_string(),
                        }),
                        None,
                    ),
                    Some(t) => {
                        let due = t + time::Duration::days(period_days as i64);
                        let flag = (today > due).then(|| Flag::Overdue {
                            last_tested: t,
                            due,
                            days_overdue: (today - due).whole_days(),
                        });
                        (Some(due), flag, Some(t))
                    }
                },
            };
            TestStatus {
                id: p.id.clone(),
                name: p.name.clone(),
                due,
                flag,
                reviewed_since_tested: matches!((reviewed, tested), (Some(r), Some(t)) if r > t),
            }
        })
        .collect()
}

/// Only the playbooks that need a drill.
pub fn untested(playbooks: &[PlaybookDates], period_days: u32, today: Date) -> Vec<TestStatus> {
    check(playbooks, period_days, today)
        .into_iter()
        .filter(TestStatus::is_flagged)
        .collect()
}

//! Training: incident-response drills run against a playbook (scripted scenarios, a scheduler
//! of injections, scoring and a debrief), "playbook last tested" checks, and capture-the-flag
//! events (challenges with hashed or regex flags, hints, prerequisites, dynamic scoring as CTFd
//! does it, a scoreboard with a freeze, rate-limited submissions, CTFd import).
//!
//! Pure: no clock (every function that depends on time is given `now`), no randomness (salts
//! are given), no I/O but reading the files a function is named for (`Scenario::load`,
//! `ctf::challenge::load_dir`). An application drives it: it keeps the serde state
//! ([`schedule::DrillRun`], [`ctf::CtfState`]), asks the pure functions what is due or whether
//! a submission counts, and records what they return. See `docs/training.md`.

pub mod ctf;
pub mod debrief;
pub mod duration;
pub mod generate;
pub mod scenario;
pub mod schedule;
pub mod score;
pub mod tested;
pub mod yaml;

pub use debrief::Debrief;
pub use duration::Dur;
pub use scenario::{Check, Content, Expectation, Injection, Scenario, Trigger};
pub use schedule::{DrillRun, Release, StepEvent, StepOutcome, due, next_due};
pub use score::{DrillScore, DrillTimeline, score};
pub use yaml::LocatedError;

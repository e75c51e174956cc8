//! A CTF event: its configuration, its state (accounts, submissions, hint unlocks — serde, kept
//! by the application) and the decisions on it. Every decision is a pure function of the event,
//! the state and `now`, returning the [`Change`] to record or a [`Refusal`] that says why, and
//! when to try again where there is a when.

use super::challenge::{Challenge, check_set};
use super::value::value;
use crate::duration::{Dur, human};
use crate::scenario::valid_id;
use palisade_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether players compete alone or in teams (a team is one account; its members submit for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Individuals,
    Teams,
}

/// At most `max_wrong` wrong answers per account per challenge within `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub max_wrong: u32,
    pub per: Dur,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            max_wrong: 10,
            per: Dur::minutes(1),
        }
    }
}

/// An event's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventConfig {
    pub name: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// From this time the public scoreboard stops moving; admins still see the live one.
    #[serde(default)]
    pub freeze: Option<Timestamp>,
    pub mode: Mode,
    #[serde(default)]
    pub rate_limit: RateLimit,
}

/// A player or a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    /// Teams mode: who may submit for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Hidden accounts (organisers testing) count for nothing and are not on the public board.
    #[serde(default)]
    pub hidden: bool,
}

/// A flag submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub account: String,
    pub user: String,
    pub challenge: String,
    pub at: Timestamp,
    pub correct: bool,
    /// What a wrong submission said (for organisers); never kept for a correct one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provided: Option<String>,
}

/// A hint unlocked, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    pub account: String,
    pub user: String,
    pub challenge: String,
    /// The hint's position in the challenge (0-based).
    pub hint: usize,
    pub cost: u32,
    pub at: Timestamp,
}

/// What the state records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Registered(Account),
    Submitted(Submission),
    Unlocked(Unlock),
}

/// Everything that happened in an event, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtfState {
    pub accounts: Vec<Account>,
    pub submissions: Vec<Submission>,
    pub unlocks: Vec<Unlock>,
}

impl CtfState {
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Registered(a) => self.accounts.push(a),
            Change::Submitted(s) => self.submissions.push(s),
            Change::Unlocked(u) => self.unlocks.push(u),
        }
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// When `account` solved `challenge`, if it did.
    pub fn solved_at(&self, account: &str, challenge: &str) -> Option<Timestamp> {
        self.submissions
            .iter()
            .find(|s| s.correct && s.account == account && s.challenge == challenge)
            .map(|s| s.at)
    }

    /// Solves of `challenge` by visible accounts before `cutoff` (all when `None`).
    pub fn solve_count(&self, challenge: &str, cutoff: Option<Timestamp>) -> u64 {
        self.submissions
            .iter()
            .filter(|s| s.correct && s.challenge == challenge)
            .filter(|s| cutoff.is_none_or(|c| s.at < c))
            .filter(|s| self.account(&s.account).is_some_and(|a| !a.hidden))
            .count() as u64
    }
}

/// Why a command is refused, saying what to do or when to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("the event has not started: it opens at {starts_at} (in {})", human(*in_seconds))]
    NotStarted {
        starts_at: Timestamp,
        in_seconds: i64,
    },
    #[error("the event is over: it ended at {ended_at}")]
    Ended { ended_at: Timestamp },
    #[error("no account {0:?} in this event")]
    UnknownAccount(String),
    #[error("{user:?} is not a member of team {account:?}")]
    NotAMember { account: String, user: String },
    #[error("an account {0:?} already exists")]
    AccountTaken(String),
    #[error("{0}")]
    InvalidAccount(String),
    #[error("no challenge {0:?} in this event")]
    UnknownChallenge(String),
    #[error("challenge {challenge:?} is locked: solve {} first", missing.join(", "))]
    Locked {
        challenge: String,
        missing: Vec<String>,
    },
    #[error("challenge {challenge:?} is already solved (at {at})")]
    AlreadySolved { challenge: String, at: Timestamp },
    #[error("no attempts left on challenge {challenge:?}: {max} wrong answers is its limit")]
    NoAttemptsLeft { challenge: String, max: u32 },
    #[error(
        "too many wrong answers: at most {max_wrong} per {per} on one challenge; try again at {retry_at} (in {})",
        human(*wait_seconds)
    )]
    RateLimited {
        max_wrong: u32,
        per: Dur,
        retry_at: Timestamp,
        wait_seconds: i64,
    },
    #[error("a submission is 1–{max} bytes")]
    BadSubmission { max: usize },
    #[error("challenge {challenge:?} has no hint {hint}")]
    UnknownHint { challenge: String, hint: usize },
    #[error("hint {hint} of {challenge:?} is already unlocked")]
    AlreadyUnlocked { challenge: String, hint: usize },
    #[error("not enough points: the hint costs {cost} and the score is {score}")]
    NotEnoughPoints { cost: u32, score: i64 },
}

/// Why an event cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// The longest rate-limit period an event may set (30 days).
pub const MAX_RATE_PERIOD_SECS: u64 = 30 * 86_400;

/// An event: its settings and its challenges, checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctf {
    pub config: EventConfig,
    pub challenges: Vec<Challenge>,
}

impl Ctf {
    /// Check the settings and the challenges: a window that ends after it starts, a freeze
    /// inside it, a rate limit that allows something, challenges whose flags are all stored
    /// hashed and whose prerequisites exist without cycles.
    pub fn new(config: EventConfig, challenges: Vec<Challenge>) -> Result<Ctf, SetupError> {
        if config.end <= config.start {
            return Err(SetupError("the event must end after it starts".into()));
        }
        if let Some(f) = config.freeze
            && (f < config.start || f > config.end)
        {
            return Err(SetupError(
                "the scoreboard freeze must fall within the event".into(),
            ));
        }
        if config.rate_limit.max_wrong == 0 || config.rate_limit.per.0 == 0 {
            return Err(SetupError(
                "the rate limit must allow at least one wrong answer in a non-empty period".into(),
            ));
        }
        if config.rate_limit.per.0 > MAX_RATE_PERIOD_SECS {
            return Err(SetupError(format!(
                "the rate limit's period is at most {} days",
                MAX_RATE_PERIOD_SECS / 86_400
            )));
        }
        if let Some(c) = challenges.iter().find(|c| c.has_plain_flags()) {
            return Err(SetupError(format!(
                "challenge {:?} holds a flag in plain: hash it first (authoring files only may hold plain flags)",
                c.id
            )));
        }
        let problems = check_set(&challenges);
        if !problems.is_empty() {
            return Err(SetupError(problems.join("; ")));
        }
        Ok(Ctf { config, challenges })
    }

    pub fn challenge(&self, id: &str) -> Option<&Challenge> {
        self.challenges.iter().find(|c| c.id == id)
    }

    fn window(&self, now: Timestamp) -> Result<(), Refusal> {
        if now < self.config.start {
            return Err(Refusal::NotStarted {
                starts_at: self.config.start,
                in_seconds: (self.config.start.0 - now.0).whole_seconds(),
            });
        }
        if now >= self.config.end {
            return Err(Refusal::Ended {
                ended_at: self.config.end,
            });
        }
        Ok(())
    }

    fn member(&self, state: &CtfState, account: &str, user: &str) -> Result<(), Refusal> {
        let a = state
            .account(account)
            .ok_or_else(|| Refusal::UnknownAccount(account.to_string()))?;
        if self.config.mode == Mode::Teams && !a.members.iter().any(|m| m == user) {
            return Err(Refusal::NotAMember {
                account: account.into(),
                user: user.into(),
            });
        }
        Ok(())
    }

    /// Whether `account` may open `challenge` (its prerequisites solved); the missing ones.
    pub fn missing_prerequisites(
        &self,
        state: &CtfState,
        account: &str,
        challenge: &Challenge,
    ) -> Vec<String> {
        challenge
            .prerequisites
            .iter()
            .filter(|p| state.solved_at(account, p).is_none())
            .cloned()
            .collect()
    }

    fn open<'c>(
        &'c self,
        state: &CtfState,
        account: &str,
        challenge: &str,
    ) -> Result<&'c Challenge, Refusal> {
        let c = self
            .challenge(challenge)
            .ok_or_else(|| Refusal::UnknownChallenge(challenge.to_string()))?;
        let missing = self.missing_prerequisites(state, account, c);
        if !missing.is_empty() {
            return Err(Refusal::Locked {
                challenge: c.id.clone(),
                missing,
            });
        }
        Ok(c)
    }

    /// Register an account (allowed before and during the event).
    pub fn register(
        &self,
        state: &CtfState,
        account: Account,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        if now >= self.config.end {
            return Err(Refusal::Ended {
                ended_at: self.config.end,
            });
        }
        if !valid_id(&account.id) {
            return Err(Refusal::InvalidAccount(format!(
                "{:?} is not an account id: 1–64 of a-z, 0-9, '-', '_', '.'",
                account.id
            )));
        }
        if account.name.trim().is_empty() || account.name.chars().count() > 80 {
            return Err(Refusal::InvalidAccount(
                "an account's name is 1–80 characters".into(),
            ));
        }
        if state.account(&account.id).is_some() {
            return Err(Refusal::AccountTaken(account.id));
        }
        Ok(Change::Registered(account))
    }

    /// Submit `provided` as the flag of `challenge` for `account` (by `user`, a member in teams
    /// mode). A wrong answer is a change too: it counts towards the rate limit.
    pub fn submit(
        &self,
        state: &CtfState,
        account: &str,
        user: &str,
        challenge: &str,
        provided: &str,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        self.window(now)?;
        self.member(state, account, user)?;
        let c = self.open(state, account, challenge)?;
        if let Some(at) = state.solved_at(account, &c.id) {
            return Err(Refusal::AlreadySolved {
                challenge: c.id.clone(),
                at,
            });
        }
        let wrong: Vec<Timestamp> = state
            .submissions
            .iter()
            .filter(|s| !s.correct && s.account == account && s.challenge == c.id)
            .map(|s| s.at)
            .collect();
        if let Some(max) = c.max_attempts
            && wrong.len() as u32 >= max
        {
            return Err(Refusal::NoAttemptsLeft {
                challenge: c.id.clone(),
                max,
            });
        }
        let RateLimit { max_wrong, per } = self.config.rate_limit;
        let window_start = now.0 - per.to_time();
        let mut recent: Vec<Timestamp> = wrong
            .into_iter()
            .filter(|t| t.0 > window_start && *t <= now)
            .collect();
        recent.sort();
        if recent.len() as u32 >= max_wrong {
            // The count falls below the limit when the (len − max + 1)-th most recent leaves
            // the window.
            let oldest_that_must_leave = recent[recent.len() - max_wrong as usize];
            let retry_at = Timestamp(oldest_that_must_leave.0 + per.to_time());
            return Err(Refusal::RateLimited {
                max_wrong,
                per,
                retry_at,
                wait_seconds: (retry_at.0 - now.0).whole_seconds().max(1),
            });
        }
        let s = provided.trim();
        if s.is_empty() || s.len() > super::challenge::MAX_SUBMISSION_BYTES {
            return Err(Refusal::BadSubmission {
                max: super::challenge::MAX_SUBMISSION_BYTES,
            });
        }
        let correct = c.check_flag(s);
        Ok(Change::Submitted(Submission {
            account: account.to_string(),
            user: user.to_string(),
            challenge: c.id.clone(),
            at: now,
            correct,
            provided: (!correct).then(|| s.to_string()),
        }))
    }

    /// Unlock hint `hint` (0-based) of `challenge` for `account`: its challenge must be open
    /// and the account's live score must cover the cost (as in CTFd).
    pub fn unlock_hint(
        &self,
        state: &CtfState,
        account: &str,
        user: &str,
        challenge: &str,
        hint: usize,
        now: Timestamp,
    ) -> Result<Change, Refusal> {
        self.window(now)?;
        self.member(state, account, user)?;
        let c = self.open(state, account, challenge)?;
        let h = c.hints.get(hint).ok_or_else(|| Refusal::UnknownHint {
            challenge: c.id.clone(),
            hint,
        })?;
        if state
            .unlocks
            .iter()
            .any(|u| u.account == account && u.challenge == c.id && u.hint == hint)
        {
            return Err(Refusal::AlreadyUnlocked {
                challenge: c.id.clone(),
                hint,
            });
        }
        let score = self.score_of(state, account, None);
        if h.cost as i64 > score {
            return Err(Refusal::NotEnoughPoints {
                cost: h.cost,
                score,
            });
        }
        Ok(Change::Unlocked(Unlock {
            account: account.to_string(),
            user: user.to_string(),
            challenge: c.id.clone(),
            hint,
            cost: h.cost,
            at: now,
        }))
    }

    /// The hints `account` has unlocked for `challenge`, with their text.
    pub fn unlocked_hints<'c>(
        &'c self,
        state: &CtfState,
        account: &str,
        challenge: &str,
    ) -> Vec<(usize, &'c str)> {
        let Some(c) = self.challenge(challenge) else {
            return vec![];
        };
        let mut v: Vec<(usize, &str)> = state
            .unlocks
            .iter()
            .filter(|u| u.account == account && u.challenge == challenge)
            .filter_map(|u| c.hints.get(u.hint).map(|h| (u.hint, h.text.as_str())))
            .collect();
        v.sort();
        v
    }

    /// Current values of every challenge, counting solves before `cutoff` (all when `None`).
    pub fn values(&self, state: &CtfState, cutoff: Option<Timestamp>) -> BTreeMap<String, u32> {
        self.challenges
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    value(&c.scoring, state.solve_count(&c.id, cutoff)),
                )
            })
            .collect()
    }

    /// An account's score: its solves at their current values, less its hint costs, counting
    /// what happened before `cutoff` (all when `None`).
    pub fn score_of(&self, state: &CtfState, account: &str, cutoff: Option<Timestamp>) -> i64 {
        let values = self.values(state, cutoff);
        let before = |t: Timestamp| cutoff.is_none_or(|c| t < c);
        let solved: i64 = state
            .submissions
            .iter()
            .filter(|s| s.correct && s.account == account && before(s.at))
            .map(|s| values.get(&s.challenge).copied().unwrap_or(0) as i64)
            .sum();
        let costs: i64 = state
            .unlocks
            .iter()
            .filter(|u| u.account == account && before(u.at))
            .map(|u| u.cost as i64)
            .sum();
        solved - costs
    }
}

//! The scoreboard: accounts ranked by score, ties broken by who reached their score first (the
//! time of their last solve, earlier first, as CTFd does), then by id. After the freeze the
//! public board counts only what happened before it — solves, hint costs and the challenges'
//! values as they stood — so it does not move; the admin board is always live.

use super::event::{Ctf, CtfState};
use palisade_core::Timestamp;
use serde::{Deserialize, Serialize};

/// Who looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Public,
    Admin,
}

/// One account's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub rank: u32,
    pub account: String,
    pub name: String,
    pub score: i64,
    pub solves: u32,
    /// Points spent on hints.
    pub hint_costs: u32,
    pub last_solve_at: Option<Timestamp>,
    pub hidden: bool,
}

/// Who solved a challenge, in order: the first is its first blood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solver {
    pub account: String,
    pub at: Timestamp,
}

/// One challenge on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeStanding {
    pub id: String,
    pub name: String,
    pub category: String,
    pub value: u32,
    pub solvers: Vec<Solver>,
}

impl ChallengeStanding {
    pub fn first_blood(&self) -> Option<&Solver> {
        self.solvers.first()
    }
}

/// The board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scoreboard {
    pub view: View,
    /// Set when this board stopped at the freeze.
    pub frozen_at: Option<Timestamp>,
    pub standings: Vec<Standing>,
    pub challenges: Vec<ChallengeStanding>,
}

impl Scoreboard {
    pub fn standing(&self, account: &str) -> Option<&Standing> {
        self.standings.iter().find(|s| s.account == account)
    }
    pub fn challenge(&self, id: &str) -> Option<&ChallengeStanding> {
        self.challenges.iter().find(|c| c.id == id)
    }
}

impl Ctf {
    /// The scoreboard at `now` for `view`.
    pub fn scoreboard(&self, state: &CtfState, now: Timestamp, view: View) -> Scoreboard {
        let frozen_at = match (view, self.config.freeze) {
            (View::Public, Some(f)) if now >= f => Some(f),
            _ => None,
        };
        // What counts: before the freeze (public, frozen), or up to now.
        let cutoff = frozen_at.unwrap_or(Timestamp(now.0 + time::Duration::nanoseconds(1)));
        let counts = |t: Timestamp| t < cutoff;
        let values = self.values(state, Some(cutoff));
        let visible = |id: &str| {
            state
                .account(id)
                .is_some_and(|a| view == View::Admin || !a.hidden)
        };

        let mut standings: Vec<Standing> = state
            .accounts
            .iter()
            .filter(|a| visible(&a.id))
            .map(|a| {
                let solves: Vec<_> = state
                    .submissions
                    .iter()
                    .filter(|s| s.correct && s.account == a.id && counts(s.at))
                    .collect();
                let hint_costs: u32 = state
                    .unlocks
                    .iter()
                    .filter(|u| u.account == a.id && counts(u.at))
                    .map(|u| u.cost)
                    .sum();
                let solved: i64 = solves
                    .iter()
                    .map(|s| values.get(&s.challenge).copied().unwrap_or(0) as i64)
                    .sum();
                Standing {
                    rank: 0,
                    account: a.id.clone(),
                    name: a.name.clone(),
                    score: solved - hint_costs as i64,
                    solves: solves.len() as u32,
                    hint_costs,
                    last_solve_at: solves.iter().map(|s| s.at).max(),
                    hidden: a.hidden,
                }
            })
            .collect();
        standings.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| match (a.last_solve_at, b.last_solve_at) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| a.account.cmp(&b.account))
        });
        for (i, s) in standings.iter_mut().enumerate() {
            s.rank = i as u32 + 1;
        }

        let challenges = self
            .challenges
            .iter()
            .map(|c| {
                let mut solvers: Vec<Solver> = state
                    .submissions
                    .iter()
                    .filter(|s| s.correct && s.challenge == c.id && counts(s.at))
                    .filter(|s| visible(&s.account))
                    .map(|s| Solver {
                        account: s.account.clone(),
                        at: s.at,
                    })
                    .collect();
                solvers.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.account.cmp(&b.account)));
                ChallengeStanding {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    category: c.category.clone(),
                    value: values.get(&c.id).copied().unwrap_or(0),
                    solvers,
                }
            })
            .collect();
        Scoreboard {
            view,
            frozen_at,
            standings,
            challenges,
        }
    }
}

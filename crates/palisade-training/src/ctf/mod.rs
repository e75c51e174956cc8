//! Capture the flag: challenges ([`challenge`]), their values ([`value`]), an event with its
//! rules — window, prerequisites, hints, rate limits — as pure decisions over a serde state
//! ([`event`]), the scoreboard with a freeze ([`scoreboard`]), and CTFd import ([`ctfd`]).

pub mod challenge;
pub mod ctfd;
pub mod event;
pub mod scoreboard;
pub mod stream;
pub mod value;

pub use challenge::{Challenge, Decay, Flag, Hint, Scoring};
pub use event::{
    Account, Change, Ctf, CtfState, EventConfig, Mode, RateLimit, Refusal, Submission, Unlock,
};
pub use scoreboard::{Scoreboard, Standing, View};

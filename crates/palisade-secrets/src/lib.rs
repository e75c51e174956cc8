//! Secret detection for working trees, stdin, a git index and full git history.
//!
//! The pipeline is: rules (data, [`rules`]) are compiled into a [`Scanner`] whose keyword
//! prefilter (one Aho-Corasick automaton over every rule's keywords) decides which rule regexes
//! run on a blob at all; matches then pass the entropy gate, the allowlists and the inline
//! `palisade:allow` check before they become [`Finding`]s. Sources ([`walk`], [`git`]) feed blobs
//! to the scanner in parallel; [`report`] renders findings; [`baseline`] silences known ones.

pub mod baseline;
pub mod error;
pub mod git;
pub mod gitleaks;
pub mod report;
pub mod rules;
pub mod scanner;
pub mod sigv4;
pub mod verify;
pub mod walk;

pub use error::Error;
pub use rules::{Confidence, Flag, RuleSet, Severity};
pub use scanner::{CommitInfo, Finding, Issue, Outcome, Progress, Scanner};

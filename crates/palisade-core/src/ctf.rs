//! The rules of a CTF event on the ledger (`ctf/…` streams). The event itself — challenges,
//! accounts, submissions, dynamic values, the scoreboard — is `palisade-training`'s (its `ctf`
//! module implements [`crate::Aggregate`] for it); the core holds its stream kind and its rules,
//! so that every refusal of the deployment is listed in one place ([`crate::rule::ALL`]).

/// The namespace of event names among stream keys.
pub const CTF_NAME_KEY: &str = "ctf-name";

/// A CTF event's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    pub const CTF_SETUP: Rule = Rule::new(
        "ctf-setup",
        InvalidInput,
        "an event has a name, ends after it starts, freezes within its window, allows at least one wrong answer, and holds challenges whose flags are hashed, whose prerequisites exist and whose attachments are all sent (each at most 8 MiB, 32 MiB in all)",
    );
    pub const CTF_ORGANISERS: Rule = Rule::new(
        "ctf-organisers",
        Permission,
        "only admins set up events, register accounts for others and freeze the scoreboard",
    );
    pub const CTF_NOT_OPEN: Rule = Rule::new(
        "ctf-not-open",
        Precondition,
        "flags and hints are taken only while the event runs, and players download attachments from its start; accounts are registered until it ends",
    );
    pub const CTF_ACCOUNT: Rule = Rule::new(
        "ctf-account",
        InvalidInput,
        "an account exists in its event, has an id of 1–64 of a-z, 0-9, '-', '_', '.' unique there, and a name of 1–80 characters",
    );
    pub const CTF_NOT_A_MEMBER: Rule = Rule::new(
        "ctf-not-a-member",
        Permission,
        "only an account's members submit flags and unlock hints for it",
    );
    pub const CTF_CHALLENGE: Rule = Rule::new(
        "ctf-challenge",
        InvalidInput,
        "a submission names a challenge (and hint) of the event and is 1–1,024 bytes",
    );
    pub const CTF_LOCKED: Rule = Rule::new(
        "ctf-locked",
        Precondition,
        "a challenge opens once its prerequisites are solved",
    );
    pub const CTF_DONE: Rule = Rule::new(
        "ctf-done",
        Conflict,
        "a challenge is solved once and a hint unlocked once per account",
    );
    pub const CTF_ATTEMPTS: Rule = Rule::new(
        "ctf-attempts",
        Precondition,
        "a challenge with a limit of wrong answers takes no more once it is reached",
    );
    pub const CTF_RATE_LIMIT: Rule = Rule::new(
        "ctf-rate-limit",
        Precondition,
        "too many wrong answers on one challenge in a short time wait for the next window",
    );
    pub const CTF_POINTS: Rule = Rule::new(
        "ctf-points",
        Precondition,
        "a hint costs points the account has",
    );
    pub const CTF_FREEZE: Rule = Rule::new(
        "ctf-freeze",
        InvalidInput,
        "the scoreboard freezes within the event's window",
    );

    /// Every CTF rule.
    pub const ALL: &[Rule] = &[
        CTF_SETUP,
        CTF_ORGANISERS,
        CTF_NOT_OPEN,
        CTF_ACCOUNT,
        CTF_NOT_A_MEMBER,
        CTF_CHALLENGE,
        CTF_LOCKED,
        CTF_DONE,
        CTF_ATTEMPTS,
        CTF_RATE_LIMIT,
        CTF_POINTS,
        CTF_FREEZE,
    ];
}

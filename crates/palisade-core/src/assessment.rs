//! The rules of a maturity assessment on the ledger (`assessment/…` streams): one stream per
//! assessment (a team's SAMM, the organisation's CSF profile…), each push of its answers file a
//! signed event. The aggregate (`AssessmentState`) lives with the models in `palisade-maturity`
//! (`stream.rs`), which implements [`crate::Aggregate`] for it; the core holds its stream kind's
//! rules, listed with every other in [`crate::rule::ALL`].

/// The namespace of assessment names among stream keys.
pub const ASSESSMENT_NAME_KEY: &str = "assessment-name";

/// An assessment's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    pub const ASSESSMENT_NAME: Rule = Rule::new(
        "assessment-name",
        InvalidInput,
        "an assessment's name is 1–64 characters of a-z, 0-9, '.', '_', '-', and it names a model: samm, dsomm, csf or bsimm",
    );
    pub const ASSESSMENT_FILE: Rule = Rule::new(
        "assessment-file",
        InvalidInput,
        "an assessment records an answers file that reads (format 1, at most 1 MiB) for the assessment's kind of model",
    );
    pub const ASSESSMENT_CONFIRMED_BY_SELF: Rule = Rule::new(
        "assessment-confirmed-by-self",
        Permission,
        "an answer is confirmed by whoever records the confirmation: a new `confirmed_by` names the account that pushes it",
    );
    pub const ASSESSMENT_UNCHANGED: Rule = Rule::new(
        "assessment-unchanged",
        Conflict,
        "a push records a file that differs from the last one recorded",
    );
    pub const ASSESSMENT_READ_ONLY: Rule = Rule::new(
        "assessment-read-only",
        Permission,
        "viewer accounts read assessments but do not change them",
    );

    /// Every assessment rule.
    pub const ALL: &[Rule] = &[
        ASSESSMENT_NAME,
        ASSESSMENT_FILE,
        ASSESSMENT_CONFIRMED_BY_SELF,
        ASSESSMENT_UNCHANGED,
        ASSESSMENT_READ_ONLY,
    ];
}

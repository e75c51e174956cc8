//! A maturity assessment as a stream on the ledger (`assessment/…`): created for one kind of
//! model, then each push of its answers file (the format of `palisade maturity template`, with
//! its dated assessments, answers, evidence and confirmations) is a signed event holding the
//! file. The server keeps who pushed what and when; scores come from the file and the model, as
//! offline (`palisade maturity pull`, then `assess --model …`).
//!
//! One rule guards what the record says: a confirmation names whoever records it. An answer
//! whose `confirmed_by` is new or changed in a push must name the account that pushes it, so
//! the ledger's actor and the file agree on who confirmed.

use crate::answers::{self, AnswersFile, Kind};
use palisade_core::aggregate::{Aggregate, Context, FoldError, check_first, check_next};
use palisade_core::assessment::rules;
use palisade_core::event::{Event, Timestamp};
use palisade_core::rule::{Refusal, refuse};
use palisade_core::stream::{StreamId, StreamKind};
use palisade_core::types::ResourceName;
use palisade_core::{AccountRole, Actor, UserName};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use uuid::Uuid;

/// Largest answers file an assessment records.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// What happened to an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssessmentPayload {
    Created {
        name: ResourceName,
        kind: Kind,
    },
    /// An answers file pushed: its text as pushed, its SHA-256, and what it holds.
    Recorded {
        file: String,
        sha256: String,
        model_version: String,
        assessments: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latest: Option<String>,
    },
}

impl AssessmentPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            AssessmentPayload::Created { .. } => "created",
            AssessmentPayload::Recorded { .. } => "recorded",
        }
    }
}

/// Starting an assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAssessment {
    pub name: String,
    pub kind: Kind,
}

/// A change to an assessment.
#[derive(Debug, Clone, PartialEq)]
pub enum AssessmentCommand {
    /// Record an answers file (its text).
    Record { file: String },
}

/// One push, as folded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub seq: u64,
    pub by: UserName,
    pub at: Timestamp,
    pub sha256: String,
    pub model_version: String,
    pub assessments: usize,
    pub latest: Option<String>,
}

/// An assessment: a fold of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentState {
    pub id: Uuid,
    pub name: ResourceName,
    pub kind: Kind,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Every push, oldest first.
    pub records: Vec<Recorded>,
    /// The last file recorded (what `pull` gives).
    pub file: Option<String>,
    pub last_seq: u64,
}

/// Read an answers file's text as the offline commands do.
fn read(text: &str) -> Result<AnswersFile, Refusal> {
    if text.len() > MAX_FILE_BYTES {
        return refuse(
            rules::ASSESSMENT_FILE,
            format!(
                "the answers file is {} bytes; at most {MAX_FILE_BYTES}",
                text.len()
            ),
        );
    }
    answers::parse(Path::new("answers.yaml"), text)
        .map_err(|e| Refusal::new(rules::ASSESSMENT_FILE, e.to_string()))
}

/// Who confirmed each answer of each dated assessment: `(date, team, id)` → confirmer.
fn confirmations(f: &AnswersFile) -> BTreeMap<(String, Option<String>, String), String> {
    let mut out = BTreeMap::new();
    for a in &f.assessments {
        for (id, ans) in &a.answers {
            if let Some(by) = &ans.confirmed_by {
                out.insert((a.date.clone(), a.team.clone(), id.clone()), by.clone());
            }
        }
    }
    out
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::ASSESSMENT_READ_ONLY,
            "viewer accounts may read assessments but not change them",
        );
    }
    Ok(())
}

impl Aggregate for AssessmentState {
    const KIND: StreamKind = StreamKind::Assessment;
    type Payload = AssessmentPayload;
    type Command = AssessmentCommand;
    type Create = CreateAssessment;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Assessment, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<AssessmentPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Assessment, e)?;
        let AssessmentPayload::Created { name, kind } = &e.data else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        Ok(AssessmentState {
            id: e.stream.id,
            name: name.clone(),
            kind: *kind,
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            records: Vec::new(),
            file: None,
            last_seq: e.seq,
        })
    }

    fn apply(&mut self, e: &Event<AssessmentPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            AssessmentPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            AssessmentPayload::Recorded {
                file,
                sha256,
                model_version,
                assessments,
                latest,
            } => {
                self.records.push(Recorded {
                    seq: e.seq,
                    by: e.actor.clone(),
                    at: e.recorded_at,
                    sha256: sha256.clone(),
                    model_version: model_version.clone(),
                    assessments: *assessments,
                    latest: latest.clone(),
                });
                self.file = Some(file.clone());
            }
        }
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
        Ok(())
    }

    fn create_role(_: &CreateAssessment) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateAssessment,
        _: &Context<'_, ()>,
    ) -> Result<Vec<AssessmentPayload>, Refusal> {
        writer(actor)?;
        let name = ResourceName::parse(c.name.trim())
            .map_err(|e| Refusal::new(rules::ASSESSMENT_NAME, e.to_string()))?;
        Ok(vec![AssessmentPayload::Created { name, kind: c.kind }])
    }

    fn required_role(_: &AssessmentCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every assessment.
    fn visible_to(&self, _: &Actor, _: Option<&AssessmentCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &AssessmentCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<AssessmentPayload>, Refusal> {
        writer(actor)?;
        let AssessmentCommand::Record { file } = cmd;
        let parsed = read(file)?;
        if parsed.model.kind != self.kind {
            return refuse(
                rules::ASSESSMENT_FILE,
                format!(
                    "{} is a {} assessment; this file answers {}",
                    self.name,
                    self.kind.title(),
                    parsed.model.kind.title()
                ),
            );
        }
        let sha256 = hex::encode(Sha256::digest(file.as_bytes()));
        if self.records.last().is_some_and(|r| r.sha256 == sha256) {
            return refuse(
                rules::ASSESSMENT_UNCHANGED,
                "this file is the one recorded last; nothing to record",
            );
        }
        let before = match &self.file {
            Some(text) => confirmations(&read(text)?),
            None => BTreeMap::new(),
        };
        for ((date, team, id), by) in confirmations(&parsed) {
            let key = (date.clone(), team.clone(), id.clone());
            if before.get(&key) != Some(&by) && by != actor.user.as_str() {
                return refuse(
                    rules::ASSESSMENT_CONFIRMED_BY_SELF,
                    format!(
                        "the answer {id} of {date} is confirmed by {by} in this push, but {} pushes it: {by} confirms their own answers",
                        actor.user
                    ),
                );
            }
        }
        Ok(vec![AssessmentPayload::Recorded {
            file: file.clone(),
            sha256,
            model_version: parsed.model.version.clone(),
            assessments: parsed.assessments.len(),
            latest: parsed.assessments.iter().map(|a| a.date.clone()).max(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(name: &str, role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse(name).unwrap(),
            account_role: role,
        }
    }

    fn file(kind: &str, confirmed_by: Option<&str>) -> String {
        let confirm = confirmed_by
            .map(|c| format!(", confirmed_by: {c}, confirmed_at: \"2026-03-02\""))
            .unwrap_or_default();
        format!(
            "format: 1\nmodel: {{ kind: {kind}, version: \"2.0\" }}\nassessments:\n  - date: \"2026-03-01\"\n    answers:\n      G-SM-A-1: {{ value: 0.5{confirm} }}\n"
        )
    }

    fn state(kind: Kind) -> AssessmentState {
        let who = actor("ana", AccountRole::Responder);
        let ctx = Context {
            now: Timestamp::parse("2026-03-01T00:00:00Z").unwrap(),
            policy: &(),
        };
        let p = AssessmentState::decide_create(
            &who,
            &CreateAssessment {
                name: "payments-samm".into(),
                kind,
            },
            &ctx,
        )
        .unwrap();
        let e = Event {
            format: palisade_core::event::EVENT_FORMAT,
            stream: StreamId::new(StreamKind::Assessment, Uuid::now_v7()),
            seq: 1,
            recorded_at: ctx.now,
            occurred_at: ctx.now,
            actor: who.user.clone(),
            data: p.into_iter().next().unwrap(),
        };
        AssessmentState::from_first(&e).unwrap()
    }

    fn push(st: &mut AssessmentState, who: &Actor, text: &str) -> Result<(), Refusal> {
        let ctx = Context {
            now: Timestamp::parse("2026-03-02T00:00:00Z").unwrap(),
            policy: &(),
        };
        for p in st.decide(
            who,
            &AssessmentCommand::Record {
                file: text.to_string(),
            },
            &ctx,
        )? {
            let e = Event {
                format: palisade_core::event::EVENT_FORMAT,
                stream: st.stream(),
                seq: st.last_seq + 1,
                recorded_at: ctx.now,
                occurred_at: ctx.now,
                actor: who.user.clone(),
                data: p,
            };
            st.apply(&e).unwrap();
        }
        Ok(())
    }

    #[test]
    fn a_push_is_recorded_once_and_a_confirmation_names_who_pushes_it() {
        let mut st = state(Kind::Samm);
        let (ana, ben) = (
            actor("ana", AccountRole::Responder),
            actor("ben", AccountRole::Responder),
        );
        push(&mut st, &ana, &file("samm", None)).unwrap();
        assert_eq!(st.records.len(), 1);
        assert_eq!(st.records[0].latest.as_deref(), Some("2026-03-01"));
        let r = push(&mut st, &ana, &file("samm", None)).unwrap_err();
        assert_eq!(r.rule, rules::ASSESSMENT_UNCHANGED);
        // Ben cannot record Ana's confirmation; Ana can.
        let r = push(&mut st, &ben, &file("samm", Some("ana"))).unwrap_err();
        assert_eq!(r.rule, rules::ASSESSMENT_CONFIRMED_BY_SELF);
        push(&mut st, &ana, &file("samm", Some("ana"))).unwrap();
        // Once recorded, Ben may push the file on (with other changes) keeping it.
        let more = file("samm", Some("ana")).replace("value: 0.5", "value: 1");
        push(&mut st, &ben, &more).unwrap();
        assert_eq!(st.records.len(), 3);
        assert_eq!(st.records[2].by.as_str(), "ben");
    }

    #[test]
    fn the_file_must_read_and_answer_the_assessments_model() {
        let mut st = state(Kind::Samm);
        let ana = actor("ana", AccountRole::Responder);
        let r = push(&mut st, &ana, &file("dsomm", None)).unwrap_err();
        assert_eq!(r.rule, rules::ASSESSMENT_FILE);
        let r = push(&mut st, &ana, "format: 1\nmodel: nonsense\n").unwrap_err();
        assert_eq!(r.rule, rules::ASSESSMENT_FILE);
        assert!(r.message.contains("answers.yaml:"), "{}", r.message);
        let big = "#".repeat(MAX_FILE_BYTES + 1);
        assert_eq!(
            push(&mut st, &ana, &big).unwrap_err().rule,
            rules::ASSESSMENT_FILE
        );
        let vic = actor("vic", AccountRole::Viewer);
        assert_eq!(
            push(&mut st, &vic, &file("samm", None)).unwrap_err().rule,
            rules::ASSESSMENT_READ_ONLY
        );
    }
}

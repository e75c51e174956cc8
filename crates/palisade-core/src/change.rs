//! Change events: a deploy, a configuration push, a feature flag flipped — what a service's
//! tooling reports through the Events API's change endpoint. Each is its own one-event stream, so
//! a busy pipeline never grows a service's state; lists by service and time window come from
//! the records projection ("what changed on this service just before the incident?").

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, check_first};
use crate::alert::{AlertLink, CustomDetails, MAX_FIELD, MAX_LINKS, MAX_SUMMARY, Origin};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The change event's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A change event's fields are within the Events API's limits.
    pub const CHANGE_INPUT: Rule = Rule::new(
        "change-input",
        InvalidInput,
        "a change event's fields are within the Events API's limits (summary 1–1,024 characters)",
    );

    /// Every change rule.
    pub const ALL: &[Rule] = &[CHANGE_INPUT];
}

/// What a change event says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeDetails {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the change happened, as the sender said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// As JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<CustomDetails>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AlertLink>,
}

impl ChangeDetails {
    /// Everything wrong with it, as the Events API would say it.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let n = self.summary.chars().count();
        if self.summary.trim().is_empty() {
            errors.push("'payload.summary' is missing or blank.".to_string());
        } else if n > MAX_SUMMARY {
            errors.push(format!(
                "'payload.summary' is {n} characters; the limit is {MAX_SUMMARY}."
            ));
        }
        for (name, v) in [
            ("payload.source", self.source.as_ref()),
            ("payload.timestamp", self.timestamp.as_ref()),
        ] {
            if v.is_some_and(|v| v.chars().count() > MAX_FIELD) {
                errors.push(format!("'{name}' is longer than {MAX_FIELD} characters."));
            }
        }
        if self.links.len() > MAX_LINKS {
            errors.push(format!("'links' has more than {MAX_LINKS} entries."));
        }
        errors
    }
}

/// The one event of a change stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangePayload {
    Recorded {
        service: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
        details: ChangeDetails,
    },
}

/// Recording a change.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    pub service: Uuid,
    pub origin: Option<Origin>,
    pub details: ChangeDetails,
}

/// A change event has no commands: it is a fact, recorded once.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeCommand {}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeState {
    pub id: Uuid,
    pub service: Uuid,
    pub origin: Option<Origin>,
    pub details: ChangeDetails,
    pub recorded_by: UserName,
    pub recorded_at: Timestamp,
    pub last_seq: u64,
}

impl Aggregate for ChangeState {
    const KIND: StreamKind = StreamKind::Change;
    type Payload = ChangePayload;
    type Command = ChangeCommand;
    type Create = RecordChange;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Change, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn from_first(e: &Event<ChangePayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Change, e)?;
        let ChangePayload::Recorded {
            service,
            origin,
            details,
        } = &e.data;
        Ok(ChangeState {
            id: e.stream.id,
            service: *service,
            origin: origin.clone(),
            details: details.clone(),
            recorded_by: e.actor.clone(),
            recorded_at: e.recorded_at,
            last_seq: e.seq,
        })
    }
    fn apply(&mut self, e: &Event<ChangePayload>) -> Result<(), FoldError> {
        Err(FoldError::CreatedAgain {
            seq: e.seq,
            what: "recorded",
        })
    }
    fn create_role(_: &RecordChange) -> AccountRole {
        AccountRole::Responder
    }
    fn decide_create(
        _: &Actor,
        c: &RecordChange,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ChangePayload>, Refusal> {
        let problems = c.details.problems();
        if !problems.is_empty() {
            return refuse(rules::CHANGE_INPUT, problems.join(" "));
        }
        Ok(vec![ChangePayload::Recorded {
            service: c.service,
            origin: c.origin.clone(),
            details: c.details.clone(),
        }])
    }
    fn required_role(c: &ChangeCommand) -> AccountRole {
        match *c {}
    }
    fn visible_to(&self, _: &Actor, _: Option<&ChangeCommand>, _: Timestamp) -> bool {
        true
    }
    fn decide(
        &self,
        _: &Actor,
        c: &ChangeCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<ChangePayload>, Refusal> {
        match *c {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    #[test]
    fn a_change_is_one_event_and_a_blank_summary_is_refused() {
        let a = Actor {
            user: UserName::parse("integration").unwrap(),
            account_role: AccountRole::Responder,
        };
        let now = Timestamp::parse("2026-12-07T03:00:00Z").unwrap();
        let ctx = Context { now, policy: &() };
        let mut c = RecordChange {
            service: Uuid::nil(),
            origin: None,
            details: ChangeDetails {
                summary: "Deployed v1.4.2".into(),
                source: Some("ci".into()),
                timestamp: None,
                custom_details: None,
                links: Vec::new(),
            },
        };
        let p = ChangeState::decide_create(&a, &c, &ctx).unwrap();
        let events = numbered(
            StreamId::new(StreamKind::Change, Uuid::nil()),
            0,
            &a.user,
            now,
            None,
            p,
        );
        let st = ChangeState::fold(&events).unwrap();
        assert_eq!(st.details.summary, "Deployed v1.4.2");
        let mut twice = events.clone();
        twice.extend(numbered(
            st.stream(),
            1,
            &a.user,
            now,
            None,
            vec![events[0].data.clone()],
        ));
        assert!(matches!(
            ChangeState::fold(&twice),
            Err(FoldError::CreatedAgain { seq: 2, .. })
        ));
        c.details.summary = "  ".into();
        let r = ChangeState::decide_create(&a, &c, &ctx).unwrap_err();
        assert_eq!(r.rule, rules::CHANGE_INPUT);
    }
}

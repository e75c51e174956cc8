//! The escalation policy aggregate: who is paged, in what order, how long after the previous
//! level, and how often the whole is repeated. One stream per policy, unique by name. Levels
//! name their targets — users and on-call schedules — by name; the application checks that they
//! exist when a command names them.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, HistoryEntry, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, ResourceName, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The escalation policy's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A policy name is 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
    pub const ESCALATION_NAME: Rule = Rule::new(
        "escalation-name",
        InvalidInput,
        "an escalation policy's name is 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
    /// A policy's description is within its limit.
    pub const ESCALATION_INPUT: Rule = Rule::new(
        "escalation-input",
        InvalidInput,
        "an escalation policy's description is at most 2,000 characters",
    );
    /// Levels: 1–10 of them, each with 1–20 distinct targets and a delay of 1–1,440 minutes.
    pub const ESCALATION_LEVELS: Rule = Rule::new(
        "escalation-levels",
        InvalidInput,
        "an escalation policy has 1–10 levels, each with 1–20 distinct targets and a delay of 1–1440 minutes",
    );
    /// The whole policy is repeated 0–9 times.
    pub const ESCALATION_REPEAT: Rule = Rule::new(
        "escalation-repeat",
        InvalidInput,
        "an escalation policy repeats 0–9 times",
    );
    /// The command would change nothing.
    pub const ESCALATION_UNCHANGED: Rule = Rule::new(
        "escalation-unchanged",
        Conflict,
        "a change to an escalation policy must change something",
    );
    /// Viewers read policies but do not change them.
    pub const ESCALATION_READ_ONLY: Rule = Rule::new(
        "escalation-read-only",
        Permission,
        "viewer accounts read escalation policies but do not change them",
    );

    /// Every escalation policy rule.
    pub const ALL: &[Rule] = &[
        ESCALATION_NAME,
        ESCALATION_INPUT,
        ESCALATION_LEVELS,
        ESCALATION_REPEAT,
        ESCALATION_UNCHANGED,
        ESCALATION_READ_ONLY,
    ];
}

/// The namespace of policy names among stream keys.
pub const ESCALATION_NAME_KEY: &str = "escalation-name";
/// Most levels of a policy.
pub const MAX_LEVELS: usize = 10;
/// Most targets of a level.
pub const MAX_TARGETS: usize = 20;
/// Longest delay of a level, in minutes (a day).
pub const MAX_DELAY_MINUTES: u32 = 1_440;
/// Most repeats of a policy.
pub const MAX_REPEAT: u8 = 9;
const MAX_DESCRIPTION: usize = 2_000;

/// Who a level pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// One person.
    User {
        #[cfg_attr(feature = "openapi", schema(value_type = UserName))]
        name: UserName,
    },
    /// Whoever is on call on a schedule when the level is reached.
    Schedule {
        #[cfg_attr(feature = "openapi", schema(value_type = ResourceName))]
        name: ResourceName,
    },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::User { name } => write!(f, "user {name}"),
            Target::Schedule { name } => write!(f, "schedule {name}"),
        }
    }
}

/// One level: its targets are paged when the alert reaches it (the first level: as soon as the
/// alert opens), and if nobody acknowledges within `delay_minutes`, the next level is paged (or,
/// after the last, the first again while rounds remain), as PagerDuty's escalation rules work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Level {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub delay_minutes: u32,
    pub targets: Vec<Target>,
}

/// What happened to a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EscalationPayload {
    Created {
        name: ResourceName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        levels: Vec<Level>,
        repeat: u8,
        keep_paging_after_ack: bool,
    },
    LevelsReplaced {
        levels: Vec<Level>,
    },
    Renamed {
        from: ResourceName,
        to: ResourceName,
    },
    RepeatSet {
        repeat: u8,
    },
    KeepPagingSet {
        keep_paging_after_ack: bool,
    },
}

impl EscalationPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            EscalationPayload::Created { .. } => "created",
            EscalationPayload::LevelsReplaced { .. } => "levels_replaced",
            EscalationPayload::Renamed { .. } => "renamed",
            EscalationPayload::RepeatSet { .. } => "repeat_set",
            EscalationPayload::KeepPagingSet { .. } => "keep_paging_set",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            EscalationPayload::Created { name, levels, .. } => {
                format!(
                    "Escalation policy {name} created with {} level(s)",
                    levels.len()
                )
            }
            EscalationPayload::LevelsReplaced { levels } => format!(
                "Levels replaced: {}",
                levels
                    .iter()
                    .map(|l| format!(
                        "after {} min {}",
                        l.delay_minutes,
                        l.targets
                            .iter()
                            .map(Target::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            EscalationPayload::Renamed { from, to } => format!("Renamed from {from} to {to}"),
            EscalationPayload::RepeatSet { repeat } => format!("Repeats {repeat} time(s)"),
            EscalationPayload::KeepPagingSet {
                keep_paging_after_ack,
            } => {
                if *keep_paging_after_ack {
                    "Keeps paging a level's targets after the first acknowledgement".to_string()
                } else {
                    "Stops paging at the first acknowledgement".to_string()
                }
            }
        }
    }
}

/// Starting a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateEscalation {
    pub name: String,
    pub description: Option<String>,
    pub levels: Vec<Level>,
    pub repeat: u8,
    pub keep_paging_after_ack: bool,
}

/// A change to a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum EscalationCommand {
    SetLevels {
        levels: Vec<Level>,
    },
    Rename {
        name: String,
    },
    /// Set the repeat count and/or the flag (at least one).
    Configure {
        repeat: Option<u8>,
        keep_paging_after_ack: Option<bool>,
    },
}

/// The users and schedules levels name.
pub fn targets_named(levels: &[Level]) -> (Vec<UserName>, Vec<ResourceName>) {
    let mut users = Vec::new();
    let mut schedules = Vec::new();
    for t in levels.iter().flat_map(|l| &l.targets) {
        match t {
            Target::User { name } => users.push(name.clone()),
            Target::Schedule { name } => schedules.push(name.clone()),
        }
    }
    users.sort();
    users.dedup();
    schedules.sort();
    schedules.dedup();
    (users, schedules)
}

impl EscalationCommand {
    /// The levels it sets, if any (their targets must exist).
    pub fn levels(&self) -> &[Level] {
        match self {
            EscalationCommand::SetLevels { levels } => levels,
            _ => &[],
        }
    }
}

/// An escalation policy: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationState {
    pub id: Uuid,
    pub name: ResourceName,
    pub description: Option<String>,
    pub levels: Vec<Level>,
    pub repeat: u8,
    pub keep_paging_after_ack: bool,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::ESCALATION_READ_ONLY,
            "viewer accounts may read escalation policies but not change them",
        );
    }
    Ok(())
}

fn name(s: &str) -> Result<ResourceName, Refusal> {
    ResourceName::parse(s.trim()).map_err(|e| Refusal::new(rules::ESCALATION_NAME, e.to_string()))
}

/// Levels within the limits, each target once per level.
pub fn check_levels(levels: &[Level]) -> Result<(), Refusal> {
    let bad = |m: String| refuse(rules::ESCALATION_LEVELS, m);
    if levels.is_empty() || levels.len() > MAX_LEVELS {
        return bad(format!(
            "a policy has 1–{MAX_LEVELS} levels ({} given)",
            levels.len()
        ));
    }
    for (i, l) in levels.iter().enumerate() {
        if !(1..=MAX_DELAY_MINUTES).contains(&l.delay_minutes) {
            return bad(format!(
                "level {i}: the delay is {} minutes; it must be 1–{MAX_DELAY_MINUTES}",
                l.delay_minutes
            ));
        }
        if l.targets.is_empty() || l.targets.len() > MAX_TARGETS {
            return bad(format!(
                "level {i} has {} targets; it must have 1–{MAX_TARGETS}",
                l.targets.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &l.targets {
            if !seen.insert(t) {
                return bad(format!("level {i} names {t} twice"));
            }
        }
    }
    Ok(())
}

fn check_repeat(repeat: u8) -> Result<(), Refusal> {
    if repeat > MAX_REPEAT {
        return refuse(
            rules::ESCALATION_REPEAT,
            format!("repeat is {repeat}; it must be 0–{MAX_REPEAT}"),
        );
    }
    Ok(())
}

impl EscalationState {
    fn record(&mut self, e: &Event<EscalationPayload>) {
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

impl Aggregate for EscalationState {
    const KIND: StreamKind = StreamKind::Escalation;
    type Payload = EscalationPayload;
    type Command = EscalationCommand;
    type Create = CreateEscalation;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Escalation, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<EscalationPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Escalation, e)?;
        let EscalationPayload::Created {
            name,
            description,
            levels,
            repeat,
            keep_paging_after_ack,
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        let mut st = EscalationState {
            id: e.stream.id,
            name: name.clone(),
            description: description.clone(),
            levels: levels.clone(),
            repeat: *repeat,
            keep_paging_after_ack: *keep_paging_after_ack,
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<EscalationPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            EscalationPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            EscalationPayload::LevelsReplaced { levels } => self.levels = levels.clone(),
            EscalationPayload::Renamed { to, .. } => self.name = to.clone(),
            EscalationPayload::RepeatSet { repeat } => self.repeat = *repeat,
            EscalationPayload::KeepPagingSet {
                keep_paging_after_ack,
            } => self.keep_paging_after_ack = *keep_paging_after_ack,
        }
        self.record(e);
        Ok(())
    }

    fn create_role(_: &CreateEscalation) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateEscalation,
        _: &Context<'_, ()>,
    ) -> Result<Vec<EscalationPayload>, Refusal> {
        writer(actor)?;
        let name = name(&c.name)?;
        let description = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return refuse(
                rules::ESCALATION_INPUT,
                format!("the description is longer than {MAX_DESCRIPTION} characters"),
            );
        }
        check_levels(&c.levels)?;
        check_repeat(c.repeat)?;
        Ok(vec![EscalationPayload::Created {
            name,
            description: description.map(str::to_string),
            levels: c.levels.clone(),
            repeat: c.repeat,
            keep_paging_after_ack: c.keep_paging_after_ack,
        }])
    }

    fn required_role(_: &EscalationCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every policy.
    fn visible_to(&self, _: &Actor, _: Option<&EscalationCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &EscalationCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<EscalationPayload>, Refusal> {
        writer(actor)?;
        let unchanged = |m: &str| refuse(rules::ESCALATION_UNCHANGED, m.to_string());
        match cmd {
            EscalationCommand::SetLevels { levels } => {
                check_levels(levels)?;
                if *levels == self.levels {
                    return unchanged("the policy already has these levels");
                }
                Ok(vec![EscalationPayload::LevelsReplaced {
                    levels: levels.clone(),
                }])
            }
            EscalationCommand::Rename { name: new } => {
                let to = name(new)?;
                if to == self.name {
                    return unchanged("the policy already has that name");
                }
                Ok(vec![EscalationPayload::Renamed {
                    from: self.name.clone(),
                    to,
                }])
            }
            EscalationCommand::Configure {
                repeat,
                keep_paging_after_ack,
            } => {
                let mut out = Vec::new();
                if let Some(r) = repeat {
                    check_repeat(*r)?;
                    if *r != self.repeat {
                        out.push(EscalationPayload::RepeatSet { repeat: *r });
                    }
                }
                if let Some(k) = keep_paging_after_ack
                    && *k != self.keep_paging_after_ack
                {
                    out.push(EscalationPayload::KeepPagingSet {
                        keep_paging_after_ack: *k,
                    });
                }
                if out.is_empty() {
                    return unchanged("the policy already is configured so");
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    fn actor(role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse("sam").unwrap(),
            account_role: role,
        }
    }
    fn at() -> Timestamp {
        Timestamp::parse("2026-12-06T10:00:00Z").unwrap()
    }
    fn ctx() -> Context<'static, ()> {
        Context {
            now: at(),
            policy: &(),
        }
    }
    fn user(n: &str) -> Target {
        Target::User {
            name: UserName::parse(n).unwrap(),
        }
    }
    fn schedule(n: &str) -> Target {
        Target::Schedule {
            name: ResourceName::parse(n).unwrap(),
        }
    }
    fn level(delay: u32, targets: Vec<Target>) -> Level {
        Level {
            delay_minutes: delay,
            targets,
        }
    }
    fn create(levels: Vec<Level>, repeat: u8) -> CreateEscalation {
        CreateEscalation {
            name: "payments".into(),
            description: None,
            levels,
            repeat,
            keep_paging_after_ack: false,
        }
    }
    fn created() -> EscalationState {
        let a = actor(AccountRole::Responder);
        let p = EscalationState::decide_create(
            &a,
            &create(
                vec![
                    level(5, vec![schedule("payments-primary")]),
                    level(15, vec![user("ana"), schedule("payments-secondary")]),
                ],
                2,
            ),
            &ctx(),
        )
        .unwrap();
        EscalationState::fold(&numbered(
            StreamId::new(StreamKind::Escalation, Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            p,
        ))
        .unwrap()
    }
    fn run(st: &mut EscalationState, cmd: EscalationCommand) -> Result<(), Refusal> {
        let a = actor(AccountRole::Responder);
        let p = st.decide(&a, &cmd, &ctx())?;
        for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
            st.apply(&e).unwrap();
        }
        Ok(())
    }

    #[test]
    fn a_policy_is_created_and_changed_by_its_events() {
        let mut st = created();
        assert_eq!(st.levels.len(), 2);
        assert_eq!(st.repeat, 2);
        let (users, schedules) = targets_named(&st.levels);
        assert_eq!(users, [UserName::parse("ana").unwrap()]);
        assert_eq!(schedules.len(), 2);
        run(
            &mut st,
            EscalationCommand::SetLevels {
                levels: vec![level(1, vec![user("ben")])],
            },
        )
        .unwrap();
        run(
            &mut st,
            EscalationCommand::Rename {
                name: "payments-v2".into(),
            },
        )
        .unwrap();
        run(
            &mut st,
            EscalationCommand::Configure {
                repeat: Some(0),
                keep_paging_after_ack: Some(true),
            },
        )
        .unwrap();
        assert_eq!(st.name.as_str(), "payments-v2");
        assert_eq!(st.levels, [level(1, vec![user("ben")])]);
        assert_eq!((st.repeat, st.keep_paging_after_ack), (0, true));
        let kinds: Vec<&str> = st.history.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "created",
                "levels_replaced",
                "renamed",
                "repeat_set",
                "keep_paging_set"
            ]
        );
        assert_eq!(
            st.history[1].description,
            "Levels replaced: after 1 min user ben"
        );
        let again = run(
            &mut st,
            EscalationCommand::Configure {
                repeat: Some(0),
                keep_paging_after_ack: None,
            },
        )
        .unwrap_err();
        assert_eq!(again.rule, rules::ESCALATION_UNCHANGED);
    }

    #[test]
    fn levels_delays_repeats_and_names_out_of_bounds_are_refused() {
        let a = actor(AccountRole::Responder);
        let cases: Vec<(Vec<Level>, u8, crate::rule::Rule)> = vec![
            (vec![], 0, rules::ESCALATION_LEVELS),
            (
                (0..11).map(|_| level(5, vec![user("ana")])).collect(),
                0,
                rules::ESCALATION_LEVELS,
            ),
            (
                vec![level(0, vec![user("ana")])],
                0,
                rules::ESCALATION_LEVELS,
            ),
            (
                vec![level(1441, vec![user("ana")])],
                0,
                rules::ESCALATION_LEVELS,
            ),
            (vec![level(5, vec![])], 0, rules::ESCALATION_LEVELS),
            (
                vec![level(5, (0..21).map(|i| user(&format!("u{i}"))).collect())],
                0,
                rules::ESCALATION_LEVELS,
            ),
            (
                vec![level(5, vec![user("ana"), user("ana")])],
                0,
                rules::ESCALATION_LEVELS,
            ),
            (
                vec![level(5, vec![user("ana")])],
                10,
                rules::ESCALATION_REPEAT,
            ),
        ];
        for (levels, repeat, rule) in cases {
            let r = EscalationState::decide_create(&a, &create(levels.clone(), repeat), &ctx())
                .unwrap_err();
            assert_eq!(r.rule, rule, "{levels:?} {repeat}");
        }
        // The bounds themselves are fine.
        EscalationState::decide_create(
            &a,
            &create((0..10).map(|_| level(1440, vec![user("ana")])).collect(), 9),
            &ctx(),
        )
        .unwrap();
        let mut bad = create(vec![level(5, vec![user("ana")])], 0);
        bad.name = "No Spaces".into();
        let r = EscalationState::decide_create(&a, &bad, &ctx()).unwrap_err();
        assert_eq!(r.rule, rules::ESCALATION_NAME);
        let st = created();
        let r = st
            .decide(
                &actor(AccountRole::Viewer),
                &EscalationCommand::Rename { name: "x".into() },
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(r.rule, rules::ESCALATION_READ_ONLY);
    }

    #[test]
    fn targets_are_tagged_by_type_in_events() {
        let t = serde_json::to_value(schedule("payments-primary")).unwrap();
        assert_eq!(
            t,
            serde_json::json!({"type": "schedule", "name": "payments-primary"})
        );
        assert!(
            serde_json::from_value::<Target>(serde_json::json!({"type": "team", "name": "x"}))
                .is_err()
        );
    }
}

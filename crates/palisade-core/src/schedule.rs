//! The schedule aggregate: an on-call schedule ([`crate::oncall::Schedule`]) recorded on the
//! ledger, one stream per schedule, unique by name. Every change (a layer replaced, added or
//! removed; an override or a temporary schedule added or removed) is an event, and the state
//! after it is checked whole again by [`Schedule::new`]: a change that would make the schedule
//! invalid is refused with the rule and the engine's reason, and nothing is written.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, HistoryEntry, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::oncall::{
    Layer, Override, Schedule, ScheduleError, ScheduleErrorKind, TemporarySchedule, ZoneName,
};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, ResourceName, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The schedule's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A schedule name is 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
    pub const SCHEDULE_NAME: Rule = Rule::new(
        "schedule-name",
        InvalidInput,
        "a schedule name is 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
    /// A schedule's fields are within their limits.
    pub const SCHEDULE_INPUT: Rule = Rule::new(
        "schedule-input",
        InvalidInput,
        "a schedule's description is at most 2,000 characters",
    );
    /// The time zone is an IANA name, spelled as the database spells it.
    pub const SCHEDULE_ZONE: Rule = Rule::new(
        "schedule-zone",
        InvalidInput,
        "a schedule's time zone is an IANA name such as Europe/Berlin",
    );
    /// The definition after the change is a valid schedule (limits, spans, layer starts).
    pub const SCHEDULE_INVALID: Rule = Rule::new(
        "schedule-invalid",
        InvalidInput,
        "a schedule stays valid after every change: within its limits, every span ending after it starts, every layer starting at a handoff",
    );
    /// A layer, override or temporary schedule named by its position exists.
    pub const SCHEDULE_NO_SUCH_PART: Rule = Rule::new(
        "schedule-no-such-part",
        InvalidInput,
        "the schedule has a layer, override or temporary schedule at that position",
    );
    /// The command would change nothing.
    pub const SCHEDULE_UNCHANGED: Rule = Rule::new(
        "schedule-unchanged",
        Conflict,
        "a change to a schedule must change something",
    );
    /// Viewers read schedules but do not change them.
    pub const SCHEDULE_READ_ONLY: Rule = Rule::new(
        "schedule-read-only",
        Permission,
        "viewer accounts read schedules but do not change them",
    );

    /// Every schedule rule.
    pub const ALL: &[Rule] = &[
        SCHEDULE_NAME,
        SCHEDULE_INPUT,
        SCHEDULE_ZONE,
        SCHEDULE_INVALID,
        SCHEDULE_NO_SUCH_PART,
        SCHEDULE_UNCHANGED,
        SCHEDULE_READ_ONLY,
    ];
}

/// An instant, as schedules compute with it.
pub use jiff::Timestamp as Instant;

/// An RFC 3339 time (with `Z` or an offset) as an instant.
pub fn parse_instant(s: &str) -> Result<Instant, crate::types::ParseError> {
    s.trim()
        .parse::<Instant>()
        .map_err(|_| crate::types::ParseError {
            what: "time",
            value: s.to_string(),
            expected: "an RFC 3339 time with its offset, e.g. 2026-12-01T09:00:00+01:00",
        })
}

/// A recorded time as an instant.
pub fn instant_of(t: Timestamp) -> Instant {
    Instant::from_microsecond(t.unix_micros()).unwrap_or(Instant::UNIX_EPOCH)
}

/// The namespace of schedule names among stream keys.
pub const SCHEDULE_NAME_KEY: &str = "schedule-name";
/// The longest description.
pub const MAX_DESCRIPTION: usize = 2_000;

/// What happened to a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchedulePayload {
    Created {
        name: ResourceName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        schedule: Schedule,
    },
    /// Layer `index` (0 is the lowest) is now `layer`.
    LayerReplaced {
        index: usize,
        layer: Layer,
    },
    /// A layer on top of the others.
    LayerAdded {
        layer: Layer,
    },
    /// Layer `index` (as it was) removed; the layers above move down one.
    LayerRemoved {
        index: usize,
        layer: Layer,
    },
    /// An override after the others (it wins where they overlap).
    OverrideAdded {
        #[serde(rename = "override")]
        entry: Override,
    },
    OverrideRemoved {
        index: usize,
        #[serde(rename = "override")]
        entry: Override,
    },
    TemporaryAdded {
        temporary: TemporarySchedule,
    },
    TemporaryRemoved {
        index: usize,
        temporary: TemporarySchedule,
    },
}

impl SchedulePayload {
    pub fn kind(&self) -> &'static str {
        match self {
            SchedulePayload::Created { .. } => "created",
            SchedulePayload::LayerReplaced { .. } => "layer_replaced",
            SchedulePayload::LayerAdded { .. } => "layer_added",
            SchedulePayload::LayerRemoved { .. } => "layer_removed",
            SchedulePayload::OverrideAdded { .. } => "override_added",
            SchedulePayload::OverrideRemoved { .. } => "override_removed",
            SchedulePayload::TemporaryAdded { .. } => "temporary_added",
            SchedulePayload::TemporaryRemoved { .. } => "temporary_removed",
        }
    }

    pub fn describe(&self) -> String {
        fn people(users: &[UserName]) -> String {
            users
                .iter()
                .map(UserName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
        fn ov(o: &Override) -> String {
            let what = match o {
                Override::Replace { .. } => "replaces whoever is on call",
                Override::Add { .. } => "is on call too",
                Override::Remove { .. } => "is not on call",
            };
            format!("{} {what} from {} to {}", o.user(), o.from(), o.to())
        }
        match self {
            SchedulePayload::Created { name, schedule, .. } => format!(
                "Schedule {name} created in {} with {} layer(s)",
                schedule.zone(),
                schedule.layers().len()
            ),
            SchedulePayload::LayerReplaced { index, layer } => {
                format!("Layer {index} replaced: {}", people(&layer.participants))
            }
            SchedulePayload::LayerAdded { layer } => {
                format!("Layer added on top: {}", people(&layer.participants))
            }
            SchedulePayload::LayerRemoved { index, layer } => {
                format!("Layer {index} removed ({})", people(&layer.participants))
            }
            SchedulePayload::OverrideAdded { entry } => format!("Override: {}", ov(entry)),
            SchedulePayload::OverrideRemoved { index, entry } => {
                format!("Override {index} removed ({})", ov(entry))
            }
            SchedulePayload::TemporaryAdded { temporary: t } => format!(
                "Temporary schedule from {} to {} ({} shift(s))",
                t.from,
                t.to,
                t.shifts.len()
            ),
            SchedulePayload::TemporaryRemoved {
                index,
                temporary: t,
            } => format!(
                "Temporary schedule {index} ({} to {}) removed",
                t.from, t.to
            ),
        }
    }
}

/// Starting a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSchedule {
    pub name: String,
    pub description: Option<String>,
    /// An IANA time zone name.
    pub time_zone: String,
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
    pub temporary: Vec<TemporarySchedule>,
}

impl CreateSchedule {
    /// Everyone the definition names.
    pub fn users(&self) -> Vec<UserName> {
        let mut users = Vec::new();
        for l in &self.layers {
            users.extend(l.participants.iter().cloned());
        }
        users.extend(self.overrides.iter().map(|o| o.user().clone()));
        for t in &self.temporary {
            users.extend(t.shifts.iter().map(|s| s.user.clone()));
        }
        dedup(users)
    }
}

fn dedup(mut users: Vec<UserName>) -> Vec<UserName> {
    users.sort();
    users.dedup();
    users
}

/// A change to a schedule. Positions count from 0 (layer 0 is the lowest).
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleCommand {
    ReplaceLayer { index: usize, layer: Layer },
    AddLayer { layer: Layer },
    RemoveLayer { index: usize },
    AddOverride { entry: Override },
    RemoveOverride { index: usize },
    AddTemporary { temporary: TemporarySchedule },
    RemoveTemporary { index: usize },
}

impl ScheduleCommand {
    /// Everyone the command names (they must exist).
    pub fn users(&self) -> Vec<UserName> {
        match self {
            ScheduleCommand::ReplaceLayer { layer, .. } | ScheduleCommand::AddLayer { layer } => {
                dedup(layer.participants.clone())
            }
            ScheduleCommand::AddOverride { entry } => vec![entry.user().clone()],
            ScheduleCommand::AddTemporary { temporary } => {
                dedup(temporary.shifts.iter().map(|s| s.user.clone()).collect())
            }
            ScheduleCommand::RemoveLayer { .. }
            | ScheduleCommand::RemoveOverride { .. }
            | ScheduleCommand::RemoveTemporary { .. } => Vec::new(),
        }
    }
}

/// A schedule: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    pub id: Uuid,
    pub name: ResourceName,
    pub description: Option<String>,
    pub schedule: Schedule,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

fn refusal(e: ScheduleError) -> Refusal {
    let rule = match e.kind {
        ScheduleErrorKind::UnknownZone => rules::SCHEDULE_ZONE,
        _ => rules::SCHEDULE_INVALID,
    };
    Refusal::new(rule, e.message)
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::SCHEDULE_READ_ONLY,
            "viewer accounts may read schedules but not change them",
        );
    }
    Ok(())
}

/// The schedule after `p` (a change event), checked whole.
fn changed(s: &Schedule, p: &SchedulePayload) -> Result<Schedule, ScheduleError> {
    let (zone, mut layers, mut overrides, mut temporary) = s.clone().into_parts();
    let gone = || ScheduleError {
        kind: ScheduleErrorKind::Invalid,
        message: "the position named is not in the schedule".into(),
    };
    match p {
        SchedulePayload::Created { .. } => return Err(gone()),
        SchedulePayload::LayerReplaced { index, layer } => {
            *layers.get_mut(*index).ok_or_else(gone)? = layer.clone();
        }
        SchedulePayload::LayerAdded { layer } => layers.push(layer.clone()),
        SchedulePayload::LayerRemoved { index, .. } => {
            if *index >= layers.len() {
                return Err(gone());
            }
            layers.remove(*index);
        }
        SchedulePayload::OverrideAdded { entry } => overrides.push(entry.clone()),
        SchedulePayload::OverrideRemoved { index, .. } => {
            if *index >= overrides.len() {
                return Err(gone());
            }
            overrides.remove(*index);
        }
        SchedulePayload::TemporaryAdded { temporary: t } => temporary.push(t.clone()),
        SchedulePayload::TemporaryRemoved { index, .. } => {
            if *index >= temporary.len() {
                return Err(gone());
            }
            temporary.remove(*index);
        }
    }
    Schedule::new(zone, layers, overrides, temporary)
}

impl ScheduleState {
    fn record(&mut self, e: &Event<SchedulePayload>) {
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }

    fn no_such(&self, what: &str, index: usize, len: usize) -> Refusal {
        Refusal::new(
            rules::SCHEDULE_NO_SUCH_PART,
            format!(
                "{} has {len} {what}(s), numbered from 0; there is no {what} {index}",
                self.name
            ),
        )
    }
}

impl Aggregate for ScheduleState {
    const KIND: StreamKind = StreamKind::Schedule;
    type Payload = SchedulePayload;
    type Command = ScheduleCommand;
    type Create = CreateSchedule;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Schedule, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<SchedulePayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Schedule, e)?;
        let SchedulePayload::Created {
            name,
            description,
            schedule,
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        let mut st = ScheduleState {
            id: e.stream.id,
            name: name.clone(),
            description: description.clone(),
            schedule: schedule.clone(),
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<SchedulePayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        if let SchedulePayload::Created { .. } = &e.data {
            return Err(FoldError::CreatedAgain {
                seq: e.seq,
                what: "created",
            });
        }
        self.schedule =
            changed(&self.schedule, &e.data).map_err(|err| FoldError::Inconsistent {
                seq: e.seq,
                message: err.message,
            })?;
        self.record(e);
        Ok(())
    }

    fn create_role(_: &CreateSchedule) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateSchedule,
        _: &Context<'_, ()>,
    ) -> Result<Vec<SchedulePayload>, Refusal> {
        writer(actor)?;
        let name = ResourceName::parse(c.name.trim())
            .map_err(|e| Refusal::new(rules::SCHEDULE_NAME, e.to_string()))?;
        let description = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return refuse(
                rules::SCHEDULE_INPUT,
                format!("the description is longer than {MAX_DESCRIPTION} characters"),
            );
        }
        let zone = ZoneName::parse(c.time_zone.trim()).map_err(refusal)?;
        let schedule = Schedule::new(
            zone,
            c.layers.clone(),
            c.overrides.clone(),
            c.temporary.clone(),
        )
        .map_err(refusal)?;
        Ok(vec![SchedulePayload::Created {
            name,
            description: description.map(str::to_string),
            schedule,
        }])
    }

    fn required_role(_: &ScheduleCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every schedule: who is on call is public inside the organisation.
    fn visible_to(&self, _: &Actor, _: Option<&ScheduleCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &ScheduleCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<SchedulePayload>, Refusal> {
        writer(actor)?;
        let s = &self.schedule;
        let p = match cmd {
            ScheduleCommand::ReplaceLayer { index, layer } => {
                let Some(old) = s.layers().get(*index) else {
                    return Err(self.no_such("layer", *index, s.layers().len()));
                };
                if old == layer {
                    return refuse(
                        rules::SCHEDULE_UNCHANGED,
                        format!("layer {index} already is that layer"),
                    );
                }
                SchedulePayload::LayerReplaced {
                    index: *index,
                    layer: layer.clone(),
                }
            }
            ScheduleCommand::AddLayer { layer } => SchedulePayload::LayerAdded {
                layer: layer.clone(),
            },
            ScheduleCommand::RemoveLayer { index } => {
                let Some(layer) = s.layers().get(*index) else {
                    return Err(self.no_such("layer", *index, s.layers().len()));
                };
                SchedulePayload::LayerRemoved {
                    index: *index,
                    layer: layer.clone(),
                }
            }
            ScheduleCommand::AddOverride { entry } => SchedulePayload::OverrideAdded {
                entry: entry.clone(),
            },
            ScheduleCommand::RemoveOverride { index } => {
                let Some(entry) = s.overrides().get(*index) else {
                    return Err(self.no_such("override", *index, s.overrides().len()));
                };
                SchedulePayload::OverrideRemoved {
                    index: *index,
                    entry: entry.clone(),
                }
            }
            ScheduleCommand::AddTemporary { temporary } => SchedulePayload::TemporaryAdded {
                temporary: temporary.clone(),
            },
            ScheduleCommand::RemoveTemporary { index } => {
                let Some(t) = s.temporary().get(*index) else {
                    return Err(self.no_such("temporary schedule", *index, s.temporary().len()));
                };
                SchedulePayload::TemporaryRemoved {
                    index: *index,
                    temporary: t.clone(),
                }
            }
        };
        // Checked whole, exactly as the fold will build it.
        changed(s, &p).map_err(refusal)?;
        Ok(vec![p])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;
    use crate::oncall::{Rotation, RotationUnit};

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
    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }
    fn users(names: &[&str]) -> Vec<UserName> {
        names.iter().map(|n| UserName::parse(n).unwrap()).collect()
    }
    fn weekly(names: &[&str]) -> Layer {
        Layer {
            participants: users(names),
            rotation: Rotation {
                unit: RotationUnit::Weekly,
                length: 1,
                handoff: None,
            },
            start: ts("2026-11-30T08:00:00Z"),
            end: None,
            restrictions: Vec::new(),
        }
    }
    fn create(zone: &str, layers: Vec<Layer>) -> CreateSchedule {
        CreateSchedule {
            name: "payments-primary".into(),
            description: Some(" Payments on call ".into()),
            time_zone: zone.into(),
            layers,
            overrides: Vec::new(),
            temporary: Vec::new(),
        }
    }
    fn created() -> ScheduleState {
        let a = actor(AccountRole::Responder);
        let p =
            ScheduleState::decide_create(&a, &create("UTC", vec![weekly(&["ana", "ben"])]), &ctx())
                .unwrap();
        let events = numbered(
            StreamId::new(StreamKind::Schedule, Uuid::nil()),
            0,
            &a.user,
            at(),
            None,
            p,
        );
        ScheduleState::fold(&events).unwrap()
    }
    fn run(st: &mut ScheduleState, cmd: ScheduleCommand) -> Result<(), Refusal> {
        let a = actor(AccountRole::Responder);
        let p = st.decide(&a, &cmd, &ctx())?;
        for e in numbered(st.stream(), st.last_seq, &a.user, at(), None, p) {
            st.apply(&e).unwrap();
        }
        Ok(())
    }
    fn on_call(st: &ScheduleState, at: &str) -> Vec<UserName> {
        st.schedule.on_call_at(ts(at)).unwrap()
    }

    #[test]
    fn a_schedule_is_created_and_changed_by_its_events() {
        let mut st = created();
        assert_eq!(st.name.as_str(), "payments-primary");
        assert_eq!(st.description.as_deref(), Some("Payments on call"));
        assert_eq!(on_call(&st, "2026-12-01T00:00:00Z"), users(&["ana"]));
        assert_eq!(on_call(&st, "2026-12-08T00:00:00Z"), users(&["ben"]));

        run(
            &mut st,
            ScheduleCommand::AddOverride {
                entry: Override::Replace {
                    user: UserName::parse("cy").unwrap(),
                    from: ts("2026-12-01T00:00:00Z"),
                    to: ts("2026-12-02T00:00:00Z"),
                },
            },
        )
        .unwrap();
        assert_eq!(on_call(&st, "2026-12-01T12:00:00Z"), users(&["cy"]));
        assert_eq!(on_call(&st, "2026-12-02T12:00:00Z"), users(&["ana"]));
        run(
            &mut st,
            ScheduleCommand::AddLayer {
                layer: weekly(&["dee"]),
            },
        )
        .unwrap();
        assert_eq!(on_call(&st, "2026-12-02T12:00:00Z"), users(&["dee"]));
        run(
            &mut st,
            ScheduleCommand::ReplaceLayer {
                index: 1,
                layer: weekly(&["eve"]),
            },
        )
        .unwrap();
        assert_eq!(on_call(&st, "2026-12-02T12:00:00Z"), users(&["eve"]));
        run(&mut st, ScheduleCommand::RemoveLayer { index: 1 }).unwrap();
        run(&mut st, ScheduleCommand::RemoveOverride { index: 0 }).unwrap();
        assert_eq!(on_call(&st, "2026-12-01T12:00:00Z"), users(&["ana"]));
        run(
            &mut st,
            ScheduleCommand::AddTemporary {
                temporary: TemporarySchedule {
                    from: ts("2026-12-24T00:00:00Z"),
                    to: ts("2026-12-27T00:00:00Z"),
                    shifts: vec![crate::oncall::TemporaryShift {
                        user: UserName::parse("fay").unwrap(),
                        from: ts("2026-12-24T00:00:00Z"),
                        to: ts("2026-12-25T00:00:00Z"),
                    }],
                },
            },
        )
        .unwrap();
        assert_eq!(on_call(&st, "2026-12-24T12:00:00Z"), users(&["fay"]));
        assert!(on_call(&st, "2026-12-25T12:00:00Z").is_empty());
        run(&mut st, ScheduleCommand::RemoveTemporary { index: 0 }).unwrap();
        assert_eq!(on_call(&st, "2026-12-25T12:00:00Z"), users(&["ben"]));
        assert_eq!(st.last_seq, 8);
        let kinds: Vec<&str> = st.history.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "created",
                "override_added",
                "layer_added",
                "layer_replaced",
                "layer_removed",
                "override_removed",
                "temporary_added",
                "temporary_removed"
            ]
        );
        assert!(
            st.history[1]
                .description
                .contains("cy replaces whoever is on call"),
            "{}",
            st.history[1].description
        );
        // The events re-encode and fold to the same state.
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<ScheduleState>(&json).unwrap(), st);
    }

    #[test]
    fn invalid_definitions_and_changes_are_refused_with_their_rule() {
        let a = actor(AccountRole::Responder);
        for (zone, rule) in [
            ("Mars/Olympus", rules::SCHEDULE_ZONE),
            ("europe/berlin", rules::SCHEDULE_ZONE),
            ("", rules::SCHEDULE_ZONE),
        ] {
            let r = ScheduleState::decide_create(&a, &create(zone, vec![]), &ctx()).unwrap_err();
            assert_eq!(r.rule, rule, "{zone:?}");
        }
        let mut bad_name = create("UTC", vec![]);
        bad_name.name = "Payments Primary".into();
        assert_eq!(
            ScheduleState::decide_create(&a, &bad_name, &ctx())
                .unwrap_err()
                .rule,
            rules::SCHEDULE_NAME
        );
        let mut long = create("UTC", vec![]);
        long.description = Some("d".repeat(MAX_DESCRIPTION + 1));
        assert_eq!(
            ScheduleState::decide_create(&a, &long, &ctx())
                .unwrap_err()
                .rule,
            rules::SCHEDULE_INPUT
        );
        // Too many layers, a layer with nobody.
        let many = create("UTC", (0..21).map(|_| weekly(&["ana"])).collect());
        let r = ScheduleState::decide_create(&a, &many, &ctx()).unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_INVALID);
        assert!(r.message.contains("at most 20 layers"), "{}", r.message);
        let r = ScheduleState::decide_create(&a, &create("UTC", vec![weekly(&[])]), &ctx())
            .unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_INVALID);

        let mut st = created();
        let before = st.clone();
        // An override that ends before it starts.
        let r = run(
            &mut st,
            ScheduleCommand::AddOverride {
                entry: Override::Add {
                    user: UserName::parse("cy").unwrap(),
                    from: ts("2026-12-02T00:00:00Z"),
                    to: ts("2026-12-01T00:00:00Z"),
                },
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_INVALID);
        // A temporary shift outside its temporary schedule.
        let r = run(
            &mut st,
            ScheduleCommand::AddTemporary {
                temporary: TemporarySchedule {
                    from: ts("2026-12-24T00:00:00Z"),
                    to: ts("2026-12-25T00:00:00Z"),
                    shifts: vec![crate::oncall::TemporaryShift {
                        user: UserName::parse("fay").unwrap(),
                        from: ts("2026-12-23T00:00:00Z"),
                        to: ts("2026-12-25T00:00:00Z"),
                    }],
                },
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_INVALID);
        // Positions that do not exist.
        for cmd in [
            ScheduleCommand::RemoveLayer { index: 1 },
            ScheduleCommand::ReplaceLayer {
                index: 5,
                layer: weekly(&["ana"]),
            },
            ScheduleCommand::RemoveOverride { index: 0 },
            ScheduleCommand::RemoveTemporary { index: 0 },
        ] {
            let r = run(&mut st, cmd.clone()).unwrap_err();
            assert_eq!(r.rule, rules::SCHEDULE_NO_SUCH_PART, "{cmd:?}");
        }
        let r = run(
            &mut st,
            ScheduleCommand::ReplaceLayer {
                index: 0,
                layer: weekly(&["ana", "ben"]),
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_UNCHANGED);
        // Viewers read only.
        let r = st
            .decide(
                &actor(AccountRole::Viewer),
                &ScheduleCommand::RemoveLayer { index: 0 },
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(r.rule, rules::SCHEDULE_READ_ONLY);
        assert_eq!(st, before, "refusals changed nothing");
    }

    #[test]
    fn a_stream_starts_with_created_and_an_event_that_breaks_the_schedule_does_not_fold() {
        let st = created();
        let a = actor(AccountRole::Responder);
        let bad = numbered(
            st.stream(),
            st.last_seq,
            &a.user,
            at(),
            None,
            vec![SchedulePayload::LayerRemoved {
                index: 3,
                layer: weekly(&["ana"]),
            }],
        );
        let mut copy = st.clone();
        assert!(matches!(
            copy.apply(&bad[0]),
            Err(FoldError::Inconsistent { seq: 2, .. })
        ));
        let first = numbered(
            st.stream(),
            0,
            &a.user,
            at(),
            None,
            vec![SchedulePayload::OverrideAdded {
                entry: Override::Add {
                    user: UserName::parse("cy").unwrap(),
                    from: ts("2026-12-01T00:00:00Z"),
                    to: ts("2026-12-02T00:00:00Z"),
                },
            }],
        );
        assert!(matches!(
            ScheduleState::fold(&first),
            Err(FoldError::NotCreatedFirst { .. })
        ));
    }

    #[test]
    fn commands_name_the_users_that_must_exist() {
        let c = create("UTC", vec![weekly(&["ben", "ana", "ben"])]);
        assert_eq!(c.users(), users(&["ana", "ben"]));
        let cmd = ScheduleCommand::AddOverride {
            entry: Override::Remove {
                user: UserName::parse("cy").unwrap(),
                from: ts("2026-12-01T00:00:00Z"),
                to: ts("2026-12-02T00:00:00Z"),
            },
        };
        assert_eq!(cmd.users(), users(&["cy"]));
        assert!(ScheduleCommand::RemoveLayer { index: 0 }.users().is_empty());
    }
}

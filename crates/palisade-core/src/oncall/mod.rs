//! On-call schedules: who is on call when, computed from a definition, with no I/O.
//!
//! A [`Schedule`] is an IANA time zone, a stack of [`Layer`]s, a list of [`Override`]s and a list
//! of [`TemporarySchedule`]s. It is plain data (serde, `snake_case`, unknown fields refused) so
//! it can be the state of an event-sourced aggregate; every query is a pure function of the
//! definition and the times passed in.
//!
//! # Time zones
//!
//! Zones are looked up in the IANA database that jiff compiles into the binary (the
//! `tzdb-bundle-always` feature): the core reads no tzdata from its host, so every node computes
//! the same handoffs whatever its operating system ships. A schedule stores its zone as the IANA
//! name, exactly as the database spells it ([`ZoneName`], checked on construction and when
//! deserialised).
//!
//! # Rotations
//!
//! A layer's [`Rotation`] hands the layer from one participant to the next; participant `n mod
//! len` holds shift `n`, and shift 0 starts at the layer's `start`.
//!
//! - **Hourly** rotations are absolute: shift `n` starts at `start + n × length` hours of real
//!   time. A DST change neither adds nor removes coverage; the local clock time of the handoffs
//!   moves instead.
//! - **Daily, weekly and monthly** rotations follow the local calendar. The anchor is the local
//!   date of `start` at the handoff clock time (`handoff`, or `start`'s own local time when it is
//!   not given); handoff `n` is the anchor plus `n × length` days, weeks or months, each computed
//!   from the anchor (never by repeated addition), so a monthly rotation on the 31st hands off on
//!   the 30th or 28th in shorter months and on the 31st again afterwards. A daily 09:00 rotation
//!   hands off at 09:00 local every day, so across a DST change a shift lasts 23 or 25 hours.
//!   `start` must be the anchor's instant (see below). (When the handoff time falls in a gap
//!   that ends at midnight, as in America/Nuuk, handoff 0 resolves to the next day's 00:00; the
//!   anchor is then the day before the start's local date.)
//!
//! **Local times that do not exist or occur twice.** A local date and clock time is turned into
//! an instant as *the first instant at which the local clock reads that time or later*. In a DST
//! gap (02:30 on a spring-forward day in New York) that is the end of the gap, the instant the
//! clocks jump (03:00 EDT). This differs from jiff's `compatible` disambiguation, which would
//! push 02:30 forward by the gap's length to 03:30; a handoff should happen as soon as its time
//! has come. In a repeated hour (01:30 on a fall-back day) it is the earlier occurrence. The same
//! rule places restriction windows. Handoffs are computed once each and shift `n` ends where
//! shift `n + 1` starts, so consecutive shifts abut exactly: no gap, no overlap.
//!
//! # Layers and restrictions
//!
//! A layer covers `[start, end)` (no end: for ever). Its [`Restriction`]s, if any, are windows
//! of local time (daily, possibly across midnight; or weekly, possibly across the end of the
//! week) outside of which the layer has nobody; no restrictions means always. The rotation is
//! not paused outside the windows: whoever's shift it is, is on call in the windows inside it.
//!
//! The final schedule, at each instant, takes the **highest** layer (last in the list) that has
//! someone on call then; if no layer has, nobody is on call there, a gap that [`Schedule::gaps`]
//! reports.
//!
//! # Temporary schedules and overrides
//!
//! A [`TemporarySchedule`] replaces the layers entirely within `[from, to)`: inside it, whoever
//! its shifts name is on call (all of them where its shifts overlap), and nobody where none of
//! its shifts is. Where temporary schedules overlap, the last one in the list wins.
//!
//! [`Override`]s then apply on top, each within its `[from, to)`, **in list order, each one to
//! the result of the ones before it**: `replace` makes its user the only one on call, `add` adds
//! its user, `remove` removes its user (possibly leaving nobody). So where overrides overlap the
//! later one wins: a later `replace` undoes an earlier `add`, a later `add` puts back a user an
//! earlier `remove` took away.
//!
//! # Bounds
//!
//! A query longer than [`QueryLimits::max_span`] (400 days by default) or one in which a layer
//! would produce more than [`QueryLimits::max_shifts`] shifts or windows is an error, never a
//! long computation. Definitions are checked when built ([`Schedule::new`]) and deserialised:
//! see [`limits`].

mod compute;
mod rotation;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dst;

use crate::types::UserName;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

pub use compute::{Gap, Origin, Shift};
pub use rotation::{RotationShift, resolve_local};

/// The limits a schedule definition is checked against.
pub mod limits {
    /// Participants of one layer.
    pub const MAX_PARTICIPANTS: usize = 100;
    /// A shift's length, in units of its rotation.
    pub const MAX_SHIFT_LENGTH: u32 = 1_000;
    /// Layers of one schedule.
    pub const MAX_LAYERS: usize = 20;
    /// Restriction windows of one layer.
    pub const MAX_RESTRICTIONS: usize = 50;
    /// Overrides of one schedule.
    pub const MAX_OVERRIDES: usize = 1_000;
    /// Temporary schedules of one schedule.
    pub const MAX_TEMPORARY: usize = 100;
    /// Shifts of one temporary schedule.
    pub const MAX_TEMPORARY_SHIFTS: usize = 1_000;
}

/// How much one query may compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// The longest `[from, to)` a query may ask for.
    pub max_span: SignedDuration,
    /// The most rotation shifts (or restriction windows) one layer may produce for one query.
    pub max_shifts: usize,
}

impl QueryLimits {
    /// 400 days, and 25,000 shifts or windows a layer: above what any valid layer produces in
    /// 400 days (an hourly rotation of one-hour shifts makes 9,600; 50 daily restrictions about
    /// 20,000 windows), so only a smaller cap or a longer span reaches it.
    pub const DEFAULT: QueryLimits = QueryLimits {
        max_span: SignedDuration::from_hours(400 * 24),
        max_shifts: 25_000,
    };
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits::DEFAULT
    }
}

/// What is wrong with a schedule or a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleErrorKind {
    /// The zone is not in the IANA database.
    UnknownZone,
    /// The definition breaks a rule or a limit.
    Invalid,
    /// The query's `from` is not before its `to`, or the span is longer than allowed.
    Query,
    /// A layer would produce more shifts than a query may.
    TooManyShifts,
    /// A time is outside the range the calendar arithmetic supports.
    OutOfRange,
}

/// A schedule or query that cannot be computed, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub kind: ScheduleErrorKind,
    pub message: String,
}

impl ScheduleError {
    fn new(kind: ScheduleErrorKind, message: impl Into<String>) -> ScheduleError {
        ScheduleError {
            kind,
            message: message.into(),
        }
    }
    fn invalid(message: impl Into<String>) -> ScheduleError {
        ScheduleError::new(ScheduleErrorKind::Invalid, message)
    }
    fn range(e: jiff::Error) -> ScheduleError {
        ScheduleError::new(
            ScheduleErrorKind::OutOfRange,
            format!("a time is outside the supported range ({e}); use dates between 1900 and 9000"),
        )
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScheduleError {}

/// An IANA time zone name, as the bundled database spells it (`America/New_York`), and the zone.
#[derive(Clone)]
pub struct ZoneName {
    name: String,
    tz: TimeZone,
}

impl ZoneName {
    /// Looks the name up in the bundled IANA database. The spelling must be exact (the name is
    /// stored and re-encoded as given); a name that matches only in another case is refused with
    /// the right spelling.
    pub fn parse(name: &str) -> Result<ZoneName, ScheduleError> {
        let tz = jiff::tz::db().get(name).map_err(|_| {
            ScheduleError::new(
                ScheduleErrorKind::UnknownZone,
                format!(
                    "unknown time zone {name:?}: use an IANA name such as \"Europe/Berlin\" or \
                     \"America/New_York\""
                ),
            )
        })?;
        match tz.iana_name() {
            Some(canonical) if canonical == name => Ok(ZoneName {
                name: name.to_string(),
                tz,
            }),
            Some(canonical) => Err(ScheduleError::new(
                ScheduleErrorKind::UnknownZone,
                format!("time zone {name:?} is spelled {canonical:?}; use that spelling"),
            )),
            None => Err(ScheduleError::new(
                ScheduleErrorKind::UnknownZone,
                format!("{name:?} is not an IANA time zone name"),
            )),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.name
    }
    /// The zone itself.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

impl PartialEq for ZoneName {
    fn eq(&self, other: &ZoneName) -> bool {
        self.name == other.name
    }
}
impl Eq for ZoneName {}

impl fmt::Debug for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZoneName({:?})", self.name)
    }
}
impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
impl Serialize for ZoneName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}
impl<'de> Deserialize<'de> for ZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ZoneName::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// The calendar unit of a rotation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationUnit {
    /// Hours of real time.
    Hourly,
    /// Local calendar days.
    Daily,
    /// Local calendar weeks (same weekday and clock time).
    Weekly,
    /// Local calendar months (same day of the month, clamped to the month's last day).
    Monthly,
}

impl RotationUnit {
    fn as_str(self) -> &'static str {
        match self {
            RotationUnit::Hourly => "hourly",
            RotationUnit::Daily => "daily",
            RotationUnit::Weekly => "weekly",
            RotationUnit::Monthly => "monthly",
        }
    }
}

/// How a layer passes from one participant to the next.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Rotation {
    pub unit: RotationUnit,
    /// Each participant holds this many units (1–1000).
    pub length: u32,
    /// The local clock time of the handoff for daily, weekly and monthly rotations; `None` means
    /// the local time of the layer's start. Hourly rotations have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "09:00"))]
    pub handoff: Option<Time>,
}

/// A day of the week.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// 0 for Monday … 6 for Sunday.
    pub fn monday_zero_offset(self) -> i64 {
        self as i64
    }
    fn to_jiff(self) -> jiff::civil::Weekday {
        match self {
            Weekday::Monday => jiff::civil::Weekday::Monday,
            Weekday::Tuesday => jiff::civil::Weekday::Tuesday,
            Weekday::Wednesday => jiff::civil::Weekday::Wednesday,
            Weekday::Thursday => jiff::civil::Weekday::Thursday,
            Weekday::Friday => jiff::civil::Weekday::Friday,
            Weekday::Saturday => jiff::civil::Weekday::Saturday,
            Weekday::Sunday => jiff::civil::Weekday::Sunday,
        }
    }
}

/// A window of local time in which a layer has someone on call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Restriction {
    /// Every day from `from` to `to`; a `to` at or before `from` ends the next day (22:00 to
    /// 06:00 covers the night).
    Daily {
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
        from: Time,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
        to: Time,
    },
    /// Every week from `from_day` at `from` to the next `to_day` at `to` (Friday 18:00 to Monday
    /// 08:00 covers the weekend; Monday 09:00 to Monday 08:00 all but one hour of the week).
    Weekly {
        from_day: Weekday,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
        from: Time,
        to_day: Weekday,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
        to: Time,
    },
}

/// One layer of a schedule: participants taking turns on a rotation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Layer {
    /// Who takes turns, in order (1–100; a name may appear more than once).
    pub participants: Vec<UserName>,
    pub rotation: Rotation,
    /// The first handoff: `participants[0]` is on call from here.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    /// When the layer stops (exclusive); `None` for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub end: Option<Timestamp>,
    /// Windows of local time outside of which the layer has nobody; empty means always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<Restriction>,
}

/// A change to the final schedule within `[from, to)`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Override {
    /// `user` is on call instead of whoever is (alone).
    Replace {
        user: UserName,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        from: Timestamp,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        to: Timestamp,
    },
    /// `user` is on call alongside whoever is.
    Add {
        user: UserName,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        from: Timestamp,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        to: Timestamp,
    },
    /// `user` is not on call (whoever else is stays).
    Remove {
        user: UserName,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        from: Timestamp,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        to: Timestamp,
    },
}

impl Override {
    pub fn user(&self) -> &UserName {
        match self {
            Override::Replace { user, .. }
            | Override::Add { user, .. }
            | Override::Remove { user, .. } => user,
        }
    }
    pub fn from(&self) -> Timestamp {
        match self {
            Override::Replace { from, .. }
            | Override::Add { from, .. }
            | Override::Remove { from, .. } => *from,
        }
    }
    pub fn to(&self) -> Timestamp {
        match self {
            Override::Replace { to, .. }
            | Override::Add { to, .. }
            | Override::Remove { to, .. } => *to,
        }
    }
}

/// One shift of a temporary schedule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct TemporaryShift {
    pub user: UserName,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
}

/// A span in which the given shifts replace the layers entirely.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct TemporarySchedule {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    /// Each within `[from, to)`; where none is, nobody is on call.
    pub shifts: Vec<TemporaryShift>,
}

/// A checked on-call schedule. Build it with [`Schedule::new`]; deserialising checks it the same
/// way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleDef", into = "ScheduleDef")]
pub struct Schedule {
    zone: ZoneName,
    layers: Vec<Layer>,
    overrides: Vec<Override>,
    temporary: Vec<TemporarySchedule>,
}

/// The serialised form of a [`Schedule`], unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
struct ScheduleDef {
    time_zone: ZoneName,
    layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    overrides: Vec<Override>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    temporary: Vec<TemporarySchedule>,
}

impl TryFrom<ScheduleDef> for Schedule {
    type Error = ScheduleError;
    fn try_from(d: ScheduleDef) -> Result<Schedule, ScheduleError> {
        Schedule::new(d.time_zone, d.layers, d.overrides, d.temporary)
    }
}
impl From<Schedule> for ScheduleDef {
    fn from(s: Schedule) -> ScheduleDef {
        ScheduleDef {
            time_zone: s.zone,
            layers: s.layers,
            overrides: s.overrides,
            temporary: s.temporary,
        }
    }
}

impl Schedule {
    /// Checks the definition: limits, well-formed spans and restrictions, and every layer
    /// starting at a handoff.
    pub fn new(
        zone: ZoneName,
        layers: Vec<Layer>,
        overrides: Vec<Override>,
        temporary: Vec<TemporarySchedule>,
    ) -> Result<Schedule, ScheduleError> {
        use limits::*;
        if layers.len() > MAX_LAYERS {
            return Err(ScheduleError::invalid(format!(
                "a schedule has at most {MAX_LAYERS} layers ({} given); merge layers or split \
                 the schedule",
                layers.len()
            )));
        }
        for (i, layer) in layers.iter().enumerate() {
            layer
                .check(&zone)
                .map_err(|e| ScheduleError::new(e.kind, format!("layer {i}: {}", e.message)))?;
        }
        if overrides.len() > MAX_OVERRIDES {
            return Err(ScheduleError::invalid(format!(
                "a schedule has at most {MAX_OVERRIDES} overrides ({} given); drop overrides \
                 that have ended",
                overrides.len()
            )));
        }
        for (i, o) in overrides.iter().enumerate() {
            if o.from() >= o.to() {
                return Err(ScheduleError::invalid(format!(
                    "override {i} runs from {} to {}: its end must be after its start",
                    o.from(),
                    o.to()
                )));
            }
        }
        if temporary.len() > MAX_TEMPORARY {
            return Err(ScheduleError::invalid(format!(
                "a schedule has at most {MAX_TEMPORARY} temporary schedules ({} given); drop \
                 those that have ended",
                temporary.len()
            )));
        }
        for (i, t) in temporary.iter().enumerate() {
            if t.from >= t.to {
                return Err(ScheduleError::invalid(format!(
                    "temporary schedule {i} runs from {} to {}: its end must be after its start",
                    t.from, t.to
                )));
            }
            if t.shifts.len() > MAX_TEMPORARY_SHIFTS {
                return Err(ScheduleError::invalid(format!(
                    "temporary schedule {i} has {} shifts, at most {MAX_TEMPORARY_SHIFTS} are \
                     allowed; split it into several",
                    t.shifts.len()
                )));
            }
            for (j, s) in t.shifts.iter().enumerate() {
                if s.from >= s.to || s.from < t.from || s.to > t.to {
                    return Err(ScheduleError::invalid(format!(
                        "temporary schedule {i}, shift {j} ({} to {}) must end after it starts \
                         and lie within the temporary schedule ({} to {})",
                        s.from, s.to, t.from, t.to
                    )));
                }
            }
        }
        Ok(Schedule {
            zone,
            layers,
            overrides,
            temporary,
        })
    }

    pub fn zone(&self) -> &ZoneName {
        &self.zone
    }
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }
    pub fn temporary(&self) -> &[TemporarySchedule] {
        &self.temporary
    }
    /// The definition's parts, to change one and check the whole again with [`Schedule::new`]
    /// (as a fold applying "override added" would).
    pub fn into_parts(self) -> (ZoneName, Vec<Layer>, Vec<Override>, Vec<TemporarySchedule>) {
        (self.zone, self.layers, self.overrides, self.temporary)
    }
}

impl Layer {
    fn check(&self, zone: &ZoneName) -> Result<(), ScheduleError> {
        use limits::*;
        let n = self.participants.len();
        if n == 0 || n > MAX_PARTICIPANTS {
            return Err(ScheduleError::invalid(format!(
                "a layer has 1 to {MAX_PARTICIPANTS} participants ({n} given)"
            )));
        }
        let r = &self.rotation;
        if r.length == 0 || r.length > MAX_SHIFT_LENGTH {
            return Err(ScheduleError::invalid(format!(
                "a shift is 1 to {MAX_SHIFT_LENGTH} units long ({} given); for longer shifts use \
                 a larger unit",
                r.length
            )));
        }
        if r.unit == RotationUnit::Hourly && r.handoff.is_some() {
            return Err(ScheduleError::invalid(
                "an hourly rotation hands off every `length` hours from its start and takes no \
                 `handoff` time; remove it, or use a daily rotation",
            ));
        }
        if let Some(end) = self.end
            && end <= self.start
        {
            return Err(ScheduleError::invalid(format!(
                "the layer ends ({end}) at or before it starts ({}); end it later",
                self.start
            )));
        }
        if self.restrictions.len() > MAX_RESTRICTIONS {
            return Err(ScheduleError::invalid(format!(
                "a layer has at most {MAX_RESTRICTIONS} restrictions ({} given)",
                self.restrictions.len()
            )));
        }
        for (i, w) in self.restrictions.iter().enumerate() {
            let empty = match w {
                Restriction::Daily { from, to } => from == to,
                Restriction::Weekly {
                    from_day,
                    from,
                    to_day,
                    to,
                } => from_day == to_day && from == to,
            };
            if empty {
                return Err(ScheduleError::invalid(format!(
                    "restriction {i} starts and ends at the same time; a window must have a \
                     length (to be on call at all times, remove the restrictions)"
                )));
            }
        }
        if r.unit != RotationUnit::Hourly {
            let anchor = rotation::anchor(self, zone)?;
            let at = resolve_local(zone.time_zone(), anchor).map_err(ScheduleError::range)?;
            if at != self.start {
                return Err(ScheduleError::invalid(format!(
                    "the layer starts at {} ({} in {zone}), not at a handoff: a {} rotation \
                     handing off at {} hands off at {at} that day; start the layer there",
                    self.start,
                    zone.time_zone().to_datetime(self.start),
                    r.unit.as_str(),
                    anchor.time(),
                )));
            }
        }
        Ok(())
    }
}

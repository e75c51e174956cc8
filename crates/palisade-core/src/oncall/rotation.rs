//! One layer on its own: the rotation's handoffs, the restriction windows, and who the layer has
//! on call when.

use super::{
    Layer, QueryLimits, Restriction, RotationUnit, ScheduleError, ScheduleErrorKind, ZoneName,
};
use crate::types::UserName;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};
use serde::Serialize;

/// The instant a local date and clock time names in `tz`: the first instant at which the local
/// clock reads `dt` or later. In a DST gap that is the end of the gap (the instant the clocks
/// jump); in a repeated hour, the earlier occurrence.
pub fn resolve_local(tz: &TimeZone, dt: DateTime) -> Result<Timestamp, jiff::Error> {
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt),
        // `before` is the larger offset, so it names the earlier instant.
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt),
        AmbiguousOffset::Gap { before, after } => {
            // Read with the offset after the gap, `dt` is an instant before the jump; read with
            // the offset before it, an instant after. The jump lies between.
            let early = after.to_timestamp(dt)?;
            let late = before.to_timestamp(dt)?;
            Ok(tz
                .following(early)
                .next()
                .map_or(late, |t| t.timestamp().min(late)))
        }
    }
}

/// The local date and clock time of handoff 0 of a calendar rotation: the handoff time on the
/// local date of the start, or on the day before when that is the date whose handoff resolves to
/// the start (a handoff time in a gap that ends at midnight, as in America/Nuuk, resolves to the
/// next day). When neither resolves to the start, the start's own date: the layer is refused.
pub(super) fn anchor(layer: &Layer, zone: &ZoneName) -> Result<DateTime, ScheduleError> {
    let tz = zone.time_zone();
    let local = tz.to_datetime(layer.start);
    let Some(t) = layer.rotation.handoff else {
        return Ok(local);
    };
    let on_the_day = local.date().to_datetime(t);
    let day_before = local
        .date()
        .yesterday()
        .map_err(ScheduleError::range)?
        .to_datetime(t);
    if resolve_local(tz, on_the_day).map_err(ScheduleError::range)? != layer.start
        && resolve_local(tz, day_before).map_err(ScheduleError::range)? == layer.start
    {
        return Ok(day_before);
    }
    Ok(on_the_day)
}

/// One shift of one layer's rotation, before restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationShift {
    /// The shift's number: 0 starts at the layer's start.
    pub index: i64,
    pub user: UserName,
    pub start: Timestamp,
    /// The next handoff, or the layer's end.
    pub end: Timestamp,
}

/// Computes handoffs of one layer.
pub(super) struct Handoffs<'a> {
    layer: &'a Layer,
    tz: &'a TimeZone,
    anchor: DateTime,
}

impl<'a> Handoffs<'a> {
    pub(super) fn new(layer: &'a Layer, zone: &'a ZoneName) -> Result<Handoffs<'a>, ScheduleError> {
        Ok(Handoffs {
            layer,
            tz: zone.time_zone(),
            anchor: anchor(layer, zone)?,
        })
    }

    /// Handoff `n` (n ≥ 0), computed from the start, never from the previous handoff.
    pub(super) fn at(&self, n: i64) -> Result<Timestamp, ScheduleError> {
        let len = i64::from(self.layer.rotation.length);
        let k = n.checked_mul(len).ok_or_else(too_far)?;
        let span = |r: Result<Span, jiff::Error>| r.map_err(ScheduleError::range);
        let date = |s: Span| -> Result<Date, ScheduleError> {
            self.anchor
                .date()
                .checked_add(s)
                .map_err(ScheduleError::range)
        };
        let local = match self.layer.rotation.unit {
            RotationUnit::Hourly => {
                let d = SignedDuration::from_secs(k.checked_mul(3600).ok_or_else(too_far)?);
                return self
                    .layer
                    .start
                    .checked_add(d)
                    .map_err(ScheduleError::range);
            }
            RotationUnit::Daily => date(span(Span::new().try_days(k))?)?,
            RotationUnit::Weekly => date(span(Span::new().try_weeks(k))?)?,
            RotationUnit::Monthly => date(span(Span::new().try_months(k))?)?,
        };
        resolve_local(self.tz, local.to_datetime(self.anchor.time())).map_err(ScheduleError::range)
    }

    /// The number of the shift holding `t` (`t` at or after the start): an estimate from the
    /// calendar, corrected by a step or two.
    fn index_at(&self, t: Timestamp) -> Result<i64, ScheduleError> {
        let len = i64::from(self.layer.rotation.length);
        let units = match self.layer.rotation.unit {
            RotationUnit::Hourly => {
                let hours = t.duration_since(self.layer.start).as_hours();
                hours / len
            }
            unit => {
                let local = self.tz.to_datetime(t).date();
                let a = self.anchor.date();
                match unit {
                    RotationUnit::Monthly => {
                        let months = (i64::from(local.year()) - i64::from(a.year())) * 12
                            + i64::from(local.month())
                            - i64::from(a.month());
                        months / len
                    }
                    RotationUnit::Weekly => local.duration_since(a).as_hours() / 24 / 7 / len,
                    _ => local.duration_since(a).as_hours() / 24 / len,
                }
            }
        };
        let mut n = units.max(0);
        while n > 0 && self.at(n)? > t {
            n -= 1;
        }
        while self.at(n + 1)? <= t {
            n += 1;
        }
        Ok(n)
    }

    /// The rotation's shifts overlapping `[from, to)`, whole (not cut to the query), the last
    /// one ending at the layer's end if it has one.
    pub(super) fn shifts(
        &self,
        from: Timestamp,
        to: Timestamp,
        limits: &QueryLimits,
    ) -> Result<Vec<RotationShift>, ScheduleError> {
        let layer = self.layer;
        let end = layer.end.map_or(to, |e| e.min(to));
        let mut out = Vec::new();
        if end <= layer.start || end <= from {
            return Ok(out);
        }
        let mut n = if from <= layer.start {
            0
        } else {
            self.index_at(from)?
        };
        let mut start = self.at(n)?;
        while start < end {
            if out.len() >= limits.max_shifts {
                return Err(ScheduleError::new(
                    ScheduleErrorKind::TooManyShifts,
                    format!(
                        "a layer has more than {} shifts between {from} and {to}; ask for a \
                         shorter span",
                        limits.max_shifts
                    ),
                ));
            }
            let next = self.at(n + 1)?;
            let stop = layer.end.map_or(next, |e| e.min(next));
            if stop > start {
                let who = &layer.participants[(n as usize) % layer.participants.len()];
                out.push(RotationShift {
                    index: n,
                    user: who.clone(),
                    start,
                    end: stop,
                });
            }
            n += 1;
            start = next;
        }
        Ok(out)
    }
}

fn too_far() -> ScheduleError {
    ScheduleError::new(
        ScheduleErrorKind::OutOfRange,
        "the query is too far from the layer's start to compute; move the layer's start closer",
    )
}

/// The union of a layer's restriction windows within `[from, to)`, as sorted disjoint spans.
/// `None` when the layer has no restrictions (always on).
pub(super) fn windows(
    layer: &Layer,
    tz: &TimeZone,
    from: Timestamp,
    to: Timestamp,
    limits: &QueryLimits,
) -> Result<Option<Vec<(Timestamp, Timestamp)>>, ScheduleError> {
    if layer.restrictions.is_empty() {
        return Ok(None);
    }
    let day = |d: Date, n: i64| -> Result<Date, ScheduleError> {
        d.checked_add(Span::new().try_days(n).map_err(ScheduleError::range)?)
            .map_err(ScheduleError::range)
    };
    let at = |d: Date, t| resolve_local(tz, d.to_datetime(t)).map_err(ScheduleError::range);
    // A window starting up to a week before `from` (local) may still be open at `from`.
    let first = day(tz.to_datetime(from).date(), -8)?;
    let last = day(tz.to_datetime(to).date(), 1)?;
    let mut spans = Vec::new();
    let mut d = first;
    while d <= last {
        for r in &layer.restrictions {
            let (start, end) = match *r {
                Restriction::Daily { from: f, to: t } => {
                    let end_day = if t > f { d } else { day(d, 1)? };
                    (at(d, f)?, at(end_day, t)?)
                }
                Restriction::Weekly {
                    from_day,
                    from: f,
                    to_day,
                    to: t,
                } => {
                    if d.weekday() != from_day.to_jiff() {
                        continue;
                    }
                    let mut ahead =
                        (to_day.monday_zero_offset() - from_day.monday_zero_offset()).rem_euclid(7);
                    if ahead == 0 && t <= f {
                        ahead = 7;
                    }
                    (at(d, f)?, at(day(d, ahead)?, t)?)
                }
            };
            let (start, end) = (start.max(from), end.min(to));
            if start < end {
                if spans.len() >= limits.max_shifts {
                    return Err(ScheduleError::new(
                        ScheduleErrorKind::TooManyShifts,
                        format!(
                            "a layer has more than {} restriction windows between {from} and \
                             {to}; ask for a shorter span",
                            limits.max_shifts
                        ),
                    ));
                }
                spans.push((start, end));
            }
        }
        d = day(d, 1)?;
    }
    spans.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    Ok(Some(merged))
}

/// Who a layer has on call within `[from, to)`: sorted, disjoint spans cut to the query.
pub(super) fn segments(
    layer: &Layer,
    zone: &ZoneName,
    from: Timestamp,
    to: Timestamp,
    limits: &QueryLimits,
) -> Result<Vec<(Timestamp, Timestamp, UserName)>, ScheduleError> {
    let shifts = Handoffs::new(layer, zone)?.shifts(from, to, limits)?;
    let cut = |s: &RotationShift| (s.start.max(from), s.end.min(to));
    let Some(windows) = windows(layer, zone.time_zone(), from, to, limits)? else {
        return Ok(shifts
            .iter()
            .map(|s| {
                let (a, b) = cut(s);
                (a, b, s.user.clone())
            })
            .collect());
    };
    let mut out = Vec::new();
    let mut w = 0;
    for s in &shifts {
        let (a, b) = cut(s);
        while w < windows.len() && windows[w].1 <= a {
            w += 1;
        }
        let mut i = w;
        while i < windows.len() && windows[i].0 < b {
            let (x, y) = (windows[i].0.max(a), windows[i].1.min(b));
            if x < y {
                out.push((x, y, s.user.clone()));
            }
            i += 1;
        }
    }
    Ok(out)
}

impl Layer {
    /// The layer's rotation shifts overlapping `[from, to)`, whole and before restrictions: the
    /// handoffs and who takes over at each. `zone` is the schedule's zone.
    pub fn handoffs(
        &self,
        zone: &ZoneName,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RotationShift>, ScheduleError> {
        super::compute::check_query(from, to, &QueryLimits::DEFAULT)?;
        self.check(zone)?;
        Handoffs::new(self, zone)?.shifts(from, to, &QueryLimits::DEFAULT)
    }
}

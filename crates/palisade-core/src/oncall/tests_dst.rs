//! Every IANA zone of the bundled database, through every offset transition from 2026 to 2030:
//! calendar rotations hand off at their local clock time (or as documented when it does not
//! exist or occurs twice), consecutive shifts abut, an unrestricted layer covers the whole
//! window, and hourly shifts are exactly their length.

use super::*;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

fn u(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}

const NS: SignedDuration = SignedDuration::from_nanos(1);

/// The latest local clock reading at any instant before `h`, looking back to `since`: the
/// reading just before `h`, or just before a transition in between (where the clocks went back).
fn latest_reading_before(tz: &TimeZone, h: Timestamp, since: Timestamp) -> DateTime {
    let mut latest = tz.to_datetime(h - NS);
    for t in tz.preceding(h) {
        if t.timestamp() < since {
            break;
        }
        latest = latest.max(tz.to_datetime(t.timestamp() - NS));
    }
    latest
}

/// Checks handoff `h` against the local date and time it stands for: the first instant at
/// which the clock reads `target` or later. So either the clock reads `target` there, or `target`
/// does not exist and `h` is the transition the clocks jumped over it at.
fn check_handoff(
    tz: &TimeZone,
    h: Timestamp,
    target: DateTime,
    since: Timestamp,
    what: &str,
) -> Result<(), String> {
    let reads = tz.to_datetime(h);
    if reads < target {
        return Err(format!(
            "{what}: handoff {h} reads {reads}, before {target}"
        ));
    }
    if reads != target {
        let is_transition = tz
            .preceding(h + NS)
            .next()
            .is_some_and(|t| t.timestamp() == h);
        if !is_transition {
            return Err(format!(
                "{what}: handoff {h} reads {reads}, not {target}, and is no transition"
            ));
        }
    }
    let before = latest_reading_before(tz, h, since);
    if before >= target {
        return Err(format!(
            "{what}: the clock read {before} (≥ {target}) before the handoff {h}"
        ));
    }
    Ok(())
}

/// A layer of three participants on `unit` rotations, one unit each, whose handoff 0 is the
/// local `anchor`.
fn layer_at(tz: &TimeZone, unit: RotationUnit, anchor: DateTime) -> Layer {
    Layer {
        participants: vec![u("ann"), u("bob"), u("cat")],
        rotation: Rotation {
            unit,
            length: 1,
            handoff: Some(anchor.time()),
        },
        start: resolve_local(tz, anchor).unwrap(),
        end: None,
        restrictions: Vec::new(),
    }
}

fn step(unit: RotationUnit, n: i64) -> jiff::Span {
    match unit {
        RotationUnit::Daily => jiff::Span::new().days(n),
        RotationUnit::Weekly => jiff::Span::new().weeks(n),
        RotationUnit::Monthly => jiff::Span::new().months(n),
        RotationUnit::Hourly => unreachable!("calendar units only"),
    }
}

fn check_calendar(
    zone: &ZoneName,
    unit: RotationUnit,
    anchor: DateTime,
    until: Timestamp,
) -> Result<(), String> {
    let tz = zone.time_zone();
    let layer = layer_at(tz, unit, anchor);
    let from = layer.start;
    let what = |n: i64| format!("{zone} {unit:?} from {anchor}, handoff {n}");
    let schedule = Schedule::new(zone.clone(), vec![layer], vec![], vec![])
        .map_err(|e| format!("{}: {}", what(0), e.message))?;
    let shifts = schedule.layers()[0]
        .handoffs(zone, from, until)
        .map_err(|e| format!("{}: {}", what(0), e.message))?;
    let since = from - SignedDuration::from_hours(24 * 60);
    for (i, s) in shifts.iter().enumerate() {
        if s.index != i as i64 {
            return Err(format!("{}: numbered {}", what(i as i64), s.index));
        }
        if s.user != schedule.layers()[0].participants[i % 3] {
            return Err(format!("{}: the wrong participant", what(s.index)));
        }
        // The local date and time handoff n stands for, from the anchor (the date clamped to
        // the month's end for monthly rotations).
        let target = anchor
            .date()
            .checked_add(step(unit, s.index))
            .unwrap()
            .to_datetime(anchor.time());
        check_handoff(tz, s.start, target, since, &what(s.index))?;
        if s.start >= s.end {
            return Err(format!("{}: empty shift", what(s.index)));
        }
        if let Some(next) = shifts.get(i + 1)
            && next.start != s.end
        {
            return Err(format!(
                "{}: ends {} but the next starts {}",
                what(s.index),
                s.end,
                next.start
            ));
        }
    }
    if shifts.last().map(|s| s.end) < Some(until) {
        return Err(format!("{}: shifts end before {until}", what(0)));
    }
    // The final schedule of this one unrestricted layer covers the window with no gap.
    let gaps = schedule
        .gaps(from, until)
        .map_err(|e| format!("{}: {}", what(0), e.message))?;
    if !gaps.is_empty() {
        return Err(format!("{}: gaps {gaps:?}", what(0)));
    }
    let finals = schedule.shifts(from, until).unwrap();
    if finals.len() != shifts.len() || finals.first().map(|s| s.start) != Some(from) {
        return Err(format!(
            "{}: {} final shifts for {} handoffs",
            what(0),
            finals.len(),
            shifts.len()
        ));
    }
    Ok(())
}

fn check_hourly(zone: &ZoneName, hours: u32, start: Timestamp) -> Result<(), String> {
    let layer = Layer {
        participants: vec![u("ann"), u("bob")],
        rotation: Rotation {
            unit: RotationUnit::Hourly,
            length: hours,
            handoff: None,
        },
        start,
        end: None,
        restrictions: Vec::new(),
    };
    let until = start + SignedDuration::from_hours(30);
    let shifts = layer.handoffs(zone, start, until).map_err(|e| e.message)?;
    let len = SignedDuration::from_hours(i64::from(hours));
    for (i, s) in shifts.iter().enumerate() {
        if s.end.duration_since(s.start) != len || s.start != start + len * (i as i32) {
            return Err(format!(
                "{zone} hourly {hours} from {start}: shift {i} is {} to {}",
                s.start, s.end
            ));
        }
    }
    Ok(())
}

#[test]
fn every_zone_through_every_transition_from_2026_to_2030() {
    let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2031-01-01T00:00:00Z".parse().unwrap();
    let (mut zones, mut transitions, mut failures) = (0, 0, Vec::new());
    for name in jiff::tz::db().available() {
        let zone = ZoneName::parse(name.as_str()).unwrap();
        zones += 1;
        let tz = zone.time_zone().clone();
        for t in tz.following(from) {
            let at = t.timestamp();
            if at >= to {
                break;
            }
            transitions += 1;
            // The local times the transition moves between: a gap [lo, hi) when the clocks go
            // forward, a repeated [lo, hi) when they go back.
            let was = tz.to_offset(at - NS).to_datetime(at);
            let is = t.offset().to_datetime(at);
            let (lo, hi) = (was.min(is), was.max(is));
            let mid = lo + lo.duration_until(hi) / 2;
            let minute = SignedDuration::from_mins(1);
            let mut targets = vec![lo - minute, lo, mid, hi - minute, hi];
            targets.sort();
            targets.dedup();
            for target in targets {
                let day = jiff::Span::new().days(1);
                let r = check_calendar(
                    &zone,
                    RotationUnit::Daily,
                    target - day * 3,
                    at + SignedDuration::from_hours(24 * 3),
                )
                .and_then(|_| {
                    check_calendar(
                        &zone,
                        RotationUnit::Weekly,
                        target - day * 14,
                        at + SignedDuration::from_hours(24 * 8),
                    )
                })
                .and_then(|_| {
                    // Two months back lands on the same day of the month only up to the 28th;
                    // later days anchor at the transition itself (handoff 0).
                    let anchor = if target.day() <= 28 {
                        target - jiff::Span::new().months(2)
                    } else {
                        target
                    };
                    check_calendar(
                        &zone,
                        RotationUnit::Monthly,
                        anchor,
                        at + SignedDuration::from_hours(24 * 40),
                    )
                });
                if let Err(e) = r {
                    failures.push(e);
                }
            }
            for (hours, before) in [(1, 5 * 60 + 30), (3, 7 * 60), (8, 6 * 60 + 15)] {
                let start = at - SignedDuration::from_mins(before);
                if let Err(e) = check_hourly(&zone, hours, start) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(zones > 400, "the bundled database has every zone ({zones})");
    assert!(transitions > 1_000, "{transitions} transitions");
    assert!(
        failures.is_empty(),
        "{} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
}

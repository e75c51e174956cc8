//! The final schedule: layers stacked, temporary schedules, then overrides.

use super::rotation::segments;
use super::{Override, QueryLimits, Schedule, ScheduleError, ScheduleErrorKind};
use crate::types::UserName;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where a span of the final schedule came from, before overrides.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Origin {
    /// The highest layer with someone on call (its index in the schedule's list).
    Layer { index: usize },
    /// A temporary schedule (its index), which replaced the layers here.
    Temporary { index: usize },
    /// No layer had anyone on call.
    Nobody,
}

/// A span of the final schedule in which the same people are on call for the same reasons.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
    /// Who is on call, sorted by name; empty in a gap.
    pub users: Vec<UserName>,
    /// Where it came from before overrides.
    pub origin: Origin,
    /// The overrides (indices, in order) that changed who is on call here.
    pub overrides: Vec<usize>,
}

/// A span with nobody on call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub end: Timestamp,
}

pub(super) fn check_query(
    from: Timestamp,
    to: Timestamp,
    limits: &QueryLimits,
) -> Result<(), ScheduleError> {
    if from >= to {
        return Err(ScheduleError::new(
            ScheduleErrorKind::Query,
            format!("the query runs from {from} to {to}: `to` must be after `from`"),
        ));
    }
    if to.duration_since(from) > limits.max_span {
        return Err(ScheduleError::new(
            ScheduleErrorKind::Query,
            format!(
                "the query from {from} to {to} is longer than {} days; ask for at most that much \
                 at a time",
                limits.max_span.as_hours() / 24
            ),
        ));
    }
    Ok(())
}

/// Active members of a family of spans, swept over increasing instants.
struct Sweep {
    starts: Vec<(Timestamp, usize)>,
    ends: Vec<(Timestamp, usize)>,
    next_start: usize,
    next_end: usize,
    active: BTreeSet<usize>,
}

impl Sweep {
    fn new(spans: impl Iterator<Item = (Timestamp, Timestamp, usize)>) -> Sweep {
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        for (s, e, i) in spans {
            starts.push((s, i));
            ends.push((e, i));
        }
        starts.sort();
        ends.sort();
        Sweep {
            starts,
            ends,
            next_start: 0,
            next_end: 0,
            active: BTreeSet::new(),
        }
    }
    /// The members whose span holds `t` (called with increasing `t`).
    fn at(&mut self, t: Timestamp) -> &BTreeSet<usize> {
        while self.next_start < self.starts.len() && self.starts[self.next_start].0 <= t {
            self.active.insert(self.starts[self.next_start].1);
            self.next_start += 1;
        }
        while self.next_end < self.ends.len() && self.ends[self.next_end].0 <= t {
            self.active.remove(&self.ends[self.next_end].1);
            self.next_end += 1;
        }
        &self.active
    }
}

impl Schedule {
    /// Who is on call from `from` to `to`, cut at every change, including the spans with nobody
    /// (empty `users`): the spans cover `[from, to)` exactly, in order, and adjacent spans differ.
    pub fn timeline(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, ScheduleError> {
        self.timeline_within(from, to, &QueryLimits::DEFAULT)
    }

    /// [`Schedule::timeline`] with other limits.
    pub fn timeline_within(
        &self,
        from: Timestamp,
        to: Timestamp,
        limits: &QueryLimits,
    ) -> Result<Vec<Shift>, ScheduleError> {
        check_query(from, to, limits)?;
        let layers = self
            .layers
            .iter()
            .map(|l| segments(l, &self.zone, from, to, limits))
            .collect::<Result<Vec<_>, _>>()?;

        let clip = |s: Timestamp, e: Timestamp| (s.max(from), e.min(to));
        let mut cuts = vec![from, to];
        for segs in &layers {
            for (s, e, _) in segs {
                cuts.extend([*s, *e]);
            }
        }
        let mut temporary = Vec::new();
        for (i, t) in self.temporary.iter().enumerate() {
            let (s, e) = clip(t.from, t.to);
            if s < e {
                temporary.push((s, e, i));
                cuts.extend([s, e]);
                for sh in &t.shifts {
                    let (s, e) = clip(sh.from, sh.to);
                    if s < e {
                        cuts.extend([s, e]);
                    }
                }
            }
        }
        let mut overrides = Vec::new();
        for (i, o) in self.overrides.iter().enumerate() {
            let (s, e) = clip(o.from(), o.to());
            if s < e {
                overrides.push((s, e, i));
                cuts.extend([s, e]);
            }
        }
        cuts.sort();
        cuts.dedup();

        let mut temporary = Sweep::new(temporary.into_iter());
        let mut overrides = Sweep::new(overrides.into_iter());
        let mut next_seg = vec![0usize; layers.len()];
        let mut out: Vec<Shift> = Vec::new();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            // Layers: skip the segments that ended; the next one holds `a` if it has started.
            let mut layer_users = vec![None; layers.len()];
            for (l, segs) in layers.iter().enumerate() {
                while next_seg[l] < segs.len() && segs[next_seg[l]].1 <= a {
                    next_seg[l] += 1;
                }
                if let Some((s, _, u)) = segs.get(next_seg[l])
                    && *s <= a
                {
                    layer_users[l] = Some(u);
                }
            }
            let (mut users, origin): (Vec<UserName>, Origin) =
                match temporary.at(a).iter().next_back() {
                    Some(&i) => {
                        let mut users: Vec<UserName> = self.temporary[i]
                            .shifts
                            .iter()
                            .filter(|s| s.from <= a && a < s.to)
                            .map(|s| s.user.clone())
                            .collect();
                        users.sort();
                        users.dedup();
                        (users, Origin::Temporary { index: i })
                    }
                    None => {
                        match layer_users.iter().enumerate().rev().find_map(|(l, u)| {
                            u.map(|u| (vec![u.clone()], Origin::Layer { index: l }))
                        }) {
                            Some(found) => found,
                            None => (Vec::new(), Origin::Nobody),
                        }
                    }
                };
            let mut applied = Vec::new();
            for &i in overrides.at(a) {
                if apply(&mut users, &self.overrides[i]) {
                    applied.push(i);
                }
            }
            match out.last_mut() {
                Some(last)
                    if last.end == a
                        && last.users == users
                        && last.origin == origin
                        && last.overrides == applied =>
                {
                    last.end = b;
                }
                _ => out.push(Shift {
                    start: a,
                    end: b,
                    users,
                    origin,
                    overrides: applied,
                }),
            }
        }
        Ok(out)
    }

    /// Layer `index` on its own from `from` to `to`, before the layers above it, temporary
    /// schedules and overrides: each of its rotation shifts within its restriction windows (one
    /// span per shift and window, so handoffs to the same person stay visible), and the spans in
    /// which the layer has nobody (empty `users`, origin [`Origin::Nobody`]). The spans cover
    /// `[from, to)` exactly, in order.
    pub fn layer_timeline(
        &self,
        index: usize,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Shift>, ScheduleError> {
        let limits = QueryLimits::DEFAULT;
        check_query(from, to, &limits)?;
        let layer = self.layers.get(index).ok_or_else(|| {
            ScheduleError::new(
                ScheduleErrorKind::Query,
                format!(
                    "the schedule has {} layers; there is no layer {index}",
                    self.layers.len()
                ),
            )
        })?;
        let nobody = |start, end| Shift {
            start,
            end,
            users: Vec::new(),
            origin: Origin::Nobody,
            overrides: Vec::new(),
        };
        let mut out = Vec::new();
        let mut at = from;
        for (s, e, user) in segments(layer, &self.zone, from, to, &limits)? {
            if at < s {
                out.push(nobody(at, s));
            }
            out.push(Shift {
                start: s,
                end: e,
                users: vec![user],
                origin: Origin::Layer { index },
                overrides: Vec::new(),
            });
            at = e;
        }
        if at < to {
            out.push(nobody(at, to));
        }
        Ok(out)
    }

    /// The final shifts from `from` to `to` (cut to the query): who is on call, from when to
    /// when, and why; sorted, non-overlapping, and merged where adjacent and identical. Spans
    /// with nobody on call are left out (see [`Schedule::gaps`]).
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, ScheduleError> {
        let mut all = self.timeline(from, to)?;
        all.retain(|s| !s.users.is_empty());
        Ok(all)
    }

    /// The spans from `from` to `to` with nobody on call, merged where adjacent.
    pub fn gaps(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Gap>, ScheduleError> {
        let mut out: Vec<Gap> = Vec::new();
        for s in self.timeline(from, to)? {
            if !s.users.is_empty() {
                continue;
            }
            match out.last_mut() {
                Some(g) if g.end == s.start => g.end = s.end,
                _ => out.push(Gap {
                    start: s.start,
                    end: s.end,
                }),
            }
        }
        Ok(out)
    }

    /// Who is on call at `at`, sorted by name (empty in a gap).
    pub fn on_call_at(&self, at: Timestamp) -> Result<Vec<UserName>, ScheduleError> {
        let next = at
            .checked_add(SignedDuration::from_nanos(1))
            .map_err(ScheduleError::range)?;
        Ok(self
            .timeline(at, next)?
            .into_iter()
            .next()
            .map(|s| s.users)
            .unwrap_or_default())
    }
}

/// Applies one override to who is on call; whether it changed anything.
fn apply(users: &mut Vec<UserName>, o: &Override) -> bool {
    match o {
        Override::Replace { user, .. } => {
            if users.len() == 1 && users[0] == *user {
                return false;
            }
            users.clear();
            users.push(user.clone());
            true
        }
        Override::Add { user, .. } => match users.binary_search(user) {
            Ok(_) => false,
            Err(at) => {
                users.insert(at, user.clone());
                true
            }
        },
        Override::Remove { user, .. } => match users.binary_search(user) {
            Ok(at) => {
                users.remove(at);
                true
            }
            Err(_) => false,
        },
    }
}

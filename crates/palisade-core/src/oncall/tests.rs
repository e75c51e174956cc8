//! Hand-worked examples of the schedule semantics, and a property test over random schedules.

use super::*;
use jiff::civil::DateTime;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn u(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}
fn users(names: &[&str]) -> Vec<UserName> {
    names.iter().map(|n| u(n)).collect()
}
fn zone(name: &str) -> ZoneName {
    ZoneName::parse(name).unwrap()
}
fn time(s: &str) -> Time {
    s.parse().unwrap()
}
fn hours(d: SignedDuration) -> f64 {
    d.as_secs_f64() / 3600.0
}
/// The local date and time of `t` in `zone`, as ISO text.
fn local(z: &ZoneName, t: Timestamp) -> String {
    z.time_zone().to_datetime(t).to_string()
}

fn layer(names: &[&str], unit: RotationUnit, length: u32, start: &str) -> Layer {
    Layer {
        participants: users(names),
        rotation: Rotation {
            unit,
            length,
            handoff: None,
        },
        start: ts(start),
        end: None,
        restrictions: Vec::new(),
    }
}

fn schedule(z: &str, layers: Vec<Layer>) -> Schedule {
    Schedule::new(zone(z), layers, Vec::new(), Vec::new()).unwrap()
}

/// (local start, hours long, user) of each rotation shift of layer 0.
fn handoffs(s: &Schedule, from: &str, to: &str) -> Vec<(String, f64, String)> {
    s.layers()[0]
        .handoffs(s.zone(), ts(from), ts(to))
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                local(s.zone(), h.start),
                hours(h.end.duration_since(h.start)),
                h.user.to_string(),
            )
        })
        .collect()
}

#[test]
fn a_daily_0900_rotation_hands_off_at_0900_local_across_both_new_york_dst_changes() {
    // 09:00 EST is 14:00 UTC.
    let s = schedule(
        "America/New_York",
        vec![layer(
            &["ann", "bob", "cat"],
            RotationUnit::Daily,
            1,
            "2026-03-06T14:00:00Z",
        )],
    );
    assert_eq!(
        handoffs(&s, "2026-03-06T14:00:00Z", "2026-03-10T00:00:00Z"),
        vec![
            ("2026-03-06T09:00:00".into(), 24.0, "ann".into()),
            // Clocks spring forward on the 8th: this shift is 23 hours.
            ("2026-03-07T09:00:00".into(), 23.0, "bob".into()),
            ("2026-03-08T09:00:00".into(), 24.0, "cat".into()),
            ("2026-03-09T09:00:00".into(), 24.0, "ann".into()),
        ]
    );
    // Clocks fall back on 1 November: the shift holding it is 25 hours.
    let h = handoffs(&s, "2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z");
    assert_eq!(
        h.iter()
            .map(|(t, l, _)| (t.as_str(), *l))
            .collect::<Vec<_>>(),
        vec![
            ("2026-10-30T09:00:00", 24.0),
            ("2026-10-31T09:00:00", 25.0),
            ("2026-11-01T09:00:00", 24.0),
        ]
    );
    // The same, as instants: 13:00 UTC in summer time, 14:00 in winter.
    let shifts = s
        .shifts(ts("2026-10-31T00:00:00Z"), ts("2026-11-03T00:00:00Z"))
        .unwrap();
    let starts: Vec<String> = shifts.iter().map(|s| s.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2026-10-31T00:00:00Z",
            "2026-10-31T13:00:00Z",
            "2026-11-01T14:00:00Z",
            "2026-11-02T14:00:00Z"
        ]
    );
    assert_eq!(shifts[1].origin, Origin::Layer { index: 0 });
}

#[test]
fn a_handoff_in_the_spring_forward_gap_happens_when_the_clocks_jump() {
    // 02:30 does not exist in New York on 8 March 2026 (02:00 EST → 03:00 EDT).
    let mut l = layer(
        &["ann", "bob"],
        RotationUnit::Daily,
        1,
        "2026-03-07T07:30:00Z",
    );
    l.rotation.handoff = Some(time("02:30"));
    let s = schedule("America/New_York", vec![l]);
    let h = s.layers()[0]
        .handoffs(
            s.zone(),
            ts("2026-03-07T07:30:00Z"),
            ts("2026-03-09T08:00:00Z"),
        )
        .unwrap();
    let starts: Vec<String> = h.iter().map(|h| h.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-07T07:30:00Z", // 02:30 EST
            "2026-03-08T07:00:00Z", // 03:00 EDT, the instant the clocks jump
            "2026-03-09T06:30:00Z", // 02:30 EDT
        ]
    );
    assert_eq!(local(s.zone(), h[1].start), "2026-03-08T03:00:00");
    // jiff's `compatible` would have pushed it to 03:30; the module says why it does not.
    let dt: DateTime = "2026-03-08T02:30".parse().unwrap();
    let tz = s.zone().time_zone();
    assert_eq!(
        tz.to_timestamp(dt).unwrap().to_string(),
        "2026-03-08T07:30:00Z"
    );
    assert_eq!(
        resolve_local(tz, dt).unwrap().to_string(),
        "2026-03-08T07:00:00Z"
    );
    // Shifts abut: each ends where the next starts.
    assert_eq!(h[0].end, h[1].start);
    assert_eq!(h[1].end, h[2].start);
}

#[test]
fn a_handoff_in_the_repeated_hour_happens_at_its_first_occurrence() {
    // 01:30 occurs twice in New York on 1 November 2026: 05:30 UTC (EDT), then 06:30 UTC (EST).
    let mut l = layer(
        &["ann", "bob"],
        RotationUnit::Daily,
        1,
        "2026-10-31T05:30:00Z",
    );
    l.rotation.handoff = Some(time("01:30"));
    let s = schedule("America/New_York", vec![l]);
    assert_eq!(
        handoffs(&s, "2026-10-31T05:30:00Z", "2026-11-02T07:00:00Z"),
        vec![
            ("2026-10-31T01:30:00".into(), 24.0, "ann".into()),
            ("2026-11-01T01:30:00".into(), 25.0, "bob".into()),
            ("2026-11-02T01:30:00".into(), 24.0, "ann".into()),
        ]
    );
    let h = s.layers()[0]
        .handoffs(
            s.zone(),
            ts("2026-11-01T05:00:00Z"),
            ts("2026-11-01T06:00:00Z"),
        )
        .unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].end, ts("2026-11-01T05:30:00Z"));
    assert_eq!(h[1].start, ts("2026-11-01T05:30:00Z"));
    // A layer cannot start at the second 01:30: that is not the handoff of its day.
    let late = layer(&["ann"], RotationUnit::Daily, 1, "2026-11-01T06:30:00Z");
    let e = Schedule::new(zone("America/New_York"), vec![late], vec![], vec![]).unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::Invalid);
    assert!(e.message.contains("2026-11-01T05:30:00Z"), "{}", e.message);
}

#[test]
fn a_monthly_rotation_on_the_31st_clamps_to_short_months_and_never_drifts() {
    // 09:00 CET on 31 January is 08:00 UTC.
    let s = schedule(
        "Europe/Berlin",
        vec![layer(
            &["ann", "bob"],
            RotationUnit::Monthly,
            1,
            "2026-01-31T08:00:00Z",
        )],
    );
    let starts: Vec<String> = handoffs(&s, "2026-01-31T08:00:00Z", "2026-07-01T00:00:00Z")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(
        starts,
        [
            "2026-01-31T09:00:00",
            "2026-02-28T09:00:00",
            "2026-03-31T09:00:00",
            "2026-04-30T09:00:00",
            "2026-05-31T09:00:00",
            "2026-06-30T09:00:00",
        ]
    );
    // Two years on, the leap February and then the 31st again.
    let later = handoffs(&s, "2028-02-01T00:00:00Z", "2028-04-01T00:00:00Z");
    assert_eq!(
        later
            .iter()
            .map(|h| (h.0.as_str(), h.2.as_str()))
            .collect::<Vec<_>>(),
        [
            ("2028-01-31T09:00:00", "ann"), // shift 24
            ("2028-02-29T09:00:00", "bob"),
            ("2028-03-31T09:00:00", "ann"),
        ]
    );
}

#[test]
fn a_weekly_rotation_hands_off_on_the_same_weekday_and_time_for_n_weeks_each() {
    // Monday 2 March 2026, 10:00 EST.
    let mut l = layer(
        &["ann", "bob"],
        RotationUnit::Weekly,
        2,
        "2026-03-02T15:00:00Z",
    );
    l.rotation.handoff = Some(time("10:00"));
    let s = schedule("America/New_York", vec![l]);
    let h = handoffs(&s, "2026-03-02T15:00:00Z", "2026-04-13T00:00:00Z");
    assert_eq!(
        h,
        vec![
            // Two weeks with the DST change inside: one hour short.
            (
                "2026-03-02T10:00:00".into(),
                14.0 * 24.0 - 1.0,
                "ann".into()
            ),
            ("2026-03-16T10:00:00".into(), 14.0 * 24.0, "bob".into()),
            ("2026-03-30T10:00:00".into(), 14.0 * 24.0, "ann".into()),
        ]
    );
    let tz = s.zone().time_zone();
    for shift in s.layers()[0]
        .handoffs(
            s.zone(),
            ts("2026-03-02T15:00:00Z"),
            ts("2026-09-01T00:00:00Z"),
        )
        .unwrap()
    {
        assert_eq!(
            tz.to_datetime(shift.start).weekday(),
            jiff::civil::Weekday::Monday
        );
    }
}

#[test]
fn lord_howe_moves_its_clocks_by_half_an_hour() {
    // Lord Howe Island: +10:30 in winter, +11:00 in summer. DST ends 5 April 2026 (02:00 → 01:30)
    // and starts 4 October 2026 (02:00 → 02:30).
    // 09:00 +11:00 on 3 April is 22:00 UTC on 2 April.
    let s = schedule(
        "Australia/Lord_Howe",
        vec![layer(
            &["ann", "bob"],
            RotationUnit::Daily,
            1,
            "2026-04-02T22:00:00Z",
        )],
    );
    let april = handoffs(&s, "2026-04-02T22:00:00Z", "2026-04-06T00:00:00Z");
    assert_eq!(
        april
            .iter()
            .map(|h| (h.0.as_str(), h.1))
            .collect::<Vec<_>>(),
        [
            ("2026-04-03T09:00:00", 24.0),
            ("2026-04-04T09:00:00", 24.5),
            ("2026-04-05T09:00:00", 24.0),
            ("2026-04-06T09:00:00", 24.0),
        ]
    );
    let october = handoffs(&s, "2026-10-03T00:00:00Z", "2026-10-04T20:00:00Z");
    assert_eq!(
        october
            .iter()
            .map(|h| (h.0.as_str(), h.1))
            .collect::<Vec<_>>(),
        [("2026-10-03T09:00:00", 23.5), ("2026-10-04T09:00:00", 24.0),]
    );
    // 02:15 does not exist on 4 October: the handoff is at 02:30, when the clocks jump.
    let mut l = layer(&["ann"], RotationUnit::Daily, 1, "2026-10-02T15:45:00Z");
    l.rotation.handoff = Some(time("02:15"));
    let s = schedule("Australia/Lord_Howe", vec![l]);
    assert_eq!(
        handoffs(&s, "2026-10-03T15:00:00Z", "2026-10-03T16:00:00Z"),
        vec![
            ("2026-10-03T02:15:00".into(), 23.75, "ann".into()),
            ("2026-10-04T02:30:00".into(), 23.75, "ann".into()),
        ]
    );
}

#[test]
fn without_dst_every_daily_shift_is_24_hours() {
    // Tokyo has had no DST since 1951: 09:00 JST is 00:00 UTC, every day of the year.
    let s = schedule(
        "Asia/Tokyo",
        vec![layer(
            &["ann", "bob", "cat"],
            RotationUnit::Daily,
            1,
            "2026-01-01T00:00:00Z",
        )],
    );
    let h = s.layers()[0]
        .handoffs(
            s.zone(),
            ts("2026-01-01T00:00:00Z"),
            ts("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(h.len(), 365);
    for shift in &h {
        assert_eq!(
            shift.end.duration_since(shift.start),
            SignedDuration::from_hours(24)
        );
        assert!(shift.start.to_string().ends_with("T00:00:00Z"));
    }
}

#[test]
fn hourly_rotations_count_real_hours_across_dst_changes() {
    // Eight-hour shifts from midnight EST: after the spring change they start at 01:00, 09:00,
    // 17:00 local, and each is exactly eight hours.
    let s = schedule(
        "America/New_York",
        vec![layer(
            &["ann", "bob", "cat"],
            RotationUnit::Hourly,
            8,
            "2026-03-07T05:00:00Z",
        )],
    );
    let h = handoffs(&s, "2026-03-07T05:00:00Z", "2026-03-09T05:00:00Z");
    assert!(h.iter().all(|h| h.1 == 8.0), "{h:?}");
    assert_eq!(
        h.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        [
            "2026-03-07T00:00:00",
            "2026-03-07T08:00:00",
            "2026-03-07T16:00:00",
            "2026-03-08T00:00:00",
            "2026-03-08T09:00:00",
            "2026-03-08T17:00:00",
        ]
    );
    // Queried from the middle, the shift holding the start is found directly.
    let mid = s.layers()[0]
        .handoffs(
            s.zone(),
            ts("2027-06-01T12:00:00Z"),
            ts("2027-06-01T12:00:01Z"),
        )
        .unwrap();
    assert_eq!(mid.len(), 1);
    assert!(mid[0].start <= ts("2027-06-01T12:00:00Z"));
    assert!(mid[0].end > ts("2027-06-01T12:00:00Z"));
    assert_eq!(
        mid[0].end.duration_since(mid[0].start),
        SignedDuration::from_hours(8)
    );
}

fn weekdays_9_to_5() -> Vec<Restriction> {
    use Weekday::*;
    [Monday, Tuesday, Wednesday, Thursday, Friday]
        .into_iter()
        .map(|d| Restriction::Weekly {
            from_day: d,
            from: time("09:00"),
            to_day: d,
            to: time("17:00"),
        })
        .collect()
}

#[test]
fn a_restricted_weekday_layer_wins_over_a_24_7_layer_only_in_its_hours() {
    // Europe/London, winter (UTC+0). Monday 5 January 2026.
    let base = layer(
        &["nia", "olu"],
        RotationUnit::Weekly,
        1,
        "2026-01-05T00:00:00Z",
    );
    let mut day = layer(
        &["ann", "bob"],
        RotationUnit::Daily,
        1,
        "2026-01-05T09:00:00Z",
    );
    day.restrictions = weekdays_9_to_5();
    let s = schedule("Europe/London", vec![base, day]);
    let at = |t: &str| s.on_call_at(ts(t)).unwrap();
    assert_eq!(at("2026-01-05T08:59:59Z"), users(&["nia"]));
    assert_eq!(at("2026-01-05T09:00:00Z"), users(&["ann"]));
    assert_eq!(at("2026-01-06T16:59:59Z"), users(&["bob"]));
    assert_eq!(at("2026-01-06T17:00:00Z"), users(&["nia"]));
    assert_eq!(at("2026-01-10T12:00:00Z"), users(&["nia"])); // Saturday
    assert_eq!(at("2026-01-12T18:00:00Z"), users(&["olu"])); // next week's base
    let shifts = s
        .shifts(ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z"))
        .unwrap();
    let seen: Vec<(String, String, Origin)> = shifts
        .iter()
        .map(|s| (s.start.to_string(), s.users[0].to_string(), s.origin))
        .collect();
    let l0 = Origin::Layer { index: 0 };
    let l1 = Origin::Layer { index: 1 };
    assert_eq!(
        seen,
        vec![
            ("2026-01-05T00:00:00Z".into(), "nia".into(), l0),
            ("2026-01-05T09:00:00Z".into(), "ann".into(), l1),
            ("2026-01-05T17:00:00Z".into(), "nia".into(), l0),
            ("2026-01-06T09:00:00Z".into(), "bob".into(), l1),
            ("2026-01-06T17:00:00Z".into(), "nia".into(), l0),
        ]
    );
    assert!(
        s.gaps(ts("2026-01-05T00:00:00Z"), ts("2026-02-01T00:00:00Z"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn one_layer_on_its_own_shows_each_handoff_its_windows_and_the_spans_it_has_nobody() {
    // Europe/London, winter (UTC+0). Monday 5 January 2026: a daily 09:00 rotation, weekdays
    // 9 to 5, under nothing.
    let mut day = layer(
        &["ann", "bob"],
        RotationUnit::Daily,
        1,
        "2026-01-05T09:00:00Z",
    );
    day.restrictions = weekdays_9_to_5();
    let base = layer(&["nia"], RotationUnit::Weekly, 1, "2026-01-05T00:00:00Z");
    let s = schedule("Europe/London", vec![base, day]);
    let spans: Vec<(String, String, Vec<String>)> = s
        .layer_timeline(1, ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z"))
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.start.to_string(),
                s.end.to_string(),
                s.users.iter().map(|u| u.to_string()).collect(),
            )
        })
        .collect();
    let span = |a: &str, b: &str, who: &[&str]| {
        (
            a.to_string(),
            b.to_string(),
            who.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        spans,
        vec![
            span("2026-01-05T00:00:00Z", "2026-01-05T09:00:00Z", &[]),
            span("2026-01-05T09:00:00Z", "2026-01-05T17:00:00Z", &["ann"]),
            span("2026-01-05T17:00:00Z", "2026-01-06T09:00:00Z", &[]),
            span("2026-01-06T09:00:00Z", "2026-01-06T17:00:00Z", &["bob"]),
            span("2026-01-06T17:00:00Z", "2026-01-07T00:00:00Z", &[]),
        ]
    );
    // The lowest layer hands a one-person rotation to the same person each week: both shifts.
    let weeks = s
        .layer_timeline(0, ts("2026-01-05T00:00:00Z"), ts("2026-01-19T00:00:00Z"))
        .unwrap();
    assert_eq!(weeks.len(), 2, "{weeks:?}");
    assert!(weeks.iter().all(|w| w.users == users(&["nia"])));
    assert_eq!(weeks[1].start, ts("2026-01-12T00:00:00Z"));
    let err = s
        .layer_timeline(2, ts("2026-01-05T00:00:00Z"), ts("2026-01-06T00:00:00Z"))
        .unwrap_err();
    assert_eq!(err.kind, ScheduleErrorKind::Query);
    assert!(err.message.contains("no layer 2"), "{}", err.message);
}

#[test]
fn restrictions_may_wrap_midnight_and_the_week_and_leave_reported_gaps() {
    // Only a night layer (22:00–06:00) and a weekend layer (Friday 18:00 – Monday 08:00).
    let mut night = layer(&["ann"], RotationUnit::Daily, 1, "2026-01-05T00:00:00Z");
    night.restrictions = vec![Restriction::Daily {
        from: time("22:00"),
        to: time("06:00"),
    }];
    let mut weekend = layer(&["bob"], RotationUnit::Weekly, 1, "2026-01-05T00:00:00Z");
    weekend.restrictions = vec![Restriction::Weekly {
        from_day: Weekday::Friday,
        from: time("18:00"),
        to_day: Weekday::Monday,
        to: time("08:00"),
    }];
    let s = schedule("UTC", vec![night, weekend]);
    let gaps: Vec<(String, String)> = s
        .gaps(ts("2026-01-08T00:00:00Z"), ts("2026-01-13T00:00:00Z"))
        .unwrap()
        .into_iter()
        .map(|g| (g.start.to_string(), g.end.to_string()))
        .collect();
    assert_eq!(
        gaps,
        [
            // Thursday and Friday days; the weekend is covered; Monday 08:00 to 22:00.
            ("2026-01-08T06:00:00Z".into(), "2026-01-08T22:00:00Z".into()),
            ("2026-01-09T06:00:00Z".into(), "2026-01-09T18:00:00Z".into()),
            ("2026-01-12T08:00:00Z".into(), "2026-01-12T22:00:00Z".into()),
        ]
    );
    // Over the weekend the weekend layer (higher) wins, also at night.
    assert_eq!(
        s.on_call_at(ts("2026-01-10T23:00:00Z")).unwrap(),
        users(&["bob"])
    );
    assert_eq!(
        s.on_call_at(ts("2026-01-12T07:00:00Z")).unwrap(),
        users(&["bob"])
    );
    assert_eq!(
        s.on_call_at(ts("2026-01-13T05:00:00Z")).unwrap(),
        users(&["ann"])
    ); // night, Tue
    assert_eq!(
        s.on_call_at(ts("2026-01-13T12:00:00Z")).unwrap(),
        users(&[])
    );
}

#[test]
fn a_layer_has_nobody_before_its_start_and_from_its_end() {
    let mut l = layer(&["ann"], RotationUnit::Daily, 1, "2026-01-05T09:00:00Z");
    l.end = Some(ts("2026-01-07T12:00:00Z"));
    let s = schedule("UTC", vec![l]);
    let shifts = s
        .shifts(ts("2026-01-01T00:00:00Z"), ts("2026-01-10T00:00:00Z"))
        .unwrap();
    // One participant: the three handoffs to ann merge into one shift.
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].start, ts("2026-01-05T09:00:00Z"));
    assert_eq!(shifts[0].end, ts("2026-01-07T12:00:00Z"));
    let gaps = s
        .gaps(ts("2026-01-01T00:00:00Z"), ts("2026-01-10T00:00:00Z"))
        .unwrap();
    assert_eq!(gaps.len(), 2);
}

fn two_person_day() -> (Layer, &'static str, &'static str) {
    // ann then bob, a day each, from Monday 5 January 2026 at 00:00 UTC.
    (
        layer(
            &["ann", "bob"],
            RotationUnit::Daily,
            1,
            "2026-01-05T00:00:00Z",
        ),
        "2026-01-05T00:00:00Z",
        "2026-01-07T00:00:00Z",
    )
}

fn with(overrides: Vec<Override>, temporary: Vec<TemporarySchedule>) -> Schedule {
    let (l, _, _) = two_person_day();
    Schedule::new(zone("UTC"), vec![l], overrides, temporary).unwrap()
}

fn summary(s: &Schedule) -> Vec<(String, String, Vec<String>, Vec<usize>)> {
    let (_, from, to) = two_person_day();
    s.timeline(ts(from), ts(to))
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.start.to_string()[11..16].to_string() + &s.start.to_string()[8..10],
                s.end.to_string()[11..16].to_string() + &s.end.to_string()[8..10],
                s.users.iter().map(|u| u.to_string()).collect(),
                s.overrides,
            )
        })
        .collect()
}

fn row(
    from: &str,
    to: &str,
    who: &[&str],
    ovr: &[usize],
) -> (String, String, Vec<String>, Vec<usize>) {
    (
        from.into(),
        to.into(),
        who.iter().map(|s| s.to_string()).collect(),
        ovr.to_vec(),
    )
}

#[test]
fn replace_add_and_remove_overrides_change_who_is_on_call_for_their_span() {
    let replace = with(
        vec![Override::Replace {
            user: u("cat"),
            from: ts("2026-01-05T10:00:00Z"),
            to: ts("2026-01-05T12:00:00Z"),
        }],
        vec![],
    );
    // Times as "HH:MMdd".
    assert_eq!(
        summary(&replace),
        vec![
            row("00:0005", "10:0005", &["ann"], &[]),
            row("10:0005", "12:0005", &["cat"], &[0]),
            row("12:0005", "00:0006", &["ann"], &[]),
            row("00:0006", "00:0007", &["bob"], &[]),
        ]
    );
    let add = with(
        vec![Override::Add {
            user: u("cat"),
            from: ts("2026-01-05T20:00:00Z"),
            to: ts("2026-01-06T04:00:00Z"),
        }],
        vec![],
    );
    assert_eq!(
        summary(&add),
        vec![
            row("00:0005", "20:0005", &["ann"], &[]),
            row("20:0005", "00:0006", &["ann", "cat"], &[0]),
            row("00:0006", "04:0006", &["bob", "cat"], &[0]),
            row("04:0006", "00:0007", &["bob"], &[]),
        ]
    );
    let remove = with(
        vec![Override::Remove {
            user: u("bob"),
            from: ts("2026-01-06T06:00:00Z"),
            to: ts("2026-01-06T07:00:00Z"),
        }],
        vec![],
    );
    assert_eq!(
        summary(&remove)[1..],
        vec![
            row("00:0006", "06:0006", &["bob"], &[]),
            row("06:0006", "07:0006", &[], &[0]),
            row("07:0006", "00:0007", &["bob"], &[]),
        ]
    );
    let gaps = remove
        .gaps(ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z"))
        .unwrap();
    assert_eq!(
        gaps,
        vec![Gap {
            start: ts("2026-01-06T06:00:00Z"),
            end: ts("2026-01-06T07:00:00Z")
        }]
    );
    // Removing someone who is not on call changes nothing and is not reported.
    let noop = with(
        vec![Override::Remove {
            user: u("zed"),
            from: ts("2026-01-05T06:00:00Z"),
            to: ts("2026-01-05T07:00:00Z"),
        }],
        vec![],
    );
    assert_eq!(summary(&noop).len(), 2);
}

#[test]
fn later_overrides_win_where_they_overlap() {
    let s = with(
        vec![
            // 0: cat alongside ann, 08–16.
            Override::Add {
                user: u("cat"),
                from: ts("2026-01-05T08:00:00Z"),
                to: ts("2026-01-05T16:00:00Z"),
            },
            // 1: dan alone, 10–12 (undoes the add there).
            Override::Replace {
                user: u("dan"),
                from: ts("2026-01-05T10:00:00Z"),
                to: ts("2026-01-05T12:00:00Z"),
            },
            // 2: cat off, 14–18.
            Override::Remove {
                user: u("cat"),
                from: ts("2026-01-05T14:00:00Z"),
                to: ts("2026-01-05T18:00:00Z"),
            },
            // 3: cat back, 15–16.
            Override::Add {
                user: u("cat"),
                from: ts("2026-01-05T15:00:00Z"),
                to: ts("2026-01-05T16:00:00Z"),
            },
        ],
        vec![],
    );
    assert_eq!(
        summary(&s)[..6],
        vec![
            row("00:0005", "08:0005", &["ann"], &[]),
            row("08:0005", "10:0005", &["ann", "cat"], &[0]),
            row("10:0005", "12:0005", &["dan"], &[0, 1]),
            row("12:0005", "14:0005", &["ann", "cat"], &[0]),
            row("14:0005", "15:0005", &["ann"], &[0, 2]),
            row("15:0005", "16:0005", &["ann", "cat"], &[0, 2, 3]),
        ]
    );
    assert_eq!(summary(&s)[6], row("16:0005", "00:0006", &["ann"], &[]));
}

#[test]
fn a_temporary_schedule_replaces_the_layers_and_overrides_still_apply() {
    let temp = TemporarySchedule {
        from: ts("2026-01-05T12:00:00Z"),
        to: ts("2026-01-06T12:00:00Z"),
        shifts: vec![
            TemporaryShift {
                user: u("eve"),
                from: ts("2026-01-05T12:00:00Z"),
                to: ts("2026-01-05T20:00:00Z"),
            },
            TemporaryShift {
                user: u("fay"),
                from: ts("2026-01-05T22:00:00Z"),
                to: ts("2026-01-06T12:00:00Z"),
            },
        ],
    };
    let s = with(
        vec![Override::Add {
            user: u("gus"),
            from: ts("2026-01-06T10:00:00Z"),
            to: ts("2026-01-06T14:00:00Z"),
        }],
        vec![temp],
    );
    assert_eq!(
        summary(&s),
        vec![
            row("00:0005", "12:0005", &["ann"], &[]),
            row("12:0005", "20:0005", &["eve"], &[]),
            // Inside the temporary schedule, none of its shifts: nobody, even though ann's
            // layer has her on call.
            row("20:0005", "22:0005", &[], &[]),
            row("22:0005", "10:0006", &["fay"], &[]),
            row("10:0006", "12:0006", &["fay", "gus"], &[0]),
            row("12:0006", "14:0006", &["bob", "gus"], &[0]),
            row("14:0006", "00:0007", &["bob"], &[]),
        ]
    );
    let t = s
        .timeline(ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z"))
        .unwrap();
    assert_eq!(t[2].origin, Origin::Temporary { index: 0 });
    assert_eq!(t[5].origin, Origin::Layer { index: 0 });
    assert_eq!(
        s.gaps(ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z"))
            .unwrap(),
        vec![Gap {
            start: ts("2026-01-05T20:00:00Z"),
            end: ts("2026-01-05T22:00:00Z")
        }]
    );
}

#[test]
fn queries_are_bounded() {
    let (l, _, _) = two_person_day();
    let s = schedule("UTC", vec![l]);
    let e = s
        .shifts(ts("2026-01-01T00:00:00Z"), ts("2027-02-06T00:00:00Z"))
        .unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::Query);
    assert!(e.message.contains("400 days"), "{}", e.message);
    // 400 days exactly is fine.
    assert!(
        s.shifts(ts("2026-01-01T00:00:00Z"), ts("2027-02-05T00:00:00Z"))
            .is_ok()
    );
    let e = s
        .gaps(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z"))
        .unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::Query);
    let small = QueryLimits {
        max_span: QueryLimits::DEFAULT.max_span,
        max_shifts: 10,
    };
    let e = s
        .timeline_within(
            ts("2026-01-05T00:00:00Z"),
            ts("2026-01-20T00:00:00Z"),
            &small,
        )
        .unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::TooManyShifts);
    // Restriction windows count too.
    let mut r = layer(&["ann"], RotationUnit::Monthly, 1, "2026-01-05T00:00:00Z");
    r.restrictions = vec![Restriction::Daily {
        from: time("01:00"),
        to: time("02:00"),
    }];
    let e = schedule("UTC", vec![r])
        .timeline_within(
            ts("2026-01-05T00:00:00Z"),
            ts("2026-01-20T00:00:00Z"),
            &small,
        )
        .unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::TooManyShifts);
}

#[test]
fn a_query_far_from_the_layers_start_is_computed_directly() {
    // An hourly layer started in 1990, asked about 2030: no walk over forty years of shifts.
    let s = schedule(
        "Europe/Paris",
        vec![layer(
            &["ann", "bob", "cat"],
            RotationUnit::Hourly,
            1,
            "1990-01-01T00:00:00Z",
        )],
    );
    let who = s.on_call_at(ts("2030-06-01T05:30:00Z")).unwrap();
    let hours = ts("2030-06-01T05:00:00Z")
        .duration_since(ts("1990-01-01T00:00:00Z"))
        .as_hours();
    assert_eq!(who, users(&[["ann", "bob", "cat"][(hours % 3) as usize]]));
    let m = schedule(
        "Europe/Paris",
        vec![layer(
            &["ann", "bob"],
            RotationUnit::Monthly,
            1,
            "1990-01-30T23:00:00Z",
        )],
    );
    // 1990-01-31 00:00 CET; 480 months later (January 2030) it is ann's again, at 00:00 CET on the 31st.
    let h = m.layers()[0]
        .handoffs(
            m.zone(),
            ts("2030-01-30T23:00:00Z"),
            ts("2030-01-30T23:00:01Z"),
        )
        .unwrap();
    assert_eq!(h[0].index, 480);
    assert_eq!(h[0].start, ts("2030-01-30T23:00:00Z"));
    assert_eq!(h[0].user, u("ann"));
}

fn invalid(layers: Vec<Layer>, overrides: Vec<Override>, temp: Vec<TemporarySchedule>) -> String {
    let e = Schedule::new(zone("UTC"), layers, overrides, temp).unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::Invalid, "{}", e.message);
    e.message
}

#[test]
fn definitions_outside_the_limits_are_refused_with_what_to_do() {
    let ok = || layer(&["ann"], RotationUnit::Daily, 1, "2026-01-05T00:00:00Z");
    let mut none = ok();
    none.participants.clear();
    assert!(invalid(vec![none], vec![], vec![]).contains("1 to 100 participants"));
    let mut many = ok();
    many.participants = (0..101).map(|i| u(&format!("u{i}"))).collect();
    assert!(invalid(vec![many], vec![], vec![]).contains("(101 given)"));
    let mut hundred = ok();
    hundred.participants = (0..100).map(|i| u(&format!("u{i}"))).collect();
    let at_limit = Schedule::new(zone("UTC"), vec![hundred], vec![], vec![]).unwrap();
    assert_eq!(at_limit.layers()[0].participants.len(), 100);
    for bad in [0, 1001] {
        let mut l = ok();
        l.rotation.length = bad;
        assert!(invalid(vec![l], vec![], vec![]).contains("1 to 1000 units"));
    }
    assert!(invalid(vec![ok(); 21], vec![], vec![]).contains("at most 20 layers"));
    let twenty = Schedule::new(zone("UTC"), vec![ok(); 20], vec![], vec![]).unwrap();
    assert_eq!(twenty.layers().len(), 20);
    let o = Override::Add {
        user: u("ann"),
        from: ts("2026-01-05T00:00:00Z"),
        to: ts("2026-01-06T00:00:00Z"),
    };
    assert!(invalid(vec![ok()], vec![o.clone(); 1001], vec![]).contains("at most 1000 overrides"));
    let backwards = Override::Remove {
        user: u("ann"),
        from: ts("2026-01-06T00:00:00Z"),
        to: ts("2026-01-06T00:00:00Z"),
    };
    assert!(invalid(vec![ok()], vec![backwards], vec![]).contains("override 0"));
    let mut empty_window = ok();
    empty_window.restrictions = vec![Restriction::Daily {
        from: time("09:00"),
        to: time("09:00"),
    }];
    assert!(invalid(vec![empty_window], vec![], vec![]).contains("remove the restrictions"));
    let mut hourly_at = layer(&["ann"], RotationUnit::Hourly, 1, "2026-01-05T00:00:00Z");
    hourly_at.rotation.handoff = Some(time("09:00"));
    assert!(invalid(vec![hourly_at], vec![], vec![]).contains("takes no `handoff`"));
    let mut off = ok();
    off.rotation.handoff = Some(time("09:00"));
    let msg = invalid(vec![off], vec![], vec![]);
    assert!(
        msg.contains("layer 0") && msg.contains("2026-01-05T09:00:00Z"),
        "{msg}"
    );
    let mut ended = ok();
    ended.end = Some(ended.start);
    assert!(invalid(vec![ended], vec![], vec![]).contains("end it later"));
    let stray = TemporarySchedule {
        from: ts("2026-01-05T00:00:00Z"),
        to: ts("2026-01-06T00:00:00Z"),
        shifts: vec![TemporaryShift {
            user: u("ann"),
            from: ts("2026-01-05T12:00:00Z"),
            to: ts("2026-01-06T12:00:00Z"),
        }],
    };
    assert!(invalid(vec![ok()], vec![], vec![stray]).contains("lie within"));
}

#[test]
fn unknown_or_misspelt_zones_are_refused() {
    let e = ZoneName::parse("Mars/Olympus_Mons").unwrap_err();
    assert_eq!(e.kind, ScheduleErrorKind::UnknownZone);
    assert!(e.message.contains("IANA name"), "{}", e.message);
    let e = ZoneName::parse("america/new_york").unwrap_err();
    assert!(e.message.contains("\"America/New_York\""), "{}", e.message);
    assert_eq!(zone("America/New_York").as_str(), "America/New_York");
}

const JSON: &str = r#"{
  "time_zone": "America/New_York",
  "layers": [
    {
      "participants": ["ann", "bob"],
      "rotation": {"unit": "daily", "length": 1, "handoff": "09:00:00"},
      "start": "2026-03-06T14:00:00Z",
      "restrictions": [
        {"type": "daily", "from": "22:00:00", "to": "06:00:00"},
        {"type": "weekly", "from_day": "friday", "from": "18:00:00", "to_day": "monday", "to": "08:00:00"}
      ]
    }
  ],
  "overrides": [
    {"type": "replace", "user": "cat", "from": "2026-03-07T00:00:00Z", "to": "2026-03-07T06:00:00Z"}
  ],
  "temporary": [
    {"from": "2026-03-10T00:00:00Z", "to": "2026-03-11T00:00:00Z",
     "shifts": [{"user": "dan", "from": "2026-03-10T00:00:00Z", "to": "2026-03-11T00:00:00Z"}]}
  ]
}"#;

#[test]
fn a_schedule_round_trips_through_json_and_is_checked_when_read() {
    let s: Schedule = serde_json::from_str(JSON).unwrap();
    assert_eq!(s.zone().as_str(), "America/New_York");
    assert_eq!(s.layers()[0].rotation.handoff, Some(time("09:00")));
    assert_eq!(s.overrides()[0].user(), &u("cat"));
    let text = serde_json::to_string(&s).unwrap();
    let back: Schedule = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    // Changed through its parts, it is checked again.
    let (zone, layers, mut overrides, temporary) = back.into_parts();
    overrides.push(Override::Add {
        user: u("dan"),
        from: ts("2026-03-08T00:00:00Z"),
        to: ts("2026-03-07T00:00:00Z"),
    });
    let e = Schedule::new(zone, layers, overrides, temporary).unwrap_err();
    assert!(e.message.contains("override 1"), "{}", e.message);

    let bad = |from: &str, to: &str| {
        let text = JSON.replacen(from, to, 1);
        serde_json::from_str::<Schedule>(&text)
            .unwrap_err()
            .to_string()
    };
    assert!(bad("America/New_York", "America/Nowhere").contains("unknown time zone"));
    assert!(bad("\"length\": 1", "\"length\": 1, \"colour\": 1").contains("unknown field"));
    assert!(
        bad("\"daily\", \"length\"", "\"fortnightly\", \"length\"").contains("unknown variant")
    );
    assert!(bad("\"length\": 1", "\"length\": 0").contains("1 to 1000 units"));
    assert!(bad("14:00:00Z", "15:00:00Z").contains("not at a handoff"));
    assert!(bad("\"type\": \"replace\"", "\"type\": \"swap\"").contains("unknown variant"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ZONES: &[&str] = &[
        "UTC",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ];
    const NAMES: &[&str] = &["ann", "bob", "cat", "dan"];
    /// 2026-01-01T00:00:00Z; random times are minutes after it.
    const BASE: i64 = 1_767_225_600;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(BASE + minutes * 60).unwrap()
    }

    fn arb_user() -> impl Strategy<Value = UserName> {
        prop::sample::select(NAMES).prop_map(u)
    }
    fn arb_time() -> impl Strategy<Value = Time> {
        (0i8..24, prop::sample::select(vec![0i8, 15, 30, 45]))
            .prop_map(|(h, m)| Time::new(h, m, 0, 0).unwrap())
    }
    fn arb_weekday() -> impl Strategy<Value = Weekday> {
        use Weekday::*;
        prop::sample::select(vec![
            Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
        ])
    }
    fn arb_restriction() -> impl Strategy<Value = Restriction> {
        prop_oneof![
            (arb_time(), arb_time())
                .prop_filter("non-empty", |(a, b)| a != b)
                .prop_map(|(from, to)| Restriction::Daily { from, to }),
            (arb_weekday(), arb_time(), arb_weekday(), arb_time())
                .prop_filter("non-empty", |(a, b, c, d)| a != c || b != d)
                .prop_map(|(from_day, from, to_day, to)| Restriction::Weekly {
                    from_day,
                    from,
                    to_day,
                    to,
                }),
        ]
    }
    /// A layer starting at a handoff: calendar rotations start at their anchor's instant.
    fn arb_layer(zone: &'static str) -> impl Strategy<Value = Layer> {
        (
            prop::collection::vec(arb_user(), 1..4),
            prop::sample::select(vec![
                RotationUnit::Hourly,
                RotationUnit::Daily,
                RotationUnit::Weekly,
                RotationUnit::Monthly,
            ]),
            1u32..4,
            -60 * 24 * 40i64..60 * 24 * 40,
            arb_time(),
            prop::option::of(60i64..60 * 24 * 60),
            prop::collection::vec(arb_restriction(), 0..3),
        )
            .prop_map(
                move |(participants, unit, length, start, handoff, end, restrictions)| {
                    let tz = zone_of(zone);
                    let (start, handoff) = if unit == RotationUnit::Hourly {
                        (at(start), None)
                    } else {
                        let day = tz.time_zone().to_datetime(at(start)).date();
                        let t = resolve_local(tz.time_zone(), day.to_datetime(handoff)).unwrap();
                        (t, Some(handoff))
                    };
                    Layer {
                        participants,
                        rotation: Rotation {
                            unit,
                            length,
                            handoff,
                        },
                        start,
                        end: end.map(|m| start + SignedDuration::from_mins(m)),
                        restrictions,
                    }
                },
            )
    }
    fn zone_of(name: &str) -> ZoneName {
        zone(name)
    }
    fn arb_span() -> impl Strategy<Value = (Timestamp, Timestamp)> {
        (-60 * 24 * 30i64..60 * 24 * 30, 1i64..60 * 24 * 5)
            .prop_map(|(s, len)| (at(s), at(s + len)))
    }
    fn arb_override() -> impl Strategy<Value = Override> {
        (0..3u8, arb_user(), arb_span()).prop_map(|(k, user, (from, to))| match k {
            0 => Override::Replace { user, from, to },
            1 => Override::Add { user, from, to },
            _ => Override::Remove { user, from, to },
        })
    }
    fn arb_temporary() -> impl Strategy<Value = TemporarySchedule> {
        (
            arb_span(),
            prop::collection::vec((arb_user(), 0.0f64..1.0, 0.0f64..1.0), 0..4),
        )
            .prop_map(|((from, to), shifts)| {
                let len = to.duration_since(from).as_secs();
                let shifts = shifts
                    .into_iter()
                    .filter_map(|(user, a, b)| {
                        let (a, b) = (a.min(b), a.max(b));
                        let s = from + SignedDuration::from_secs((len as f64 * a) as i64);
                        let e = from + SignedDuration::from_secs((len as f64 * b) as i64);
                        (s < e).then_some(TemporaryShift {
                            user,
                            from: s,
                            to: e,
                        })
                    })
                    .collect();
                TemporarySchedule { from, to, shifts }
            })
    }
    fn arb_schedule() -> impl Strategy<Value = Schedule> {
        prop::sample::select(ZONES).prop_flat_map(|z| {
            (
                prop::collection::vec(arb_layer(z), 0..4),
                prop::collection::vec(arb_override(), 0..5),
                prop::collection::vec(arb_temporary(), 0..2),
            )
                .prop_map(move |(layers, overrides, temporary)| {
                    Schedule::new(zone(z), layers, overrides, temporary).unwrap()
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// The final schedule is a partition of the query: sorted, non-overlapping spans; the
        /// shifts and the gaps are exactly its covered and uncovered parts; and `on_call_at`
        /// agrees with the shift holding each sampled instant.
        #[test]
        fn shifts_gaps_and_on_call_at_agree(
            s in arb_schedule(),
            (from, to) in arb_span(),
            samples in prop::collection::vec(0.0f64..1.0, 8),
        ) {
            let timeline = s.timeline(from, to).unwrap();
            prop_assert_eq!(timeline.first().unwrap().start, from);
            prop_assert_eq!(timeline.last().unwrap().end, to);
            for w in timeline.windows(2) {
                prop_assert!(w[0].start < w[0].end);
                prop_assert_eq!(w[0].end, w[1].start);
                prop_assert!(
                    (&w[0].users, w[0].origin, &w[0].overrides)
                        != (&w[1].users, w[1].origin, &w[1].overrides),
                    "adjacent identical spans are merged"
                );
            }
            let shifts = s.shifts(from, to).unwrap();
            let gaps = s.gaps(from, to).unwrap();
            for sh in &shifts {
                prop_assert!(!sh.users.is_empty());
                prop_assert!(sh.users.windows(2).all(|w| w[0] < w[1]));
            }
            // Shifts and gaps, interleaved, tile [from, to) with no overlap.
            let mut pieces: Vec<(Timestamp, Timestamp, bool)> = shifts
                .iter()
                .map(|s| (s.start, s.end, true))
                .chain(gaps.iter().map(|g| (g.start, g.end, false)))
                .collect();
            pieces.sort_by_key(|p| p.0);
            prop_assert_eq!(pieces.first().unwrap().0, from);
            prop_assert_eq!(pieces.last().unwrap().1, to);
            for w in pieces.windows(2) {
                prop_assert_eq!(w[0].1, w[1].0);
                prop_assert!(w[0].2 || w[1].2, "adjacent gaps are merged");
            }
            let span = to.duration_since(from).as_secs_f64();
            let mut instants: Vec<Timestamp> = samples
                .iter()
                .map(|f| from + SignedDuration::from_secs_f64(span * f))
                .collect();
            instants.extend(shifts.iter().map(|s| s.start));
            instants.extend(gaps.iter().map(|g| g.start));
            for t in instants {
                let expected = shifts
                    .iter()
                    .find(|s| s.start <= t && t < s.end)
                    .map(|s| s.users.clone())
                    .unwrap_or_default();
                prop_assert_eq!(s.on_call_at(t).unwrap(), expected, "at {}", t);
            }
        }
    }
}

#[test]
fn the_largest_valid_schedule_answers_a_400_day_query() {
    // 20 layers of 100 participants on one-hour shifts, each with 50 restriction windows a day,
    // and 1,000 overrides: every limit at its maximum, and the answer still comes.
    let windows: Vec<Restriction> = (0..50)
        .map(|i| Restriction::Daily {
            from: Time::new(i / 3, (i % 3) * 20, 0, 0).unwrap(),
            to: Time::new(i / 3, (i % 3) * 20 + 10, 0, 0).unwrap(),
        })
        .collect();
    let names: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let layers: Vec<Layer> = (0..20)
        .map(|i| {
            let mut l = layer(&names, RotationUnit::Hourly, 1, "2026-01-01T00:00:00Z");
            l.start += SignedDuration::from_mins(i);
            l.restrictions = windows.clone();
            l
        })
        .collect();
    let from = ts("2026-01-01T00:00:00Z");
    let overrides: Vec<Override> = (0..1000)
        .map(|i| Override::Add {
            user: u("cat"),
            from: from + SignedDuration::from_hours(i * 9),
            to: from + SignedDuration::from_hours(i * 9 + 2),
        })
        .collect();
    let s = Schedule::new(zone("Europe/Berlin"), layers, overrides, vec![]).unwrap();
    let to = from + QueryLimits::DEFAULT.max_span;
    let shifts = s.shifts(from, to).unwrap();
    assert!(shifts.len() > 20_000, "{}", shifts.len());
    assert!(!s.gaps(from, to).unwrap().is_empty());
}

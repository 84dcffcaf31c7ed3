//! Unit tests of the pacing arithmetic, on a made-up clock: each test steps an `Instant` by hand.

use super::*;

const MS: Duration = Duration::from_millis(1);

/// Admit as many requests as the budgets allow at `now`, each finishing at once (so the in-flight
/// limit never binds); stops at 1000 when nothing binds.
fn drain(p: &mut Pacer, cost: f64, now: Instant) -> usize {
    let mut n = 0;
    while n < 1000 && p.admit(cost, now) == Admission::Go {
        p.release();
        n += 1;
    }
    n
}

/// Admit requests that stay in flight until something says no.
fn fill(p: &mut Pacer, now: Instant) -> usize {
    let mut n = 0;
    while n < 1000 && p.admit(0.0, now) == Admission::Go {
        n += 1;
    }
    n
}

#[test]
fn requests_per_minute_are_paced_with_a_one_second_burst() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, Some(600.0), None, t0);
    // A full bucket holds one second's worth (9.8 requests at 600/min less the 2% headroom)...
    assert_eq!(drain(&mut p, 0.0, t0), 9);
    // ...then the next waits for the missing 0.2 of a request at 9.8 per second.
    match p.admit(0.0, t0) {
        Admission::Wait(w) => assert!(w > 15 * MS && w < 25 * MS, "{w:?}"),
        other => panic!("{other:?}"),
    }
    // Over 10 simulated seconds no more than the limit goes.
    let mut sent = 0;
    for step in 1..=1000 {
        sent += drain(&mut p, 0.0, t0 + 10 * MS * step);
    }
    assert!((95..=100).contains(&sent), "{sent} in 10 s at 600/min");
}

#[test]
fn tokens_per_minute_bound_by_cost_and_big_requests_still_go() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, Some(60_000.0), t0);
    // A 980-token burst (1000/s less headroom): two requests of 400 go, the third waits
    // ~0.22 s for the missing 220.
    assert_eq!(drain(&mut p, 400.0, t0), 2);
    match p.admit(400.0, t0) {
        Admission::Wait(w) => assert!(w > 215 * MS && w < 235 * MS, "{w:?}"),
        other => panic!("{other:?}"),
    }
    // A request bigger than the burst waits for a full bucket, goes, and leaves a debt.
    let t1 = t0 + Duration::from_secs(5);
    assert_eq!(p.admit(5000.0, t1), Admission::Go);
    p.release();
    match p.admit(1.0, t1) {
        Admission::Wait(w) => assert!(w > Duration::from_secs(4), "{w:?}"),
        other => panic!("{other:?}"),
    }
}

fn budget(
    unit: Unit,
    window: Option<u64>,
    limit: Option<f64>,
    remaining: Option<f64>,
    reset_ms: Option<u64>,
) -> RateHeaders {
    RateHeaders {
        budgets: vec![(
            unit,
            crate::model::RateBudget {
                window: window.map(Duration::from_secs),
                limit,
                remaining,
                reset: reset_ms.map(Duration::from_millis),
            },
        )],
        retry_after: None,
    }
}

/// Admit one request and feed `headers` back as its answer.
fn exchange(p: &mut Pacer, headers: &RateHeaders, now: Instant) {
    assert_eq!(p.admit(1.0, now), Admission::Go);
    let charge = p.charge(1.0);
    p.release();
    p.observe(headers, charge, now, now);
}

#[test]
fn headers_seed_limits_and_flags_stay_a_ceiling() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, None, t0);
    assert!(p.paced().is_empty());
    assert_eq!(
        fill(&mut p, t0),
        8,
        "only the initial in-flight limit holds"
    );
    for _ in 0..8 {
        p.release();
    }
    // OpenAI: 3000 per minute, 2 left: believe the server over a full bucket.
    exchange(
        &mut p,
        &budget(Unit::Requests, None, Some(3000.0), Some(2.0), Some(20)),
        t0,
    );
    assert_eq!(p.paced(), vec![("requestsNone".into(), 3000.0)]);
    assert_eq!(drain(&mut p, 0.0, t0), 2);

    // --rpm below the header wins; a header below --rpm wins.
    let mut p = Pacer::new(1000, Some(600.0), None, t0);
    exchange(
        &mut p,
        &budget(Unit::Requests, None, Some(60.0), None, None),
        t0,
    );
    let paced = p.paced();
    assert_eq!(paced.len(), 2, "{paced:?}");
    assert!(paced.contains(&("--rpm".into(), 600.0)), "{paced:?}");
    assert!(paced.contains(&("requestsNone".into(), 60.0)), "{paced:?}");
    let sent = drain(&mut p, 0.0, t0 + Duration::from_secs(10));
    assert!(sent <= 1, "{sent}: the header's 1 per second binds");
}

#[test]
fn a_per_second_limit_is_paced_per_second_not_per_minute() {
    // The server: 50 per second, reported as limit 50, remaining 49, reset 20 ms.
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, None, t0);
    exchange(
        &mut p,
        &budget(Unit::Requests, None, Some(50.0), Some(49.0), Some(20)),
        t0,
    );
    assert_eq!(p.paced(), vec![("requestsNone".into(), 3000.0)]);
    let mut sent = 0;
    for step in 1..=1000 {
        sent += drain(&mut p, 0.0, t0 + 10 * MS * step);
    }
    // A one-second burst (49) and 49 per second after it.
    assert!((500..=545).contains(&sent), "{sent} in 10 s at 50/s");
}

#[test]
fn a_daily_quota_is_spent_down_announced_and_then_stops_everything() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, None, t0);
    exchange(
        &mut p,
        &budget(
            Unit::Requests,
            Some(86_400),
            Some(100.0),
            Some(3.0),
            Some(3_600_000),
        ),
        t0,
    );
    assert!(p.paced().is_empty(), "a quota is not a pace");
    assert_eq!(p.notes.len(), 1);
    assert!(
        p.notes[0].contains("requests per day; 3 of 100 left"),
        "{}",
        p.notes[0]
    );
    // Three more fit, then the quota is spent for the rest of the run.
    assert_eq!(drain(&mut p, 0.0, t0), 3);
    let Admission::Spent(why) = p.admit(0.0, t0) else {
        panic!("the quota is used up")
    };
    assert!(
        why.contains("daily request budget") && why.contains("resets in 1h 0m"),
        "{why}"
    );
    assert_eq!(p.spent(), Some(&why));
}

#[test]
fn a_quota_that_looks_spent_waits_for_the_answers_in_flight_before_ending_the_sending() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, None, t0);
    let day = |remaining: f64| {
        budget(
            Unit::Requests,
            Some(86_400),
            Some(100.0),
            Some(remaining),
            Some(3_600_000),
        )
    };
    exchange(&mut p, &day(3.0), t0);
    // Three go out and stay in flight: the quota looks spent, but their answers may say otherwise.
    let charges: Vec<Charge> = (0..3)
        .map(|_| {
            assert_eq!(p.admit(1.0, t0), Admission::Go);
            p.charge(1.0)
        })
        .collect();
    assert_eq!(p.admit(1.0, t0), Admission::Full);
    assert_eq!(p.spent(), None);
    // The last one sent is answered first: the server counted only one of the three so far
    // (the other two reach it later), so after it two are left.
    p.release();
    p.observe(&day(2.0), charges[2], t0, t0);
    assert_eq!(p.admit(1.0, t0), Admission::Go);
    p.charge(1.0);
    // One more fits, then the view is spent while two are in flight: wait, then end.
    assert_eq!(p.admit(1.0, t0), Admission::Go);
    p.charge(1.0);
    assert_eq!(p.admit(1.0, t0), Admission::Full);
    for _ in 0..4 {
        p.release();
    }
    assert!(matches!(p.admit(1.0, t0), Admission::Spent(_)));
    assert!(p.spent().is_some());
}

#[test]
fn a_429_asking_for_hours_ends_the_sending() {
    let t0 = Instant::now();
    let mut p = Pacer::new(1000, None, None, t0);
    p.pause(
        Duration::from_secs(7200),
        Duration::from_secs(60),
        &RateHeaders::default(),
        t0,
    );
    assert!(matches!(p.admit(0.0, t0), Admission::Spent(_)));
}

#[test]
fn in_flight_is_capped_by_the_adaptive_limit_and_freed_on_release() {
    let t0 = Instant::now();
    let mut p = Pacer::new(3, None, None, t0);
    for _ in 0..3 {
        assert_eq!(p.admit(0.0, t0), Admission::Go);
    }
    assert_eq!(
        p.admit(0.0, t0),
        Admission::Full,
        "--workers is the ceiling"
    );
    p.release();
    assert_eq!(p.admit(0.0, t0), Admission::Go);
}

#[test]
fn server_token_counts_correct_the_estimate() {
    let t0 = Instant::now();
    let mut p = Pacer::new(10, None, None, t0);
    assert_eq!(p.cost(100, 50), 150.0);
    for _ in 0..50 {
        p.observe_tokens(100, 200);
    }
    assert!((p.cost(100, 50) - 250.0).abs() < 1.0, "{}", p.cost(100, 50));
}

#[test]
fn aimd_slow_starts_then_grows_by_one_per_round_trip() {
    let t0 = Instant::now();
    let mut a = Aimd::new(1000);
    assert_eq!(a.limit(), INITIAL_IN_FLIGHT);
    let rtt = 300 * MS;
    // Slow start: every saturated answer adds one, so a round trip doubles the limit.
    for i in 0..8 {
        a.on_success(rtt, true, t0 + rtt + MS * i);
    }
    assert_eq!(a.limit(), 16);
    // Answers sent while the limit was not reached do not grow it.
    for _ in 0..100 {
        a.on_success(rtt, false, t0 + rtt);
    }
    assert_eq!(a.limit(), 16);
    // A 429 cuts it once per round trip, however many requests saw it...
    let t1 = t0 + Duration::from_secs(2);
    for i in 0..20 {
        a.on_congestion(t1 + MS * i);
    }
    assert_eq!(a.limit(), 11, "16 × 0.7");
    a.on_congestion(t1 + rtt + MS);
    assert_eq!(a.limit(), 7, "11.2 × 0.7 a round trip later");
    // ...and afterwards it grows additively: about one per limit's worth of answers.
    for _ in 0..8 {
        a.on_success(rtt, true, t1 + Duration::from_secs(1));
    }
    assert_eq!(a.limit(), 8);
}

#[test]
fn aimd_backs_off_when_latency_says_the_server_queues() {
    let t0 = Instant::now();
    let mut a = Aimd::new(1000);
    for i in 0..40 {
        a.on_success(100 * MS, true, t0 + MS * i);
    }
    let grown = a.limit();
    assert!(grown > 40, "{grown}");
    // The server starts queueing: latency climbs to 10× its best, the limit comes down.
    let mut t = t0 + Duration::from_secs(1);
    for _ in 0..200 {
        t += 50 * MS;
        a.on_success(Duration::from_secs(1), true, t);
    }
    assert!(a.limit() < grown / 2, "{} vs {grown}", a.limit());
    assert!(a.limit() >= 1);
}

#[test]
fn aimd_never_passes_the_ceiling_or_drops_below_one() {
    let t0 = Instant::now();
    let mut a = Aimd::new(2);
    assert_eq!(a.limit(), 2);
    for _ in 0..100 {
        a.on_success(10 * MS, true, t0);
    }
    assert_eq!(a.limit(), 2);
    for i in 0..100 {
        a.on_congestion(t0 + Duration::from_secs(i));
    }
    assert_eq!(a.limit(), 1);
}

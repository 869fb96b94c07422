//! Window planning invariants over random ranges, granularities and time zones (DST included).

use genesys::granularity::{Buckets, ms_to_timestamp, time_zone};
use genesys::{Granularity, Interval};
use proptest::prelude::*;
use sync::plan::{PlanRequest, WindowSpan, plan_windows};

const START_2024: i64 = 1_704_067_200_000;
const ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];
const GRANULARITIES: &[&str] = &["PT15M", "PT30M", "PT1H", "P1D", "P7D", "P1M"];

fn plan(g: &str, tz: &str, from_ms: i64, until_ms: i64) -> (Vec<Interval>, WindowSpan) {
    let granularity: Granularity = g.parse().unwrap();
    let zone = time_zone(Some(tz)).unwrap();
    let window = WindowSpan::default_for(&granularity);
    let request = PlanRequest {
        window,
        granularity: &granularity,
        time_zone: &zone,
        from: ms_to_timestamp(from_ms),
        until: ms_to_timestamp(until_ms),
    };
    (plan_windows(&request).unwrap(), window)
}

#[test]
fn london_spring_forward_day_is_a_23_hour_window() {
    let (windows, _) = plan(
        "PT15M",
        "Europe/London",
        1_711_756_800_000,
        1_712_012_400_000,
    );
    let lengths: Vec<i64> = windows
        .iter()
        .map(|w| w.duration_ms() / 3_600_000)
        .collect();
    assert_eq!(lengths, [24, 23, 24]);
    assert_eq!(
        windows[1].to_string(),
        "2024-03-31T00:00:00.000Z/2024-03-31T23:00:00.000Z"
    );
}

#[test]
fn new_york_fall_back_day_is_a_25_hour_window() {
    let (windows, _) = plan(
        "PT1H",
        "America/New_York",
        1_730_606_400_000,
        1_730_696_400_000,
    );
    assert_eq!(
        windows[0].to_string(),
        "2024-11-03T04:00:00.000Z/2024-11-04T05:00:00.000Z"
    );
}

#[test]
fn only_whole_buckets_before_until_are_planned() {
    // until = 2024-01-01T10:20Z: the 10:15 bucket is not whole yet.
    let (windows, _) = plan(
        "PT15M",
        "UTC",
        START_2024,
        START_2024 + 10 * 3_600_000 + 20 * 60_000,
    );
    assert_eq!(windows.len(), 1);
    assert_eq!(
        windows[0].to_string(),
        "2024-01-01T00:00:00.000Z/2024-01-01T10:15:00.000Z"
    );
}

#[test]
fn seven_day_windows_run_monday_to_monday() {
    let (windows, _) = plan(
        "P7D",
        "UTC",
        START_2024 + 3 * 86_400_000,
        START_2024 + 30 * 86_400_000,
    );
    for w in &windows {
        assert_eq!(
            w.start.to_zoned_datetime(jiff::tz::TimeZone::UTC).weekday(),
            jiff::civil::Weekday::Monday
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn windows_tile_the_range_in_whole_buckets(
        g in proptest::sample::select(GRANULARITIES),
        tz in proptest::sample::select(ZONES),
        from_offset in 0i64..400 * 86_400_000,
        length in 0i64..70 * 86_400_000,
    ) {
        let from = START_2024 + from_offset;
        let until = from + length;
        let (windows, span) = plan(g, tz, from, until);
        let zone = time_zone(Some(tz)).unwrap();
        let granularity: Granularity = g.parse().unwrap();
        let Some(first) = windows.first() else {
            // Nothing planned: not even one whole bucket fits before `until`.
            let start = span.floor(ms_to_timestamp(from), &zone).unwrap();
            let next = span.next(&start).unwrap();
            let b = Buckets::new(Interval::new(start.timestamp(), next.timestamp()), Some(&granularity), &zone, 100_000).unwrap();
            prop_assert!(b.bounds_ms(0).1 > until);
            return Ok(());
        };
        prop_assert!(first.start.as_millisecond() <= from);
        for pair in windows.windows(2) {
            prop_assert_eq!(pair[0].end, pair[1].start, "contiguous");
        }
        for (i, w) in windows.iter().enumerate() {
            let grid_start = span.floor(w.start, &zone).unwrap();
            prop_assert_eq!(grid_start.timestamp(), w.start, "starts on the grid");
            let grid_end = span.next(&grid_start).unwrap().timestamp();
            prop_assert!(w.end <= grid_end);
            let buckets = Buckets::new(*w, Some(&granularity), &zone, 100_000).unwrap();
            let (_, last_end) = buckets.bounds_ms(buckets.len() - 1);
            let whole = Buckets::new(Interval::new(w.start, grid_end), Some(&granularity), &zone, 100_000).unwrap();
            prop_assert!((0..whole.len()).any(|k| whole.bounds_ms(k).1 == last_end), "ends on a bucket boundary");
            if w.end < grid_end {
                prop_assert_eq!(i, windows.len() - 1, "only the last window is cut short");
            }
        }
        let last = windows.last().unwrap();
        prop_assert!(last.end.as_millisecond() <= until);
    }
}

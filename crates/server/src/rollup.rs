//! Where a row read is cut into segments. As stored: chunks of a day, each row keeps its own
//! bucket. Rolled up: one segment per requested bucket, laid in the requested time zone (a
//! `P1D` bucket on a DST day is 23 or 25 hours), clipped to `[from, to)`.

use genesys::granularity::{Buckets, Granularity};
use genesys::interval::Interval;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use warehouse::NamedTimeZone;

use crate::problem::Problem;

/// Most segments one request may span (each is one small indexed query).
pub const MAX_SEGMENTS: usize = 50_000;

pub struct Segments {
    buckets: Buckets,
    from: Timestamp,
    to: Timestamp,
    pub rollup: bool,
}

impl Segments {
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn bounds(&self, index: usize) -> (Timestamp, Timestamp) {
        let bucket = self.buckets.interval(index);
        (bucket.start.max(self.from), bucket.end.min(self.to))
    }

    pub fn index_of(&self, at: Timestamp) -> Option<usize> {
        self.buckets.index_of(at.as_millisecond())
    }
}

/// Whether rows stored as `stored` (cut in `stored_tz`) can be summed into `requested` buckets
/// in `tz` without splitting a stored bucket; `Ok(false)` when they already are that shape.
/// Zones are the same when their IANA names are (`UTC` and `Etc/UTC` are not: Genesys was
/// asked for one by name, and the rows answer to that name).
pub fn needs_rollup(
    stored: &Granularity,
    stored_tz: &NamedTimeZone,
    requested: &Granularity,
    tz: &NamedTimeZone,
) -> Result<bool, String> {
    if stored == requested && (stored.fixed_ms().is_some() || stored_tz == tz) {
        return Ok(false);
    }
    match (stored.fixed_ms(), requested.fixed_ms()) {
        (Some(s), Some(r)) if r % s == 0 => Ok(true),
        (Some(s), Some(_)) => Err(format!(
            "{requested} buckets cannot be made from the stored {stored} buckets ({} minutes): pick a multiple",
            s / 60_000
        )),
        // Local midnights fall on whole quarter hours in every zone, on whole hours in most.
        (Some(s), None) if 3_600_000 % s == 0 => Ok(true),
        (Some(_), None) => Err(format!(
            "calendar buckets need stored buckets of at most an hour that divide it, not {stored}"
        )),
        (None, None) if stored_tz == tz && stored.span().get_days() == 1 => Ok(true),
        (None, _) => Err(format!(
            "the dataset is stored in {stored} buckets in {stored_tz}; only coarser calendar buckets in that time zone can be made from them"
        )),
    }
}

/// The start of the requested bucket holding `from`, in `tz`.
fn align(from: Timestamp, granularity: &Granularity, tz: &TimeZone) -> Result<Timestamp, String> {
    let zoned = from.to_zoned_datetime(tz.clone());
    if let Some(step) = granularity.fixed_ms() {
        let offset_ms = i64::from(zoned.offset().seconds()) * 1000;
        let local = from.as_millisecond() + offset_ms;
        let floored = local - local.rem_euclid(step) - offset_ms;
        return Timestamp::from_millisecond(floored).map_err(|e| e.to_string());
    }
    let span = granularity.span();
    let day = zoned.start_of_day().map_err(|e| e.to_string())?;
    let start = if span.get_months() != 0 || span.get_years() != 0 {
        day.first_of_month()
            .and_then(|z| z.start_of_day())
            .map_err(|e| e.to_string())?
    } else if span.get_weeks() != 0 || span.get_days() % 7 == 0 {
        // Weeks start on Monday (ISO 8601).
        let back = i64::from(day.weekday().to_monday_zero_offset());
        day.checked_sub(back.days()).map_err(|e| e.to_string())?
    } else {
        day
    };
    Ok(start.timestamp())
}

fn too_many(parameter: &str) -> Problem {
    Problem::bad_parameter(
        parameter,
        format!(
            "the range makes more than {MAX_SEGMENTS} buckets; narrow from/to or coarsen granularity"
        ),
    )
}

pub fn stored(from: Timestamp, to: Timestamp) -> Result<Segments, Problem> {
    let day: Granularity = "PT24H".parse().expect("a valid granularity");
    let buckets = Buckets::new(
        Interval::new(from, to),
        Some(&day),
        &TimeZone::UTC,
        MAX_SEGMENTS,
    )
    .map_err(|_| too_many("from"))?;
    Ok(Segments {
        buckets,
        from,
        to,
        rollup: false,
    })
}

pub fn rolled_up(
    from: Timestamp,
    to: Timestamp,
    granularity: &Granularity,
    tz: &TimeZone,
) -> Result<Segments, Problem> {
    let start = align(from, granularity, tz).map_err(|e| Problem::bad_parameter("from", e))?;
    let buckets = Buckets::new(
        Interval::new(start, to),
        Some(granularity),
        tz,
        MAX_SEGMENTS,
    )
    .map_err(|_| too_many("granularity"))?;
    Ok(Segments {
        buckets,
        from,
        to,
        rollup: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Granularity {
        s.parse().unwrap()
    }

    fn needs(
        stored: &Granularity,
        stored_tz: &str,
        requested: &Granularity,
        tz: &str,
    ) -> Result<bool, String> {
        let zone = |name| NamedTimeZone::get(name).unwrap();
        needs_rollup(stored, &zone(stored_tz), requested, &zone(tz))
    }

    #[test]
    fn which_rollups_are_allowed() {
        assert_eq!(
            needs(&g("PT15M"), "UTC", &g("PT15M"), "Europe/London"),
            Ok(false)
        );
        assert_eq!(needs(&g("PT15M"), "UTC", &g("PT1H"), "UTC"), Ok(true));
        assert_eq!(
            needs(&g("PT15M"), "UTC", &g("P1D"), "Europe/London"),
            Ok(true)
        );
        assert_eq!(needs(&g("PT30M"), "UTC", &g("P1M"), "UTC"), Ok(true));
        assert!(needs(&g("PT1H"), "UTC", &g("PT30M"), "UTC").is_err());
        assert!(needs(&g("PT1H"), "UTC", &g("PT90M"), "UTC").is_err());
        assert_eq!(needs(&g("P1D"), "UTC", &g("P1M"), "UTC"), Ok(true));
        assert!(needs(&g("P1D"), "UTC", &g("P1M"), "Europe/London").is_err());
        assert!(needs(&g("P1D"), "UTC", &g("PT1H"), "UTC").is_err());
    }

    #[test]
    fn zones_match_by_name_as_the_rows_were_asked_for() {
        // The same rules under another name are another zone, as when zones were strings.
        assert!(needs(&g("P1D"), "UTC", &g("P1M"), "Etc/UTC").is_err());
        assert_eq!(needs(&g("P1D"), "Etc/UTC", &g("P1M"), "Etc/UTC"), Ok(true));
    }

    #[test]
    fn buckets_align_to_local_calendar() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let day = rolled_up(
            at("2024-03-30T12:00:00Z"),
            at("2024-04-01T23:00:00Z"),
            &g("P1D"),
            &tz,
        )
        .unwrap();
        assert_eq!(day.len(), 3);
        assert_eq!(
            day.bounds(0),
            (at("2024-03-30T12:00:00Z"), at("2024-03-31T00:00:00Z"))
        );
        assert_eq!(
            day.bounds(1),
            (at("2024-03-31T00:00:00Z"), at("2024-03-31T23:00:00Z"))
        );
        let week = align(at("2024-05-09T10:00:00Z"), &g("P7D"), &tz).unwrap();
        assert_eq!(
            week,
            at("2024-05-05T23:00:00Z"),
            "Monday 6 May, local midnight"
        );
        let month = align(at("2024-05-09T10:00:00Z"), &g("P1M"), &tz).unwrap();
        assert_eq!(month, at("2024-04-30T23:00:00Z"));
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        let hour = align(at("2024-05-09T10:50:00Z"), &g("PT1H"), &kolkata).unwrap();
        assert_eq!(hour, at("2024-05-09T10:30:00Z"));
    }
}

//! The per-day rollup of a dataset stored in buckets shorter than a day: `<dataset>__daily`,
//! with the dataset table's columns and one row per local day (in the dataset's time zone) and
//! group, each stats column rolled up the way a query rolls it up (counts and sums added, the
//! smallest min, the largest max). It is rewritten in the transaction that writes a window, for
//! the days the window overlaps, so a reader sees both tables at the same commit. A rolled-up
//! read of whole local days then reads one row per day and group instead of one per bucket
//! (96 per day in PT15M).
//!
//! A day holds the stored rows whose `interval_start` falls in it: exactly the rows a read of
//! `interval_start >= day start AND interval_start < day end` takes from the dataset's table.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash};

use genesys::Interval;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::fnv::Fnv;
use crate::rows::{AggregateRow, Value};
pub use crate::schema::{DAY_TABLE_SUFFIX, day_table};
use crate::schema::{Rollup, TableSpec};
use crate::{Result, StoreError};

const DAY_MS: i64 = 86_400_000;

fn time_error(error: jiff::Error) -> StoreError {
    StoreError::Time(error.to_string())
}

/// The local days of a dataset's time zone.
#[derive(Debug, Clone)]
pub struct DayGrid {
    tz: TimeZone,
}

impl DayGrid {
    /// For a dataset stored in fixed buckets shorter than a day; `None` for any other (its
    /// rows are already a day or longer).
    pub fn of(spec: &TableSpec) -> Option<Self> {
        if spec.record_kind().is_some() {
            return None;
        }
        let definition = &spec.definition;
        definition
            .granularity
            .fixed_ms()
            .filter(|&ms| ms < DAY_MS)?;
        Some(Self {
            tz: definition.time_zone.zone().clone(),
        })
    }

    /// The local day holding `at` (23 or 25 hours long on a DST day).
    pub fn day_of(&self, at: Timestamp) -> Result<Interval> {
        let start = at
            .to_zoned_datetime(self.tz.clone())
            .start_of_day()
            .map_err(time_error)?;
        let end = start
            .tomorrow()
            .and_then(|next| next.start_of_day())
            .map_err(time_error)?;
        Ok(Interval::new(start.timestamp(), end.timestamp()))
    }

    /// The local date of the day holding `at` (`2024-05-01`), as the per-day table's `date`.
    pub fn date_of(&self, at: Timestamp) -> jiff::civil::Date {
        at.to_zoned_datetime(self.tz.clone()).date()
    }

    /// Whether a local day starts at `at`.
    pub fn starts_day(&self, at: Timestamp) -> bool {
        self.day_of(at).is_ok_and(|day| day.start == at)
    }

    /// The local days `span` overlaps, in order.
    pub(crate) fn days(&self, span: Interval) -> Result<Vec<Interval>> {
        let mut days = Vec::new();
        let mut day = self.day_of(span.start)?;
        while day.start < span.end {
            days.push(day);
            day = self.day_of(day.end)?;
        }
        Ok(days)
    }
}

/// Days summed in Rust, and the days whose integer sums overflowed (SQLite sums those, and
/// fails as a query of them would).
#[derive(Debug, Default)]
pub(crate) struct DaySums {
    pub(crate) rows: Vec<AggregateRow>,
    pub(crate) overflowed: Vec<Interval>,
}

/// One column's running rollup, with SQLite's semantics: an integer sum until it would
/// overflow; a real sum compensated as SQLite's `sum()` compensates it (Kahan–Babuška–Neumaier);
/// nulls skipped; no value at all stays null.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Running {
    Empty,
    Int(i64),
    Real(f64),
    Compensated { sum: f64, error: f64 },
    Overflow,
}

fn compensated_add(sum: f64, error: f64, value: f64) -> Running {
    let total = sum + value;
    let error = if sum.abs() > value.abs() {
        error + ((sum - total) + value)
    } else {
        error + ((value - total) + sum)
    };
    Running::Compensated { sum: total, error }
}

fn as_real(value: Value) -> f64 {
    match value {
        Value::Int(i) => i as f64,
        Value::Real(r) => r,
    }
}

impl Running {
    fn add(self, value: Value) -> Running {
        match (self, value) {
            (Running::Overflow, _) => Running::Overflow,
            (Running::Empty, Value::Int(i)) => Running::Int(i),
            (Running::Int(a), Value::Int(b)) => {
                a.checked_add(b).map_or(Running::Overflow, Running::Int)
            }
            (Running::Compensated { sum, error }, v) => compensated_add(sum, error, as_real(v)),
            (Running::Empty, Value::Real(r)) => compensated_add(0.0, 0.0, r),
            (Running::Real(a), Value::Real(r)) => compensated_add(a, 0.0, r),
            (Running::Int(a), Value::Real(r)) => {
                let sum = a as f64;
                compensated_add(sum, (a - sum as i64) as f64, r)
            }
            (Running::Real(r), Value::Int(i)) => compensated_add(r, 0.0, i as f64),
        }
    }

    fn keep(self, value: Value, replaces: fn(f64, f64) -> bool) -> Running {
        let current = match self {
            Running::Int(i) => Some(Value::Int(i)),
            Running::Real(r) => Some(Value::Real(r)),
            // (Only sums are compensated or overflow.)
            Running::Empty | Running::Compensated { .. } | Running::Overflow => None,
        };
        let winner = match current {
            Some(current) if !replaces(as_real(value), as_real(current)) => current,
            _ => value,
        };
        match winner {
            Value::Int(i) => Running::Int(i),
            Value::Real(r) => Running::Real(r),
        }
    }

    fn fold(self, rollup: Rollup, value: Option<Value>) -> Running {
        match (value, rollup) {
            (None, _) => self,
            (Some(v), Rollup::Sum) => self.add(v),
            (Some(v), Rollup::Min) => self.keep(v, |new, old| new < old),
            (Some(v), Rollup::Max) => self.keep(v, |new, old| new > old),
        }
    }

    /// [`Running::fold`] in place, integers without moving the state in and out: the write
    /// path folds every column of every row of a window.
    #[inline]
    fn fold_in(&mut self, rollup: Rollup, value: &Option<Value>) {
        match (value, &mut *self) {
            (None, _) => {}
            (Some(Value::Int(b)), Running::Int(a)) => match rollup {
                Rollup::Sum => match a.checked_add(*b) {
                    Some(sum) => *a = sum,
                    None => *self = Running::Overflow,
                },
                Rollup::Min => *a = (*a).min(*b),
                Rollup::Max => *a = (*a).max(*b),
            },
            (Some(Value::Int(b)), Running::Empty) => *self = Running::Int(*b),
            (Some(v), _) => *self = self.fold(rollup, Some(*v)),
        }
    }

    fn value(self) -> Option<Value> {
        match self {
            Running::Empty | Running::Overflow => None,
            Running::Int(i) => Some(Value::Int(i)),
            Running::Real(r) => Some(Value::Real(r)),
            Running::Compensated { sum, error } if error.is_finite() => {
                Some(Value::Real(sum + error))
            }
            Running::Compensated { sum, .. } => Some(Value::Real(sum)),
        }
    }
}

/// A day's group as a [`Day`] keeps it: borrowed from rows all in memory, or owned when the
/// rows stream by and are gone before the day is finished.
trait Group: Borrow<[Option<String>]> + Hash + Eq + Clone {
    fn into_vec(self) -> Vec<Option<String>>;
}

impl Group for &[Option<String>] {
    fn into_vec(self) -> Vec<Option<String>> {
        self.to_vec()
    }
}

impl Group for Vec<Option<String>> {
    fn into_vec(self) -> Vec<Option<String>> {
        self
    }
}

type GroupIndex<G> = HashMap<G, usize, BuildHasherDefault<Fnv>>;

/// One day's groups being summed.
struct Day<G> {
    day: Interval,
    index: GroupIndex<G>,
    groups: Vec<(G, Vec<Running>)>,
    /// The group of each position in the previous bucket: buckets mostly list the same groups
    /// in the same (key) order, so a comparison usually finds the group without hashing it.
    by_position: Vec<usize>,
}

impl<G: Group> Day<G> {
    fn new(day: Interval) -> Self {
        Self {
            day,
            index: GroupIndex::default(),
            groups: Vec::new(),
            by_position: Vec::new(),
        }
    }

    /// The group's index, the group made (`own`) and added when the day has not seen it.
    fn group_at<'g>(
        &mut self,
        position: usize,
        group: &'g [Option<String>],
        width: usize,
        own: impl FnOnce(&'g [Option<String>]) -> G,
    ) -> usize {
        if let Some(&at) = self.by_position.get(position)
            && self.groups[at].0.borrow() == group
        {
            return at;
        }
        let at = match self.index.get(group) {
            Some(&at) => at,
            None => {
                let at = self.groups.len();
                let group = own(group);
                self.index.insert(group.clone(), at);
                self.groups.push((group, vec![Running::Empty; width]));
                at
            }
        };
        match self.by_position.get_mut(position) {
            Some(slot) => *slot = at,
            None => self.by_position.push(at),
        }
        at
    }

    fn add<'g>(
        &mut self,
        rollups: &[Rollup],
        position: usize,
        group: &'g [Option<String>],
        values: &[Option<Value>],
        own: impl FnOnce(&'g [Option<String>]) -> G,
    ) {
        let at = self.group_at(position, group, rollups.len(), own);
        let running = &mut self.groups[at].1;
        for ((slot, rollup), value) in running.iter_mut().zip(rollups).zip(values) {
            slot.fold_in(*rollup, value);
        }
    }

    fn finish(mut self, out: &mut DaySums) {
        if self
            .groups
            .iter()
            .any(|(_, running)| running.contains(&Running::Overflow))
        {
            out.overflowed.push(self.day);
            return;
        }
        self.groups.sort_by(|a, b| a.0.borrow().cmp(b.0.borrow()));
        out.rows.extend(
            self.groups
                .into_iter()
                .map(|(group, running)| AggregateRow {
                    interval: self.day,
                    group: group.into_vec(),
                    values: running.into_iter().map(Running::value).collect(),
                }),
        );
    }
}

/// The `whole` days' rows summed by group from `rows` (in key order, so a day's buckets follow
/// each other); rows of other days are skipped.
pub(crate) fn sum_days<'r>(
    rollups: &[Rollup],
    grid: &DayGrid,
    whole: &[Interval],
    rows: &[&'r AggregateRow],
) -> Result<DaySums> {
    let mut out = DaySums::default();
    let mut day: Option<Interval> = None;
    let mut summing: Option<Day<&'r [Option<String>]>> = None;
    for bucket in rows.chunk_by(|a, b| a.interval.start == b.interval.start) {
        let start = bucket[0].interval.start;
        if !day.is_some_and(|d| d.contains(start)) {
            let next = grid.day_of(start)?;
            day = Some(next);
            if let Some(done) = summing.take() {
                done.finish(&mut out);
            }
            summing = whole.contains(&next).then(|| Day::new(next));
        }
        if let Some(summing) = summing.as_mut() {
            for (position, row) in bucket.iter().enumerate() {
                summing.add(rollups, position, &row.group, &row.values, |g| g);
            }
        }
    }
    if let Some(done) = summing {
        done.finish(&mut out);
    }
    Ok(out)
}

/// The most running values (a value per stats column and one more per group, over all days) a
/// window's day tally keeps, some 6 MB: a window with more groups than that has its days summed
/// by the database instead, so a window streamed page by page holds no more than its pages and
/// this.
pub const TALLY_CELLS: usize = 1 << 18;

/// The days a window wholly covers, summed by group in Rust as its rows stream by page by page
/// (the groups owned, the rows not kept), each value as its column stores it: an integer in a
/// `REAL` column is summed as the real it is stored as, a whole real in an `INTEGER` column as
/// the integer. A window write that streams its pages sums its days this way instead of reading
/// back the rows it has just written. A day the window only overlaps may hold stored rows from
/// outside the window, so it is not tallied; nor is any day once the tally outgrows
/// [`TALLY_CELLS`]: the database sums those.
pub(crate) struct DayTally {
    rollups: Vec<Rollup>,
    reals: Vec<bool>,
    /// Every day the window overlaps, in order, with its tally if the window covers it.
    days: Vec<(Interval, Option<OwnedDay>)>,
    cells: usize,
    given_up: bool,
    /// A row's values as stored (reused from row to row).
    stored: Vec<Option<Value>>,
}

/// A day of a [`DayTally`], its groups owned.
type OwnedDay = Day<Vec<Option<String>>>;

/// The days a [`DayTally`] summed: their rows (days in order, groups in key order), and the
/// days themselves, a day without rows included. The window's other days are left to the
/// database.
#[derive(Debug, Default)]
pub(crate) struct Tallied {
    pub(crate) rows: Vec<AggregateRow>,
    pub(crate) days: Vec<Interval>,
}

impl DayTally {
    pub(crate) fn new(spec: &TableSpec, grid: &DayGrid, window: Interval) -> Result<Self> {
        let columns = spec.metric_columns();
        let days = grid
            .days(window)?
            .into_iter()
            .map(|day| {
                let whole = window.start <= day.start && day.end <= window.end;
                (day, whole.then(|| Day::new(day)))
            })
            .collect();
        Ok(Self {
            rollups: columns.iter().map(|c| c.field.rollup()).collect(),
            reals: columns.iter().map(|c| c.sql_type == "REAL").collect(),
            days,
            cells: 0,
            given_up: false,
            stored: Vec::new(),
        })
    }

    /// Adds a page of the window's rows (each already checked to start inside the window and
    /// to have the dataset's width).
    pub(crate) fn add(&mut self, rows: &[AggregateRow]) {
        let width = self.rollups.len();
        let mut at = 0;
        for bucket in rows.chunk_by(|a, b| a.interval.start == b.interval.start) {
            if self.given_up {
                return;
            }
            let start = bucket[0].interval.start;
            if !self.days.get(at).is_some_and(|(d, _)| d.contains(start)) {
                at = self.days.partition_point(|(d, _)| d.end <= start);
            }
            let Some((_, Some(day))) = self.days.get_mut(at) else {
                continue;
            };
            let known = day.groups.len();
            for (position, row) in bucket.iter().enumerate() {
                self.stored.clear();
                self.stored.extend(
                    row.values
                        .iter()
                        .zip(&self.reals)
                        .map(|(v, &real)| v.map(|v| v.as_stored(real))),
                );
                day.add(
                    &self.rollups,
                    position,
                    &row.group,
                    &self.stored,
                    <[_]>::to_vec,
                );
            }
            self.cells += (day.groups.len() - known) * (width + 1);
            if self.cells > TALLY_CELLS {
                self.given_up = true;
                self.days.iter_mut().for_each(|(_, day)| *day = None);
            }
        }
    }

    /// The days summed, none once the tally gave up.
    pub(crate) fn finish(self) -> Tallied {
        let mut sums = DaySums::default();
        let mut days = Vec::new();
        for day in self.days.into_iter().filter_map(|(_, day)| day) {
            days.push(day.day);
            day.finish(&mut sums);
        }
        days.retain(|d| !sums.overflowed.contains(d));
        Tallied {
            rows: sums.rows,
            days,
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn spec(granularity: &str, time_zone: &str) -> TableSpec {
        TableSpec {
            name: "d".into(),
            dimensions: vec![],
            metrics: vec![],
            definition: crate::DatasetDefinition::conversation_aggregates(granularity, time_zone),
        }
    }

    #[test]
    fn only_sub_day_datasets_have_days() {
        assert!(DayGrid::of(&spec("PT15M", "Europe/London")).is_some());
        assert!(DayGrid::of(&spec("PT1H", "UTC")).is_some());
        assert!(DayGrid::of(&spec("P1D", "UTC")).is_none());
        assert!(DayGrid::of(&spec("PT24H", "UTC")).is_none());
    }

    #[test]
    fn days_follow_the_local_calendar_across_dst() {
        let grid = DayGrid::of(&spec("PT15M", "Europe/London")).unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // 2024-03-31 is 23 hours long in London; 2024-10-27 is 25.
        let spring = grid.day_of(at("2024-03-31T12:00:00Z")).unwrap();
        assert_eq!(
            (spring.end.as_second() - spring.start.as_second()) / 3600,
            23
        );
        let autumn = grid.day_of(at("2024-10-27T00:30:00Z")).unwrap();
        assert_eq!(autumn.start, at("2024-10-26T23:00:00Z"));
        assert_eq!(
            (autumn.end.as_second() - autumn.start.as_second()) / 3600,
            25
        );
        assert!(grid.starts_day(at("2024-06-30T23:00:00Z")));
        assert!(!grid.starts_day(at("2024-07-01T00:00:00Z")));
        let days = grid
            .days(Interval::new(
                at("2024-06-30T23:00:00Z"),
                at("2024-07-02T23:30:00Z"),
            ))
            .unwrap();
        assert_eq!(days.len(), 3);
    }

    #[test]
    fn running_rollups_match_sqlite() {
        let c = Connection::open_in_memory().unwrap();
        let values = [
            Some(Value::Real(0.1)),
            None,
            Some(Value::Real(1e16)),
            Some(Value::Real(0.2)),
            Some(Value::Real(-1e16)),
            Some(Value::Real(0.3)),
        ];
        c.execute_batch("CREATE TABLE t (v REAL)").unwrap();
        for v in values {
            let v = v.map(as_real);
            c.execute("INSERT INTO t VALUES (?1)", [v]).unwrap();
        }
        let (sum, min, max): (f64, f64, f64) = c
            .query_row("SELECT sum(v), min(v), max(v) FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        let run = |rollup| {
            values
                .iter()
                .fold(Running::Empty, |r, v| r.fold(rollup, *v))
                .value()
        };
        assert_eq!(run(Rollup::Sum), Some(Value::Real(sum)));
        assert_eq!(run(Rollup::Min), Some(Value::Real(min)));
        assert_eq!(run(Rollup::Max), Some(Value::Real(max)));
        let ints = [Some(Value::Int(i64::MAX)), Some(Value::Int(1))];
        let overflowed = ints
            .iter()
            .fold(Running::Empty, |r, v| r.fold(Rollup::Sum, *v));
        assert_eq!(overflowed, Running::Overflow);
        assert_eq!(
            [None, None]
                .iter()
                .fold(Running::Empty, |r, v| r.fold(Rollup::Sum, *v))
                .value(),
            None
        );
    }
}

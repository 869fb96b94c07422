//! The per-day rollup table against the rows it rolls up: whatever windows are written, in any
//! order, whole or cut mid-day, across a DST change, each day holds exactly what SQLite's own
//! rollup of that day's stored rows gives, and rolled-up reads of whole days read it.

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use jiff::Timestamp;
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use warehouse::days::TALLY_CELLS;
use warehouse::days::{DayGrid, day_table};
use warehouse::read::{Cell, Selection};
use warehouse::{AggregateRow, SqliteReader, SqliteStore, Store, TableSpec, Value, WindowWrite};
use warehouse::{ReadSession, ReadStore};

use crate::backends::{Backend, TestStore};

const HOUR: i64 = 3_600_000;
/// 2024-10-25T23:00:00Z, local midnight in London; 2024-10-27 there is 25 hours long.
const BASE: i64 = 1_729_897_200_000;
/// Four local days: 24 + 24 + 25 + 24 hours.
const HOURS: i64 = 97;

const QUEUES: [&str; 3] = ["q-a", "q-b", "q-c"];

fn spec() -> TableSpec {
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec![
            "nOffered".into(),
            "tHandle".into(),
            "oServiceLevel".into(),
            "oMessageTurn".into(),
        ],
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT1H", "Europe/London"),
    }
}

fn at(hour: i64) -> Timestamp {
    ms_to_timestamp(BASE + hour * HOUR)
}

/// One stored value per metric column, from a seed: nulls, integers, and reals with fractions.
fn values(seed: u64) -> Vec<Option<Value>> {
    spec()
        .metric_columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let x = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i as u64 * 1442695040888963407);
            let x = x >> 33;
            if x.is_multiple_of(7) {
                None
            } else if column.sql_type == "INTEGER" {
                Some(Value::Int((x % 100_000) as i64))
            } else {
                Some(Value::Real((x % 1_000_000) as f64 / 997.0))
            }
        })
        .collect()
}

/// A window's rows: each hour, the groups whose bit is set in `groups`.
fn rows(window: (i64, i64), groups: u8, seed: u64) -> Vec<AggregateRow> {
    let mut out = Vec::new();
    for hour in window.0..window.1 {
        for (q, queue) in QUEUES.iter().enumerate() {
            for (m, media) in [Some("voice"), None].iter().enumerate() {
                let bit = q * 2 + m;
                if groups & (1 << bit) == 0 {
                    continue;
                }
                out.push(AggregateRow {
                    interval: Interval::new(at(hour), at(hour + 1)),
                    group: vec![Some((*queue).into()), media.map(String::from)],
                    values: values(seed ^ (hour as u64) << 8 ^ bit as u64),
                });
            }
        }
    }
    out
}

fn write(store: &SqliteStore, window: (i64, i64), rows: &[AggregateRow]) {
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(at(window.0), at(window.1)),
            rows,
            settled: true,
            run_id: None,
            count_changes: false,
        })
        .unwrap();
}

type Table = Vec<Vec<SqlValue>>;

fn query(c: &Connection, sql: &str, from: Timestamp, to: Timestamp) -> Table {
    let mut statement = c.prepare(sql).unwrap();
    let width = statement.column_count();
    statement
        .query_map(
            [
                genesys::interval::format_instant(from),
                genesys::interval::format_instant(to),
            ],
            |r| (0..width).map(|i| r.get::<_, SqlValue>(i)).collect(),
        )
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// SQLite's rollup of `table`'s rows starting in `[from, to)`, by group.
fn rolled_up(c: &Connection, table: &str, from: Timestamp, to: Timestamp) -> Table {
    let metrics: Vec<String> = spec()
        .metric_columns()
        .iter()
        .map(|m| format!("{}(\"{}\")", m.field.rollup().sql_function(), m.column))
        .collect();
    query(
        c,
        &format!(
            "SELECT queue_id, media_type, {} FROM \"{table}\" WHERE interval_start >= ?1 AND interval_start < ?2
             GROUP BY queue_id, media_type ORDER BY queue_id, media_type",
            metrics.join(", ")
        ),
        from,
        to,
    )
}

fn close(a: &SqlValue, b: &SqlValue) -> bool {
    match (a, b) {
        (SqlValue::Real(x), SqlValue::Real(y)) => {
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        _ => a == b,
    }
}

fn assert_same(raw: &Table, days: &Table, what: &str) {
    assert_eq!(raw.len(), days.len(), "{what}: row counts differ");
    for (r, d) in raw.iter().zip(days) {
        assert!(
            r.iter().zip(d).all(|(a, b)| close(a, b)),
            "{what}: {r:?} != {d:?}"
        );
    }
}

fn local_days() -> Vec<(Timestamp, Timestamp)> {
    let grid = DayGrid::of(&spec()).unwrap();
    let mut days = Vec::new();
    let mut day = grid.day_of(at(0)).unwrap();
    while day.start < at(HOURS) {
        days.push((day.start, day.end));
        day = grid.day_of(day.end).unwrap();
    }
    days
}

fn check_every_day(path: &std::path::Path) {
    let c = Connection::open(path).unwrap();
    let days = local_days();
    assert_eq!(days.len(), 4);
    for (from, to) in days {
        assert_same(
            &rolled_up(&c, "queue_performance", from, to),
            &rolled_up(&c, &day_table("queue_performance"), from, to),
            &format!("day {from}"),
        );
    }
}

fn window_strategy() -> impl Strategy<Value = ((i64, i64), u8, u64)> {
    (0..HOURS, 1..HOURS, any::<u8>(), any::<u64>()).prop_map(|(start, length, groups, seed)| {
        ((start, (start + length).min(HOURS)), groups, seed)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Windows of any length, starting anywhere (mid-day, across the 25-hour day), written in
    /// any order and over each other.
    #[test]
    fn each_day_is_the_rollup_of_its_stored_rows(
        windows in proptest::collection::vec(window_strategy(), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = SqliteStore::open(&path).unwrap();
        store.ensure_dataset(&spec()).unwrap();
        for (window, groups, seed) in &windows {
            write(&store, *window, &rows(*window, *groups, *seed));
        }
        check_every_day(&path);
    }
}

/// Local days (whole days read the per-day table), a segment cut mid-day, and the whole range.
fn segments() -> Vec<(Timestamp, Timestamp)> {
    let mut segments = local_days();
    segments.push((at(5), at(30)));
    segments.push((at(0), at(HOURS)));
    segments
}

fn read_all(c: &dyn ReadSession, selection: &Selection) -> Vec<Vec<Cell>> {
    segments()
        .into_iter()
        .flat_map(|segment| selection.read(c, segment, 0, 1000).unwrap())
        .collect()
}

fn reals_close(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.iter().zip(y).all(|(p, q)| match (p, q) {
                (Cell::Real(p), Cell::Real(q)) => {
                    (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0)
                }
                _ => p == q,
            })
        })
}

#[test]
fn rolled_up_reads_of_whole_days_come_from_the_day_table_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    write(&store, (0, HOURS), &rows((0, HOURS), 0b11_1111, 7));
    let reader = SqliteReader::new(&path);
    let session = reader.session().unwrap();
    let c: &dyn ReadSession = &*session;
    let mut selection = Selection::all(&spec());
    selection.rollup = true;
    selection.dimensions = vec!["queueId".into()];
    let with_days = read_all(c, &selection);
    assert!(!with_days.is_empty());

    // The same reads without the per-day table (a store from before it existed).
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(&format!(
            "ALTER TABLE \"{0}\" RENAME TO \"{0}_moved\"",
            day_table("queue_performance")
        ))
        .unwrap();
    let raw_only = read_all(c, &selection);
    assert!(
        reals_close(&with_days, &raw_only),
        "{with_days:?}\n!=\n{raw_only:?}"
    );

    // Back in place, with the stored rows gone: whole days still answer, from the day table.
    writer
        .execute_batch(&format!(
            "ALTER TABLE \"{0}_moved\" RENAME TO \"{0}\"; DELETE FROM queue_performance;",
            day_table("queue_performance")
        ))
        .unwrap();
    let whole_day = selection.read(c, local_days()[0], 0, 1000).unwrap();
    assert_eq!(whole_day.len(), QUEUES.len());
    let mid_day = selection.read(c, (at(5), at(30)), 0, 1000).unwrap();
    assert!(
        mid_day.is_empty(),
        "a segment cut mid-day reads the stored rows"
    );
    let mut stored = Selection::all(&spec());
    stored.rollup = false;
    assert!(stored.read(c, local_days()[0], 0, 1000).unwrap().is_empty());
}

/// Whether the store has `queue_performance`'s per-day table.
fn has_day_table(c: &Connection) -> bool {
    c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [day_table("queue_performance")],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

#[test]
fn a_store_without_day_tables_gets_them_filled_and_metric_changes_reach_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    write(&store, (3, 90), &rows((3, 90), 0b10_1101, 11));
    let c = Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "DROP TABLE \"{}\"",
        day_table("queue_performance")
    ))
    .unwrap();
    store.ensure_dataset(&spec()).unwrap();
    check_every_day(&path);

    let mut more = spec();
    more.metrics.push("tTalk".into());
    more.metrics.retain(|m| m != "oMessageTurn");
    store.ensure_dataset(&more).unwrap();
    let columns = |table: &str| -> Vec<String> {
        c.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    // The day table has the dataset's columns and its days' local dates.
    let mut expected = columns("queue_performance");
    expected.push("date".into());
    expected.sort();
    let mut day_columns = columns(&day_table("queue_performance"));
    day_columns.sort();
    assert_eq!(day_columns, expected);
    assert!(columns("queue_performance").contains(&"t_talk_sum_ms".to_string()));

    // A definition that has no sub-day buckets has no day table; one that changes rebuilds it.
    let mut daily = more.clone();
    daily.definition =
        warehouse::DatasetDefinition::conversation_aggregates("P1D", "Europe/London");
    store.ensure_dataset(&daily).unwrap();
    assert!(!has_day_table(&c));
    store.ensure_dataset(&more).unwrap();
    assert!(has_day_table(&c));
}

#[test]
fn day_table_names_are_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let mut clash = spec();
    clash.name = day_table("queue_performance");
    assert!(store.ensure_dataset(&clash).is_err());
}

/// Writes a window's rows page by page, `page` rows at a time, as the sync writes an async job.
fn write_in_pages(
    store: &SqliteStore,
    window: (i64, i64),
    rows: &[AggregateRow],
    page: usize,
) -> warehouse::Result<warehouse::WindowOutcome> {
    let mut pages = rows.chunks(page.max(1)).map(|page| Ok(page.to_vec()));
    store.write_window_pages(
        &WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(at(window.0), at(window.1)),
            rows: &[],
            settled: true,
            run_id: None,
            count_changes: false,
        },
        &mut pages,
        None,
    )
}

fn dump(path: &std::path::Path, sql: &str) -> Table {
    let c = Connection::open(path).unwrap();
    let mut statement = c.prepare(sql).unwrap();
    let width = statement.column_count();
    statement
        .query_map([], |r| {
            (0..width)
                .map(|i| r.get::<_, SqlValue>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const ALL_ROWS: &str = "SELECT * FROM queue_performance ORDER BY 1, 3, 4";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same windows written page by page (pages of any size, some windows whole) store the
    /// same rows as whole writes, and each day is still the rollup of its stored rows.
    #[test]
    fn windows_written_page_by_page_store_what_whole_writes_store(
        windows in proptest::collection::vec((window_strategy(), 0..40usize), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (paged_path, whole_path) = (dir.path().join("paged.db"), dir.path().join("whole.db"));
        let (paged, whole) = (SqliteStore::open(&paged_path).unwrap(), SqliteStore::open(&whole_path).unwrap());
        paged.ensure_dataset(&spec()).unwrap();
        whole.ensure_dataset(&spec()).unwrap();
        for ((window, groups, seed), page) in &windows {
            let rows = rows(*window, *groups, *seed);
            if *page == 0 {
                write(&paged, *window, &rows);
            } else {
                let outcome = write_in_pages(&paged, *window, &rows, *page).unwrap();
                prop_assert_eq!(outcome.rows_written, rows.len());
            }
            write(&whole, *window, &rows);
        }
        check_every_day(&paged_path);
        prop_assert_eq!(dump(&paged_path, ALL_ROWS), dump(&whole_path, ALL_ROWS));
        let logged = "SELECT window_start, window_end, rows FROM windows ORDER BY window_start";
        prop_assert_eq!(dump(&paged_path, logged), dump(&whole_path, logged));
    }
}

/// Pages that stop arriving mid-window (the fetch failed or was stopped) write nothing: the
/// rows, the days and the window log stay as the last whole write left them.
#[test]
fn a_window_whose_pages_stop_arriving_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    write(&store, (0, 30), &rows((0, 30), 0xff, 7));
    let tables = [
        ALL_ROWS.to_string(),
        format!(
            "SELECT * FROM \"{}\" ORDER BY 1, 3, 4",
            day_table("queue_performance")
        ),
        "SELECT window_start, window_end, rows FROM windows".to_string(),
    ];
    let before: Vec<Table> = tables.iter().map(|sql| dump(&path, sql)).collect();

    let fresh = rows((10, 40), 0x0f, 9);
    let mut pages = fresh
        .chunks(25)
        .take(2)
        .map(|page| Ok(page.to_vec()))
        .chain(std::iter::once(Err(warehouse::StoreError::PagesStopped(
            "the fetch failed".into(),
        ))));
    let refused = store.write_window_pages(
        &WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(at(10), at(40)),
            rows: &[],
            settled: true,
            run_id: None,
            count_changes: false,
        },
        &mut pages,
        None,
    );

    assert!(
        matches!(refused, Err(warehouse::StoreError::PagesStopped(_))),
        "{refused:?}"
    );
    let after: Vec<Table> = tables.iter().map(|sql| dump(&path, sql)).collect();
    assert_eq!(before, after);
    check_every_day(&path);
}

/// The per-day table, each value as text (an instant as the store's text), in an order both
/// backends give.
const DAYS: &str = "SELECT * FROM queue_performance__daily
     ORDER BY interval_start, coalesce(queue_id, ''), coalesce(media_type, '')";

/// Whether two stores' per-day tables (their [`DAYS`] without `rowid`) hold the same days:
/// reals within 1e-9 (a day cut by a window is summed by each database, and PostgreSQL does
/// not compensate a sum as SQLite does), everything else exactly.
fn same_days(a: &TestStore, b: &TestStore) -> Result<(), String> {
    let without_rowid = |t: &TestStore| -> Vec<Vec<Option<String>>> {
        t.rows(&DAYS.replace('*', &day_columns().join(", ")))
    };
    let (a, b) = (without_rowid(a), without_rowid(b));
    let close = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) if x != y => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
            _ => false,
        },
        _ => x == y,
    };
    if a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| close(p, q)))
    {
        Ok(())
    } else {
        Err(format!("{a:?}\n!=\n{b:?}"))
    }
}

/// The per-day table's columns but `rowid`.
fn day_columns() -> Vec<String> {
    let spec = spec();
    let mut columns: Vec<String> = vec!["interval_start".into(), "interval_end".into()];
    columns.extend(spec.dimension_columns());
    columns.extend(spec.metric_columns().into_iter().map(|c| c.column));
    columns.push("date".into());
    columns
}

/// Writes a window into `t`: whole (`page` 0), or page by page, the rows in key order or
/// group by group (as an aggregate query's answer lists them).
fn write_any(
    t: &TestStore,
    window: (i64, i64),
    rows: &[AggregateRow],
    page: usize,
    by_group: bool,
) {
    let mut rows = rows.to_vec();
    if by_group {
        rows.sort_by(|a, b| {
            a.group
                .cmp(&b.group)
                .then(a.interval.start.cmp(&b.interval.start))
        });
    }
    let write = WindowWrite {
        dataset: "queue_performance",
        window: Interval::new(at(window.0), at(window.1)),
        rows: &rows,
        settled: true,
        run_id: None,
        count_changes: false,
    };
    let outcome = if page == 0 {
        t.store.write_window(&write)
    } else {
        let mut pages = rows.chunks(page).map(|page| Ok(page.to_vec()));
        t.store.write_window_pages(&write, &mut pages, None)
    };
    assert_eq!(outcome.unwrap().rows_written, rows.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// PostgreSQL sums the days a window covers from the rows as they are written, and any other
    /// day from its stored rows: whatever windows are written (whole or page by page, in any
    /// order, cut mid-day, across the 25-hour day, over each other), its per-day table holds
    /// what SQLite's does.
    #[test]
    fn postgres_days_are_sqlites(
        windows in proptest::collection::vec((window_strategy(), 0..40usize, any::<bool>()), 1..5),
    ) {
        let stores = [TestStore::new(Backend::Sqlite), TestStore::new(Backend::Postgres)];
        for t in &stores {
            t.store.ensure_dataset(&spec()).unwrap();
            for ((window, groups, seed), page, by_group) in &windows {
                write_any(t, *window, &rows(*window, *groups, *seed), *page, *by_group);
            }
        }
        prop_assert!(same_days(&stores[0], &stores[1]).is_ok(), "{}", same_days(&stores[0], &stores[1]).unwrap_err());
    }
}

/// A window with more groups than a day tally keeps ([`TALLY_CELLS`]) has its days summed by
/// PostgreSQL, with the figures SQLite's sums give.
#[test]
fn a_window_of_more_groups_than_the_tally_keeps_rolls_its_days_up_alike() {
    let width = spec().metric_columns().len();
    let groups = TALLY_CELLS / (width + 1) + 1_000;
    let rows: Vec<AggregateRow> = (0..groups)
        .map(|g| AggregateRow {
            interval: Interval::new(at(g as i64 % 24), at(g as i64 % 24 + 1)),
            group: vec![Some(format!("q-{g:06}")), Some("voice".into())],
            values: values(g as u64),
        })
        .collect();
    let stores = [
        TestStore::new(Backend::Sqlite),
        TestStore::new(Backend::Postgres),
    ];
    for t in &stores {
        t.store.ensure_dataset(&spec()).unwrap();
        write_any(t, (0, 24), &rows, 7_000, false);
        assert_eq!(
            t.integer("SELECT count(*) FROM queue_performance__daily"),
            groups as i64
        );
    }
    same_days(&stores[0], &stores[1]).unwrap();
}

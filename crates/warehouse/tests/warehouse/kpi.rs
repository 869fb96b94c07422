//! The KPI views: `<dataset>_kpi` with the directory names beside the ids, `<dataset>_daily_kpi`
//! per local day with its date, the upgrade that gives an existing store both, and the dataset
//! names that would make two feeds share a name.

use std::collections::BTreeMap;

use genesys::Interval;
use genesys::directory::Queue;
use genesys::granularity::ms_to_timestamp;
use proptest::prelude::*;

use crate::backends::{on_both_backends, sqlite_texts};
use rusqlite::Connection;
use warehouse::{
    AggregateRow, DatasetDefinition, Directory, SqliteStore, Store, StoreError, TableSpec, Value,
    WindowWrite,
};

const HOUR: i64 = 3_600_000;
/// 2024-03-30T00:00:00Z: London's clocks go forward on the 31st (a 23-hour day).
const BASE: i64 = 1_711_756_800_000;

fn spec() -> TableSpec {
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec![
            "nOffered".into(),
            "tAnswered".into(),
            "tHandle".into(),
            "oServiceLevel".into(),
        ],
        definition: DatasetDefinition::conversation_aggregates("PT1H", "Europe/London"),
    }
}

/// A row of hour `k` (from [`BASE`]) whose figures vary with `k` and the queue.
fn row(k: i64, queue: Option<&str>) -> AggregateRow {
    let int = |v: i64| Some(Value::Int(v));
    let offered = 3 + k % 5 + queue.map_or(0, |q| q.len() as i64);
    let answered = offered - k % 3;
    AggregateRow {
        interval: Interval::new(
            ms_to_timestamp(BASE + k * HOUR),
            ms_to_timestamp(BASE + (k + 1) * HOUR),
        ),
        group: vec![queue.map(str::to_string), Some("voice".into())],
        values: vec![
            int(offered),
            // tAnswered: count, sum, min, max
            int(answered),
            int(1_733 * answered + k),
            int(10),
            int(20),
            // tHandle: count, sum, min, max
            int(answered),
            int(180_007 * answered + 13 * k),
            int(1000),
            int(3000),
            // oServiceLevel: numerator, denominator, target
            int(answered - k % 2),
            int(answered),
            Some(Value::Real(0.8)),
        ],
    }
}

/// Three local days of rows (the 30th, the 23-hour 31st, April 1st) for two queues and none.
fn rows() -> Vec<AggregateRow> {
    (0..71)
        .flat_map(|k| [row(k, Some("q1")), row(k, Some("q22")), row(k, None)])
        .collect()
}

/// The dataset, its queues' names and three local days of rows.
fn fill(store: &dyn Store) {
    store.ensure_dataset(&spec()).unwrap();
    let queue = |id: &str, name: &str| Queue {
        id: id.into(),
        name: name.into(),
        ..Queue::default()
    };
    store
        .replace_directory(Directory::Queues(&[
            queue("q1", "Sales"),
            queue("q22", "Support"),
        ]))
        .unwrap();
    let rows = rows();
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(ms_to_timestamp(BASE), ms_to_timestamp(BASE + 71 * HOUR)),
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        })
        .unwrap();
}

fn store_with_rows(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).unwrap();
    fill(&store);
    store
}

/// What a daily KPI row must hold, summed here from the rows written.
#[derive(Debug, PartialEq)]
struct Day {
    date: String,
    queue: Option<String>,
    name: Option<String>,
    offered: i64,
    answered: i64,
    answer_rate: f64,
    avg_handle_s: f64,
    service_level: f64,
}

fn expected_days() -> Vec<Day> {
    let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let mut days: Vec<Day> = Vec::new();
    // (date, queue) → sums of offered, answered, handle sum, handle count, SL num, SL den.
    let mut sums: std::collections::BTreeMap<(String, String), [i64; 6]> = Default::default();
    for r in rows() {
        let date = r
            .interval
            .start
            .to_zoned_datetime(tz.clone())
            .date()
            .to_string();
        let int = |i: usize| match r.values[i] {
            Some(Value::Int(v)) => v,
            ref other => panic!("{other:?}"),
        };
        let queue = r.group[0].clone().unwrap_or_default();
        let s = sums.entry((date, queue)).or_default();
        for (slot, column) in [0, 1, 6, 5, 9, 10].into_iter().enumerate() {
            s[slot] += int(column);
        }
    }
    for ((date, queue), s) in sums {
        let name = match queue.as_str() {
            "q1" => Some("Sales".to_string()),
            "q22" => Some("Support".to_string()),
            _ => None,
        };
        days.push(Day {
            date,
            queue: Some(queue).filter(|q| !q.is_empty()),
            name,
            offered: s[0],
            answered: s[1],
            answer_rate: 1.0 * s[1] as f64 / s[0] as f64,
            avg_handle_s: 1.0 * s[2] as f64 / s[3] as f64 / 1000.0,
            service_level: 1.0 * s[4] as f64 / s[5] as f64,
        });
    }
    days
}

const DAILY_KPI: &str =
    "SELECT date, queue_id, queue_name, offered, answered, answer_rate, avg_handle_s, service_level
     FROM queue_performance_daily_kpi ORDER BY date, coalesce(queue_id, '')";

/// The daily KPI view's rows, each value as text ([`TestStore::rows`]).
fn daily_kpi(rows: Vec<Vec<Option<String>>>) -> Vec<Day> {
    let number = |v: &Option<String>| v.as_deref().unwrap().parse::<f64>().unwrap();
    rows.into_iter()
        .map(|r| Day {
            date: r[0].clone().unwrap(),
            queue: r[1].clone(),
            name: r[2].clone(),
            offered: r[3].as_deref().unwrap().parse().unwrap(),
            answered: r[4].as_deref().unwrap().parse().unwrap(),
            answer_rate: number(&r[5]),
            avg_handle_s: number(&r[6]),
            service_level: number(&r[7]),
        })
        .collect()
}

on_both_backends! {
fn the_daily_kpi_view_holds_each_local_days_figures_from_its_sums_with_names(t) {
    let store = &t.store;
    fill(store);
    // A window of part of a day again: the store sums that day (the whole ones were summed in Rust).
    let part: Vec<AggregateRow> = rows()
        .into_iter()
        .filter(|r| (30..33).contains(&((r.interval.start.as_millisecond() - BASE) / HOUR)))
        .collect();
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(
                ms_to_timestamp(BASE + 30 * HOUR),
                ms_to_timestamp(BASE + 33 * HOUR),
            ),
            rows: &part,
            settled: true,
            run_id: None,
            count_changes: false,
        })
        .unwrap();
    let days = daily_kpi(t.rows(DAILY_KPI));
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(
        dates,
        [
            "2024-03-30",
            "2024-03-30",
            "2024-03-30",
            "2024-03-31",
            "2024-03-31",
            "2024-03-31",
            "2024-04-01",
            "2024-04-01",
            "2024-04-01"
        ]
    );
    assert_eq!(days, expected_days());
    // The 31st is 23 hours long in London.
    let bounds = t.rows(
        "SELECT interval_start, interval_end FROM queue_performance_daily_kpi WHERE date = '2024-03-31' LIMIT 1",
    );
    assert_eq!(
        bounds,
        [[
            Some("2024-03-31T00:00:00.000Z".to_string()),
            Some("2024-03-31T23:00:00.000Z".to_string())
        ]]
    );
}

fn the_kpi_view_has_names_beside_ids_and_keeps_a_null_id_null(t) {
    fill(&t.store);
    let text = |v: &str| Some(v.to_string());
    let names = t.rows(
        "SELECT queue_id, queue_name, count(*) FROM queue_performance_kpi
         GROUP BY queue_id, queue_name ORDER BY coalesce(queue_id, '')",
    );
    assert_eq!(
        names,
        [
            [None, None, text("71")],
            [text("q1"), text("Sales"), text("71")],
            [text("q22"), text("Support"), text("71")]
        ]
    );
    // Its id is the stored row's, and each row's figures are that row's.
    let mismatched = t.integer(
        "SELECT count(*) FROM queue_performance_kpi k JOIN queue_performance t ON t.rowid = k.id
         WHERE k.offered IS DISTINCT FROM t.n_offered
            OR abs(k.avg_handle_s - 1.0 * t.t_handle_sum_ms / t.t_handle_count / 1000.0) > 1e-9",
    );
    assert_eq!(mismatched, 0);
    let rows = t.integer("SELECT count(*) FROM queue_performance_kpi");
    assert_eq!(rows, 3 * 71);
}
}

/// Takes a store back to version 3: no `date` column, no daily view, views without names (and
/// no restatement counts in `runs`, from version 5).
fn make_version_3(path: &std::path::Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "DROP VIEW queue_performance_daily_kpi;
         ALTER TABLE queue_performance__daily DROP COLUMN date;
         DROP VIEW queue_performance_kpi;
         CREATE VIEW queue_performance_kpi AS SELECT interval_start, n_offered AS offered FROM queue_performance;
         ALTER TABLE runs DROP COLUMN rows_changed;
         ALTER TABLE watermarks DROP COLUMN restated_at;
         ALTER TABLE watermarks DROP COLUMN rows_restated;
         UPDATE schema_version SET version = 3;",
    )
    .unwrap();
}

#[test]
fn an_existing_store_gets_the_feeds_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(store_with_rows(&path));
    make_version_3(&path);
    let c = Connection::open(&path).unwrap();
    let missing = c.prepare("SELECT date FROM queue_performance_daily_kpi");
    assert!(missing.is_err());
    SqliteStore::open(&path).unwrap();
    let version: i64 = c
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    assert_eq!(daily_kpi(sqlite_texts(&c, DAILY_KPI)), expected_days());
    let named: i64 = c
        .query_row(
            "SELECT count(*) FROM queue_performance_kpi WHERE queue_name = 'Support'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, 71);
}

#[test]
fn a_dataset_and_its_daily_namesake_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    let clash = TableSpec {
        name: "queue_performance_daily".into(),
        ..spec()
    };
    let error = store.ensure_dataset(&clash).unwrap_err();
    assert!(
        matches!(&error, StoreError::KpiNameClash { feed, .. } if feed == "queue_performance_daily_kpi"),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("`queue_performance_daily`") && message.contains("`queue_performance`"),
        "{message}"
    );
    // The other way round too.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    store.ensure_dataset(&clash).unwrap();
    assert!(matches!(
        store.ensure_dataset(&spec()),
        Err(StoreError::KpiNameClash { .. })
    ));
    for reserved in ["x_kpi", "x_daily_kpi"] {
        let named = TableSpec {
            name: reserved.into(),
            ..spec()
        };
        assert!(matches!(
            store.ensure_dataset(&named),
            Err(StoreError::InvalidName(_))
        ));
    }
}

/// A row of hour `k` for queue `queue` (2: none) with `offered` conversations, its handle
/// stats missing when `no_handle`.
fn sparse_row(k: i64, queue: u8, offered: i64, no_handle: bool) -> AggregateRow {
    let mut r = row(k, [Some("q1"), Some("q22"), None][queue as usize]);
    let answered = offered / 2;
    let int = |v: i64| Some(Value::Int(v));
    r.values[0] = int(offered);
    r.values[1] = int(answered);
    for (i, v) in [(5, answered), (6, 1_999 * answered + k)] {
        r.values[i] = if no_handle { None } else { int(v) };
    }
    r
}

/// (offered, answered, answer_rate, avg_handle_s) per (date, queue), summed here as SQL sums
/// (null when every value is null) and divided as the feed's formulas say.
type Figures = (Option<i64>, Option<i64>, Option<f64>, Option<f64>);

fn expected_figures(rows: &[AggregateRow]) -> BTreeMap<(String, Option<String>), Figures> {
    let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let mut sums: BTreeMap<(String, Option<String>), [Option<i64>; 4]> = BTreeMap::new();
    for r in rows {
        let date = r
            .interval
            .start
            .to_zoned_datetime(tz.clone())
            .date()
            .to_string();
        let s = sums.entry((date, r.group[0].clone())).or_default();
        for (slot, column) in [0, 1, 6, 5].into_iter().enumerate() {
            if let Some(Value::Int(v)) = r.values[column] {
                s[slot] = Some(s[slot].unwrap_or(0) + v);
            }
        }
    }
    let ratio = |n: Option<i64>, d: Option<i64>| match (n, d) {
        (Some(n), Some(d)) if d != 0 => Some(1.0 * n as f64 / d as f64),
        _ => None,
    };
    sums.into_iter()
        .map(|(key, s)| {
            let handle = ratio(s[2], s[3]).map(|ms| ms / 1000.0);
            (key, (s[0], s[1], ratio(s[1], s[0]), handle))
        })
        .collect()
}

fn daily_figures(path: &std::path::Path) -> BTreeMap<(String, Option<String>), Figures> {
    let c = Connection::open(path).unwrap();
    c.prepare(
        "SELECT date, queue_id, offered, answered, answer_rate, avg_handle_s FROM queue_performance_daily_kpi",
    )
    .unwrap()
    .query_map([], |r| {
        Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Whatever rows a window holds (queues missing, nothing offered, handle stats missing),
    /// written whole or page by page, each local day's KPI row holds the figures of the sums of
    /// that day's rows, dated by the day in the dataset's zone.
    #[test]
    fn daily_kpi_rows_are_the_figures_of_each_days_sums(
        picks in proptest::collection::btree_map((0i64..71, 0u8..3), (0i64..6, any::<bool>()), 1..60),
        page in proptest::option::of(1usize..40),
    ) {
        let rows: Vec<AggregateRow> = picks
            .iter()
            .map(|(&(k, queue), &(offered, no_handle))| sparse_row(k, queue, offered, no_handle))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = SqliteStore::open(&path).unwrap();
        store.ensure_dataset(&spec()).unwrap();
        let window = Interval::new(ms_to_timestamp(BASE), ms_to_timestamp(BASE + 71 * HOUR));
        let write = WindowWrite {
            dataset: "queue_performance",
            window,
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        };
        match page {
            None => store.write_window(&write).map(|_| ()),
            Some(size) => {
                let mut pages = rows.chunks(size).map(|p| Ok(p.to_vec()));
                store.write_window_pages(&WindowWrite { rows: &[], ..write }, &mut pages, None).map(|_| ())
            }
        }
        .unwrap();
        prop_assert_eq!(daily_figures(&path), expected_figures(&rows));
    }
}

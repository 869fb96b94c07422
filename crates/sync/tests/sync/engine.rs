//! The sync engine against the emulator's synthetic contact centre (in process: the HTTP path is
//! covered by the client's tests) and a real SQLite file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::AggregationQuery;
use jiff::{SignedDuration, Timestamp};
use sync::config::Config;
use sync::engine::{AggregateSource, Engine, Mode, SourceError};
use warehouse::testing::StoredTable;
use warehouse::{SqliteStore, Store};

/// Answers like the aggregates endpoint as of a settable virtual now; counts requests.
pub(crate) struct Emulated {
    pub(crate) centre: ContactCentre,
    now: Mutex<Timestamp>,
    pub(crate) requests: Mutex<usize>,
    jobs: Mutex<usize>,
}

impl Emulated {
    pub(crate) fn new(now: Timestamp) -> Arc<Self> {
        let shape = OrgShape {
            conversations_per_day: 3_000,
            ..OrgShape::default()
        };
        Arc::new(Self {
            centre: ContactCentre::new(11, &shape),
            now: Mutex::new(now),
            requests: Mutex::new(0),
            jobs: Mutex::new(0),
        })
    }
}

impl AggregateSource for Emulated {
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        *self.requests.lock().unwrap() += 1;
        let now = *self.now.lock().unwrap();
        let response = self.centre.aggregate(&query, now).map_err(|e| e.message)?;
        Ok(warehouse::rows_from_response(table, &response)?)
    }

    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        *self.jobs.lock().unwrap() += 1;
        let now = *self.now.lock().unwrap();
        let response = self.centre.aggregate(&query, now).map_err(|e| e.message)?;
        Ok(warehouse::rows_from_response(table, &response)?)
    }
}

#[tokio::test]
async fn directories_replace_their_tables() {
    use sync::config::DirectoryName;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let store = SqliteStore::open(&path).unwrap();
    let centre = Emulated::new(at("2024-05-01T00:00:00Z"));
    let org = centre.centre.org();
    let source = sync::engine::FixedDirectories {
        queues: org.queues.clone(),
        users: org.users.clone(),
        wrapup_codes: org.wrapup_codes.clone(),
        presences: centre.centre.presence_definitions(),
    };
    for (name, expected) in [
        (DirectoryName::Queues, 25),
        (DirectoryName::Users, 200),
        (DirectoryName::WrapupCodes, org.wrapup_codes.len()),
        (DirectoryName::Presences, source.presences.len()),
    ] {
        assert_eq!(
            sync::engine::sync_directory(&source, &store, name)
                .await
                .unwrap(),
            expected
        );
        assert_eq!(
            sync::engine::sync_directory(&source, &store, name)
                .await
                .unwrap(),
            expected
        );
        let stored = StoredTable::read(&path, name.as_str()).unwrap();
        assert_eq!(stored.len(), expected, "{name}");
    }
}

pub(crate) fn spec(backfill: &str) -> sync::config::DatasetSpec {
    let text = format!(
        r#"
        [[datasets]]
        name = "queue_performance"
        metrics = ["nOffered", "tAnswered", "tAbandon", "tHandle", "oServiceLevel"]
        group_by = ["queueId", "mediaType"]
        granularity = "PT15M"
        time_zone = "Europe/London"
        lookback = "PT6H"
        settle = "PT5M"
        backfill_start = "{backfill}"
        "#
    );
    Config::parse(&text, Path::new("t.toml"))
        .unwrap()
        .dataset_specs()
        .unwrap()
        .remove(0)
}

/// (interval_start, queue_id, media_type, n_offered, t_answered_count, t_handle_sum_ms) of
/// every stored row, sorted; "" for a missing dimension, -1 for a missing figure.
fn dump(path: &Path) -> Vec<(String, String, String, i64, i64, i64)> {
    let table = StoredTable::read(path, "queue_performance").unwrap();
    let mut rows: Vec<_> = table
        .rows()
        .map(|r| {
            (
                r.text("interval_start").unwrap().to_string(),
                r.text("queue_id").unwrap_or_default().to_string(),
                r.text("media_type").unwrap_or_default().to_string(),
                r.integer("n_offered").unwrap_or(-1),
                r.integer("t_answered_count").unwrap_or(-1),
                r.integer("t_handle_sum_ms").unwrap_or(-1),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// How many stored rows have their bucket in `window`.
fn rows_within(path: &Path, window: genesys::Interval) -> usize {
    let (start, end) = (
        genesys::interval::format_instant(window.start),
        genesys::interval::format_instant(window.end),
    );
    StoredTable::read(path, "queue_performance")
        .unwrap()
        .rows()
        .filter(|r| {
            let bucket = r.text("interval_start").unwrap();
            bucket >= start.as_str() && bucket < end.as_str()
        })
        .count()
}

/// The window log's entry for the window starting at `window.start`, if any.
fn log_entry(store: &SqliteStore, window: genesys::Interval) -> Option<warehouse::WindowRecord> {
    store
        .windows("queue_performance")
        .unwrap()
        .into_iter()
        .find(|record| record.window.start == window.start)
}

pub(crate) fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn rerunning_a_backfill_changes_nothing_and_requests_match_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let now = at("2024-05-04T12:00:00Z");
    let source = Emulated::new(now);
    let engine = Engine::new(source.clone(), Arc::new(SqliteStore::open(&path).unwrap()));
    let spec = spec("2024-05-01");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: now,
    };
    let planned = engine.plan(&spec, now, mode).unwrap();
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert_eq!(report.windows_planned, planned.len());
    assert_eq!(
        *source.requests.lock().unwrap(),
        planned.len(),
        "one request per planned window"
    );
    assert!(report.failures.is_empty());
    assert_eq!(
        report.complete_through,
        Some(at("2024-05-04T11:45:00Z")),
        "whole buckets before now − settle"
    );
    let first = dump(&path);
    assert!(first.len() > 1000, "{} rows", first.len());
    engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert_eq!(dump(&path), first, "re-running a window is harmless");
}

#[tokio::test]
async fn incremental_syncs_every_15_minutes_equal_one_backfill_afterwards() {
    let start = at("2024-05-01T00:00:00Z");
    let end = start + SignedDuration::from_hours(48);
    let spec = spec("2024-05-01T00:00:00Z");

    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let source = Emulated::new(start);
    let engine = Engine::new(source.clone(), Arc::new(SqliteStore::open(&live).unwrap()));
    let mut now = start + SignedDuration::from_mins(15);
    while now <= end {
        *source.now.lock().unwrap() = now;
        let report = engine
            .sync_dataset(&spec, now, Mode::Incremental)
            .await
            .unwrap();
        assert!(report.failures.is_empty());
        now += SignedDuration::from_mins(15);
    }

    // Afterwards, long enough for every conversation to have ended and with the same cut-off.
    let later = end + SignedDuration::from_hours(12);
    let after = dir.path().join("after.db");
    let fresh = Emulated::new(later);
    let backfill = Engine::new(fresh, Arc::new(SqliteStore::open(&after).unwrap()));
    let cutoff = end - spec.settle;
    backfill
        .sync_dataset(
            &spec,
            later,
            Mode::Backfill {
                from: start,
                to: cutoff,
            },
        )
        .await
        .unwrap();

    // The live store is final for every bucket older than the lookback; newer ones may still grow.
    let settled_before = genesys::interval::format_instant(end - spec.lookback);
    let older = |rows: Vec<(String, String, String, i64, i64, i64)>| -> Vec<_> {
        rows.into_iter().filter(|r| r.0 < settled_before).collect()
    };
    let live_rows = older(dump(&live));
    assert!(!live_rows.is_empty());
    assert_eq!(live_rows, older(dump(&after)));
}

#[tokio::test]
async fn auto_mode_moves_large_windows_to_async_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2024-05-04T12:00:00Z");
    let spec = spec("2024-05-01");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-04T00:00:00Z"),
    };

    let by_query = dir.path().join("query.db");
    let engine = Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&by_query).unwrap()),
    );
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert_eq!(
        report.windows_by_job, 0,
        "small windows stay on the synchronous query"
    );

    let by_job = dir.path().join("job.db");
    let source = Emulated::new(now);
    let mut engine = Engine::new(
        source.clone(),
        Arc::new(SqliteStore::open(&by_job).unwrap()),
    );
    engine.concurrency = 1;
    engine.job_threshold_rows = 100;
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert_eq!(
        *source.requests.lock().unwrap(),
        1,
        "one measured query, then jobs"
    );
    assert_eq!(report.windows_by_job, report.windows_planned - 1);
    assert_eq!(*source.jobs.lock().unwrap(), report.windows_by_job);
    assert_eq!(dump(&by_job), dump(&by_query));
}

/// Hands out each job's rows in pages of 50, as the client decodes cursor pages; while
/// `failing` is set, the job of the window starting at `fail_window` breaks after two pages.
struct Paged {
    inner: Arc<Emulated>,
    fail_window: String,
    failing: Mutex<bool>,
    /// The job of `fail_window` has no rows at all.
    empty: Mutex<bool>,
    pages: Mutex<usize>,
}

impl AggregateSource for Paged {
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        self.inner.fetch_rows(query, table).await
    }

    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        self.inner.fetch_rows_by_job(query, table).await
    }

    async fn stream_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
        pages: sync::engine::PageSender,
    ) -> Result<(), SourceError> {
        let chosen = query.interval == self.fail_window;
        if chosen && *self.empty.lock().unwrap() {
            return Ok(());
        }
        let breaks = *self.failing.lock().unwrap() && chosen;
        let rows = self.inner.fetch_rows_by_job(query, table).await?;
        for (sent, page) in rows.chunks(50).enumerate() {
            if breaks && sent == 2 {
                return Err("the job's third page could not be read".into());
            }
            *self.pages.lock().unwrap() += 1;
            pages.send(page.to_vec()).await?;
        }
        Ok(())
    }
}

/// A window fetched by job is written page by page; a job that breaks after some of its pages
/// were written leaves nothing of its window, and the next run fills it as a clean run would.
#[tokio::test]
async fn a_job_that_breaks_midway_writes_nothing_of_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2024-05-04T12:00:00Z");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-04T00:00:00Z"),
    };
    let mut spec = spec("2024-05-01");
    spec.query_mode = sync::engine::QueryMode::Job;

    let clean = dir.path().join("clean.db");
    let engine = Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&clean).unwrap()),
    );
    engine.sync_dataset(&spec, now, mode).await.unwrap();

    let path = dir.path().join("paged.db");
    let windows = Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&path).unwrap()),
    )
    .plan(&spec, now, mode)
    .unwrap();
    let broken = windows[1];
    let source = Arc::new(Paged {
        inner: Emulated::new(now),
        fail_window: spec.query(broken).interval,
        failing: Mutex::new(true),
        empty: Mutex::new(false),
        pages: Mutex::new(0),
    });
    let engine = Engine::new(source.clone(), Arc::new(SqliteStore::open(&path).unwrap()));
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].0, broken);
    let log = SqliteStore::open(&path).unwrap();
    let (rows_in_broken, logged) = (rows_within(&path, broken), log_entry(&log, broken));
    assert_eq!(
        (rows_in_broken, logged),
        (0, None),
        "the broken window left rows or a log entry"
    );
    assert!(
        *source.pages.lock().unwrap() > windows.len(),
        "windows came in several pages"
    );

    *source.failing.lock().unwrap() = false;
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(dump(&path), dump(&clean));

    // A job with no rows at all empties its window and logs it, as a whole write of none would.
    *source.empty.lock().unwrap() = true;
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let logged_rows = log_entry(&log, broken).map(|record| record.rows);
    let rows_in_empty = rows_within(&path, broken);
    assert_eq!((rows_in_empty, logged_rows), (0, Some(0)));
}

fn hour(n: i64) -> Timestamp {
    Timestamp::from_second(1_714_521_600 + n * 3600).unwrap()
}

proptest::proptest! {
    /// The gap starts at the watermark, ends at the next stored window or the range's end, and
    /// no stored window begins inside it; there is one whenever the watermark is short of the
    /// range.
    #[test]
    fn the_first_gap_is_exactly_the_unstored_stretch_after_the_watermark(
        watermark in 0i64..48,
        reach in 0i64..48,
        stored in proptest::collection::btree_set(0i64..48, 0..12),
    ) {
        let records: Vec<warehouse::WindowRecord> = stored
            .iter()
            .map(|&h| warehouse::WindowRecord {
                window: genesys::Interval::new(hour(h), hour(h + 1)),
                rows: 1,
                settled: true,
                written_at: hour(0),
            })
            .collect();
        let gap = sync::engine::first_gap(Some(hour(watermark)), Some(hour(reach)), &records);
        match gap {
            None => proptest::prop_assert!(
                reach <= watermark
            ),
            Some(gap) => {
                proptest::prop_assert_eq!(gap.start, hour(watermark));
                proptest::prop_assert!(gap.end <= hour(reach) && gap.end > gap.start);
                proptest::prop_assert!(
                    !stored.iter().any(|&h| hour(h) > gap.start && hour(h) < gap.end)
                );
                let next = stored.iter().copied().filter(|&h| h > watermark).min();
                proptest::prop_assert_eq!(gap.end, hour(next.unwrap_or(reach).min(reach)));
            }
        }
    }
}

/// Streams the synchronous query's rows in pages of the engine's page size, noting the most
/// rows the engine's budget ever had in flight; `too_large` refuses every query as too large.
struct Streamed {
    inner: Arc<Emulated>,
    budget: sync::engine::RowBudget,
    most_in_flight: Mutex<usize>,
    too_large: bool,
    /// The query of this window breaks off after its first page, once.
    break_once: Mutex<Option<String>>,
}

impl AggregateSource for Streamed {
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        self.inner.fetch_rows(query, table).await
    }

    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        self.inner.fetch_rows_by_job(query, table).await
    }

    async fn stream_rows(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
        pages: sync::engine::PageSender,
    ) -> Result<(), SourceError> {
        if self.too_large {
            *self.inner.requests.lock().unwrap() += 1;
            return Err(sync::engine::ResponseTooLarge("over the limit".into()).into());
        }
        let breaks = {
            let mut chosen = self.break_once.lock().unwrap();
            let breaks = chosen.as_deref() == Some(query.interval.as_str());
            if breaks {
                *chosen = None;
            }
            breaks
        };
        let rows = self.inner.fetch_rows(query, table).await?;
        for (sent, page) in rows.chunks(pages.page_rows()).enumerate() {
            if breaks && sent == 1 {
                let cut = sync::engine::AnswerInterrupted("connection reset".into());
                return Err(cut.into());
            }
            pages.send(page.to_vec()).await?;
            let in_flight = self.budget.in_flight();
            let mut most = self.most_in_flight.lock().unwrap();
            *most = (*most).max(in_flight);
        }
        Ok(())
    }
}

/// Many windows at once under a budget of a few pages: every window still gets its turn (no
/// window starves waiting for room another holds while it waits for the store), the rows in
/// flight never pass the budget, and the store equals a run with room to spare.
#[tokio::test]
async fn a_tiny_row_budget_bounds_rows_in_flight_and_every_window_completes() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2024-05-04T12:00:00Z");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-04T00:00:00Z"),
    };
    let spec = spec("2024-05-01");
    let roomy = dir.path().join("roomy.db");
    Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&roomy).unwrap()),
    )
    .sync_dataset(&spec, now, mode)
    .await
    .unwrap();

    let budget = sync::engine::RowBudget::new(40);
    let source = Arc::new(Streamed {
        inner: Emulated::new(now),
        budget: budget.clone(),
        most_in_flight: Mutex::new(0),
        too_large: false,
        break_once: Mutex::new(None),
    });
    let tight = dir.path().join("tight.db");
    let mut engine = Engine::new(source.clone(), Arc::new(SqliteStore::open(&tight).unwrap()));
    engine.concurrency = 8;
    engine.budget = budget.clone();
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.windows_written, report.windows_planned);
    let most = *source.most_in_flight.lock().unwrap();
    assert!(most > 0 && most <= 40, "rows in flight peaked at {most}");
    assert_eq!(budget.in_flight(), 0, "every page's room is given back");
    assert_eq!(dump(&tight), dump(&roomy));
}

/// `auto` mode: a window the API refuses as too large writes nothing by query and goes to an
/// async job, and so do the windows after it; the store equals a run by query.
#[tokio::test]
async fn auto_mode_sends_a_window_refused_as_too_large_to_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2024-05-04T12:00:00Z");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-04T00:00:00Z"),
    };
    let spec = spec("2024-05-01");
    let by_query = dir.path().join("query.db");
    Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&by_query).unwrap()),
    )
    .sync_dataset(&spec, now, mode)
    .await
    .unwrap();

    let source = Arc::new(Streamed {
        inner: Emulated::new(now),
        budget: sync::engine::RowBudget::default(),
        most_in_flight: Mutex::new(0),
        too_large: true,
        break_once: Mutex::new(None),
    });
    let refused = dir.path().join("refused.db");
    let mut engine = Engine::new(
        source.clone(),
        Arc::new(SqliteStore::open(&refused).unwrap()),
    );
    engine.concurrency = 1;
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.windows_by_job, report.windows_planned);
    assert_eq!(
        *source.inner.requests.lock().unwrap(),
        1,
        "one refusal, then jobs"
    );
    assert_eq!(dump(&refused), dump(&by_query));
}

/// An answer that breaks off after a page was handed to the write: that write rolls back and
/// the window is fetched again from the start, so the store equals a clean run.
#[tokio::test]
async fn a_window_whose_answer_breaks_off_is_fetched_again_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let now = at("2024-05-04T12:00:00Z");
    let mode = Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-04T00:00:00Z"),
    };
    let spec = spec("2024-05-01");
    let clean = dir.path().join("clean.db");
    let report = Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&clean).unwrap()),
    )
    .sync_dataset(&spec, now, mode)
    .await
    .unwrap();
    let planned = report.windows_planned;

    let broken = Engine::new(
        Emulated::new(now),
        Arc::new(SqliteStore::open(&clean).unwrap()),
    )
    .plan(&spec, now, mode)
    .unwrap()[1];
    let source = Arc::new(Streamed {
        inner: Emulated::new(now),
        budget: sync::engine::RowBudget::new(400),
        most_in_flight: Mutex::new(0),
        too_large: false,
        break_once: Mutex::new(Some(spec.query(broken).interval)),
    });
    let path = dir.path().join("broken.db");
    let mut engine = Engine::new(source.clone(), Arc::new(SqliteStore::open(&path).unwrap()));
    engine.budget = source.budget.clone();
    let report = engine.sync_dataset(&spec, now, mode).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.windows_written, planned);
    assert_eq!(
        *source.inner.requests.lock().unwrap(),
        planned + 1,
        "the broken window was asked for twice"
    );
    assert_eq!(dump(&path), dump(&clean));
}

/// A record still open is pulled again with its window, however far behind the watermark and
/// the lookback it started, and only until it closes.
#[test]
fn a_window_holding_an_open_record_is_planned_again_until_it_closes() {
    let text = r#"
        [[datasets]]
        name = "agent_status_intervals"
        kind = "users_details"
        backfill_start = "2024-05-01"
        "#;
    let spec = Config::parse(text, Path::new("t.toml"))
        .unwrap()
        .dataset_specs()
        .unwrap()
        .remove(0);
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::new(
        Emulated::new(at("2024-05-20T12:00:00Z")),
        Arc::clone(&store),
    );
    store.ensure_dataset(&spec.table_spec()).unwrap();
    store
        .initialize_watermark(&spec.name, at("2024-05-01T00:00:00Z"))
        .unwrap();
    let day = |d: &str| {
        let start = at(&format!("{d}T00:00:00Z"));
        genesys::Interval::new(start, start + SignedDuration::from_hours(24))
    };
    let record = |start: &str, end: Option<&str>| warehouse::RecordRow {
        start: at(start),
        end: end.map(at),
        fields: vec![
            Some("u1".into()),
            Some("routing".into()),
            None,
            None,
            Some("OFF_QUEUE".into()),
        ],
        values: vec![None],
    };
    let write = |window: genesys::Interval, rows: &[warehouse::RecordRow]| {
        let write = warehouse::WindowWrite {
            dataset: &spec.name,
            window,
            rows: &[],
            settled: true,
            run_id: None,
            count_changes: false,
        };
        store.write_record_window(&write, rows, None).unwrap();
    };
    // Every day up to the 19th complete; on the 3rd, an agent went off queue and still is.
    let mut day_start = at("2024-05-01T00:00:00Z");
    while day_start < at("2024-05-19T00:00:00Z") {
        let window = day(&day_start.to_string()[..10]);
        write(window, &[]);
        day_start = window.end;
    }
    write(day("2024-05-03"), &[record("2024-05-03T18:00:00Z", None)]);
    let now = at("2024-05-20T12:00:00Z");
    let planned = engine.plan(&spec, now, Mode::Incremental).unwrap();
    let starts: Vec<String> = planned.iter().map(|w| w.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2024-05-03T00:00:00Z",
            "2024-05-18T00:00:00Z",
            "2024-05-19T00:00:00Z",
            "2024-05-20T00:00:00Z"
        ],
        "the open record's day, then the lookback from the watermark"
    );
    // Closed: its window is not pulled again.
    write(
        day("2024-05-03"),
        &[record("2024-05-03T18:00:00Z", Some("2024-05-06T08:00:00Z"))],
    );
    let planned = engine.plan(&spec, now, Mode::Incremental).unwrap();
    assert_eq!(
        planned.first().map(|w| w.start),
        Some(at("2024-05-18T00:00:00Z"))
    );
}

//! The store-level suite, run against SQLite and PostgreSQL alike (see `backends`): windows
//! replaced whole, the KPI view, watermarks, rollbacks, schema changes, names, status, leases
//! and their fencing, writers taking turns. What only one backend has (SQLite's files, pages
//! and old stores) is tested in that backend's module.

use std::time::Duration;

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use jiff::Timestamp;
use proptest::prelude::*;

use crate::backends::{BACKENDS, TestStore, on_both_backends};
use warehouse::{
    Acquired, AggregateRow, DatasetChange, LeaseHolder, LeaseToken, Store, StoreError, TableSpec,
    Value, WindowWrite,
};

const HOUR: i64 = 3_600_000;
const BASE: i64 = 1_714_521_600_000; // 2024-05-01T00:00:00Z

pub(crate) fn spec() -> TableSpec {
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec![
            "nOffered".into(),
            "tAnswered".into(),
            "tHandle".into(),
            "oServiceLevel".into(),
        ],
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT1H", "UTC"),
    }
}

pub(crate) fn hour(k: i64) -> Interval {
    Interval::new(
        ms_to_timestamp(BASE + k * HOUR),
        ms_to_timestamp(BASE + (k + 1) * HOUR),
    )
}

pub(crate) fn window(from: i64, to: i64) -> Interval {
    Interval::new(
        ms_to_timestamp(BASE + from * HOUR),
        ms_to_timestamp(BASE + to * HOUR),
    )
}

pub(crate) fn row(k: i64, queue: &str, offered: i64) -> AggregateRow {
    let answered = offered - 1;
    let int = |v: i64| Some(Value::Int(v));
    AggregateRow {
        interval: hour(k),
        group: vec![Some(queue.into()), Some("voice".into())],
        values: vec![
            int(offered),
            // tAnswered: count, sum, min, max
            int(answered),
            int(1000 * answered),
            int(10),
            int(20),
            // tHandle: count, sum, min, max
            int(2),
            int(4000),
            int(1000),
            int(3000),
            // oServiceLevel: numerator, denominator, target
            int(offered - 2),
            int(offered),
            Some(Value::Real(0.8)),
        ],
    }
}

pub(crate) fn write(
    store: &dyn Store,
    w: Interval,
    rows: &[AggregateRow],
    settled: bool,
) -> Option<Timestamp> {
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: w,
            rows,
            settled,
            run_id: None,
            count_changes: false,
        })
        .unwrap()
        .complete_through
}

pub(crate) fn claimant(pid: u32) -> LeaseHolder {
    LeaseHolder {
        pid,
        host: "host-a".into(),
    }
}

pub(crate) fn granted(acquired: Acquired) -> LeaseToken {
    match acquired {
        Acquired::Granted(token) => token,
        Acquired::HeldBy(lease) => panic!("expected the lease, but {} holds it", lease.holder),
    }
}

pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// Every stored row as `(bucket start, queue, media, n_offered)`, in key order.
fn stored(t: &TestStore) -> Vec<Vec<Option<String>>> {
    t.rows(
        "SELECT interval_start, queue_id, media_type, n_offered FROM queue_performance
         ORDER BY interval_start, coalesce(queue_id, ''), coalesce(media_type, '')",
    )
}

fn expected(rows: &[AggregateRow]) -> Vec<Vec<Option<String>>> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            let Some(Value::Int(offered)) = r.values[0] else {
                unreachable!()
            };
            vec![
                Some(genesys::interval::format_instant(r.interval.start)),
                r.group[0].clone(),
                r.group[1].clone(),
                Some(offered.to_string()),
            ]
        })
        .collect();
    out.sort_by(|a, b| {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        (&a[0], text(&a[1]), text(&a[2])).cmp(&(&b[0], text(&b[1]), text(&b[2])))
    });
    out
}

on_both_backends! {
    fn a_window_is_replaced_not_duplicated(t) {
        let store = &t.store;
        assert_eq!(store.ensure_dataset(&spec()).unwrap(), DatasetChange::Created);
        let rows = [row(0, "q1", 5), row(0, "q2", 3), row(1, "q1", 4)];
        write(store, window(0, 2), &rows, true);
        write(store, window(0, 2), &rows[..2], true);
        assert_eq!(t.integer("SELECT count(*) FROM queue_performance"), 2);
        assert_eq!(t.integer("SELECT sum(n_offered) FROM queue_performance"), 8);
    }

    fn a_counted_rewrite_says_how_many_rows_it_added_removed_or_changed(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        let counted = |rows: &[AggregateRow]| {
            store
                .write_window(&WindowWrite {
                    dataset: "queue_performance",
                    window: window(0, 2),
                    rows,
                    settled: true,
                    run_id: None,
                    count_changes: true,
                })
                .unwrap()
                .rows_changed
        };
        let first = [row(0, "q1", 5), row(0, "q2", 3), row(1, "q1", 4), row(1, "q3", 2)];
        assert_eq!(counted(&first), Some(4), "into an empty window, every row is new");
        assert_eq!(counted(&first), Some(0), "the same rows again change nothing");
        // q1 at 0 corrected, q2 at 0 gone, q3 at 1 as it was, q2 at 1 new.
        let corrected = [row(0, "q1", 6), row(1, "q1", 4), row(1, "q3", 2), row(1, "q2", 1)];
        assert_eq!(counted(&corrected), Some(3));
        let none = store
            .write_window(&WindowWrite {
                dataset: "queue_performance",
                window: window(0, 2),
                rows: &corrected,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap();
        assert_eq!(none.rows_changed, None, "not counted unless asked");
        assert_eq!(t.integer("SELECT count(*) FROM queue_performance"), 4);
        // The copy of the old rows is gone with the write: the next counted write makes its own.
        assert_eq!(counted(&first), Some(3));

        let restated = |store: &dyn Store| store.dataset_status().unwrap()[0].restated;
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        assert_eq!(restated(store), None);
        store.record_restatement("queue_performance", 3).unwrap();
        let (at, rows) = restated(store).unwrap();
        assert_eq!(rows, 3);
        assert!(at <= jiff::Timestamp::now());
    }

    fn kpi_view_divides_sums_by_counts(t) {
        t.store.ensure_dataset(&spec()).unwrap();
        write(&t.store, window(0, 1), &[row(0, "q1", 5)], true);
        let kpis = t.rows("SELECT answer_rate, avg_handle_s, service_level FROM queue_performance_kpi");
        let number = |i: usize| kpis[0][i].as_deref().unwrap().parse::<f64>().unwrap();
        assert_eq!(number(0), 4.0 / 5.0);
        assert_eq!(number(1), 2.0);
        assert_eq!(number(2), 3.0 / 5.0);
    }

    fn the_watermark_moves_over_the_gap_free_settled_prefix_only(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        assert_eq!(
            store.initialize_watermark("queue_performance", hour(0).start).unwrap(),
            hour(0).start
        );
        assert_eq!(write(store, window(1, 2), &[], true), Some(hour(0).start), "gap before it");
        assert_eq!(
            write(store, window(0, 1), &[], true),
            Some(hour(1).end),
            "gap filled: both count"
        );
        assert_eq!(
            write(store, window(2, 3), &[], false),
            Some(hour(1).end),
            "unsettled does not count"
        );
        assert_eq!(write(store, window(2, 3), &[], true), Some(hour(2).end));
        assert_eq!(
            store.initialize_watermark("queue_performance", hour(0).start).unwrap(),
            hour(2).end,
            "kept"
        );
    }

    fn a_bad_row_rolls_the_whole_window_back(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        write(store, window(0, 1), &[row(0, "q1", 5)], true);
        let outside = [row(0, "q2", 7), row(5, "q1", 1)];
        let err = store
            .write_window(&WindowWrite {
                dataset: "queue_performance",
                window: window(0, 1),
                rows: &outside,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::RowOutsideWindow { .. }), "{err}");
        assert_eq!(
            t.integer("SELECT sum(n_offered) FROM queue_performance"),
            5,
            "old rows kept"
        );
    }

    fn changing_group_by_rebuilds_and_adding_metrics_migrates(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        write(store, window(0, 1), &[row(0, "q1", 5)], true);
        assert_eq!(store.ensure_dataset(&spec()).unwrap(), DatasetChange::Unchanged);

        let mut more = spec();
        more.metrics.push("tTalk".into());
        let change = store.ensure_dataset(&more).unwrap();
        assert_eq!(
            change,
            DatasetChange::Migrated { added: vec!["tTalk".into()], dropped: vec![] }
        );
        assert_eq!(
            store.watermark("queue_performance").unwrap(),
            None,
            "history must be re-pulled"
        );
        assert_eq!(t.integer("SELECT count(t_talk_sum_ms) FROM queue_performance"), 0);

        let mut regrouped = more.clone();
        regrouped.dimensions = vec!["queueId".into()];
        assert!(matches!(
            store.ensure_dataset(&regrouped).unwrap(),
            DatasetChange::Rebuilt { .. }
        ));
        assert_eq!(t.integer("SELECT count(*) FROM queue_performance"), 0);
    }

    fn dataset_names_cannot_inject_sql(t) {
        for name in ["x\"; DROP TABLE runs; --", "windows", "Queue", "a_kpi", "leases", "generation"] {
            let bad = TableSpec { name: name.into(), ..spec() };
            assert!(
                matches!(t.store.ensure_dataset(&bad), Err(StoreError::InvalidName(_))),
                "{name}"
            );
        }
    }

    fn status_reports_rows_windows_and_watermark(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        write(store, window(0, 2), &[row(0, "q1", 5), row(1, "q1", 2)], true);
        let status = store.dataset_status().unwrap();
        assert_eq!(status.len(), 1);
        assert_eq!((status[0].rows, status[0].windows), (2, 1));
        assert_eq!(status[0].complete_through, Some(hour(1).end));
    }

    fn a_regrown_partial_window_still_moves_the_watermark(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        assert_eq!(write(store, window(0, 3), &[], true), Some(hour(2).end), "today so far");
        assert_eq!(
            write(store, window(0, 5), &[], true),
            Some(hour(4).end),
            "same day, later: same window key"
        );
    }

    fn a_duplicate_key_fails_the_window_and_keeps_what_was_there(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        let first: Vec<_> = (0..40).map(|q| row(0, &format!("q{q:02}"), 1)).collect();
        write(store, window(0, 1), &first, true);
        // Enough rows for several statements, the duplicate in a later one.
        let mut again: Vec<_> = (0..40).map(|q| row(0, &format!("q{q:02}"), 2)).collect();
        again.push(row(0, "q39", 3));
        let err = store
            .write_window(&WindowWrite {
                dataset: "queue_performance",
                window: window(0, 1),
                rows: &again,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap_err();
        // SQLite says `UNIQUE constraint failed`, PostgreSQL `violates unique constraint`.
        assert!(err.to_string().to_lowercase().contains("unique"), "{err}");
        assert_eq!(
            t.integer("SELECT sum(n_offered) FROM queue_performance"),
            40,
            "the earlier rows, not a part of the failed write"
        );
        assert_eq!(store.windows("queue_performance").unwrap()[0].rows, 40);
    }

    fn a_lease_is_held_by_one_writer_until_released_and_its_token_grows(t) {
        let store = &t.store;
        let first = granted(store.acquire_lease("queue_performance", &claimant(1), MINUTE).unwrap());
        match store.acquire_lease("queue_performance", &claimant(2), MINUTE).unwrap() {
            Acquired::HeldBy(lease) => {
                assert_eq!(lease.holder, claimant(1));
                assert_eq!(lease.token, first.token);
                assert!(lease.expires > lease.acquired);
            }
            Acquired::Granted(_) => panic!("two writers held one dataset"),
        }
        // Another dataset is free: different datasets sync in parallel.
        granted(store.acquire_lease("agent_performance", &claimant(2), MINUTE).unwrap());
        store.renew_lease(&first, MINUTE).unwrap();
        store.release_lease(&first).unwrap();
        assert_eq!(store.lease_holder("queue_performance").unwrap(), None);
        let second = granted(store.acquire_lease("queue_performance", &claimant(2), MINUTE).unwrap());
        assert!(second.token > first.token);
        // The old holder can neither renew nor release the new holder's lease.
        assert!(matches!(store.renew_lease(&first, MINUTE), Err(StoreError::LeaseLost { .. })));
        store.release_lease(&first).unwrap();
        assert_eq!(
            store.lease_holder("queue_performance").unwrap().map(|l| l.token),
            Some(second.token)
        );
    }

    fn a_lapsed_lease_is_taken_over_and_cannot_be_renewed(t) {
        let store = &t.store;
        let stalled = granted(
            store
                .acquire_lease("queue_performance", &claimant(1), Duration::from_millis(30))
                .unwrap(),
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(store.renew_lease(&stalled, MINUTE), Err(StoreError::LeaseLost { .. })));
        let next = granted(store.acquire_lease("queue_performance", &claimant(2), MINUTE).unwrap());
        assert_eq!(next.token, stalled.token + 1);
    }

    fn a_write_under_a_lapsed_or_taken_lease_is_refused_whole(t) {
        let store = &t.store;
        store.ensure_dataset(&spec()).unwrap();
        let lapsing = granted(
            store
                .acquire_lease("queue_performance", &claimant(1), Duration::from_millis(30))
                .unwrap(),
        );
        let rows = [row(0, "q1", 5)];
        let write = WindowWrite {
            dataset: "queue_performance",
            window: hour(0),
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        };
        store.write_window_leased(&write, &lapsing).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let refused = store.write_window_leased(&write, &lapsing).unwrap_err();
        assert!(matches!(refused, StoreError::LeaseLost { .. }), "{refused}");
        let taker = granted(store.acquire_lease("queue_performance", &claimant(2), MINUTE).unwrap());
        let later = [row(1, "q1", 7)];
        let stale = WindowWrite { window: hour(1), rows: &later, ..write.clone() };
        let refused = store.write_window_leased(&stale, &lapsing).unwrap_err();
        assert!(refused.to_string().contains("now held by pid 2 on host host-a"), "{refused}");
        assert_eq!(t.integer("SELECT count(*) FROM queue_performance"), 1);
        // A lease for another dataset does not let a writer in either.
        let other = granted(store.acquire_lease("agent_performance", &claimant(1), MINUTE).unwrap());
        assert!(store.write_window_leased(&stale, &other).is_err());
        store.write_window_leased(&stale, &taker).unwrap();
        let logged = t.rows("SELECT lease_token, writer FROM windows ORDER BY window_start");
        let text = |s: &str| Some(s.to_string());
        assert_eq!(
            logged,
            [
                vec![Some(lapsing.token.to_string()), text("pid 1 on host host-a")],
                vec![Some(taker.token.to_string()), text("pid 2 on host host-a")],
            ]
        );
    }

    fn writers_on_separate_connections_take_turns_instead_of_failing_locked(t) {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let config = t.config();
                std::thread::spawn(move || {
                    let store = warehouse::open(&config)?;
                    for k in 0..15 {
                        store.ensure_dataset(&spec())?;
                        store.watermark("queue_performance")?;
                        store.initialize_watermark("queue_performance", hour(0).start)?;
                        let rows = [row(k, "q1", 5 + w)];
                        store.write_window(&WindowWrite {
                            dataset: "queue_performance",
                            window: hour(k),
                            rows: &rows,
                            settled: true,
                            run_id: None,
                            count_changes: false,
                        })?;
                        store.acquire_lease("queue_performance", &claimant(w as u32), MINUTE)?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        assert_eq!(t.integer("SELECT count(*) FROM queue_performance"), 15);
    }

    fn keys_are_created_listed_verified_by_hash_and_revoked(t) {
        let store = &t.store;
        let key = store.create_key("power bi").unwrap();
        assert!(key.secret.starts_with("gbi_") && key.secret.len() == 4 + 48);
        let listed = store.api_keys().unwrap();
        assert_eq!(listed, std::slice::from_ref(&key.info));
        let hashes = t.rows("SELECT hash, salt FROM api_keys");
        assert!(!hashes[0][0].as_deref().unwrap().contains(&key.secret[4..]), "only a hash is stored");
        assert!(store.revoke_key(key.info.id).unwrap());
        assert!(!store.revoke_key(key.info.id).unwrap());
        assert!(store.api_keys().unwrap()[0].revoked_at.is_some());
        assert!(matches!(store.revoke_key(99), Err(warehouse::KeyError::UnknownKey(99))));
        assert!(matches!(store.create_key("  "), Err(warehouse::KeyError::InvalidName)));
    }

    fn runs_are_recorded_with_their_outcome(t) {
        let store = &t.store;
        let run = store.start_run("sync").unwrap();
        assert_eq!(t.rows("SELECT status FROM runs"), [vec![Some("running".to_string())]]);
        let summary = warehouse::RunSummary {
            status: warehouse::RunStatus::Partial,
            windows: 3,
            rows: 40,
            requests: 7,
            error: Some("one window failed".into()),
            rows_changed: Some(12),
        };
        store.finish_run(run, &summary).unwrap();
        assert_eq!(
            t.rows("SELECT command, status, windows, rows, requests, error, rows_changed FROM runs"),
            [["sync", "partial", "3", "40", "7", "one window failed", "12"]
                .map(|s| Some(s.to_string()))
                .to_vec()]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever order windows land in, the watermark is the end of the longest run of settled
    /// windows starting at the backfill start.
    #[test]
    fn watermark_is_the_settled_prefix(order in Just((0..8i64).collect::<Vec<_>>()).prop_shuffle(),
                                       settled in proptest::collection::vec(any::<bool>(), 8)) {
        for backend in BACKENDS {
            let t = TestStore::new(backend);
            let store = &t.store;
            store.ensure_dataset(&spec()).unwrap();
            store.initialize_watermark("queue_performance", hour(0).start).unwrap();
            let mut written = [false; 8];
            for &k in &order {
                let mark = write(store, hour(k), &[], settled[k as usize]);
                written[k as usize] = true;
                let prefix = (0..8).take_while(|&i| written[i] && settled[i]).count() as i64;
                prop_assert_eq!(mark, Some(hour(0).start + jiff::SignedDuration::from_hours(prefix)), "{:?}", backend);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Rows in any order, buckets of any size (SQLite writes a bucket with statements of
    /// several sizes), missing dimensions included: the window holds exactly the rows written,
    /// and writing it again replaces them exactly.
    #[test]
    fn any_order_and_bucket_size_is_stored_exactly(
        sizes in proptest::collection::vec(0usize..80, 1..4),
        missing in proptest::collection::vec(any::<bool>(), 80),
        seed in any::<u64>(),
    ) {
        let mut rows = Vec::new();
        for (k, &n) in sizes.iter().enumerate() {
            for (q, &lacks_media) in missing.iter().take(n).enumerate() {
                let mut r = row(k as i64, &format!("q{q:02}"), (k * 100 + q) as i64);
                if lacks_media {
                    // A group without the media type; `q` keeps the key unique.
                    r.group[1] = None;
                }
                rows.push(r);
            }
        }
        // Genesys order (group by group), shuffled, or as built.
        match seed % 3 {
            0 => rows.sort_by(|a, b| a.group.cmp(&b.group)),
            1 => {
                let mut state = seed;
                for i in (1..rows.len()).rev() {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    rows.swap(i, (state >> 33) as usize % (i + 1));
                }
            }
            _ => {}
        }
        for backend in BACKENDS {
            let t = TestStore::new(backend);
            t.store.ensure_dataset(&spec()).unwrap();
            let w = window(0, sizes.len() as i64);
            write(&t.store, w, &rows, true);
            prop_assert_eq!(stored(&t), expected(&rows), "{:?}", backend);
            let fewer = &rows[..rows.len() / 2];
            write(&t.store, w, fewer, true);
            prop_assert_eq!(stored(&t), expected(fewer), "{:?}", backend);
        }
    }
}

#[derive(Debug, Clone)]
enum LeaseStep {
    /// Claimant asks; a zero TTL lapses at once, as a stalled holder's lease would.
    Acquire { claimant: u32, lapses: bool },
    /// The holder of the most recent grant lets go.
    Release,
}

fn lease_step() -> impl Strategy<Value = LeaseStep> {
    prop_oneof![
        (0u32..3, any::<bool>())
            .prop_map(|(claimant, lapses)| LeaseStep::Acquire { claimant, lapses }),
        Just(LeaseStep::Release),
    ]
}

/// Whatever order writers ask, let go and stall in: a lease is granted only when none is in
/// force, each grant's token is greater than every token before it, and only the latest
/// grant's token can write.
fn tokens_only_grow_on(t: &TestStore, steps: &[LeaseStep]) -> Result<(), TestCaseError> {
    let store = &t.store;
    store.ensure_dataset(&spec()).unwrap();
    let mut latest: Option<(LeaseToken, bool)> = None;
    let mut tokens = Vec::new();
    for step in steps {
        match *step {
            LeaseStep::Acquire {
                claimant: who,
                lapses,
            } => {
                let ttl = if lapses { Duration::ZERO } else { MINUTE };
                let in_force = matches!(latest, Some((_, false)));
                match store
                    .acquire_lease("queue_performance", &claimant(who), ttl)
                    .unwrap()
                {
                    Acquired::Granted(token) => {
                        prop_assert!(!in_force, "granted while a lease was in force");
                        prop_assert!(tokens.iter().all(|&t| t < token.token));
                        tokens.push(token.token);
                        latest = Some((token, lapses));
                    }
                    Acquired::HeldBy(lease) => {
                        prop_assert!(in_force);
                        prop_assert_eq!(Some(lease.token), latest.as_ref().map(|(t, _)| t.token));
                    }
                }
            }
            LeaseStep::Release => {
                if let Some((token, _)) = latest.take() {
                    store.release_lease(&token).unwrap();
                    latest = Some((token, true));
                }
            }
        }
        let rows = [row(0, "q1", 5)];
        let write = WindowWrite {
            dataset: "queue_performance",
            window: hour(0),
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        };
        for &t in &tokens {
            let token = LeaseToken {
                dataset: "queue_performance".into(),
                token: t,
            };
            let may_write = matches!(&latest, Some((l, false)) if l.token == t);
            prop_assert_eq!(store.write_window_leased(&write, &token).is_ok(), may_write);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn tokens_only_grow_and_only_the_latest_grant_writes(
        steps in proptest::collection::vec(lease_step(), 1..24)
    ) {
        for backend in BACKENDS {
            tokens_only_grow_on(&TestStore::new(backend), &steps)?;
        }
    }
}

/// A routing status of user `u1` from hour `from` to hour `to` (`None`: still in force).
fn status_record(from: i64, to: Option<i64>, status: &str) -> warehouse::RecordRow {
    let at = |k: i64| ms_to_timestamp(BASE + k * HOUR);
    warehouse::RecordRow {
        start: at(from),
        end: to.map(at),
        fields: vec![
            Some("u1".into()),
            Some("routing".into()),
            None,
            None,
            Some(status.into()),
        ],
        values: vec![to.map(|to| Value::Int((to - from) * HOUR))],
    }
}

fn status_spec() -> TableSpec {
    TableSpec::records(
        "agent_status_intervals",
        warehouse::DatasetKind::UsersDetails,
        warehouse::NamedTimeZone::utc(),
    )
    .unwrap()
}

fn write_records(
    store: &dyn Store,
    rows: &[warehouse::RecordRow],
    settled: bool,
) -> Result<warehouse::WindowOutcome, StoreError> {
    store.write_record_window(
        &WindowWrite {
            dataset: "agent_status_intervals",
            window: window(0, 24),
            rows: &[],
            settled,
            run_id: None,
            count_changes: true,
        },
        rows,
        None,
    )
}

on_both_backends! {
    fn a_record_window_replaces_the_records_that_start_in_it(t) {
        let store = &t.store;
        assert_eq!(store.ensure_dataset(&status_spec()).unwrap(), DatasetChange::Created);
        store.initialize_watermark("agent_status_intervals", window(0, 24).start).unwrap();
        let stored = || {
            t.rows(
                "SELECT interval_start, interval_end, routing_status, duration_ms
                 FROM agent_status_intervals ORDER BY interval_start",
            )
        };
        let first = [status_record(0, Some(1), "OFF_QUEUE"), status_record(1, None, "IDLE")];
        let outcome = write_records(store, &first, false).unwrap();
        assert_eq!((outcome.rows_written, outcome.rows_changed), (2, Some(2)));
        let instant = |k: i64| Some(genesys::interval::format_instant(ms_to_timestamp(BASE + k * HOUR)));
        assert_eq!(stored()[1], [instant(1), None, Some("IDLE".into()), None], "an open record has no end yet");
        // Pulled again once it closed: the record is replaced, not kept twice.
        let again = [
            status_record(0, Some(1), "OFF_QUEUE"),
            status_record(1, Some(3), "IDLE"),
            status_record(3, None, "INTERACTING"),
        ];
        let outcome = write_records(store, &again, false).unwrap();
        assert_eq!(outcome.rows_changed, Some(2), "the closed record and the new one");
        assert_eq!(
            stored(),
            [
                vec![instant(0), instant(1), Some("OFF_QUEUE".into()), Some(HOUR.to_string())],
                vec![instant(1), instant(3), Some("IDLE".into()), Some((2 * HOUR).to_string())],
                vec![instant(3), None, Some("INTERACTING".into()), None],
            ]
        );
        // A window written unsettled holds the watermark back, and one holding an open record
        // is named, to be pulled again until it closes.
        assert_eq!(store.watermark("agent_status_intervals").unwrap(), Some(window(0, 24).start));
        assert_eq!(store.open_record_windows("agent_status_intervals").unwrap(), [window(0, 24)]);
        let closed = [status_record(0, Some(1), "OFF_QUEUE"), status_record(1, Some(3), "IDLE")];
        let outcome = write_records(store, &closed, true).unwrap();
        assert_eq!(outcome.complete_through, Some(window(0, 24).end));
        assert_eq!(t.integer("SELECT count(*) FROM agent_status_intervals"), 2, "a record gone from Genesys is gone");
        assert_eq!(store.open_record_windows("agent_status_intervals").unwrap(), []);
        store.ensure_dataset(&spec()).unwrap();
        assert_eq!(store.open_record_windows("queue_performance").unwrap(), [], "aggregates have no records");
    }

    fn records_and_buckets_each_go_only_where_they_belong(t) {
        let store = &t.store;
        store.ensure_dataset(&status_spec()).unwrap();
        store.ensure_dataset(&spec()).unwrap();
        let refused = write_window_to(store, "agent_status_intervals", &[row(0, "q1", 5)]).unwrap_err();
        assert!(matches!(refused, StoreError::WrongRows { .. }), "{refused}");
        let refused = store
            .write_record_window(
                &WindowWrite {
                    dataset: "queue_performance",
                    window: window(0, 24),
                    rows: &[],
                    settled: true,
                    run_id: None,
                    count_changes: false,
                },
                &[status_record(0, Some(1), "IDLE")],
                None,
            )
            .unwrap_err();
        assert!(refused.to_string().contains("`queue_performance` holds aggregate buckets, not records"), "{refused}");
        // A record that starts outside the window is refused, and nothing of the window is written.
        let outside = [status_record(0, Some(1), "IDLE"), status_record(30, None, "IDLE")];
        let refused = write_records(store, &outside, true).unwrap_err();
        assert!(matches!(refused, StoreError::RowOutsideWindow { .. }), "{refused}");
        assert_eq!(t.integer("SELECT count(*) FROM agent_status_intervals"), 0);
        assert_eq!(store.windows("agent_status_intervals").unwrap(), []);
    }
}

on_both_backends! {
    fn status_interval_copies_merge_in_the_store_whatever_pages_they_come_on(t) {
        let store = &t.store;
        store.ensure_dataset(&status_spec()).unwrap();
        let write = WindowWrite {
            dataset: "agent_status_intervals",
            window: window(0, 24),
            rows: &[],
            settled: true,
            run_id: None,
            count_changes: true,
        };
        let page = |rows: Vec<warehouse::RecordRow>| Ok(warehouse::RecordPage { rows, replaces: vec![] });
        // IDLE from hour 1 comes three times: open, then closed, then open again on a later page
        // (read while in force); the closed copy wins wherever it is. OFF_QUEUE comes twice.
        let pages = vec![
            page(vec![status_record(0, Some(1), "OFF_QUEUE"), status_record(1, None, "IDLE")]),
            page(vec![status_record(1, Some(3), "IDLE"), status_record(0, Some(1), "OFF_QUEUE")]),
            page(vec![status_record(1, None, "IDLE"), status_record(3, None, "INTERACTING")]),
        ];
        let outcome = store.write_record_pages(&write, &mut pages.into_iter(), None).unwrap();
        assert_eq!((outcome.rows_written, outcome.rows_changed), (3, Some(3)));
        let instant = |k: i64| Some(genesys::interval::format_instant(ms_to_timestamp(BASE + k * HOUR)));
        assert_eq!(
            t.rows("SELECT interval_start, interval_end, routing_status, duration_ms FROM agent_status_intervals ORDER BY interval_start"),
            [
                vec![instant(0), instant(1), Some("OFF_QUEUE".into()), Some(HOUR.to_string())],
                vec![instant(1), instant(3), Some("IDLE".into()), Some((2 * HOUR).to_string())],
                vec![instant(3), None, Some("INTERACTING".into()), None],
            ]
        );
        // Two statuses from one start: refused naming the user, and the window stays as it was.
        let conflicting = vec![page(vec![status_record(0, Some(1), "OFF_QUEUE")]), page(vec![status_record(0, Some(1), "IDLE")])];
        let refused = store.write_record_pages(&write, &mut conflicting.into_iter(), None).unwrap_err();
        assert!(matches!(refused, StoreError::RecordsContradict { .. }), "{refused}");
        assert!(refused.to_string().contains("user u1: two routing records start at"), "{refused}");
        assert!(refused.to_string().contains("IDLE and OFF_QUEUE"), "{refused}");
        assert_eq!(t.integer("SELECT count(*) FROM agent_status_intervals"), 3);
        // A status still open when the next one starts: refused.
        let overlapping = vec![page(vec![status_record(0, None, "OFF_QUEUE"), status_record(2, Some(3), "IDLE")])];
        let refused = store.write_record_pages(&write, &mut overlapping.into_iter(), None).unwrap_err();
        assert!(refused.to_string().contains("the routing status from") && refused.to_string().contains("is still open"), "{refused}");
        let overlapping = vec![page(vec![status_record(0, Some(3), "OFF_QUEUE"), status_record(2, Some(4), "IDLE")])];
        let refused = store.write_record_pages(&write, &mut overlapping.into_iter(), None).unwrap_err();
        assert!(refused.to_string().contains("ends at"), "{refused}");
        assert_eq!(t.integer("SELECT count(*) FROM agent_status_intervals"), 3);
        // The copies' table went with each write: a further write makes it again.
        let again = vec![page(vec![status_record(0, Some(1), "OFF_QUEUE")])];
        let outcome = store.write_record_pages(&write, &mut again.into_iter(), None).unwrap();
        assert_eq!((outcome.rows_written, outcome.rows_changed), (1, Some(2)));
    }
}

fn write_window_to(
    store: &dyn Store,
    dataset: &str,
    rows: &[AggregateRow],
) -> Result<warehouse::WindowOutcome, StoreError> {
    store.write_window(&WindowWrite {
        dataset,
        window: window(0, 24),
        rows,
        settled: true,
        run_id: None,
        count_changes: false,
    })
}

/// A segment of conversation `conversation` at hour `k`.
fn segment_record(conversation: &str, k: i64, kind: &str) -> warehouse::RecordRow {
    let at = |k: i64| ms_to_timestamp(BASE + k * HOUR);
    let text = |t: &str| Some(t.to_string());
    warehouse::RecordRow {
        start: at(k),
        end: Some(at(k + 1)),
        fields: vec![
            text(conversation),
            text("p1"),
            text("s1"),
            text("agent"),
            None,
            text("voice"),
            text(kind),
            None,
            None,
            None,
        ],
        values: vec![Some(Value::Int(HOUR)), Some(Value::Int(0))],
    }
}

on_both_backends! {
    fn a_page_that_holds_a_record_again_replaces_what_earlier_pages_wrote_of_it(t) {
        let store = &t.store;
        let spec = TableSpec::records(
            "segments",
            warehouse::DatasetKind::ConversationSegments,
            warehouse::NamedTimeZone::utc(),
        )
        .unwrap();
        store.ensure_dataset(&spec).unwrap();
        let pages = vec![
            Ok(warehouse::RecordPage {
                rows: vec![segment_record("c1", 0, "alert"), segment_record("c2", 1, "interact")],
                replaces: vec![],
            }),
            // c1 again, read later: its rows are this page's now.
            Ok(warehouse::RecordPage {
                rows: vec![segment_record("c1", 0, "interact"), segment_record("c1", 2, "wrapup")],
                replaces: vec!["c1".into()],
            }),
        ];
        let write = WindowWrite {
            dataset: "segments",
            window: window(0, 24),
            rows: &[],
            settled: true,
            run_id: None,
            count_changes: false,
        };
        let outcome = store.write_record_pages(&write, &mut pages.into_iter(), None).unwrap();
        assert_eq!(outcome.rows_written, 3);
        assert_eq!(
            t.rows("SELECT conversation_id, segment_type FROM segments ORDER BY interval_start, segment_type"),
            [
                vec![Some("c1".to_string()), Some("interact".to_string())],
                vec![Some("c2".to_string()), Some("interact".to_string())],
                vec![Some("c1".to_string()), Some("wrapup".to_string())],
            ]
        );
        // Status intervals are merged by their start: a page may not replace any.
        store.ensure_dataset(&status_spec()).unwrap();
        let replacing = warehouse::RecordPage { rows: vec![], replaces: vec!["u1".into()] };
        let refused = store
            .write_record_pages(
                &WindowWrite { dataset: "agent_status_intervals", ..write },
                &mut std::iter::once(Ok(replacing)),
                None,
            )
            .unwrap_err();
        assert!(matches!(refused, StoreError::WrongRows { .. }), "{refused}");
    }
}

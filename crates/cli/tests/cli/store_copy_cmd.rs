//! `genesys-bi store copy --to postgres://…` as a user who started with SQLite runs it: every
//! table's rows arrive, the same API key works on the copy, running it again changes nothing,
//! and a bad URL is one line naming `--to` (exit 2) with nothing created.

use std::process::{Command, Output};

use test_support::postgres::TestPostgres;
use warehouse::{PostgresReader, ReadStore, Store};

use crate::BIN;

fn genesys_bi(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GENESYS_BI_CONFIG")
        .env_remove("GENESYS_BI_POSTGRES_PASSWORD")
        .env_remove("PGPASSWORD")
        .output()
        .expect("the binary runs")
}

/// The `table\trows` lines a copy prints.
fn copied(output: &Output) -> Vec<(String, u64)> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (table, rows) = line.split_once('\t').expect("table<TAB>rows");
            (table.to_string(), rows.parse().unwrap())
        })
        .collect()
}

#[test]
fn a_copy_carries_every_table_and_key_and_running_it_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = test_support::app::copy_of_shared_store(dir.path());
    std::fs::rename(&source, dir.path().join("genesys-bi.db")).unwrap();
    let source = dir.path().join("genesys-bi.db");
    let key = warehouse::open(&warehouse::StoreConfig::sqlite(&source))
        .unwrap()
        .create_key("power bi")
        .unwrap();
    let postgres = TestPostgres::schema();
    let args = [
        "store",
        "copy",
        "--to",
        postgres.url(),
        "--schema",
        postgres.name(),
    ];

    let first = copied(&genesys_bi(dir.path(), &args));
    for (table, rows) in &first {
        let stored = test_support::store::StoredTable::read(&source, table).unwrap();
        assert_eq!(*rows, stored.len() as u64, "{table}");
    }
    let tables: Vec<&str> = first.iter().map(|(t, _)| t.as_str()).collect();
    for expected in [
        test_support::app::DATASET,
        "queue_performance__daily",
        "windows",
        "watermarks",
        "runs",
        "api_keys",
        "queues",
        "users",
        "wrapup_codes",
    ] {
        assert!(tables.contains(&expected), "{expected} not in {tables:?}");
    }
    assert!(first.iter().all(|(_, rows)| *rows > 0), "{first:?}");

    // Again: the same rows, not twice as many.
    assert_eq!(copied(&genesys_bi(dir.path(), &args)), first);

    let reader = PostgresReader::new(postgres.config()).unwrap();
    let session = reader.session().unwrap();
    let datasets = session.datasets().unwrap();
    let stored = test_support::store::StoredTable::read(&source, test_support::app::DATASET)
        .unwrap()
        .len() as u64;
    assert_eq!(datasets.len(), 1);
    assert_eq!(datasets[0].rows, Some(stored));
    let verified = session
        .verify_key(&key.secret)
        .unwrap()
        .expect("the key works");
    assert_eq!(verified.id, key.info.id);
    // The copy's identities go on past the copied ids: a new key takes a new id.
    let writer = postgres.open();
    assert!(writer.create_key("after the copy").unwrap().info.id > key.info.id);
}

#[test]
fn a_bad_destination_is_one_line_naming_to_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let source = test_support::app::copy_of_shared_store(dir.path());
    std::fs::rename(&source, dir.path().join("genesys-bi.db")).unwrap();
    for (url, says) in [
        (
            "mysql://bi@db/warehouse",
            "--to: the URL must start with postgres://",
        ),
        (
            "postgres://db.example/warehouse",
            "--to: the URL names no user",
        ),
    ] {
        let output = genesys_bi(dir.path(), &["store", "copy", "--to", url]);
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
    let missing = tempfile::tempdir().unwrap();
    let output = genesys_bi(
        missing.path(),
        &["store", "copy", "--to", "postgres://a@b/c"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no store at"));
    assert!(
        !missing.path().join("genesys-bi.db").exists(),
        "nothing was created"
    );
}

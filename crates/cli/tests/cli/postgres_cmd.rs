//! The binary with `[store] postgres = …` on the test run's throwaway server: a bad setting
//! is a usage error naming its field, `check-config --connect` says what is wrong with the
//! store (host and port, password, privilege) without printing a secret, and a backfill into
//! PostgreSQL stores exactly the rows the same backfill stores into SQLite.

use test_support::cli::{EmulatorProcess, Workspace};
use test_support::postgres::TestPostgres;

pub(crate) const NOW: &str = "2024-05-20T12:00:00Z";

pub(crate) fn emulator() -> EmulatorProcess {
    EmulatorProcess::start(
        crate::BIN,
        &[
            "--clock",
            NOW,
            "--clock-rate",
            "0",
            "--conversations-per-day",
            "4000",
            "--rate-limit-per-minute",
            "100000",
            "--seed",
            "5",
        ],
    )
}

const DATASET: &str = r#"
[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "nConnected", "tAnswered", "tAbandon", "tWait", "tTalk", "tHandle", "oServiceLevel"]
group_by = ["queueId", "mediaType"]
time_zone = "Europe/London"
backfill_start = "2024-05-01"
"#;

pub(crate) const BACKFILL: [&str; 9] = [
    "backfill",
    "--dataset",
    "queue_performance",
    "--from",
    "2024-05-01",
    "--to",
    "2024-05-08",
    "--now",
    NOW,
];

/// The config of a PostgreSQL store at `url`, in the test's own schema.
pub(crate) fn postgres_config(pg: &TestPostgres, url: &str) -> String {
    format!(
        "[store]\npostgres = \"{url}\"\nschema = \"{}\"\n{DATASET}",
        pg.name()
    )
}

/// `check-config --connect` with `password` in the environment: exit code, stdout, stderr.
fn check(work: &Workspace, password: &str) -> (Option<i32>, String, String) {
    let output = work
        .command(&["check-config", "--connect"])
        .env("GENESYS_BI_POSTGRES_PASSWORD", password)
        .env_remove("PGPASSWORD")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn store_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("  store "))
        .unwrap_or_else(|| panic!("no store check in: {stdout}"))
}

#[test]
fn a_bad_postgres_setting_is_a_usage_error_naming_its_field() {
    let emulator = emulator();
    for (store, field) in [
        ("postgres = \"mysql://bi@db/analytics\"", "store.postgres"),
        (
            "postgres = \"postgres://bi@db/analytics\"\nsslmode = \"allow\"",
            "store.sslmode",
        ),
        (
            "postgres = \"postgres://bi@db/analytics\"\nschema = \"BI\"",
            "store.schema",
        ),
    ] {
        let work = Workspace::new(&emulator, &format!("[store]\n{store}\n{DATASET}"));
        let output = work.command(&["check-config"]).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{store}: {stderr}");
        assert!(stderr.contains(&format!("field `{field}`")), "{stderr}");
    }
}

#[test]
fn check_config_connect_says_what_is_wrong_with_the_store() {
    let emulator = emulator();
    let pg = TestPostgres::schema();

    let work = Workspace::new(&emulator, &postgres_config(&pg, &pg.url_without_password()));
    let (code, stdout, stderr) = check(&work, &pg.password());
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        store_line(&stdout).ends_with(": ok (schema ready)"),
        "{stdout}"
    );

    let wrong = "a-wrong-password-never-printed";
    let (code, stdout, stderr) = check(&work, wrong);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        store_line(&stdout).contains("refused the password for user `postgres`"),
        "{stdout}"
    );
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    assert!(
        stdout.contains("dataset queue_performance: ok"),
        "the Genesys checks still run: {stdout}"
    );
    assert!(
        stderr.contains("1 of 6 connection checks failed"),
        "{stderr}"
    );

    let closed = Workspace::new(
        &emulator,
        &postgres_config(&pg, "postgres://postgres@127.0.0.1:1/postgres"),
    );
    let (code, stdout, _) = check(&closed, &pg.password());
    assert_eq!(code, Some(1), "{stdout}");
    let line = store_line(&stdout);
    assert!(line.contains("127.0.0.1:1 is unreachable"), "{line}");
    assert!(
        line.to_lowercase().contains("refused"),
        "the driver's reason: {line}"
    );

    let role = pg.role_without_privileges();
    let unprivileged = TestPostgres::schema();
    let work = Workspace::new(
        &emulator,
        &postgres_config(&unprivileged, &pg.url_for(&role.name)),
    );
    let (code, stdout, stderr) = check(&work, &role.password);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let line = store_line(&stdout);
    assert!(
        line.contains(&format!(
            "role `{}` lacks the CREATE privilege on database postgres",
            role.name
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!("schema `{}` does not exist", unprivileged.name())),
        "{line}"
    );
}

#[test]
fn a_backfill_into_postgres_stores_what_the_same_backfill_stores_into_sqlite() {
    let emulator = emulator();
    let pg = TestPostgres::schema();
    let into_sqlite = Workspace::new(
        &emulator,
        &format!("[store]\nsqlite = \"store.db\"\n{DATASET}"),
    );
    into_sqlite.run_ok(&BACKFILL);
    let into_postgres =
        Workspace::new(&emulator, &postgres_config(&pg, &pg.url_without_password()));
    let backfill = || {
        let output = into_postgres
            .command(&BACKFILL)
            .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let stdout = backfill();
    assert!(
        stdout.contains("queue_performance: 7 of 7 windows written"),
        "{stdout}"
    );
    let sqlite_rows = into_sqlite.dump("queue_performance");
    assert!(sqlite_rows.len() > 1_000, "{} rows", sqlite_rows.len());
    assert_eq!(pg.dump("queue_performance"), sqlite_rows, "row for row");
    assert_eq!(
        pg.dump("queue_performance__daily"),
        into_sqlite.dump("queue_performance__daily"),
        "the day rollups too"
    );
    // Again: every window replaced, nothing added.
    backfill();
    assert_eq!(pg.dump("queue_performance"), sqlite_rows);
}

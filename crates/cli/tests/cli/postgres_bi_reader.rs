//! The README's read-only role for SQL BI tools, run as written: after its statements, `psql`
//! as that role reads a `_kpi` view (and one genesys-bi creates later), and can neither write
//! nor read the API keys' hashes.

use std::process::{Command, Output};

use test_support::cli::Workspace;
use test_support::postgres::{TestPostgres, TestRole};

use crate::postgres_cmd::{BACKFILL, emulator, postgres_config};

/// The SQL block under "A read-only role for SQL BI tools" in README.md.
fn readme_statements() -> String {
    let readme = include_str!("../../../../README.md");
    let (_, section) = readme
        .split_once("### A read-only role for SQL BI tools")
        .expect("README has the read-only role section");
    let (_, block) = section.split_once("```sql\n").expect("a SQL block");
    let (sql, _) = block.split_once("```").expect("the block ends");
    sql.to_string()
}

/// The README's statements for this test's schema, role and writer (the superuser here); the
/// role itself is made by the test, with a password of its own.
fn grants(sql: &str, pg: &TestPostgres, reader: &TestRole) -> String {
    let kept: Vec<&str> = sql
        .lines()
        .filter(|l| !l.starts_with("CREATE ROLE"))
        .collect();
    assert_eq!(kept.len(), 5, "the README's grants changed: {sql}");
    kept.join("\n")
        .replace("FOR ROLE genesys_bi", "FOR ROLE postgres")
        .replace("genesys_bi", pg.name())
        .replace("bi_reader", &reader.name)
}

fn psql(url: &str, sql: &str) -> Output {
    Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs (Debian's postgresql-client)")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_readmes_bi_reader_reads_the_kpi_views_and_cannot_write() {
    let emulator = emulator();
    let pg = TestPostgres::schema();
    let reader = pg.role_without_privileges();
    let work = Workspace::new(&emulator, &postgres_config(&pg, &pg.url_without_password()));
    let sync = |work: &Workspace, args: &[&str]| {
        let output = work
            .command(args)
            .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
    };
    sync(&work, &BACKFILL);
    let granted = psql(pg.url(), &grants(&readme_statements(), &pg, &reader));
    assert!(granted.status.success(), "{}", text(&granted));

    let (_, place) = pg.url().rsplit_once('@').unwrap();
    let as_reader = format!("postgres://{}:{}@{place}", reader.name, reader.password);
    let read = psql(
        &as_reader,
        "SELECT count(*), sum(offered) > 0 FROM queue_performance_daily_kpi",
    );
    assert!(read.status.success(), "{}", text(&read));
    let answer = String::from_utf8_lossy(&read.stdout).trim().to_string();
    let (days, offered) = answer.split_once('|').unwrap();
    assert!(days.parse::<u32>().unwrap() > 7, "{answer}");
    assert_eq!(offered, "t", "{answer}");

    for refused in [
        "DELETE FROM queue_performance",
        "DELETE FROM watermarks",
        "CREATE TABLE mine (x int)",
        "SELECT * FROM api_keys",
    ] {
        let output = psql(&as_reader, refused);
        assert!(!output.status.success(), "{refused}: {}", text(&output));
        assert!(
            text(&output).contains("permission denied"),
            "{refused}: {}",
            text(&output)
        );
    }

    // A dataset added afterwards: its views are the writer's new objects, readable by default.
    let grown = Workspace::new(
        &emulator,
        &format!(
            "{}\n[[datasets]]\nname = \"media_volume\"\nmetrics = [\"nOffered\"]\ngroup_by = [\"mediaType\"]\ntime_zone = \"UTC\"\nbackfill_start = \"2024-05-01\"\n",
            postgres_config(&pg, &pg.url_without_password())
        ),
    );
    let mut backfill = BACKFILL.to_vec();
    backfill[2] = "media_volume";
    sync(&grown, &backfill);
    let read = psql(&as_reader, "SELECT count(*) FROM media_volume_kpi");
    assert!(read.status.success(), "{}", text(&read));
    let rows: u32 = String::from_utf8_lossy(&read.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(rows > 0, "{}", text(&read));
}

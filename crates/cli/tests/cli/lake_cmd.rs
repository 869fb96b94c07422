//! `[lake]` through the real binary: a backfill publishes what it committed, a sync catches the
//! lake up on windows committed without it (a run killed between commit and publish), `lake
//! verify` finds what is wrong, `lake export` repairs it; bad input exits 2.

use std::process::Output;

use test_support::cli::{EmulatorProcess, Workspace};

const NOW: &str = "2024-05-20T12:00:00Z";

fn emulator() -> EmulatorProcess {
    EmulatorProcess::start(
        crate::BIN,
        &[
            "--clock",
            NOW,
            "--clock-rate",
            "0",
            "--conversations-per-day",
            "2000",
            "--rate-limit-per-minute",
            "100000",
            "--seed",
            "11",
        ],
    )
}

const DATASET: &str = r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "tHandle"]
group_by = ["queueId", "mediaType"]
granularity = "PT1H"
time_zone = "Europe/London"
backfill_start = "2024-05-01"
"#;

const LAKE: &str = "\n[lake]\npath = \"lake\"\n";

const BACKFILL: [&str; 9] = [
    "backfill",
    "--dataset",
    "queue_performance",
    "--from",
    "2024-05-01",
    "--to",
    "2024-05-04",
    "--now",
    NOW,
];

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn run(work: &Workspace, args: &[&str]) -> (Option<i32>, String, String) {
    let output = work.command(args).output().unwrap();
    let (out, err) = text(&output);
    (output.status.code(), out, err)
}

#[test]
fn a_backfill_publishes_verify_finds_a_lost_file_and_export_puts_it_back() {
    let emulator = emulator();
    let work = Workspace::new(&emulator, &format!("{DATASET}{LAKE}"));
    let (out, _) = text(&work.run_ok(&BACKFILL));
    assert!(
        out.contains("lake queue_performance: 3 windows published"),
        "{out}"
    );
    let partition = work.path().join("lake/queue_performance/date=2024-05-02");
    let file = partition.join("part-20240501T230000Z.parquet");
    assert!(
        file.exists(),
        "{:?}",
        std::fs::read_dir(&partition).unwrap().collect::<Vec<_>>()
    );
    assert!(
        work.path()
            .join("lake/queue_performance/_genesys_bi/manifest.json")
            .exists()
    );

    let (code, out, err) = run(&work, &["lake", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("queue_performance: 3 windows in the store"),
        "{out}"
    );
    assert!(out.contains("consistent"), "{out}");

    std::fs::remove_file(&file).unwrap();
    let (code, out, err) = run(&work, &["lake", "verify"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains(
            "date=2024-05-02/part-20240501T230000Z.parquet is in the manifest but missing"
        ),
        "{out}"
    );
    assert!(
        err.contains("disagrees with the store in 1 place(s)"),
        "{err}"
    );

    let export = [
        "lake",
        "export",
        "--dataset",
        "queue_performance",
        "--from",
        "2024-05-02",
        "--to",
        "2024-05-03",
    ];
    let (out, _) = text(&work.run_ok(&export));
    assert!(
        out.contains("lake queue_performance: 1 windows published"),
        "{out}"
    );
    assert!(file.exists());
    let (code, out, err) = run(&work, &["lake", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn a_sync_publishes_every_window_the_store_has_and_the_lake_lacks() {
    let emulator = emulator();
    // Committed to the store with no lake, as a run killed before its publish leaves it.
    let work = Workspace::new(&emulator, DATASET);
    work.run_ok(&BACKFILL);
    std::fs::write(
        work.path().join("genesys-bi.toml"),
        format!("{DATASET}{LAKE}"),
    )
    .unwrap();
    let (out, _) = text(&work.run_ok(&["sync", "--now", NOW]));
    let published = out
        .lines()
        .find(|l| l.starts_with("lake queue_performance:"))
        .unwrap_or_else(|| panic!("{out}"));
    let windows: usize = published
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    let stored = work.table("windows").len();
    assert_eq!(windows, stored, "{published}");
    let (code, out, err) = run(&work, &["lake", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn lake_commands_without_a_lake_or_with_a_bad_one_exit_2() {
    let emulator = emulator();
    let work = Workspace::new(&emulator, DATASET);
    let (code, _, err) = run(&work, &["lake", "verify"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no [lake] section"), "{err}");

    std::fs::write(
        work.path().join("genesys-bi.toml"),
        format!("{DATASET}\n[lake]\npath = \"gs://bucket\"\ndatasets = [\"nope\"]\n"),
    )
    .unwrap();
    let (code, _, err) = run(&work, &["check-config"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("field `lake.path`"), "{err}");
    assert!(err.contains("`nope` is not a dataset"), "{err}");

    std::fs::write(
        work.path().join("genesys-bi.toml"),
        format!("{DATASET}{LAKE}"),
    )
    .unwrap();
    let (code, _, err) = run(
        &work,
        &[
            "lake",
            "export",
            "--dataset",
            "queue_performance",
            "--from",
            "2024-05-03",
            "--to",
            "2024-05-02",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--to"), "{err}");
}

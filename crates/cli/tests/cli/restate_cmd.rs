//! Restatement: Genesys fills some wrap-up codes in 48 to 72 hours late (the emulator's
//! `--late-wrapup-percent`). A store kept by daily syncs and restatements ends up with the
//! days a fresh pull made after every correction has, while syncs alone keep the first answer.

use std::collections::BTreeMap;

use test_support::cli::{EmulatorProcess, Workspace};

const CONFIG: &str = r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "wrapup_performance"
metrics = ["tHandle"]
group_by = ["queueId", "wrapUpCode"]
backfill_start = "2024-05-08"
"#;

/// The days compared: the restatements at the 11th, 12th and 13th pulled them three days on.
const DAYS: (&str, &str) = ("2024-05-08", "2024-05-10");

fn emulator() -> EmulatorProcess {
    let args = [
        "--clock",
        "2024-05-10T12:00:00Z",
        "--clock-rate",
        "0",
        "--agents",
        "40",
        "--conversations-per-day",
        "2000",
        "--late-wrapup-percent",
        "30",
        "--rate-limit-per-minute",
        "100000",
        "--seed",
        "5",
    ];
    EmulatorProcess::start(crate::BIN, &args)
}

/// Moves the emulator's virtual clock.
fn set_clock(emulator: &EmulatorProcess, now: &str) {
    let url = format!("{}/clock", emulator.admin());
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .put(url)
            .json(&serde_json::json!({ "now": now }))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
}

/// `(bucket, queue, wrap-up code)` → handle ms, of the compared days.
fn handle_by_code(work: &Workspace) -> BTreeMap<(String, String, String), i64> {
    let table = work.table("wrapup_performance");
    table
        .rows()
        .filter(|row| {
            let start = row.text("interval_start").unwrap();
            (DAYS.0..DAYS.1).contains(&start)
        })
        .map(|row| {
            let key = (
                row.text("interval_start").unwrap().to_string(),
                row.text("queue_id").unwrap_or("").to_string(),
                row.text("wrap_up_code").unwrap_or("").to_string(),
            );
            (key, row.integer("t_handle_sum_ms").unwrap_or(0))
        })
        .collect()
}

/// The rows `restate` says it changed in `dataset`.
fn rows_changed(stdout: &[u8], dataset: &str) -> u64 {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{dataset}: ")))
        .unwrap_or_else(|| panic!("{text}"));
    let (_, rest) = line
        .split_once(" rows, ")
        .unwrap_or_else(|| panic!("{line}"));
    rest.split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn daily_restatements_catch_late_wrapup_codes_that_syncs_alone_miss() {
    let emulator = emulator();
    let restated = Workspace::new(&emulator, CONFIG);
    let synced_only = Workspace::new(&emulator, CONFIG);
    // Restated a second after `run` starts (never restated before), then every second, each
    // time reaching back four days (restate + restate_every), as the defaults do.
    let ran_config = format!("{CONFIG}restate = \"P4D\"\nrestate_every = \"PT1S\"\n");
    let ran = Workspace::new(&emulator, &ran_config);
    let first = "2024-05-10T12:00:00Z";
    for work in [&restated, &synced_only, &ran] {
        work.run_ok(&["sync", "--now", first]);
    }
    let as_first_pulled = handle_by_code(&restated);
    assert!(
        as_first_pulled.len() > 500,
        "{} rows",
        as_first_pulled.len()
    );

    let mut changed = Vec::new();
    for now in [
        "2024-05-11T12:00:00Z",
        "2024-05-12T12:00:00Z",
        "2024-05-13T12:00:00Z",
    ] {
        set_clock(&emulator, now);
        restated.run_ok(&["sync", "--now", now]);
        synced_only.run_ok(&["sync", "--now", now]);
        let output = restated.run_ok(&["restate", "--now", now]);
        changed.push(rows_changed(&output.stdout, "wrapup_performance"));
    }
    assert!(
        changed.iter().all(|n| *n > 0),
        "rows changed per restatement: {changed:?}"
    );

    // A fresh pull made once every correction is in.
    let fresh = Workspace::new(&emulator, CONFIG);
    fresh.run_ok(&["sync", "--now", "2024-05-13T12:00:00Z"]);
    let truth = handle_by_code(&fresh);
    assert_ne!(as_first_pulled, truth, "the corrections changed the days");
    assert_eq!(
        handle_by_code(&restated),
        truth,
        "restated: every correction caught"
    );
    assert_eq!(
        handle_by_code(&synced_only),
        as_first_pulled,
        "synced only: the lookback never reaches back to the corrections"
    );
    let total = |rows: &BTreeMap<_, i64>| rows.values().sum::<i64>();
    assert_eq!(
        total(&as_first_pulled),
        total(&truth),
        "codes move, time does not"
    );

    // `datasets` says when each dataset was last restated and what that changed.
    let listed = |work: &Workspace| {
        let output = work.run_ok(&["datasets"]);
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let line = text.lines().find(|l| l.starts_with("wrapup_performance"));
        line.unwrap_or_else(|| panic!("{text}")).to_string()
    };
    let last = changed.last().unwrap();
    let line = listed(&restated);
    assert!(line.ends_with(&format!("({last} rows changed)")), "{line}");
    assert!(listed(&synced_only).ends_with(" -"));

    // Each restatement is a run, with the rows it changed.
    let runs = restated.table("runs");
    let recorded: Vec<i64> = runs
        .rows()
        .filter(|r| r.text("command") == Some("restate"))
        .map(|r| r.integer("rows_changed").unwrap())
        .collect();
    assert_eq!(
        recorded,
        changed.iter().map(|n| *n as i64).collect::<Vec<_>>()
    );

    run_restates_after_its_first_pass(&ran);
}

/// `run` restates each dataset `restate_every` after its last restatement (one never restated:
/// after `run` started), after its pass: a store last synced three days ago gets the
/// corrections of the days still in reach.
fn run_restates_after_its_first_pass(work: &Workspace) {
    use crate::sync_e2e::{exit_within, sigterm, wait_until};
    use std::time::Duration;

    let restatements = || -> Vec<(Option<String>, Option<i64>)> {
        work.table("runs")
            .rows()
            .filter(|r| r.text("command") == Some("run restate"))
            .map(|r| {
                (
                    r.text("status").map(String::from),
                    r.integer("rows_changed"),
                )
            })
            .collect()
    };
    let mut run = work
        .command(&["run", "--now", "2024-05-13T12:00:00Z"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run starts");
    wait_until("run's first restatement", Duration::from_secs(120), || {
        restatements()
            .iter()
            .any(|(status, _)| status.as_deref() == Some("ok"))
    });
    sigterm(&run);
    let status = exit_within(&mut run, Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let restated = restatements();
    assert!(restated[0].1.unwrap() > 0, "{restated:?}");
    let synced = work.table("runs");
    let commands: Vec<_> = synced.rows().filter_map(|r| r.text("command")).collect();
    assert_eq!(
        commands[..3],
        ["sync", "run", "run restate"],
        "the pass first, then the restatement"
    );
}

/// A record dataset is restated the same way: its conversations' late wrap-up codes, missed by
/// the first pull of their days and, past the lookback, by later syncs, are caught by daily
/// restatements, which say how many rows they changed.
#[test]
fn a_restatement_catches_late_wrapup_codes_in_conversation_records() {
    const RECORDS: &str = r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "conversations"
kind = "details"
backfill_start = "2024-05-08"
"#;
    let wrap_up_codes = |work: &Workspace| -> BTreeMap<String, Option<String>> {
        (work.table("conversations").rows())
            .filter(|row| (DAYS.0..DAYS.1).contains(&row.text("interval_start").unwrap()))
            .map(|row| {
                let id = row.text("conversation_id").unwrap().to_string();
                (id, row.text("wrap_up_code").map(String::from))
            })
            .collect()
    };
    let emulator = emulator();
    let restated = Workspace::new(&emulator, RECORDS);
    let synced_only = Workspace::new(&emulator, RECORDS);
    for work in [&restated, &synced_only] {
        work.run_ok(&["sync", "--now", "2024-05-10T12:00:00Z"]);
    }
    let as_first_pulled = wrap_up_codes(&restated);
    assert!(
        as_first_pulled.len() > 2_000,
        "{} conversations",
        as_first_pulled.len()
    );

    // Restated daily, each time reaching back four days (restate + restate_every).
    let mut changed = Vec::new();
    let later = "2024-05-13T12:00:00Z";
    for now in ["2024-05-11T12:00:00Z", "2024-05-12T12:00:00Z", later] {
        set_clock(&emulator, now);
        for work in [&restated, &synced_only] {
            work.run_ok(&["sync", "--now", now]);
        }
        let output = restated.run_ok(&["restate", "--now", now]);
        changed.push(rows_changed(&output.stdout, "conversations"));
    }
    assert!(
        changed.iter().sum::<u64>() > 0,
        "rows changed per restatement: {changed:?}"
    );

    let fresh = Workspace::new(&emulator, RECORDS);
    fresh.run_ok(&["sync", "--now", later]);
    let truth = wrap_up_codes(&fresh);
    let corrected = (as_first_pulled.iter())
        .filter(|(id, code)| truth.get(*id) != Some(*code))
        .count();
    assert!(
        corrected > 100,
        "{corrected} conversations got their code late"
    );
    assert_eq!(
        wrap_up_codes(&restated),
        truth,
        "restated: every correction caught"
    );
    // Syncs alone re-pull only their lookback: corrections that come later are missed.
    let synced = wrap_up_codes(&synced_only);
    let missed = (truth.iter())
        .filter(|(id, code)| synced.get(*id) != Some(*code))
        .count();
    assert!(
        missed > 10,
        "synced only: {missed} of {corrected} corrections missed"
    );
}

//! Record datasets: the real binary syncs agent status intervals and conversations from an
//! emulator process through the details jobs, and what it stores recounts the API's
//! aggregates (users aggregates per agent, bucket and routing status; conversation aggregates
//! per conversation); a run again keeps each record once; the BI server serves them as rows.

use std::collections::BTreeMap;

use jiff::Timestamp;
use test_support::cli::{EmulatorProcess, Workspace};
use warehouse::testing::Stored;

const NOW: &str = "2024-05-20T12:00:00Z";
/// The day the truths are checked on: every record that touches it starts after the backfill
/// start, and it ended well before the API's data availability (NOW minus an hour).
const DAY: (&str, &str) = ("2024-05-19T00:00:00Z", "2024-05-20T00:00:00Z");

const CONFIG: &str = r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "agent_status_intervals"
kind = "users_details"
backfill_start = "2024-05-18"

[[datasets]]
name = "conversations"
kind = "details"
backfill_start = "2024-05-18"

[[datasets]]
name = "participants"
kind = "participants"
backfill_start = "2024-05-18"

[[datasets]]
name = "sessions"
kind = "sessions"
backfill_start = "2024-05-18"

[[datasets]]
name = "segments"
kind = "segments"
backfill_start = "2024-05-18"
"#;

fn emulator() -> EmulatorProcess {
    EmulatorProcess::start(
        crate::BIN,
        &[
            "--clock",
            NOW,
            "--clock-rate",
            "0",
            "--agents",
            "30",
            "--conversations-per-day",
            "1500",
            "--rate-limit-per-minute",
            "100000",
            "--seed",
            "5",
        ],
    )
}

fn instant(text: &str) -> i64 {
    text.parse::<Timestamp>().unwrap().as_millisecond()
}

/// `(bucket start ms, user, routing status)` → ms.
type Routing = BTreeMap<(i64, String, String), i64>;

/// The users aggregates' routing status time per agent and quarter hour of DAY.
fn routing_aggregates(emulator: &EmulatorProcess) -> Routing {
    let answer = emulator.post_api(
        "/api/v2/analytics/users/aggregates/query",
        &serde_json::json!({
            "interval": format!("{}/{}", DAY.0, DAY.1),
            "granularity": "PT15M",
            "groupBy": ["userId"],
            "metrics": ["tAgentRoutingStatus"],
        }),
    );
    let mut out = Routing::new();
    for group in answer["results"].as_array().unwrap() {
        let user = group["group"]["userId"].as_str().unwrap();
        for bucket in group["data"].as_array().unwrap() {
            let start = instant(
                bucket["interval"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap(),
            );
            for entry in bucket["metrics"].as_array().unwrap() {
                let ms = entry["stats"]["sum"].as_f64().unwrap().round() as i64;
                let status = entry["qualifier"].as_str().unwrap().to_string();
                if ms > 0 {
                    out.insert((start, user.to_string(), status), ms);
                }
            }
        }
    }
    out
}

/// The stored routing status intervals clipped to each quarter hour of DAY (an interval still
/// open counts to the end of the day: it was open when the API last had data, after DAY).
fn routing_recount(work: &Workspace) -> Routing {
    const QUARTER: i64 = 900_000;
    let (day_start, day_end) = (instant(DAY.0), instant(DAY.1));
    let mut out = Routing::new();
    for row in work.table("agent_status_intervals").rows() {
        if row.text("status_kind") != Some("routing") {
            continue;
        }
        let start = instant(row.text("interval_start").unwrap());
        let end = row.text("interval_end").map_or(i64::MAX, instant);
        let (user, status) = (
            row.text("user_id").unwrap(),
            row.text("routing_status").unwrap(),
        );
        let mut bucket = day_start.max(start - start.rem_euclid(QUARTER));
        while bucket < end.min(day_end) {
            let ms = end.min(bucket + QUARTER) - start.max(bucket);
            if ms > 0 {
                *out.entry((bucket, user.to_string(), status.to_string()))
                    .or_default() += ms;
            }
            bucket += QUARTER;
        }
    }
    out
}

/// Per conversation: `(offered, answered, abandoned, transferred, answer, wait, talk, hold,
/// acw, handle)` as the conversation aggregates count its emissions over DAY.
type Measures = [Option<i64>; 10];

fn conversation_aggregates(emulator: &EmulatorProcess) -> BTreeMap<String, Measures> {
    let answer = emulator.post_api(
        "/api/v2/analytics/conversations/aggregates/query",
        &serde_json::json!({
            "interval": format!("{}/{}", DAY.0, DAY.1),
            "granularity": "P1D",
            "groupBy": ["conversationId"],
            "metrics": ["nOffered", "tAnswered", "tAbandon", "nTransferred", "tWait", "tTalk", "tHeld", "tAcw", "tHandle"],
        }),
    );
    let mut out = BTreeMap::new();
    for group in answer["results"].as_array().unwrap() {
        let id = group["group"]["conversationId"]
            .as_str()
            .unwrap()
            .to_string();
        let mut measures: Measures = [None; 10];
        for bucket in group["data"].as_array().unwrap() {
            for entry in bucket["metrics"].as_array().unwrap() {
                let stats = &entry["stats"];
                // Sums are JSON numbers that may be written as reals (`136885.0`).
                let sum = stats["sum"].as_f64().map(|sum| sum.round() as i64);
                let count = stats["count"].as_i64();
                let mut set = |at: usize, value: Option<i64>| measures[at] = value;
                match entry["metric"].as_str().unwrap() {
                    "nOffered" => set(0, count),
                    "tAnswered" => {
                        set(1, count);
                        set(4, sum);
                    }
                    "tWait" => set(5, sum),
                    "tAbandon" => set(2, count),
                    "nTransferred" => set(3, count),
                    "tTalk" => set(6, sum),
                    "tHeld" => set(7, sum),
                    "tAcw" => set(8, sum),
                    "tHandle" => set(9, sum),
                    _ => {}
                }
            }
        }
        out.insert(id, measures);
    }
    out
}

#[test]
fn records_recount_the_aggregates_and_a_run_again_keeps_each_once() {
    let emulator = emulator();
    let work = Workspace::new(&emulator, CONFIG);
    let output = work.run_ok(&["sync", "--now", NOW]);
    let text = String::from_utf8_lossy(&output.stdout);
    for dataset in [
        "agent_status_intervals",
        "conversations",
        "participants",
        "sessions",
        "segments",
    ] {
        assert!(
            text.contains(&format!(
                "{dataset}: 3 of 3 windows written (3 through async jobs)"
            )),
            "{text}"
        );
    }
    assert!(
        text.contains("1 windows are not complete yet"),
        "today's window waits for the API's data: {text}"
    );
    assert!(
        !text.contains("gap:"),
        "a window not complete yet is no gap: {text}"
    );

    // Users aggregates = the stored intervals clipped to each bucket, agent by agent.
    let expected = routing_aggregates(&emulator);
    assert!(expected.len() > 1_000, "{} entries", expected.len());
    assert_eq!(routing_recount(&work), expected);

    // Conversation aggregates = the stored conversations' measures, for every conversation
    // whose whole life (so every emission) lies in DAY.
    let aggregates = conversation_aggregates(&emulator);
    let table = work.table("conversations");
    let (day_start, day_end) = (instant(DAY.0), instant(DAY.1));
    let mut checked = 0;
    for row in table.rows() {
        let start = instant(row.text("interval_start").unwrap());
        let Some(end) = row.text("interval_end").map(instant) else {
            continue;
        };
        if start < day_start || end >= day_end {
            continue;
        }
        let id = row.text("conversation_id").unwrap();
        let counted = |column: &str| row.integer(column).filter(|n| *n > 0);
        let stored: Measures = [
            counted("offered"),
            counted("answered"),
            counted("abandoned"),
            counted("transferred"),
            row.integer("answer_ms"),
            row.integer("wait_ms"),
            row.integer("talk_ms"),
            row.integer("hold_ms"),
            row.integer("acw_ms"),
            row.integer("handle_ms"),
        ];
        // A conversation that emitted nothing (none of these metrics) has no group at all.
        let counted_by_api = aggregates.get(id).copied().unwrap_or([None; 10]);
        assert_eq!(stored, counted_by_api, "conversation {id}");
        checked += 1;
    }
    assert!(checked > 300, "{checked} conversations checked");
    drill_down_adds_up(&work, &table);

    // Pulled again (the same clock): every record is kept once, as it was.
    let before = (
        work.dump("agent_status_intervals"),
        work.dump("conversations"),
    );
    work.run_ok(&["sync", "--now", NOW]);
    let after = (
        work.dump("agent_status_intervals"),
        work.dump("conversations"),
    );
    assert_eq!(before, after);
    let ids: std::collections::BTreeSet<_> = (work.table("conversations").rows())
        .map(|row| row.text("conversation_id").unwrap().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        work.table("conversations").len(),
        "one row per conversation"
    );
}

/// The drill-down tables tell the conversations' story again: per conversation whose life lies
/// in DAY, its sessions' handle time adds up to its own, its agents' interact segments to its
/// talk time (tTalk counts interact segments), and its participants are its segments'.
fn drill_down_adds_up(work: &Workspace, conversations: &warehouse::testing::StoredTable) {
    let (day_start, day_end) = (instant(DAY.0), instant(DAY.1));
    let in_day = |row: &warehouse::testing::StoredRow<'_>| {
        let start = instant(row.text("interval_start").unwrap());
        let end = row.text("interval_end").map(instant);
        start >= day_start && end.is_some_and(|end| end < day_end)
    };
    let mut handle: BTreeMap<String, i64> = BTreeMap::new();
    let mut lowest_mos: BTreeMap<String, f64> = BTreeMap::new();
    for row in work.table("sessions").rows() {
        let id = row.text("conversation_id").unwrap().to_string();
        *handle.entry(id.clone()).or_default() += row.integer("handle_ms").unwrap_or(0);
        if let Some(mos) = row.number("min_mos") {
            let lowest = lowest_mos.entry(id).or_insert(mos);
            *lowest = lowest.min(mos);
        }
    }
    let mut talk: BTreeMap<String, i64> = BTreeMap::new();
    let mut segment_participants: BTreeMap<String, std::collections::BTreeSet<String>> =
        BTreeMap::new();
    for row in work.table("segments").rows() {
        let id = row.text("conversation_id").unwrap().to_string();
        let participant = row.text("participant_id").unwrap().to_string();
        segment_participants
            .entry(id.clone())
            .or_default()
            .insert(participant);
        if row.text("purpose") == Some("agent") && row.text("segment_type") == Some("interact") {
            *talk.entry(id).or_default() += row.integer("duration_ms").unwrap();
        }
    }
    let mut participants: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for row in work.table("participants").rows() {
        let id = row.text("conversation_id").unwrap().to_string();
        participants
            .entry(id)
            .or_default()
            .insert(row.text("participant_id").unwrap().to_string());
    }
    let (mut checked, mut voice, mut ivr) = (0, 0, 0);
    for row in conversations.rows().filter(in_day) {
        let id = row.text("conversation_id").unwrap();
        // Call quality: the conversation's MOS is its sessions' lowest.
        assert_eq!(
            row.number("min_mos"),
            lowest_mos.get(id).copied(),
            "{id}: MOS"
        );
        if row.text("media_type") == Some("voice") {
            let mos = row
                .number("min_mos")
                .unwrap_or_else(|| panic!("{id}: a voice call's MOS"));
            assert!((1.0..=5.0).contains(&mos), "{id}: MOS {mos}");
            voice += 1;
        }
        if let Some(flow) = row.text("ivr_flow_name") {
            assert!(
                !flow.is_empty() && row.text("ivr_exit_reason").is_some(),
                "{id}: IVR"
            );
            ivr += 1;
        }
        assert_eq!(
            row.integer("handle_ms").unwrap_or(0),
            handle.get(id).copied().unwrap_or(0),
            "{id}: handle"
        );
        assert_eq!(
            row.integer("talk_ms").unwrap_or(0),
            talk.get(id).copied().unwrap_or(0),
            "{id}: talk"
        );
        assert_eq!(
            participants.get(id),
            segment_participants.get(id),
            "{id}: participants"
        );
        checked += 1;
    }
    assert!(checked > 300, "{checked} conversations checked");
    assert!(
        voice > 100 && ivr > 100,
        "{voice} voice calls, {ivr} through an IVR"
    );
}

/// A window longer than the 7 days a details job may cover (the emulator refuses longer
/// intervals with 400, as Genesys does) is read by several jobs, each over its piece, and
/// stores exactly what one-day windows store: nothing lost where the pieces meet, nothing twice.
#[test]
fn a_window_over_the_details_interval_limit_is_read_in_pieces_and_stores_what_days_store() {
    let emulator = emulator();
    let config = |window: &str| {
        format!(
            r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "agent_status_intervals"
kind = "users_details"
backfill_start = "2024-05-12"
window = "{window}"

[[datasets]]
name = "conversations"
kind = "details"
backfill_start = "2024-05-12"
window = "{window}"
"#
        )
    };
    let long = Workspace::new(&emulator, &config("P10D"));
    let output = long.run_ok(&["sync", "--now", NOW]);
    let text = String::from_utf8_lossy(&output.stdout);
    for dataset in ["agent_status_intervals", "conversations"] {
        assert!(
            text.contains(&format!("{dataset}: 1 of 1 windows written")),
            "{text}"
        );
    }
    let days = Workspace::new(&emulator, &config("P1D"));
    days.run_ok(&["sync", "--now", NOW]);
    // The ten-day windows start on their own grid, before the backfill start: compare from it.
    let from_backfill_start = |work: &Workspace, dataset: &str| {
        let mut rows = work.dump(dataset);
        rows.retain(|row| matches!(&row[0], Stored::Text(start) if start.as_str() >= "2024-05-12"));
        rows
    };
    for dataset in ["agent_status_intervals", "conversations"] {
        let (read_long, read_daily) = (
            from_backfill_start(&long, dataset),
            from_backfill_start(&days, dataset),
        );
        assert!(
            read_long.len() > 2_000,
            "{dataset}: {} rows",
            read_long.len()
        );
        let first_difference = (read_long.iter().zip(&read_daily)).position(|(a, b)| a != b);
        assert_eq!(
            (read_long.len(), first_difference),
            (read_daily.len(), None),
            "{dataset}: ten-day windows against one-day windows"
        );
    }
}

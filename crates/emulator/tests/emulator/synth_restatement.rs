//! Restatement: wrap-up codes Genesys' nightly reprocessing fills in late. A day pulled soon
//! after it ends lacks some codes; pulled three days on, it has them, and then equals an org
//! without late codes. Nothing else about the day moves.

use std::collections::BTreeMap;

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::AggregationQuery;
use genesys::details::ConversationQuery;
use jiff::Timestamp;

const DAY: &str = "2024-05-08T00:00:00.000Z/2024-05-09T00:00:00.000Z";

fn centre(late_wrapup_percent: u8) -> ContactCentre {
    let shape = OrgShape {
        conversations_per_day: 2_000,
        late_wrapup_percent,
        ..OrgShape::default()
    };
    ContactCentre::new(7, &shape)
}

/// tHandle per (queue, wrap-up code) over the day, as of `now`; `None` for no code.
fn handle_by_code(centre: &ContactCentre, now: &str) -> BTreeMap<(String, Option<String>), f64> {
    let query = AggregationQuery {
        interval: DAY.into(),
        group_by: vec!["queueId".into(), "wrapUpCode".into()],
        metrics: vec!["tHandle".into()],
        ..AggregationQuery::default()
    };
    let now: Timestamp = now.parse().unwrap();
    let answer = centre.aggregate(&query, now).unwrap();
    let mut out = BTreeMap::new();
    for group in answer.results {
        let key = (
            group.group["queueId"].clone(),
            group.group.get("wrapUpCode").cloned(),
        );
        let sum: f64 = group
            .data
            .iter()
            .flat_map(|d| &d.metrics)
            .filter_map(|m| m.stats.sum)
            .sum();
        *out.entry(key).or_default() += sum;
    }
    out
}

fn total(by_code: &BTreeMap<(String, Option<String>), f64>) -> f64 {
    by_code.values().sum()
}

fn without_code(by_code: &BTreeMap<(String, Option<String>), f64>) -> f64 {
    by_code
        .iter()
        .filter(|((_, code), _)| code.is_none())
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn late_wrapup_codes_arrive_48_to_72_hours_on_and_move_handle_time_between_codes_only() {
    let (late, prompt) = (centre(20), centre(0));
    let next_day = handle_by_code(&late, "2024-05-09T12:00:00Z");
    let settled = handle_by_code(&late, "2024-05-12T12:00:00Z");
    let prompt_next_day = handle_by_code(&prompt, "2024-05-09T12:00:00Z");

    assert!(
        without_code(&next_day) > without_code(&prompt_next_day) * 1.5,
        "a fifth of the codes missing the next day: {} ms without a code, {} with none late",
        without_code(&next_day),
        without_code(&prompt_next_day)
    );
    assert_eq!(settled, prompt_next_day, "every code in by three days on");
    assert_eq!(
        total(&next_day),
        total(&settled),
        "only the codes move, not the time"
    );
    // Within 48 hours nothing is restated yet.
    assert_eq!(handle_by_code(&late, "2024-05-10T00:00:00Z"), next_day);
}

#[test]
fn a_detail_record_gets_its_late_wrapup_code_when_the_aggregates_do() {
    let late = centre(20);
    let codes = |now: &str| -> usize {
        let query = ConversationQuery {
            interval: DAY.into(),
            ..ConversationQuery::default()
        };
        let answer = late.details_query(&query, now.parse().unwrap()).unwrap();
        answer
            .conversations
            .unwrap_or_default()
            .iter()
            .flat_map(|c| &c.participants)
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .filter(|g| g.wrap_up_code.is_some())
            .count()
    };
    let (next_day, settled) = (codes("2024-05-09T12:00:00Z"), codes("2024-05-12T12:00:00Z"));
    assert!(
        next_day > 0 && (next_day as f64) < settled as f64 * 0.9,
        "{next_day} codes the next day, {settled} three days on"
    );
}

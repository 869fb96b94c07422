//! How fast the sync turns an aggregates response into rows: `cargo bench -p warehouse --bench
//! decode`. The page is recorded from the emulator (default org: one day at PT15M by queueId and
//! mediaType, the 12 default queue metrics). Prints MB/s and rows/s of the streaming decoder the
//! sync uses (`genesys`'s `PageDecoder` fed the body in 64 KiB pieces, each group mapped by
//! `GroupRows`), of serde into the typed response model, and of a raw `serde_json::Value`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::PageDecoder;
use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};
use warehouse::{AggregateRow, GroupRows, TableSpec};

/// The page as the sync reads a response: pieces in, rows out as each group completes.
fn streamed_rows(spec: &TableSpec, page: &[u8]) -> Vec<AggregateRow> {
    let (mapper, mut decoder, mut rows) = (GroupRows::new(spec), PageDecoder::new(), Vec::new());
    for piece in page.chunks(64 * 1024) {
        decoder.push(piece);
        while let Some(group) = decoder.next_group().expect("decodes") {
            mapper.append(&group, &mut rows).expect("maps");
        }
    }
    decoder.finish().expect("whole");
    rows
}

const METRICS: [&str; 12] = genesys::catalog::QUEUE_PERFORMANCE_METRICS;

fn record_page() -> Vec<u8> {
    let centre = ContactCentre::new(42, &OrgShape::default());
    let query = AggregationQuery {
        interval: "2024-05-06T00:00:00.000Z/2024-05-07T00:00:00.000Z".into(),
        granularity: Some("PT15M".into()),
        group_by: vec!["queueId".into(), "mediaType".into()],
        metrics: METRICS.map(String::from).to_vec(),
        ..AggregationQuery::default()
    };
    let response = centre
        .aggregate(&query, "2024-05-08T00:00:00Z".parse().expect("instant"))
        .expect("answered");
    serde_json::to_vec(&response).expect("serializes")
}

/// Mean wall time of `work` over about `budget`.
fn measure(budget: Duration, mut work: impl FnMut()) -> Duration {
    work();
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget {
        work();
        runs += 1;
    }
    started.elapsed() / runs
}

fn main() {
    let page = record_page();
    let spec = TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: METRICS.map(String::from).to_vec(),
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
    };
    let rows = streamed_rows(&spec, &page).len();
    let mb = page.len() as f64 / 1e6;
    println!("page: {mb:.2} MB, {rows} rows (group x bucket)");
    let budget = Duration::from_secs(3);
    let streamed = measure(budget, || {
        black_box(streamed_rows(&spec, black_box(&page)));
    });
    let typed = measure(budget, || {
        black_box(
            serde_json::from_slice::<AggregateQueryResponse>(black_box(&page)).expect("typed"),
        );
    });
    let raw = measure(budget, || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&page)).expect("raw"));
    });
    for (name, t) in [
        ("PageDecoder + GroupRows (sync's)", streamed),
        ("typed AggregateQueryResponse", typed),
        ("raw serde_json::Value", raw),
    ] {
        let s = t.as_secs_f64();
        println!(
            "{name:<34} {:>7.2} ms/page {:>7.1} MB/s {:>9.0} rows/s",
            s * 1e3,
            mb / s,
            rows as f64 / s
        );
    }
    println!(
        "streamed rows speed / raw speed: {:.2}x",
        raw.as_secs_f64() / streamed.as_secs_f64()
    );
}

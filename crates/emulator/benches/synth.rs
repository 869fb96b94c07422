//! Synthetic contact centre figures: generation speed for one day, and a one-year PT15M
//! aggregates query (time and peak memory). Run: `cargo bench -p emulator --bench synth`.

use std::time::Instant;

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::AggregationQuery;
use jiff::{Timestamp, ToSpan};

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn generation(cc: &ContactCentre) {
    let monday: Timestamp = "2024-05-06T00:00:00Z".parse().expect("instant");
    let days = 14;
    // Warm up once, then time each day of two weeks (weekday and weekend traffic differ).
    cc.generate_emissions(monday, monday + 24.hours());
    let mut timings = Vec::new();
    let mut emissions = 0;
    for d in 0..days {
        let start = monday + (24 * d).hours();
        let t = Instant::now();
        emissions += cc.generate_emissions(start, start + 24.hours());
        timings.push(t.elapsed().as_secs_f64() * 1e3);
    }
    timings.sort_by(f64::total_cmp);
    let mean = timings.iter().sum::<f64>() / days as f64;
    println!(
        "generate one day: mean {mean:.2} ms, median {:.2} ms, max {:.2} ms ({} emissions/day on average; goal < 20 ms)",
        timings[days as usize / 2],
        timings[days as usize - 1],
        emissions / days as usize
    );
}

/// Counts bytes instead of keeping them.
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (100 ticks/s).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn year_query(cc: &ContactCentre) {
    let query = AggregationQuery {
        interval: "2024-01-01T00:00:00.000Z/2025-01-01T00:00:00.000Z".into(),
        granularity: Some("PT15M".into()),
        group_by: vec!["queueId".into(), "mediaType".into()],
        metrics: [
            "nOffered",
            "tAnswered",
            "tAbandon",
            "tHandle",
            "oServiceLevel",
        ]
        .iter()
        .map(|m| m.to_string())
        .collect(),
        ..AggregationQuery::default()
    };
    let now: Timestamp = "2025-02-01T00:00:00Z".parse().expect("instant");
    // The compact table first: VmHWM is a high-water mark, so the bigger path must come second.
    let before = peak_rss_mib().unwrap_or(f64::NAN);
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let table = cc.aggregate_table(&query, now).expect("valid query");
    let (elapsed, cpu_used) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let mut sink = CountingSink(0);
    let (t2, cpu2) = (Instant::now(), cpu_seconds());
    serde_json::to_writer(&mut sink, &table).expect("serialisable");
    let (write_s, write_cpu) = (t2.elapsed().as_secs_f64(), cpu_seconds() - cpu2);
    println!(
        "one-year PT15M aggregates by queueId+mediaType, compact table: {elapsed:.3} s wall, {cpu_used:.2} s CPU; \
         VmHWM {:.0} MiB (before {before:.0} MiB); {} groups, {} rows (goal < 2 s)",
        peak_rss_mib().unwrap_or(f64::NAN),
        table.groups(),
        table.rows()
    );
    println!(
        "  streaming it as JSON: {write_s:.3} s wall, {write_cpu:.2} s CPU, {:.0} MiB written",
        sink.0 as f64 / 1048576.0
    );
    drop(table);
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let response = cc.aggregate(&query, now).expect("valid query");
    let (elapsed, cpu_used) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let peak = peak_rss_mib().unwrap_or(f64::NAN);
    let groups = response.results.len();
    let buckets: usize = response.results.iter().map(|r| r.data.len()).sum();
    let metrics: usize = response
        .results
        .iter()
        .flat_map(|r| &r.data)
        .map(|d| d.metrics.len())
        .sum();
    println!(
        "same query as the full AggregateQueryResponse tree: {elapsed:.3} s wall, {cpu_used:.2} s CPU; VmHWM {peak:.0} MiB; \
         {groups} groups, {buckets} bucket rows, {metrics} metric entries"
    );
    let t = Instant::now();
    let json = serde_json::to_vec(&response).expect("serialisable");
    println!(
        "  serialising that response: {:.3} s, {:.0} MiB of JSON",
        t.elapsed().as_secs_f64(),
        json.len() as f64 / 1048576.0
    );
}

fn details(cc: &ContactCentre) {
    use genesys::details::{ConversationQuery, PagingSpec};
    use genesys::filter::{Filter, Predicate};
    let now: Timestamp = "2024-06-15T00:00:00Z".parse().expect("instant");
    let plain = ConversationQuery {
        interval: "2024-05-01T00:00:00Z/2024-06-01T00:00:00Z".into(),
        paging: Some(PagingSpec {
            page_size: 100,
            page_number: 3,
        }),
        ..ConversationQuery::default()
    };
    let queue = cc.org().queues[0].id.clone();
    let filtered = ConversationQuery {
        segment_filters: vec![Filter::and(vec![Predicate::dimension_matches(
            "queueId", &queue,
        )])],
        ..plain.clone()
    };
    for (name, q) in [
        ("no filter", plain),
        ("segment filter on queueId", filtered),
    ] {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let r = cc.details_query(&q, now).expect("valid query");
        println!(
            "31-day details query, page 3 of 100, {name}: {:.3} s wall, {:.2} s CPU, totalHits {}",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - cpu,
            r.total_hits.unwrap_or(0)
        );
    }
    let job = ConversationQuery {
        interval: "2024-05-06T00:00:00Z/2024-05-07T00:00:00Z".into(),
        ..ConversationQuery::default()
    };
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let records = cc.details_job(&job, now, now).expect("valid job");
    println!(
        "one-day details job: {} records in {:.3} s wall, {:.2} s CPU",
        records.len(),
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
}

fn main() {
    let t = Instant::now();
    let cc = ContactCentre::new(42, &OrgShape::default());
    println!(
        "ContactCentre::new (default shape): {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "threads available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    generation(&cc);
    // Before the details figures, so VmHWM reflects the aggregate query alone.
    year_query(&cc);
    details(&cc);
}

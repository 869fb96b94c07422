//! Writes a synthetic `queue_performance` store for `bench/serve.sh`:
//! `fill_store <path> <days> <queues> <media types (1-5)>`; prints the row count.

#[path = "../benches/support/fill.rs"]
mod fill;

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, days, queues, media] = args.as_slice() else {
        eprintln!("usage: fill_store <path> <days> <queues> <media types 1-5>");
        std::process::exit(2);
    };
    let shape = fill::Shape {
        days: days.parse().expect("days"),
        queues: queues.parse().expect("queues"),
        media: media
            .parse::<usize>()
            .expect("media")
            .clamp(1, fill::MEDIA.len()),
    };
    let started = Instant::now();
    let wanted = shape.rows();
    let rows = fill::fill(&PathBuf::from(path), &shape, |done| {
        if done % 1_000_000 < 96 * shape.queues * shape.media {
            eprintln!("  {done}/{wanted} rows");
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "filled {rows} rows in {seconds:.1} s ({:.0} rows/s)",
        rows as f64 / seconds
    );
    println!("{rows}");
}

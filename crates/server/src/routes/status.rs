//! `GET /`: a status page for people — each dataset's freshness and lag, the last runs and
//! their errors, and offered vs answered per day over the last 14 days as an inline SVG chart
//! (server-rendered: no script, no CDN).

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;
use genesys::granularity::Granularity;
use genesys::interval::format_instant;
use jiff::{SignedDuration, Timestamp, ToSpan};
use warehouse::ReadSession;
use warehouse::RunStatus;
use warehouse::read::{Cell, DatasetInfo, RunInfo, Selection};

use crate::connect::Feed;
use crate::problem::Problem;
use crate::state::AppState;

const CHART_DAYS: i64 = 14;

/// One day of the chart: (local date, offered, answered).
type Day = (String, i64, i64);

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn int(cell: Option<&Cell>) -> i64 {
    match cell {
        Some(Cell::Integer(i)) => *i,
        Some(Cell::Real(r)) => *r as i64,
        _ => 0,
    }
}

/// Offered and answered per local day of the first dataset that has both.
fn daily(
    c: &dyn ReadSession,
    datasets: &[DatasetInfo],
    now: Timestamp,
) -> Result<Option<(String, Vec<Day>)>, Problem> {
    let Some(info) = datasets.iter().find(|d| {
        d.spec.metrics.iter().any(|m| m == "nOffered")
            && d.spec.metrics.iter().any(|m| m == "tAnswered")
    }) else {
        return Ok(None);
    };
    let definition = &info.spec.definition;
    let tz = definition.time_zone.zone().clone();
    let day: Granularity = "P1D".parse().expect("valid");
    let stored_tz = &definition.time_zone;
    if crate::rollup::needs_rollup(&definition.granularity, stored_tz, &day, stored_tz).is_err() {
        return Ok(None); // its buckets do not add up to days
    }
    // The chart ends where the data is final (or now, before the first sync).
    let end = info.complete_through.unwrap_or(now);
    // Fourteen local days, the last one holding `end` (possibly partial).
    let last_day = (end - SignedDuration::from_millis(1))
        .to_zoned_datetime(tz.clone())
        .start_of_day()
        .map_err(Problem::internal)?;
    let start = last_day
        .checked_sub((CHART_DAYS - 1).days())
        .map_err(Problem::internal)?
        .timestamp();
    let segments = crate::rollup::rolled_up(start, end, &day, &tz)?;
    let mut selection = Selection::all(&info.spec);
    selection.dimensions = Vec::new();
    selection.metrics = vec!["nOffered".into(), "tAnswered".into()];
    selection.rollup = true;
    let columns = selection.columns();
    let at = |name: &str| columns.iter().position(|c| c.name == name);
    let (offered, answered) = (at("n_offered"), at("t_answered_count"));
    let mut days = Vec::new();
    for k in 0..segments.len() {
        let bounds = segments.bounds(k);
        let rows = selection.read(c, bounds, 0, 1)?;
        let row = rows.first();
        let date = bounds.0.to_zoned_datetime(tz.clone()).date().to_string();
        days.push((
            date,
            int(row.and_then(|r| offered.and_then(|i| r.get(i)))),
            int(row.and_then(|r| answered.and_then(|i| r.get(i)))),
        ));
    }
    Ok(Some((info.spec.name.clone(), days)))
}

/// The two series of the chart: (name, legend text, colour).
const SERIES: [(&str, &str, &str); 2] = [
    ("offered", "Offered", "#4e79a7"),
    ("answered", "Answered", "#59a14f"),
];

/// Two bars per day, offered and answered, scaled to the busiest day: one group per series
/// (`data-series`), each bar carrying its day and value, a legend, and the scale's ends.
fn chart(days: &[Day]) -> String {
    let (width, height, left, bottom, top) = (720.0_f64, 220.0_f64, 50.0_f64, 30.0_f64, 24.0_f64);
    let peak = days.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1) as f64;
    let slot = (width - left) / days.len().max(1) as f64;
    let bar = (slot / 2.0 - 2.0).max(1.0);
    let base = height - bottom;
    let scale = |v: i64| (v as f64 / peak) * (base - top);
    let mut svg = format!(
        r#"<svg id="daily-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="Offered and answered per day">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#888"/><line x1="{left}" y1="{top}" x2="{width}" y2="{top}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{peak}</text><text x="{:.1}" y="{base}" font-size="11" text-anchor="end">0</text>"##,
        left - 4.0,
        top + 4.0,
        left - 4.0,
    );
    for (k, (series, legend, colour)) in SERIES.iter().enumerate() {
        let x = left + k as f64 * 110.0;
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="13" font-size="11" data-legend="{series}">{legend}</text>"#,
            x + 14.0
        );
        let _ = write!(svg, r#"<g data-series="{series}" fill="{colour}">"#);
        for (i, (date, offered, answered)) in days.iter().enumerate() {
            let value = if k == 0 { *offered } else { *answered };
            let x = left + i as f64 * slot + k as f64 * (bar + 1.0);
            let h = scale(value);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}" data-date="{}" data-value="{value}"><title>{}: {series} {value}</title></rect>"#,
                base - h,
                escape(date),
                escape(date),
            );
        }
        svg.push_str("</g>");
    }
    for (i, (date, ..)) in days.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">{}</text>"#,
            left + i as f64 * slot,
            base + 14.0,
            escape(date.get(5..).unwrap_or(date)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A lag for people: hours up to two days, days beyond.
fn lag_text(seconds: f64) -> String {
    let hours = seconds / 3600.0;
    if hours < 48.0 {
        format!("{hours:.1} h")
    } else {
        format!("{:.1} d", hours / 24.0)
    }
}

/// "Open in Power BI" and "Open in Excel": the dataset's connection files, for its default
/// feed (named in the tooltip). The browser already holds the key it sent for this page.
fn connect_links(dataset: &DatasetInfo) -> String {
    let name = &dataset.spec.name;
    let feed = Feed::default_for(&dataset.spec).entity_set(name);
    let link = |tool: &str, label: &str, extension: &str| {
        format!(
            "<a href=\"/v1/connect/{}/{tool}\" download=\"{}.{extension}\" title=\"the OData feed {}\" data-connect=\"{tool}\">Open in {label}</a>",
            escape(name),
            escape(&feed),
            escape(&feed),
        )
    };
    // One above the other: the table already fills a laptop's width.
    format!(
        "{}<br>{}",
        link("powerbi", "Power BI", "pbids"),
        link("excel", "Excel", "odc")
    )
}

fn page(
    datasets: &[DatasetInfo],
    runs: &[RunInfo],
    daily: Option<(String, Vec<Day>)>,
    now: Timestamp,
) -> String {
    // No request beyond the page itself: the icon is empty inline data (else browsers ask for
    // /favicon.ico, and log its 404 as an error), the style and the chart are inline.
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>genesys-bi status</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}td.num{text-align:right}\
         td.ts{white-space:nowrap}\
         .err{color:#b00;max-width:40em;overflow-wrap:anywhere}\
         svg{max-width:100%;height:auto}</style>\
         </head><body><h1>genesys-bi status</h1><h2>Datasets</h2><table id=\"datasets\"><tr><th>dataset</th>\
         <th>granularity</th><th>time zone</th><th>complete through</th><th>lag</th><th>rows</th>\
         <th>last written</th><th>open in</th></tr>",
    );
    for d in datasets {
        let lag = super::lag_seconds(d.complete_through, now)
            .map(lag_text)
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"ts\">{}</td><td class=\"num\">{lag}</td><td class=\"num\">{}</td><td class=\"ts\">{}</td><td>{}</td></tr>",
            escape(&d.spec.name),
            escape(&d.spec.definition.granularity.to_string()),
            escape(d.spec.definition.time_zone.name()),
            d.complete_through
                .map(format_instant)
                .unwrap_or_else(|| "-".into()),
            d.rows.unwrap_or_default(),
            d.last_written_at
                .map(format_instant)
                .unwrap_or_else(|| "-".into()),
            connect_links(d),
        );
    }
    html.push_str("</table><h2>Last runs</h2><table id=\"runs\"><tr><th>run</th><th>command</th><th>started</th><th>status</th><th>windows</th><th>rows</th><th title=\"rows a restatement changed: Genesys corrected them since they were pulled\">changed</th><th>error</th></tr>");
    for r in runs {
        let _ = write!(
            html,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"ts\">{}</td><td{}>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"err\">{}</td></tr>",
            r.id,
            escape(&r.command),
            escape(&r.started_at),
            if r.status == RunStatus::Ok {
                ""
            } else {
                " class=\"err\""
            },
            escape(r.status.as_str()),
            r.windows,
            r.rows,
            r.rows_changed.map(|n| n.to_string()).unwrap_or_default(),
            escape(r.error.as_deref().unwrap_or("")),
        );
    }
    html.push_str("</table>");
    if let Some((name, days)) = daily {
        let _ = write!(
            html,
            "<h2 id=\"chart-caption\">Offered vs answered per day, last {CHART_DAYS} days: {}</h2>{}",
            escape(&name),
            chart(&days)
        );
    }
    html.push_str("<p>API: <a href=\"/openapi.json\">/openapi.json</a> · <a href=\"/metrics\">/metrics</a></p></body></html>");
    html
}

/// Status page for people: freshness, lag, last runs, offered vs answered per day
#[utoipa::path(
    get,
    path = "/",
    responses((status = 200, description = "HTML", content_type = "text/html"))
)]
pub async fn status(State(state): State<AppState>) -> Result<Html<String>, Problem> {
    let now = Timestamp::now();
    state
        .read(move |c| {
            let datasets = c.datasets()?;
            let runs = c.recent_runs(10)?;
            let daily = daily(c, &datasets, now)?;
            Ok(Html(page(&datasets, &runs, daily, now)))
        })
        .await
}

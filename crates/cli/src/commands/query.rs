//! `genesys-bi query`: one aggregates query, validated locally, printed as a table, CSV or JSON.

use genesys::Interval;
use genesys::granularity::time_zone;
use genesys::query::AggregateQueryBuilder;

use super::context::{connected_client, load_config, parse_when};
use crate::UsageError;
use crate::cli::QueryArgs;
use crate::render::Table;

/// `start/end`, each an instant or a date in `tz`; or anything Genesys accepts (`start/P7D`).
fn parse_interval(raw: &str, tz: &jiff::tz::TimeZone) -> anyhow::Result<Interval> {
    let (start, end) = raw.split_once('/').ok_or_else(|| {
        UsageError(format!(
            "--interval: `{raw}` is not start/end (e.g. 2024-05-01/2024-05-08)"
        ))
    })?;
    if start.starts_with('P') || end.starts_with('P') {
        return raw.parse().map_err(|e: genesys::interval::IntervalError| {
            UsageError(format!("--interval: {e}")).into()
        });
    }
    let interval = Interval::new(
        parse_when("interval", start, tz)?,
        parse_when("interval", end, tz)?,
    );
    if interval.end <= interval.start {
        return Err(UsageError(format!("--interval: `{raw}` ends before it starts")).into());
    }
    Ok(interval)
}

fn parse_filter(raw: &str) -> anyhow::Result<(&str, &str)> {
    raw.split_once('=')
        .filter(|(d, v)| !d.is_empty() && !v.is_empty())
        .ok_or_else(|| UsageError(format!("--filter: `{raw}` is not dimension=value")).into())
}

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let tz =
        time_zone(Some(&args.time_zone)).map_err(|e| UsageError(format!("--time-zone: {e}")))?;
    let interval = parse_interval(&args.interval, &tz)?;
    if let Some(users) = (args.metrics.iter()).find(|m| genesys::users_catalog::is_users_metric(m))
    {
        return Err(UsageError(format!(
            "--metrics: `{users}` is a users aggregates metric; `query` asks the conversation aggregates. Keep it with a dataset of kind = \"users\" (README: Agent status) and read it from the store"
        ))
        .into());
    }
    let mut builder = AggregateQueryBuilder::new(interval)
        .metrics(args.metrics.iter().cloned())
        .group_by(args.group_by.iter().cloned())
        .time_zone(args.time_zone.clone());
    if let Some(raw) = &args.granularity {
        let granularity = raw
            .parse()
            .map_err(|e| UsageError(format!("--granularity: {e}")))?;
        builder = builder.granularity(&granularity);
    }
    for raw in &args.filter {
        let (dimension, value) = parse_filter(raw)?;
        builder = builder.filter_eq(dimension, value);
    }
    let query = builder.build().map_err(|e| UsageError(e.to_string()))?;
    let config = load_config(&args.config)?;
    let client = connected_client(&config).await?;
    let response = client.aggregates_query(&query).await?;
    let table = Table::from_response(&response, &query.group_by, &query.metrics);
    let mut out = std::io::stdout().lock();
    table.write(args.format, &mut out)?;
    Ok(())
}

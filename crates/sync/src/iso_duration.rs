//! Durations in the config (`every`, `lookback`, time-outs…), written as ISO-8601.

use jiff::{SignedDuration, Span};

pub(crate) fn parse_duration(raw: &str) -> Result<SignedDuration, String> {
    let not_iso = || format!("`{raw}` is not a positive ISO-8601 duration such as PT15M or P1D");
    if !raw.starts_with('P') {
        return Err(not_iso());
    }
    let span: Span = raw
        .parse()
        .map_err(|e: jiff::Error| format!("`{raw}` is not an ISO-8601 duration: {e}"))?;
    if span.is_negative() {
        return Err(not_iso());
    }
    // Days are 24 hours here: these durations pace the scheduler, they do not cut buckets.
    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("`{raw}`: {e}"))
}

//! `genesys-bi catalog`: every conversation-aggregates metric and dimension, and every
//! users-aggregates metric with the qualifiers it is split by, with their meanings.

use std::io::Write;

use genesys::catalog::{DIMENSION_CATALOG, METRIC_CATALOG, MetricKind};
use genesys::users_catalog::{Qualifiers, USERS_METRIC_CATALOG};

#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    /// Only metrics of this kind: count (n*), duration (t*, milliseconds) or observation (o*).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<MetricKind>,
    /// Only metrics, only dimensions, or only the users metrics (`kind = "users"` datasets)
    /// (default: all).
    #[arg(long, value_enum)]
    pub only: Option<CatalogPart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CatalogPart {
    Metrics,
    Dimensions,
    Users,
}

fn parse_kind(raw: &str) -> Result<MetricKind, String> {
    raw.parse()
}

pub fn print(args: &CatalogArgs, out: &mut dyn Write) -> std::io::Result<()> {
    if args.only == Some(CatalogPart::Users) {
        return print_users(out);
    }
    let show_dimensions = args.only != Some(CatalogPart::Metrics) && args.kind.is_none();
    if args.only != Some(CatalogPart::Dimensions) {
        let metrics: Vec<_> = METRIC_CATALOG
            .iter()
            .filter(|m| args.kind.is_none_or(|k| m.kind() == k))
            .collect();
        writeln!(out, "METRICS ({})", metrics.len())?;
        writeln!(out, "{:<30} {:<12} {:<6} MEANING", "NAME", "KIND", "UNIT")?;
        for m in metrics {
            writeln!(
                out,
                "{:<30} {:<12} {:<6} {}",
                m.name,
                m.kind().as_str(),
                m.unit.as_str(),
                m.meaning
            )?;
        }
    }
    if show_dimensions {
        if args.only.is_none() {
            writeln!(out)?;
        }
        writeln!(out, "DIMENSIONS ({})", DIMENSION_CATALOG.len())?;
        writeln!(out, "{:<30} {:<8} MEANING", "NAME", "GROUP BY")?;
        for d in DIMENSION_CATALOG {
            let groupable = if d.groupable { "yes" } else { "no" };
            writeln!(out, "{:<30} {:<8} {}", d.name, groupable, d.meaning)?;
        }
    }
    if args.only.is_none() && args.kind.is_none() {
        writeln!(out)?;
        print_users(out)?;
    }
    Ok(())
}

/// The users-aggregates metrics, each with its qualifiers (a column each, or a row each).
fn print_users(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "USERS METRICS ({}), kind = \"users\" datasets, grouped and filtered by userId only",
        USERS_METRIC_CATALOG.len()
    )?;
    writeln!(out, "{:<30} MEANING", "NAME")?;
    for m in USERS_METRIC_CATALOG {
        writeln!(out, "{:<30} {}", m.name, m.meaning)?;
        let split = match m.qualifiers {
            Qualifiers::Columns { values, .. } => format!("a column per {}", values.join(", ")),
            Qualifiers::Rows { dimension } => {
                format!("a row per presence id, in column {dimension}")
            }
        };
        writeln!(out, "{:<30} {split}", "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Option<MetricKind>, only: Option<CatalogPart>) -> String {
        let mut out = Vec::new();
        print(&CatalogArgs { kind, only }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lists_everything_by_default() {
        let text = run(None, None);
        assert!(
            text.contains("METRICS (82)")
                && text.contains("DIMENSIONS (84)")
                && text.contains("USERS METRICS (3)"),
            "{text}"
        );
        let users = run(None, Some(CatalogPart::Users));
        assert!(users.starts_with("USERS METRICS (3)"), "{users}");
        assert!(users.contains("tAgentRoutingStatus") && users.contains("INTERACTING"));
        assert!(!users.contains("nOffered"));
    }

    #[test]
    fn kind_filters_metrics_only() {
        let text = run(Some(MetricKind::Duration), None);
        assert!(
            text.contains("tHandle") && !text.contains("nOffered") && !text.contains("DIMENSIONS")
        );
        let count = text.lines().filter(|l| l.starts_with('t')).count();
        assert_eq!(
            count,
            METRIC_CATALOG
                .iter()
                .filter(|m| m.kind() == MetricKind::Duration)
                .count()
        );
    }
}

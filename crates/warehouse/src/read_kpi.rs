//! A [`Selection`] read as one of its dataset's KPI feeds (`/v1/datasets/<dataset>_kpi/rows`,
//! `…_daily_kpi/rows`): the bucket bounds, a daily feed's `date`, the kept dimensions each with
//! its directory name, then the figures of `crate::kpi`, each computed from the sums of the
//! rows it covers (the same formulas as the store's KPI views).

use crate::kpi;
use crate::read::{ColumnType, OutputColumn, Selection};
use crate::schema::{quote, snake_case};

/// Which KPI feed of a dataset a selection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiFeed {
    /// `<dataset>_kpi`: the stored buckets (or the asked rollup of them).
    Buckets,
    /// `<dataset>_daily_kpi`: local days, read from the per-day table, with their `date`.
    Days,
}

fn column(name: &str, kind: ColumnType, role: &'static str, sql: String) -> OutputColumn {
    OutputColumn {
        name: name.to_string(),
        kind,
        source: None,
        role,
        operands: None,
        description: None,
        sql,
    }
}

impl Selection {
    pub(crate) fn kpi_columns(&self, feed: KpiFeed) -> Vec<OutputColumn> {
        let identity = self.identity();
        let operand = |c: &str| {
            if identity {
                quote(c)
            } else {
                format!("sum({})", quote(c))
            }
        };
        let (start, end) = if self.rollup {
            ("?1".to_string(), "?2".to_string())
        } else if identity {
            ("interval_start".to_string(), "interval_end".to_string())
        } else {
            (
                "interval_start".to_string(),
                "max(interval_end)".to_string(),
            )
        };
        let mut columns = vec![
            column("interval_start", ColumnType::Timestamp, "interval", start),
            column("interval_end", ColumnType::Timestamp, "interval", end),
        ];
        if feed == KpiFeed::Days {
            // Every row of a day's group has the day's date.
            let sql = if identity { "date" } else { "max(date)" };
            let mut date = column("date", ColumnType::Text, "date", sql.into());
            date.description = Some(format!(
                "The local day, in {} (the dataset's time zone).",
                self.spec.definition.time_zone
            ));
            columns.push(date);
        }
        let names = kpi::name_columns(&self.spec);
        for dimension in self.kept_dimensions() {
            let id = snake_case(&dimension);
            let mut kept = column(&id, ColumnType::Text, "dimension", quote(&id));
            kept.source = Some(dimension.clone());
            columns.push(kept);
            if let Some(name) = names.iter().find(|n| n.id_column == id) {
                let sql = format!(
                    "(SELECT name FROM {} WHERE id = {})",
                    name.directory,
                    quote(&id)
                );
                let mut named = column(&name.name, ColumnType::Text, "name", sql);
                named.source = Some(dimension.clone());
                columns.push(named);
            }
        }
        for figure in kpi::figures(&self.spec) {
            let kind = if figure.formula.is_integer() {
                ColumnType::Integer
            } else {
                ColumnType::Real
            };
            let mut out = column(&figure.name, kind, "kpi", figure.formula.sql(operand));
            out.description = Some(figure.meaning);
            columns.push(out);
        }
        columns
    }
}

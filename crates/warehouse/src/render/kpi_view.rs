//! The `SELECT` list of a dataset's KPI views (`<dataset>_kpi`, `<dataset>_daily_kpi`) in any
//! dialect: the same columns, names and figures (`crate::kpi`) whichever backend holds them.

use super::Dialect;
use crate::kpi;
use crate::schema::{TableSpec, quote};

/// Over `table` (aliased `t`): the row id, `leading` columns, the bucket bounds, each
/// dimension with its directory name beside it, then the figures.
pub(crate) fn kpi_select(d: &dyn Dialect, spec: &TableSpec, leading: &[&str]) -> String {
    let names = kpi::name_columns(spec);
    let mut select = vec![format!("t.{} AS id", d.row_id())];
    select.extend(leading.iter().map(|c| c.to_string()));
    select.extend(["interval_start".to_string(), "interval_end".to_string()]);
    for column in spec.dimension_columns() {
        select.push(format!("t.{}", quote(&column)));
        if let Some(name) = names.iter().find(|n| n.id_column == column) {
            // A null id (no queue) finds no name, so its name stays null too.
            select.push(format!(
                "(SELECT name FROM {} WHERE id = t.{}) AS {}",
                name.directory,
                quote(&column),
                quote(&name.name)
            ));
        }
    }
    select.extend(
        kpi::figures(spec)
            .iter()
            .map(|f| format!("{} AS {}", f.formula.render(d, quote), quote(&f.name))),
    );
    select.join(", ")
}

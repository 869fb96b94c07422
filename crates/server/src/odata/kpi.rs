//! The KPI entity sets of a dataset: `<dataset>_kpi` (its stored buckets) and
//! `<dataset>_daily_kpi` (per local day, with a `date`), read from the store's views of the
//! same names. Their columns, formulas and meanings are `warehouse::kpi`'s.

use warehouse::ReadSession;
use warehouse::days::DayGrid;
use warehouse::kpi::{self, meaning};
use warehouse::query::{Column, KeyPart};
use warehouse::read::DatasetInfo;

use super::{EdmType, EntitySet, ODataError, Property, expand};

/// Whether the store has the dataset's daily KPI view: only a dataset stored in buckets
/// shorter than a day has a per-day table, and only one whose view has its `date` (a store
/// that holds both `a` and `a_daily` keeps `a_daily_kpi` for `a_daily`).
pub fn has_daily_kpi(c: &dyn ReadSession, info: &DatasetInfo) -> Result<bool, ODataError> {
    if DayGrid::of(&info.spec).is_none() {
        return Ok(false);
    }
    let columns = c
        .directory_columns(&info.spec.daily_kpi_view_name())
        .map_err(ODataError::internal)?;
    Ok(columns.iter().any(|c| c.name == "date"))
}

pub fn kpi_set(info: &DatasetInfo) -> EntitySet {
    set(info, info.spec.kpi_view_name(), false)
}

pub fn daily_kpi_set(info: &DatasetInfo) -> EntitySet {
    set(info, info.spec.daily_kpi_view_name(), true)
}

fn set(info: &DatasetInfo, name: String, daily: bool) -> EntitySet {
    let spec = &info.spec;
    let zone = spec.definition.time_zone.name();
    let mut properties = vec![Property::column("id", EdmType::Int64, false).described(meaning::ID)];
    if daily {
        properties.push(
            Property::column("date", EdmType::Date, false).described(format!(
                "The local day, in {zone} (the dataset's time zone)."
            )),
        );
    }
    let (start, end) = if daily {
        (
            format!("Start of the local day (inclusive), UTC: midnight in {zone}."),
            "End of the local day (exclusive), UTC.".to_string(),
        )
    } else {
        (
            meaning::INTERVAL_START.to_string(),
            meaning::INTERVAL_END.to_string(),
        )
    };
    properties
        .push(Property::column("interval_start", EdmType::DateTimeOffset, false).described(start));
    properties
        .push(Property::column("interval_end", EdmType::DateTimeOffset, false).described(end));
    let names = kpi::name_columns(spec);
    for (dimension, column) in spec.dimensions.iter().zip(spec.dimension_columns()) {
        let what =
            genesys::catalog::dimension_info(dimension).map_or(dimension.as_str(), |d| d.meaning);
        properties.push(
            Property::column(&column, EdmType::String, true).described(format!("{what} (id).")),
        );
        if let Some(name) = names.iter().find(|n| n.id_column == column) {
            properties.push(
                Property::column(&name.name, EdmType::String, true).described(format!(
                    "The {}'s name, from the {} directory.",
                    name.noun, name.directory
                )),
            );
        }
    }
    for figure in kpi::figures(spec) {
        let kind = if figure.formula.is_integer() {
            EdmType::Int64
        } else {
            EdmType::Double
        };
        properties.push(Property::column(&figure.name, kind, true).described(figure.meaning));
    }
    let mut resume_key = vec![KeyPart::Column(Column::Named("interval_start".into()))];
    resume_key.extend(
        spec.dimension_columns()
            .into_iter()
            .map(KeyPart::TextOrEmpty),
    );
    EntitySet {
        table: name.clone(),
        name,
        key: "id".into(),
        properties,
        resume_key,
        navigation: expand::navigation(spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warehouse::{DatasetDefinition, TableSpec};

    #[test]
    fn every_property_is_described_and_the_daily_set_has_a_date() {
        let info = DatasetInfo {
            spec: TableSpec {
                name: "queue_performance".into(),
                dimensions: vec!["queueId".into(), "mediaType".into()],
                metrics: vec!["nOffered".into(), "tHandle".into()],
                definition: DatasetDefinition::conversation_aggregates("PT15M", "Europe/London"),
            },
            complete_through: None,
            rows: None,
            last_written_at: None,
        };
        let daily = daily_kpi_set(&info);
        assert_eq!(daily.name, "queue_performance_daily_kpi");
        let names: Vec<&str> = daily.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "date",
                "interval_start",
                "interval_end",
                "queue_id",
                "queue_name",
                "media_type",
                "offered",
                "handled",
                "avg_handle_s"
            ]
        );
        assert_eq!(daily.property("date").unwrap().kind, EdmType::Date);
        assert!(daily.properties.iter().all(|p| p.description.is_some()));
        assert_eq!(kpi_set(&info).name, "queue_performance_kpi");
        assert_eq!(daily.navigation.len(), 1);
    }
}

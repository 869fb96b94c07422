//! What each property means, for `$metadata`'s `Core.Description` annotations: a dataset's
//! columns from the catalog (as `/v1/datasets` says them), a KPI feed's from `warehouse::kpi`,
//! a directory's from the list below.

use warehouse::TableSpec;
use warehouse::read::Selection;

use super::Property;

pub const ROW_ID: &str = "Row id in the store (stable while the row is unchanged).";

/// Describes a dataset's properties by their columns' meanings.
pub fn dataset_columns(spec: &TableSpec, properties: &mut [Property]) {
    let columns = Selection::all(spec).columns();
    for property in properties.iter_mut().filter(|p| p.description.is_none()) {
        if let Some(column) = columns.iter().find(|c| c.name == property.name) {
            property.description = Some(format!("{}.", crate::routes::meaning(column)));
        }
    }
}

/// The meaning of a directory table's column.
pub fn directory_column(table: &str, column: &str) -> String {
    let noun = match table {
        "queues" => "queue",
        "users" => "user (agent)",
        "presences" => "presence definition",
        _ => "wrap-up code",
    };
    match column {
        "id" => format!("The {noun}'s Genesys Cloud id."),
        "name" => format!("The {noun}'s name."),
        "division_id" => format!("The id of the {noun}'s division."),
        "division_name" => format!("The name of the {noun}'s division."),
        "service_level_percentage" => {
            "The queue's service level target: the share of calls to answer in time, 0 to 1.".into()
        }
        "service_level_duration_ms" => {
            "The queue's service level target: answered within this many milliseconds.".into()
        }
        "member_count" => "Members of the queue.".into(),
        "email" => "The user's email address.".into(),
        "state" => "The user's state (active, inactive, deleted).".into(),
        "team_id" => "The id of the user's team.".into(),
        "team_name" => "The name of the user's team.".into(),
        "system_presence" => {
            "The system presence the presence belongs to (Available, On Queue, Break, …).".into()
        }
        other => format!("The {noun}'s {}.", other.replace('_', " ")),
    }
}

//! The catalog of users-aggregates metrics (time in presence and routing status), compiled in
//! from the SDK enums (genesys-users-and-details-api.md §1.2, §1.4): which metrics exist, the
//! qualifiers each is split by, and the one dimension they group and filter on. Queries are
//! validated here before any request, with "did you mean" suggestions.

/// Time in each system presence (`Available`, `On Queue`, …), one entry per presence.
pub const SYSTEM_PRESENCE: &str = "tSystemPresence";
/// Time in each organisation presence: the org's own secondary presences, by definition id.
pub const ORGANIZATION_PRESENCE: &str = "tOrganizationPresence";
/// Time in each routing status (`IDLE`, `INTERACTING`, …), one entry per status.
pub const AGENT_ROUTING_STATUS: &str = "tAgentRoutingStatus";

/// The one dimension users aggregates group and filter by.
pub const USER_ID: &str = "userId";

/// The column a `tOrganizationPresence` qualifier is stored in: its values are ids that differ
/// per org, so they are rows of a narrow table, not columns.
pub const ORGANIZATION_PRESENCE_ID: &str = "organizationPresenceId";

/// The qualifiers of `tSystemPresence`, as analytics spells them (§1.4).
pub const SYSTEM_PRESENCES: [&str; 10] = [
    "AVAILABLE",
    "AWAY",
    "BUSY",
    "OFFLINE",
    "IDLE",
    "ON_QUEUE",
    "MEAL",
    "TRAINING",
    "MEETING",
    "BREAK",
];

/// The qualifiers of `tAgentRoutingStatus` (§1.4).
pub const ROUTING_STATUSES: [&str; 5] = [
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
];

/// A users-aggregates metric: its name, what it measures and how its qualifiers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsersMetric {
    pub name: &'static str,
    pub meaning: &'static str,
    pub qualifiers: Qualifiers,
}

/// How a metric's per-qualifier entries are laid out in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifiers {
    /// A fixed set, each its own column (`system_presence_on_queue_ms`).
    Columns {
        /// What begins each column's name.
        stem: &'static str,
        values: &'static [&'static str],
    },
    /// Org-specific ids: one row per qualifier, the qualifier in the named dimension column.
    Rows { dimension: &'static str },
}

/// Every users-aggregates metric, sorted by name.
pub const USERS_METRIC_CATALOG: [UsersMetric; 3] = [
    UsersMetric {
        name: AGENT_ROUTING_STATUS,
        meaning: "Milliseconds in each routing status (off queue, idle, interacting, not responding, communicating)",
        qualifiers: Qualifiers::Columns {
            stem: "routing_status",
            values: &ROUTING_STATUSES,
        },
    },
    UsersMetric {
        name: ORGANIZATION_PRESENCE,
        meaning: "Milliseconds in each of the org's own presences, by presence definition id",
        qualifiers: Qualifiers::Rows {
            dimension: ORGANIZATION_PRESENCE_ID,
        },
    },
    UsersMetric {
        name: SYSTEM_PRESENCE,
        meaning: "Milliseconds in each system presence (available, on queue, break, meal, …)",
        qualifiers: Qualifiers::Columns {
            stem: "system_presence",
            values: &SYSTEM_PRESENCES,
        },
    },
];

/// The names of [`USERS_METRIC_CATALOG`].
pub const USERS_METRICS: [&str; 3] = [AGENT_ROUTING_STATUS, ORGANIZATION_PRESENCE, SYSTEM_PRESENCE];

pub fn users_metric_info(name: &str) -> Option<&'static UsersMetric> {
    USERS_METRIC_CATALOG.iter().find(|m| m.name == name)
}

pub fn is_users_metric(name: &str) -> bool {
    users_metric_info(name).is_some()
}

pub fn suggest_users_metric(unknown: &str) -> Vec<&'static str> {
    crate::catalog::suggest(unknown, USERS_METRICS.iter().copied())
}

/// The column of one qualifier of a metric laid out in columns: `system_presence_on_queue_ms`.
pub fn qualifier_column(stem: &str, qualifier: &str) -> String {
    format!("{stem}_{}_ms", qualifier.to_ascii_lowercase())
}

/// The dimension a metric's qualifiers are stored in, if it keeps them as rows.
pub fn qualifier_dimension(metric: &str) -> Option<&'static str> {
    match users_metric_info(metric)?.qualifiers {
        Qualifiers::Rows { dimension } => Some(dimension),
        Qualifiers::Columns { .. } => None,
    }
}

/// The metric whose qualifiers a dimension holds, if it is such a dimension.
pub fn metric_of_qualifier_dimension(dimension: &str) -> Option<&'static str> {
    USERS_METRIC_CATALOG
        .iter()
        .find(|m| matches!(m.qualifiers, Qualifiers::Rows { dimension: d } if d == dimension))
        .map(|m| m.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_named() {
        assert!(
            USERS_METRIC_CATALOG
                .windows(2)
                .all(|w| w[0].name < w[1].name)
        );
        let names: Vec<_> = USERS_METRIC_CATALOG.iter().map(|m| m.name).collect();
        assert_eq!(names, USERS_METRICS);
    }

    #[test]
    fn suggestions_find_near_misses() {
        assert_eq!(suggest_users_metric("tSystemPresense"), ["tSystemPresence"]);
        assert_eq!(
            suggest_users_metric("tAgentRoutingStatuses"),
            ["tAgentRoutingStatus"]
        );
        assert!(suggest_users_metric("nOffered").is_empty());
    }

    #[test]
    fn qualifiers_become_columns_or_rows() {
        assert_eq!(
            qualifier_column("system_presence", "ON_QUEUE"),
            "system_presence_on_queue_ms"
        );
        assert_eq!(
            qualifier_dimension(ORGANIZATION_PRESENCE),
            Some(ORGANIZATION_PRESENCE_ID)
        );
        assert_eq!(qualifier_dimension(SYSTEM_PRESENCE), None);
        assert_eq!(
            metric_of_qualifier_dimension(ORGANIZATION_PRESENCE_ID),
            Some(ORGANIZATION_PRESENCE)
        );
        assert_eq!(metric_of_qualifier_dimension("queueId"), None);
    }
}

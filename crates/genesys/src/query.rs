//! Builds an aggregates query and validates it against the catalog before any request is sent,
//! so a typo is caught locally with a suggestion instead of costing a request and a 400.

use crate::aggregates::AggregationQuery;
use crate::catalog::{self, dimension_info, metric_info};
use crate::filter::{Filter, Predicate};
use crate::granularity::{Granularity, time_zone};
use crate::interval::Interval;
use crate::users_catalog;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryValidationError {
    #[error("metrics: at least one metric is required")]
    NoMetrics,
    #[error("metrics: unknown metric `{name}`{}", hint(suggestions))]
    UnknownMetric {
        name: String,
        suggestions: Vec<&'static str>,
    },
    #[error("{field}: unknown dimension `{name}`{}", hint(suggestions))]
    UnknownDimension {
        field: &'static str,
        name: String,
        suggestions: Vec<&'static str>,
    },
    #[error("groupBy: dimension `{0}` can be filtered on but not grouped by")]
    NotGroupable(String),
    #[error("groupBy: dimension `{0}` is listed twice")]
    DuplicateGroupBy(String),
    #[error("filter: a predicate has no dimension")]
    PredicateWithoutDimension,
    #[error("filter: predicate on `{0}` matches no value (give a value, or use exists/notExists)")]
    PredicateWithoutValue(String),
    #[error("interval: {0}")]
    Interval(String),
    #[error("granularity: {0}")]
    Granularity(String),
    #[error("timeZone: {0}")]
    TimeZone(String),
    #[error(
        "metrics: `{name}` is a conversation metric; users aggregates take {}",
        crate::users_catalog::USERS_METRICS.join(", ")
    )]
    ConversationMetricInUsers { name: String },
    #[error("{field}: users aggregates group and filter by userId only, not `{name}`")]
    NotAUsersDimension { field: &'static str, name: String },
}

fn hint(suggestions: &[&str]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(" (did you mean one of: {}?)", many.join(", ")),
    }
}

/// Checks every name and value of a query against the catalog.
pub fn validate(query: &AggregationQuery) -> Result<(), QueryValidationError> {
    validate_timing(query)?;
    validate_metrics(&query.metrics)?;
    validate_group_by(&query.group_by)?;
    if let Some(filter) = &query.filter {
        validate_filter(filter)?;
    }
    Ok(())
}

/// The interval, granularity and time zone every aggregates query has.
fn validate_timing(query: &AggregationQuery) -> Result<(), QueryValidationError> {
    query
        .interval
        .parse::<Interval>()
        .map_err(|e| QueryValidationError::Interval(e.to_string()))?;
    if let Some(g) = &query.granularity {
        g.parse::<Granularity>()
            .map_err(|e| QueryValidationError::Granularity(e.to_string()))?;
    }
    time_zone(query.time_zone.as_deref())
        .map_err(|e| QueryValidationError::TimeZone(e.to_string()))?;
    Ok(())
}

/// Validates a users-aggregates query (`UserAggregationQuery`): the users metrics, and userId
/// as the only dimension (genesys-users-and-details-api.md §1.2).
pub fn validate_users(query: &AggregationQuery) -> Result<(), QueryValidationError> {
    validate_timing(query)?;
    if query.metrics.is_empty() {
        return Err(QueryValidationError::NoMetrics);
    }
    if let Some(name) = query
        .metrics
        .iter()
        .find(|m| !users_catalog::is_users_metric(m))
    {
        if metric_info(name).is_some() {
            return Err(QueryValidationError::ConversationMetricInUsers { name: name.clone() });
        }
        return Err(QueryValidationError::UnknownMetric {
            name: name.clone(),
            suggestions: users_catalog::suggest_users_metric(name),
        });
    }
    let not_user = |field: &'static str, name: &str| QueryValidationError::NotAUsersDimension {
        field,
        name: name.to_string(),
    };
    for (i, name) in query.group_by.iter().enumerate() {
        if name != users_catalog::USER_ID {
            return Err(not_user("groupBy", name));
        }
        if query.group_by[..i].contains(name) {
            return Err(QueryValidationError::DuplicateGroupBy(name.clone()));
        }
    }
    for predicate in query.filter.iter().flat_map(|f| f.all_predicates()) {
        validate_predicate(predicate)?;
        let name = predicate.dimension.as_deref().unwrap_or_default();
        if name != users_catalog::USER_ID {
            return Err(not_user("filter", name));
        }
    }
    Ok(())
}

fn validate_metrics(metrics: &[String]) -> Result<(), QueryValidationError> {
    if metrics.is_empty() {
        return Err(QueryValidationError::NoMetrics);
    }
    match metrics.iter().find(|m| metric_info(m).is_none()) {
        Some(name) => Err(QueryValidationError::UnknownMetric {
            name: name.clone(),
            suggestions: catalog::suggest_metric(name),
        }),
        None => Ok(()),
    }
}

fn known_dimension(
    field: &'static str,
    name: &str,
) -> Result<&'static catalog::Dimension, QueryValidationError> {
    dimension_info(name).ok_or_else(|| QueryValidationError::UnknownDimension {
        field,
        name: name.to_string(),
        suggestions: catalog::suggest_dimension(name),
    })
}

fn validate_group_by(group_by: &[String]) -> Result<(), QueryValidationError> {
    for (i, name) in group_by.iter().enumerate() {
        if !known_dimension("groupBy", name)?.groupable {
            return Err(QueryValidationError::NotGroupable(name.clone()));
        }
        if group_by[..i].contains(name) {
            return Err(QueryValidationError::DuplicateGroupBy(name.clone()));
        }
    }
    Ok(())
}

fn validate_filter(filter: &Filter) -> Result<(), QueryValidationError> {
    for predicate in filter.all_predicates() {
        validate_predicate(predicate)?;
    }
    Ok(())
}

fn validate_predicate(predicate: &Predicate) -> Result<(), QueryValidationError> {
    let name = predicate
        .dimension
        .as_deref()
        .ok_or(QueryValidationError::PredicateWithoutDimension)?;
    known_dimension("filter", name)?;
    let needs_value = matches!(
        predicate.operator.unwrap_or_default(),
        crate::filter::Operator::Matches
    );
    if needs_value && predicate.value.is_none() && predicate.range.is_none() {
        return Err(QueryValidationError::PredicateWithoutValue(
            name.to_string(),
        ));
    }
    Ok(())
}

/// A fluent way to write a valid aggregates query.
#[derive(Debug, Clone, Default)]
pub struct AggregateQueryBuilder {
    query: AggregationQuery,
    predicates: Vec<Predicate>,
}

impl AggregateQueryBuilder {
    pub fn new(interval: Interval) -> Self {
        let query = AggregationQuery {
            interval: interval.to_string(),
            ..AggregationQuery::default()
        };
        Self {
            query,
            predicates: Vec::new(),
        }
    }

    pub fn metrics<S: Into<String>>(mut self, metrics: impl IntoIterator<Item = S>) -> Self {
        self.query
            .metrics
            .extend(metrics.into_iter().map(Into::into));
        self
    }

    pub fn group_by<S: Into<String>>(mut self, dimensions: impl IntoIterator<Item = S>) -> Self {
        self.query
            .group_by
            .extend(dimensions.into_iter().map(Into::into));
        self
    }

    pub fn granularity(mut self, granularity: &Granularity) -> Self {
        self.query.granularity = Some(granularity.to_string());
        self
    }

    pub fn time_zone(mut self, tz: impl Into<String>) -> Self {
        self.query.time_zone = Some(tz.into());
        self
    }

    /// Adds `dimension = value`; predicates on the same dimension are ORed, different ones ANDed.
    pub fn filter_eq(mut self, dimension: &str, value: &str) -> Self {
        self.predicates
            .push(Predicate::dimension_matches(dimension, value));
        self
    }

    pub fn build(self) -> Result<AggregationQuery, QueryValidationError> {
        let mut query = self.query;
        query.filter = filter_from_equalities(self.predicates);
        validate(&query)?;
        Ok(query)
    }
}

fn filter_from_equalities(predicates: Vec<Predicate>) -> Option<Filter> {
    if predicates.is_empty() {
        return None;
    }
    let mut by_dimension: Vec<(String, Vec<Predicate>)> = Vec::new();
    for p in predicates {
        let dim = p.dimension.clone().unwrap_or_default();
        match by_dimension.iter_mut().find(|(d, _)| *d == dim) {
            Some((_, group)) => group.push(p),
            None => by_dimension.push((dim, vec![p])),
        }
    }
    let mut filter = Filter::and(Vec::new());
    for (_, group) in by_dimension {
        if group.len() == 1 {
            filter.predicates.extend(group);
        } else {
            filter.clauses.push(crate::filter::Clause {
                kind: crate::filter::FilterType::Or,
                predicates: group,
            });
        }
    }
    Some(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> AggregateQueryBuilder {
        AggregateQueryBuilder::new("2024-05-01T00:00:00Z/2024-05-02T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn builds_a_valid_query() {
        let q = builder()
            .metrics(["nOffered", "tHandle"])
            .group_by(["queueId", "mediaType"])
            .granularity(&"PT15M".parse().unwrap())
            .time_zone("Europe/London")
            .filter_eq("mediaType", "voice")
            .filter_eq("mediaType", "chat")
            .filter_eq("queueId", "q1")
            .build()
            .unwrap();
        assert_eq!(q.granularity.as_deref(), Some("PT15M"));
        let filter = q.filter.unwrap();
        assert_eq!(filter.clauses.len(), 1);
        assert_eq!(filter.clauses[0].predicates.len(), 2);
        assert_eq!(filter.predicates.len(), 1);
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let e = builder().metrics(["nAnswered"]).build().unwrap_err();
        assert_eq!(
            e.to_string(),
            "metrics: unknown metric `nAnswered` (did you mean `tAnswered`?)"
        );
        let e = builder()
            .metrics(["nOffered"])
            .group_by(["queueid"])
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("groupBy: unknown dimension `queueid` (did you mean `queueId`"),
            "{e}"
        );
        let e = builder()
            .metrics(["nOffered"])
            .filter_eq("wrapupCode", "x")
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("filter: unknown dimension `wrapupCode`"),
            "{e}"
        );
    }

    #[test]
    fn structural_faults_name_the_field() {
        assert_eq!(
            builder().build().unwrap_err(),
            QueryValidationError::NoMetrics
        );
        let e = builder()
            .metrics(["nOffered"])
            .group_by(["canonicalExternalContactId"])
            .build()
            .unwrap_err();
        assert!(matches!(e, QueryValidationError::NotGroupable(_)));
        let e = builder()
            .metrics(["nOffered"])
            .time_zone("Mars/Olympus")
            .build()
            .unwrap_err();
        assert!(e.to_string().starts_with("timeZone:"), "{e}");
        let mut q = builder().metrics(["nOffered"]).build().unwrap();
        q.granularity = Some("15m".into());
        assert!(
            validate(&q)
                .unwrap_err()
                .to_string()
                .starts_with("granularity:")
        );
        q.granularity = None;
        q.interval = "yesterday".into();
        assert!(
            validate(&q)
                .unwrap_err()
                .to_string()
                .starts_with("interval:")
        );
    }

    #[test]
    fn users_queries_take_users_metrics_and_user_ids_only() {
        let query = |metrics: &[&str], group_by: &[&str]| AggregationQuery {
            interval: "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z".into(),
            granularity: Some("PT15M".into()),
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
            group_by: group_by.iter().map(|d| d.to_string()).collect(),
            ..AggregationQuery::default()
        };
        validate_users(&query(
            &["tSystemPresence", "tAgentRoutingStatus"],
            &["userId"],
        ))
        .unwrap();
        let e = validate_users(&query(&["tSystemPresense"], &["userId"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metrics: unknown metric `tSystemPresense` (did you mean `tSystemPresence`?)"
        );
        let e = validate_users(&query(&["nOffered"], &[])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("metrics: `nOffered` is a conversation metric; users aggregates take tAgentRoutingStatus"),
            "{e}"
        );
        let e = validate_users(&query(&["tSystemPresence"], &["queueId"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "groupBy: users aggregates group and filter by userId only, not `queueId`"
        );
        let mut filtered = query(&["tSystemPresence"], &["userId"]);
        filtered.filter = Some(Filter::and(vec![Predicate::dimension_matches(
            "mediaType",
            "voice",
        )]));
        assert!(
            validate_users(&filtered)
                .unwrap_err()
                .to_string()
                .starts_with("filter: ")
        );
        let e = validate_users(&query(&[], &[])).unwrap_err();
        assert_eq!(e, QueryValidationError::NoMetrics);
        // And the conversation metrics' validator refuses the users metrics.
        assert!(validate(&query(&["tSystemPresence"], &[])).is_err());
    }
}

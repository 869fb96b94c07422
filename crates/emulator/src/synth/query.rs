//! Validation of aggregate queries, exactly as the API refuses them (400 `bad.request` naming the
//! field and value), and compilation into a plan over small integer codes.

use genesys::aggregates::{AggregationQuery, AggregationView};
use genesys::catalog;
use genesys::filter::{Filter, FilterType, NumericRange, Operator, Predicate};
use genesys::granularity::{Buckets, time_zone};
use genesys::{Granularity, Interval};

use super::QueryError;
use super::codes::Metric;
use super::dims::{ABSENT, Dim, Vocabulary, carried};
use super::model::{ConvRec, SessRec};

/// Most buckets one query may lay (a leap year of PT15M is 35,136).
pub const MAX_BUCKETS: usize = 50_000;
/// Longest aggregate interval served. Genesys documents no limit; this guards the emulator
/// against intervals whose generation would take minutes (a year takes about 2 CPU seconds).
pub const MAX_AGGREGATE_DAYS: i64 = 800;
/// Marks a metric the query does not ask for.
pub const NOT_REQUESTED: u8 = u8::MAX;

pub fn bad_request(message: impl Into<String>) -> QueryError {
    QueryError {
        status: 400,
        code: "bad.request",
        message: message.into(),
    }
}

/// A requested metric: its name and, if the data ever emits it, its code.
#[derive(Debug, Clone)]
pub struct RequestedMetric {
    pub name: String,
    pub emitted: Option<Metric>,
}

#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub target: Option<Metric>,
    pub range: NumericRange,
}

/// A validated aggregate query.
#[derive(Debug, Clone)]
pub struct Plan {
    pub interval: Interval,
    pub buckets: Buckets,
    /// groupBy names with the dimension each names (None: valid but never carried).
    pub group_by: Vec<(String, Option<Dim>)>,
    pub filter: Option<CompiledFilter>,
    pub metrics: Vec<RequestedMetric>,
    pub views: Vec<View>,
    /// Per metric code: its index among the requested metrics, or NOT_REQUESTED.
    pub metric_index: [u8; 64],
    /// Per metric code: the views targeting it (bit set over view indices).
    pub view_mask: [u64; 64],
}

impl Plan {
    /// Cells per (group, bucket): one per requested metric, then one per view.
    pub fn cells(&self) -> usize {
        self.metrics.len() + self.views.len()
    }
}

pub fn plan(query: &AggregationQuery, vocab: &Vocabulary) -> Result<Plan, QueryError> {
    let interval = parse_interval(&query.interval)?;
    if interval.duration_ms() > MAX_AGGREGATE_DAYS * 86_400_000 {
        return Err(bad_request(format!(
            "interval {interval} is longer than {MAX_AGGREGATE_DAYS} days; query it in smaller intervals"
        )));
    }
    let metrics = parse_metrics(&query.metrics)?;
    let granularity = match &query.granularity {
        Some(g) => Some(
            g.parse::<Granularity>()
                .map_err(|e| bad_request(format!("Invalid granularity `{g}`: {e}")))?,
        ),
        None => None,
    };
    let tz = time_zone(query.time_zone.as_deref())
        .map_err(|e| bad_request(format!("Invalid timeZone: {e}")))?;
    let buckets = Buckets::new(interval, granularity.as_ref(), &tz, MAX_BUCKETS)
        .map_err(|e| bad_request(format!("Invalid granularity: {e}")))?;
    let group_by = query
        .group_by
        .iter()
        .map(|d| known_dimension(d, "groupBy").map(|dim| (d.clone(), dim)))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = query
        .filter
        .as_ref()
        .map(|f| CompiledFilter::compile(f, vocab))
        .transpose()?;
    if let Some(other) = query
        .alternate_time_dimension
        .as_deref()
        .filter(|d| *d != "eventTime")
    {
        return Err(bad_request(format!(
            "Invalid alternateTimeDimension `{other}` (only eventTime)"
        )));
    }
    if let Some(other) = query
        .query_type
        .as_deref()
        .filter(|t| !["groupBy", "topN", "bottomN"].contains(t))
    {
        return Err(bad_request(format!(
            "Invalid queryType `{other}` (groupBy, topN or bottomN)"
        )));
    }
    let views = query
        .views
        .iter()
        .map(parse_view)
        .collect::<Result<Vec<_>, _>>()?;
    if views.len() > 64 {
        return Err(bad_request("At most 64 views may be requested"));
    }
    let mut metric_index = [NOT_REQUESTED; 64];
    for (i, m) in metrics.iter().enumerate() {
        if let Some(code) = m.emitted {
            metric_index[code as usize] = i as u8;
        }
    }
    let mut view_mask = [0u64; 64];
    for (i, v) in views.iter().enumerate() {
        if let Some(code) = v.target {
            view_mask[code as usize] |= 1 << i;
        }
    }
    Ok(Plan {
        interval,
        buckets,
        group_by,
        filter,
        metrics,
        views,
        metric_index,
        view_mask,
    })
}

pub fn parse_interval(raw: &str) -> Result<Interval, QueryError> {
    if raw.trim().is_empty() {
        return Err(bad_request("interval is required (ISO-8601 start/end)"));
    }
    raw.parse::<Interval>()
        .map_err(|e| bad_request(format!("Invalid interval: {e}")))
}

fn parse_metrics(names: &[String]) -> Result<Vec<RequestedMetric>, QueryError> {
    if names.is_empty() {
        return Err(bad_request(
            "metrics is required and must name at least one metric",
        ));
    }
    if names.len() > 64 {
        return Err(bad_request("At most 64 metrics may be requested"));
    }
    names
        .iter()
        .map(|name| {
            if !catalog::is_metric(name) {
                return Err(bad_request(format!("Unknown metric `{name}` in metrics")));
            }
            Ok(RequestedMetric {
                name: name.clone(),
                emitted: Metric::parse(name),
            })
        })
        .collect()
}

fn known_dimension(name: &str, field: &str) -> Result<Option<Dim>, QueryError> {
    if !catalog::is_dimension(name) {
        return Err(bad_request(format!(
            "Unknown dimension `{name}` in {field}"
        )));
    }
    Ok(carried(name))
}

fn parse_view(v: &AggregationView) -> Result<View, QueryError> {
    if !catalog::is_metric(&v.target) {
        return Err(bad_request(format!(
            "Unknown metric `{}` in views.target",
            v.target
        )));
    }
    if v.name.is_empty() || catalog::is_metric(&v.name) {
        return Err(bad_request(format!(
            "View name `{}` must be set and must not be a metric name",
            v.name
        )));
    }
    if v.function != "rangeBound" {
        return Err(bad_request(format!(
            "Unknown view function `{}` (only rangeBound)",
            v.function
        )));
    }
    let range = v
        .range
        .ok_or_else(|| bad_request(format!("View `{}` needs a range", v.name)))?;
    Ok(View {
        name: v.name.clone(),
        target: Metric::parse(&v.target),
        range,
    })
}

/// How a `matches` predicate compares.
#[derive(Debug, Clone)]
enum Matcher {
    Code(u64),
    Rendered(String),
    Never,
}

#[derive(Debug, Clone)]
struct CompiledPredicate {
    dim: Option<Dim>,
    operator: Operator,
    matcher: Matcher,
}

/// A filter over dimension codes.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    kind: FilterType,
    predicates: Vec<CompiledPredicate>,
    clauses: Vec<(FilterType, Vec<CompiledPredicate>)>,
}

impl CompiledFilter {
    pub fn compile(filter: &Filter, vocab: &Vocabulary) -> Result<Self, QueryError> {
        let compile_all = |ps: &[Predicate]| {
            ps.iter()
                .map(|p| compile_predicate(p, vocab))
                .collect::<Result<Vec<_>, _>>()
        };
        if filter.predicates.is_empty() && filter.clauses.is_empty() {
            return Err(bad_request("filter needs at least one predicate or clause"));
        }
        let mut clauses = Vec::new();
        for c in &filter.clauses {
            if c.predicates.is_empty() {
                return Err(bad_request("filter.clauses[].predicates must not be empty"));
            }
            clauses.push((c.kind, compile_all(&c.predicates)?));
        }
        Ok(Self {
            kind: filter.kind,
            predicates: compile_all(&filter.predicates)?,
            clauses,
        })
    }

    pub fn matches(&self, vocab: &Vocabulary, c: &ConvRec, s: &SessRec, now: i64) -> bool {
        let eval = |p: &CompiledPredicate| p.matches(vocab, c, s, now);
        let clause =
            |(kind, ps): &(FilterType, Vec<CompiledPredicate>)| combine(*kind, ps.iter().map(eval));
        combine(
            self.kind,
            self.predicates
                .iter()
                .map(eval)
                .chain(self.clauses.iter().map(clause)),
        )
    }
}

fn combine(kind: FilterType, mut items: impl Iterator<Item = bool>) -> bool {
    match kind {
        FilterType::And => items.all(|b| b),
        FilterType::Or => items.any(|b| b),
    }
}

fn compile_predicate(p: &Predicate, vocab: &Vocabulary) -> Result<CompiledPredicate, QueryError> {
    if let Some(kind) = p.kind.as_deref().filter(|k| *k != "dimension") {
        return Err(bad_request(format!(
            "Predicate type `{kind}` is not supported in aggregate filters"
        )));
    }
    if p.metric.is_some() {
        return Err(bad_request(
            "Aggregate filter predicates take a dimension, not a metric",
        ));
    }
    let name = p
        .dimension
        .as_deref()
        .ok_or_else(|| bad_request("filter predicate needs a dimension"))?;
    let dim = known_dimension(name, "filter")?;
    let operator = p.operator.unwrap_or_default();
    let matcher = match operator {
        Operator::Matches => {
            let value = p.value.as_deref().ok_or_else(|| {
                bad_request(format!(
                    "filter predicate on `{name}` with operator matches needs a value"
                ))
            })?;
            match dim {
                Some(Dim::ConversationId | Dim::SessionId) => Matcher::Rendered(value.to_string()),
                Some(d) => vocab.parse(d, value).map_or(Matcher::Never, Matcher::Code),
                None => Matcher::Never,
            }
        }
        Operator::Exists | Operator::NotExists => Matcher::Never,
    };
    Ok(CompiledPredicate {
        dim,
        operator,
        matcher,
    })
}

impl CompiledPredicate {
    fn matches(&self, vocab: &Vocabulary, c: &ConvRec, s: &SessRec, now: i64) -> bool {
        let value = self.dim.map_or(ABSENT, |d| vocab.value(d, c, s, now));
        match self.operator {
            Operator::Exists => value != ABSENT,
            Operator::NotExists => value == ABSENT,
            Operator::Matches => match &self.matcher {
                _ if value == ABSENT => false,
                Matcher::Code(code) => *code == value,
                Matcher::Rendered(text) => {
                    self.dim.is_some_and(|d| vocab.render(d, value) == *text)
                }
                Matcher::Never => false,
            },
        }
    }
}

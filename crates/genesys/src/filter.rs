//! The filter shape shared by analytics queries: `{type, clauses[], predicates[]}`, clauses
//! holding predicates, predicates naming a dimension (or, for details, a metric) with an operator.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operator {
    #[default]
    Matches,
    Exists,
    NotExists,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NumericRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

impl NumericRange {
    pub fn contains(&self, v: f64) -> bool {
        self.gt.is_none_or(|x| v > x)
            && self.gte.is_none_or(|x| v >= x)
            && self.lt.is_none_or(|x| v < x)
            && self.lte.is_none_or(|x| v <= x)
    }
}

/// One condition. Aggregate predicates use `dimension`; detail predicates may use `metric`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<NumericRange>,
}

impl Predicate {
    pub fn dimension_matches(dimension: &str, value: &str) -> Self {
        Self {
            dimension: Some(dimension.into()),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    pub fn dimension_exists(dimension: &str) -> Self {
        Self {
            dimension: Some(dimension.into()),
            operator: Some(Operator::Exists),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clause {
    #[serde(rename = "type")]
    pub kind: FilterType,
    pub predicates: Vec<Predicate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(rename = "type")]
    pub kind: FilterType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<Clause>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<Predicate>,
}

impl Filter {
    pub fn and(predicates: Vec<Predicate>) -> Self {
        Self {
            kind: FilterType::And,
            clauses: Vec::new(),
            predicates,
        }
    }

    pub fn or(predicates: Vec<Predicate>) -> Self {
        Self {
            kind: FilterType::Or,
            clauses: Vec::new(),
            predicates,
        }
    }

    /// Evaluates the filter given how one predicate evaluates.
    pub fn evaluate(&self, predicate: impl Fn(&Predicate) -> bool) -> bool {
        let clause = |c: &Clause| combine(c.kind, c.predicates.iter().map(&predicate));
        combine(
            self.kind,
            self.predicates
                .iter()
                .map(&predicate)
                .chain(self.clauses.iter().map(clause)),
        )
    }

    pub fn all_predicates(&self) -> impl Iterator<Item = &Predicate> {
        self.predicates
            .iter()
            .chain(self.clauses.iter().flat_map(|c| c.predicates.iter()))
    }
}

fn combine(kind: FilterType, mut items: impl Iterator<Item = bool>) -> bool {
    match kind {
        FilterType::And => items.all(|b| b),
        FilterType::Or => items.any(|b| b),
    }
}

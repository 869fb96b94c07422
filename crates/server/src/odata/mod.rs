//! OData v4 (read-only) at `/odata`, for Power BI and Excel "OData Feed": a service document,
//! CSDL `$metadata` (every property described, relationships to the directories declared), and
//! entity sets (one per dataset, per KPI feed of a dataset — `<dataset>_kpi`,
//! `<dataset>_daily_kpi` — and per directory) with `$select`, `$filter`, `$orderby`, `$top`,
//! `$skip`, `$count`, `$expand` and server-driven paging.
//!
//! Nothing a client sends reaches SQL as text: property names are looked up in the entity
//! type's own list (built from the store's validated dataset specs and directory tables), and
//! every value is a bound parameter.

mod describe;
pub mod expand;
pub mod filter;
mod kpi;
pub mod metadata;
pub mod query;
pub mod routes;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use warehouse::ReadSession;
use warehouse::query::{Column, KeyPart};
use warehouse::schema::is_valid_identifier;

pub const ODATA_VERSION: &str = "4.0";
pub const JSON_MINIMAL: &str = "application/json;odata.metadata=minimal";
pub const NAMESPACE: &str = "GenesysBi";
/// The directory tables exposed next to the datasets.
pub const DIRECTORIES: &[&str] = &["queues", "users", "wrapup_codes", "presences"];

/// The EDM primitive types the store's columns map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdmType {
    String,
    Int64,
    Double,
    DateTimeOffset,
    /// A calendar date (`2024-05-01`), stored as that text.
    Date,
}

impl EdmType {
    pub fn name(self) -> &'static str {
        match self {
            EdmType::String => "Edm.String",
            EdmType::Int64 => "Edm.Int64",
            EdmType::Double => "Edm.Double",
            EdmType::DateTimeOffset => "Edm.DateTimeOffset",
            EdmType::Date => "Edm.Date",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, EdmType::Int64 | EdmType::Double)
    }
}

/// One property of an entity type and the SQL expression (a trusted identifier) behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub kind: EdmType,
    pub nullable: bool,
    /// What it means, for `$metadata`'s `Core.Description`.
    pub description: Option<String>,
    stored: Column,
}

impl Property {
    fn column(name: &str, kind: EdmType, nullable: bool) -> Self {
        Self {
            name: name.to_string(),
            kind,
            nullable,
            description: None,
            stored: Column::Named(name.to_string()),
        }
    }

    fn described(self, description: impl Into<String>) -> Self {
        Self {
            description: Some(description.into()),
            ..self
        }
    }

    /// Where the store keeps the property: only ever one of the store's own names.
    pub fn stored(&self) -> &Column {
        &self.stored
    }
}

/// An entity set and its entity type (one table of the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySet {
    pub name: String,
    pub table: String,
    /// The key property's name (Power BI requires a key).
    pub key: String,
    pub properties: Vec<Property>,
    /// The SQL expressions (trusted) of the table's unique order, matching its unique index:
    /// pages without `$orderby` follow it and resume after the last row served.
    pub resume_key: Vec<KeyPart>,
    /// Its relationships to the directory sets (a fact set's `queue_id` → `queues`, …).
    pub navigation: Vec<expand::Navigation>,
}

impl EntitySet {
    pub fn type_name(&self) -> String {
        self.name.clone()
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn key_property(&self) -> &Property {
        self.property(&self.key)
            .expect("an entity set always lists its key property")
    }

    /// A dataset table: a synthetic `id` (the row id), the bucket bounds, dimensions, stats.
    fn from_dataset(info: &warehouse::read::DatasetInfo) -> Self {
        let spec = &info.spec;
        let mut properties = vec![Property {
            name: "id".into(),
            kind: EdmType::Int64,
            nullable: false,
            description: Some(describe::ROW_ID.into()),
            stored: Column::RowId,
        }];
        // A record still open has no end yet.
        let open_ended = spec.record_kind().is_some();
        properties.push(Property::column(
            "interval_start",
            EdmType::DateTimeOffset,
            false,
        ));
        properties.push(Property::column(
            "interval_end",
            EdmType::DateTimeOffset,
            open_ended,
        ));
        for column in spec.dimension_columns() {
            properties.push(Property::column(&column, EdmType::String, true));
        }
        for column in spec.metric_columns() {
            let kind = if column.sql_type == "INTEGER" {
                EdmType::Int64
            } else {
                EdmType::Double
            };
            properties.push(Property::column(&column.column, kind, true));
        }
        describe::dataset_columns(spec, &mut properties);
        // The dataset's unique key index: bucket start, then each dimension with a missing
        // value as ''. A window rewritten between two pages keeps each bucket and group where
        // it was in this order, while its row ids change.
        let mut resume_key = vec![KeyPart::Column(Column::Named("interval_start".into()))];
        resume_key.extend(
            spec.dimension_columns()
                .into_iter()
                .map(KeyPart::TextOrEmpty),
        );
        Self {
            name: spec.name.clone(),
            table: spec.name.clone(),
            key: "id".into(),
            properties,
            resume_key,
            navigation: expand::navigation(spec),
        }
    }

    /// A directory table, typed from its declared column types; `id` is its natural key.
    fn from_directory(c: &dyn ReadSession, table: &str) -> Result<Self, ODataError> {
        let columns = c.directory_columns(table).map_err(ODataError::internal)?;
        let properties = columns
            .into_iter()
            // Only safe names become identifiers; the store's own schema has no others.
            .filter(|column| is_valid_identifier(&column.name))
            .map(|column| {
                let kind = match column.declared.to_ascii_uppercase().as_str() {
                    "INTEGER" => EdmType::Int64,
                    "REAL" => EdmType::Double,
                    _ => EdmType::String,
                };
                let property =
                    Property::column(&column.name, kind, !column.not_null && !column.primary_key);
                let description = describe::directory_column(table, &column.name);
                property.described(description)
            })
            .collect::<Vec<_>>();
        if !properties.iter().any(|p| p.name == "id") {
            return Err(ODataError::internal(format!("table {table} has no id")));
        }
        Ok(Self {
            name: table.to_string(),
            table: table.to_string(),
            key: "id".into(),
            properties,
            resume_key: vec![KeyPart::Column(Column::Named("id".into()))],
            navigation: Vec::new(),
        })
    }
}

/// Every entity set: the datasets (by name), each followed by its KPI sets, then the
/// directories.
pub fn entity_sets(c: &dyn ReadSession) -> Result<Vec<EntitySet>, ODataError> {
    let mut sets = Vec::new();
    for info in c.datasets().map_err(ODataError::internal)? {
        sets.push(EntitySet::from_dataset(&info));
        if !info.spec.has_kpi_feeds() {
            continue;
        }
        sets.push(kpi::kpi_set(&info));
        if kpi::has_daily_kpi(c, &info)? {
            sets.push(kpi::daily_kpi_set(&info));
        }
    }
    for table in DIRECTORIES {
        sets.push(EntitySet::from_directory(c, table)?);
    }
    Ok(sets)
}

/// One entity set by name, or a 404 naming it.
pub fn entity_set(c: &dyn ReadSession, name: &str) -> Result<EntitySet, ODataError> {
    if DIRECTORIES.contains(&name) {
        return EntitySet::from_directory(c, name);
    }
    let dataset = |name: &str| c.dataset(name).map_err(ODataError::internal);
    if let Some(info) = dataset(name)? {
        return Ok(EntitySet::from_dataset(&info));
    }
    if let Some(base) = name.strip_suffix(warehouse::kpi::DAILY_KPI_SUFFIX)
        && let Some(info) = dataset(base)?
        && kpi::has_daily_kpi(c, &info)?
    {
        return Ok(kpi::daily_kpi_set(&info));
    }
    if let Some(base) = name.strip_suffix(warehouse::kpi::KPI_SUFFIX)
        && let Some(info) = dataset(base)?
        && info.spec.has_kpi_feeds()
    {
        return Ok(kpi::kpi_set(&info));
    }
    Err(ODataError::new(
        StatusCode::NOT_FOUND,
        "UnknownEntitySet",
        format!("there is no entity set `{name}`; GET /odata/ lists them"),
    ))
}

/// An OData error: `{"error":{"code","message","target"}}` with `OData-Version: 4.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub target: Option<String>,
}

impl ODataError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            target: None,
        }
    }

    /// A bad system query option, named in the message and in `target`.
    pub fn bad_option(option: &str, message: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BadQueryOption",
            message: format!("{option}: {message}"),
            target: Some(option.to_string()),
        }
    }

    /// A statement failed: a 400 naming `$filter` when SQLite refused it for its size or shape
    /// (only a filter makes a statement grow), else [`ODataError::internal`].
    pub fn statement(error: warehouse::StoreError) -> Self {
        match error {
            warehouse::StoreError::QueryTooComplex(too_complex) => {
                Self::bad_option("$filter", too_complex)
            }
            other => Self::internal(other),
        }
    }

    /// The store failed: logged in full, the client only learns that it failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "OData request failed on the store.");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the store could not answer; see the server log",
        )
    }
}

impl From<warehouse::StoreError> for ODataError {
    fn from(error: warehouse::StoreError) -> Self {
        Self::statement(error)
    }
}

impl From<crate::problem::Problem> for ODataError {
    fn from(problem: crate::problem::Problem) -> Self {
        let code = if problem.status() == StatusCode::UNAUTHORIZED {
            "Unauthorized"
        } else {
            "ServiceError"
        };
        Self::new(problem.status(), code, problem.detail)
    }
}

impl IntoResponse for ODataError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(target) = self.target {
            error["target"] = json!(target);
        }
        let body = json!({ "error": error }).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_MINIMAL));
        headers.insert("OData-Version", HeaderValue::from_static(ODATA_VERSION));
        if self.status == StatusCode::UNAUTHORIZED {
            // What makes Power BI and Excel ask for the credentials again.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(crate::problem::REALM),
            );
        }
        response
    }
}

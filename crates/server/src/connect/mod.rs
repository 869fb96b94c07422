//! Connection files for BI tools: a Power BI data source file (`.pbids`) and an Office Data
//! Connection (`.odc`) for Excel, each pointing at one OData feed of one dataset. The server
//! serves them (`/v1/connect/{name}/powerbi` and `/excel`, linked from the status page) and
//! `genesys-bi connect` writes the same bytes.
//!
//! Neither file carries the API key: Power BI and Excel ask for credentials when they first
//! read the feed, and keep them in their own credential store. The key goes in as the password
//! of "Basic" (any user name), the one scheme both tools' OData connector can send that the
//! server accepts (see `auth.rs`).

mod excel;
mod origin;
mod powerbi;

use warehouse::days::DayGrid;
use warehouse::kpi;
use warehouse::schema::{DatasetKind, TableSpec};

pub use excel::odc;
pub use origin::origin;
pub use powerbi::pbids;

/// Which OData feed of a dataset a connection file points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// KPIs per local day (`<dataset>_daily_kpi`): offered, answered, AHT, service level by
    /// queue per day; what most reports want.
    DailyKpi,
    /// KPIs at the stored granularity (`<dataset>_kpi`), e.g. per quarter hour.
    Kpi,
    /// The stored rows themselves (`<dataset>`): sums and counts, no derived figures.
    Rows,
}

impl Feed {
    pub const ALL: [Feed; 3] = [Feed::DailyKpi, Feed::Kpi, Feed::Rows];

    /// How the feed is named in `?feed=` and `--feed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::DailyKpi => "daily_kpi",
            Feed::Kpi => "kpi",
            Feed::Rows => "rows",
        }
    }

    pub fn parse(text: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The OData entity set of this feed of `dataset`: the one place these names are made.
    pub fn entity_set(self, dataset: &str) -> String {
        match self {
            Feed::DailyKpi => kpi::daily_kpi_name(dataset),
            Feed::Kpi => kpi::kpi_name(dataset),
            Feed::Rows => dataset.to_string(),
        }
    }

    /// The feeds a dataset has: KPI feeds are computed for conversation aggregates only, the
    /// daily one only where the store keeps a per-day table (buckets shorter than a day);
    /// every dataset has its rows.
    pub fn offered(spec: &TableSpec) -> &'static [Feed] {
        match spec.definition.kind {
            DatasetKind::ConversationAggregates if DayGrid::of(spec).is_some() => &Feed::ALL,
            DatasetKind::ConversationAggregates => &[Feed::Kpi, Feed::Rows],
            _ => &[Feed::Rows],
        }
    }

    /// The feed a connection reads unless told otherwise: the first one the dataset has.
    pub fn default_for(spec: &TableSpec) -> Feed {
        Feed::offered(spec)[0]
    }

    /// This feed of the dataset, or a sentence saying which feeds it has.
    pub fn check(self, spec: &TableSpec) -> Result<Feed, String> {
        let offered = Feed::offered(spec);
        if offered.contains(&self) {
            return Ok(self);
        }
        let names: Vec<&str> = offered.iter().map(|f| f.as_str()).collect();
        Err(format!(
            "dataset `{}` ({}) has no `{}` feed; it has: {}",
            spec.name,
            spec.definition.kind,
            self.as_str(),
            names.join(", ")
        ))
    }
}

/// One feed of one dataset on one server: what a connection file points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTarget {
    /// `scheme://host[:port]` as BI tools reach the server.
    pub origin: String,
    pub dataset: String,
    pub feed: Feed,
}

impl FeedTarget {
    pub fn entity_set(&self) -> String {
        self.feed.entity_set(&self.dataset)
    }

    /// The OData service root (`…/odata`), where tools scope the credentials they keep.
    pub fn service_root(&self) -> String {
        format!("{}/odata", self.origin.trim_end_matches('/'))
    }

    /// The entity set's URL: reading it gives the feed's rows, page by page.
    pub fn url(&self) -> String {
        format!("{}/{}", self.service_root(), self.entity_set())
    }

    /// The connection file's name for `extension` (`pbids`, `odc`).
    pub fn file_name(&self, extension: &str) -> String {
        format!("{}.{extension}", self.entity_set())
    }
}

/// Escapes text for XML and HTML, in content and in double-quoted attributes.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_names_round_trip_and_name_the_entity_sets() {
        for feed in Feed::ALL {
            assert_eq!(Feed::parse(feed.as_str()), Some(feed));
        }
        assert_eq!(Feed::parse("daily"), None);
        for feed in Feed::ALL {
            // The OpenAPI document lists the serde names.
            assert_eq!(serde_json::to_value(feed).unwrap(), feed.as_str());
        }
        let names: Vec<String> = Feed::ALL.iter().map(|f| f.entity_set("q")).collect();
        assert_eq!(names, ["q_daily_kpi", "q_kpi", "q"]);
    }

    fn spec(name: &str, kind: DatasetKind, granularity: &str) -> TableSpec {
        let mut definition =
            warehouse::DatasetDefinition::conversation_aggregates(granularity, "UTC");
        definition.kind = kind;
        TableSpec {
            name: name.into(),
            dimensions: vec!["queueId".into()],
            metrics: vec!["nOffered".into()],
            definition,
        }
    }

    #[test]
    fn aggregates_default_to_the_daily_kpi_feed_and_others_to_their_rows() {
        let aggregates = DatasetKind::ConversationAggregates;
        let quarter_hours = spec("q", aggregates, "PT15M");
        assert_eq!(Feed::default_for(&quarter_hours), Feed::DailyKpi);
        assert_eq!(Feed::Kpi.check(&quarter_hours), Ok(Feed::Kpi));
        let days = spec("d", aggregates, "P1D");
        assert_eq!(Feed::default_for(&days), Feed::Kpi);
        let refused = Feed::DailyKpi.check(&days).unwrap_err();
        assert!(
            refused.contains("`d`") && refused.contains("kpi, rows"),
            "{refused}"
        );
        let details = spec("calls", DatasetKind::ConversationDetails, "PT15M");
        assert_eq!(Feed::default_for(&details), Feed::Rows);
        let refused = Feed::Kpi.check(&details).unwrap_err();
        assert!(
            refused.contains("`calls`") && refused.contains("rows"),
            "{refused}"
        );
    }

    #[test]
    fn the_target_url_is_the_entity_set_under_the_service_root() {
        let target = FeedTarget {
            origin: "https://bi.example.com:8443/".into(),
            dataset: "queue_performance".into(),
            feed: Feed::DailyKpi,
        };
        assert_eq!(target.service_root(), "https://bi.example.com:8443/odata");
        assert_eq!(
            target.url(),
            "https://bi.example.com:8443/odata/queue_performance_daily_kpi"
        );
        assert_eq!(
            target.file_name("pbids"),
            "queue_performance_daily_kpi.pbids"
        );
    }
}

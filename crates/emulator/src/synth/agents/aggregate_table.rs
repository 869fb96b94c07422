//! The users aggregates answer in compact form (one row of sums per user and bucket) and its
//! wire JSON, written straight from the rows: `systemToOrganizationMappings`, then `results`,
//! then (job pages) `cursor`.

use std::collections::BTreeMap;

use genesys::granularity::Buckets;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::aggregate::{ROUTING_SLOTS, SLOTS, SYSTEM_SLOTS, UserMetric};
use super::presence::{Activity, RoutingStatus, SystemPresence};

/// The computed answer, compact: one row of sums per (group, bucket); serialises to the wire
/// JSON without building the response tree.
pub struct UserAggregateTable {
    pub(super) buckets: Buckets,
    pub(super) metrics: Vec<UserMetric>,
    /// The userId of each group (`None`: one group over all users, without groupBy).
    pub(super) groups: Vec<Option<String>>,
    /// Group-major: `cells[group * buckets + bucket][slot]`.
    pub(super) cells: Vec<[i64; SLOTS]>,
    pub(super) org_presence_ids: Vec<String>,
    /// Groups with at least one metric, in order (the paging unit of jobs).
    pub(super) non_empty: Vec<usize>,
}

impl UserAggregateTable {
    fn row(&self, group: usize, bucket: usize) -> &[i64; SLOTS] {
        &self.cells[group * self.buckets.len() + bucket]
    }

    pub(super) fn has_metrics(&self, group: usize, bucket: usize) -> bool {
        let row = self.row(group, bucket);
        self.metrics
            .iter()
            .any(|m| m.slots().any(|slot| row[slot] > 0))
    }

    /// Number of paging units (groups with data).
    pub fn group_count(&self) -> usize {
        self.non_empty.len()
    }

    /// The page of groups `[from, from + size)` with the mappings and an optional cursor.
    pub fn page(&self, from: usize, size: usize, cursor: Option<String>) -> UserAggregatePage<'_> {
        let to = from.saturating_add(size).min(self.non_empty.len());
        UserAggregatePage {
            table: self,
            groups: &self.non_empty[from.min(to)..to],
            cursor,
        }
    }

    /// `systemToOrganizationMappings`: for each system presence with time in the groups shown,
    /// the organisation presences that had it. Sent when a presence metric is asked for.
    fn mappings(&self, groups: &[usize]) -> BTreeMap<&'static str, Vec<&str>> {
        let mut out: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        let asks = self.metrics.iter().any(|m| {
            matches!(
                m,
                UserMetric::SystemPresence | UserMetric::OrganizationPresence
            )
        });
        if !asks {
            return out;
        }
        for (k, activity) in Activity::ALL.iter().enumerate() {
            let slot = SYSTEM_SLOTS + ROUTING_SLOTS + k;
            let seen = groups
                .iter()
                .any(|g| (0..self.buckets.len()).any(|b| self.row(*g, b)[slot] > 0));
            if seen {
                out.entry(activity.system().as_str())
                    .or_default()
                    .push(&self.org_presence_ids[k]);
            }
        }
        out
    }

    fn qualifier(&self, metric: UserMetric, slot: usize) -> &str {
        match metric {
            UserMetric::SystemPresence => SystemPresence::ALL[slot].as_str(),
            UserMetric::AgentRoutingStatus => RoutingStatus::ALL[slot - SYSTEM_SLOTS].as_str(),
            UserMetric::OrganizationPresence => {
                &self.org_presence_ids[slot - SYSTEM_SLOTS - ROUTING_SLOTS]
            }
        }
    }
}

/// The whole answer of the synchronous query.
impl Serialize for UserAggregateTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.page(0, usize::MAX, None).serialize(s)
    }
}

/// One answer page: the query's whole answer, or a job's results page with its `cursor`.
pub struct UserAggregatePage<'a> {
    table: &'a UserAggregateTable,
    groups: &'a [usize],
    cursor: Option<String>,
}

impl Serialize for UserAggregatePage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(None)?;
        let mappings = self.table.mappings(self.groups);
        if !mappings.is_empty() {
            out.serialize_entry("systemToOrganizationMappings", &mappings)?;
        }
        if !self.groups.is_empty() {
            out.serialize_entry("results", &Groups(self))?;
        }
        if let Some(cursor) = &self.cursor {
            out.serialize_entry("cursor", cursor)?;
        }
        out.end()
    }
}

struct Groups<'a>(&'a UserAggregatePage<'a>);

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.groups.len()))?;
        for g in self.0.groups {
            seq.serialize_element(&Group(self.0.table, *g))?;
        }
        seq.end()
    }
}

struct Group<'a>(&'a UserAggregateTable, usize);

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (table, g) = (self.0, self.1);
        let mut out = s.serialize_map(Some(2))?;
        let group: BTreeMap<&str, &str> = table.groups[g]
            .as_deref()
            .map(|id| ("userId", id))
            .into_iter()
            .collect();
        out.serialize_entry("group", &group)?;
        let buckets: Vec<Bucket> = (0..table.buckets.len())
            .filter(|b| table.has_metrics(g, *b))
            .map(|b| Bucket(table, g, b))
            .collect();
        out.serialize_entry("data", &buckets)?;
        out.end()
    }
}

struct Bucket<'a>(&'a UserAggregateTable, usize, usize);

#[derive(Serialize)]
struct MetricEntry<'a> {
    metric: &'static str,
    qualifier: &'a str,
    stats: Sum,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
}

impl Serialize for Bucket<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (table, g, b) = (self.0, self.1, self.2);
        let row = table.row(g, b);
        let mut out = s.serialize_map(Some(2))?;
        out.serialize_entry("interval", &table.buckets.interval(b).to_string())?;
        let metrics: Vec<MetricEntry> = table
            .metrics
            .iter()
            .flat_map(|m| {
                m.slots()
                    .filter(|slot| row[*slot] > 0)
                    .map(move |slot| MetricEntry {
                        metric: m.as_str(),
                        qualifier: table.qualifier(*m, slot),
                        stats: Sum { sum: row[slot] },
                    })
            })
            .collect();
        out.serialize_entry("metrics", &metrics)?;
        out.end()
    }
}

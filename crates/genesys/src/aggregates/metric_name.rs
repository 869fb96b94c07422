//! Metric names, interned: the catalog's names are shared static strings, not one copy each.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog;

/// A metric name as Genesys sent it. Names the catalog knows (and the user-aggregates metrics)
/// share one static string instead of a copy per stats entry; any other name is kept as sent.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MetricName(Cow<'static, str>);

impl MetricName {
    #[inline]
    pub fn new(name: &str) -> Self {
        match interned(name) {
            Some(known) => Self(Cow::Borrowed(known)),
            None => Self(Cow::Owned(name.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Metric names outside the conversation-aggregates catalog that Genesys answers with.
const USER_METRICS: [&str; 3] = [
    "tAgentRoutingStatus",
    "tOrganizationPresence",
    "tSystemPresence",
];

/// Open addressing over the known names, built at compile time; at most a third full.
const INTERN_SLOTS: usize = 512;
static INTERN_TABLE: [Option<&str>; INTERN_SLOTS] = intern_table();

/// A few instructions whatever the length: the first and last eight bytes and the length.
const fn intern_hash(name: &[u8]) -> usize {
    let (head, tail) = match (name.first_chunk::<8>(), name.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_be_bytes(*tail)),
        _ => {
            // Shorter than eight bytes: the same words, zero-padded.
            let (mut head, mut tail) = (0u64, 0u64);
            let mut i = 0;
            while i < name.len() {
                head |= (name[i] as u64) << (8 * i);
                tail |= (name[name.len() - 1 - i] as u64) << (8 * i);
                i += 1;
            }
            (head, tail)
        }
    };
    let mixed = head.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ tail.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ name.len() as u64;
    let mixed = (mixed ^ (mixed >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 55) as usize % INTERN_SLOTS
}

const fn intern_insert(table: &mut [Option<&'static str>; INTERN_SLOTS], name: &'static str) {
    let mut slot = intern_hash(name.as_bytes());
    while table[slot].is_some() {
        slot = (slot + 1) % INTERN_SLOTS;
    }
    table[slot] = Some(name);
}

const fn intern_table() -> [Option<&'static str>; INTERN_SLOTS] {
    let mut table = [None; INTERN_SLOTS];
    let mut i = 0;
    while i < catalog::METRICS.len() {
        intern_insert(&mut table, catalog::METRICS[i]);
        i += 1;
    }
    let mut i = 0;
    while i < USER_METRICS.len() {
        intern_insert(&mut table, USER_METRICS[i]);
        i += 1;
    }
    table
}

#[inline]
fn interned(name: &str) -> Option<&'static str> {
    let mut slot = intern_hash(name.as_bytes());
    loop {
        match INTERN_TABLE[slot] {
            Some(known) if known == name => return Some(known),
            Some(_) => slot = (slot + 1) % INTERN_SLOTS,
            None => return None,
        }
    }
}

impl std::ops::Deref for MetricName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MetricName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for MetricName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MetricName {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for MetricName {
    fn from(name: String) -> Self {
        match interned(&name) {
            Some(known) => Self(Cow::Borrowed(known)),
            None => Self(Cow::Owned(name)),
        }
    }
}

impl From<MetricName> for String {
    fn from(name: MetricName) -> Self {
        name.0.into_owned()
    }
}

impl PartialEq<str> for MetricName {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for MetricName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for MetricName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<MetricName> for str {
    fn eq(&self, other: &MetricName) -> bool {
        *self == *other.0
    }
}

impl PartialEq<MetricName> for &str {
    fn eq(&self, other: &MetricName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<MetricName> for String {
    fn eq(&self, other: &MetricName) -> bool {
        **self == *other.0
    }
}

impl Serialize for MetricName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MetricName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl Visitor<'_> for NameVisitor {
            type Value = MetricName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metric name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<MetricName, E> {
                Ok(MetricName::new(name))
            }

            fn visit_string<E: de::Error>(self, name: String) -> Result<MetricName, E> {
                Ok(MetricName::from(name))
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_from_the_catalog_are_shared() {
        for name in catalog::METRICS.iter().chain(&USER_METRICS) {
            let metric = MetricName::new(name);
            assert!(
                matches!(metric.0, Cow::Borrowed(_)),
                "{name} is not interned"
            );
            assert_eq!(metric, *name);
            // Lookups stay short: the table is a third full at most.
            let mut slot = intern_hash(name.as_bytes());
            let mut probes = 0;
            while INTERN_TABLE[slot] != Some(name) {
                slot = (slot + 1) % INTERN_SLOTS;
                probes += 1;
            }
            assert!(probes <= 2, "{name} takes {probes} probes");
        }
        for name in ["", "x", "tFutureMetric", "nOfferedX", "noffered"] {
            assert!(matches!(MetricName::new(name).0, Cow::Owned(_)), "{name}");
            assert_eq!(MetricName::new(name), name);
        }
    }
}

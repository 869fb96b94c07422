//! The stats object and metric entries on the wire, by hand: known stats keys are matched
//! by their bytes into plain fields, other keys are kept; entries are filled where they lie in
//! their list instead of being built and moved (serde derive's way, several copies of a
//! 300-byte entry each). The fast reader (`fast.rs`) shares the key table and value rules.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AggregateMetricData, StatisticalSummary};

/// The stats keys with a field, in wire order.
#[derive(Clone, Copy)]
pub(super) enum StatKey {
    Max,
    Min,
    Count,
    CountNegative,
    CountPositive,
    Sum,
    Current,
    Ratio,
    Numerator,
    Denominator,
    Target,
    P95,
    P99,
    CalculatedMetricValue,
}

impl StatKey {
    #[inline]
    pub(super) fn of(key: &[u8]) -> Option<StatKey> {
        Some(match key {
            b"max" => StatKey::Max,
            b"min" => StatKey::Min,
            b"count" => StatKey::Count,
            b"countNegative" => StatKey::CountNegative,
            b"countPositive" => StatKey::CountPositive,
            b"sum" => StatKey::Sum,
            b"current" => StatKey::Current,
            b"ratio" => StatKey::Ratio,
            b"numerator" => StatKey::Numerator,
            b"denominator" => StatKey::Denominator,
            b"target" => StatKey::Target,
            b"p95" => StatKey::P95,
            b"p99" => StatKey::P99,
            b"calculatedMetricValue" => StatKey::CalculatedMetricValue,
            _ => return None,
        })
    }

    #[inline]
    fn slot(self, stats: &mut StatisticalSummary) -> Slot<'_> {
        match self {
            StatKey::Max => Slot::Real(&mut stats.max),
            StatKey::Min => Slot::Real(&mut stats.min),
            StatKey::Count => Slot::Integer(&mut stats.count),
            StatKey::CountNegative => Slot::Integer(&mut stats.count_negative),
            StatKey::CountPositive => Slot::Integer(&mut stats.count_positive),
            StatKey::Sum => Slot::Real(&mut stats.sum),
            StatKey::Current => Slot::Real(&mut stats.current),
            StatKey::Ratio => Slot::Real(&mut stats.ratio),
            StatKey::Numerator => Slot::Real(&mut stats.numerator),
            StatKey::Denominator => Slot::Real(&mut stats.denominator),
            StatKey::Target => Slot::Real(&mut stats.target),
            StatKey::P95 => Slot::Integer(&mut stats.p95),
            StatKey::P99 => Slot::Integer(&mut stats.p99),
            StatKey::CalculatedMetricValue => Slot::Integer(&mut stats.calculated_metric_value),
        }
    }

    fn name(self) -> &'static str {
        match self {
            StatKey::Max => "max",
            StatKey::Min => "min",
            StatKey::Count => "count",
            StatKey::CountNegative => "countNegative",
            StatKey::CountPositive => "countPositive",
            StatKey::Sum => "sum",
            StatKey::Current => "current",
            StatKey::Ratio => "ratio",
            StatKey::Numerator => "numerator",
            StatKey::Denominator => "denominator",
            StatKey::Target => "target",
            StatKey::P95 => "p95",
            StatKey::P99 => "p99",
            StatKey::CalculatedMetricValue => "calculatedMetricValue",
        }
    }
}

enum Slot<'a> {
    Real(&'a mut Option<f64>),
    Integer(&'a mut Option<i64>),
}

const STAT_KEYS: [StatKey; 14] = [
    StatKey::Max,
    StatKey::Min,
    StatKey::Count,
    StatKey::CountNegative,
    StatKey::CountPositive,
    StatKey::Sum,
    StatKey::Current,
    StatKey::Ratio,
    StatKey::Numerator,
    StatKey::Denominator,
    StatKey::Target,
    StatKey::P95,
    StatKey::P99,
    StatKey::CalculatedMetricValue,
];

impl StatisticalSummary {
    /// The known fields that are set, in wire order.
    fn known(&self) -> impl Iterator<Item = (&'static str, Number)> + '_ {
        STAT_KEYS.iter().filter_map(move |key| {
            let value = match *key {
                StatKey::Max => self.max.map(Number::Real),
                StatKey::Min => self.min.map(Number::Real),
                StatKey::Count => self.count.map(Number::Integer),
                StatKey::CountNegative => self.count_negative.map(Number::Integer),
                StatKey::CountPositive => self.count_positive.map(Number::Integer),
                StatKey::Sum => self.sum.map(Number::Real),
                StatKey::Current => self.current.map(Number::Real),
                StatKey::Ratio => self.ratio.map(Number::Real),
                StatKey::Numerator => self.numerator.map(Number::Real),
                StatKey::Denominator => self.denominator.map(Number::Real),
                StatKey::Target => self.target.map(Number::Real),
                StatKey::P95 => self.p95.map(Number::Integer),
                StatKey::P99 => self.p99.map(Number::Integer),
                StatKey::CalculatedMetricValue => self.calculated_metric_value.map(Number::Integer),
            };
            value.map(|v| (key.name(), v))
        })
    }
}

#[derive(Clone, Copy)]
enum Number {
    Real(f64),
    Integer(i64),
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Number::Real(v) => serializer.serialize_f64(v),
            Number::Integer(v) => serializer.serialize_i64(v),
        }
    }
}

impl Serialize for StatisticalSummary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = self.known().count() + self.other.len();
        let mut map = serializer.serialize_map(Some(len))?;
        for (key, value) in self.known() {
            map.serialize_entry(key, &value)?;
        }
        for (key, value) in &self.other {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A stats key that appeared twice in one object.
pub(super) struct Duplicate;

impl StatisticalSummary {
    /// Stores one known key's value; a value that does not fit the field passes through.
    #[inline]
    pub(super) fn set(&mut self, key: StatKey, value: StatValue) -> Result<(), Duplicate> {
        let passthrough = match key.slot(self) {
            Slot::Real(slot) => {
                if slot.is_some() {
                    return Err(Duplicate);
                }
                *slot = value.real();
                None
            }
            Slot::Integer(slot) => {
                if slot.is_some() {
                    return Err(Duplicate);
                }
                match value.integer() {
                    Ok(v) => {
                        *slot = v;
                        None
                    }
                    Err(raw) => Some(raw),
                }
            }
        };
        if let Some(raw) = passthrough {
            self.other.push((key.name().to_string(), raw));
        }
        Ok(())
    }
}

/// One stats value as it was on the wire.
pub(super) enum StatValue {
    Null,
    Int(i64),
    Float(f64),
    /// An integer beyond `i64`.
    Big(u64),
}

impl<'de> Deserialize<'de> for StatValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl Visitor<'_> for ValueVisitor {
            type Value = StatValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or null")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatValue, E> {
                Ok(StatValue::Int(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatValue, E> {
                Ok(StatValue::from_u64(v))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StatValue, E> {
                Ok(StatValue::Float(v))
            }

            fn visit_unit<E: de::Error>(self) -> Result<StatValue, E> {
                Ok(StatValue::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<StatValue, E> {
                Ok(StatValue::Null)
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

impl StatValue {
    #[inline]
    pub(super) fn from_u64(v: u64) -> StatValue {
        i64::try_from(v).map_or(StatValue::Big(v), StatValue::Int)
    }

    #[inline]
    fn real(self) -> Option<f64> {
        match self {
            StatValue::Null => None,
            StatValue::Int(v) => Some(v as f64),
            StatValue::Float(v) => Some(v),
            StatValue::Big(v) => Some(v as f64),
        }
    }

    /// The value of an integer field, or the value itself when it is not a whole `i64`.
    #[inline]
    fn integer(self) -> Result<Option<i64>, serde_json::Value> {
        match self {
            StatValue::Null => Ok(None),
            StatValue::Int(v) => Ok(Some(v)),
            // A whole float (`3.0`) is the integer; anything else passes through untouched.
            StatValue::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(Some(v as i64)),
            StatValue::Float(v) => Err(serde_json::Value::from(v)),
            StatValue::Big(v) => Err(serde_json::Value::from(v)),
        }
    }
}

/// A key of the stats object: one with a field, or another one, kept by name.
enum AnyStatKey {
    Known(StatKey),
    Other(String),
}

impl AnyStatKey {
    fn read(key: &str) -> AnyStatKey {
        StatKey::of(key.as_bytes())
            .map_or_else(|| AnyStatKey::Other(key.to_string()), AnyStatKey::Known)
    }
}

/// An object key, told apart by `read` from its text without copying it.
struct KeySeed<K>(fn(&str) -> K);

impl<'de, K> DeserializeSeed<'de> for KeySeed<K> {
    type Value = K;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<K, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<K> Visitor<'_> for KeySeed<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K, E> {
        Ok((self.0)(key))
    }
}

/// Fills a stats object in place: a page holds tens of thousands of them, and building each
/// on the stack to move it into its list several times over costs more than parsing it.
pub(super) struct SummaryInPlace<'a>(&'a mut StatisticalSummary);

impl<'de> DeserializeSeed<'de> for SummaryInPlace<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SummaryInPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stats object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let stats = self.0;
        while let Some(key) = map.next_key_seed(KeySeed(AnyStatKey::read))? {
            let key = match key {
                AnyStatKey::Known(key) => key,
                AnyStatKey::Other(name) => {
                    let value = map.next_value::<serde_json::Value>()?;
                    stats.other.push((name, value));
                    continue;
                }
            };
            let value = map.next_value::<StatValue>()?;
            stats
                .set(key, value)
                .map_err(|Duplicate| de::Error::duplicate_field(key.name()))?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for StatisticalSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut stats = StatisticalSummary::default();
        SummaryInPlace(&mut stats).deserialize(deserializer)?;
        Ok(stats)
    }
}

/// The keys of one metric's entry.
enum MetricKey {
    Metric,
    Qualifier,
    Stats,
    Other,
}

impl MetricKey {
    fn read(key: &str) -> MetricKey {
        match key.as_bytes() {
            b"metric" => MetricKey::Metric,
            b"qualifier" => MetricKey::Qualifier,
            b"stats" => MetricKey::Stats,
            _ => MetricKey::Other,
        }
    }
}

/// Appends the next metric entry of a list and fills it where it lies.
struct MetricInPlace<'a>(&'a mut Vec<AggregateMetricData>);

impl<'de> DeserializeSeed<'de> for MetricInPlace<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetricInPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a metric entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.push(AggregateMetricData::default());
        let entry = self.0.last_mut().expect("just pushed");
        let (mut metric, mut stats) = (false, false);
        while let Some(key) = map.next_key_seed(KeySeed(MetricKey::read))? {
            match key {
                MetricKey::Metric if metric => return Err(de::Error::duplicate_field("metric")),
                MetricKey::Metric => {
                    entry.metric = map.next_value()?;
                    metric = true;
                }
                MetricKey::Qualifier if entry.qualifier.is_some() => {
                    return Err(de::Error::duplicate_field("qualifier"));
                }
                MetricKey::Qualifier => entry.qualifier = map.next_value()?,
                MetricKey::Stats if stats => return Err(de::Error::duplicate_field("stats")),
                MetricKey::Stats => {
                    map.next_value_seed(SummaryInPlace(&mut entry.stats))?;
                    stats = true;
                }
                MetricKey::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        match (metric, stats) {
            (true, true) => Ok(()),
            (false, _) => Err(de::Error::missing_field("metric")),
            (_, false) => Err(de::Error::missing_field("stats")),
        }
    }
}

impl<'de> Deserialize<'de> for AggregateMetricData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut one = Vec::with_capacity(1);
        MetricInPlace(&mut one).deserialize(deserializer)?;
        Ok(one.pop().expect("filled"))
    }
}

/// `StatisticalResponse::metrics`: each entry is parsed into its place in the list.
pub(super) fn metrics_in_place<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<AggregateMetricData>, D::Error> {
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<AggregateMetricData>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of metric entries")
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while seq.next_element_seed(MetricInPlace(&mut list))?.is_some() {}
            Ok(list)
        }
    }

    deserializer.deserialize_seq(ListVisitor)
}

//! The fast path for aggregates result groups: a reader made for this one shape, several times quicker
//! than serde's generic machinery (no visitor layers, stats filled where they lie).
//!
//! It is exact or it declines. Whatever it is not sure to read exactly as the serde
//! implementations would (a duplicate key, a wrong type, a missing field, a number beyond the
//! plain forms, JSON it does not accept) makes it answer `None`, and the caller parses the group
//! with serde, which has the last word, errors included. The few rare pieces it does not read
//! itself (escaped strings, unusual numbers, unknown stats values) it hands to `serde_json` on
//! that piece alone. So a page it accepts is the value serde gives, bit for bit; the
//! differential tests below and in `tests/` hold it to that.

use std::borrow::Cow;

use super::{
    AggregateDataContainer, AggregateMetricData, AggregateViewData, MetricName, StatKey, StatValue,
    StatisticalResponse, StatisticalSummary,
};

/// One result group (an element of a page's `results`), or `None` when serde must read it.
pub(super) fn container(text: &str) -> Option<AggregateDataContainer> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let container = reader.container()?;
    reader.ws();
    (reader.pos == reader.bytes.len()).then_some(container)
}

/// Deeper than this, unknown values are left to serde (whose own limit is 128).
const MAX_DEPTH: u32 = 64;

/// Powers of ten, each exact in an `f64` (as are all up to 10^22): serde_json's own table.
const POW10: [f64; 20] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19,
];

/// At most this many digits in a plain number, so that the significand cannot overflow a `u64`.
/// serde_json (without `float_roundtrip`) computes a decimal as `significand as f64 / 10^n`;
/// so does this reader, with the same operands, hence the same bits
/// (`plain_numbers_match_serde_json` checks it).
const PLAIN_DIGITS: usize = 19;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Where a string's text ends: the first quote, backslash or control character in `bytes`.
/// Eight bytes at a time, as serde_json does (the lowest flagged byte is always a true match).
#[inline]
fn string_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let flagged = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let flagged = flagged & HIGH_BITS;
        if flagged != 0 {
            return Some(at + (flagged.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    let found = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + found)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn ws(&mut self) {
        // Pages are usually compact: one comparison rules whitespace out.
        if self.bytes.get(self.pos).is_some_and(|&b| b <= b' ') {
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        self.ws();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Reads an object, handing each key to `field` with the reader at the key's value. A key
    /// with escapes (which no Genesys key has) leaves the page to serde.
    #[inline]
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            self.expect(b':')?;
            field(self, key)?;
            if !self.eat(b',') {
                return self.expect(b'}');
            }
        }
    }

    /// Reads an array, calling `element` with the reader at each element.
    #[inline]
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            if !self.eat(b',') {
                return self.expect(b']');
            }
        }
    }

    /// A string without escapes, borrowed from the page; `None` at anything else.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        self.ws();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let end = start + string_end(self.bytes.get(start..)?)?;
        if self.bytes[end] != b'"' {
            // An escape (or a raw control character, which is not JSON).
            return None;
        }
        self.pos = end + 1;
        // Both ends sit next to an ASCII quote, so on character boundaries.
        self.text.get(start..end)
    }

    /// A string value: borrowed from the page unless it has escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        match self.plain_string() {
            Some(plain) => Some(Cow::Borrowed(plain)),
            None => self.escaped_string(),
        }
    }

    /// A string with escapes, decoded by serde_json.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self) -> Option<Cow<'a, str>> {
        self.ws();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let mut end = self.pos + 1;
        loop {
            match *self.bytes.get(end)? {
                b'"' => break,
                b'\\' => end += 2,
                _ => end += 1,
            }
        }
        let decoded: String = serde_json::from_str(self.text.get(self.pos..=end)?).ok()?;
        self.pos = end + 1;
        Some(Cow::Owned(decoded))
    }

    fn nullable_string(&mut self) -> Option<Option<String>> {
        self.ws();
        if self.bytes.get(self.pos) == Some(&b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        Some(Some(self.string()?.into_owned()))
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.pos..)?;
        rest.starts_with(word).then(|| self.pos += word.len())
    }

    /// A number: plain ones (`12`, `245476.0`, `0.8`) here, any other form through serde_json.
    #[inline]
    fn number(&mut self) -> Option<StatValue> {
        self.ws();
        let bytes = self.bytes;
        let start = self.pos;
        let mut end = start;
        let mut significand: u64 = 0;
        while let Some(&digit @ b'0'..=b'9') = bytes.get(end) {
            significand = significand
                .wrapping_mul(10)
                .wrapping_add(u64::from(digit - b'0'));
            end += 1;
        }
        let whole = end - start;
        let mut fraction = 0;
        let dot = bytes.get(end) == Some(&b'.');
        if dot {
            end += 1;
            while let Some(&digit @ b'0'..=b'9') = bytes.get(end) {
                significand = significand
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(digit - b'0'));
                end += 1;
                fraction += 1;
            }
        }
        let plain = whole >= 1
            && whole + fraction <= PLAIN_DIGITS
            && (whole == 1 || bytes[start] != b'0')
            && (!dot || fraction >= 1)
            && !matches!(bytes.get(end), Some(b'.' | b'e' | b'E' | b'+' | b'-'));
        if !plain {
            return self.unusual_number();
        }
        self.pos = end;
        Some(if dot {
            StatValue::Float(significand as f64 / POW10[fraction])
        } else {
            StatValue::from_u64(significand)
        })
    }

    /// A number of another form (sign, exponent, many digits), read by serde_json alone.
    #[cold]
    fn unusual_number(&mut self) -> Option<StatValue> {
        let start = self.pos;
        let mut end = start;
        while let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = self.bytes.get(end) {
            end += 1;
        }
        let value = serde_json::from_str(self.text.get(start..end)?).ok()?;
        self.pos = end;
        Some(value)
    }

    /// Any JSON value, checked but not kept.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.bytes.get(self.pos)? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|reader, _| reader.skip_value(depth + 1)),
            b'[' => self.array(|reader| reader.skip_value(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    fn container(&mut self) -> Option<AggregateDataContainer> {
        let mut container = AggregateDataContainer::default();
        let (mut group, mut data) = (false, false);
        self.object(|reader, key| {
            match key {
                "group" if !group => {
                    group = true;
                    reader.object(|reader, dimension| {
                        let value = reader.string()?.into_owned();
                        container.group.insert(dimension.to_string(), value);
                        Some(())
                    })?;
                }
                "data" if !data => {
                    data = true;
                    reader.array(|reader| {
                        container.data.push(reader.bucket()?);
                        Some(())
                    })?;
                }
                "group" | "data" => return None,
                _ => reader.skip_value(1)?,
            }
            Some(())
        })?;
        Some(container)
    }

    fn bucket(&mut self) -> Option<StatisticalResponse> {
        let mut interval = None;
        let (mut metrics, mut views) = (None, None);
        self.object(|reader, key| {
            match key {
                "interval" if interval.is_none() => {
                    interval = Some(reader.string()?.into_owned());
                }
                "metrics" if metrics.is_none() => {
                    let mut list = Vec::new();
                    reader.array(|reader| reader.metric(&mut list))?;
                    metrics = Some(list);
                }
                "views" if views.is_none() => {
                    let mut list = Vec::new();
                    reader.array(|reader| {
                        list.push(reader.view()?);
                        Some(())
                    })?;
                    views = Some(list);
                }
                "interval" | "metrics" | "views" => return None,
                _ => reader.skip_value(1)?,
            }
            Some(())
        })?;
        Some(StatisticalResponse {
            interval: interval?,
            metrics: metrics.unwrap_or_default(),
            views: views.unwrap_or_default(),
        })
    }

    /// Appends one metric entry to `list`, filled where it lies.
    fn metric(&mut self, list: &mut Vec<AggregateMetricData>) -> Option<()> {
        list.push(AggregateMetricData::default());
        let entry = list.last_mut()?;
        let (mut metric, mut stats) = (false, false);
        self.object(|reader, key| {
            match key {
                "metric" if !metric => {
                    metric = true;
                    entry.metric = match reader.string()? {
                        Cow::Borrowed(name) => MetricName::new(name),
                        Cow::Owned(name) => MetricName::from(name),
                    };
                }
                "qualifier" if entry.qualifier.is_none() => {
                    entry.qualifier = reader.nullable_string()?;
                }
                "stats" if !stats => {
                    stats = true;
                    reader.stats(&mut entry.stats)?;
                }
                "metric" | "qualifier" | "stats" => return None,
                _ => reader.skip_value(1)?,
            }
            Some(())
        })?;
        (metric && stats).then_some(())
    }

    fn view(&mut self) -> Option<AggregateViewData> {
        let mut name = None;
        let mut stats = None;
        self.object(|reader, key| {
            match key {
                "name" if name.is_none() => name = Some(reader.string()?.into_owned()),
                "stats" if stats.is_none() => {
                    let mut summary = StatisticalSummary::default();
                    reader.stats(&mut summary)?;
                    stats = Some(summary);
                }
                "name" | "stats" => return None,
                _ => reader.skip_value(1)?,
            }
            Some(())
        })?;
        Some(AggregateViewData {
            name: name?,
            stats: stats?,
        })
    }

    fn stats(&mut self, stats: &mut StatisticalSummary) -> Option<()> {
        self.object(|reader, key| match StatKey::of(key.as_bytes()) {
            Some(known) => {
                reader.ws();
                let value = if reader.bytes.get(reader.pos) == Some(&b'n') {
                    reader.literal(b"null")?;
                    StatValue::Null
                } else {
                    reader.number()?
                };
                stats.set(known, value).ok()
            }
            None => {
                reader.ws();
                let start = reader.pos;
                reader.skip_value(1)?;
                let value = serde_json::from_str(reader.text.get(start..reader.pos)?).ok()?;
                stats.other.push((key.to_string(), value));
                Some(())
            }
        })
    }
}

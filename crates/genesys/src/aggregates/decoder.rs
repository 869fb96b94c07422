//! The one decoder of aggregates response bodies (the synchronous query's and an async job's
//! results pages): bytes in as they arrive, typed result groups out one at a time, so a reader
//! never holds more than the group being read and the bytes not yet consumed.
//!
//! The page's outer object is walked here, byte by byte and resumable at any byte; each element
//! of `results` is cut out whole and read by the fast reader (`fast.rs`), or by serde where the
//! fast reader declines. Values of other keys are checked by serde and skipped; `cursor` is kept.
//! A body this decoder accepts is the value serde gives for it.

use serde::de::{Error as _, IgnoredAny};

use super::{AggregateDataContainer, fast};

/// Reads one aggregates page as it arrives: [`push`](Self::push) bytes, take the groups that
/// are complete with [`next_group`](Self::next_group), and once the body ended, [`finish`](Self::finish).
#[derive(Default)]
pub struct PageDecoder {
    buffer: Vec<u8>,
    /// The first byte of `buffer` not consumed yet.
    pos: usize,
    state: State,
    /// How far the value starting at `pos` has been scanned.
    scan: Scan,
    results_seen: bool,
    cursor: CursorField,
    /// Tests only: fail where the fast reader declines a group, instead of asking serde.
    fast_only: bool,
}

/// Where the reader stands in the page's outer object.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Start,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After `,`: a key.
    Key,
    Colon(Field),
    Value(Field),
    /// After a key's value: `,` or `}`.
    AfterValue,
    /// After `"results":`: `[`.
    ResultsOpen,
    /// After `[`: a group or `]`.
    FirstGroup,
    Group,
    /// After a group: `,` or `]`.
    AfterGroup,
    End,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Results,
    Cursor,
    Other,
}

/// The page's `cursor`, as an async results page reads it (a synchronous response has no such
/// field, so it ignores whatever is there).
#[derive(Default)]
enum CursorField {
    #[default]
    Absent,
    Read(Option<String>),
    Invalid(serde_json::Error),
    Duplicate,
}

/// Progress through one JSON value, kept across pushes so every byte is scanned once.
#[derive(Default, Clone, Copy)]
struct Scan {
    /// Bytes of the value scanned so far (from `pos`).
    len: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

/// What the end of a page tells: the cursor, read as an async results page reads it.
pub struct PageEnd {
    cursor: CursorField,
}

impl PageEnd {
    /// The cursor of an async results page (`None` on the last page).
    pub fn cursor(self) -> serde_json::Result<Option<String>> {
        match self.cursor {
            CursorField::Absent => Ok(None),
            CursorField::Read(cursor) => Ok(cursor),
            CursorField::Invalid(e) => Err(e),
            CursorField::Duplicate => Err(serde_json::Error::duplicate_field("cursor")),
        }
    }
}

fn malformed(what: &str) -> serde_json::Error {
    serde_json::Error::custom(format!("malformed aggregates response: {what}"))
}

impl PageDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub(super) fn fast_only() -> Self {
        Self {
            fast_only: true,
            ..Self::default()
        }
    }

    /// Takes the next bytes of the body.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buffer.drain(..self.pos);
            self.pos = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete result group, or `None` until more bytes are pushed (or the page ended).
    pub fn next_group(&mut self) -> serde_json::Result<Option<AggregateDataContainer>> {
        loop {
            let Some(byte) = self.peek() else {
                return Ok(None);
            };
            match self.state {
                State::Start => {
                    self.expect(byte, b'{', "expected `{` at its start")?;
                    self.state = State::FirstKey;
                }
                State::FirstKey if byte == b'}' => {
                    self.pos += 1;
                    self.state = State::End;
                }
                State::FirstKey | State::Key => {
                    let Some(key) = self.scanned_value()? else {
                        return Ok(None);
                    };
                    let field = self.field(key)?;
                    self.state = State::Colon(field);
                }
                State::Colon(field) => {
                    self.expect(byte, b':', "expected `:` after a key")?;
                    self.state = match field {
                        Field::Results => State::ResultsOpen,
                        other => State::Value(other),
                    };
                }
                State::Value(field) => {
                    let Some(value) = self.scanned_value()? else {
                        return Ok(None);
                    };
                    self.keep(field, value)?;
                    self.state = State::AfterValue;
                }
                State::AfterValue => {
                    self.pos += 1;
                    self.state = match byte {
                        b',' => State::Key,
                        b'}' => State::End,
                        _ => return Err(malformed("expected `,` or `}` after a value")),
                    };
                }
                State::ResultsOpen => {
                    self.expect(byte, b'[', "expected `results` to be a list")?;
                    self.state = State::FirstGroup;
                }
                State::FirstGroup if byte == b']' => {
                    self.pos += 1;
                    self.state = State::AfterValue;
                }
                State::FirstGroup | State::Group => {
                    let Some(group) = self.scanned_value()? else {
                        return Ok(None);
                    };
                    let group = self.group(group)?;
                    self.state = State::AfterGroup;
                    return Ok(Some(group));
                }
                State::AfterGroup => {
                    self.pos += 1;
                    self.state = match byte {
                        b',' => State::Group,
                        b']' => State::AfterValue,
                        _ => return Err(malformed("expected `,` or `]` after a result group")),
                    };
                }
                State::End => return Err(malformed("trailing characters after the page")),
            }
        }
    }

    /// Ends the page once its body has ended (and `next_group` gave `None`): an error unless the
    /// page was whole.
    pub fn finish(mut self) -> serde_json::Result<PageEnd> {
        if self.peek().is_some() || self.state != State::End {
            return Err(match self.state {
                State::End => malformed("trailing characters after the page"),
                _ => malformed("the body ended before the page did"),
            });
        }
        Ok(PageEnd {
            cursor: self.cursor,
        })
    }

    /// The next byte that is not whitespace, not consumed; whitespace before it is.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.buffer.get(self.pos) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.pos += 1;
        }
        None
    }

    fn expect(&mut self, byte: u8, wanted: u8, what: &str) -> serde_json::Result<()> {
        if byte != wanted {
            return Err(malformed(what));
        }
        self.pos += 1;
        Ok(())
    }

    /// The byte range of the value starting at `pos` once it is complete (consumed), or `None`
    /// until more bytes arrive. Scalars end at the delimiter after them, which every scalar in
    /// a page has (a page is an object).
    fn scanned_value(&mut self) -> serde_json::Result<Option<std::ops::Range<usize>>> {
        let bytes = &self.buffer[self.pos..];
        let scan = &mut self.scan;
        let first = bytes[0];
        let mut at = scan.len.max(1);
        let end = match first {
            b'{' | b'[' => {
                scan.depth = scan.depth.max(1);
                nested_end(bytes, &mut at, scan)
            }
            b'"' => {
                scan.in_string = true;
                string_end(bytes, &mut at, scan).then_some(at)
            }
            _ => {
                while let Some(&byte) = bytes.get(at) {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    at += 1;
                }
                (at < bytes.len()).then_some(at)
            }
        };
        let Some(end) = end else {
            scan.len = at;
            return Ok(None);
        };
        self.scan = Scan::default();
        let range = self.pos..self.pos + end;
        self.pos = range.end;
        Ok(Some(range))
    }

    fn field(&mut self, key: std::ops::Range<usize>) -> serde_json::Result<Field> {
        let raw = &self.buffer[key];
        let decoded;
        let name: &[u8] = if raw.contains(&b'\\') {
            decoded = serde_json::from_slice::<String>(raw)?;
            decoded.as_bytes()
        } else {
            match raw {
                [b'"', inner @ .., b'"'] => inner,
                _ => return Err(malformed("expected a key")),
            }
        };
        Ok(match name {
            b"results" if self.results_seen => {
                return Err(serde_json::Error::duplicate_field("results"));
            }
            b"results" => {
                self.results_seen = true;
                Field::Results
            }
            b"cursor" => Field::Cursor,
            _ => Field::Other,
        })
    }

    fn keep(&mut self, field: Field, value: std::ops::Range<usize>) -> serde_json::Result<()> {
        let raw = &self.buffer[value];
        match field {
            Field::Cursor => {
                self.cursor = match std::mem::take(&mut self.cursor) {
                    CursorField::Absent => match serde_json::from_slice(raw) {
                        Ok(cursor) => CursorField::Read(cursor),
                        // Kept, not raised: only an async results page has a cursor field.
                        Err(e) => CursorField::Invalid(e),
                    },
                    _ => CursorField::Duplicate,
                };
            }
            _ => {
                serde_json::from_slice::<IgnoredAny>(raw)?;
            }
        }
        Ok(())
    }

    fn group(
        &mut self,
        range: std::ops::Range<usize>,
    ) -> serde_json::Result<AggregateDataContainer> {
        let raw = &self.buffer[range];
        if let Some(group) = std::str::from_utf8(raw).ok().and_then(fast::container) {
            return Ok(group);
        }
        if self.fast_only {
            return Err(malformed("the fast reader declined a group"));
        }
        serde_json::from_slice(raw)
    }
}

/// Scans an object or list from `at` (the opening bracket already counted in `scan.depth`);
/// its end, just past the closing bracket, once it is in `bytes`.
fn nested_end(bytes: &[u8], at: &mut usize, scan: &mut Scan) -> Option<usize> {
    loop {
        if scan.in_string && !string_end(bytes, at, scan) {
            return None;
        }
        let byte = *bytes.get(*at)?;
        *at += 1;
        match byte {
            b'"' => scan.in_string = true,
            b'{' | b'[' => scan.depth += 1,
            b'}' | b']' => {
                scan.depth -= 1;
                if scan.depth == 0 {
                    return Some(*at);
                }
            }
            _ => {}
        }
    }
}

/// Scans a string's text from `at` up to its closing quote; `true` with `at` just past it once
/// it is in `bytes`.
fn string_end(bytes: &[u8], at: &mut usize, scan: &mut Scan) -> bool {
    while let Some(&byte) = bytes.get(*at) {
        *at += 1;
        if scan.escaped {
            scan.escaped = false;
        } else if byte == b'\\' {
            scan.escaped = true;
        } else if byte == b'"' {
            scan.in_string = false;
            return true;
        }
    }
    false
}

/// Reads a whole body: the groups and the page's end, or the first error.
pub(super) fn whole_page(
    body: &[u8],
    mut decoder: PageDecoder,
) -> serde_json::Result<(Vec<AggregateDataContainer>, PageEnd)> {
    decoder.push(body);
    let mut groups = Vec::new();
    while let Some(group) = decoder.next_group()? {
        groups.push(group);
    }
    Ok((groups, decoder.finish()?))
}

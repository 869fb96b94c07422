//! The bulk insert: a window's rows in key-index order, a bucket's rows in as few multi-row
//! statements as `CHUNK_SIZES` allow, each statement prepared once.

use genesys::Interval;
use genesys::interval::format_instant;
use rusqlite::Transaction;

use crate::fnv::Fnv;
use crate::rows::{AggregateRow, Value};
use crate::schema::TableSpec;
use crate::{Result, StoreError, WindowWrite};

/// Rows per INSERT statement, largest first. A bucket's rows are written with as few
/// executions as these sizes allow; each size stays prepared. Kept small enough that a
/// statement's bound text values fit SQLite's per-connection lookaside memory.
const CHUNK_SIZES: [usize; 4] = [32, 8, 2, 1];

/// Appends `?n` without going through `fmt` (a window's statements have thousands of them).
fn push_parameter(sql: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    sql.push('?');
    sql.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// A multi-row INSERT whose rows all share one bucket: its bounds are parameters 1 and 2, bound
/// once per bucket instead of once per row. `OR FAIL`: a failing row (a duplicate key) fails the
/// statement without SQLite keeping a statement journal to undo the statement's earlier rows;
/// the error rolls the whole window's transaction back anyway.
fn insert_sql(table: &str, names: &[String], rows: usize) -> String {
    let per_row = names.len() - 2;
    let mut sql = format!("INSERT OR FAIL INTO {table} ({}) VALUES ", names.join(", "));
    sql.reserve(rows * per_row * 6);
    let mut next = 3;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(?1, ?2" } else { ", (?1, ?2" });
        for _ in 0..per_row {
            sql.push_str(", ");
            push_parameter(&mut sql, next);
            next += 1;
        }
        sql.push(')');
    }
    sql
}

pub(crate) fn check_row(
    spec: &TableSpec,
    write: &WindowWrite<'_>,
    row: &AggregateRow,
    width: (usize, usize),
) -> Result<()> {
    if row.group.len() != width.0 || row.values.len() != width.1 {
        return Err(StoreError::RowShape {
            dataset: spec.name.clone(),
            interval: row.interval.to_string(),
            got: row.group.len() + row.values.len(),
            expected: width.0 + width.1,
        });
    }
    if !write.window.contains(row.interval.start) {
        return Err(StoreError::RowOutsideWindow {
            row: row.interval.to_string(),
            window: write.window.to_string(),
        });
    }
    Ok(())
}

/// Binds one row's group and values from parameter `first` on. Kept out of line: so rusqlite's
/// binding code is inlined here, in a small function, whatever the caller grows into (the write
/// path measured 7% more instructions when it was not).
#[inline(never)]
fn bind_row(
    insert: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    row: &AggregateRow,
) -> Result<()> {
    bind_cells(insert, first, &row.group, &row.values)
}

/// Binds a row's texts, then its values, from parameter `first` on.
#[inline(always)]
pub(crate) fn bind_cells(
    insert: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    texts: &[Option<String>],
    values: &[Option<Value>],
) -> Result<()> {
    let mut index = first;
    for text in texts {
        insert.raw_bind_parameter(index, text.as_deref())?;
        index += 1;
    }
    for value in values {
        match value {
            None => insert.raw_bind_parameter(index, rusqlite::types::Null)?,
            Some(Value::Int(i)) => insert.raw_bind_parameter(index, *i)?,
            Some(Value::Real(r)) => insert.raw_bind_parameter(index, *r)?,
        }
        index += 1;
    }
    Ok(())
}

/// The order of the table's unique key index over a group: each dimension with a missing value
/// as the empty string (`ifnull(dimension, '')`).
fn group_order(a: &[Option<String>], b: &[Option<String>]) -> std::cmp::Ordering {
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
    a.iter().map(text).cmp(b.iter().map(text))
}

/// The rows in the order of the table's key index (bucket start as stored, to the millisecond,
/// then the group), so the index only grows at its end, where SQLite inserts without a descent
/// from the root.
pub(crate) fn in_key_order(rows: &[AggregateRow]) -> Vec<&AggregateRow> {
    let start = |row: &AggregateRow| row.interval.start.as_millisecond();
    let sorted = rows.windows(2).all(|pair| {
        start(&pair[0])
            .cmp(&start(&pair[1]))
            .then_with(|| group_order(&pair[0].group, &pair[1].group))
            .is_le()
    });
    if sorted {
        return rows.iter().collect();
    }
    // Rank the distinct groups once, then sort the rows on integers.
    let mut ids: std::collections::HashMap<&[Option<String>], u32, _> =
        std::collections::HashMap::with_hasher(std::hash::BuildHasherDefault::<Fnv>::default());
    // (start, group id, row index); rows of one group often follow each other.
    let mut keys: Vec<(i64, u32, u32)> = Vec::with_capacity(rows.len());
    let mut previous: Option<(&[Option<String>], u32)> = None;
    for (index, row) in rows.iter().enumerate() {
        let id = match previous {
            Some((group, id)) if group == &row.group[..] => id,
            _ => {
                let next = ids.len() as u32;
                *ids.entry(&row.group[..]).or_insert(next)
            }
        };
        previous = Some((&row.group[..], id));
        keys.push((start(row), id, index as u32));
    }
    let mut groups: Vec<(&[Option<String>], u32)> = ids.into_iter().collect();
    groups.sort_unstable_by(|a, b| group_order(a.0, b.0));
    let mut rank = vec![0u32; groups.len()];
    for (position, (_, id)) in groups.iter().enumerate() {
        rank[*id as usize] = position as u32;
    }
    // One integer per row: start (from the earliest), rank, index.
    let first = keys.iter().map(|k| k.0).min().unwrap_or(0);
    let mut order: Vec<u128> = keys
        .iter()
        .map(|&(start, id, index)| {
            (u128::from((start - first) as u64) << 64)
                | (u128::from(rank[id as usize]) << 32)
                | u128::from(index)
        })
        .collect();
    order.sort_unstable();
    order
        .into_iter()
        .map(|key| &rows[(key as u32) as usize])
        .collect()
}

/// Inserts rows given in key order into `table` (quoted), with the columns `names` (the two
/// interval bounds first), a bucket's rows in as few multi-row statements as [`CHUNK_SIZES`] allow.
pub(crate) fn insert_by_bucket(
    tx: &Transaction<'_>,
    table: &str,
    names: &[String],
    rows: &[&AggregateRow],
) -> Result<()> {
    let per_row = names.len() - 2;
    let mut statements = Vec::with_capacity(CHUNK_SIZES.len());
    for size in CHUNK_SIZES {
        let insert = tx.prepare_cached(&insert_sql(table, names, size))?;
        // Bindings outlive an execution: a statement's bounds are rebound only for a new bucket.
        statements.push((size, None::<Interval>, insert));
    }
    for bucket in rows.chunk_by(|a, b| a.interval == b.interval) {
        let interval = bucket[0].interval;
        let mut bounds: Option<(String, String)> = None;
        let mut rest = bucket;
        while !rest.is_empty() {
            let (size, bound, insert) = statements
                .iter_mut()
                .find(|(size, _, _)| *size <= rest.len())
                .expect("the smallest statement has one row");
            let (chunk, tail) = rest.split_at(*size);
            if *bound != Some(interval) {
                let (start, end) = bounds.get_or_insert_with(|| {
                    (format_instant(interval.start), format_instant(interval.end))
                });
                insert.raw_bind_parameter(1, start.as_str())?;
                insert.raw_bind_parameter(2, end.as_str())?;
                *bound = Some(interval);
            }
            for (r, row) in chunk.iter().enumerate() {
                bind_row(insert, 3 + r * per_row, row)?;
            }
            insert.raw_execute()?;
            rest = tail;
        }
    }
    Ok(())
}

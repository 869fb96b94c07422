//! The reader side of the store seam: what the BI server reads, whatever the backend. A
//! [`ReadStore`] opens [`ReadSession`]s; a session answers a request's reads (blocking calls,
//! made off the async threads) and streams rows to a visitor as typed [`RowRef`]s, so the
//! server never holds a backend's connection, statement or row type.

use jiff::Timestamp;

use crate::cells::RowRef;
use crate::keys::KeyInfo;
use crate::query::Query;
use crate::read::{Cell, DatasetInfo, RunInfo, Selection};
use crate::schema::TableSpec;
use crate::{Result, StoreError};

/// Opens read sessions on one store; shared by every request of a server.
pub trait ReadStore: Send + Sync {
    /// A session for a request's reads: pooled and tuned for reading the same pages again
    /// (rollups, dashboards). Dropping it hands it back clean, whatever its work left open.
    fn session(&self) -> Result<Box<dyn ReadSession>>;
    /// A session for one long export, which reads each page once: it keeps no pages of the
    /// store resident beyond what the read needs.
    fn export_session(&self) -> Result<Box<dyn ReadSession>>;
    /// A number that changes whenever the store's data may have changed since the previous
    /// call (another process committed); `None` when the store can't tell, which callers
    /// must treat as a change. Caches are keyed by it, so it must never miss a commit.
    fn generation(&self) -> Option<i64>;
}

/// The column shape of a directory table as stored, for the OData entity sets.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredColumn {
    pub name: String,
    /// The declared type, as written (`INTEGER`, `REAL`, `TEXT`, …).
    pub declared: String,
    pub not_null: bool,
    pub primary_key: bool,
}

/// A row visitor: sees each row while the statement is on it; an error stops the read.
pub type Visitor<'v> = dyn FnMut(&RowRef<'_, '_>) -> Result<()> + 'v;

/// One request's reads. Every read runs to its end before it returns (the visitor sees rows
/// meanwhile), so a slow HTTP client never holds a read open.
pub trait ReadSession {
    /// Every dataset, by name, with its row count.
    fn datasets(&self) -> Result<Vec<DatasetInfo>>;
    /// One dataset (without its row count), or `None` if the store has no such dataset.
    fn dataset(&self, name: &str) -> Result<Option<DatasetInfo>>;
    /// The most recent runs, newest first.
    fn recent_runs(&self, limit: usize) -> Result<Vec<RunInfo>>;
    /// The first bucket start and last bucket end stored, if any row is.
    fn extent(&self, spec: &TableSpec) -> Result<Option<(Timestamp, Timestamp)>>;
    /// Hands up to `limit` rows of the selection over `segment`, skipping the first `offset`,
    /// to `each`; returns how many.
    fn visit_selection(
        &self,
        selection: &Selection,
        segment: (Timestamp, Timestamp),
        offset: u64,
        limit: u64,
        each: &mut Visitor<'_>,
    ) -> Result<u64>;
    /// The rows an OData query selects, copied out.
    fn query_rows(&self, query: &Query) -> Result<Vec<Vec<Cell>>>;
    /// How many rows an OData query's filter selects (before paging).
    fn query_count(&self, query: &Query) -> Result<i64>;
    /// A directory table's columns in their order; empty if there is no such table.
    fn directory_columns(&self, table: &str) -> Result<Vec<DeclaredColumn>>;
    /// How many datasets the store holds (a cheap proof that it opens and reads).
    fn dataset_count(&self) -> Result<i64>;
    /// The key, if `presented` is a live (not revoked) API key.
    fn verify_key(&self, presented: &str) -> Result<Option<KeyInfo>>;
    /// Starts one snapshot: the reads until [`ReadSession::end_snapshot`] see the same data.
    fn begin_snapshot(&self) -> Result<()>;
    fn end_snapshot(&self) -> Result<()>;
}

/// Runs `work` on one snapshot of the store (an OData page and its `@odata.count` agree). An
/// error from `work` leaves the snapshot to the session's drop to end.
pub fn in_snapshot<T, E: From<StoreError>>(
    session: &dyn ReadSession,
    work: impl FnOnce(&dyn ReadSession) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    session.begin_snapshot()?;
    let out = work(session)?;
    session.end_snapshot()?;
    Ok(out)
}

impl Selection {
    /// Up to `limit` rows of the segment `[start, end)`, skipping the first `offset`, copied
    /// out.
    pub fn read(
        &self,
        session: &dyn ReadSession,
        segment: (Timestamp, Timestamp),
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Vec<Cell>>> {
        let mut rows = Vec::new();
        self.visit(session, segment, offset, limit, |row| {
            rows.push(crate::read::cells(row)?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Like [`Selection::read`], but hands each row to `each` as the store gives it (no copy
    /// of its values: what an export does with tens of millions of them); returns how many.
    pub fn visit(
        &self,
        session: &dyn ReadSession,
        segment: (Timestamp, Timestamp),
        offset: u64,
        limit: u64,
        mut each: impl FnMut(&RowRef<'_, '_>) -> Result<()>,
    ) -> Result<u64> {
        session.visit_selection(self, segment, offset, limit, &mut each)
    }
}

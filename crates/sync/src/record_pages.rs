//! A record dataset's window in flight from its details job to its write: pages of records
//! handed on as each job results page is read, so memory holds a page or two, not the window;
//! and the job's `dataAvailabilityDate`, known with its first page, which says whether the
//! window is complete.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use warehouse::RecordPage;

use crate::engine::SourceError;

/// What the fetch of a record window tells its write.
pub(crate) enum RecordMessage {
    Page(RecordPage),
    /// Every page was sent: the write may commit.
    End,
}

/// The sending end of a record window's pages (see `AggregateSource::stream_records`).
pub struct RecordSender {
    channel: tokio::sync::mpsc::Sender<RecordMessage>,
    available: Arc<Mutex<Option<Timestamp>>>,
}

impl RecordSender {
    pub(crate) fn new(
        channel: tokio::sync::mpsc::Sender<RecordMessage>,
        available: Arc<Mutex<Option<Timestamp>>>,
    ) -> Self {
        Self { channel, available }
    }

    /// Notes the API's `dataAvailabilityDate` for the window: it had every record before it.
    /// Set before the first page is sent (the write reads it then).
    pub fn available_through(&self, at: Timestamp) {
        let mut available = self.available.lock().unwrap_or_else(|p| p.into_inner());
        available.get_or_insert(at);
    }

    /// Hands a page to the window's write, waiting while the write is behind.
    pub async fn send(&self, page: RecordPage) -> Result<(), SourceError> {
        self.channel
            .send(RecordMessage::Page(page))
            .await
            .map_err(|_| SourceError::from("the window's write stopped taking pages"))
    }
}

/// The receiving end, read on the write's blocking thread: the pages, then the end. A channel
/// that closes without the end (the fetch failed, or was dropped on a stop) is an error, so the
/// write rolls back rather than commit part of a window.
pub(crate) fn received(
    mut pages: tokio::sync::mpsc::Receiver<RecordMessage>,
) -> impl Iterator<Item = warehouse::Result<RecordPage>> {
    let mut ended = false;
    std::iter::from_fn(move || {
        if ended {
            return None;
        }
        match pages.blocking_recv() {
            Some(RecordMessage::Page(page)) => Some(Ok(page)),
            Some(RecordMessage::End) => {
                ended = true;
                None
            }
            None => {
                ended = true;
                Some(Err(warehouse::StoreError::PagesStopped(
                    "the details job's pages stopped before the last one".into(),
                )))
            }
        }
    })
}

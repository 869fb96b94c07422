//! The streamed body: the export lanes' bytes taken back in segment order, so that two
//! threads reading at once still give one body in bucket order.

use axum::body::Bytes;

/// What a lane hands to the body.
pub(super) enum Piece {
    Bytes(Bytes),
    /// The lane has sent every byte of its current segment.
    SegmentDone,
}

pub(super) type PieceSender = tokio::sync::mpsc::Sender<Result<Piece, String>>;
pub(super) type PieceReceiver = tokio::sync::mpsc::Receiver<Result<Piece, String>>;

/// The body: the header, then each segment's bytes from the lane that owns it, in order, then
/// whatever the lanes send after their last segment.
pub(super) struct Merge {
    head: Option<Bytes>,
    receivers: Vec<PieceReceiver>,
    segment: usize,
    segments: usize,
    drained: usize,
    failed: bool,
}

impl Merge {
    /// `receivers[i]` is lane `i`, which owns every `receivers.len()`-th of the `segments`
    /// occupied segments from the `i`-th on.
    pub(super) fn new(head: Option<Bytes>, receivers: Vec<PieceReceiver>, segments: usize) -> Self {
        Merge {
            head,
            receivers,
            segment: 0,
            segments,
            drained: 0,
            failed: false,
        }
    }

    pub(super) async fn next(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if let Some(head) = self.head.take() {
            return Some(Ok(head));
        }
        while !self.failed {
            let lanes = self.receivers.len();
            let received = if self.segment < self.segments {
                self.receivers[self.segment % lanes].recv().await
            } else if self.drained < lanes {
                self.receivers[self.drained].recv().await
            } else {
                return None;
            };
            match received {
                Some(Ok(Piece::Bytes(bytes))) => return Some(Ok(bytes)),
                Some(Ok(Piece::SegmentDone)) => self.segment += 1,
                Some(Err(error)) => {
                    self.failed = true;
                    return Some(Err(std::io::Error::other(error)));
                }
                None if self.segment < self.segments => {
                    self.failed = true;
                    return Some(Err(std::io::Error::other("an export thread stopped early")));
                }
                None => self.drained += 1,
            }
        }
        None
    }
}

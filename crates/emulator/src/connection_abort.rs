//! A request's handle on its own connection, so a fault can drop it without a response.

use std::sync::Arc;

use tokio::sync::Notify;

/// Lets a request ask for its own connection to be dropped without a response.
#[derive(Clone, Debug, Default)]
pub struct ConnectionAbort(Arc<Notify>);

impl ConnectionAbort {
    pub fn trigger(&self) {
        self.0.notify_one();
    }

    pub(crate) async fn triggered(&self) {
        self.0.notified().await;
    }
}

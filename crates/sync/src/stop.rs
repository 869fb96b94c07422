//! A stop request shared by everything a command runs (SIGTERM, Ctrl-C): the engine starts no
//! new window once it is set and abandons the fetches in flight, while writes already handed to
//! the store run to their commit.

use tokio::sync::watch;

/// The side that asks to stop (the signal handler).
#[derive(Debug)]
pub struct StopSwitch(watch::Sender<bool>);

/// The side that watches; cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl StopSwitch {
    pub fn new() -> (StopSwitch, Stop) {
        let (sender, receiver) = watch::channel(false);
        (StopSwitch(sender), Stop(receiver))
    }

    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// A stop that never comes (tests, one-shot library calls).
    pub fn never() -> Stop {
        let (switch, stop) = StopSwitch::new();
        // Dropping the switch leaves the value false for good.
        drop(switch);
        stop
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once a stop is asked for; never, if it cannot be asked any more.
    pub async fn stopped(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|stopped| *stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_reaches_every_clone_and_never_means_never() {
        let (switch, stop) = StopSwitch::new();
        let clone = stop.clone();
        assert!(!stop.is_stopped());
        let waiting = tokio::spawn(async move { clone.stopped().await });
        switch.stop();
        waiting.await.unwrap();
        assert!(stop.is_stopped());
        // Already stopped: completes at once.
        stop.stopped().await;

        let never = Stop::never();
        assert!(!never.is_stopped());
        let outcome =
            tokio::time::timeout(std::time::Duration::from_millis(20), never.stopped()).await;
        assert!(
            outcome.is_err(),
            "a stop that never comes does not complete"
        );
    }
}

//! Logs in tests: nowhere by default, on the test's output with `TEST_LOG=<filter>` (say
//! `TEST_LOG=debug`), or captured for a test that checks what was logged.

use std::sync::{Arc, Mutex, Once};

/// Sends every test's logs to its output when `TEST_LOG` is set; called by the `spawn`s.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else {
            return;
        };
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .finish();
        // Another global subscriber already set is fine: logs go there.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Everything logged on this thread under `filter` (an `EnvFilter` directive) while it lives,
/// without colours: what a test asserts on. Tokio tests run their tasks on the test's thread.
pub struct CapturedLogs {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLogs {
    pub fn start(filter: &str) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&text);
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(move || Sink(Arc::clone(&sink)))
            .with_ansi(false)
            .finish();
        Self {
            text,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

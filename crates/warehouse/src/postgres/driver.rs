//! Reads that run on the caller's thread: [`block_on`] waits for a request's future there, and
//! for an export's own connection also drives that connection (its half that reads the
//! socket, [`Driver`]) on the same thread. Driven by the store's runtime thread instead, every
//! batch of rows crossed threads (some 8 kB each: three thread switches per 20-odd rows, a
//! quarter of an export's time in the server); driven here, the reading thread takes the
//! rows off the socket itself and waits only when the socket is empty.

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// The connection half of a `tokio_postgres` connection: it ends when the connection closes.
pub(crate) type ConnectionTask =
    Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// A connection's half that moves its messages, polled by the reads that wait on it.
pub(crate) struct Driver {
    /// `None` once the connection has ended (its requests then fail: their channel closes).
    task: Mutex<Option<ConnectionTask>>,
}

impl Driver {
    pub(crate) fn new(task: ConnectionTask) -> Self {
        Self {
            task: Mutex::new(Some(task)),
        }
    }

    fn poll(&self, context: &mut Context<'_>) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = task.as_mut()
            && running.as_mut().poll(context).is_ready()
        {
            *task = None;
        }
    }
}

thread_local! {
    /// The driver of the connection this thread's reads are on, if they drive their own.
    static DRIVING: RefCell<Option<Arc<Driver>>> = const { RefCell::new(None) };
}

/// While alive, [`block_on`] on this thread also drives `driver`'s connection.
pub(crate) struct Driving {
    previous: Option<Arc<Driver>>,
}

impl Driving {
    pub(crate) fn new(driver: Option<&Arc<Driver>>) -> Self {
        let previous = DRIVING.with(|d| d.replace(driver.cloned()));
        Self { previous }
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.with(|d| *d.borrow_mut() = self.previous.take());
    }
}

/// Wakes the thread that blocks on a future.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to its end on this thread (and the connection [`Driving`] names, if any).
/// The driver's requests need no runtime (the reader's own runtime drives the pooled
/// connections), so a read runs where it is called, a visitor and borrowed values with it,
/// without crossing threads per row. A wake during the polls leaves the thread's park token
/// set, so nothing woken is missed.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let driver = DRIVING.with(|d| d.borrow().clone());
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut context) {
            return out;
        }
        if let Some(driver) = &driver {
            driver.poll(&mut context);
            // What the connection just handed over is read without waiting.
            if let Poll::Ready(out) = future.as_mut().poll(&mut context) {
                return out;
            }
        }
        std::thread::park();
    }
}

//! Work nobody waits on (derives started in the background, the `/metrics`
//! gauge refreshes) runs on a runtime of its own whose threads have a lower
//! CPU priority. On a small machine a derive would otherwise take the
//! worker threads that acknowledge webhooks and answer reports: at 16
//! connections on 2 cores the deliveries waited on it (930 per second).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The nice value of the background threads (0 is normal, 19 the lowest).
const NICENESS: libc::c_int = 10;

/// Spawns `task` on the background runtime; on the caller's runtime when
/// that one could not be built (the work still runs, at normal priority).
pub fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match runtime() {
        Some(runtime) => drop(runtime.spawn(task)),
        None => drop(tokio::spawn(task)),
    }
}

fn runtime() -> Option<&'static Runtime> {
    static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("devex-background")
                .on_thread_start(lower_priority)
                .enable_all()
                .build()
                .map_err(|e| tracing::warn!(error = %e, "No background runtime; derives run beside the requests."))
                .ok()
        })
        .as_ref()
}

/// Lowers the calling thread's priority (Linux gives each thread its own
/// nice value). A failure only leaves the thread at normal priority.
fn lower_priority() {
    // SAFETY: gettid and setpriority take no pointers and touch only the
    // calling thread's scheduling attributes.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, NICENESS);
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn background_tasks_run_at_a_lower_priority() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        super::spawn(async move {
            // SAFETY: getpriority takes no pointers.
            let nice = unsafe {
                let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::getpriority(libc::PRIO_PROCESS, thread)
            };
            let name = std::thread::current().name().map(str::to_string);
            let _ = sender.send((nice, name));
        });
        let (nice, name) = receiver.await.unwrap();
        assert_eq!(nice, super::NICENESS);
        assert_eq!(name.as_deref(), Some("devex-background"));
    }
}

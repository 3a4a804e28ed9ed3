//! Work nobody waits on (derives started in the background, the `/metrics`
//! gauge refreshes) runs on a runtime of its own. On the request runtime a
//! derive's DataFusion tasks would hold the worker threads that acknowledge
//! webhooks and answer reports, and those requests would queue behind it:
//! at 16 connections on 2 cores deliveries fell to 930 per second. On
//! threads of its own the operating system shares the cores between both.
//!
//! The threads keep the normal priority: at a lower one (nice 10 was
//! tried) a machine busy with other processes starved the derive, and the
//! reports stayed stale.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// Spawns `task` on the background runtime; on the caller's runtime when
/// that one could not be built (the work still runs).
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
                .enable_all()
                .build()
                .map_err(|e| tracing::warn!(error = %e, "No background runtime; derives run beside the requests."))
                .ok()
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn background_tasks_run_on_threads_of_their_own() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        super::spawn(async move {
            let name = std::thread::current().name().map(str::to_string);
            let _ = sender.send(name);
        });
        let name = receiver.await.unwrap();
        assert_eq!(name.as_deref(), Some("devex-background"));
    }
}

//! Progress of long work (imports, the demo generator, syncs), told as events
//! to a [`Progress`] receiver: the CLI draws bars from them, servers and
//! scripts pass [`NoProgress`], tests record them. No library crate draws.

use std::io::Read;

/// One step of long work.
#[derive(Debug, Clone)]
pub enum ProgressEvent<'a> {
    /// Work on `resource` of `scope` (a repository, a file) began.
    Started { scope: &'a str, resource: &'a str },
    /// `done` of `total` units (pages, bytes, teams, ...) are done.
    Advanced {
        scope: &'a str,
        resource: &'a str,
        done: u64,
        total: Option<u64>,
        unit: &'a str,
    },
    /// The resource is done: rows stored and duplicates skipped.
    Finished {
        scope: &'a str,
        resource: &'a str,
        stored: usize,
        duplicates: usize,
    },
    /// The source asked us to wait (a rate limit) or a retry is pending.
    Waiting { message: String, seconds: u64 },
}

/// Receives progress; the CLI draws bars, tests record.
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent<'_>);
}

/// Progress that goes nowhere (servers, scripts).
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: ProgressEvent<'_>) {}
}

/// The unit of [`ProgressEvent::Advanced`] when counting bytes of a file.
pub const BYTES: &str = "bytes";

/// A reader that reports the bytes read from `scope` (a file name) as
/// [`ProgressEvent::Advanced`] with unit [`BYTES`], at most every 256 KiB.
pub struct ProgressReader<'a, R> {
    inner: R,
    scope: &'a str,
    total: Option<u64>,
    done: u64,
    reported: u64,
    progress: &'a dyn Progress,
}

impl<'a, R: Read> ProgressReader<'a, R> {
    pub fn new(inner: R, scope: &'a str, total: Option<u64>, progress: &'a dyn Progress) -> Self {
        ProgressReader {
            inner,
            scope,
            total,
            done: 0,
            reported: 0,
            progress,
        }
    }
}

const REPORT_EVERY_BYTES: u64 = 256 * 1024;

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if n == 0 || self.done - self.reported >= REPORT_EVERY_BYTES {
            self.reported = self.done;
            self.progress.event(ProgressEvent::Advanced {
                scope: self.scope,
                resource: "read",
                done: self.done,
                total: self.total,
                unit: BYTES,
            });
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<(u64, Option<u64>)>>);

    impl Progress for Recorded {
        fn event(&self, event: ProgressEvent<'_>) {
            if let ProgressEvent::Advanced { done, total, .. } = event {
                self.0.lock().unwrap().push((done, total));
            }
        }
    }

    #[test]
    fn a_reader_reports_bytes_read_up_to_the_end() {
        let data = vec![7u8; 600 * 1024];
        let recorded = Recorded::default();
        let mut reader =
            ProgressReader::new(&data[..], "f.csv", Some(data.len() as u64), &recorded);
        let mut sink = Vec::new();
        reader.read_to_end(&mut sink).unwrap();
        let events = recorded.0.lock().unwrap();
        assert_eq!(
            events.last(),
            Some(&(data.len() as u64, Some(data.len() as u64)))
        );
        assert!(events.len() >= 2, "{events:?}");
    }
}

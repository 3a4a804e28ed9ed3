//! `devex serve`: the real server on a real socket.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::support::*;

pub struct Server {
    child: Child,
    pub base: String,
    /// The server's log (stderr), shown when a wait for an answer times out.
    log: tempfile::NamedTempFile,
}

impl Server {
    pub fn start(lake: &std::path::Path, demo: bool) -> Server {
        Self::start_with(lake, demo, &[])
    }

    /// Starts the server with extra environment (configuration) variables.
    pub fn start_with_env(lake: &std::path::Path, env: &[(&str, &str)]) -> Server {
        Self::start_with(lake, false, env)
    }

    fn start_with(lake: &std::path::Path, demo: bool, env: &[(&str, &str)]) -> Server {
        let extra: &[&str] = if demo { &["--demo"] } else { &[] };
        Self::start_on(lake, "127.0.0.1:0", extra, env)
    }

    /// Starts the server on `addr` with extra `serve` arguments; the base
    /// URL reaches it over loopback whatever the address.
    pub fn start_on(
        lake: &std::path::Path,
        addr: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut command = devex();
        command.envs(env.iter().copied());
        command
            .args(["serve", "--lake", lake.to_str().unwrap(), "--addr", addr])
            .args(extra)
            .env("DEVEX_DEMO__SCALE", "0.25")
            .env("DEVEX_DEMO__MONTHS", "6")
            .stdout(Stdio::piped());
        let log = tempfile::NamedTempFile::new().unwrap();
        command.stderr(log.reopen().unwrap());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("devex listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .replace("0.0.0.0", "127.0.0.1");
        Server { child, base, log }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GET of a report once it includes events up to `at`: a server answers
    /// from the newest derived tables while it derives the events just
    /// stored, and says how fresh its answer is in `data_as_of`.
    pub async fn get_json_as_of(&self, path: &str, at: &str) -> serde_json::Value {
        let wanted: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        self.get_json_until(path, |report| {
            report["data_as_of"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .is_some_and(|as_of| as_of >= wanted)
        })
        .await
    }

    /// GET of a report once `ready` holds of it (within 60 s, for a machine
    /// busy with the other tests): for changes without an event time, such
    /// as a new catalog.
    pub async fn get_json_until(
        &self,
        path: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let report = self.get_json(path).await;
            if ready(&report) {
                return report;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} is not there yet: {report}\nthe server's log ends:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// GET with its status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The server's resident memory, in KiB (Linux).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test]
async fn serve_demo_fills_every_table_and_stops_on_sigterm() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start(lake.path(), true);
    let client = reqwest::Client::new();

    let health = server.get_json("/healthz").await;
    assert_eq!(health["status"], "ok");

    let tables = server.get_json("/api/v1/tables").await;
    let tables = tables.as_array().unwrap();
    assert_eq!(tables.len(), ingest::schema::TABLES.len());
    for table in tables {
        assert!(table["rows"].as_u64().unwrap() > 0, "{table} is empty");
        assert!(
            table["files"].as_u64().unwrap() > 0 && table["bytes"].as_u64().unwrap() > 0,
            "{table}"
        );
    }

    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("process_resident_memory_bytes"),
        "{metrics}"
    );
    let portal = client
        .get(&server.base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(portal.contains("Engineering overview"), "{portal}");
    assert!(portal.contains("/teams/"), "{portal}");

    let status = server.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

#[tokio::test]
async fn serve_without_demo_keeps_an_empty_lake_empty() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start(lake.path(), false);
    let tables = server.get_json("/api/v1/tables").await;
    assert!(tables.as_array().unwrap().iter().all(|t| t["rows"] == 0));
    let missing = reqwest::get(format!("{}/api/v1/nope", server.base))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(server.terminate().success());
}

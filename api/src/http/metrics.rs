//! The Prometheus `/metrics` endpoint: process metrics, build info and the
//! headline measures of [`crate::http::gauges`]. Labels are team, service,
//! environment (and percentile, metric, level, phase), never a person.
//! Served as OpenMetrics to clients that ask for it (Prometheus does), else
//! in the classic text format.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The classic Prometheus text format, for clients that do not ask for
/// OpenMetrics (curl, `promtool check metrics`).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics text in the classic text format: counters' HELP and TYPE
/// carry the `_total` their samples have, and `# UNIT` and `# EOF` go.
pub fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

pub struct Metrics {
    registry: Registry,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Process metrics, build info and the scorecard's gauges.
    pub fn with_scorecard(scorecard: crate::http::gauges::Scorecard) -> Metrics {
        let mut metrics = Metrics::new();
        metrics.registry.register_collector(Box::new(scorecard));
        metrics
    }

    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let build_info = Family::<Vec<(String, String)>, Gauge>::default();
        build_info
            .get_or_create(&vec![(
                "version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            )])
            .set(1);
        registry.register(
            "devex_build_info",
            "Version of the running devex",
            build_info,
        );
        registry.register_collector(Box::new(ProcessCollector::new()));
        Metrics { registry }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The standard `process_*` metrics, read from `/proc` at scrape time.
#[derive(Debug)]
struct ProcessCollector {
    start_time_seconds: f64,
}

impl ProcessCollector {
    fn new() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        ProcessCollector {
            start_time_seconds: now,
        }
    }
}

/// Process figures from procfs: (cpu seconds, resident bytes, threads, open fds).
fn read_proc_self() -> Option<(f64, f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let threads = fields.get(17)?.parse::<f64>().ok()?;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages = statm.split_whitespace().nth(1)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let (ticks_per_second, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()) as f64;
    Some((
        ticks / ticks_per_second.max(1) as f64,
        resident_pages * page_size.max(1) as f64,
        threads,
        open_fds,
    ))
}

fn encode_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, unit.as_ref(), gauge.metric_type())?;
    gauge.encode(metric)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_gauge(
            &mut encoder,
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Some(Unit::Seconds),
            self.start_time_seconds,
        )?;
        if let Some((cpu_seconds, resident_bytes, threads, open_fds)) = read_proc_self() {
            let cpu = ConstCounter::new(cpu_seconds);
            let metric = encoder.encode_descriptor(
                "process_cpu",
                "User and system CPU time spent",
                Some(&Unit::Seconds),
                cpu.metric_type(),
            )?;
            cpu.encode(metric)?;
            encode_gauge(
                &mut encoder,
                "process_resident_memory",
                "Resident memory size",
                Some(Unit::Bytes),
                resident_bytes,
            )?;
            encode_gauge(
                &mut encoder,
                "process_threads",
                "Number of OS threads",
                None,
                threads,
            )?;
            encode_gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors",
                None,
                open_fds,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_process_metrics() {
        let text = Metrics::new().encode().unwrap();
        for name in [
            "process_start_time_seconds",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "devex_build_info",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert!(text.trim_end().ends_with("# EOF"));
        let classic = to_text_format(&text);
        assert!(
            classic.contains("# TYPE process_cpu_seconds_total counter"),
            "{classic}"
        );
        assert!(
            classic.contains("# HELP process_cpu_seconds_total "),
            "{classic}"
        );
        assert!(
            !classic.contains("# EOF") && !classic.contains("# UNIT"),
            "{classic}"
        );
        assert!(classic.contains("# TYPE process_resident_memory_bytes gauge"));
    }
}

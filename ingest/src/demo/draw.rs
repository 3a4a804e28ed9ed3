//! Random draws (seeded streams, distributions, shas) and the working-time
//! clock of each team's time zone.

use super::*;

pub(super) fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    let digest = Sha256::digest(format!("{seed}/{name}").as_bytes());
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(bytes)
}

pub(super) fn sha(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        rng.gen::<u64>(),
        rng.gen::<u64>(),
        rng.gen::<u32>()
    )
}

pub(super) fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

pub(super) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub(super) fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

pub(super) fn hours(h: f64) -> i64 {
    (h * HOUR as f64) as i64
}

pub(super) fn day_start(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_micros())
}

/// A local wall-clock time on `day` in `zone`, as UTC micros. Times in a DST
/// gap move an hour later.
pub(super) fn local_time(zone: Tz, day: NaiveDate, hour: f64) -> i64 {
    let seconds = (hour.clamp(0.0, 23.99) * 3600.0) as u32;
    let Some(naive) = day.and_hms_opt(seconds / 3600, (seconds / 60) % 60, seconds % 60) else {
        return day_start(day);
    };
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map_or(day_start(day), |t| t.timestamp_micros())
}

/// Moves a time outside working hours (09:00-19:00 local, Monday to Friday)
/// to the start of the next working day, keeping its minutes past the hour as
/// jitter so that work does not pile up on the stroke of nine.
pub(super) fn working_time(zone: Tz, at: i64) -> i64 {
    let Some(local) = chrono::DateTime::from_timestamp_micros(at).map(|t| t.with_timezone(&zone))
    else {
        return at;
    };
    let (day, hour) = (local.date_naive(), chrono::Timelike::hour(&local));
    if !is_weekend(day) && (9..19).contains(&hour) {
        return at;
    }
    let mut next = if hour >= 19 {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    while is_weekend(next) {
        next = next.succ_opt().unwrap_or(next);
    }
    let seconds =
        f64::from(chrono::Timelike::minute(&local) * 60 + chrono::Timelike::second(&local));
    local_time(zone, next, 9.0 + seconds / 3600.0).max(at)
}

/// A working hour, peaking mid-day.
pub(super) fn working_hour(rng: &mut ChaCha8Rng) -> f64 {
    9.0 + 9.0 * (rng.gen::<f64>() + rng.gen::<f64>()) / 2.0
}

pub(super) fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

pub(super) fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d < to)
}

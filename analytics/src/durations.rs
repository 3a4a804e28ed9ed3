//! Durations between two timestamps as SQL functions: `elapsed_hours(a, b)`,
//! and `weekday_hours(a, b)`, which leaves Saturdays and Sundays (in a time
//! zone fixed when the function is made) out, for teams that do not want a
//! pull request opened on Friday evening to look three days slow.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// Hours from `start` to `end` that fall on Monday to Friday in `tz`;
/// negative when `end` is before `start`.
pub fn weekday_hours(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> f64 {
    if end < start {
        return -weekday_hours(end, start, tz);
    }
    let mut total = Duration::zero();
    let mut cursor = start;
    while cursor < end {
        let local = cursor.with_timezone(&tz);
        let next_day = local.date_naive().succ_opt().unwrap_or(local.date_naive());
        let next_midnight = crate::template::local_midnight(tz, next_day);
        // Guard against a zone whose next midnight does not move forward.
        let boundary = if next_midnight > cursor {
            next_midnight.min(end)
        } else {
            end
        };
        if !matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
            total += boundary - cursor;
        }
        cursor = boundary;
    }
    total.num_microseconds().unwrap_or(i64::MAX) as f64 / MICROS_PER_HOUR
}

fn timestamps(value: &ColumnarValue, rows: usize) -> datafusion::error::Result<ArrayRef> {
    let array = value.to_array(rows)?;
    arrow::compute::cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .map_err(|e| DataFusionError::Execution(format!("duration arguments: {e}")))
}

fn make(name: &str, weekdays_in: Option<Tz>) -> ScalarUDF {
    let timestamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    create_udf(
        name,
        vec![timestamp.clone(), timestamp],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let rows = args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(array) => Some(array.len()),
                    ColumnarValue::Scalar(_) => None,
                })
                .unwrap_or(1);
            let start = timestamps(&args[0], rows)?;
            let end = timestamps(&args[1], rows)?;
            let (start, end) = (
                start.as_primitive::<TimestampMicrosecondType>(),
                end.as_primitive::<TimestampMicrosecondType>(),
            );
            let hours: Float64Array = (0..rows)
                .map(|i| {
                    if start.is_null(i) || end.is_null(i) {
                        return None;
                    }
                    let (a, b) = (start.value(i), end.value(i));
                    Some(match weekdays_in {
                        None => (b - a) as f64 / MICROS_PER_HOUR,
                        Some(tz) => weekday_hours(
                            Utc.timestamp_micros(a).single()?,
                            Utc.timestamp_micros(b).single()?,
                            tz,
                        ),
                    })
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(hours)))
        }),
    )
}

/// `elapsed_hours(start, end)`: every hour counts.
pub fn elapsed_hours_udf() -> ScalarUDF {
    make("elapsed_hours", None)
}

/// `weekday_hours(start, end)`: weekends in `tz` left out.
pub fn weekday_hours_udf(tz: Tz) -> ScalarUDF {
    make("weekday_hours", Some(tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekends_are_left_out_in_the_teams_zone() {
        // Friday 2024-06-07 18:00 UTC to Monday 2024-06-10 10:00 UTC: 6 h on
        // Friday and 10 h on Monday.
        let hours = weekday_hours(
            at("2024-06-07T18:00:00Z"),
            at("2024-06-10T10:00:00Z"),
            Tz::UTC,
        );
        assert!((hours - 16.0).abs() < 1e-9, "{hours}");
        // In Berlin (+02:00) the weekend starts at Friday 22:00 UTC: 4 h on
        // Friday, and Monday starts at Sunday 22:00 UTC: 12 h.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let hours = weekday_hours(
            at("2024-06-07T18:00:00Z"),
            at("2024-06-10T10:00:00Z"),
            berlin,
        );
        assert!((hours - 16.0).abs() < 1e-9, "{hours}");
        let hours = weekday_hours(
            at("2024-06-07T18:00:00Z"),
            at("2024-06-09T23:00:00Z"),
            berlin,
        );
        assert!((hours - 5.0).abs() < 1e-9, "{hours}");
        // Within a weekday nothing changes; reversed, the sign flips.
        let hours = weekday_hours(
            at("2024-06-05T08:00:00Z"),
            at("2024-06-05T09:30:00Z"),
            Tz::UTC,
        );
        assert!((hours - 1.5).abs() < 1e-9);
        let hours = weekday_hours(
            at("2024-06-05T09:30:00Z"),
            at("2024-06-05T08:00:00Z"),
            Tz::UTC,
        );
        assert!((hours + 1.5).abs() < 1e-9);
    }
}

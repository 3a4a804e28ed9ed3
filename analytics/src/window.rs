//! The report window: the calendar days a report covers, in a time zone.
//!
//! One parser and one default rule for every report (DORA, DevEx, SPACE),
//! the portal, the Backstage scorecard and `/metrics`: a window is
//! `[from, to)` in local calendar days of `tz`; without `to`, it ends with
//! today (or a configured last day), so today counts; without `from`, it
//! covers the given number of days before `to`.

use std::str::FromStr;

use chrono::{Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// Days a report covers when `from` is not given.
pub const REPORT_DAYS: u64 = 90;

/// The longest window a report covers: ten years (with their leap days).
/// A longer one is almost always a mistake (`from=0001-01-01`) that would
/// make every per-period answer enormous.
pub const MAX_DAYS: i64 = 3653;

/// A window of local calendar days: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
}

impl Window {
    /// The `days` days ending with `last_day` (default: today in `tz`).
    pub fn last_days(days: u64, last_day: Option<NaiveDate>, tz: Tz) -> Window {
        let last_day = last_day.unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
        let to = last_day + Days::new(1);
        Window {
            from: to - Days::new(days.max(1)),
            to,
            tz,
        }
    }

    /// The window as typed (CLI flags or a query string): dates as
    /// YYYY-MM-DD, an IANA time zone, empty text as absent. Missing ends
    /// follow [`Window::last_days`] with `default_days`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        default_days: u64,
    ) -> Result<Window> {
        fn present(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let tz = match present(tz) {
            None => Tz::UTC,
            Some(name) => parse_tz(name)?,
        };
        let to = present(to).map(|v| parse_date("to", v)).transpose()?;
        let from = present(from).map(|v| parse_date("from", v)).transpose()?;
        let mut window = Window::last_days(default_days, to.map(|t| t - Days::new(1)), tz);
        if let Some(to) = to {
            window.to = to;
            window.from = to - Days::new(default_days.max(1));
        }
        if let Some(from) = from {
            window.from = from;
        }
        window.check()?;
        Ok(window)
    }

    /// An empty window is a mistake, not an empty report; so is one longer
    /// than [`MAX_DAYS`].
    pub fn check(&self) -> Result<()> {
        if self.days() > MAX_DAYS {
            return Err(Error::invalid_parameter(
                "from",
                format!(
                    "the window from {} to {} spans {} days; a report covers at most {MAX_DAYS} (ten years): narrow it, or ask for several windows",
                    self.from,
                    self.to,
                    self.days()
                ),
            ));
        }
        if self.from >= self.to {
            return Err(Error::invalid_parameter(
                "from",
                format!(
                    "the window is empty: from ({}) must be before to ({}); to is the day after the last day counted",
                    self.from, self.to
                ),
            ));
        }
        Ok(())
    }

    /// Calendar days in the window.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }
}

/// A date parameter, YYYY-MM-DD.
/// ISO weeks (Monday first) holding at least one day of `[from, to)`; at
/// least 1, so means per week never divide by zero.
pub fn iso_weeks(from: NaiveDate, to: NaiveDate) -> usize {
    use chrono::Datelike;
    from.iter_days()
        .take_while(|d| *d < to)
        .map(|d| (d.iso_week().year(), d.iso_week().week()))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        .max(1)
}

pub fn parse_date(parameter: &'static str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid_parameter(
            parameter,
            format!("`{value}` is not a date; give it as YYYY-MM-DD"),
        )
    })
}

/// A time zone parameter (`tz`), an IANA name.
pub fn parse_tz(name: &str) -> Result<Tz> {
    Tz::from_str(name.trim()).map_err(|_| {
        Error::invalid_parameter(
            "tz",
            format!("`{name}` is not an IANA time zone; give one like UTC or Europe/Berlin"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_window_covers_at_most_ten_years() {
        assert!(Window::parse(Some("2016-11-01"), Some("2026-11-01"), None, REPORT_DAYS).is_ok());
        let err = Window::parse(Some("0001-01-01"), Some("9999-12-31"), None, REPORT_DAYS)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at most 3653") && err.contains("narrow"),
            "{err}"
        );
    }

    #[test]
    fn defaults_end_today_and_cover_the_given_days() {
        let w = Window::last_days(28, Some(day("2026-03-31")), Tz::UTC);
        assert_eq!(
            (w.from, w.to, w.days()),
            (day("2026-03-04"), day("2026-04-01"), 28)
        );
        let w = Window::parse(None, Some("2026-04-01"), None, REPORT_DAYS).unwrap();
        assert_eq!((w.from, w.to), (day("2026-01-01"), day("2026-04-01")));
        let w = Window::parse(
            Some("2026-03-01"),
            Some("2026-04-01"),
            Some("Europe/Berlin"),
            90,
        )
        .unwrap();
        assert_eq!(
            (w.from, w.days(), w.tz),
            (day("2026-03-01"), 31, Tz::Europe__Berlin)
        );
        let today = Window::parse(None, None, None, 7).unwrap();
        assert_eq!(today.days(), 7);
        assert_eq!(today.to, Utc::now().date_naive() + Days::new(1));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let parameter = |e: Error| match e {
            Error::InvalidParameter { parameter, .. } => parameter,
            other => panic!("{other}"),
        };
        assert_eq!(
            parameter(Window::parse(Some("yesterday"), None, None, 90).unwrap_err()),
            "from"
        );
        assert_eq!(
            parameter(Window::parse(None, Some("2026-13-01"), None, 90).unwrap_err()),
            "to"
        );
        assert_eq!(
            parameter(Window::parse(None, None, Some("Mars/Base"), 90).unwrap_err()),
            "tz"
        );
        let empty = Window::parse(Some("2026-04-01"), Some("2026-04-01"), None, 90).unwrap_err();
        assert!(empty.to_string().contains("empty"), "{empty}");
    }
}

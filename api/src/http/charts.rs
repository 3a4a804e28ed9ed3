//! Inline SVG line charts for the portal: a y-axis with 3 to 5 round,
//! labelled ticks, and the partial period (cut by the window, or not over
//! yet) drawn apart, hollow and dashed, so a week one day old does not read
//! as a collapse.

use chrono::NaiveDate;

use super::portal::escape;
pub use crate::render::duration_hours;
use crate::render::trim;

/// One point of a chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    pub day: NaiveDate,
    pub value: Option<f64>,
    pub partial: bool,
}

/// How values are shown on the axis and in tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain number with a suffix (`/week`).
    Count(&'static str),
    /// A share in [0, 1], shown as a percentage.
    Share,
    /// Hours, shown as minutes, hours or days by magnitude.
    Hours,
    /// Minutes, shown as minutes or hours by magnitude.
    Minutes,
}

impl Unit {
    /// A value as a person reads it.
    pub fn show(self, value: f64) -> String {
        if value == 0.0 && !matches!(self, Unit::Count(_)) {
            return "0".into();
        }
        match self {
            Unit::Count(suffix) => format!("{}{suffix}", trim(value)),
            Unit::Share => format!("{}%", trim(value * 100.0)),
            Unit::Hours => duration_hours(value),
            Unit::Minutes => duration_hours(value / 60.0),
        }
    }
}

/// Round ticks from 0 covering `max`: steps of 1, 2, 2.5 or 5 times a power
/// of ten, 3 to 5 of them (0 included).
pub fn ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let magnitude = 10f64.powf((max / 4.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| (max / step).ceil() <= 4.0)
        .unwrap_or(magnitude * 10.0);
    let count = (max / step).ceil().max(2.0) as usize;
    (0..=count).map(|i| step * i as f64).collect()
}

/// A line chart of one series; gaps where a value is missing.
pub fn line_chart(title: &str, unit: Unit, points: &[ChartPoint]) -> String {
    let (width, height, left, bottom, top) = (420.0, 180.0, 52.0, 24.0, 8.0);
    let values: Vec<f64> = points.iter().filter_map(|p| p.value).collect();
    let ticks = ticks(values.iter().copied().fold(0.0_f64, f64::max));
    let top_value = ticks.last().copied().unwrap_or(1.0);
    let step = if points.len() > 1 {
        (width - left - 8.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let y_of = |v: f64| top + (height - bottom - top) * (1.0 - v / top_value);
    let axis: String = ticks
        .iter()
        .map(|t| {
            let y = y_of(*t);
            format!(
                r##"<line x1="{left}" y1="{y:.1}" x2="{width}" y2="{y:.1}" stroke="#eceef4"/><text x="{lx}" y="{ty:.1}" font-size="10" fill="#6b7385" text-anchor="end">{label}</text>"##,
                lx = left - 4.0,
                ty = y + 3.0,
                label = escape(&unit.show(*t))
            )
        })
        .collect();
    let mut segments: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut dashed = String::new();
    let mut dots = String::new();
    let mut previous: Option<(f64, f64)> = None;
    for (i, point) in points.iter().enumerate() {
        let Some(v) = point.value else {
            if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        };
        let (x, y) = (left + step * i as f64, y_of(v));
        let tooltip = format!(
            "{}: {}{}",
            point.day,
            unit.show(v),
            if point.partial {
                " (partial period)"
            } else {
                ""
            }
        );
        if point.partial {
            // Joined to its neighbour by a dashed line, drawn hollow.
            if let Some((px, py)) = previous {
                dashed.push_str(&format!(
                    r##"<line x1="{px:.1}" y1="{py:.1}" x2="{x:.1}" y2="{y:.1}" stroke="#2a5bd7" stroke-width="1.5" stroke-dasharray="4 3"/>"##
                ));
            }
            if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
            dots.push_str(&format!(
                r##"<circle class="partial" cx="{x:.1}" cy="{y:.1}" r="3" fill="#fff" stroke="#2a5bd7"><title>{}</title></circle>"##,
                escape(&tooltip)
            ));
        } else {
            if let (Some((px, py)), true) = (previous, current.is_empty()) {
                if points[i - 1].partial {
                    dashed.push_str(&format!(
                        r##"<line x1="{px:.1}" y1="{py:.1}" x2="{x:.1}" y2="{y:.1}" stroke="#2a5bd7" stroke-width="1.5" stroke-dasharray="4 3"/>"##
                    ));
                }
            }
            current.push(format!("{x:.1},{y:.1}"));
            dots.push_str(&format!(
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5"><title>{}</title></circle>"#,
                escape(&tooltip)
            ));
        }
        previous = Some((x, y));
    }
    if !current.is_empty() {
        segments.push(current);
    }
    let lines: String = segments
        .iter()
        .map(|s| {
            format!(
                r##"<polyline fill="none" stroke="#2a5bd7" stroke-width="2" points="{}"/>"##,
                s.join(" ")
            )
        })
        .collect();
    let day = |p: Option<&ChartPoint>| p.map(|p| p.day.to_string()).unwrap_or_default();
    let legend = if points.iter().any(|p| p.partial && p.value.is_some()) {
        r#"<p class="muted">○ partial period (cut by the window, or not over yet): fewer days, not graded</p>"#
    } else {
        ""
    };
    format!(
        r##"<figure><figcaption>{title}</figcaption>
<svg class="chart" data-points="{n}" data-ticks="{tick_count}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">
{axis}
<text x="{left}" y="{labels}" font-size="10" fill="#6b7385">{first}</text>
<text x="{right}" y="{labels}" font-size="10" fill="#6b7385" text-anchor="end">{last}</text>
{lines}{dashed}{dots}
</svg>{legend}</figure>"##,
        title = escape(title),
        n = values.len(),
        tick_count = ticks.len(),
        labels = height - 6.0,
        right = width - 4.0,
        first = day(points.first()),
        last = day(points.last()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_three_to_five() {
        for (max, expected) in [
            (1.0, vec![0.0, 0.25, 0.5, 0.75, 1.0]),
            (25.36, vec![0.0, 10.0, 20.0, 30.0]),
            (893.3, vec![0.0, 250.0, 500.0, 750.0, 1000.0]),
            (0.3, vec![0.0, 0.1, 0.2, 0.3]),
            (0.0, vec![0.0, 0.25, 0.5, 0.75, 1.0]),
        ] {
            let ticks = ticks(max);
            assert!((3..=5).contains(&ticks.len()), "{max}: {ticks:?}");
            assert!(*ticks.last().unwrap() >= max, "{max}: {ticks:?}");
            for (t, e) in ticks.iter().zip(&expected) {
                assert!((t - e).abs() < 1e-9, "{max}: {ticks:?}");
            }
        }
    }

    #[test]
    fn units_read_as_a_manager_reads_them() {
        assert_eq!(Unit::Share.show(0.3), "30%");
        assert_eq!(Unit::Share.show(0.125), "12.5%");
        assert_eq!(Unit::Hours.show(893.3), "37.2 d");
        assert_eq!(Unit::Hours.show(5.5), "5.5 h");
        assert_eq!(Unit::Hours.show(0.5), "30 min");
        assert_eq!(Unit::Minutes.show(12.0), "12 min");
        assert_eq!(Unit::Count("/week").show(25.36), "25.4/week");
    }

    #[test]
    fn a_partial_period_is_drawn_apart() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let points = [
            ChartPoint {
                day: day(16),
                value: Some(20.0),
                partial: false,
            },
            ChartPoint {
                day: day(23),
                value: Some(25.0),
                partial: false,
            },
            ChartPoint {
                day: day(30),
                value: Some(0.0),
                partial: true,
            },
        ];
        let svg = line_chart("Deployments per week", Unit::Count("/week"), &points);
        assert_eq!(svg.matches(r#"class="partial""#).count(), 1, "{svg}");
        assert!(svg.contains("stroke-dasharray"), "{svg}");
        assert!(svg.contains("2026-11-30: 0/week (partial period)"), "{svg}");
        assert!(svg.contains("partial period (cut by the window"), "{svg}");
    }
}

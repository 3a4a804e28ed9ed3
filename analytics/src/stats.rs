//! Statistics for comparing two periods honestly: exact percentiles, the
//! Mann-Whitney U test for durations, a bootstrap confidence interval for
//! the difference of medians, the conditional binomial test for two counts
//! and the two-proportion z-test for two rates.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

/// Percentile by linear interpolation between closest ranks (type 7, as
/// `percentile_cont` and numpy's default). `sorted` must be ascending.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

pub fn median(sorted: &[f64]) -> Option<f64> {
    percentile(sorted, 0.5)
}

/// [`median`] of unsorted values, reordering them: linear time, for the
/// bootstrap's thousands of resamples.
fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (left, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    // Even: the mean of the two middle values; the lower is the left part's
    // largest.
    let lower = left.iter().copied().max_by(f64::total_cmp)?;
    Some(lower + 0.5 * (upper - lower))
}

/// The result of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample.
    pub u: f64,
    pub p_value: f64,
}

/// Two-sided Mann-Whitney U test with the normal approximation, tie
/// correction and continuity correction: the same test as SciPy's
/// `mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")`.
/// `None` when a sample is empty or every value is tied.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average_rank = (i + j + 2) as f64 / 2.0;
        let tied = (j - i + 1) as f64;
        tie_term += tied * tied * tied - tied;
        rank_sum_a += average_rank * all[i..=j].iter().filter(|(_, in_a)| *in_a).count() as f64;
        i = j + 1;
    }
    let u1 = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let total = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if variance <= 0.0 {
        return None;
    }
    let u = u1.max(n1 * n2 - u1);
    let z = (u - mean - 0.5) / variance.sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    let p_value = (2.0 * (1.0 - normal.cdf(z))).min(1.0);
    Some(MannWhitney { u: u1, p_value })
}

/// A 95% bootstrap (percentile) confidence interval for median(b) -
/// median(a), from `resamples` resamples with a fixed seed, so the same data
/// always give the same interval.
pub fn median_difference_interval(a: &[f64], b: &[f64], resamples: usize) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut differences = Vec::with_capacity(resamples);
    let mut scratch_a = vec![0.0; a.len()];
    let mut scratch_b = vec![0.0; b.len()];
    for _ in 0..resamples {
        for slot in scratch_a.iter_mut() {
            *slot = a[rng.gen_range(0..a.len())];
        }
        for slot in scratch_b.iter_mut() {
            *slot = b[rng.gen_range(0..b.len())];
        }
        differences.push(median_in_place(&mut scratch_b)? - median_in_place(&mut scratch_a)?);
    }
    differences.sort_by(f64::total_cmp);
    Some((
        percentile(&differences, 0.025)?,
        percentile(&differences, 0.975)?,
    ))
}

/// A 95% bootstrap (percentile) confidence interval for ratio(b) -
/// ratio(a), where each unit is (successes, trials) and a sample's ratio is
/// its summed successes over its summed trials: units are resampled whole,
/// so trials of one unit (a pull request's CI attempts) stay together.
/// Fixed seed, as [`median_difference_interval`]. `None` when a sample has
/// no trials.
pub fn ratio_difference_interval(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    resamples: usize,
) -> Option<(f64, f64)> {
    let trials = |units: &[(f64, f64)]| units.iter().map(|u| u.1).sum::<f64>();
    if trials(a) <= 0.0 || trials(b) <= 0.0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut resampled_ratio = |units: &[(f64, f64)]| {
        let (mut x, mut n) = (0.0, 0.0);
        for _ in 0..units.len() {
            let (ux, un) = units[rng.gen_range(0..units.len())];
            x += ux;
            n += un;
        }
        // A resample without trials says nothing: the whole sample's
        // ratio stands in (rare: only units without trials were drawn).
        (n > 0.0).then(|| x / n)
    };
    let whole = |units: &[(f64, f64)]| units.iter().map(|u| u.0).sum::<f64>() / trials(units);
    let mut differences = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let ra = resampled_ratio(a).unwrap_or_else(|| whole(a));
        let rb = resampled_ratio(b).unwrap_or_else(|| whole(b));
        differences.push(rb - ra);
    }
    differences.sort_by(f64::total_cmp);
    Some((
        percentile(&differences, 0.025)?,
        percentile(&differences, 0.975)?,
    ))
}

/// A statistic of a sample of units (it may reorder them).
pub type Statistic<T> = fn(&mut [T]) -> Option<f64>;

/// A difference-in-differences and its 95% bootstrap (percentile)
/// interval: `(s(treated_after) - s(treated_before)) - (s(control_after) -
/// s(control_before))` for a statistic `s` of units (a median of values, a
/// ratio of (successes, trials)); each of the four samples is resampled on
/// its own, with a fixed seed. Past [`LARGE_SAMPLE`] units, with a
/// `standard_error` of the statistic, the interval is the normal one from
/// the four standard errors instead. `None` when a sample is empty or the
/// statistic is undefined on the data.
pub fn difference_in_differences<T: Copy>(
    [treated_before, treated_after, control_before, control_after]: [&[T]; 4],
    statistic: impl Fn(&mut [T]) -> Option<f64>,
    standard_error: Option<Statistic<T>>,
    resamples: usize,
) -> Option<(f64, (f64, f64))> {
    let samples = [treated_before, treated_after, control_before, control_after];
    if samples.iter().any(|s| s.is_empty()) {
        return None;
    }
    let did = |v: [f64; 4]| (v[1] - v[0]) - (v[3] - v[2]);
    let mut whole = [0.0; 4];
    for (slot, sample) in whole.iter_mut().zip(samples) {
        *slot = statistic(&mut sample.to_vec())?;
    }
    if let Some(standard_error) =
        standard_error.filter(|_| samples.iter().map(|s| s.len()).sum::<usize>() > LARGE_SAMPLE)
    {
        let mut variance = 0.0;
        for sample in samples {
            variance += standard_error(&mut sample.to_vec())?.powi(2);
        }
        let estimate = did(whole);
        let half = Z95 * variance.sqrt();
        return Some((estimate, (estimate - half, estimate + half)));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut scratch: Vec<Vec<T>> = samples.iter().map(|s| s.to_vec()).collect();
    let mut estimates = Vec::with_capacity(resamples);
    'resample: for _ in 0..resamples {
        let mut values = [0.0; 4];
        for ((value, sample), buffer) in values.iter_mut().zip(samples).zip(scratch.iter_mut()) {
            for slot in buffer.iter_mut() {
                *slot = sample[rng.gen_range(0..sample.len())];
            }
            match statistic(buffer) {
                Some(v) => *value = v,
                // A resample the statistic says nothing of (a ratio
                // without trials) is left out.
                None => continue 'resample,
            }
        }
        estimates.push(did(values));
    }
    estimates.sort_by(f64::total_cmp);
    Some((
        did(whole),
        (
            percentile(&estimates, 0.025)?,
            percentile(&estimates, 0.975)?,
        ),
    ))
}

/// The median of values, for [`difference_in_differences`].
pub fn median_of(values: &mut [f64]) -> Option<f64> {
    median_in_place(values)
}

/// [`median_standard_error`] of unsorted values, for
/// [`difference_in_differences`].
pub fn median_standard_error_of(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    median_standard_error(values)
}

/// [`ratio_standard_error`], for [`difference_in_differences`].
pub fn ratio_standard_error_of(units: &mut [(f64, f64)]) -> Option<f64> {
    ratio_standard_error(units)
}

/// Summed successes over summed trials of (successes, trials) units, for
/// [`difference_in_differences`].
pub fn ratio_of(units: &mut [(f64, f64)]) -> Option<f64> {
    let (x, n) = units
        .iter()
        .fold((0.0, 0.0), |(x, n), u| (x + u.0, n + u.1));
    (n > 0.0).then(|| x / n)
}

/// Samples larger than this (both sides together) get normal-approximation
/// intervals from [`median_standard_error`] and [`ratio_standard_error`]
/// instead of the bootstrap: the bootstrap costs resamples x n, and at this
/// size the two agree.
pub const LARGE_SAMPLE: usize = 400;

/// The z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The standard error of a sample median by Price and Bonett's
/// distribution-free estimate ("Distribution-free confidence intervals for
/// difference and ratio of medians", J. Stat. Comput. Simul. 72, 2002):
/// with c = round((n + 1) / 2 - sqrt(n)) (at least 1) and z the normal
/// quantile of 1 - P(Binomial(n, 1/2) <= c - 1), the standard error is
/// (y(n - c + 1) - y(c)) / (2 z). `sorted` must be ascending; `None` below
/// 10 values.
pub fn median_standard_error(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n < 10 {
        return None;
    }
    let c = (((n as f64 + 1.0) / 2.0 - (n as f64).sqrt()).round() as usize).max(1);
    let tail = Binomial::new(0.5, n as u64).ok()?.cdf(c as u64 - 1);
    let normal = Normal::new(0.0, 1.0).ok()?;
    let z = normal.inverse_cdf(1.0 - tail);
    (z > 0.0).then(|| (sorted[n - c] - sorted[c - 1]) / (2.0 * z))
}

/// The standard error of a ratio of sums, summed successes over summed
/// trials of (successes, trials) units, by linearization: sqrt(sum (x_i -
/// r n_i)^2) / sum n_i. Units stay whole, as in
/// [`ratio_difference_interval`]. `None` without trials.
pub fn ratio_standard_error(units: &[(f64, f64)]) -> Option<f64> {
    let (x, n) = units
        .iter()
        .fold((0.0, 0.0), |(x, n), u| (x + u.0, n + u.1));
    if n <= 0.0 {
        return None;
    }
    let r = x / n;
    let squares: f64 = units.iter().map(|u| (u.0 - r * u.1).powi(2)).sum();
    Some(squares.sqrt() / n)
}

/// The Gini coefficient of non-negative counts (0: everyone the same; near
/// 1: one holds everything). `None` for no counts or an all-zero total.
pub fn gini(counts: &[f64]) -> Option<f64> {
    let n = counts.len() as f64;
    let total: f64 = counts.iter().sum();
    if counts.is_empty() || total <= 0.0 {
        return None;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_by(f64::total_cmp);
    // G = (2 * sum_i i * x_i) / (n * sum x) - (n + 1) / n, with i from 1.
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * x)
        .sum();
    Some(2.0 * weighted / (n * total) - (n + 1.0) / n)
}

/// Two-sided p-value that two event counts over equal spans differ (two
/// periods' deployments): given n = a + b, a is Binomial(n, 1/2) when the
/// rate did not change (the conditional test for Poisson counts). `None`
/// without events.
pub fn equal_span_counts_p(a: u64, b: u64) -> Option<f64> {
    let n = a.checked_add(b).filter(|n| *n > 0)?;
    let binomial = Binomial::new(0.5, n).ok()?;
    Some((2.0 * binomial.cdf(a.min(b))).min(1.0))
}

/// Two-sided p-value of the two-proportion z-test (pooled), e.g. two
/// periods' change failure rates: `x` of `n` each. `None` when a period
/// has no trials or the pooled rate is 0 or 1 (nothing varies).
pub fn two_proportions_p(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (x1 / n1 - x2 / n2) / se;
    let normal = Normal::new(0.0, 1.0).ok()?;
    Some(2.0 * (1.0 - normal.cdf(z.abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_counts_by_the_conditional_binomial_test() {
        // 2 against 12: 2 * (C(14,0) + C(14,1) + C(14,2)) / 2^14 = 212/16384.
        let p = equal_span_counts_p(2, 12).unwrap();
        assert!((p - 212.0 / 16384.0).abs() < 1e-12, "{p}");
        assert_eq!(equal_span_counts_p(12, 2), Some(p), "symmetric");
        assert_eq!(equal_span_counts_p(10, 10), Some(1.0), "capped at 1");
        assert_eq!(equal_span_counts_p(0, 0), None);
    }

    #[test]
    fn two_rates_by_the_pooled_z_test() {
        // 10/100 against 20/100: pooled 0.15, se = sqrt(0.15 * 0.85 * 0.02)
        // = 0.050498, z = -1.98030, p = 0.047670.
        let p = two_proportions_p(10, 100, 20, 100).unwrap();
        assert!((p - 0.047_670_380_656).abs() < 1e-9, "{p}");
        assert_eq!(two_proportions_p(0, 50, 0, 60), None, "no failure at all");
        assert_eq!(two_proportions_p(1, 0, 2, 10), None);
    }

    // Reference values from SciPy 1.17.1:
    //   scipy.stats.mannwhitneyu(a, b, alternative="two-sided",
    //                            method="asymptotic", use_continuity=True)
    const A: [f64; 12] = [
        12.0, 15.5, 9.0, 20.0, 11.0, 14.0, 13.5, 18.0, 10.0, 16.0, 12.0, 17.5,
    ];
    const B: [f64; 10] = [22.0, 25.0, 19.0, 30.5, 21.0, 24.0, 28.0, 20.0, 26.5, 23.0];
    const C: [f64; 8] = [5.0, 7.0, 6.5, 8.0, 5.5, 9.0, 7.5, 6.0];
    const D: [f64; 9] = [6.0, 7.0, 8.5, 5.0, 7.5, 6.5, 9.5, 7.0, 8.0];

    #[test]
    fn mann_whitney_matches_scipy() {
        // SciPy: statistic=1.5, pvalue=0.0001299422454216358 (ties at 12.0 and 20.0).
        let significant = mann_whitney_u(&A, &B).unwrap();
        assert_eq!(significant.u, 1.5);
        assert!((significant.p_value - 0.0001299422454216358).abs() < 1e-12);
        // SciPy: statistic=29.5, pvalue=0.5615365197973584 (many ties).
        let not_significant = mann_whitney_u(&C, &D).unwrap();
        assert_eq!(not_significant.u, 29.5);
        assert!((not_significant.p_value - 0.5615365197973584).abs() < 1e-12);
        assert!(mann_whitney_u(&[], &B).is_none());
        assert!(mann_whitney_u(&[1.0, 1.0], &[1.0]).is_none());
    }

    #[test]
    fn the_median_in_place_is_the_sorted_median() {
        for values in [&A[..], &B[..], &C[..], &D[..], &[3.0][..], &[2.0, 1.0][..]] {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(median_in_place(&mut values.to_vec()), median(&sorted));
        }
        assert_eq!(median_in_place(&mut []), None);
    }

    #[test]
    fn percentiles_and_gini() {
        let mut a = A.to_vec();
        a.sort_by(f64::total_cmp);
        // numpy.median(A) = 13.75; numpy.percentile(A, 90) = 17.95.
        assert_eq!(median(&a), Some(13.75));
        assert!((percentile(&a, 0.9).unwrap() - 17.95).abs() < 1e-12);
        assert_eq!(gini(&[5.0, 5.0, 5.0]), Some(0.0));
        // One of four does everything: (n - 1) / n.
        assert!((gini(&[0.0, 0.0, 0.0, 8.0]).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(gini(&[]), None);
    }

    #[test]
    fn the_ratio_interval_resamples_whole_units() {
        // a: 2 of 20 pull requests reworked; b: 8 of 20. Difference 0.3.
        let a: Vec<(f64, f64)> = (0..20).map(|i| (f64::from(u8::from(i < 2)), 1.0)).collect();
        let b: Vec<(f64, f64)> = (0..20).map(|i| (f64::from(u8::from(i < 8)), 1.0)).collect();
        let (low, high) = ratio_difference_interval(&a, &b, 2000).unwrap();
        assert!(
            0.0 < low && low < 0.3 && 0.3 < high && high < 0.6,
            "{low} {high}"
        );
        assert_eq!(ratio_difference_interval(&a, &b, 2000), Some((low, high)));
        // The same rates: the interval holds 0.
        let (low, high) = ratio_difference_interval(&a, &a, 2000).unwrap();
        assert!(low < 0.0 && high > 0.0, "{low} {high}");
        assert_eq!(ratio_difference_interval(&[(0.0, 0.0)], &b, 100), None);
    }

    #[test]
    fn large_sample_standard_errors() {
        // Bernoulli units: sqrt(p (1 - p) / n) = sqrt(0.2 * 0.8 / 400) = 0.02.
        let units: Vec<(f64, f64)> = (0..400)
            .map(|i| (f64::from(u8::from(i % 5 == 0)), 1.0))
            .collect();
        assert!((ratio_standard_error(&units).unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(ratio_standard_error(&[(0.0, 0.0)]), None);
        // A standard normal sample of 10,000 (its quantiles): the median's
        // standard error is sqrt(pi / 2) / sqrt(n) = 0.012533.
        let normal = Normal::new(0.0, 1.0).unwrap();
        let n = 10_000;
        let sample: Vec<f64> = (0..n)
            .map(|i| normal.inverse_cdf((i as f64 + 0.5) / n as f64))
            .collect();
        let se = median_standard_error(&sample).unwrap();
        assert!((se - 0.012_533).abs() < 0.000_3, "{se}");
        assert_eq!(median_standard_error(&sample[..9]), None);
    }

    #[test]
    fn a_known_difference_in_differences_is_recovered() {
        // Treated: 10 before, 6 after (-4); control: 12 before, 11 after
        // (-1): the effect is -3. Values spread +-1 around each centre.
        let around = |centre: f64| -> Vec<f64> {
            (0..40)
                .map(|i| centre + f64::from(i % 5) * 0.5 - 1.0)
                .collect()
        };
        let (tb, ta, cb, ca) = (around(10.0), around(6.0), around(12.0), around(11.0));
        let (estimate, (low, high)) =
            difference_in_differences([&tb[..], &ta, &cb, &ca], median_of, None, 2000).unwrap();
        assert!((estimate + 3.0).abs() < 1e-12, "{estimate}");
        assert!(low < -3.0 && -3.0 < high && high < 0.0, "{low} {high}");
        // Rates: treated 2/20 -> 8/20 (+0.3), control 2/20 -> 2/20: +0.3.
        let units = |k: usize| -> Vec<(f64, f64)> {
            (0..20).map(|i| (f64::from(u8::from(i < k)), 1.0)).collect()
        };
        let (estimate, (low, high)) = difference_in_differences(
            [&units(2)[..], &units(8), &units(2), &units(2)],
            ratio_of,
            None,
            2000,
        )
        .unwrap();
        assert!((estimate - 0.3).abs() < 1e-12, "{estimate}");
        assert!(low < 0.3 && 0.3 < high, "{low} {high}");
        assert!(difference_in_differences([&[][..], &ta, &cb, &ca], median_of, None, 10).is_none());
    }

    #[test]
    fn the_interval_holds_the_difference_and_is_reproducible() {
        let (low, high) = median_difference_interval(&A, &B, 2000).unwrap();
        // median(B) - median(A) = 23.5 - 13.75 = 9.75.
        assert!(low < 9.75 && 9.75 < high && low > 0.0, "{low} {high}");
        assert_eq!(median_difference_interval(&A, &B, 2000), Some((low, high)));
        let (low, high) = median_difference_interval(&C, &D, 2000).unwrap();
        assert!(low < 0.0 && high > 0.0, "{low} {high}");
    }
}

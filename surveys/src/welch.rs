//! Welch's t-test for the difference of two means (unequal variances), with
//! its 95% confidence interval: how survey waves are compared.

use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// mean(b) - mean(a).
    pub difference: f64,
    pub t: f64,
    pub degrees_of_freedom: f64,
    pub p_value: f64,
    /// 95% confidence interval of the difference.
    pub interval: (f64, f64),
}

fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance)
}

/// Welch's two-sided t-test of b against a, as SciPy's
/// `ttest_ind(b, a, equal_var=False)`. `None` with fewer than two values on
/// a side or no variance at all.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (mean_a, var_a) = mean_and_variance(a);
    let (mean_b, var_b) = mean_and_variance(b);
    let (se_a, se_b) = (var_a / a.len() as f64, var_b / b.len() as f64);
    let standard_error = (se_a + se_b).sqrt();
    if standard_error == 0.0 {
        return None;
    }
    let degrees_of_freedom = (se_a + se_b).powi(2)
        / (se_a.powi(2) / (a.len() as f64 - 1.0) + se_b.powi(2) / (b.len() as f64 - 1.0));
    let difference = mean_b - mean_a;
    let t = difference / standard_error;
    let distribution = StudentsT::new(0.0, 1.0, degrees_of_freedom).ok()?;
    let p_value = (2.0 * (1.0 - distribution.cdf(t.abs()))).min(1.0);
    let critical = distribution.inverse_cdf(0.975);
    Some(Welch {
        difference,
        t,
        degrees_of_freedom,
        p_value,
        interval: (
            difference - critical * standard_error,
            difference + critical * standard_error,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn matches_scipy() {
        // SciPy 1.17.1: r = ttest_ind(b, a, equal_var=False);
        // r.statistic, r.pvalue, r.df, r.confidence_interval(0.95)
        let a = [3.0, 4.0, 4.0, 5.0, 3.0, 2.0, 4.0, 4.0, 3.0, 5.0];
        let b = [4.0, 5.0, 5.0, 5.0, 5.0, 4.0, 5.0, 5.0, 5.0, 4.0, 5.0];
        let w = welch(&a, &b).unwrap();
        close(w.t, 3.0996735185734763);
        close(w.p_value, 0.00855959903297491);
        close(w.degrees_of_freedom, 12.842680452849946);
        close(w.interval.0, 0.31040546113726675);
        close(w.interval.1, 1.7441399934081878);
        // Not significant: statistic 0.23702273156998926, p 0.817155016226636.
        let c = [3.0, 4.0, 3.0, 4.0, 3.0, 4.0];
        let d = [4.0, 3.0, 4.0, 3.0, 3.0, 4.0, 4.0];
        let w = welch(&c, &d).unwrap();
        close(w.t, 0.23702273156998926);
        close(w.p_value, 0.817155016226636);
        close(w.degrees_of_freedom, 10.605641346068017);
        assert!(welch(&[1.0], &d).is_none());
        assert!(welch(&[2.0, 2.0], &[2.0, 2.0]).is_none());
    }
}

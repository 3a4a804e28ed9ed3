//! Splitting a shared amount across teams, to the cent.
//!
//! Rule (devex's cost contract, `[cost.shared] split`): a month's shared
//! amount goes to the teams with positive direct cost that month and
//! currency, in proportion to it (`proportional`, the default) or in equal
//! parts (`even`). Each share is rounded to the cent (half away from zero);
//! what rounding leaves over goes to the largest share (the first team by
//! name among equals), so the shares add up to the shared amount exactly.
//! With no such team, nothing is split.

use serde::{Deserialize, Serialize};

/// One cent at the lake's money scale.
const CENT: i128 = 10i128.pow(ingest::schema::MONEY_SCALE as u32 - 2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SplitRule {
    Proportional,
    Even,
}

/// `numerator / denominator` rounded to the nearest cent (half away from
/// zero), in scaled units; `denominator` is positive.
pub(crate) fn to_cent(numerator: i128, denominator: i128) -> i128 {
    let unit = denominator * CENT;
    let (quotient, remainder) = (numerator / unit, numerator % unit);
    let rounded = if 2 * remainder.abs() >= unit {
        quotient + numerator.signum()
    } else {
        quotient
    };
    rounded * CENT
}

/// The shares of `amount` for `weights` (team, direct cost); `None` when no
/// team has positive direct cost.
pub fn split(
    amount: i128,
    weights: &[(String, i128)],
    rule: SplitRule,
) -> Option<Vec<(String, i128)>> {
    let teams: Vec<&(String, i128)> = weights.iter().filter(|(_, w)| *w > 0).collect();
    if teams.is_empty() {
        return None;
    }
    let total: i128 = teams.iter().map(|(_, w)| w).sum();
    let mut shares: Vec<(String, i128)> = teams
        .iter()
        .map(|(team, weight)| {
            let share = match rule {
                SplitRule::Proportional => to_cent(amount * weight, total),
                SplitRule::Even => to_cent(amount, teams.len() as i128),
            };
            (team.clone(), share)
        })
        .collect();
    let remainder = amount - shares.iter().map(|(_, s)| s).sum::<i128>();
    let largest = shares
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| a.1.abs().cmp(&b.1.abs()).then(j.cmp(i)))
        .map(|(i, _)| i)?;
    shares[largest].1 += remainder;
    Some(shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOLLAR: i128 = 100 * CENT;

    fn teams(weights: &[(&str, i128)]) -> Vec<(String, i128)> {
        weights.iter().map(|(t, w)| (t.to_string(), *w)).collect()
    }

    #[test]
    fn proportional_shares_add_up_with_the_remainder_on_the_largest() {
        // $100 over direct costs 1:1:1: 33.33 each, the cent left over to
        // the first of the equal largest shares.
        let shares = split(
            100 * DOLLAR,
            &teams(&[("a", DOLLAR), ("b", DOLLAR), ("c", DOLLAR)]),
            SplitRule::Proportional,
        )
        .unwrap();
        assert_eq!(
            shares,
            teams(&[("a", 3334 * CENT), ("b", 3333 * CENT), ("c", 3333 * CENT)])
        );
        // $10 over 2:1: 6.666.. -> 6.67, 3.333.. -> 3.33; nothing left.
        let shares = split(
            10 * DOLLAR,
            &teams(&[("a", 2), ("b", 1)]),
            SplitRule::Proportional,
        )
        .unwrap();
        assert_eq!(shares, teams(&[("a", 667 * CENT), ("b", 333 * CENT)]));
    }

    #[test]
    fn sub_cent_amounts_and_credits_stay_exact() {
        // 0.015 even over two: 0.0075 each, 0.01 at the cent; the -0.005
        // left over goes to the first of the equal largest shares.
        let amount = 15 * CENT / 10;
        let shares = split(amount, &teams(&[("a", 1), ("b", 1)]), SplitRule::Even).unwrap();
        assert_eq!(shares, teams(&[("a", 5 * CENT / 10), ("b", CENT)]));
        assert_eq!(shares.iter().map(|(_, s)| s).sum::<i128>(), amount);
        // A credit splits like a cost.
        let shares = split(
            -3 * DOLLAR,
            &teams(&[("a", 1), ("b", 2)]),
            SplitRule::Proportional,
        )
        .unwrap();
        assert_eq!(shares, teams(&[("a", -DOLLAR), ("b", -2 * DOLLAR)]));
    }

    #[test]
    fn no_team_with_direct_cost_splits_nothing() {
        assert_eq!(
            split(DOLLAR, &teams(&[("a", 0), ("b", -DOLLAR)]), SplitRule::Even),
            None
        );
        assert_eq!(split(DOLLAR, &[], SplitRule::Proportional), None);
    }
}

//! Property: whatever the team tree and the answers per team, no group below
//! the anonymity threshold can be read, directly or as the difference of a
//! shown group and any shown groups inside it.

use proptest::prelude::*;
use surveys::anonymity::{visibility, GroupTree, Visibility, ORGANISATION};
use surveys::AnonymityThreshold;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_group_below_the_threshold_is_reachable(
        parents in prop::collection::vec(any::<prop::sample::Index>(), 1..8),
        no_parent in prop::collection::vec(any::<bool>(), 8),
        answers in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        threshold in 3u32..6,
    ) {
        // Team i hangs under an earlier team, or under the organisation.
        let teams: Vec<String> = (0..parents.len()).map(|i| format!("t{i}")).collect();
        let edges: Vec<(String, Option<String>)> = teams
            .iter()
            .enumerate()
            .map(|(i, team)| {
                let parent = (i > 0 && !no_parent[i]).then(|| teams[parents[i].index(i)].clone());
                (team.clone(), parent)
            })
            .collect();
        let tree = GroupTree::new(edges);
        let respondents: Vec<&str> = answers.iter().map(|a| teams[a.index(teams.len())].as_str()).collect();
        let counts = tree.counts(respondents.iter().copied());
        let k = AnonymityThreshold::new(threshold).unwrap();
        let shown_of = visibility(&tree, &counts, k);
        let count = |g: &str| counts.get(g).copied().unwrap_or(0);
        let shown: Vec<String> = shown_of
            .iter()
            .filter(|(_, v)| **v == Visibility::Shown)
            .map(|(g, _)| g.clone())
            .collect();
        for group in &shown {
            prop_assert!(count(group) >= threshold, "{group} shown with {}", count(group));
        }
        let below = |inner: &str, outer: &str| {
            inner != outer && tree.lineage(inner).iter().any(|a| a == outer)
        };
        for outer in &shown {
            let inside: Vec<&String> = shown.iter().filter(|g| below(g, outer)).collect();
            prop_assume!(inside.len() <= 10);
            // Every set of shown groups inside it that do not contain one another.
            for mask in 1u32..(1 << inside.len()) {
                let chosen: Vec<&String> = (0..inside.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| inside[i])
                    .collect();
                let nested = chosen
                    .iter()
                    .any(|a| chosen.iter().any(|b| below(a, b)));
                if nested {
                    continue;
                }
                let covered: u32 = chosen.iter().map(|g| count(g)).sum();
                let rest = count(outer) - covered;
                prop_assert!(
                    rest == 0 || rest >= threshold,
                    "{outer} ({}) minus {chosen:?} leaves {rest}",
                    count(outer)
                );
            }
        }
        // The organisation is a group like the others.
        prop_assert!(shown_of.contains_key(ORGANISATION) || counts.is_empty());
    }
}

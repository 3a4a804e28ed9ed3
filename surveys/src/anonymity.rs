//! Which groups' survey results may be shown. A group needs at least the
//! threshold of respondents, and no shown group may reveal a smaller one by
//! difference: for every shown group, the respondents it has beyond its
//! largest shown subgroups (parent minus shown sub-teams) must be none or at
//! least the threshold. Where they are not, the smallest shown subgroup is
//! hidden too, until every difference is safe. Only groups of the catalog's
//! hierarchy (and the whole organisation) can be asked for, so every filter a
//! user can give is one of the groups decided here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::AnonymityThreshold;

/// The root of every hierarchy: the whole organisation.
pub const ORGANISATION: &str = "organisation";

/// Teams and their parents (from the catalog's `teams` table).
#[derive(Debug, Clone, Default)]
pub struct GroupTree {
    parent: BTreeMap<String, String>,
}

impl GroupTree {
    /// Builds the tree from (team, parent) pairs; a team without a known
    /// parent hangs under the organisation.
    pub fn new(edges: impl IntoIterator<Item = (String, Option<String>)>) -> GroupTree {
        let edges: Vec<(String, Option<String>)> = edges.into_iter().collect();
        let mut tree = GroupTree::default();
        for (team, parent) in &edges {
            if team == ORGANISATION {
                continue;
            }
            let parent = parent
                .clone()
                .filter(|p| !p.is_empty() && p != team)
                .unwrap_or_else(|| ORGANISATION.to_string());
            tree.parent.insert(team.clone(), parent);
        }
        // Parents named but not listed hang under the organisation; a cycle
        // is cut there too.
        let named: Vec<String> = tree.parent.values().cloned().collect();
        for p in named {
            if p != ORGANISATION && !tree.parent.contains_key(&p) {
                tree.parent.insert(p, ORGANISATION.to_string());
            }
        }
        let teams: Vec<String> = tree.parent.keys().cloned().collect();
        for team in teams {
            let mut seen = BTreeSet::new();
            let mut at = team.clone();
            while let Some(p) = tree.parent.get(&at).cloned() {
                if !seen.insert(at.clone()) {
                    tree.parent.insert(team.clone(), ORGANISATION.to_string());
                    break;
                }
                at = p;
            }
        }
        tree
    }

    /// Adds a team seen in responses but not in the catalog.
    pub fn ensure(&mut self, team: &str) {
        if team != ORGANISATION && !self.parent.contains_key(team) {
            self.parent
                .insert(team.to_string(), ORGANISATION.to_string());
        }
    }

    /// Every group, the organisation included.
    pub fn groups(&self) -> Vec<String> {
        std::iter::once(ORGANISATION.to_string())
            .chain(self.parent.keys().cloned())
            .collect()
    }

    pub fn contains(&self, group: &str) -> bool {
        group == ORGANISATION || self.parent.contains_key(group)
    }

    /// The group and its ancestors up to the organisation.
    pub fn lineage(&self, group: &str) -> Vec<String> {
        let mut out = vec![group.to_string()];
        let mut at = group.to_string();
        while let Some(p) = self.parent.get(&at) {
            out.push(p.clone());
            at = p.clone();
        }
        if out.last().map(String::as_str) != Some(ORGANISATION) {
            out.push(ORGANISATION.to_string());
        }
        out
    }

    pub fn parent(&self, group: &str) -> Option<&str> {
        self.parent.get(group).map(String::as_str)
    }

    pub fn children(&self, group: &str) -> Vec<String> {
        self.parent
            .iter()
            .filter(|(_, p)| p.as_str() == group)
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Respondents of each group, counting everyone in its subtree once.
    /// `teams` gives each respondent's team.
    pub fn counts<'a>(&self, teams: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, u32> {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for team in teams {
            for group in self.lineage(team) {
                *counts.entry(group).or_default() += 1;
            }
        }
        counts
    }
}

/// Why a group is shown or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Shown,
    /// Fewer respondents than the threshold.
    TooFew,
    /// Enough respondents, but showing it with a larger group would reveal
    /// a smaller one by difference.
    WouldRevealOthers,
}

/// Decides every group's visibility for one set of counts (one question).
pub fn visibility(
    tree: &GroupTree,
    counts: &BTreeMap<String, u32>,
    threshold: AnonymityThreshold,
) -> BTreeMap<String, Visibility> {
    let k = threshold.get();
    let count = |g: &str| counts.get(g).copied().unwrap_or(0);
    let mut result: BTreeMap<String, Visibility> = tree
        .groups()
        .into_iter()
        .map(|g| {
            let v = if count(&g) >= k {
                Visibility::Shown
            } else {
                Visibility::TooFew
            };
            (g, v)
        })
        .collect();
    loop {
        let shown: BTreeSet<String> = result
            .iter()
            .filter(|(_, v)| **v == Visibility::Shown)
            .map(|(g, _)| g.clone())
            .collect();
        // The shown groups whose nearest shown ancestor is each group.
        let mut maximal: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for group in &shown {
            if let Some(ancestor) = tree
                .lineage(group)
                .into_iter()
                .skip(1)
                .find(|a| shown.contains(a))
            {
                maximal.entry(ancestor).or_default().push(group.clone());
            }
        }
        let mut hide = None;
        for (parent, subgroups) in &maximal {
            let covered: u32 = subgroups.iter().map(|g| count(g)).sum();
            let remainder = count(parent).saturating_sub(covered);
            if remainder > 0 && remainder < k {
                hide = subgroups
                    .iter()
                    .min_by_key(|g| (count(g), (*g).clone()))
                    .cloned();
                break;
            }
        }
        match hide {
            Some(group) => {
                result.insert(group, Visibility::WouldRevealOthers);
            }
            None => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> GroupTree {
        // organisation > product > {checkout, search}; engineering > {data}
        GroupTree::new([
            ("product".to_string(), None),
            ("engineering".to_string(), None),
            ("checkout".to_string(), Some("product".to_string())),
            ("search".to_string(), Some("product".to_string())),
            ("data".to_string(), Some("engineering".to_string())),
        ])
    }

    fn shown(v: &BTreeMap<String, Visibility>) -> Vec<&str> {
        v.iter()
            .filter(|(_, v)| **v == Visibility::Shown)
            .map(|(g, _)| g.as_str())
            .collect()
    }

    /// Checks the guarantee directly: for every shown group, what it has
    /// beyond any set of shown groups inside it is none or at least k.
    fn assert_no_small_difference(
        tree: &GroupTree,
        counts: &BTreeMap<String, u32>,
        v: &BTreeMap<String, Visibility>,
        k: u32,
    ) {
        let shown: Vec<&str> = shown(v);
        for parent in &shown {
            let inside: Vec<&str> = shown
                .iter()
                .copied()
                .filter(|g| g != parent && tree.lineage(g).iter().any(|a| a == parent))
                .collect();
            // Every subset of disjoint shown subgroups (small trees: brute force).
            for mask in 1u32..(1 << inside.len()) {
                let chosen: Vec<&str> = (0..inside.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| inside[i])
                    .collect();
                let nested = chosen.iter().any(|a| {
                    chosen
                        .iter()
                        .any(|b| a != b && tree.lineage(b).iter().any(|x| x == a))
                });
                if nested {
                    continue;
                }
                let covered: u32 = chosen.iter().map(|g| counts[*g]).sum();
                let remainder = counts[*parent] - covered;
                assert!(
                    remainder == 0 || remainder >= k,
                    "{parent} minus {chosen:?} leaves {remainder}"
                );
            }
        }
    }

    #[test]
    fn a_parent_minus_its_sub_team_never_leaves_a_small_group() {
        let tree = tree();
        // checkout 6 and search 2 under product (8): product - checkout = 2.
        let teams = [vec!["checkout"; 6], vec!["search"; 2], vec!["data"; 7]].concat();
        let counts = tree.counts(teams.iter().copied());
        assert_eq!(counts["product"], 8);
        assert_eq!(counts[ORGANISATION], 15);
        let k = AnonymityThreshold::default();
        let v = visibility(&tree, &counts, k);
        assert_eq!(v["search"], Visibility::TooFew);
        assert_eq!(v["checkout"], Visibility::WouldRevealOthers);
        assert_eq!(shown(&v), ["data", "engineering", ORGANISATION, "product"]);
        assert_no_small_difference(&tree, &counts, &v, 5);
    }

    #[test]
    fn nested_and_sibling_differences_are_closed_too() {
        let tree = tree();
        // organisation 16 = product 11 (checkout 5, search 6) + engineering 5
        // (data 5): every group has 5 or more, and every difference is 0 or
        // at least 5, so everything shows.
        let teams = [vec!["checkout"; 5], vec!["search"; 6], vec!["data"; 5]].concat();
        let counts = tree.counts(teams.iter().copied());
        let v = visibility(&tree, &counts, AnonymityThreshold::default());
        assert_eq!(shown(&v).len(), 6);
        assert_no_small_difference(&tree, &counts, &v, 5);
        // One more respondent directly in product (no sub-team): product -
        // checkout - search = 1, so a sub-team goes; then organisation -
        // product - engineering is still 0.
        let mut teams = teams;
        teams.push("product");
        let counts = tree.counts(teams.iter().copied());
        let v = visibility(&tree, &counts, AnonymityThreshold::default());
        assert_eq!(v["checkout"], Visibility::WouldRevealOthers);
        assert_no_small_difference(&tree, &counts, &v, 5);
    }

    #[test]
    fn random_organisations_never_leak() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..300 {
            let tree = tree();
            let groups = ["checkout", "search", "data", "product", "engineering"];
            let teams: Vec<&str> = (0..rng.gen_range(0..30))
                .map(|_| groups[rng.gen_range(0..groups.len())])
                .collect();
            let counts = tree.counts(teams.iter().copied());
            let mut full = counts.clone();
            for g in tree.groups() {
                full.entry(g).or_insert(0);
            }
            let k = rng.gen_range(3..7);
            let v = visibility(&tree, &full, AnonymityThreshold::new(k).unwrap());
            assert_no_small_difference(&tree, &full, &v, k);
            for (g, vis) in &v {
                if *vis == Visibility::Shown {
                    assert!(full[g] >= k);
                }
            }
        }
    }
}

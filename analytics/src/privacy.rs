//! Which groups of people may be shown: a group needs at least the minimum
//! group size, and no shown group may reveal a smaller one by difference.
//! For every shown group, the people it has beyond its nearest shown
//! subgroups (a parent minus its shown teams, the organisation minus its
//! shown groups) must be none or at least the minimum; where they are not,
//! the smallest shown subgroup is hidden too, until every difference is safe.
//! The same rule as the survey results' (`surveys::anonymity`), over sets of
//! people, so that someone in two teams is counted once.

use std::collections::{BTreeMap, BTreeSet};

/// Why a group is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Fewer people than the minimum.
    TooFew,
    /// Shown, it would reveal a smaller group by difference.
    WouldRevealOthers,
}

impl Hidden {
    /// The reason as reports give it; `what` names the people counted.
    pub fn reason(self, min: usize, what: &str) -> String {
        match self {
            Hidden::TooFew => format!(
                "fewer than {min} {what} (devex.min_group_size): too few to show without pointing at people"
            ),
            Hidden::WouldRevealOthers => format!(
                "hidden so that a group of fewer than {min} {what} cannot be worked out by difference"
            ),
        }
    }
}

/// The hidden groups among `members` (group -> its people). `parent_of`
/// gives a group's parent group (none: it sits under the organisation,
/// whose people are `everyone`, shown when they are at least `min`). A
/// parent missing from `members` is skipped on the way up.
pub fn hidden_groups(
    members: &BTreeMap<String, BTreeSet<String>>,
    parent_of: &dyn Fn(&str) -> Option<String>,
    everyone: &BTreeSet<String>,
    min: usize,
) -> BTreeMap<String, Hidden> {
    let too_few = members
        .iter()
        .filter(|(_, people)| people.len() < min)
        .map(|(group, _)| (group.clone(), Hidden::TooFew))
        .collect();
    let organisation_shown = everyone.len() >= min;
    hidden_beyond(
        members,
        parent_of,
        everyone,
        min,
        too_few,
        organisation_shown,
    )
}

/// As [`hidden_groups`], with the groups already hidden for being too small
/// decided by the caller (e.g. by headcount while `members` are the people
/// a measure counts, such as the team's platform users), and whether the
/// organisation's number is shown.
pub fn hidden_beyond(
    members: &BTreeMap<String, BTreeSet<String>>,
    parent_of: &dyn Fn(&str) -> Option<String>,
    everyone: &BTreeSet<String>,
    min: usize,
    too_few: BTreeMap<String, Hidden>,
    organisation_shown: bool,
) -> BTreeMap<String, Hidden> {
    let mut hidden = too_few;
    // The root (the organisation) is the empty name.
    let people_of = |group: &str| -> &BTreeSet<String> {
        if group.is_empty() {
            everyone
        } else {
            &members[group]
        }
    };
    loop {
        let shown = |group: &str| {
            if group.is_empty() {
                organisation_shown
            } else {
                members.contains_key(group) && !hidden.contains_key(group)
            }
        };
        // Each shown group under its nearest shown ancestor.
        let mut below: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for group in members.keys().filter(|g| shown(g)) {
            let mut at = group.clone();
            let mut seen = BTreeSet::new();
            let ancestor = loop {
                match parent_of(&at) {
                    Some(parent) if seen.insert(parent.clone()) => {
                        if shown(&parent) {
                            break parent;
                        }
                        at = parent;
                    }
                    _ => break String::new(),
                }
            };
            below.entry(ancestor).or_default().push(group);
        }
        let mut hide = None;
        for (ancestor, groups) in &below {
            if !shown(ancestor) {
                continue;
            }
            let covered: BTreeSet<&String> = groups.iter().flat_map(|g| &members[*g]).collect();
            let remainder = people_of(ancestor)
                .iter()
                .filter(|p| !covered.contains(p))
                .count();
            if remainder > 0 && remainder < min {
                hide = groups
                    .iter()
                    .min_by_key(|g| (members[**g].len(), (**g).clone()))
                    .map(|g| (*g).clone());
                break;
            }
        }
        match hide {
            Some(group) => {
                hidden.insert(group, Hidden::WouldRevealOthers);
            }
            None => return hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(people: &[&str]) -> BTreeSet<String> {
        people.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_small_group_is_not_revealed_by_difference() {
        // eng: alpha (a1-a3) and beta (b1); min 3.
        let members = BTreeMap::from([
            ("alpha".to_string(), set(&["a1", "a2", "a3"])),
            ("beta".to_string(), set(&["b1"])),
            ("eng".to_string(), set(&["a1", "a2", "a3", "b1"])),
        ]);
        let parent = |g: &str| (g != "eng").then(|| "eng".to_string());
        let everyone = set(&["a1", "a2", "a3", "b1"]);
        let hidden = hidden_groups(&members, &parent, &everyone, 3);
        // beta is too small; alpha shown would leave b1 alone in eng - alpha.
        assert_eq!(hidden.get("beta"), Some(&Hidden::TooFew));
        assert_eq!(hidden.get("alpha"), Some(&Hidden::WouldRevealOthers));
        assert_eq!(hidden.get("eng"), None);
        // With a fourth alpha member the remainder is still b1 alone.
        let mut bigger = members.clone();
        bigger.get_mut("alpha").unwrap().insert("a4".into());
        bigger.get_mut("eng").unwrap().insert("a4".into());
        let everyone = set(&["a1", "a2", "a3", "a4", "b1"]);
        let hidden = hidden_groups(&bigger, &parent, &everyone, 3);
        assert_eq!(hidden.get("alpha"), Some(&Hidden::WouldRevealOthers));
        // Someone in both teams is not a remainder.
        let overlapping = BTreeMap::from([
            ("alpha".to_string(), set(&["a1", "a2", "x"])),
            ("beta".to_string(), set(&["b1", "b2", "x"])),
        ]);
        let everyone = set(&["a1", "a2", "b1", "b2", "x"]);
        assert!(hidden_groups(&overlapping, &|_| None, &everyone, 3).is_empty());
    }
}

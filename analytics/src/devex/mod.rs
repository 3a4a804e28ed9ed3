//! DevEx and SPACE measures: CI and pull request feedback loops, context
//! switches, flow, activity and collaboration, per team (or repository), each
//! with its sample size, and comparisons of two periods with a significance
//! test.
//!
//! The definitions live in the `.sql` files next to this one, each opening
//! with the rule it implements and its source (the DevEx paper, Noda et al.,
//! ACM Queue 2023; the SPACE paper, Forsgren et al., ACM Queue 2021; DX Core
//! 4). People measures are team distributions only, hidden for teams smaller
//! than the minimum group size; nothing is ever reported per person.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::columns::Columns;
use crate::dora::DoraSettings;
use crate::error::{Error, NameKind, Result};
use crate::stats;
use crate::template::{fill, local_midnight, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;

/// The team (and services) a repository's measures belong to; the cost
/// report's CI minutes use the same rule.
pub(crate) const REPOSITORY_TEAMS: &str = include_str!("repository_teams.sql");
const COMMIT_SCOPES: &str = include_str!("commit_scopes.sql");
const PULL_REQUEST_SCOPES: &str = include_str!("pull_request_scopes.sql");
const CI_ATTEMPTS: &str = include_str!("ci_attempts.sql");
const CI_FLAKY: &str = include_str!("ci_flaky.sql");
const PULL_REQUEST_PHASES: &str = include_str!("pull_request_phases.sql");
const PULL_REQUEST_HANDOFFS: &str = include_str!("pull_request_handoffs.sql");
const DEVELOPER_DAYS: &str = include_str!("developer_days.sql");
const CI_SUMMARY: &str = include_str!("ci_summary.sql");
const CI_FLAKY_SUMMARY: &str = include_str!("ci_flaky_summary.sql");
const PULL_REQUEST_SUMMARY: &str = include_str!("pull_request_summary.sql");
const PEOPLE_SUMMARY: &str = include_str!("people_summary.sql");
const TEAM_MEMBERS_IN_WINDOW: &str = include_str!("team_members_in_window.sql");
const PULL_REQUEST_LIFETIMES: &str = include_str!("pull_request_lifetimes.sql");
const SPACE_REVIEWS: &str = include_str!("space_reviews.sql");
const SPACE_PEOPLE: &str = include_str!("space_people.sql");

/// Smallest minimum group size a configuration may set.
pub const MIN_GROUP_SIZE_FLOOR: usize = 3;

mod compare;
mod report;
mod request;
mod space;
mod steps;
mod tables;
pub use compare::*;
pub use report::*;
pub use request::*;
pub use space::*;
pub use tables::*;

//! DORA metrics: deployment frequency, lead time for changes, change failure
//! rate, failed deployment recovery time and rework rate, per service, team or
//! overall, with a per-deployment drill-down that explains every number.
//!
//! The rules live in the `.sql` files next to this one, each with a header
//! stating the rule it implements; the commit-graph walk is the derive stage
//! ([`crate::derive`]). This module fills the files' template values, runs
//! them and shapes the answer. The CLI (`devex report dora`) and the HTTP API
//! (`/api/v1/dora...`) both call it.

pub mod levels;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::columns::Columns;
use crate::error::{Error, NameKind, Result};
pub use crate::template::local_midnight;
use crate::template::{fill, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;
pub use levels::{Level, Levels, ReportLevels};

const PRODUCTION_DEPLOYMENTS: &str = include_str!("production_deployments.sql");
const INCIDENT_ATTRIBUTION: &str = include_str!("incident_attribution.sql");
const CHANGE_LEAD_TIMES: &str = include_str!("change_lead_times.sql");
const DEPLOYMENT_OUTCOMES: &str = include_str!("deployment_outcomes.sql");
const DORA_SUMMARY: &str = include_str!("dora_summary.sql");
const LEAD_TIME_SUMMARY: &str = include_str!("lead_time_summary.sql");
mod aggregate;
mod drilldown;
mod model;
mod report;
mod request;
mod steps;
mod tables;
pub mod trend;
use aggregate::*;
pub use drilldown::*;
pub use model::*;
pub use report::*;
pub use request::*;
pub use tables::*;

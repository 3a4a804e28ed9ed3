//! The organisation: teams, services and developers, and the catalog rows
//! (teams, services, memberships) that describe them.

use super::*;
use crate::canonical::{self, Micros, Service, TeamMember};

pub(super) struct Team {
    pub(super) name: String,
    pub(super) group: &'static str,
    pub(super) profile: &'static Profile,
    pub(super) zone: Tz,
    /// Indices into `Org::services`.
    pub(super) services: Vec<usize>,
    /// Indices into `Org::developers`: the founding members, there for the
    /// whole history, then the new hires (see `Org::starts`).
    pub(super) members: Vec<usize>,
    /// Its platform adoption rises over the year.
    pub(super) adopting: bool,
}

/// New hires a month: enough for a start-month cohort to be shown.
const HIRES_PER_MONTH: usize = 6;

pub(super) struct Org {
    pub(super) teams: Vec<Team>,
    /// (service name, owner team index)
    pub(super) services: Vec<(String, usize)>,
    pub(super) developers: Vec<String>,
    /// When each developer joined: `start` for the founding members, a
    /// weekday morning of a later month for new hires.
    pub(super) starts: Vec<i64>,
    /// The monorepo: its name and the services that share it (the first
    /// team's first three), each owning `services/<kind>/`.
    pub(super) monorepo: (String, Vec<usize>),
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) start_day: NaiveDate,
    pub(super) end_day: NaiveDate,
}

impl Org {
    pub(super) fn plan(options: &DemoOptions) -> Org {
        let team_count = ((8.0 * options.scale).round() as usize).max(2);
        let mut rng = stream(options.seed, "org");
        let mut teams = Vec::with_capacity(team_count);
        let mut services = Vec::new();
        let mut developers = Vec::new();
        for t in 0..team_count {
            let base = TEAM_NAMES[t % TEAM_NAMES.len()];
            let name = if t < TEAM_NAMES.len() {
                base.to_string()
            } else {
                format!("{base}-{}", t / TEAM_NAMES.len() + 1)
            };
            let service_ids = (0..SERVICE_KINDS.len())
                .map(|k| {
                    services.push((format!("{name}-{}", SERVICE_KINDS[k]), t));
                    services.len() - 1
                })
                .collect();
            let members = (0..TEAM_SIZES[t % TEAM_SIZES.len()])
                .map(|_| {
                    developers.push(format!("dev_{:016x}", rng.gen::<u64>()));
                    developers.len() - 1
                })
                .collect();
            teams.push(Team {
                name,
                group: if t % 2 == 0 { "product" } else { "engineering" },
                profile: &PROFILES[TEAM_PROFILES[t % TEAM_PROFILES.len()]],
                zone: ZONES[t % ZONES.len()],
                services: service_ids,
                members,
                adopting: t % 3 != 2,
            });
        }
        let start_day = options
            .end
            .checked_sub_months(chrono::Months::new(options.months))
            .unwrap_or(options.end);
        let start = day_start(start_day);
        let mut starts = vec![start; developers.len()];
        // Six new hires a month, each month in the next teams.
        for month in 1..options.months {
            let Some(first) = start_day.checked_add_months(chrono::Months::new(month)) else {
                continue;
            };
            for k in 0..HIRES_PER_MONTH {
                let t = (HIRES_PER_MONTH * month as usize + k) % teams.len();
                let mut day = first + chrono::Days::new(rng.gen_range(0..10));
                while is_weekend(day) {
                    day = day + chrono::Days::new(1);
                }
                if day >= options.end {
                    continue;
                }
                developers.push(format!("dev_{:016x}", rng.gen::<u64>()));
                starts.push(local_time(teams[t].zone, day, 9.0));
                teams[t].members.push(developers.len() - 1);
            }
        }
        let monorepo = (
            format!("{ORG}/{}-monorepo", teams[0].name),
            teams[0].services[..MONOREPO_SERVICES].to_vec(),
        );
        Org {
            teams,
            services,
            developers,
            starts,
            monorepo,
            start,
            end: day_start(options.end),
            start_day,
            end_day: options.end,
        }
    }

    /// The CI pipeline of a merge to the main branch of `service`'s
    /// repository at `at`: adopting teams move their services to the
    /// platform's golden-path pipeline one by one over the history.
    pub(super) fn main_pipeline(&self, team: &Team, service: usize, at: i64) -> &'static str {
        let share = 0.1 + 0.7 * ((service * 37) % 100) as f64 / 100.0;
        let moves_at = self.start + ((self.end - self.start) as f64 * share) as i64;
        if team.adopting && at >= moves_at {
            "golden-path/build"
        } else {
            "ci"
        }
    }

    /// Whether the developer had joined at `at`.
    pub(super) fn joined(&self, developer: usize, at: i64) -> bool {
        at >= self.starts[developer]
    }

    /// Whether the developer joined after the history began.
    pub(super) fn new_hire(&self, developer: usize) -> bool {
        self.starts[developer] > self.start
    }

    pub(super) fn repo(&self, service: usize) -> String {
        if self.monorepo.1.contains(&service) {
            return self.monorepo.0.clone();
        }
        format!("{ORG}/{}", self.services[service].0)
    }

    /// The folder a monorepo service owns (`services/api`); `None` for a
    /// service with a repository of its own.
    pub(super) fn service_folder(&self, service: usize) -> Option<String> {
        if !self.monorepo.1.contains(&service) {
            return None;
        }
        let (name, owner) = &self.services[service];
        let kind = name
            .strip_prefix(&format!("{}-", self.teams[*owner].name))
            .unwrap_or(name);
        Some(format!("services/{kind}"))
    }
}

/// The catalog rows: teams, services with their repositories, memberships,
/// and the services teams add over the history (most from a template in
/// adopting teams, few elsewhere).
fn new_services(org: &Org, out: &mut Output) -> Result<()> {
    let months = (org.end_day.year() - org.start_day.year()) * 12 + org.end_day.month() as i32
        - org.start_day.month() as i32;
    for month in 1..months.max(0) as u32 {
        let Some(first) = org.start_day.checked_add_months(chrono::Months::new(month)) else {
            continue;
        };
        for k in 0..2usize {
            let t = (3 * month as usize + k) % org.teams.len();
            let team = &org.teams[t];
            let day = first + chrono::Days::new(3 + 7 * k as u64);
            if day >= org.end_day {
                continue;
            }
            let from_template = if team.adopting {
                !(month as usize + k).is_multiple_of(6)
            } else {
                (month as usize + k).is_multiple_of(4)
            };
            let name = format!("{}-svc-{month}{k}", team.name);
            out.push_row(Service {
                event_id: format!("demo:service:{name}"),
                service: name,
                owner_team: team.name.clone(),
                system: Some(format!("{}-system", team.group)),
                repos: Vec::new(),
                lifecycle: Some("experimental".into()),
                annotations: from_template.then(|| {
                    r#"{"backstage.io/source-template":"template:default/scaffold-service"}"#
                        .to_string()
                }),
                paths: Vec::new(),
                valid_from: Some(Micros(local_time(team.zone, day, 10.0))),
            })?;
        }
    }
    Ok(())
}

pub(super) fn catalog(org: &Org, out: &mut Output) -> Result<()> {
    new_services(org, out)?;
    for group in ["product", "engineering"] {
        out.push_row(canonical::Team {
            event_id: format!("demo:team:{group}"),
            team: group.into(),
            parent: None,
            members_count: None,
            valid_from: None,
        })?;
    }
    let membership = |team: &str, member: usize, from: i64, to: Option<i64>| TeamMember {
        event_id: format!("demo:team_member:{team}:{}", org.developers[member]),
        developer: org.developers[member].clone(),
        team: team.to_string(),
        valid_from: Micros(from),
        valid_to: to.map(Micros),
    };
    for team in &org.teams {
        out.push_row(canonical::Team {
            event_id: format!("demo:team:{}", team.name),
            team: team.name.clone(),
            parent: Some(team.group.into()),
            members_count: Some(team.members.len() as i64),
            valid_from: None,
        })?;
        for &member in &team.members {
            // The founders come from the catalog's first import, which
            // records its memberships since always: only hires are new.
            let from = if org.new_hire(member) {
                org.starts[member]
            } else {
                0
            };
            out.push_row(membership(&team.name, member, from, None))?;
        }
    }
    // Some developers also belong to a second team (embedded platform
    // engineers): they count in both.
    for (t, team) in org.teams.iter().enumerate() {
        let other = &org.teams[(t + 1) % org.teams.len()];
        for &member in team.members.iter().step_by(15) {
            out.push_row(membership(
                &other.name,
                member,
                org.start + 90 * DAY,
                Some(org.start + 200 * DAY),
            ))?;
        }
    }
    for (s, (service, owner)) in org.services.iter().enumerate() {
        let team = &org.teams[*owner];
        out.push_row(Service {
            event_id: format!("demo:service:{service}"),
            service: service.clone(),
            owner_team: team.name.clone(),
            system: Some(format!("{}-system", team.group)),
            repos: vec![org.repo(s)],
            lifecycle: Some("production".into()),
            annotations: kubernetes_namespace(s)
                .then(|| format!(r#"{{"backstage.io/kubernetes-namespace":"{service}"}}"#)),
            paths: org
                .service_folder(s)
                .map(|folder| vec![format!("{folder}/**")])
                .unwrap_or_default(),
            valid_from: None,
        })?;
    }
    Ok(())
}

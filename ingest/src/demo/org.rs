//! The organisation: teams, services and developers, and the catalog rows
//! (teams, services, memberships) that describe them.

use super::*;

pub(super) struct Team {
    pub(super) name: String,
    pub(super) group: &'static str,
    pub(super) profile: &'static Profile,
    pub(super) zone: Tz,
    /// Indices into `Org::services`.
    pub(super) services: Vec<usize>,
    /// Indices into `Org::developers` (members for the whole history).
    pub(super) members: Vec<usize>,
    /// Its platform adoption rises over the year.
    pub(super) adopting: bool,
}

pub(super) struct Org {
    pub(super) teams: Vec<Team>,
    /// (service name, owner team index)
    pub(super) services: Vec<(String, usize)>,
    pub(super) developers: Vec<String>,
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
        Org {
            teams,
            services,
            developers,
            start: day_start(start_day),
            end: day_start(options.end),
            start_day,
            end_day: options.end,
        }
    }

    pub(super) fn repo(&self, service: usize) -> String {
        format!("{ORG}/{}", self.services[service].0)
    }
}

/// The catalog rows: teams, services with their repositories, memberships.
pub(super) fn catalog(org: &Org, out: &mut Output) -> Result<()> {
    for group in ["product", "engineering"] {
        out.push(
            &schema::TEAMS,
            vec![
                Value::text(format!("demo:team:{group}")),
                Value::text(group),
                Value::Null,
                Value::Null,
            ],
        )?;
    }
    for team in &org.teams {
        out.push(
            &schema::TEAMS,
            vec![
                Value::text(format!("demo:team:{}", team.name)),
                Value::text(&team.name),
                Value::text(team.group),
                Value::Integer(team.members.len() as i64),
            ],
        )?;
        for &member in &team.members {
            out.push(
                &schema::TEAM_MEMBERS,
                vec![
                    Value::text(format!(
                        "demo:team_member:{}:{}",
                        team.name, org.developers[member]
                    )),
                    Value::text(&org.developers[member]),
                    Value::text(&team.name),
                    Value::Timestamp(org.start),
                    Value::Null,
                ],
            )?;
        }
    }
    // Some developers also belong to a second team (embedded platform
    // engineers): they count in both.
    for (t, team) in org.teams.iter().enumerate() {
        let other = &org.teams[(t + 1) % org.teams.len()];
        for &member in team.members.iter().step_by(15) {
            out.push(
                &schema::TEAM_MEMBERS,
                vec![
                    Value::text(format!(
                        "demo:team_member:{}:{}",
                        other.name, org.developers[member]
                    )),
                    Value::text(&org.developers[member]),
                    Value::text(&other.name),
                    Value::Timestamp(org.start + 90 * DAY),
                    Value::Timestamp(org.start + 200 * DAY),
                ],
            )?;
        }
    }
    for (s, (service, owner)) in org.services.iter().enumerate() {
        let team = &org.teams[*owner];
        out.push(
            &schema::SERVICES,
            vec![
                Value::text(format!("demo:service:{service}")),
                Value::text(service),
                Value::text(&team.name),
                Value::text(format!("{}-system", team.group)),
                Value::TextList(vec![org.repo(s)]),
            ],
        )?;
    }
    Ok(())
}

//! One repository's history as a discrete-event simulation: branches,
//! commits, pushes, pull requests, merges and CI runs in time order.

use super::*;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Event {
    /// Merge the planned pull request with this index.
    Merge(usize),
    /// A deployment on the cadence's schedule (every service of the
    /// repository), or of one service (`part`) after a merge for
    /// `EveryMerge` and hotfixes.
    Deploy {
        emergency: bool,
        part: Option<usize>,
    },
    /// Roll one service's production back to this sha.
    Rollback(usize, String),
    /// Revert the merged pull request with this index on main.
    Revert(usize),
    /// Next tick of the deployment schedule.
    Tick,
}

/// Replays one repository's history in time order: merges build the main
/// branch, deployments follow the team's cadence, failures bring incidents,
/// rollbacks and hotfixes. A monorepo's services share the history; each
/// deploys when a merge has changed its folder since it last deployed.
pub(super) struct RepoSimulation<'a> {
    pub(super) org: &'a Org,
    /// The repository's services (one, or a monorepo's).
    pub(super) services: Vec<usize>,
    /// The index in `services` of the service acting now, and its id.
    pub(super) current: usize,
    pub(super) service: usize,
    pub(super) team: &'a Team,
    pub(super) repo: String,
    pub(super) rng: &'a mut ChaCha8Rng,
    pub(super) out: &'a mut Output,
    /// Main branch heads in time order: (since, sha).
    pub(super) main: Vec<(i64, String)>,
    /// Per service: production shas in the order they ran.
    pub(super) production: Vec<Vec<String>>,
    /// Per service: when a merge last changed it, and when it last went out.
    pub(super) changed_at: Vec<i64>,
    pub(super) deployed_at: Vec<i64>,
    pub(super) plans: Vec<PullRequestPlan>,
    pub(super) queue: BinaryHeap<Reverse<(i64, u64, Event)>>,
    pub(super) sequence: u64,
    /// Per service.
    pub(super) deployments: Vec<u64>,
    pub(super) incidents: Vec<u64>,
    pub(super) ci_runs: u64,
    pub(super) pushes: u64,
    pub(super) next_number: i64,
}

impl<'a> RepoSimulation<'a> {
    pub(super) fn new(
        org: &'a Org,
        services: Vec<usize>,
        rng: &'a mut ChaCha8Rng,
        out: &'a mut Output,
    ) -> Self {
        let service = services[0];
        let team = &org.teams[org.services[service].1];
        let count = services.len();
        RepoSimulation {
            org,
            services,
            current: 0,
            service,
            team,
            repo: org.repo(service),
            rng,
            out,
            main: Vec::new(),
            production: vec![Vec::new(); count],
            changed_at: vec![i64::MIN + 1; count],
            deployed_at: vec![i64::MIN; count],
            plans: Vec::new(),
            queue: BinaryHeap::new(),
            sequence: 0,
            deployments: vec![0; count],
            incidents: vec![0; count],
            ci_runs: 0,
            pushes: 0,
            next_number: 1,
        }
    }

    pub(super) fn schedule(&mut self, at: i64, event: Event) {
        if at < self.org.end {
            self.sequence += 1;
            self.queue.push(Reverse((at, self.sequence, event)));
        }
    }

    pub(super) fn head_at(&self, at: i64) -> Option<&str> {
        let index = self.main.partition_point(|(since, _)| *since <= at);
        index.checked_sub(1).map(|i| self.main[i].1.as_str())
    }

    /// Where the team's code lives, as the demo tells it: the engineering
    /// group on GitLab, the product group on GitHub.
    pub(super) fn forge(&self) -> &'static str {
        let (_, owner) = &self.org.services[self.service];
        if self.org.teams[*owner].group == "engineering" {
            "gitlab"
        } else {
            "github"
        }
    }

    pub(super) fn service_name(&self) -> &str {
        &self.org.services[self.service].0
    }

    /// Makes the repository's service at `part` the one acting.
    pub(super) fn act_as(&mut self, part: usize) {
        self.current = part;
        self.service = self.services[part];
    }

    /// The files a commit of `part`'s work touches, in a monorepo (where
    /// they decide which service a change belongs to); `None` elsewhere,
    /// as an API's commit list does not say.
    pub(super) fn files(&self, part: usize, commit: usize) -> Option<Vec<String>> {
        if self.services.len() < 2 {
            return None;
        }
        let folder = self.org.service_folder(self.services[part])?;
        let file = ["handler", "model", "routes", "config"][commit % 4];
        Some(vec![format!("{folder}/src/{file}.rs")])
    }

    /// The files a pull request changes: its commits' files.
    pub(super) fn pull_request_files(&self, index: usize) -> Option<Vec<String>> {
        let plan = &self.plans[index];
        let mut files: Vec<String> = (0..plan.commit_times.len())
            .filter_map(|i| self.files(plan.part, i))
            .flatten()
            .collect();
        files.sort();
        files.dedup();
        (self.services.len() > 1).then_some(files)
    }

    pub(super) fn run(mut self, mut plans: Vec<PullRequestPlan>) -> Result<()> {
        self.initial_history()?;
        plans.sort_by_key(|p| p.created_at);
        for plan in plans {
            self.add_pull_request(plan)?;
        }
        let first_tick = self.next_tick(self.org.start);
        if let Some(at) = first_tick {
            self.schedule(at, Event::Tick);
        }
        for part in 0..self.services.len() {
            self.act_as(part);
            self.random_incidents()?;
        }
        while let Some(Reverse((at, _, event))) = self.queue.pop() {
            match event {
                Event::Merge(index) => self.merge(index, at)?,
                Event::Tick => {
                    self.schedule(
                        at,
                        Event::Deploy {
                            emergency: false,
                            part: None,
                        },
                    );
                    if let Some(next) = self.next_tick(at + HOUR) {
                        self.schedule(next, Event::Tick);
                    }
                }
                Event::Deploy { emergency, part } => {
                    let parts = match part {
                        Some(part) => part..part + 1,
                        None => 0..self.services.len(),
                    };
                    for part in parts {
                        self.act_as(part);
                        self.deploy(at, emergency)?;
                    }
                }
                Event::Rollback(part, to) => {
                    self.act_as(part);
                    self.production_deployment(at, &to, false)?;
                }
                Event::Revert(index) => self.revert(index, at)?,
            }
        }
        Ok(())
    }

    /// The repository's history before the window: a year-old root and some
    /// commits, which the first (baseline) deployment must not count.
    pub(super) fn initial_history(&mut self) -> Result<()> {
        let mut at = self.org.start - 330 * DAY;
        let author = self.team.members[0];
        let mut parent: Option<String> = None;
        for i in 0..12 {
            let sha = sha(self.rng);
            let message = if i == 0 {
                "Initial commit".to_string()
            } else {
                format!("Early work {i}")
            };
            let files = self.files(i % self.services.len(), i);
            self.commit(
                &sha,
                parent.iter().cloned().collect(),
                author,
                at,
                &message,
                files,
                None,
            )?;
            parent = Some(sha);
            at += 25 * DAY;
        }
        if let Some(sha) = parent {
            self.main.push((self.org.start - DAY, sha));
        }
        Ok(())
    }

    pub(super) fn next_tick(&self, after: i64) -> Option<i64> {
        let zone = self.team.zone;
        let mut day = chrono::DateTime::from_timestamp_micros(after)?
            .with_timezone(&zone)
            .date_naive();
        loop {
            let fits = match self.team.profile.cadence {
                Cadence::EveryMerge => return None,
                Cadence::Daily => !is_weekend(day),
                Cadence::Fortnightly => {
                    day.weekday() == Weekday::Tue && day.iso_week().week() % 2 == 0
                }
                Cadence::Bimonthly => {
                    day.weekday() == Weekday::Wed && day.day() <= 7 && day.month() % 2 == 1
                }
            };
            if fits {
                let at = local_time(zone, day, 14.0);
                if at >= after {
                    return (at < self.org.end).then_some(at);
                }
            }
            day = day.succ_opt()?;
        }
    }

    pub(super) fn add_pull_request(&mut self, mut plan: PullRequestPlan) -> Result<()> {
        let index = self.plans.len();
        plan.number = self.next_number;
        self.next_number += 1;
        let merged_at = plan.merged_at;
        self.plans.push(plan);
        match merged_at {
            Some(at) => self.schedule(at, Event::Merge(index)),
            None => {
                // Closed or still open: its branch exists but never reaches main.
                self.branch(index)?;
                self.pull_request_row(index, None)?;
            }
        }
        Ok(())
    }

    /// Commits a pull request's branch, then its merge (or squash) commit to main.
    pub(super) fn merge(&mut self, index: usize, at: i64) -> Result<()> {
        let branch_head = self.branch(index)?;
        let before = self.head_at(at).map(str::to_string);
        let merge_sha = sha(self.rng);
        let plan = &self.plans[index];
        let (author, hotfix, number, part) = (plan.author, plan.hotfix, plan.number, plan.part);
        let (ai_tool, reverted_after) = (plan.ai_tool, plan.reverted_after);
        // A squash commit keeps the branch's Co-authored-by trailers.
        let merge_tool = if plan.squash { ai_tool } else { None };
        let (parents, message) = if plan.squash {
            (
                before.iter().cloned().collect(),
                format!("{} (#{number})", plan.title),
            )
        } else {
            let mut parents: Vec<String> = before.iter().cloned().collect();
            parents.push(branch_head);
            (
                parents,
                format!("Merge pull request #{number} from {ORG}/pr-{number}"),
            )
        };
        // A merge commit's files, against main, are the pull request's.
        let files = self.pull_request_files(index);
        self.commit(&merge_sha, parents, author, at, &message, files, merge_tool)?;
        self.main.push((at, merge_sha.clone()));
        self.changed_at[part] = at;
        self.push(
            "refs/heads/main",
            before.as_deref(),
            &merge_sha,
            vec![merge_sha.clone()],
            at,
            author,
        )?;
        let pipeline = self.org.main_pipeline(self.team, self.services[0], at);
        self.ci_run(pipeline, &merge_sha, "main", "push", at + MINUTE)?;
        self.pull_request_row(index, Some(&merge_sha))?;
        if let Some(after) = reverted_after {
            self.schedule(at + after, Event::Revert(index));
        }
        if matches!(self.team.profile.cadence, Cadence::EveryMerge) || hotfix {
            let delay = self.rng.gen_range(20..50) * MINUTE;
            self.schedule(
                at + delay,
                Event::Deploy {
                    emergency: hotfix,
                    part: Some(part),
                },
            );
        }
        Ok(())
    }

    /// Reverts a merged pull request with a commit on main, as `git revert`
    /// names it (`Revert "<title> (#N)"`); it goes out with the next
    /// deployment. Its sha is derived, not drawn, so the rest of the
    /// history's random draws stay as they were.
    pub(super) fn revert(&mut self, index: usize, at: i64) -> Result<()> {
        let before = self.head_at(at).map(str::to_string);
        let plan = &self.plans[index];
        let (author, number, part) = (plan.author, plan.number, plan.part);
        let message = format!("Revert \"{} (#{number})\"", plan.title);
        let digest = Sha256::digest(format!("{}/{number}/revert", self.repo).as_bytes());
        let sha: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
        let files = self.pull_request_files(index);
        let parents = before.iter().cloned().collect();
        self.commit(&sha, parents, author, at, &message, files, None)?;
        self.main.push((at, sha.clone()));
        self.changed_at[part] = at;
        self.push(
            "refs/heads/main",
            before.as_deref(),
            &sha,
            vec![sha.clone()],
            at,
            author,
        )?;
        if matches!(self.team.profile.cadence, Cadence::EveryMerge) {
            self.schedule(
                at + 30 * MINUTE,
                Event::Deploy {
                    emergency: false,
                    part: Some(part),
                },
            );
        }
        Ok(())
    }

    /// The branch's commits, pushes, CI runs, reviews and the work activity
    /// around them. Returns the branch head.
    pub(super) fn branch(&mut self, index: usize) -> Result<String> {
        let plan = &self.plans[index];
        let (author, number, created_at, part) =
            (plan.author, plan.number, plan.created_at, plan.part);
        let commit_times = plan.commit_times.clone();
        let reviews = plan.reviews.clone();
        let decided_at = plan.closed_at.unwrap_or(self.org.end);
        let title = plan.title.clone();
        let ai_tool = plan.ai_tool;
        let item = format!("{}#{number}", self.repo);
        let branch_ref = format!("refs/heads/pr-{number}");
        let mut parent = self.head_at(plan.first_commit_at).map(str::to_string);
        let mut before: Option<String> = None;
        for (i, &at) in commit_times.iter().enumerate() {
            if at >= self.org.end {
                break;
            }
            let sha = sha(self.rng);
            let message = if i == 0 {
                title.clone()
            } else {
                ["Address review", "Fix tests", "Tidy up", "Handle edge case"][i % 4].to_string()
            };
            let files = self.files(part, i);
            self.commit(
                &sha,
                parent.iter().cloned().collect(),
                author,
                at,
                &message,
                files,
                ai_tool,
            )?;
            self.activity(author, at, "commit", &item)?;
            let pushed_at = at + self.rng.gen_range(1..20) * MINUTE;
            self.push(
                &branch_ref,
                before.as_deref(),
                &sha,
                vec![sha.clone()],
                pushed_at,
                author,
            )?;
            self.ci_run(
                "ci",
                &sha,
                &format!("pr-{number}"),
                "pull_request",
                pushed_at + MINUTE / 2,
            )?;
            parent = Some(sha.clone());
            before = Some(sha);
        }
        if created_at < self.org.end {
            self.activity(author, created_at, "pr", &item)?;
        }
        for (reviewer, state, at) in reviews {
            if at >= self.org.end {
                continue;
            }
            self.out.push(
                &schema::REVIEWS,
                vec![
                    Value::text(format!("demo:review:{}:{number}:{state}:{at}", self.repo)),
                    Value::text(&self.repo),
                    Value::Integer(number),
                    Value::text(&self.org.developers[reviewer]),
                    Value::text(state),
                    Value::Timestamp(at),
                ],
            )?;
            self.activity(reviewer, at, "review", &item)?;
            if self.rng.gen::<f64>() < 0.6 {
                let reply = at + self.rng.gen_range(5..90) * MINUTE;
                if reply < decided_at.min(self.org.end) {
                    self.activity(author, reply, "comment", &item)?;
                }
            }
        }
        Ok(parent.unwrap_or_default())
    }

    pub(super) fn pull_request_row(&mut self, index: usize, merge_sha: Option<&str>) -> Result<()> {
        let plan = &self.plans[index];
        if plan.created_at >= self.org.end {
            return Ok(());
        }
        let visible = |at: i64| (at < self.org.end).then_some(at);
        let first_review = plan.reviews.first().and_then(|r| visible(r.2));
        let approved = plan
            .reviews
            .iter()
            .find(|r| r.1 == "approved")
            .and_then(|r| visible(r.2));
        let labels = if plan.hotfix {
            vec!["hotfix".to_string()]
        } else {
            vec![]
        };
        let row = vec![
            Value::text(format!("demo:pull_request:{}:{}", self.repo, plan.number)),
            Value::text(&self.repo),
            Value::Integer(plan.number),
            Value::text(&self.org.developers[plan.author]),
            Value::Timestamp(plan.created_at),
            Value::Timestamp(plan.first_commit_at),
            Value::opt_timestamp(first_review),
            Value::opt_timestamp(approved),
            Value::opt_timestamp(plan.merged_at.and_then(visible)),
            Value::opt_timestamp(plan.closed_at.and_then(visible)),
            Value::opt_text(merge_sha),
            Value::text("main"),
            Value::Integer(plan.additions),
            Value::Integer(plan.deletions),
            Value::Integer(plan.commit_times.len() as i64),
            Value::TextList(labels),
            // What a pull says (merged pull requests' files), in a monorepo.
            match merge_sha {
                Some(_) => self
                    .pull_request_files(index)
                    .map_or(Value::Null, Value::TextList),
                None => Value::Null,
            },
            Value::opt_text(plan.ai_tool),
        ];
        self.out.push(&schema::PULL_REQUESTS, row)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit(
        &mut self,
        sha: &str,
        parents: Vec<String>,
        author: usize,
        at: i64,
        message: &str,
        files: Option<Vec<String>>,
        ai_tool: Option<&str>,
    ) -> Result<()> {
        self.out.push_row(crate::canonical::Commit {
            event_id: format!("demo:commit:{}:{sha}", self.repo),
            repo: self.repo.clone(),
            sha: sha.to_string(),
            parents: Some(parents),
            author: self.org.developers[author].clone(),
            authored_at: crate::canonical::Micros(at),
            committed_at: Some(crate::canonical::Micros(at)),
            message_summary: Some(message.to_string()),
            files,
            ai_tool: ai_tool.map(str::to_string),
        })
    }

    pub(super) fn push(
        &mut self,
        reference: &str,
        before: Option<&str>,
        after: &str,
        commits: Vec<String>,
        at: i64,
        actor: usize,
    ) -> Result<()> {
        if at >= self.org.end {
            return Ok(());
        }
        self.pushes += 1;
        self.out.push(
            &schema::PUSHES,
            vec![
                Value::text(format!("demo:push:{}:{}", self.repo, self.pushes)),
                Value::text(&self.repo),
                Value::text(reference),
                Value::text(before.unwrap_or("0000000000000000000000000000000000000000")),
                Value::text(after),
                Value::TextList(commits),
                Value::Timestamp(at),
                Value::text(&self.org.developers[actor]),
            ],
        )
    }

    pub(super) fn activity(
        &mut self,
        developer: usize,
        at: i64,
        kind: &str,
        item: &str,
    ) -> Result<()> {
        activity(
            self.out,
            &self.org.developers[developer],
            at,
            kind,
            item,
            &self.repo,
        )
    }

    /// One CI run: a flaky first attempt fails and its retry passes.
    pub(super) fn ci_run(
        &mut self,
        pipeline: &str,
        sha: &str,
        reference: &str,
        trigger: &str,
        queued_at: i64,
    ) -> Result<()> {
        if queued_at >= self.org.end {
            return Ok(());
        }
        self.ci_runs += 1;
        let run_id = format!(
            "{}",
            (self.services[0] as u64 + 1) * 100_000_000 + self.ci_runs
        );
        let profile = self.team.profile;
        let flaky = self.rng.gen::<f64>() < profile.flaky_rate;
        let broken = !flaky && self.rng.gen::<f64>() < 0.04;
        let mut queued = queued_at;
        for attempt in 1..=(if flaky { 2 } else { 1 }) {
            let wait = hours(exponential(self.rng, 1.5 / 60.0)) + 5_000_000;
            let duration = hours(lognormal(self.rng, profile.ci_minutes / 60.0, 0.35));
            let started = queued + wait;
            let finished = started + duration;
            let conclusion = if (flaky && attempt == 1) || broken {
                "failure"
            } else {
                "success"
            };
            let done = finished < self.org.end;
            self.out.push(
                &schema::CI_RUNS,
                vec![
                    Value::text(format!("demo:ci_run:{run_id}:{attempt}")),
                    Value::text(&self.repo),
                    Value::text(pipeline),
                    Value::text(&run_id),
                    Value::Integer(attempt),
                    Value::text(sha),
                    Value::text(reference),
                    Value::text(trigger),
                    Value::Timestamp(queued),
                    Value::opt_timestamp((started < self.org.end).then_some(started)),
                    Value::opt_timestamp(done.then_some(finished)),
                    Value::opt_text(done.then_some(conclusion)),
                    Value::text(if self.rng.gen::<f64>() < 0.9 {
                        "Linux"
                    } else {
                        "macOS"
                    }),
                    Value::Float(((duration as f64) / MINUTE as f64).ceil()),
                ],
            )?;
            self.ci_jobs(&run_id, attempt, started, duration, conclusion)?;
            queued = finished + self.rng.gen_range(2..10) * MINUTE;
            if queued >= self.org.end {
                break;
            }
        }
        Ok(())
    }

    /// A run's jobs: build (the first 40%), then test. Derived from the run
    /// without drawing random numbers, so the rest of the demo stays as it is.
    pub(super) fn ci_jobs(
        &mut self,
        run_id: &str,
        attempt: i64,
        started: i64,
        duration: i64,
        conclusion: &str,
    ) -> Result<()> {
        let build_end = started + duration * 2 / 5;
        for (k, name, from, to) in [
            (0, "build", started, build_end),
            (1, "test", build_end, started + duration),
        ] {
            if from >= self.org.end {
                break;
            }
            let done = to < self.org.end;
            let status = if done { "completed" } else { "in_progress" };
            // A failed run fails in its test job.
            let outcome = if k == 0 { "success" } else { conclusion };
            self.out.push(
                &schema::CI_JOBS,
                vec![
                    Value::text(format!("demo:ci_job:{run_id}:{attempt}:{k}:{status}")),
                    Value::text(&self.repo),
                    Value::text(run_id),
                    Value::Integer(attempt),
                    Value::text(format!("{run_id}{attempt}{k}")),
                    Value::text(name),
                    Value::text(status),
                    Value::Timestamp(from),
                    Value::Timestamp(from),
                    Value::opt_timestamp(done.then_some(to)),
                    Value::opt_text(done.then_some(outcome)),
                    Value::text(format!("runner-{}", self.services[0] % 7 + 1)),
                    Value::TextList(vec!["ubuntu-latest".into()]),
                ],
            )?;
        }
        Ok(())
    }
}

//! Deployments, change failures, hotfixes and incidents of a simulated
//! repository.

use super::*;

impl RepoSimulation<'_> {
    pub(super) fn deployment_row(
        &mut self,
        environment: &str,
        sha: &str,
        status: &str,
        started: i64,
        finished: i64,
    ) -> Result<String> {
        self.deployments[self.current] += 1;
        let id = format!("{}-{}", self.service_name(), self.deployments[self.current]);
        let forge = self.forge();
        self.out.push_row(crate::canonical::Deployment {
            event_id: format!("{forge}:demo-deployment:{id}"),
            service: self.service_name().to_string(),
            environment: environment.to_string(),
            sha: sha.to_string(),
            deployment_id: id.clone(),
            status: status.to_string(),
            started_at: crate::canonical::Micros(started),
            finished_at: (finished < self.org.end).then_some(crate::canonical::Micros(finished)),
            source: forge.to_string(),
        })?;
        Ok(id)
    }

    /// A deployment of main's head: staging first, sometimes a failed
    /// attempt, then production; a redeploy when nothing changed.
    pub(super) fn deploy(&mut self, at: i64, emergency: bool) -> Result<()> {
        let Some(sha) = self.head_at(at).map(str::to_string) else {
            return Ok(());
        };
        let part = self.current;
        // In a monorepo, a service goes out when a merge changed it.
        if self.services.len() > 1 && self.changed_at[part] <= self.deployed_at[part] {
            return Ok(());
        }
        if self.production[part].last() == Some(&sha) {
            // Nothing new; now and then the same sha goes out again (a restart).
            if !emergency && self.rng.gen::<f64>() < 0.03 {
                self.production_deployment(at, &sha, true)?;
            }
            return Ok(());
        }
        let staging_at = at - self.rng.gen_range(30..60) * MINUTE;
        self.deployment_row(
            "staging",
            &sha,
            "success",
            staging_at,
            staging_at + 8 * MINUTE,
        )?;
        let mut start = at;
        if self.rng.gen::<f64>() < 0.06 {
            self.deployment_row("production", &sha, "failure", start, start + 4 * MINUTE)?;
            start += 20 * MINUTE;
        }
        let (id, finished) = self.production_deployment(start, &sha, false)?;
        // Big batches fail more often.
        if self.rng.gen::<f64>() < self.team.profile.change_failure {
            self.fail(&id, &sha, finished)?;
        }
        Ok(())
    }

    pub(super) fn production_deployment(
        &mut self,
        at: i64,
        sha: &str,
        _redeploy: bool,
    ) -> Result<(String, i64)> {
        let finished = at + self.rng.gen_range(4..15) * MINUTE;
        let id = self.deployment_row("production", sha, "success", at, finished)?;
        self.production[self.current].push(sha.to_string());
        self.deployed_at[self.current] = at;
        // Every fifth production deployment is also tagged as a release.
        let n = self.production[self.current].len();
        if n % 5 == 1 && at < self.org.end {
            self.out.push(
                &schema::RELEASES,
                vec![
                    Value::text(format!("demo:release:{id}")),
                    Value::text(&self.repo),
                    Value::text(&id),
                    Value::text(format!("v1.{}.0", n / 5)),
                    Value::text(sha),
                    Value::text("release"),
                    Value::Timestamp(at),
                    Value::Timestamp(at),
                ],
            )?;
        }
        Ok((id, finished))
    }

    /// A failed deployment: a rollback, or incidents (sometimes a burst)
    /// fixed by a hotfix pull request.
    pub(super) fn fail(&mut self, deployment_id: &str, sha: &str, finished: i64) -> Result<()> {
        let profile = self.team.profile;
        let production = &self.production[self.current];
        let previous = production
            .len()
            .checked_sub(2)
            .map(|i| production[i].clone());
        if let Some(previous) = previous.filter(|_| self.rng.gen::<f64>() < 0.35) {
            let rollback_at = finished + self.rng.gen_range(15..120) * MINUTE;
            if self.rng.gen::<f64>() < 0.5 {
                let opened = finished + self.rng.gen_range(3..15) * MINUTE;
                self.incident(
                    opened,
                    Some(rollback_at + 10 * MINUTE),
                    Some(deployment_id),
                    None,
                    "sev2",
                )?;
            }
            self.schedule(rollback_at, Event::Rollback(self.current, previous));
            self.hotfix(rollback_at + HOUR)?;
            return Ok(());
        }
        let opened = finished + hours(exponential(self.rng, 1.5)) + MINUTE;
        let recovery = hours(lognormal(self.rng, profile.recovery_hours, 0.6)) + 10 * MINUTE;
        let burst = if self.rng.gen::<f64>() < 0.3 {
            self.rng.gen_range(2..=3)
        } else {
            1
        };
        let link = self.rng.gen::<f64>();
        for k in 0..burst {
            let at = opened + k * self.rng.gen_range(5..40) * MINUTE;
            let resolved = opened + recovery - self.rng.gen_range(0..10) * MINUTE;
            let (by_id, by_sha) = match link {
                l if l < 0.55 => (Some(deployment_id), None),
                l if l < 0.70 => (None, Some(sha)),
                _ => (None, None),
            };
            self.incident(
                at,
                Some(resolved.max(at + MINUTE)),
                by_id,
                by_sha,
                if k == 0 { "sev2" } else { "sev3" },
            )?;
        }
        self.hotfix(opened + 10 * MINUTE)
    }

    pub(super) fn hotfix(&mut self, first_commit_at: i64) -> Result<()> {
        if first_commit_at >= self.org.end {
            return Ok(());
        }
        let joined: Vec<usize> = (self.team.members.iter().copied())
            .filter(|&m| self.org.joined(m, first_commit_at))
            .collect();
        let author = match joined.len() {
            0 => self.team.members[0],
            n => joined[self.rng.gen_range(0..n)],
        };
        let mut plan = plan_one(
            self.org,
            self.rng,
            self.team,
            author,
            first_commit_at,
            self.team.profile,
            true,
            1.0,
        );
        plan.part = self.current;
        self.add_pull_request(plan)
    }

    pub(super) fn incident(
        &mut self,
        opened: i64,
        resolved: Option<i64>,
        deployment_id: Option<&str>,
        sha: Option<&str>,
        severity: &str,
    ) -> Result<()> {
        if opened >= self.org.end {
            return Ok(());
        }
        self.incidents[self.current] += 1;
        let id = format!("INC-{}-{}", self.service + 1, self.incidents[self.current]);
        let acknowledged = opened + self.rng.gen_range(1..20) * MINUTE;
        let visible = |at: i64| (at < self.org.end).then_some(at);
        // Every team's incidents come from PagerDuty (the event id's first
        // part names the tool, as a real PagerDuty row's does).
        self.out.push_row(crate::canonical::Incident {
            event_id: format!("pagerduty:demo-incident:{id}"),
            service: self.service_name().to_string(),
            incident_id: id,
            severity: Some(severity.to_string()),
            opened_at: crate::canonical::Micros(opened),
            acknowledged_at: visible(acknowledged).map(crate::canonical::Micros),
            resolved_at: resolved.and_then(visible).map(crate::canonical::Micros),
            deployment_id: deployment_id.map(str::to_string),
            sha: sha.map(str::to_string),
        })
    }

    /// Incidents that no deployment caused (an outage of a dependency): they
    /// carry no link.
    pub(super) fn random_incidents(&mut self) -> Result<()> {
        let mut at = self.org.start + hours(exponential(self.rng, 24.0 * 75.0));
        while at < self.org.end {
            let resolved = at + hours(lognormal(self.rng, 2.0, 0.8));
            self.incident(at, Some(resolved), None, None, "sev3")?;
            at += hours(exponential(self.rng, 24.0 * 75.0));
        }
        Ok(())
    }
}

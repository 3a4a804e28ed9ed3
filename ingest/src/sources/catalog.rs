//! What sources look up in the catalog while mapping events: which service
//! a repository, a PagerDuty service or an Argo CD application is. The
//! caller reads it from the lake (`analytics::catalog::view`); a source only
//! asks.

use std::collections::{BTreeSet, HashMap};

/// Catalog annotations sources map by (Backstage's own keys).
pub mod annotation {
    pub const PAGERDUTY_SERVICE_ID: &str = "pagerduty.com/service-id";
    pub const ARGOCD_APP_NAME: &str = "argocd/app-name";
    pub const GITHUB_PROJECT_SLUG: &str = "github.com/project-slug";
    pub const GITLAB_PROJECT_SLUG: &str = "gitlab.com/project-slug";
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogView {
    /// Repository (`owner/name`, or a GitLab project path) -> service.
    pub repository_services: HashMap<String, String>,
    /// Every service the catalog or the events name.
    pub services: BTreeSet<String>,
    /// (annotation, value) -> service, e.g.
    /// (`pagerduty.com/service-id`, `PA2P440`) -> `checkout`.
    pub annotations: HashMap<(String, String), String>,
    /// Developer id -> their current team (the latest open membership).
    pub developer_teams: HashMap<String, String>,
    /// Pseudonym of `backstage-user:<name>` -> the developer id the catalog
    /// gave that Backstage user.
    pub backstage_users: std::collections::BTreeMap<String, String>,
}

impl CatalogView {
    /// The catalog's service of a repository, else its name without owner.
    pub fn service_of_repository(&self, repo: &str) -> String {
        self.repository_services
            .get(repo)
            .cloned()
            .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_string())
    }

    /// The service an outside id or name maps to: the entity annotated with
    /// `annotation: value` first, then a service of that name (exactly, then
    /// ignoring case). `None` when nothing matches: the caller says so.
    pub fn service_by(&self, annotation: &str, value: &str, name: Option<&str>) -> Option<String> {
        if let Some(service) = self
            .annotations
            .get(&(annotation.to_string(), value.to_string()))
        {
            return Some(service.clone());
        }
        self.service_named(name?)
    }

    /// The catalog's service of this name, exactly, else ignoring case.
    pub fn service_named(&self, name: &str) -> Option<String> {
        if self.services.contains(name) {
            return Some(name.to_string());
        }
        self.services
            .iter()
            .find(|s| s.eq_ignore_ascii_case(name))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annotation_beats_a_name_and_names_ignore_case() {
        let catalog = CatalogView {
            services: ["checkout".to_string(), "search".to_string()].into(),
            annotations: HashMap::from([(
                (
                    annotation::PAGERDUTY_SERVICE_ID.to_string(),
                    "PA2P440".to_string(),
                ),
                "checkout".to_string(),
            )]),
            ..CatalogView::default()
        };
        let by = |id, name| catalog.service_by(annotation::PAGERDUTY_SERVICE_ID, id, name);
        assert_eq!(by("PA2P440", Some("search")).as_deref(), Some("checkout"));
        assert_eq!(by("P0000", Some("Search")).as_deref(), Some("search"));
        assert_eq!(by("P0000", Some("billing")), None);
        assert_eq!(by("P0000", None), None);
        assert_eq!(catalog.service_of_repository("acme/web"), "web");
    }
}

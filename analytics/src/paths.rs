//! Services inside a monorepo: which of a repository's services a change
//! belongs to, by the files it touches and the paths the catalog gives each
//! service (`services.paths`, globs such as `services/payments/**`, from the
//! `devex.io/paths` annotation).
//!
//! Rule (devex's contract, the same for DORA's commit walk and the DevEx
//! measures): within a repository, a service without paths takes every
//! change; a service with paths takes the changes that touch one of them; a
//! change whose files are unknown belongs to every service of the
//! repository, as if none had paths. The catalog's current version of each
//! service decides.
//!
//! For SQL it gives two functions, made per catalog: `scope_services(repo,
//! files)`, the sorted services a change belongs to (null for a repository
//! without path-scoped services or unknown files, where the repository rule
//! applies), and `scope_team(services)`, the owner of those services (the
//! first by name when several teams own them; null for none).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::LakeQueries;

/// The files matching a service's globs; a bad glob is an error naming the
/// service and the glob.
pub fn glob_set(service: &str, globs: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        set.add(Glob::new(glob).map_err(|e| {
            Error::InvalidSetting(format!(
                "service {service}: path `{glob}` (devex.io/paths) is not a glob: {e}"
            ))
        })?);
    }
    set.build()
        .map_err(|e| Error::InvalidSetting(format!("service {service}: paths: {e}")))
}

/// One repository's services: those that take every change, and those
/// scoped to paths.
#[derive(Default)]
struct RepositoryServices {
    whole: Vec<String>,
    scoped: Vec<(String, GlobSet)>,
}

/// The catalog's services per repository, as the rule above reads them.
#[derive(Default)]
pub struct ServicePaths {
    repositories: HashMap<String, RepositoryServices>,
    owners: HashMap<String, String>,
}

impl ServicePaths {
    /// The current catalog's services, owners, repositories and paths.
    pub async fn load(queries: &LakeQueries) -> Result<ServicePaths> {
        let result = queries
            .read_only_sql(&format!(
                "SELECT service, owner_team, repos, paths FROM {}",
                crate::catalog::CURRENT_SERVICES
            ))
            .await?;
        let c = Columns::new(&result.batches);
        let mut paths = ServicePaths::default();
        for (((service, owner), repos), globs) in c
            .text("service")?
            .into_iter()
            .zip(c.text("owner_team")?)
            .zip(c.text_lists("repos")?)
            .zip(c.text_lists("paths")?)
        {
            let Some(service) = service else { continue };
            paths.add(
                &service,
                owner,
                &repos.unwrap_or_default(),
                &globs.unwrap_or_default(),
            )?;
        }
        Ok(paths)
    }

    /// Adds a service of `repos`, scoped to `globs` when there are any.
    pub fn add(
        &mut self,
        service: &str,
        owner: Option<String>,
        repos: &[String],
        globs: &[String],
    ) -> Result<()> {
        if let Some(owner) = owner {
            self.owners.insert(service.to_string(), owner);
        }
        let scope = if globs.is_empty() {
            None
        } else {
            Some(glob_set(service, globs)?)
        };
        for repo in repos {
            let entry = self.repositories.entry(repo.clone()).or_default();
            match &scope {
                None => entry.whole.push(service.to_string()),
                Some(set) => entry.scoped.push((service.to_string(), set.clone())),
            }
        }
        Ok(())
    }

    /// Whether some service of the catalog is scoped to paths.
    pub fn any_scoped(&self) -> bool {
        self.repositories.values().any(|r| !r.scoped.is_empty())
    }

    /// The services a change of `repo` touching `files` belongs to, sorted;
    /// `None` where the repository rule applies (no path-scoped service in
    /// the repository).
    pub fn services_of(&self, repo: &str, files: &[String]) -> Option<Vec<String>> {
        let services = self.repositories.get(repo)?;
        if services.scoped.is_empty() {
            return None;
        }
        let mut of: BTreeSet<&str> = services.whole.iter().map(String::as_str).collect();
        for (service, set) in &services.scoped {
            if files.iter().any(|file| set.is_match(file)) {
                of.insert(service);
            }
        }
        Some(of.into_iter().map(str::to_string).collect())
    }

    /// The team of a change: the owner of its services, the first by name
    /// when several teams own them.
    pub fn team_of(&self, services: &[String]) -> Option<String> {
        services
            .iter()
            .filter_map(|service| self.owners.get(service))
            .min()
            .cloned()
    }

    /// `scope_services(repo, files)` and `scope_team(services)` over this
    /// catalog.
    pub fn functions(self) -> Vec<ScalarUDF> {
        let paths = Arc::new(self);
        vec![
            ScalarUDF::new_from_impl(ScopeServices {
                paths: paths.clone(),
                signature: Signature::any(2, Volatility::Immutable),
            }),
            ScalarUDF::new_from_impl(ScopeTeam {
                paths,
                signature: Signature::any(1, Volatility::Immutable),
            }),
        ]
    }
}

fn text_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn engine(e: arrow::error::ArrowError) -> DataFusionError {
    DataFusionError::Execution(format!("service paths: {e}"))
}

/// The arguments as arrays of `rows`, cast to the types the functions read.
fn arrays(
    args: &ScalarFunctionArgs,
    types: &[DataType],
) -> datafusion::error::Result<Vec<ArrayRef>> {
    args.args
        .iter()
        .zip(types)
        .map(|(value, data_type)| {
            let array = value.to_array(args.number_rows)?;
            arrow::compute::cast(&array, data_type).map_err(engine)
        })
        .collect()
}

fn texts(list: &arrow::array::ListArray, i: usize) -> Vec<String> {
    let values = list.value(i);
    values
        .as_string::<i32>()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect()
}

#[derive(Debug)]
struct ScopeServices {
    paths: Arc<ServicePaths>,
    signature: Signature,
}

impl ScopeServices {
    fn invoke(&self, args: &ScalarFunctionArgs) -> datafusion::error::Result<ArrayRef> {
        let arrays = arrays(args, &[DataType::Utf8, text_list_type()])?;
        let (repos, files) = (arrays[0].as_string::<i32>(), arrays[1].as_list::<i32>());
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..args.number_rows {
            let services = if repos.is_null(i) || files.is_null(i) {
                None
            } else {
                self.paths.services_of(repos.value(i), &texts(files, i))
            };
            match services {
                Some(services) => {
                    for service in services {
                        out.values().append_value(service);
                    }
                    out.append(true);
                }
                None => out.append(false),
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

impl ScalarUDFImpl for ScopeServices {
    fn name(&self) -> &str {
        "scope_services"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(text_list_type())
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        self.invoke(&args).map(ColumnarValue::Array)
    }
}

#[derive(Debug)]
struct ScopeTeam {
    paths: Arc<ServicePaths>,
    signature: Signature,
}

impl ScalarUDFImpl for ScopeTeam {
    fn name(&self) -> &str {
        "scope_team"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let arrays = arrays(&args, &[text_list_type()])?;
        let lists = arrays[0].as_list::<i32>();
        let teams: arrow::array::StringArray = (0..args.number_rows)
            .map(|i| {
                if lists.is_null(i) {
                    None
                } else {
                    self.paths.team_of(&texts(lists, i))
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(teams)))
    }
}

/// The functions of one catalog are equal: they answer alike.
macro_rules! same_catalog {
    ($($function:ident),*) => {$(
        impl PartialEq for $function {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.paths, &other.paths)
            }
        }
        impl Eq for $function {}
        impl std::hash::Hash for $function {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                (Arc::as_ptr(&self.paths) as usize).hash(state);
            }
        }
    )*};
}

same_catalog!(ScopeServices, ScopeTeam);

impl std::fmt::Debug for ServicePaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePaths")
            .field("repositories", &self.repositories.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn monorepo() -> ServicePaths {
        let mut paths = ServicePaths::default();
        let repo = strings(&["acme/mono"]);
        paths
            .add(
                "pay",
                Some("payments".into()),
                &repo,
                &strings(&["services/pay/**"]),
            )
            .unwrap();
        paths
            .add(
                "ship",
                Some("logistics".into()),
                &repo,
                &strings(&["services/ship/**", "libs/geo/**"]),
            )
            .unwrap();
        paths
            .add("web", Some("frontend".into()), &strings(&["acme/web"]), &[])
            .unwrap();
        paths
    }

    #[test]
    fn a_change_belongs_to_the_services_whose_paths_it_touches() {
        let paths = monorepo();
        assert!(paths.any_scoped());
        assert_eq!(
            paths.services_of(
                "acme/mono",
                &strings(&["services/pay/a.rs", "libs/geo/b.rs"])
            ),
            Some(strings(&["pay", "ship"]))
        );
        assert_eq!(
            paths.services_of("acme/mono", &strings(&["README.md"])),
            Some(vec![]),
            "a change outside every path belongs to none"
        );
        assert_eq!(paths.services_of("acme/web", &strings(&["x"])), None);
        assert_eq!(paths.services_of("acme/unknown", &strings(&["x"])), None);
        assert_eq!(
            paths.team_of(&strings(&["pay", "ship"])).as_deref(),
            Some("logistics"),
            "the first owner by name"
        );
        assert_eq!(paths.team_of(&[]), None);
    }

    #[test]
    fn a_service_without_paths_in_a_monorepo_takes_every_change() {
        let mut paths = monorepo();
        paths
            .add(
                "docs",
                Some("tech-writing".into()),
                &strings(&["acme/mono"]),
                &[],
            )
            .unwrap();
        assert_eq!(
            paths.services_of("acme/mono", &strings(&["README.md"])),
            Some(strings(&["docs"]))
        );
    }

    #[test]
    fn a_bad_glob_names_its_service() {
        let mut paths = ServicePaths::default();
        let error = paths
            .add(
                "pay",
                None,
                &strings(&["acme/mono"]),
                &strings(&["services/[pay"]),
            )
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("service pay: path `services/[pay`"),
            "{error}"
        );
    }
}

//! Reading Backstage catalog entities: `catalog-info.yaml` files (several
//! YAML documents each), folders of them, and the `Location` entities that
//! point at more files. An entity that cannot be read is an error naming its
//! file, its entity ref and the field.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::{Error, Result};

/// One entity and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub metadata: Json,
    pub spec: Json,
    /// The file it came from (for errors).
    pub file: String,
}

impl Entity {
    /// `kind:namespace/name`, as Backstage writes entity refs.
    pub fn entity_ref(&self) -> String {
        format!(
            "{}:{}/{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }

    /// An error about a field of this entity.
    pub fn error(&self, field: &str, message: &str) -> Error {
        Error::InvalidFile {
            file: self.file.clone(),
            message: format!("{}: {field}: {message}", self.entity_ref()),
        }
    }

    /// The annotations, as strings.
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.metadata["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.metadata["annotations"][key]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

/// The name of an entity ref (`group:default/team-a`, `default/team-a` and
/// `team-a` all name `team-a`).
pub fn ref_name(reference: &str) -> String {
    let without_kind = reference
        .split_once(':')
        .map_or(reference, |(_, rest)| rest);
    without_kind
        .rsplit_once('/')
        .map_or(without_kind, |(_, name)| name)
        .to_string()
}

/// Reads every entity under `paths` (files, or folders searched for
/// `*.yaml`/`*.yml`), following `Location` targets that are files. Each file
/// is read once, however often it is pointed at.
pub fn read(paths: &[PathBuf]) -> Result<Vec<Entity>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut entities = Vec::new();
    while let Some(file) = files.pop() {
        let key = file.canonicalize().unwrap_or_else(|_| file.clone());
        if !seen.insert(key) {
            continue;
        }
        for entity in read_file(&file)? {
            if entity.kind.eq_ignore_ascii_case("location") {
                for target in location_targets(&entity)? {
                    let base = file.parent().unwrap_or(Path::new("."));
                    collect(&base.join(target.trim_start_matches("./")), &mut files)?;
                }
            }
            entities.push(entity);
        }
    }
    entities
        .sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    Ok(entities)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let hidden = child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if child.is_dir() {
            collect(&child, files)?;
        } else if matches!(
            child.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(child);
        }
    }
    Ok(())
}

/// A Location's file targets (`file:` or relative); remote ones cannot be
/// read from here and are an error saying what to do.
fn location_targets(entity: &Entity) -> Result<Vec<String>> {
    let mut targets: Vec<String> = Vec::new();
    if let Some(target) = entity.spec["target"].as_str() {
        targets.push(target.to_string());
    }
    for target in entity.spec["targets"].as_array().into_iter().flatten() {
        if let Some(target) = target.as_str() {
            targets.push(target.to_string());
        }
    }
    let kind = entity.spec["type"].as_str().unwrap_or("file");
    targets
        .into_iter()
        .map(|target| {
            let target = target.strip_prefix("file:").unwrap_or(&target).to_string();
            if kind == "url" || target.contains("://") {
                Err(entity.error(
                    "spec.target",
                    &format!("`{target}` is a URL, which an import from files cannot follow; import that file too, or read the live catalog with `devex ingest backstage --url`"),
                ))
            } else {
                Ok(target)
            }
        })
        .collect()
}

/// The entities of one file (its YAML documents), checked for what every
/// entity needs: `kind` and `metadata.name`.
pub fn read_file(file: &Path) -> Result<Vec<Entity>> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::ReadInput {
        path: file.to_path_buf(),
        source,
    })?;
    parse(&text, &file.display().to_string())
}

/// The entities of YAML `text` read from `file`.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entity>> {
    let mut entities = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Json::deserialize(document).map_err(|e| Error::InvalidFile {
            file: file.to_string(),
            message: format!("document {}: not YAML a catalog can read ({e})", index + 1),
        })?;
        if value.is_null() {
            continue;
        }
        let named = |field: &str| -> Result<String> {
            value[field]
                .as_str()
                .or_else(|| field.strip_prefix("metadata.").and_then(|f| value["metadata"][f].as_str()))
                .map(str::to_string)
                .ok_or_else(|| Error::InvalidFile {
                    file: file.to_string(),
                    message: format!("document {}: {field} is missing; every catalog entity has kind and metadata.name", index + 1),
                })
        };
        entities.push(Entity {
            kind: named("kind")?,
            name: named("metadata.name")?,
            namespace: value["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string(),
            metadata: value["metadata"].clone(),
            spec: value["spec"].clone(),
            file: file.to_string(),
        });
    }
    Ok(entities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        crate::sources::fixtures::path("backstage")
    }

    #[test]
    fn multi_document_files_folders_and_refs() {
        let entities = read(&[fixtures()]).unwrap();
        let refs: Vec<String> = entities.iter().map(Entity::entity_ref).collect();
        for expected in [
            "component:default/artist-lookup",
            "component:default/backstage-demo",
            "api:default/demo-graphql",
            "group:default/team-a",
            "user:default/janelle.dawe",
            "user:development/guest",
            "system:default/artist-engagement-portal",
        ] {
            assert!(
                refs.contains(&expected.to_string()),
                "{expected} in {refs:?}"
            );
        }
        assert_eq!(ref_name("group:default/team-a"), "team-a");
        assert_eq!(ref_name("backstage/maintainers"), "maintainers");
        assert_eq!(ref_name("team-a"), "team-a");
    }

    #[test]
    fn locations_are_followed_once_and_bad_entities_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("svc")).unwrap();
        std::fs::write(
            dir.path().join("all.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets:\n    - ./svc/catalog-info.yaml\n    - ./svc/catalog-info.yaml\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("svc/catalog-info.yaml"),
            "kind: Component\nmetadata:\n  name: pay\nspec:\n  owner: group:default/payments\n---\nkind: Group\nmetadata:\n  name: payments\n",
        )
        .unwrap();
        let entities = read(&[dir.path().join("all.yaml")]).unwrap();
        assert_eq!(entities.len(), 3);
        std::fs::write(
            dir.path().join("bad.yaml"),
            "kind: Component\nmetadata:\n  title: no name\n",
        )
        .unwrap();
        let err = read(&[dir.path().join("bad.yaml")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.yaml") && err.contains("metadata.name"),
            "{err}"
        );
        std::fs::write(dir.path().join("url.yaml"), "kind: Location\nmetadata:\n  name: remote\nspec:\n  type: url\n  target: https://github.com/acme/x/blob/main/catalog-info.yaml\n").unwrap();
        let err = read(&[dir.path().join("url.yaml")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("location:default/remote: spec.target"),
            "{err}"
        );
    }
}

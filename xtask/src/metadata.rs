//! What xtask needs from `cargo metadata`: the workspace members, their
//! features, targets and dependencies.

use alloc::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;
use xshell::{Shell, cmd};

/// The workspace members, as `cargo metadata --no-deps` describes them. Only
/// the fields xtask uses are read; serde skips the rest.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    /// Every workspace member.
    pub(crate) packages: Vec<Package>,
    /// The directory of the root `Cargo.toml`.
    pub(crate) workspace_root: PathBuf,
}

/// One workspace member.
#[derive(Debug, Deserialize)]
pub(crate) struct Package {
    /// The package name, such as `flatstream-core`.
    pub(crate) name: String,
    /// Each feature with the values it enables.
    pub(crate) features: BTreeMap<String, Vec<String>>,
    /// The build targets: the library, tests, examples, benches and binaries.
    pub(crate) targets: Vec<Target>,
    /// The package's `Cargo.toml`, as an absolute path.
    pub(crate) manifest_path: PathBuf,
    /// Every dependency, of every kind.
    #[serde(default)]
    pub(crate) dependencies: Vec<Dependency>,
}

/// One dependency of a package.
#[derive(Debug, Deserialize)]
pub(crate) struct Dependency {
    /// The name of the package depended on (not its rename).
    pub(crate) name: String,
    /// `None` for a normal dependency, else `"dev"` or `"build"`.
    pub(crate) kind: Option<String>,
}

/// One build target of a package.
#[derive(Debug, Deserialize)]
pub(crate) struct Target {
    /// The target name, such as `telemetry_demo`.
    pub(crate) name: String,
    /// The target kinds, such as `lib`, `test` or `example`.
    pub(crate) kind: Vec<String>,
}

impl Metadata {
    /// Runs `cargo metadata --format-version 1 --no-deps` and parses its output.
    ///
    /// # Errors
    ///
    /// Fails if cargo fails or prints something unexpected.
    pub(crate) fn load(sh: &Shell) -> Result<Self> {
        let json = crate::read(cmd!(sh, "cargo metadata --format-version 1 --no-deps"))?;
        Self::parse(&json).context("cannot understand the output of `cargo metadata`")
    }

    /// Builds the metadata from `cargo metadata` JSON.
    fn parse(json: &str) -> Result<Self> {
        Ok(serde_json::from_str(json)?)
    }

    /// The workspace member called `name`.
    ///
    /// # Errors
    ///
    /// Fails if there is no such member.
    pub(crate) fn package(&self, name: &str) -> Result<&Package> {
        self.packages
            .iter()
            .find(|package| package.name == name)
            .with_context(|| format!("package `{name}` is not a workspace member"))
    }

    /// The members whose manifest is in a directory under `dir` (relative to
    /// the workspace root, such as `crates`), dependencies before dependents:
    /// a package comes after every member it needs to build (dev-dependencies
    /// do not count, they may form cycles), and ties go by name.
    pub(crate) fn members_under(&self, dir: &str) -> Vec<&Package> {
        let dir = self.workspace_root.join(dir);
        let mut pending: Vec<&Package> = self
            .packages
            .iter()
            .filter(|package| package.manifest_path.parent().and_then(Path::parent) == Some(&dir))
            .collect();
        pending.sort_by(|a, b| a.name.cmp(&b.name));
        let mut ordered: Vec<&Package> = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let waits_for_pending = |package: &Package| {
                package
                    .dependencies
                    .iter()
                    .filter(|dep| dep.kind.as_deref() != Some("dev"))
                    .any(|dep| {
                        dep.name != package.name && pending.iter().any(|p| p.name == dep.name)
                    })
            };
            // A cycle cannot build; take the first package anyway rather than loop.
            let next = pending
                .iter()
                .position(|package| !waits_for_pending(package))
                .unwrap_or(0);
            ordered.push(pending.remove(next));
        }
        ordered
    }
}

impl Package {
    /// The names of the targets of the given kind, such as `"example"`.
    pub(crate) fn targets_of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> {
        self.targets
            .iter()
            .filter(move |target| target.kind.iter().any(|k| k == kind))
            .map(|target| target.name.as_str())
    }

    /// Whether the package has a target of the given kind.
    pub(crate) fn has_target_kind(&self, kind: &str) -> bool {
        self.targets_of_kind(kind).next().is_some()
    }

    /// The features worth testing on their own: all but `default` and the
    /// private `__`-prefixed ones.
    pub(crate) fn public_features(&self) -> impl Iterator<Item = &str> {
        self.features
            .keys()
            .map(String::as_str)
            .filter(|name| *name != "default" && !name.starts_with("__"))
    }

    /// The features that enabling `roots` turns on, `roots` included, but never
    /// `default` (which `--no-default-features` switches off).
    pub(crate) fn feature_closure<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut enabled = BTreeSet::new();
        let mut pending: Vec<String> = roots.into_iter().map(str::to_owned).collect();
        while let Some(feature) = pending.pop() {
            if feature == "default" || !enabled.insert(feature.clone()) {
                continue;
            }
            let Some(values) = self.features.get(&feature) else {
                continue;
            };
            for value in values {
                // `dep:x` enables no feature; `x/f` enables feature `x` when
                // there is one (an optional dependency); `x?/f` does not.
                let implied = match value.split_once('/') {
                    None if value.starts_with("dep:") => None,
                    None => Some(value.as_str()),
                    Some((dep, _)) if dep.ends_with('?') => None,
                    Some((dep, _)) => Some(dep),
                };
                if let Some(implied) = implied
                    && self.features.contains_key(implied)
                {
                    pending.push(implied.to_owned());
                }
            }
        }
        enabled
    }
}

#[cfg(test)]
mod tests {
    use super::Metadata;

    #[test]
    fn members_under_a_directory_in_dependency_order() {
        let metadata = Metadata::parse(
            r#"{"workspace_root": "/w", "packages": [
                {"name": "app", "features": {}, "targets": [], "manifest_path": "/w/crates/app/Cargo.toml",
                 "dependencies": [{"name": "mid", "kind": null}, {"name": "serde", "kind": null}]},
                {"name": "base", "features": {}, "targets": [], "manifest_path": "/w/crates/base/Cargo.toml",
                 "dependencies": [{"name": "app", "kind": "dev"}]},
                {"name": "mid", "features": {}, "targets": [], "manifest_path": "/w/crates/mid/Cargo.toml",
                 "dependencies": [{"name": "base", "kind": "build"}]},
                {"name": "alone", "features": {}, "targets": [], "manifest_path": "/w/crates/alone/Cargo.toml"},
                {"name": "xtask", "features": {}, "targets": [], "manifest_path": "/w/xtask/Cargo.toml"},
                {"name": "deep", "features": {}, "targets": [], "manifest_path": "/w/crates/a/deep/Cargo.toml"}]}"#,
        )
        .unwrap();
        let names: Vec<&str> = metadata
            .members_under("crates")
            .iter()
            .map(|package| package.name.as_str())
            .collect();
        assert_eq!(names, ["alone", "base", "mid", "app"]);
        assert!(metadata.members_under("benches").is_empty());
    }

    #[test]
    fn features_and_targets() {
        let metadata = Metadata::parse(
            r#"{"workspace_root": "/w", "packages": [{"name": "p", "version": "0.1.0",
                "manifest_path": "/w/crates/p/Cargo.toml",
                "features": {"all": ["a", "b"], "a": ["dep:x"], "b": ["opt/std"],
                             "opt": ["dep:opt"], "c": ["opt?/std"], "__t": [], "default": ["a"]},
                "targets": [{"name": "p", "kind": ["lib"]}, {"name": "demo", "kind": ["example"]}]}],
                "version": 1}"#,
        )
        .unwrap();
        let package = metadata.package("p").unwrap();
        assert!(metadata.package("q").is_err());
        assert_eq!(
            package.targets_of_kind("example").collect::<Vec<_>>(),
            ["demo"]
        );
        assert!(package.has_target_kind("lib"));
        assert!(!package.has_target_kind("bin"));
        assert_eq!(
            package.public_features().collect::<Vec<_>>(),
            ["a", "all", "b", "c", "opt"]
        );
        let closure = |roots: &[&str]| {
            package
                .feature_closure(roots.iter().copied())
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(closure(&["all"]), ["a", "all", "b", "opt"]);
        assert_eq!(closure(&["c"]), ["c"]);
        assert_eq!(closure(&["default"]), Vec::<String>::new());
        assert!(Metadata::parse(r#"{"packages": [{"name": "p"}]}"#).is_err());
        assert!(Metadata::parse(r#"{"workspace_root": "/", "packages": []} x"#).is_err());
    }
}

//! What xtask needs from `cargo metadata`: package features and targets.

use alloc::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use serde::Deserialize;
use xshell::{Shell, cmd};

/// The workspace members, as `cargo metadata --no-deps` describes them. Only
/// the fields xtask uses are read; serde skips the rest.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    /// Every workspace member.
    pub(crate) packages: Vec<Package>,
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
    fn features_and_targets() {
        let metadata = Metadata::parse(
            r#"{"packages": [{"name": "p", "version": "0.1.0",
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
        assert!(Metadata::parse(r#"{"packages": []} x"#).is_err());
    }
}

//! `cargo xtask test-matrix`: `cargo test` per package and per feature set.
//!
//! Testing package by package, never with `--workspace`, keeps cargo's feature
//! unification from hiding a crate that does not build with its own features.

use alloc::collections::BTreeSet;

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::metadata::{Metadata, Package};

/// The library crates under `crates/`, in dependency order. `cargo xtask tidy`
/// checks that this list matches the directories.
pub(crate) const PACKAGES: &[&str] = &[
    "flatstream-core",
    "flatstream-framing",
    "flatstream-checksum-xxhash",
    "flatstream-checksum-crc32",
    "flatstream-checksum-crc16",
    "flatstream",
    "flatstream-reflect",
    "flatstream-cli",
];

/// One `cargo test` invocation of the matrix.
#[derive(Debug)]
struct Combination {
    /// The feature flags passed to cargo.
    flags: Vec<String>,
    /// The features those flags enable; two combinations with the same set are
    /// the same test run.
    enabled: BTreeSet<String>,
}

/// Runs the matrix for every package in [`PACKAGES`], then tests xtask once.
///
/// Doctests are left to the `doctest` step of `cargo xtask ci`.
///
/// # Errors
///
/// Fails at the first failing `cargo test`.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    let metadata = Metadata::load(sh)?;
    for &name in PACKAGES {
        let package = metadata.package(name)?;
        let mut targets = Vec::new();
        if package.has_target_kind("lib") {
            targets.push("--lib");
        }
        targets.extend(["--tests", "--examples"]);
        for combination in combinations(package) {
            let flags = &combination.flags;
            let targets = &targets;
            crate::run(cmd!(
                sh,
                "cargo test -p {name} --locked {flags...} {targets...}"
            ))?;
        }
    }
    crate::run(cmd!(sh, "cargo test -p xtask --locked"))
}

/// No features; then each public feature alone; then all features. Duplicate
/// feature sets are dropped, so a package without features is tested once.
fn combinations(package: &Package) -> Vec<Combination> {
    let no_default = String::from("--no-default-features");
    let mut candidates = vec![Combination {
        flags: vec![no_default.clone()],
        enabled: BTreeSet::new(),
    }];
    for feature in package.public_features() {
        candidates.push(Combination {
            flags: vec![no_default.clone(), "--features".into(), feature.into()],
            enabled: package.feature_closure([feature]),
        });
    }
    candidates.push(Combination {
        flags: vec!["--all-features".into()],
        enabled: package.feature_closure(package.features.keys().map(String::as_str)),
    });

    let mut unique: Vec<Combination> = Vec::new();
    for candidate in candidates {
        if !unique.iter().any(|seen| seen.enabled == candidate.enabled) {
            unique.push(candidate);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::combinations;
    use crate::metadata::Package;

    fn package(features: &[(&str, &[&str])]) -> Package {
        Package {
            name: "p".into(),
            features: features
                .iter()
                .map(|(name, values)| {
                    ((*name).into(), values.iter().map(|v| (*v).into()).collect())
                })
                .collect(),
            targets: Vec::new(),
        }
    }

    fn flags(package: &Package) -> Vec<String> {
        combinations(package)
            .iter()
            .map(|c| c.flags.join(" "))
            .collect()
    }

    #[test]
    fn no_features_runs_once() {
        assert_eq!(flags(&package(&[])), ["--no-default-features"]);
    }

    #[test]
    fn single_feature_equals_all_features() {
        let core = package(&[("default", &["std"]), ("std", &["dep:x"])]);
        assert_eq!(
            flags(&core),
            [
                "--no-default-features",
                "--no-default-features --features std"
            ]
        );
    }

    #[test]
    fn private_features_only_under_all_features() {
        let p = package(&[("__test", &[]), ("a", &[]), ("b", &[])]);
        assert_eq!(
            flags(&p),
            [
                "--no-default-features",
                "--no-default-features --features a",
                "--no-default-features --features b",
                "--all-features",
            ]
        );
    }
}

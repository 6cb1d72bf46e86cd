//! `cargo xtask test-matrix`: every package under `crates/`, per feature set.
//!
//! The packages are the workspace members under `crates/`, read from
//! `cargo metadata` in dependency order (a new crate joins the matrix without
//! a list to edit). For each package:
//!
//! - under `--all-features`, every test once: `cargo test -p P --locked
//!   --all-features --lib --tests --examples` (the unit tests, each
//!   integration-test binary, and the examples built as tests);
//! - under every other feature set (no features, then each public feature
//!   alone; a set equal to all features is dropped), only the unit tests,
//!   where `#[cfg(feature = ...)]` code lives: `cargo test -p P --locked FLAGS
//!   --lib` (skipped without a library); then `cargo check -p P --locked FLAGS
//!   --lib --bins --tests --examples` proves that everything else still
//!   compiles with those features, without running the behaviour tests again.
//!
//! Then xtask's own tests run once. Doctests are the `doctest` step of
//! `cargo xtask ci`; benchmarks are its `bench-smoke` step.
//!
//! Testing package by package, never with `--workspace`, keeps cargo's feature
//! unification from hiding a crate that does not build with its own features.

use alloc::collections::BTreeSet;

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::metadata::{Metadata, Package};

/// The directory, relative to the workspace root, whose members are tested.
const CRATES_DIR: &str = "crates";

/// One feature set of the matrix.
#[derive(Debug)]
struct Combination {
    /// The feature flags passed to cargo.
    flags: Vec<String>,
    /// The features those flags enable; two combinations with the same set are
    /// the same build.
    enabled: BTreeSet<String>,
}

impl Combination {
    /// Whether this is the `--all-features` run, which runs every test.
    fn is_all_features(&self) -> bool {
        self.flags == ["--all-features"]
    }
}

/// Runs the matrix for every package under `crates/`, then tests xtask once.
///
/// # Errors
///
/// Fails at the first failing cargo command, or if `crates/` has no package.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    let metadata = Metadata::load(sh)?;
    let packages = metadata.members_under(CRATES_DIR);
    if packages.is_empty() {
        anyhow::bail!("`cargo metadata` lists no workspace member under {CRATES_DIR}/");
    }
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    eprintln!("test-matrix: {}", names.join(", "));
    for package in packages {
        for args in plan(package) {
            crate::run(cmd!(sh, "cargo {args...}"))?;
        }
    }
    crate::run(cmd!(sh, "cargo test -p xtask --locked"))
}

/// The cargo commands (the arguments after `cargo`) that test `package`:
/// every test under `--all-features`, then for each other feature set the
/// unit tests and a check of the other targets.
fn plan(package: &Package) -> Vec<Vec<String>> {
    let name = package.name.as_str();
    let has_lib = package.has_target_kind("lib");
    let mut commands = Vec::new();
    for combination in combinations(package) {
        let command = |verb: &str, targets: &[&str]| -> Vec<String> {
            [verb, "-p", name, "--locked"]
                .into_iter()
                .map(str::to_owned)
                .chain(combination.flags.iter().cloned())
                .chain(targets.iter().map(|&t| t.to_owned()))
                .collect()
        };
        let lib: &[&str] = if has_lib { &["--lib"] } else { &[] };
        if combination.is_all_features() {
            commands.push(command("test", &[lib, &["--tests", "--examples"]].concat()));
        } else {
            if has_lib {
                commands.push(command("test", &["--lib"]));
            }
            commands.push(command(
                "check",
                &[lib, &["--bins", "--tests", "--examples"]].concat(),
            ));
        }
    }
    commands
}

/// All features first; then no features, and each public feature alone.
/// A feature set equal to one already listed is dropped, so a package
/// without features runs once, under `--all-features`.
fn combinations(package: &Package) -> Vec<Combination> {
    let no_default = String::from("--no-default-features");
    let mut candidates = vec![
        Combination {
            flags: vec!["--all-features".into()],
            enabled: package.feature_closure(package.features.keys().map(String::as_str)),
        },
        Combination {
            flags: vec![no_default.clone()],
            enabled: BTreeSet::new(),
        },
    ];
    for feature in package.public_features() {
        candidates.push(Combination {
            flags: vec![no_default.clone(), "--features".into(), feature.into()],
            enabled: package.feature_closure([feature]),
        });
    }

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
    use super::{combinations, plan};
    use crate::metadata::{Package, Target};

    fn package(features: &[(&str, &[&str])], kinds: &[&str]) -> Package {
        Package {
            name: "p".into(),
            features: features
                .iter()
                .map(|(name, values)| {
                    ((*name).into(), values.iter().map(|v| (*v).into()).collect())
                })
                .collect(),
            targets: kinds
                .iter()
                .map(|kind| Target {
                    name: "t".into(),
                    kind: vec![(*kind).into()],
                })
                .collect(),
            manifest_path: "/w/crates/p/Cargo.toml".into(),
            dependencies: Vec::new(),
        }
    }

    fn flags(package: &Package) -> Vec<String> {
        combinations(package)
            .iter()
            .map(|c| c.flags.join(" "))
            .collect()
    }

    #[test]
    fn no_features_runs_once_under_all_features() {
        assert_eq!(flags(&package(&[], &[])), ["--all-features"]);
    }

    #[test]
    fn a_feature_set_equal_to_all_features_is_dropped() {
        let core = package(&[("default", &["std"]), ("std", &["dep:x"])], &[]);
        assert_eq!(flags(&core), ["--all-features", "--no-default-features"]);
    }

    #[test]
    fn private_features_only_under_all_features() {
        let p = package(&[("__test", &[]), ("a", &[]), ("b", &[])], &[]);
        assert_eq!(
            flags(&p),
            [
                "--all-features",
                "--no-default-features",
                "--no-default-features --features a",
                "--no-default-features --features b",
            ]
        );
    }

    fn commands(package: &Package) -> Vec<String> {
        plan(package).iter().map(|args| args.join(" ")).collect()
    }

    #[test]
    fn every_test_runs_once_and_other_feature_sets_run_unit_tests() {
        let p = package(
            &[("default", &["a"]), ("a", &[]), ("b", &["a"])],
            &["lib", "test"],
        );
        assert_eq!(
            commands(&p),
            [
                "test -p p --locked --all-features --lib --tests --examples",
                "test -p p --locked --no-default-features --lib",
                "check -p p --locked --no-default-features --lib --bins --tests --examples",
                "test -p p --locked --no-default-features --features a --lib",
                "check -p p --locked --no-default-features --features a --lib --bins --tests --examples",
            ]
        );
    }

    #[test]
    fn a_package_without_a_library_runs_no_unit_tests() {
        let bin = package(&[("x", &[])], &["bin", "test"]);
        assert_eq!(
            commands(&bin),
            [
                "test -p p --locked --all-features --tests --examples",
                "check -p p --locked --no-default-features --bins --tests --examples",
            ]
        );
    }
}

//! `cargo xtask tidy`: checks the workspace conventions of STYLE.md.
//!
//! - Every directory in `crates/` has a README.md and a CHANGELOG.md.
//! - Every member manifest (`crates/*`, `benches`, `xtask`) inherits
//!   `edition` and `rust-version` and has `[lints] workspace = true`.
//! - Internal (`flatstream*`) dependencies of published crates carry a version,
//!   directly or through a versioned `[workspace.dependencies]` entry.
//! - [`PACKAGES`] lists exactly the directories in `crates/`.
//! - The Code Map of ARCHITECTURE.md names every tracked `.rs` file, in the
//!   section of its directory (a backquoted path relative to the section's
//!   directory; `*` and `{a,b}` are allowed).
//!
//! A `#[test]` runs the same checks under `cargo test -p xtask`.

use core::iter;

use anyhow::{Context as _, Result, bail};
use toml::{Table, Value};
use xshell::Shell;

use crate::test_matrix::PACKAGES;

/// Runs every check and reports all the problems at once.
///
/// # Errors
///
/// Fails if any check fails or a file cannot be read.
pub(crate) fn run(sh: &Shell) -> Result<()> {
    let mut problems = problems(sh)?;
    let files = crate::read(xshell::cmd!(sh, "git ls-files -- *.rs"))?;
    let architecture = sh.read_file("ARCHITECTURE.md")?;
    problems.extend(code_map_problems(&architecture, files.lines()));
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

/// Runs every check against the workspace in `sh`'s current directory.
fn problems(sh: &Shell) -> Result<Vec<String>> {
    let mut problems = Vec::new();

    let root = read_manifest(sh, "Cargo.toml")?;
    let workspace_deps = subtable(&root, "workspace").and_then(|w| subtable(w, "dependencies"));
    for (name, dep) in workspace_deps.into_iter().flatten() {
        if is_internal(name, dep) && !has_version(dep) {
            problems.push(format!(
                "Cargo.toml: [workspace.dependencies] `{name}` has no version"
            ));
        }
    }

    let mut crate_dirs = Vec::new();
    for path in sh.read_dir("crates")? {
        if path.is_dir()
            && let Some(name) = path.file_name().and_then(|name| name.to_str())
        {
            crate_dirs.push(name.to_owned());
        }
    }
    crate_dirs.sort();

    for dir in &crate_dirs {
        for file in ["README.md", "CHANGELOG.md"] {
            if !sh.path_exists(format!("crates/{dir}/{file}")) {
                problems.push(format!("crates/{dir}: missing {file}"));
            }
        }
    }

    let manifests = crate_dirs
        .iter()
        .map(|dir| format!("crates/{dir}/Cargo.toml"))
        .chain([
            "benches/Cargo.toml".to_owned(),
            "xtask/Cargo.toml".to_owned(),
        ]);
    for manifest in manifests {
        if !sh.path_exists(&manifest) {
            problems.push(format!("{manifest}: missing"));
            continue;
        }
        let toml = read_manifest(sh, &manifest)?;
        check_manifest(&manifest, &toml, workspace_deps, &mut problems);
    }

    for dir in &crate_dirs {
        if !PACKAGES.contains(&dir.as_str()) {
            problems.push(format!(
                "crates/{dir} is missing from PACKAGES in xtask/src/test_matrix.rs"
            ));
        }
    }
    for package in PACKAGES {
        if !crate_dirs.iter().any(|dir| dir == package) {
            problems.push(format!(
                "PACKAGES in xtask/src/test_matrix.rs lists `{package}`, but crates/{package} does not exist"
            ));
        }
    }

    Ok(problems)
}

/// The tracked source files that the Code Map of `architecture` does not
/// name, as problems.
fn code_map_problems<'a>(architecture: &str, files: impl Iterator<Item = &'a str>) -> Vec<String> {
    let sections = code_map_sections(architecture);
    let mut problems = Vec::new();
    for file in files {
        let named = sections.iter().any(|(dir, names)| {
            file.strip_prefix(dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| names.iter().any(|name| glob_matches(name, rest)))
        });
        if !named {
            problems.push(format!(
                "ARCHITECTURE.md: the Code Map does not name `{file}`"
            ));
        }
    }
    problems
}

/// The `### ` sections of the `## Code Map`: each directory (every brace
/// alternative of the heading's first backquoted path) with the backquoted
/// names in its text.
fn code_map_sections(architecture: &str) -> Vec<(String, Vec<String>)> {
    let Some(map) = architecture.split("\n## Code Map").nth(1) else {
        return Vec::new();
    };
    let map = map.split("\n## ").next().unwrap_or_default();
    let mut sections = Vec::new();
    for section in map.split("\n### ").skip(1) {
        let (heading, body) = section.split_once('\n').unwrap_or((section, ""));
        let Some(dir) = backquoted(heading).next() else {
            continue;
        };
        let names: Vec<String> = backquoted(body).map(str::to_owned).collect();
        for dir in expand_braces(dir.trim_end_matches('/')) {
            sections.push((dir, names.clone()));
        }
    }
    sections
}

/// The backquoted spans of `text`.
fn backquoted(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

/// `a{b,c}d` as `abd`, `acd` (one brace group at a time, left to right).
fn expand_braces(pattern: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) else {
        return vec![pattern.to_owned()];
    };
    if close < open {
        return vec![pattern.to_owned()];
    }
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    pattern[open + 1..close]
        .split(',')
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .collect()
}

/// Whether `path` matches `pattern`, where `*` matches any run of
/// characters but `/`, and `{a,b}` either alternative.
fn glob_matches(pattern: &str, path: &str) -> bool {
    expand_braces(pattern)
        .iter()
        .any(|p| star_matches(p.as_bytes(), path.as_bytes()))
}

fn star_matches(pattern: &[u8], path: &[u8]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((b'*', rest)) => (0..=path.len())
            .take_while(|&i| i == 0 || path[i - 1] != b'/')
            .any(|i| star_matches(rest, &path[i..])),
        Some((c, rest)) => path.first() == Some(c) && star_matches(rest, &path[1..]),
    }
}

/// Reads and parses the manifest at `path`.
fn read_manifest(sh: &Shell, path: &str) -> Result<Table> {
    let text = sh.read_file(path)?;
    text.parse()
        .with_context(|| format!("{path}: invalid TOML"))
}

/// Checks one member manifest, adding what is wrong to `problems`.
fn check_manifest(
    manifest: &str,
    toml: &Table,
    workspace_deps: Option<&Table>,
    problems: &mut Vec<String>,
) {
    let package = subtable(toml, "package");
    for field in ["rust-version", "edition"] {
        if !inherits_workspace(package.and_then(|p| p.get(field))) {
            problems.push(format!(
                "{manifest}: needs `{field}.workspace = true` in [package]"
            ));
        }
    }
    if !inherits_workspace(toml.get("lints")) {
        problems.push(format!(
            "{manifest}: needs a `[lints]` table with `workspace = true`"
        ));
    }

    // Only published crates need versions on their internal dependencies.
    if package.and_then(|p| p.get("publish")) == Some(&Value::Boolean(false)) {
        return;
    }
    for (name, dep) in dependencies(toml) {
        if !is_internal(name, dep) || has_version(dep) {
            continue;
        }
        if inherits_workspace(Some(dep)) {
            // A root entry without a version is reported once, for the root manifest.
            if !workspace_deps.is_some_and(|deps| deps.contains_key(name)) {
                problems.push(format!(
                    "{manifest}: `{name}` uses `workspace = true`, \
                     but [workspace.dependencies] has no `{name}`"
                ));
            }
        } else {
            problems.push(format!(
                "{manifest}: internal dependency `{name}` needs a `version` (or `workspace = true`)"
            ));
        }
    }
}

/// `table.key`, if it is a table.
fn subtable<'a>(table: &'a Table, key: &str) -> Option<&'a Table> {
    table.get(key).and_then(Value::as_table)
}

/// Whether `value` is a table with `workspace = true`: `field.workspace = true`,
/// `field = { workspace = true }` or a `[field]` table.
fn inherits_workspace(value: Option<&Value>) -> bool {
    value.and_then(|v| v.get("workspace")) == Some(&Value::Boolean(true))
}

/// The entries of the tables that need versions for `cargo publish`:
/// `[dependencies]` and `[build-dependencies]`, also under `[target.*]`
/// (dev-dependencies need none).
fn dependencies(manifest: &Table) -> impl Iterator<Item = (&String, &Value)> {
    let platforms = subtable(manifest, "target")
        .into_iter()
        .flat_map(Table::values)
        .filter_map(Value::as_table);
    iter::once(manifest).chain(platforms).flat_map(|table| {
        ["dependencies", "build-dependencies"]
            .into_iter()
            .filter_map(move |key| subtable(table, key))
            .flatten()
    })
}

/// Whether a dependency names a version: `name = "1"` or `{ version = "1" }`.
fn has_version(dep: &Value) -> bool {
    dep.is_str() || dep.get("version").is_some()
}

/// Whether a dependency is one of ours, by name or by `package = "flatstream..."`.
fn is_internal(name: &str, dep: &Value) -> bool {
    name.starts_with("flatstream")
        || dep
            .get("package")
            .and_then(Value::as_str)
            .is_some_and(|package| package.starts_with("flatstream"))
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;

    use toml::{Table, Value};

    use super::{PACKAGES, dependencies, has_version, inherits_workspace, is_internal, subtable};

    #[test]
    fn reports_problems() {
        let sh = xshell::Shell::new().unwrap();
        let temp = sh.create_temp_dir().unwrap();
        sh.change_dir(temp.path());
        sh.write_file(
            "Cargo.toml",
            "[workspace.dependencies]\nflatstream-core = { path = \"crates/flatstream-core\" }\n",
        )
        .unwrap();
        for package in PACKAGES {
            sh.write_file(format!("crates/{package}/README.md"), "")
                .unwrap();
            sh.write_file(format!("crates/{package}/CHANGELOG.md"), "")
                .unwrap();
            sh.write_file(
                format!("crates/{package}/Cargo.toml"),
                "[package]\nedition.workspace = true\nrust-version.workspace = true\n[lints]\nworkspace = true\n",
            )
            .unwrap();
        }
        sh.remove_path("crates/flatstream-core/CHANGELOG.md")
            .unwrap();
        sh.write_file(
            "crates/flatstream/Cargo.toml",
            "[package]\nedition = \"2024\"\nrust-version.workspace = true\n\
             [dependencies]\nflatstream-core.workspace = true\nflatstream-framing = { path = \"x\" }\n\
             [target.'cfg(unix)'.build-dependencies]\nflatstream-checksum-crc16.workspace = true\n",
        )
        .unwrap();
        sh.write_file("crates/extra/README.md", "").unwrap();
        sh.write_file(
            "benches/Cargo.toml",
            "[package]\npublish = false\nedition.workspace = true\nrust-version.workspace = true\n\
             [dependencies]\nflatstream = { path = \"x\" }\n[lints]\nworkspace = true\n",
        )
        .unwrap();

        let problems = super::problems(&sh).unwrap();
        assert_eq!(
            problems,
            [
                "Cargo.toml: [workspace.dependencies] `flatstream-core` has no version",
                "crates/extra: missing CHANGELOG.md",
                "crates/flatstream-core: missing CHANGELOG.md",
                "crates/extra/Cargo.toml: missing",
                "crates/flatstream/Cargo.toml: needs `edition.workspace = true` in [package]",
                "crates/flatstream/Cargo.toml: needs a `[lints]` table with `workspace = true`",
                "crates/flatstream/Cargo.toml: internal dependency `flatstream-framing` needs a `version` \
                 (or `workspace = true`)",
                "crates/flatstream/Cargo.toml: `flatstream-checksum-crc16` uses `workspace = true`, \
                 but [workspace.dependencies] has no `flatstream-checksum-crc16`",
                "xtask/Cargo.toml: missing",
                "crates/extra is missing from PACKAGES in xtask/src/test_matrix.rs",
            ]
        );
    }

    #[test]
    fn code_map_names_files_in_their_sections() {
        let architecture = "# A\n## Code Map\n### `crates/x-{a,b}`\n- `src/lib.rs`: x.\n\
            - `tests/core_plus_*.rs`: y.\n### `fuzz/` (own)\n- `fuzz_targets/*.rs`\n## Wire";
        let files = [
            "crates/x-a/src/lib.rs",
            "crates/x-b/tests/core_plus_b.rs",
            "fuzz/fuzz_targets/deep.rs",
            "fuzz/fuzz_targets/sub/deep.rs",
            "crates/x-c/src/lib.rs",
            "crates/x-a/src/other.rs",
        ];
        assert_eq!(
            super::code_map_problems(architecture, files.into_iter()),
            [
                "ARCHITECTURE.md: the Code Map does not name `fuzz/fuzz_targets/sub/deep.rs`",
                "ARCHITECTURE.md: the Code Map does not name `crates/x-c/src/lib.rs`",
                "ARCHITECTURE.md: the Code Map does not name `crates/x-a/src/other.rs`",
            ]
        );
        assert!(super::glob_matches("schema/{a,b}.fbs", "schema/b.fbs"));
        assert!(!super::glob_matches("*.rs", "a/b.rs"));
    }

    #[test]
    fn tidy() {
        let sh = xshell::Shell::new().unwrap();
        sh.change_dir(crate::project_root());
        super::run(&sh).unwrap();
    }

    const MANIFEST: &str = r#"
# A comment with = and [brackets]
[package]
name = "demo"   # trailing comment
edition.workspace = true
rust-version = { workspace = true }
description = "has # and = inside"

[dependencies]
flatstream-core.workspace = true
flatstream-framing = { path = "../flatstream-framing", features = [
    "std",
] }
flatstream-checksum-crc32 = { version = "0.1", path = "../flatstream-checksum-crc32" }
flatstream-a = "0.1"
other = { path = "x" }
renamed = { package = "flatstream-core", path = "x" }

[target.'cfg(unix)'.dependencies]
flatstream-b = { path = "b" }

[dependencies.flatstream-c]
path = "c"

[dev-dependencies]
flatstream-d = { path = "d" }

[lints]
workspace = true
"#;

    #[test]
    fn inherits() {
        let toml: Table = MANIFEST.parse().unwrap();
        let package = subtable(&toml, "package").unwrap();
        assert!(inherits_workspace(package.get("edition")));
        assert!(inherits_workspace(package.get("rust-version")));
        assert!(!inherits_workspace(package.get("name")));
        assert!(!inherits_workspace(package.get("license")));
        assert!(inherits_workspace(toml.get("lints")));
        let lints_rust: Table = "[lints.rust]\nworkspace = true\n".parse().unwrap();
        assert!(!inherits_workspace(lints_rust.get("lints")));
    }

    #[test]
    fn finds_dependencies() {
        let toml: Table = MANIFEST.parse().unwrap();
        let deps: BTreeMap<&str, &Value> = dependencies(&toml)
            .map(|(name, dep)| (name.as_str(), dep))
            .collect();
        assert_eq!(
            deps.keys().copied().collect::<Vec<_>>(),
            [
                "flatstream-a",
                "flatstream-b",
                "flatstream-c",
                "flatstream-checksum-crc32",
                "flatstream-core",
                "flatstream-framing",
                "other",
                "renamed",
            ]
        );
        assert!(inherits_workspace(Some(deps["flatstream-core"])));
        assert!(has_version(deps["flatstream-a"]));
        assert!(has_version(deps["flatstream-checksum-crc32"]));
        assert!(!has_version(deps["flatstream-framing"]));
        assert!(!has_version(deps["flatstream-b"]));
        assert!(!has_version(deps["flatstream-c"]));
        assert!(is_internal("renamed", deps["renamed"]));
        assert!(!is_internal("other", deps["other"]));
    }
}

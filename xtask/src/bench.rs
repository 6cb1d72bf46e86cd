//! `cargo xtask bench [ARGS...]`: runs the criterion benchmarks, then prints
//! one table of the comparison benchmarks (`benches/benches/comparison.rs`):
//! ours against the hand-written floor and the peers, judged against the
//! performance targets listed below.
//!
//! The table is built from criterion's own files: for every benchmark,
//! `<criterion>/<group>/<function>/new/benchmark.json` (the id and the
//! throughput per iteration, messages and payload bytes), and beside it
//! `sample.json` (the samples) and `estimates.json` (the median). Only results written by this
//! run are shown, so a filter prints only what it ran. `--report-only`
//! prints the table of the results already on disk without running anything.
//! A run without arguments measures every comparison group that came out
//! noisy (see below) a second time before printing.
//!
//! The targets, as throughput ratios `ours / other` in the same run:
//! `write` at least 0.90x the floor at 64 B and 0.95x from 1 KiB; `read`
//! at least 0.95x; `slice` at least 1.0x at 64 B (where the frame cursor's
//! per-frame work shows most) and 0.90x from 1 KiB; at least 2x tokio-util
//! at 64 B (`write` and `read`); CRC-16 at least 1.5 GB/s at 1 MiB; `slice` of a checksummed
//! framing at 1 MiB at least 0.90x the raw hash (`write` and `read` also
//! copy the payload, so their ratio to the hash is shown but not judged);
//! `simple` and `simple-null` (simple mode into a `Vec`, and into
//! `io::sink()`) cost at most 1.1x the bare build of the same table.
//!
//! The async rows (`benches/benches/async_io.rs`, ids
//! `<async_read|async_write>/<framer>/<size>/<duplex|tcp>/<implementation>`)
//! compare `flatstream-tokio`'s codec and its reader or writer with
//! tokio-util's `LengthDelimitedCodec` in the same group: at least 1.0x on
//! every plain row and 1.3x at 64 B. Their `crc32` rows are shown without
//! targets (tokio checksums nothing).
//!
//! Each time is the fastest of criterion's samples (see [`parse_result`]);
//! a row where criterion's median of a compared benchmark is more than 10%
//! slower than that is marked `~noisy`.

use alloc::collections::BTreeMap;
use core::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

/// The workloads of the comparison, in table order.
const WORKLOADS: [&str; 6] = ["write", "read", "slice", "simple", "simple-null", "hash"];

/// The framers, in table order.
const FRAMERS: [&str; 4] = ["none", "xxh3", "crc32", "crc16"];

/// The sizes, in table order.
const SIZES: [&str; 5] = ["64B", "1KiB", "64KiB", "1MiB", "telemetry"];

/// The async rows, in table order: the workload with its transport (the
/// key's first part), our implementation compared with tokio's in it, and
/// the row's label.
const ASYNC_ROWS: [(&str, &str, &str); 8] = [
    ("async_read/duplex", "codec", "async_read duplex codec"),
    ("async_read/duplex", "reader", "async_read duplex reader"),
    ("async_read/tcp", "codec", "async_read tcp codec"),
    ("async_read/tcp", "reader", "async_read tcp reader"),
    ("async_write/duplex", "codec", "async_write duplex codec"),
    ("async_write/duplex", "writer", "async_write duplex writer"),
    ("async_write/tcp", "codec", "async_write tcp codec"),
    ("async_write/tcp", "writer", "async_write tcp writer"),
];

/// `cargo xtask bench [--report-only] [--rounds N] [ARGS...]`: runs
/// `cargo bench -p flatstream-benches --all-features -- ARGS...` (the
/// arguments, such as `--quick`, `--save-baseline NAME` or a filter, go to
/// criterion), then prints the comparison table.
///
/// With `--rounds N` the comparison rows are measured N times in all (the
/// first round runs every bench, the others only `comparison` and
/// `async_io`), and each benchmark keeps its fastest round: on a shared
/// machine a burst of slowness hits one round of a benchmark and not the
/// others, so the best of a few rounds is what the code can do, and a
/// ratio of two bests is stable where one round's ratio swings.
///
/// # Errors
///
/// Fails if the benchmarks fail to build or run, or if criterion's results
/// cannot be read.
pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let (report_only, rounds, args) = parse_args(args)?;
    let dir = criterion_dir(sh)?;
    let results = if report_only {
        collect(&dir, baseline(&args), None)?
    } else {
        measure(sh, &dir, rounds, &args)?
    };
    if results.is_empty() {
        eprintln!(
            "no comparison results in {} (was `comparison` filtered out?)",
            dir.display()
        );
        return Ok(());
    }
    print!("{}", render(&results));
    if rounds > 1 {
        println!("Each time is the fastest of {rounds} rounds.");
    }
    Ok(())
}

/// `--report-only`, `--rounds N` (at least 1) and the arguments for
/// criterion.
fn parse_args(args: &[String]) -> Result<(bool, u32, Vec<&String>)> {
    let mut report_only = false;
    let mut rounds = 1;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--report-only" => report_only = true,
            "--rounds" => {
                let n = args.next().context("--rounds needs a number")?;
                rounds =
                    n.parse().ok().filter(|&n| n >= 1).with_context(|| {
                        format!("--rounds takes a whole number from 1, not {n:?}")
                    })?;
            }
            _ => rest.push(arg),
        }
    }
    Ok((report_only, rounds, rest))
}

/// Runs the benchmarks `rounds` times and returns the fastest measurement
/// of every comparison benchmark across the rounds.
fn measure(
    sh: &Shell,
    dir: &Path,
    rounds: u32,
    args: &[&String],
) -> Result<BTreeMap<Key, Measured>> {
    let saved = baseline(args);
    let mut best = BTreeMap::new();
    for round in 1..=rounds {
        let started = SystemTime::now();
        if round == 1 {
            crate::run(cmd!(
                sh,
                "cargo bench -p flatstream-benches --all-features -- {args...}"
            ))?;
        } else {
            eprintln!("round {round} of {rounds}");
            crate::run(cmd!(
                sh,
                "cargo bench -p flatstream-benches --all-features --bench comparison --bench async_io -- {args...}"
            ))?;
        }
        merge(&mut best, collect(dir, saved, Some(started))?);
    }
    // A plain run measures again, once, every comparison group with a noisy
    // result: on a shared machine a burst of slowness hits only a few
    // groups, and a group's ratios come from one pass over it.
    if args.is_empty() {
        let noisy = noisy_groups(&best);
        if !noisy.is_empty() {
            let filter = format!("^({})/", noisy.join("|"));
            eprintln!("measuring again {} noisy group(s)", noisy.len());
            let started = SystemTime::now();
            crate::run(cmd!(
                sh,
                "cargo bench -p flatstream-benches --all-features --bench comparison -- {filter}"
            ))?;
            merge(&mut best, collect(dir, saved, Some(started))?);
        }
    }
    Ok(best)
}

/// Keeps, for every benchmark, the faster of `best` and `round`'s
/// measurement (and the lower median).
fn merge(best: &mut BTreeMap<Key, Measured>, round: BTreeMap<Key, Measured>) {
    for (key, measured) in round {
        best.entry(key)
            .and_modify(|kept: &mut Measured| {
                kept.ns = kept.ns.min(measured.ns);
                kept.median_ns = kept.median_ns.min(measured.median_ns);
            })
            .or_insert(measured);
    }
}

/// The groups (`<workload>/<framer>/<size>`) that hold a noisy result.
fn noisy_groups(results: &BTreeMap<Key, Measured>) -> Vec<String> {
    let mut groups: Vec<String> = results
        .iter()
        .filter(|((workload, ..), measured)| !workload.starts_with("async_") && measured.noisy())
        .map(|((workload, framer, size, _), _)| format!("{workload}/{framer}/{size}"))
        .collect();
    groups.dedup();
    groups
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `criterion/` in the target directory that `cargo metadata` names (the
/// order criterion itself follows).
fn criterion_dir(sh: &Shell) -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Ok(sh.current_dir().join(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(sh.current_dir().join(target).join("criterion"));
    }
    let json = crate::read(cmd!(sh, "cargo metadata --format-version 1 --no-deps"))?;
    let metadata: Value =
        serde_json::from_str(&json).context("cannot understand `cargo metadata`")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` names no target_directory")?;
    Ok(Path::new(target).join("criterion"))
}

/// The directory name criterion saves this run's results under: `new`, or
/// the name given to `--save-baseline`.
fn baseline<S: AsRef<str>>(args: &[S]) -> &str {
    args.windows(2)
        .find(|pair| pair[0].as_ref() == "--save-baseline")
        .map_or("new", |pair| pair[1].as_ref())
}

/// How much slower than the fastest sample criterion's median may be before
/// a measurement is flagged as noisy (part of its samples ran slowed down).
const NOISY: f64 = 0.10;

/// One measured benchmark of the comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measured {
    /// Time per iteration of the fastest sample, in nanoseconds: the
    /// estimate the table uses.
    ns: f64,
    /// Criterion's median time per iteration, in nanoseconds.
    median_ns: f64,
    /// Messages per iteration.
    messages: u64,
    /// Payload bytes per iteration.
    bytes: u64,
}

impl Measured {
    /// Whether criterion's median is more than [`NOISY`] above the fastest
    /// sample.
    fn noisy(&self) -> bool {
        self.median_ns > self.ns * (1.0 + NOISY)
    }

    fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.ns * 1e9
    }

    /// Decimal gigabytes of payload per second.
    fn gb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.ns
    }
}

/// `(workload, framer, size, implementation)`: the four parts of an id.
type Key = (String, String, String, String);

/// Reads every comparison result under `dir` saved as `baseline`, written
/// at or after `since` if given.
fn collect(
    dir: &Path,
    baseline: &str,
    since: Option<SystemTime>,
) -> Result<BTreeMap<Key, Measured>> {
    let mut results = BTreeMap::new();
    let groups = match std::fs::read_dir(dir) {
        Ok(groups) => groups,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(results),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for group in groups {
        let group = group?.path();
        if !group.is_dir() {
            continue;
        }
        for function in std::fs::read_dir(&group)? {
            let saved = function?.path().join(baseline);
            let benchmark = saved.join("benchmark.json");
            let estimates = saved.join("estimates.json");
            let sample = saved.join("sample.json");
            if !benchmark.is_file() || !estimates.is_file() {
                continue;
            }
            if let Some(since) = since
                && std::fs::metadata(&estimates)?.modified()? < since
            {
                continue;
            }
            let read = |path: &Path| -> Result<Value> {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("cannot parse {}", path.display()))
            };
            let sample = if sample.is_file() {
                Some(read(&sample)?)
            } else {
                None
            };
            if let Some((key, measured)) =
                parse_result(&read(&benchmark)?, &read(&estimates)?, sample.as_ref())
                    .with_context(|| format!("unexpected contents in {}", saved.display()))?
            {
                results.insert(key, measured);
            }
        }
    }
    Ok(results)
}

/// The id and measurement in criterion's files, if the id is one of the
/// comparison's (`<workload>/<framer>/<size>/<implementation>`).
///
/// The estimate is the fastest sample's time per iteration (each sample
/// averages many iterations). On this shared machine whole stretches of
/// samples sometimes run several times slower (the guest shows no steal
/// time: throttling by the host, most likely), which drags the median of a
/// benchmark but never makes a sample faster than the code can run. Without
/// `sample.json`, criterion's median is used.
fn parse_result(
    benchmark: &Value,
    estimates: &Value,
    sample: Option<&Value>,
) -> Result<Option<(Key, Measured)>> {
    let id = benchmark["full_id"]
        .as_str()
        .context("benchmark.json has no full_id")?;
    let parts: Vec<&str> = id.split('/').collect();
    let (workload, framer, size, implementation) = match parts[..] {
        [workload, framer, size, implementation] if WORKLOADS.contains(&workload) => {
            (workload.to_owned(), framer, size, implementation)
        }
        // An async row: the transport joins the workload.
        [workload, framer, size, transport, implementation]
            if ASYNC_ROWS
                .iter()
                .any(|(w, _, _)| *w == format!("{workload}/{transport}")) =>
        {
            (
                format!("{workload}/{transport}"),
                framer,
                size,
                implementation,
            )
        }
        _ => return Ok(None),
    };
    if !FRAMERS.contains(&framer) || !SIZES.contains(&size) {
        return Ok(None);
    }
    let throughput = &benchmark["throughput"]["ElementsAndBytes"];
    let (Some(messages), Some(bytes)) = (
        throughput["elements"].as_u64(),
        throughput["bytes"].as_u64(),
    ) else {
        bail!("`{id}` has no ElementsAndBytes throughput");
    };
    let median_ns = estimates["median"]["point_estimate"]
        .as_f64()
        .context("estimates.json has no median")?;
    let fastest = sample.map(fastest_sample).transpose()?.flatten();
    let ns = fastest.unwrap_or(median_ns);
    if ns <= 0.0 || median_ns <= 0.0 {
        bail!("`{id}` has a time of {ns} ns (median {median_ns} ns)");
    }
    let key = (
        workload,
        framer.to_owned(),
        size.to_owned(),
        implementation.to_owned(),
    );
    Ok(Some((
        key,
        Measured {
            ns,
            median_ns,
            messages,
            bytes,
        },
    )))
}

/// The smallest time per iteration among the samples of `sample.json`
/// (`{"iters": [..], "times": [..]}`, times in nanoseconds).
fn fastest_sample(sample: &Value) -> Result<Option<f64>> {
    let (Some(iters), Some(times)) = (sample["iters"].as_array(), sample["times"].as_array())
    else {
        bail!("sample.json has no iters and times");
    };
    let mut fastest: Option<f64> = None;
    for (iters, time) in iters.iter().zip(times) {
        let (Some(iters), Some(time)) = (iters.as_f64(), time.as_f64()) else {
            bail!("sample.json holds a value that is not a number");
        };
        if iters > 0.0 {
            let per_iter = time / iters;
            fastest = Some(fastest.map_or(per_iter, |f| f.min(per_iter)));
        }
    }
    Ok(fastest)
}

/// One target check on a row: what it asks, and whether it holds (`None`
/// when a measurement it needs is missing).
#[derive(Debug, Clone, PartialEq)]
struct Check {
    label: String,
    pass: Option<bool>,
}

impl Check {
    /// `value >= min`, labelled `label`.
    fn at_least(label: String, value: Option<f64>, min: f64) -> Self {
        Check {
            label,
            pass: value.map(|v| v >= min),
        }
    }
}

/// One line of the table.
#[derive(Debug)]
struct Row<'a> {
    workload: &'a str,
    framer: &'a str,
    size: &'a str,
    ours: Measured,
    /// The floor (the faster of the two hand-written readers for `read`), and
    /// whether that is the `read_exact` one.
    floor: Option<(Measured, bool)>,
    tokio: Option<Measured>,
    varint: Option<Measured>,
    /// The reference of the `note` column: the raw hash (1 MiB, checksummed
    /// framers) or the bare build (`simple`).
    reference: Option<(&'static str, Measured)>,
    checks: Vec<Check>,
}

impl Row<'_> {
    /// Whether any measurement this row compares is noisy.
    fn noisy(&self) -> bool {
        let floor = self.floor.map(|(floor, _)| floor);
        let reference = self.reference.map(|(_, reference)| reference);
        [Some(self.ours), floor, self.tokio, self.varint, reference]
            .into_iter()
            .flatten()
            .any(|m| m.noisy())
    }
}

/// Throughput ratio `ours / other` in payload bytes per second (> 1: ours is
/// faster); the two may handle different amounts per iteration.
fn ratio(ours: Measured, other: Option<Measured>) -> Option<f64> {
    other.map(|other| ours.gb_per_sec() / other.gb_per_sec())
}

/// The rows of the table, in order, with their target checks.
fn rows(results: &BTreeMap<Key, Measured>) -> Vec<Row<'static>> {
    let get = |w: &str, f: &str, s: &str, i: &str| {
        results
            .get(&(w.to_owned(), f.to_owned(), s.to_owned(), i.to_owned()))
            .copied()
    };
    let mut rows = Vec::new();
    for workload in WORKLOADS {
        for framer in FRAMERS {
            for size in SIZES {
                let ours_name = if workload == "hash" {
                    "raw"
                } else {
                    "flatstream"
                };
                let Some(ours) = get(workload, framer, size, ours_name) else {
                    continue;
                };
                let floor = match (
                    get(workload, framer, size, "floor"),
                    get(workload, framer, size, "floor_exact"),
                ) {
                    (Some(bulk), Some(exact)) if exact.ns < bulk.ns => Some((exact, true)),
                    (Some(bulk), _) => Some((bulk, false)),
                    (None, exact) => exact.map(|exact| (exact, true)),
                };
                let reference = if workload.starts_with("simple") {
                    get("simple", framer, size, "bare").map(|bare| ("bare", bare))
                } else if workload != "hash" && framer != "none" && size == "1MiB" {
                    get("hash", framer, "1MiB", "raw").map(|hash| ("hash", hash))
                } else {
                    None
                };
                let mut row = Row {
                    workload,
                    framer,
                    size,
                    ours,
                    floor,
                    tokio: get(workload, framer, size, "tokio"),
                    varint: get(workload, framer, size, "varint"),
                    reference,
                    checks: Vec::new(),
                };
                row.checks = checks(&row);
                rows.push(row);
            }
        }
    }
    for (workload, ours_name, label) in ASYNC_ROWS {
        for framer in FRAMERS {
            for size in SIZES {
                let Some(ours) = get(workload, framer, size, ours_name) else {
                    continue;
                };
                let mut row = Row {
                    workload: label,
                    framer,
                    size,
                    ours,
                    floor: None,
                    tokio: get(workload, framer, size, "tokio"),
                    varint: None,
                    reference: None,
                    checks: Vec::new(),
                };
                row.checks = checks(&row);
                rows.push(row);
            }
        }
    }
    rows
}

/// The performance targets (listed in the module doc) that apply to `row`.
fn checks(row: &Row<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let floor = ratio(row.ours, row.floor.map(|(floor, _)| floor));
    match row.workload {
        "write" => {
            let min = if row.size == "64B" { 0.90 } else { 0.95 };
            checks.push(Check::at_least(format!("≥{min:.2}x floor"), floor, min));
        }
        "read" => checks.push(Check::at_least("≥0.95x floor".to_owned(), floor, 0.95)),
        "slice" => {
            let min = if row.size == "64B" { 1.0 } else { 0.90 };
            checks.push(Check::at_least(format!("≥{min:.2}x floor"), floor, min));
        }
        "simple" | "simple-null" => {
            // Cost at most 1.1x the bare build: throughput at least 1/1.1 of it.
            let bare = ratio(row.ours, row.reference.map(|(_, bare)| bare));
            checks.push(Check::at_least(
                "cost ≤1.1x bare".to_owned(),
                bare,
                1.0 / 1.1,
            ));
        }
        _ => {}
    }
    if matches!(row.workload, "write" | "read") && row.framer == "none" && row.size == "64B" {
        let tokio = ratio(row.ours, row.tokio);
        checks.push(Check::at_least("≥2x tokio".to_owned(), tokio, 2.0));
    }
    if row.workload.starts_with("async_") && row.framer == "none" {
        let tokio = ratio(row.ours, row.tokio);
        let min = if row.size == "64B" { 1.3 } else { 1.0 };
        checks.push(Check::at_least(format!("≥{min:.1}x tokio"), tokio, min));
    }
    if row.framer == "crc16" && row.size == "1MiB" {
        let gbps = Some(row.ours.gb_per_sec());
        checks.push(Check::at_least("≥1.5 GB/s".to_owned(), gbps, 1.5));
    }
    if row.workload == "slice" && row.framer != "none" && row.size == "1MiB" {
        let hash = ratio(row.ours, row.reference.map(|(_, hash)| hash));
        checks.push(Check::at_least("≥0.90x hash".to_owned(), hash, 0.90));
    }
    checks
}

/// `1.23 G`, `45.6 M`, `789 k`: three significant digits.
fn si(value: f64) -> String {
    let (scaled, unit) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let digits = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$} {unit}").trim_end().to_owned()
}

fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}x"))
}

/// The table, as Markdown, with a legend.
fn render(results: &BTreeMap<Key, Measured>) -> String {
    let mut out = String::new();
    out.push_str(
        "| workload | framer | size | ours msgs/s | ours GB/s | floor GB/s | ours/floor \
         | ours/tokio | ours/varint | note | targets | result |\n",
    );
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|---|---|---|\n");
    let (mut passed, mut missed, mut unknown, mut noisy) = (0, 0, 0, 0);
    for row in rows(results) {
        let floor = row.floor.map(|(floor, _)| floor);
        let floor_gbps = row.floor.map_or_else(
            || "—".to_owned(),
            |(floor, exact)| {
                format!(
                    "{:.2}{}",
                    floor.gb_per_sec(),
                    if exact { " (exact)" } else { "" }
                )
            },
        );
        let note = row.reference.map_or_else(String::new, |(name, reference)| {
            format!("{name} {}", times(ratio(row.ours, Some(reference))))
        });
        let targets: Vec<&str> = row.checks.iter().map(|c| c.label.as_str()).collect();
        let missing: Vec<&str> = row
            .checks
            .iter()
            .filter(|c| c.pass == Some(false))
            .map(|c| c.label.as_str())
            .collect();
        let mut result = if row.checks.is_empty() {
            "—".to_owned()
        } else if !missing.is_empty() {
            missed += 1;
            format!("MISS ({})", missing.join(", "))
        } else if row.checks.iter().any(|c| c.pass.is_none()) {
            unknown += 1;
            "? (peer not run)".to_owned()
        } else {
            passed += 1;
            "PASS".to_owned()
        };
        if row.noisy() {
            noisy += 1;
            result.push_str(" ~noisy");
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} |",
            row.workload,
            row.framer,
            row.size,
            si(row.ours.msgs_per_sec()),
            row.ours.gb_per_sec(),
            floor_gbps,
            times(ratio(row.ours, floor)),
            times(ratio(row.ours, row.tokio)),
            times(ratio(row.ours, row.varint)),
            note,
            targets.join(", "),
            result,
        );
    }
    let _ = writeln!(
        out,
        "\nRows with targets: {passed} PASS, {missed} MISS, {unknown} incomplete; \
         {noisy} rows marked ~noisy (a median more than 10% above the fastest sample: \
         part of the samples ran slowed down). \
         Ratios are throughput ratios (> 1: ours is faster), from the fastest of \
         criterion's samples (each the mean time per iteration over many iterations); GB/s are 10^9 bytes of payload per second. The floor of \
         `read` is the faster hand-written reader, bulk reads or `read_exact` (marked \
         \"exact\"). Note: `hash` = ours / the raw checksum over 1 MiB; `bare` = ours / \
         building the same table without framing."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(ns: f64, messages: u64, bytes: u64) -> Measured {
        Measured {
            ns,
            median_ns: ns * 1.01,
            messages,
            bytes,
        }
    }

    fn files(id: &str, messages: u64, bytes: u64, ns: f64) -> (Value, Value) {
        let benchmark = serde_json::json!({
            "full_id": id,
            "throughput": {"ElementsAndBytes": {"elements": messages, "bytes": bytes}},
        });
        let estimates = serde_json::json!({"median": {"point_estimate": ns * 1.01}});
        (benchmark, estimates)
    }

    fn key(id: &str) -> Key {
        let parts: Vec<String> = id.split('/').map(str::to_owned).collect();
        (
            parts[0].clone(),
            parts[1].clone(),
            parts[2].clone(),
            parts[3].clone(),
        )
    }

    #[test]
    fn parses_comparison_ids_only() -> Result<()> {
        let (b, e) = files("write/crc32/1KiB/floor", 1024, 1 << 20, 2000.0);
        let (k, m) = parse_result(&b, &e, None)?.context("a comparison id")?;
        assert_eq!(k, key("write/crc32/1KiB/floor"));
        assert_eq!((m.ns, m.messages, m.bytes), (2020.0, 1024, 1 << 20));
        // The fastest sample, when there are samples: 1000 ns per iteration.
        let sample =
            serde_json::json!({"iters": [1.0, 2.0, 3.0], "times": [4000.0, 2000.0, 9000.0]});
        let (_, m) = parse_result(&b, &e, Some(&sample))?.context("a comparison id")?;
        assert_eq!((m.ns, m.median_ns), (1000.0, 2020.0));
        assert!(m.noisy());
        assert!(parse_result(&b, &e, Some(&serde_json::json!({}))).is_err());
        assert!((m.gb_per_sec() - 1048.576).abs() < 1e-9);
        assert!((m.msgs_per_sec() - 1024e6).abs() < 1e-3);
        for other in [
            "write/default/64B",
            "adapters/write/crc32/64B/static",
            "x/none/64B/y",
        ] {
            let (b, e) = files(other, 1, 1, 1.0);
            assert!(parse_result(&b, &e, None)?.is_none(), "{other}");
        }
        let no_throughput = serde_json::json!({"full_id": "read/none/64B/tokio"});
        assert!(parse_result(&no_throughput, &e, None).is_err());
        Ok(())
    }

    #[test]
    fn judges_the_async_rows() -> Result<()> {
        let mut results = BTreeMap::new();
        for (id, ns) in [
            ("async_read/none/64B/duplex/codec", 100.0),
            ("async_read/none/64B/duplex/reader", 50.0),
            ("async_read/none/64B/duplex/tokio", 120.0),
            ("async_write/none/1KiB/tcp/writer", 100.0),
            ("async_write/none/1KiB/tcp/tokio", 100.0),
            ("async_read/crc32/64B/duplex/codec", 100.0),
            ("async_read/crc32/64B/duplex/tokio", 50.0),
        ] {
            let (b, e) = files(id, 4, 256, ns / 1.01);
            let (k, m) = parse_result(&b, &e, None)?.context("an async id")?;
            results.insert(k, m);
        }
        let (b, e) = files("async_read/none/64B/pipe/codec", 1, 1, 1.0);
        assert!(
            parse_result(&b, &e, None)?.is_none(),
            "an unknown transport"
        );
        let summary: Vec<(&str, &str, Vec<Option<bool>>)> = rows(&results)
            .iter()
            .map(|r| {
                (
                    r.workload,
                    r.framer,
                    r.checks.iter().map(|c| c.pass).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                // 1.2x tokio at 64 B: under 1.3x.
                ("async_read duplex codec", "none", vec![Some(false)]),
                ("async_read duplex codec", "crc32", vec![]),
                ("async_read duplex reader", "none", vec![Some(true)]),
                ("async_write tcp writer", "none", vec![Some(true)]),
            ]
        );
        assert!(noisy_groups(&results).is_empty());
        assert!(render(&results).contains("MISS (≥1.3x tokio)"));
        Ok(())
    }

    #[test]
    fn finds_the_baseline_directory() {
        assert_eq!(baseline::<&str>(&[]), "new");
        assert_eq!(baseline(&["--quick", "--save-baseline", "main"]), "main");
        assert_eq!(baseline(&["--baseline", "main"]), "new");
    }

    #[test]
    fn judges_the_targets() {
        let mut results = BTreeMap::new();
        let mut put = |id: &str, ns: f64, bytes: u64| {
            results.insert(key(id), measured(ns, 4, bytes));
        };
        // write/none/64B: 0.92x the floor (pass at 64 B), 2.5x tokio.
        put("write/none/64B/flatstream", 100.0, 256);
        put("write/none/64B/floor", 92.0, 256);
        put("write/none/64B/tokio", 250.0, 256);
        // read/crc32/1KiB: 0.94x the faster floor (miss at 1 KiB).
        put("read/crc32/1KiB/flatstream", 100.0, 4096);
        put("read/crc32/1KiB/floor", 120.0, 4096);
        put("read/crc32/1KiB/floor_exact", 94.0, 4096);
        // slice/crc16/1MiB: 2 GB/s, 0.8x the hash.
        put("slice/crc16/1MiB/flatstream", 2_097_152.0, 4 << 20);
        put("slice/crc16/1MiB/floor", 2_097_152.0, 4 << 20);
        put("hash/crc16/1MiB/raw", 419_430.4, 1 << 20);
        let rows = rows(&results);
        let summary: Vec<(&str, &str, &str, Vec<Option<bool>>)> = rows
            .iter()
            .map(|r| {
                let passes = r.checks.iter().map(|c| c.pass).collect();
                (r.workload, r.framer, r.size, passes)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("write", "none", "64B", vec![Some(true), Some(true)]),
                ("read", "crc32", "1KiB", vec![Some(false)]),
                (
                    "slice",
                    "crc16",
                    "1MiB",
                    vec![Some(true), Some(true), Some(false)]
                ),
                ("hash", "crc16", "1MiB", vec![Some(true)]),
            ]
        );
        assert_eq!(rows[1].floor.map(|(_, exact)| exact), Some(true));
        let table = render(&results);
        assert!(table.contains("| read | crc32 | 1KiB |"), "{table}");
        assert!(table.contains("MISS (≥0.95x floor)"), "{table}");
        assert!(table.contains("MISS (≥0.90x hash)"), "{table}");
        assert!(table.contains("2 PASS, 2 MISS"), "{table}");
        assert!(!table.contains("~noisy |"), "{table}");

        results.insert(
            key("write/none/64B/tokio"),
            Measured {
                median_ns: 300.0,
                ..measured(250.0, 4, 256)
            },
        );
        let table = render(&results);
        assert!(table.contains("| PASS ~noisy |"), "{table}");
        assert!(table.contains("1 rows marked ~noisy"), "{table}");
    }

    #[test]
    fn judges_the_cursor_targets_at_64_bytes() {
        let mut results = BTreeMap::new();
        let mut put = |id: &str, ns: f64| {
            results.insert(key(id), measured(ns, 4, 256));
        };
        // read 0.94x the floor at 64 B misses (0.95x); write 0.94x passes.
        put("read/xxh3/64B/flatstream", 100.0);
        put("read/xxh3/64B/floor", 94.0);
        put("write/xxh3/64B/flatstream", 100.0);
        put("write/xxh3/64B/floor", 94.0);
        // slice 0.98x the floor misses at 64 B (1.0x), passes at 1 KiB (0.90x).
        put("slice/crc32/64B/flatstream", 100.0);
        put("slice/crc32/64B/floor", 98.0);
        put("slice/crc32/1KiB/flatstream", 100.0);
        put("slice/crc32/1KiB/floor", 98.0);
        let passes: Vec<(&str, &str, Vec<Option<bool>>)> = rows(&results)
            .iter()
            .map(|r| {
                (
                    r.workload,
                    r.size,
                    r.checks.iter().map(|c| c.pass).collect(),
                )
            })
            .collect();
        assert_eq!(
            passes,
            [
                ("write", "64B", vec![Some(true)]),
                ("read", "64B", vec![Some(false)]),
                ("slice", "64B", vec![Some(false)]),
                ("slice", "1KiB", vec![Some(true)]),
            ]
        );
        let table = render(&results);
        assert!(table.contains("MISS (≥1.00x floor)"), "{table}");
    }

    #[test]
    fn rounds_keep_the_fastest_measurement() {
        let mut best = BTreeMap::new();
        let round = |floor: f64, ours: f64| {
            BTreeMap::from([
                (key("slice/none/64B/floor"), measured(floor, 1, 1)),
                (key("slice/none/64B/flatstream"), measured(ours, 1, 1)),
            ])
        };
        merge(&mut best, round(100.0, 300.0));
        merge(&mut best, round(150.0, 90.0));
        assert_eq!(best[&key("slice/none/64B/floor")].ns, 100.0);
        assert_eq!(best[&key("slice/none/64B/flatstream")].ns, 90.0);
        assert_eq!(
            best[&key("slice/none/64B/flatstream")].median_ns,
            90.0 * 1.01
        );
        // A benchmark measured in a later round only is kept too.
        merge(
            &mut best,
            BTreeMap::from([(key("read/none/64B/floor"), measured(5.0, 1, 1))]),
        );
        assert_eq!(best.len(), 3);
    }

    #[test]
    fn parses_rounds_and_report_only() -> Result<()> {
        let args: Vec<String> = ["--rounds", "3", "--report-only", "^slice/", "--quick"]
            .map(str::to_owned)
            .into();
        let (report_only, rounds, rest) = parse_args(&args)?;
        assert!(report_only);
        assert_eq!(rounds, 3);
        assert_eq!(rest, ["^slice/", "--quick"]);
        let bad = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            parse_args(&args).map(|_| ()).unwrap_err().to_string()
        };
        assert!(
            bad(&["--rounds", "0"]).contains("not \"0\""),
            "{}",
            bad(&["--rounds", "0"])
        );
        assert!(bad(&["--rounds"]).contains("needs a number"));
        Ok(())
    }

    #[test]
    fn lists_noisy_groups() {
        let mut results = BTreeMap::new();
        let noisy = Measured {
            median_ns: 200.0,
            ..measured(100.0, 1, 1)
        };
        results.insert(key("read/none/64B/floor"), noisy);
        results.insert(key("read/none/64B/flatstream"), noisy);
        results.insert(key("read/none/1KiB/floor"), measured(100.0, 1, 1));
        results.insert(key("simple-null/crc16/telemetry/floor"), noisy);
        assert_eq!(
            noisy_groups(&results),
            ["read/none/64B", "simple-null/crc16/telemetry"]
        );
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(si(96_253_000.0), "96.3 M");
        assert_eq!(si(1_234_567_890.0), "1.23 G");
        assert_eq!(si(512.0), "512");
        assert_eq!(times(Some(0.954)), "0.95x");
        assert_eq!(times(None), "—");
    }

    #[test]
    fn collects_only_fresh_results() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        let saved = dir.join("write_none_64B").join("floor").join("new");
        std::fs::create_dir_all(&saved)?;
        let (b, e) = files("write/none/64B/floor", 16, 1024, 10.0);
        std::fs::write(saved.join("benchmark.json"), b.to_string())?;
        std::fs::write(saved.join("estimates.json"), e.to_string())?;
        let all = collect(&dir, "new", None)?;
        assert_eq!(all.len(), 1);
        let later = SystemTime::now() + core::time::Duration::from_secs(3600);
        assert!(collect(&dir, "new", Some(later))?.is_empty());
        assert!(collect(&dir, "main", None)?.is_empty());
        assert!(collect(&dir.join("absent"), "new", None)?.is_empty());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

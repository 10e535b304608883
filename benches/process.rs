//! Whole-process cost of `distlab run N`: start-up, lab parsing, simulation and
//! rendering, as a student pays for it.
//!
//! Run with `cargo build --release && cargo bench --bench process`. Plain
//! `main`, no harness. It times the release binary (under CARGO_TARGET_DIR
//! when that is set), not the bench profile's build, so build it first. Every
//! built-in lab (the first column of `distlab list`) is spawned `RUNS` times
//! with stdout discarded, against a baseline of spawning `/bin/true` as many
//! times in the same run.
//!
//! Target: under 10 ms per lab run. Tune labs also time `distlab check N
//! FILE` on their template (every seed the lab grades over), which should
//! stay well under a second.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 50;
const TARGET_MS: f64 = 10.0;

struct Timing {
    mean: Duration,
    min: Duration,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Spawns `program args` `RUNS` times, output discarded, each run checked
/// for success (or, when `graded`, for exit 1: graded and fell short).
fn time(program: &Path, args: &[&str], graded: bool) -> Timing {
    let mut total = Duration::ZERO;
    let mut min = Duration::MAX;
    for _ in 0..RUNS {
        let started = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", program.display()));
        let took = started.elapsed();
        let ok = status.success() || (graded && status.code() == Some(1));
        assert!(ok, "{} {} failed: {status}", program.display(), args.join(" "));
        total += took;
        min = min.min(took);
    }
    Timing { mean: total / RUNS as u32, min }
}

/// The tune labs: rows of `distlab list` graded by goals.
fn tune_labs(bin: &Path) -> Vec<String> {
    let out = Command::new(bin).arg("list").output().expect("cannot run distlab list");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|line| line.trim_end().ends_with(" goals"))
        .filter_map(|line| line.split_whitespace().next())
        .map(|n| n.trim_start_matches('0').to_string())
        .collect()
}

/// The built-in labs, as the binary lists them: rows of `distlab list` whose
/// first column is a lab number.
fn labs(bin: &Path) -> Vec<String> {
    let out = Command::new(bin).arg("list").output().expect("cannot run distlab list");
    assert!(out.status.success(), "distlab list failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let labs: Vec<String> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|first| !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()))
        .map(|n| n.trim_start_matches('0').to_string())
        .collect();
    assert!(!labs.is_empty(), "distlab list showed no labs:\n{text}");
    labs
}

fn main() {
    // The build's own target directory, as cargo chose it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
    let bin = target.join("release").join("distlab");
    if !bin.exists() {
        println!("process bench: {} is missing.", bin.display());
        println!("Build it first with `cargo build --release`, then run `cargo bench --bench process` again.");
        return;
    }
    let true_bin = Path::new("/bin/true");

    println!("process bench: {}, {RUNS} spawns each, stdout to /dev/null", bin.display());
    println!();
    let base = time(true_bin, &[], false);
    println!("{:<22} mean {:>7.2} ms   min {:>7.2} ms", "/bin/true (baseline)", ms(base.mean), ms(base.min));

    let mut worst: f64 = 0.0;
    for lab in labs(&bin) {
        let t = time(&bin, &["run", &lab], false);
        worst = worst.max(ms(t.mean));
        println!(
            "{:<22} mean {:>7.2} ms   min {:>7.2} ms   mean/baseline {:>5.1}x",
            format!("distlab run {lab}"),
            ms(t.mean),
            ms(t.min),
            ms(t.mean) / ms(base.mean)
        );
    }
    let dir = std::env::temp_dir().join(format!("distlab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create a temporary directory");
    for lab in tune_labs(&bin) {
        let template = Command::new(&bin).args(["run", &lab, "--template"]).output().expect("cannot run distlab");
        let file = dir.join(format!("params-{lab}.toml"));
        std::fs::write(&file, &template.stdout).expect("cannot write the parameter file");
        let file = file.display().to_string();
        let t = time(&bin, &["check", &lab, &file], true);
        println!(
            "{:<22} mean {:>7.2} ms   min {:>7.2} ms   mean/baseline {:>5.1}x",
            format!("distlab check {lab} FILE"),
            ms(t.mean),
            ms(t.min),
            ms(t.mean) / ms(base.mean)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!(
        "worst lab mean {worst:.2} ms: {}",
        if worst < TARGET_MS {
            format!("ok, under the {TARGET_MS} ms target")
        } else {
            format!("MISSED the {TARGET_MS} ms target")
        }
    );
}

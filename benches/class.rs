//! Grading a whole class: `distlab check --submissions` on a generated class
//! of 1,000 students × every built-in lab, 5% of the submissions broken in
//! every way the batch must survive (not TOML, wrong lab, unknown lab,
//! missing, a folder in place of a file, over 1 MiB, binary, a bad key, two
//! files for one lab, another student's id).
//!
//! Run with `cargo build --release && cargo bench --bench class`. Plain
//! `main`, no harness. It times the release binary as a whole process, so
//! build it first. `DISTLAB_CLASS=N` changes the number of students.
//!
//! Target: under 10 s on 2 cores (`--jobs 2`).

#[path = "../tests/common/class.rs"]
mod class;

use class::{generate, Expect};
use distlab::lab::variant::Secret;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;
const TARGET_S: f64 = 10.0;
const SECRET: &str = "bench secret";

fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target = if target.is_relative() { Path::new(env!("CARGO_MANIFEST_DIR")).join(target) } else { target };
    target.join("release").join("distlab")
}

/// Runs a batch `RUNS` times; returns the best and mean wall time, the exit
/// code and the report of the last run (all runs must agree).
fn time(bin: &Path, args: &[String], out: &Path) -> (Duration, Duration, i32, Vec<u8>) {
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let mut last: Option<Vec<u8>> = None;
    let mut code = -1;
    for _ in 0..RUNS {
        let started = Instant::now();
        let status = Command::new(bin)
            .args(args)
            .arg("--output")
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("cannot spawn distlab");
        let took = started.elapsed();
        best = best.min(took);
        total += took;
        code = status.code().unwrap_or(-1);
        let report = std::fs::read(out).expect("no report written");
        if let Some(prev) = &last {
            assert!(prev == &report, "two runs of the same batch gave different reports");
        }
        last = Some(report);
    }
    (best, total / RUNS as u32, code, last.unwrap_or_default())
}

fn main() {
    let bin = binary();
    if !bin.exists() {
        println!("class bench: {} is missing.", bin.display());
        println!("Build it first with `cargo build --release`, then run `cargo bench --bench class` again.");
        return;
    }
    let n: usize = std::env::var("DISTLAB_CLASS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let secret_file = tmp.path().join("secret.txt");
    std::fs::write(&secret_file, SECRET).unwrap();
    let secret = Secret::new(SECRET.as_bytes()).unwrap();

    let started = Instant::now();
    let variants_dir = tmp.path().join("variants");
    let class = generate(&variants_dir, n, 50, true, &secret);
    let seeds_dir = tmp.path().join("seeds");
    generate(&seeds_dir, n, 50, false, &secret);
    let broken = class.expect.values().filter(|e| matches!(e, Expect::Broken(_))).count();
    println!(
        "class bench: {n} students × {} labs = {} submissions, {broken} broken ({:.1}%); generated twice in {:.1} s",
        class.labs.len(),
        class.expect.len(),
        100.0 * broken as f64 / class.expect.len() as f64,
        started.elapsed().as_secs_f64()
    );
    println!("binary {}, {RUNS} runs each, best and mean wall time of the whole process", bin.display());
    println!();

    let out = tmp.path().join("report");
    let mut worst: f64 = 0.0;
    let mut reports: Vec<(String, Vec<u8>)> = Vec::new();
    for (what, dir, variants, jobs, format) in [
        ("variants, --jobs 2, json", &variants_dir, true, "2", "json"),
        ("variants, --jobs 1, json", &variants_dir, true, "1", "json"),
        ("variants, --jobs 2, table", &variants_dir, true, "2", "table"),
        ("variants, --jobs 2, csv", &variants_dir, true, "2", "csv"),
        ("variants, --jobs 2, junit", &variants_dir, true, "2", "junit"),
        ("seeds 1-20, --jobs 2, json", &seeds_dir, false, "2", "json"),
    ] {
        let mut args: Vec<String> =
            ["check", "--submissions"].iter().map(|s| s.to_string()).chain([dir.display().to_string()]).collect();
        if variants {
            args.extend(["--variants".into(), "--secret-file".into(), secret_file.display().to_string()]);
        }
        args.extend(["--jobs".into(), jobs.into(), "--format".into(), format.into()]);
        let (best, mean, code, report) = time(&bin, &args, &out);
        assert_eq!(code, 1, "{what}: broken submissions must give exit 1");
        if jobs == "2" {
            worst = worst.max(best.as_secs_f64());
        }
        println!(
            "{what:<28} best {:>6.3} s   mean {:>6.3} s   report {:>6.1} MB",
            best.as_secs_f64(),
            mean.as_secs_f64(),
            report.len() as f64 / 1e6
        );
        reports.push((what.to_string(), report));
    }
    assert!(reports[0].1 == reports[1].1, "--jobs 1 and --jobs 2 gave different reports");

    // Every good submission graded with its score, every broken one an error.
    let r: serde_json::Value = serde_json::from_slice(&reports[0].1).expect("the JSON report parses");
    let ids: Vec<&str> = r["students"].as_array().unwrap().iter().map(|s| s["student"].as_str().unwrap()).collect();
    assert_eq!(ids, class.students, "every student, sorted");
    let mut checked = 0;
    for s in r["students"].as_array().unwrap() {
        for cell in s["labs"].as_array().unwrap() {
            let key = (s["student"].as_str().unwrap().to_string(), cell["lab"].as_u64().unwrap() as u32);
            match &class.expect[&key] {
                Expect::Graded(score) => assert_eq!(cell["score"].as_f64(), Some(*score), "{key:?}"),
                Expect::Broken(needle) => {
                    assert!(cell["reason"].as_str().unwrap().contains(needle.as_str()), "{key:?}: {cell}")
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, class.expect.len());
    println!();
    println!("every cell checked: {checked} (graded scores exact, broken ones with their reason); reports identical across runs and --jobs");
    println!(
        "slowest --jobs 2 best {worst:.3} s: {}",
        if worst < TARGET_S {
            format!("ok, under the {TARGET_S} s target")
        } else {
            format!("MISSED the {TARGET_S} s target")
        }
    );
}

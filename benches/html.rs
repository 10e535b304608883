//! The HTML report of a very large run: how long rendering takes, how big
//! the file is, and (when Chromium is installed) how long the page takes to
//! open and draw, and how much of the run it draws at first.
//!
//! Run with `cargo bench --bench html`. Plain `main`, no harness. The runs are
//! the built-in labs 01 and 03 with their message and call counts raised far
//! past what a lab file allows (1,000), through the library, so each trace
//! holds over 100,000 events. Every event is kept (`--detail 7`, solved), the
//! worst case. (Lab 02 is left out: at detail 1 its receiver lists every
//! sequence number seen so far on every arrival, which grows with the square
//! of the run and says nothing about rendering.)
//!
//! Targets: render under 1 s, file under 10 MB.

use distlab::lab::{catalog, Injection, Lab};
use distlab::models::{datagram, rpc, ModelConfig};
use distlab::render::html::{run_report, write};
use distlab::render::View;
use distlab::sim::SEC;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;
const TARGET_SECS: f64 = 1.0;
const TARGET_BYTES: usize = 10_000_000;

fn big(lab: &Lab) -> Lab {
    let mut lab = lab.clone();
    lab.duration = 3_600 * SEC;
    lab.model = match &lab.model {
        ModelConfig::Datagram(p) => ModelConfig::Datagram(datagram::Params { messages: 50_000, ..p.clone() }),
        ModelConfig::Rpc(p) => {
            let ops = p.ops.iter().cycle().take(12_000).cloned().collect();
            ModelConfig::Rpc(rpc::Params { ops, ..p.clone() })
        }
        other => other.clone(),
    };
    lab
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DISTLAB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Opens the page in headless Chromium; returns the wall time and the
/// panel's own figures (its first draw in ms, arrows drawn, arrows in all).
fn open(chromium: &Path, page: &Path) -> (Duration, String, String, String) {
    let profile = std::env::temp_dir().join(format!("distlab-bench-profile-{}", std::process::id()));
    let started = Instant::now();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1400,1000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs");
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout);
    let attr = |name: &str| {
        let key = format!("{name}=\"");
        dom.find(&key).map_or("?".to_string(), |i| dom[i + key.len()..].split('"').next().unwrap_or("?").to_string())
    };
    (took, attr("data-draw-ms"), attr("data-drawn-arrows"), attr("data-total-arrows"))
}

fn main() {
    let labs = catalog::all().expect("the built-in labs load");
    let dir = std::env::temp_dir();
    let view = View { solve: true, detail: 7 };
    let browser = chromium();
    println!(
        "| lab | trace events | arrows | simulate | render (best of {RUNS}) | write | file size | render < 1 s | size < 10 MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|");
    let mut pages = Vec::new();
    for lab in labs.iter().filter(|l| l.number == 1 || l.number == 3) {
        let lab = big(lab);
        let started = Instant::now();
        let solved = lab.solve(lab.seed, &Injection::default()).expect("solves");
        let simulate = started.elapsed();
        let events = solved.outcome.trace.len();
        assert!(events >= 100_000, "{}: only {events} events", lab.code());
        let arrows = distlab::render::diagram::picture(&solved.outcome, &solved.scenario, view).arrows.len();
        let mut best = Duration::MAX;
        let mut page = String::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            page = run_report(&lab, &solved, &Injection::default(), view);
            best = best.min(started.elapsed());
        }
        let path = dir.join(format!("distlab-bench-{}.html", lab.code()));
        let started = Instant::now();
        write(&path, &page).expect("writes");
        let wrote = started.elapsed();
        println!(
            "| {} | {events} | {arrows} | {:.0} ms | **{:.0} ms** | {:.0} ms | **{:.2} MB** | {} | {} |",
            lab.code(),
            simulate.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            wrote.as_secs_f64() * 1e3,
            page.len() as f64 / 1e6,
            if best.as_secs_f64() < TARGET_SECS { "met" } else { "NOT MET" },
            if page.len() < TARGET_BYTES { "met" } else { "NOT MET" },
        );
        pages.push(path);
    }
    match browser {
        Some(chromium) => {
            println!("\nOpening each page in headless Chromium (window 1400x1000):\n");
            println!("| page | chromium start to DOM dump | first draw (the page's own timing) | arrows drawn / in the run |");
            println!("|---|---:|---:|---:|");
            for page in &pages {
                let (took, draw, drawn, total) = open(&chromium, page);
                println!(
                    "| {} | {:.2} s | {draw} ms | {drawn} / {total} |",
                    page.file_name().unwrap_or_default().to_string_lossy(),
                    took.as_secs_f64()
                );
            }
        }
        None => println!("\n(chromium not found: the page-opening figures are skipped)"),
    }
    for p in pages.iter().filter(|_| std::env::var_os("DISTLAB_KEEP_PAGES").is_none()) {
        let _ = std::fs::remove_file(p);
    }
}

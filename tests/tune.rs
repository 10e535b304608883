//! Tune labs (lab 09): parameter files graded over many seeds against goals,
//! through the command line as students and autograders meet it, and the
//! measuring underneath.

use assert_cmd::Command;
use distlab::grade::tune::{measure, nearest_rank, run_seeds, SeedRun};
use distlab::lab::resolve_with;
use distlab::lab::tune::{Goal, Metric, TuneSpec};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn params(timeout: &str, backoff: f64, retries: u32) -> String {
    format!("lab = 9\n\n[params]\ntimeout = \"{timeout}\"\nbackoff = {backoff:.1}\nmax_retries = {retries}\n")
}

/// `check 9 FILE --format json`: the exit code and the report.
fn check_json(path: &Path, extra: &[&str]) -> (i32, Json) {
    let out = distlab().args(["check", "9", path.to_str().unwrap(), "--format", "json"]).args(extra).output().unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap())
}

/// (id, measured, passed) for every goal, in order.
fn fared(j: &Json) -> Vec<(String, String, bool)> {
    j["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap().into(), g["measured"].as_str().unwrap().into(), g["passed"] == true))
        .collect()
}

fn goal<'a>(j: &'a Json, id: &str) -> &'a Json {
    j["goals"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = distlab().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn row(ids: &[(&str, &str, bool)]) -> Vec<(String, String, bool)> {
    ids.iter().map(|(i, m, p)| (i.to_string(), m.to_string(), *p)).collect()
}

#[test]
fn a_good_parameter_file_meets_every_goal() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", &params("120ms", 1.0, 6));
    let (code, j) = check_json(&good, &[]);
    assert_eq!(code, 0, "{j:#}");
    assert_eq!(
        fared(&j),
        row(&[
            ("delivered", "1000 of 1000", true),
            ("transmissions", "1399", true),
            ("p99_delivery_time", "407ms", true)
        ])
    );
    assert_eq!((j["score"].as_u64(), j["max_score"].as_u64(), j["passed"].as_bool()), (Some(4), Some(4), Some(true)));
    assert_eq!(j["seeds"], serde_json::json!({"first": 1, "last": 50}));
    assert_eq!(j["params"], serde_json::json!({"timeout": "120ms", "backoff": 1.0, "max_retries": 6}));
    assert!(j["goals"].as_array().unwrap().iter().all(|g| g.get("worst").is_none()));

    let text = stdout(&["check", "9", good.to_str().unwrap()]);
    assert!(text.starts_with("lab 09 tune-retry, "), "{text}");
    assert!(text.contains(": 50 seeds (1 to 50)\nparameters: timeout=120ms backoff=1 max_retries=6\n"), "{text}");
    assert!(text.contains("┆ 1000 of 1000 ┆ ✓ met") && text.contains("score 4/4, every goal met"), "{text}");
    assert!(!text.contains("worst seed"), "{text}");
}

#[test]
fn a_too_short_timeout_fails_the_transmissions_goal() {
    // Shorter than a slow round trip: spurious resends, though with enough
    // retries nothing is lost and recovery is quick.
    let dir = tempfile::tempdir().unwrap();
    let short = write(dir.path(), "short.toml", &params("40ms", 1.5, 10));
    let (code, j) = check_json(&short, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        fared(&j),
        row(&[
            ("delivered", "1000 of 1000", true),
            ("transmissions", "2283", false),
            ("p99_delivery_time", "366ms", true)
        ])
    );
    let g = goal(&j, "transmissions");
    assert_eq!((g["value"].as_u64(), g["limit"].as_u64(), g["points"].as_u64()), (Some(2283), Some(1600), Some(0)));
    assert_eq!(j["score"], 3);

    // The worst seed is the one with the most transmissions, and its command
    // shows exactly that run.
    let worst = &g["worst"];
    let seed = worst["seed"].as_u64().unwrap();
    let n: u64 = worst["what"].as_str().unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(n > 1600 / 50, "{worst}");
    let command = worst["command"].as_str().unwrap();
    assert_eq!(
        command,
        format!(
            "distlab run 9 --set model.timeout=40ms --set model.backoff=1.5 --set model.max_retries=10 --seed {seed}"
        )
    );
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let shown = stdout(&args);
    assert!(shown.contains(&format!("  data transmissions             {n}\n")), "{shown}");
    assert!(shown.starts_with(&format!("lab 09 tune-retry: Tune the retry timer    seed {seed}\n")));
    // No other seed sends more.
    let sets: Vec<String> =
        ["model.timeout=40ms", "model.backoff=1.5", "model.max_retries=10"].map(String::from).into();
    let lab = resolve_with("9", &sets).unwrap();
    let runs = run_seeds(&lab, lab.tune.as_ref().unwrap());
    assert_eq!(runs.len(), 50);
    assert_eq!(runs.iter().map(|r| r.transmissions).sum::<u64>(), 2283);
    for r in &runs {
        assert!(
            r.transmissions < n || (r.transmissions == n && r.seed >= seed),
            "seed {} sends {}",
            r.seed,
            r.transmissions
        );
    }
}

#[test]
fn a_too_long_timeout_fails_the_latency_goal() {
    // Few transmissions, but every loss costs the whole wait.
    let dir = tempfile::tempdir().unwrap();
    let long = write(dir.path(), "long.toml", &params("400ms", 1.0, 6));
    let (code, j) = check_json(&long, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        fared(&j),
        row(&[
            ("delivered", "1000 of 1000", true),
            ("transmissions", "1292", true),
            ("p99_delivery_time", "831ms", false)
        ])
    );
    let g = goal(&j, "p99_delivery_time");
    assert_eq!((g["value"].as_f64(), g["limit"].as_f64(), g["unit"].as_str()), (Some(831.0), Some(500.0), Some("ms")));
    // The worst seed holds the slowest message, and its run shows it.
    let what = g["worst"]["what"].as_str().unwrap();
    let (msg, took) = what.split_once(" took ").unwrap();
    let took_ms: u64 = took.trim_end_matches("ms").parse().unwrap();
    assert!(took_ms >= 831, "{what}");
    let args: Vec<String> = g["worst"]["command"].as_str().unwrap().split(' ').skip(1).map(String::from).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let shown = stdout(&args);
    assert!(shown.contains(&format!("  slowest message                {msg}: {took}\n")), "{shown}");

    let text = stdout_code(&["check", "9", long.to_str().unwrap()], 1);
    assert!(text.contains("The worst seed of each goal not met, and how to watch it:\n  [3] seed "), "{text}");
    assert!(text.contains("score 3/4, not yet: 1 goal not met\n"), "{text}");
}

fn stdout_code(args: &[&str], code: i32) -> String {
    let out = distlab().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn giving_up_too_soon_fails_the_delivery_goal() {
    let dir = tempfile::tempdir().unwrap();
    let impatient = write(dir.path(), "impatient.toml", &params("120ms", 1.0, 3));
    let (code, j) = check_json(&impatient, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        fared(&j),
        row(&[
            ("delivered", "995 of 1000", false),
            ("transmissions", "1366", true),
            ("p99_delivery_time", "407ms", true)
        ])
    );
    assert_eq!(j["score"], 2);
    let worst = &goal(&j, "delivered")["worst"];
    assert!(worst["what"].as_str().unwrap().contains(" of 20 delivered; never: m"), "{worst}");
}

#[test]
fn the_template_holds_the_lab_defaults_and_checks_as_it_stands() {
    let dir = tempfile::tempdir().unwrap();
    let template = stdout(&["run", "9", "--template"]);
    assert!(template.contains("lab = 9\n\n[params]\n"), "{template}");
    assert!(template.contains("\ntimeout = \"40ms\"\n") && template.contains("\nbackoff = 1.0\n"), "{template}");
    assert!(template.contains("\nmax_retries = 3\n"), "{template}");
    assert!(template.contains("a duration in quotes from 10ms to 1s"), "{template}");
    assert!(template.contains("at seeds 1 to 50"), "{template}");
    let path = write(dir.path(), "params.toml", &template);
    let (code, j) = check_json(&path, &[]);
    // The lab's own settings are the bad example: they meet no goal.
    assert_eq!(code, 1);
    assert_eq!(j["score"], 0);
    assert_eq!(j["params"], serde_json::json!({"timeout": "40ms", "backoff": 1.0, "max_retries": 3}));
    // Edited, it passes.
    let tuned =
        template.replace("timeout = \"40ms\"", "timeout = \"120ms\"").replace("max_retries = 3", "max_retries = 6");
    let path = write(dir.path(), "params.toml", &tuned);
    assert_eq!(check_json(&path, &[]).0, 0);
    // A template made under --set starts from those values; only overrides
    // of other keys must be given to check again.
    let t = stdout(&["run", "9", "--set", "model.timeout=90ms", "--set", "network.drop=0.2", "--template"]);
    assert!(t.contains("\ntimeout = \"90ms\"\n"), "{t}");
    assert!(t.contains("# (this lab was changed with --set network.drop=0.2: give check the same)\n"), "{t}");
    // A file may leave a parameter out: the lab's own value stands.
    let path =
        write(dir.path(), "partial.toml", "lab = \"tune-retry\"\n[params]\ntimeout = \"120ms\"\nmax_retries = 6\n");
    let text = stdout(&["check", "9", path.to_str().unwrap()]);
    assert!(text.contains("parameters: timeout=120ms backoff=1 (the lab's own) max_retries=6\n"), "{text}");
}

#[test]
fn check_is_deterministic_and_instructors_can_grade_on_other_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", &params("120ms", 2.0, 6));
    let args = ["check", "9", good.to_str().unwrap()];
    assert_eq!(stdout(&args), stdout(&args));
    let (_, base) = check_json(&good, &[]);
    let (_, other) = check_json(&good, &["--set", "seed=1001", "--set", "tune.seeds=10"]);
    assert_eq!(other["seeds"], serde_json::json!({"first": 1001, "last": 1010}));
    assert_eq!(goal(&other, "delivered")["limit"], 200);
    assert_ne!(goal(&other, "transmissions")["value"], goal(&base, "transmissions")["value"]);
}

#[test]
fn run_shows_the_goals_an_example_run_and_how_to_submit() {
    let q = stdout(&["run", "9"]);
    // Nothing to predict: question mode shows the whole run.
    assert_eq!(q, stdout(&["run", "9", "--solve"]));
    assert!(q.starts_with("lab 09 tune-retry: Tune the retry timer    seed 1\n"));
    assert!(q.contains("model reliable: messages=20 timeout=40ms max_retries=3 backoff=1\n"));
    assert!(q.contains("faults: partition sender | receiver from 400ms to 700ms\n"));
    assert!(q.contains("Goals, graded over seeds 1 to 50 with your parameters\n  [1] (2 pts) every message delivered"));
    assert!(q.contains("at most 1600") && q.contains("at most 500ms"));
    assert!(q.contains("new: deliver m1 to the app") && !q.contains(": ?"));
    assert!(q.contains("  messages delivered             19 of 20 (never: m8)\n"), "{q}");
    assert!(q.contains("distlab run 9 --template > params.toml") && q.contains("distlab check 9 params.toml"));
    // With other settings, the header echoes them and the run changes.
    let tuned = stdout(&["run", "9", "--set", "model.timeout=120ms", "--set", "model.max_retries=6"]);
    assert!(tuned.contains("set: model.timeout=120ms, model.max_retries=6\n"));
    assert!(tuned.contains("  messages delivered             20 of 20\n"), "{tuned}");
    // inject compares what the goals measure.
    let inj = stdout(&["inject", "9", "--drop", "0.3"]);
    assert!(inj.contains("│ # ┆ measure") && inj.contains("data transmissions"), "{inj}");
    assert!(inj.contains("measures changed"), "{inj}");
}

/// Runs a command that must fail on bad input: exit 2, one line on stderr
/// containing every needle, nothing on stdout.
fn bad_input(args: &[&str], needles: &[&str]) {
    let out = distlab().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} exited {:?}: {err}", out.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line:\n{err}");
    assert!(!err.contains("panicked") && out.stdout.is_empty(), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}:\n{err}");
    }
}

#[test]
fn bad_parameter_files_exit_2_with_one_positioned_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |name: &str, text: &str, needles: &[&str]| {
        let p = write(d, name, text);
        bad_input(&["check", "9", p.to_str().unwrap()], needles);
    };
    let good = params("120ms", 1.0, 6);
    check(
        "a.toml",
        &good.replace("timeout =", "timout ="),
        &["a.toml:4:1: unknown key `timout` in [params]; did you mean `timeout`?", "timeout, backoff, max_retries"],
    );
    check(
        "b.toml",
        &good.replace("\"120ms\"", "\"5ms\""),
        &["b.toml:4:11: timeout = 5ms is out of range: use a duration in quotes from 10ms to 1s"],
    );
    check(
        "c.toml",
        &good.replace("backoff = 1.0", "backoff = 9"),
        &["c.toml:5:11:", "backoff = 9 is out of range", "a number from 1 to 4"],
    );
    check(
        "d.toml",
        &good.replace("max_retries = 6", "max_retries = 21"),
        &["d.toml:6:15:", "a whole number from 0 to 20"],
    );
    check(
        "e.toml",
        &good.replace("max_retries = 6", "max_retries = -1"),
        &["e.toml:6:15:", "expected a whole number, 0 or more"],
    );
    check("f.toml", &good.replace("\"120ms\"", "120"), &["f.toml:4:11:", "no unit", "\"120ms\""]);
    check("g.toml", &good.replace("lab = 9", "lab = 2"), &["g.toml:1:7:", "for lab 2, not lab 09-tune-retry"]);
    check("h.toml", "this is = not [toml\n", &["h.toml:1:"]);
    check("i.toml", "lab = 9\n", &["missing [params] table", "--template"]);
    check(
        "j.toml",
        "lab = 9\nseed = 3\n[answers]\n",
        &["j.toml:2:1: unknown key `seed` at the top level", "lab, params"],
    );
    let bin = d.join("bin.toml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    bad_input(&["check", "9", bin.to_str().unwrap()], &["not UTF-8"]);
    bad_input(&["check", "9", "/nonexistent/params.toml"], &["cannot read parameter file"]);
    let p = write(d, "ok.toml", &good);
    bad_input(
        &["check", "9", p.to_str().unwrap(), "--set", "model.timeout=80ms"],
        &["--set model.timeout=80ms: in a tune lab, timeout comes from the parameter file"],
    );
    bad_input(
        &["check", "9", p.to_str().unwrap(), "--set", "tune.seeds=0"],
        &["--set tune.seeds=0", "seeds must be from 1 to 1000"],
    );
}

const LAB: &str = include_str!("../labs/09-tune-retry.toml");

/// Lab 09 with one piece replaced, written to a file: its path.
fn broken_lab(dir: &Path, from: &str, to: &str) -> String {
    assert!(LAB.contains(from), "{from}");
    write(dir, "bad.toml", &LAB.replacen(from, to, 1)).display().to_string()
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn bad_tune_sections_are_positioned_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let at = |needle: &str| format!("bad.toml:{}:", line_of(LAB, needle));
    let lab = broken_lab(d, "metric = \"delivery_time\"", "metric = \"delivery_tme\"");
    bad_input(
        &["run", &lab],
        &[&at("metric = \"delivery_time\""), "unknown metric `delivery_tme`; did you mean `delivery_time`?"],
    );
    let lab = broken_lab(d, "timeout = { min", "timout = { min");
    bad_input(
        &["run", &lab],
        &[&at("timeout = { min"), "unknown key `timout` in [tune.params]; did you mean `timeout`?"],
    );
    let lab = broken_lab(d, "max = 1600", "max = \"1600\"");
    bad_input(&["run", &lab], &[&format!("{}7:", at("max = 1600")), "`max` for transmissions is a whole number"]);
    let lab = broken_lab(d, "percentile = 99", "percentile = 0");
    bad_input(&["run", &lab], &[&at("percentile = 99"), "percentile must be from 1 to 100, not 0"]);
    let lab = broken_lab(d, "seeds = 50", "seeds = 5000");
    bad_input(&["run", &lab], &[&at("seeds = 50"), "seeds must be from 1 to 1000, not 5000"]);
    let lab = broken_lab(d, "min = 1.0, max = 4.0", "min = 1.0, max = 40.0");
    bad_input(&["run", &lab], &[&at("min = 1.0, max = 4.0"), "backoff must be from 1 to 10 for the model"]);
    let lab = broken_lab(d, "min = 0, max = 20", "min = 10, max = 2");
    bad_input(&["run", &lab], &["max_retries's range ends (2) below where it starts (10)"]);
    let lab = broken_lab(d, "timeout = \"40ms\"", "timeout = \"5ms\"");
    bad_input(
        &["run", &lab],
        &[
            &at("timeout = { min"),
            "the lab's own timeout = 5ms (in [model]) must lie in the range it allows, 10ms to 1s",
        ],
    );
    let lab = broken_lab(d, "kind = \"tune\"", "kind = \"predict\"");
    bad_input(&["run", &lab], &["[tune] belongs to labs with kind = \"tune\""]);
    let lab = broken_lab(d, "metric = \"transmissions\"\nmax = 1600", "metric = \"delivered\"\nmax = 1600");
    bad_input(&["run", &lab], &["the `delivered` goal takes no `max`"]);
    let lab = broken_lab(d, "metric = \"transmissions\"\nmax = 1600", "metric = \"delivered\"");
    bad_input(&["run", &lab], &["the goal `delivered` is declared twice"]);
    let lab = broken_lab(d, "[tune]\n", "[[question]]\nid = \"q\"\nask = \"?\"\nkind = \"number\"\nanswer = { fact = \"total_transmissions\" }\n\n[tune]\n");
    bad_input(&["run", &lab], &["a tune lab is graded by its [tune] goals, so it has no [[question]]"]);
    let cut = &LAB[..LAB.find("[tune]").unwrap()];
    let p = write(d, "bare.toml", cut);
    bad_input(&["run", p.to_str().unwrap()], &["bare.toml:4:8: a tune lab needs a [tune] section"]);
    let reliable = "name = \"reliable\"\nmessages = 20\ntimeout = \"40ms\"\nbackoff = 1.0\nmax_retries = 3\n";
    let lab = broken_lab(d, reliable, "name = \"datagram\"\nmessages = 20\ninterval = \"10ms\"\n");
    bad_input(&["run", &lab], &["bad.toml:4:8: a tune lab measures its goals from the facts latency and total_transmissions, which model datagram lacks"]);
}

#[test]
fn a_lab_may_open_only_some_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lab = broken_lab(d, "backoff = { min = 1.0, max = 4.0 }\nmax_retries = { min = 0, max = 20 }\n", "");
    let template = stdout(&["run", &lab, "--template"]);
    assert!(template.contains("timeout = \"40ms\"") && !template.contains("backoff ="), "{template}");
    let p = write(d, "p.toml", &params("120ms", 1.0, 6));
    bad_input(
        &["check", &lab, p.to_str().unwrap()],
        &["p.toml:5:11:", "does not let you set `backoff`; it takes timeout"],
    );
    let p = write(d, "q.toml", "lab = 9\n[params]\ntimeout = \"120ms\"\n");
    let out = distlab().args(["check", &lab, p.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // max_retries stays the lab's 3: an outage can make the sender give up.
    assert!(text.contains("parameters: timeout=120ms\n"), "{text}");
    assert!(text.contains("995 of 1000"), "{text}");
    assert!(text.contains(&format!("distlab run {lab} --set model.timeout=120ms --seed ")), "{text}");
}

fn spec(goals: Vec<Metric>) -> TuneSpec {
    TuneSpec {
        seeds: 3,
        params: Vec::new(),
        goals: goals.into_iter().map(|metric| Goal { metric, points: 1 }).collect(),
    }
}

fn seed_run(seed: u64, transmissions: u64, latency: &[Option<u64>]) -> SeedRun {
    let latency = latency.iter().enumerate().map(|(i, t)| (format!("m{}", i + 1), *t)).collect();
    SeedRun { seed, transmissions, latency }
}

#[test]
fn goals_measure_over_all_seeds_and_name_the_lowest_worst_seed() {
    let runs = [
        seed_run(1, 5, &[Some(10_000), Some(20_000)]),
        seed_run(2, 7, &[Some(30_000), None]),
        seed_run(3, 7, &[Some(90_000), Some(40_000)]),
    ];
    let s = spec(vec![
        Metric::Delivered,
        Metric::Transmissions { max: 18 },
        Metric::DeliveryTime { percentile: 50, max: 30_000 },
        Metric::DeliveryTime { percentile: 99, max: 100_000 },
    ]);
    let r = measure(&s, &runs, &|seed| format!("watch {seed}"));
    let got: Vec<(String, bool, Option<u64>)> =
        r.iter().map(|g| (g.measured.text(), g.passed, g.worst.as_ref().map(|w| w.seed))).collect();
    assert_eq!(
        got,
        [
            ("5 of 6".to_string(), false, Some(2)),
            ("19".to_string(), false, Some(2)), // seeds 2 and 3 tie at 7: the lower wins
            ("30ms".to_string(), true, None),   // rank ⌈0.5 × 6⌉ = 3 of 10, 20, 30, 40, 90, never
            ("never delivered".to_string(), false, Some(2)),
        ]
    );
    let w = r[0].worst.as_ref().unwrap();
    assert_eq!((w.what.as_str(), w.command.as_str()), ("1 of 2 delivered; never: m2", "watch 2"));
    assert_eq!(r[3].worst.as_ref().unwrap().what, "m2 was never delivered");
    // Without the lost message the slowest is seed 3's m1.
    let runs = [runs[0].clone(), runs[2].clone()];
    let r = measure(&spec(vec![Metric::DeliveryTime { percentile: 99, max: 50_000 }]), &runs, &|s| s.to_string());
    assert_eq!(r[0].measured.text(), "90ms");
    assert_eq!(r[0].worst.as_ref().unwrap().what, "m1 took 90ms");
    assert_eq!(nearest_rank(&[Some(5)], 1), Some(Some(5)));
}

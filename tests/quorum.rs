//! Lab 08 over many seeds and faults: stale reads exactly when the quorums
//! need not overlap, failed writes when a partition leaves fewer than W
//! replicas, read repair, and exploration with a reproducer that reproduces.

use assert_cmd::Command;
use distlab::lab::{explore, load_str, resolve_with, FaultDef, Injection, Lab};
use distlab::models::{check, run};
use distlab::questions::{Facts, Value};

const LAB: &str = include_str!("../labs/08-quorum.toml");
const PARTITION: &str =
    "[[fault]]\nat = \"100ms\"\nuntil = \"350ms\"\npartition = [[\"c1\", \"r0\"], [\"c0\", \"r1\", \"r2\"]]\n";

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Lab 08 under `--set` overrides.
fn lab(sets: &[&str]) -> Lab {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    resolve_with("8", &sets).expect("valid overrides")
}

/// Lab 08 without its partition.
fn unpartitioned(sets: &[&str]) -> Lab {
    let mut lab = lab(sets);
    lab.faults.clear();
    lab
}

fn facts(lab: &Lab, seed: u64) -> Facts {
    run(&lab.scenario(seed, &Injection::default())).facts
}

fn count(lab: &Lab, pred: impl Fn(&Facts) -> bool) -> usize {
    (1..=50).filter(|s| pred(&facts(lab, *s))).count()
}

/// Seeds of 1..=50 with a stale read, found by checking the invariant alone
/// (no facts, no re-runs), which is much cheaper.
fn stale_seeds(lab: &Lab) -> usize {
    let mut lab = lab.clone();
    lab.invariants = vec!["reads-latest".into()];
    (1..=50).filter(|s| !check(&lab.scenario(*s, &Injection::default())).is_empty()).count()
}

fn nonempty(v: &Value) -> bool {
    !matches!(v, Value::List(items) if items.is_empty())
}

#[test]
fn overlapping_quorums_never_read_stale_at_50_seeds() {
    for (r, w) in [(2, 2), (1, 3), (3, 1)] {
        let (r, w) = (format!("model.r={r}"), format!("model.w={w}"));
        assert_eq!(stale_seeds(&unpartitioned(&[&r, &w])), 0, "{r} {w}");
        // A partition costs availability, never consistency.
        assert_eq!(stale_seeds(&lab(&[&r, &w])), 0, "{r} {w} with the partition");
    }
    // The partition does bite: with R = 2, c1 (beside r0 alone) cannot read.
    assert!(count(&lab(&["model.r=2"]), |f| nonempty(&f["failed_reads"])) >= 40);
}

#[test]
fn quorums_that_need_not_overlap_read_stale_at_most_seeds() {
    let lab = lab(&[]);
    let stale = stale_seeds(&lab);
    assert!(stale >= 35, "{stale} of 50");
    // Without the partition, missed and late messages alone still do it.
    assert!(stale_seeds(&unpartitioned(&["model.w=1", "model.read_repair=false"])) >= 5);
    // Every stale run needs a larger R, and R + W > N always suffices.
    for seed in 1..=50 {
        let f = facts(&lab, seed);
        let smallest = f["smallest_r_without_stale"].clone();
        let expected = if f["stale_count"] == Value::Int(0) { 1 } else { 2 };
        assert_eq!(smallest, Value::Int(expected), "seed {seed}");
    }
}

#[test]
fn a_partition_leaving_fewer_than_w_replicas_fails_every_write_and_they_still_land() {
    // c0 reaches only r1 and r2 for the whole run.
    let sets = ["fault.0.at=0ms", "fault.0.until=10s", "network.drop=0"];
    let three = lab(&[sets[0], sets[1], sets[2], "model.w=3"]);
    let two = lab(&sets);
    for seed in 1..=20 {
        let f = facts(&three, seed);
        assert_eq!(f["failed_writes"], Value::texts(["w1", "w2", "w3", "w4"]), "seed {seed}");
        assert_eq!(f["acked_writes"], Value::List(vec![]));
        // Failed, yet stored on the two replicas it reached.
        assert_eq!(f["final_values"].to_string(), "r0=0, r1=40, r2=40", "seed {seed}");
        let f = facts(&two, seed);
        assert_eq!(f["failed_writes"], Value::List(vec![]), "seed {seed}: W = 2 replicas are reachable");
    }
}

#[test]
fn read_repair_brings_the_replica_that_missed_writes_up_to_date() {
    let behind = |lab: &Lab| {
        count(lab, |f| {
            let Value::Map(v) = &f["final_versions"] else { panic!("{f:?}") };
            v.values().any(|x| x != &v["r0"])
        })
    };
    let off = lab(&["model.read_repair=false"]);
    let on = lab(&[]);
    assert_eq!(count(&off, |f| f["repairs"] != Value::Int(0)), 0);
    // r0 sat out the partition: without repair it always ends behind.
    assert_eq!(behind(&off), 50);
    let repaired = count(&on, |f| f["repaired"].to_string().contains("r0"));
    assert!(repaired >= 10, "{repaired}");
    let still = behind(&on);
    assert!(still <= 40, "repair should leave r0 level at 10 or more seeds, not {}", 50 - still);
}

#[test]
fn a_random_workload_is_drawn_per_client_and_survives_a_client_crash() {
    let text = LAB.replace(
        "workload = [\"write write write write read\", \"read read read read read\"]",
        "clients = 3\noperations = 4\nread_ratio = 0.5",
    );
    let lab = load_str(&text, "random.toml").expect("a random workload loads");
    assert_eq!(lab.node_names(), ["c0", "c1", "c2", "r0", "r1", "r2"]);
    let mut shapes = std::collections::BTreeSet::new();
    for seed in 1..=10 {
        let f = facts(&lab, seed);
        let (Value::Map(reads), Value::Map(writes)) = (&f["read_values"], &f["write_versions"]) else { panic!() };
        assert_eq!(reads.len() + writes.len(), 12, "seed {seed}");
        shapes.insert(reads.keys().cloned().collect::<Vec<_>>());
        assert_eq!(f, facts(&lab, seed), "deterministic");
    }
    assert!(shapes.len() >= 5, "the workload varies with the seed: {shapes:?}");
    // A client that crashes and restarts goes on with the same operations.
    let crash = Injection {
        faults: vec![FaultDef::Crash { node: 0, at: 30_000 }, FaultDef::Restart { node: 0, at: 90_000 }],
        ..Injection::default()
    };
    let base = facts(&lab, 1);
    let after = run(&lab.scenario(1, &crash)).facts;
    let keys = |f: &Facts| match (&f["read_values"], &f["write_versions"]) {
        (Value::Map(r), Value::Map(w)) => {
            (r.keys().cloned().collect::<Vec<_>>(), w.keys().cloned().collect::<Vec<_>>())
        }
        _ => panic!(),
    };
    assert_eq!(keys(&base), keys(&after));
}

#[test]
fn exploring_quorums_that_need_not_overlap_finds_a_stale_read_and_shrinks_it() {
    let mut lab = unpartitioned(&["network.drop=0"]);
    lab.invariants = vec!["reads-latest".into()];
    assert!(explore::violations(&lab, 2, &[]).is_empty(), "the fault-free run is clean");
    let found = explore::explore(&lab, 2, 1000, |_| {}).found.expect("a schedule that breaks reads-latest");
    assert_eq!(found.violation.invariant, "reads-latest");
    assert!(found.shrunk.len() <= 2 && !found.shrunk.is_empty(), "{:?}", found.shrunk);
    for i in 0..found.shrunk.len() {
        let mut fewer = found.shrunk.clone();
        fewer.remove(i);
        assert!(explore::violations(&lab, 2, &fewer).is_empty(), "fault {i} of {:?} is needed", found.shrunk);
    }
    // With R + W > N the same search finds nothing.
    let mut safe = unpartitioned(&["network.drop=0", "model.r=2"]);
    safe.invariants = vec!["reads-latest".into()];
    assert!(explore::explore(&safe, 2, 1000, |_| {}).found.is_none());
}

#[test]
fn the_printed_reproducer_reproduces_the_stale_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let text = LAB
        .replace(PARTITION, "")
        .replace("[[invariant]]\nname = \"no-failed-write-visible\"\n", "")
        .replace("drop = 0.05", "drop = 0");
    assert!(!text.contains("partition ="), "the partition was removed");
    let path = dir.path().join("q.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let out = distlab().args(["inject", p, "--explore", "1000", "--seed", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let command = text.lines().find(|l| l.starts_with("distlab ")).expect("a reproducer line");
    let broken = text.lines().find(|l| l.contains("which breaks reads-latest")).expect("{text}").trim();
    let (_, detail) = broken.split_once(" at ").unwrap();
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let replayed = String::from_utf8(distlab().args(&args).output().unwrap().stdout).unwrap();
    assert!(replayed.contains(&format!("BROKEN at {detail}")), "{command}\n{replayed}");
}

#[test]
fn exploring_the_lab_starts_without_its_own_partition_and_finds_a_stale_read() {
    // Exploration asks which fault schedules break the system, so it leaves
    // out the lab's own partition; with R + W <= N a little loss is enough.
    let out = distlab().args(["inject", "8", "--explore", "200"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("without the lab's own 1 fault: --set 'fault=[]'"), "{text}");
    let broken = text.lines().find(|l| l.contains("which breaks reads-latest")).expect("{text}").trim();
    let (_, detail) = broken.split_once(" at ").unwrap();
    let command = text.lines().find(|l| l.starts_with("distlab ")).expect("a reproducer line");
    assert!(command.contains("--set 'fault=[]'"), "{command}");
    let replayed = std::process::Command::new("sh")
        .arg("-c")
        .arg(command.replacen("distlab", env!("CARGO_BIN_EXE_distlab"), 1))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let replayed = String::from_utf8(replayed.stdout).unwrap();
    assert!(replayed.contains(&format!("BROKEN at {detail}")), "{command}\n{replayed}");
}

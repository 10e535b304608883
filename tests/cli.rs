//! The command line as users and autograders meet it: outputs, exit codes,
//! and one clear line for every kind of bad input.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn stdout(args: &[&str]) -> String {
    let out = distlab().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail on bad input: exit 2, one line on stderr
/// containing every `needle`, nothing on stdout, no panic.
fn bad_input(args: &[&str], needles: &[&str]) {
    let out = distlab().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} exited {:?}: {err}", out.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}:\n{err}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD_LAB: &str = include_str!("../labs/02-retry.toml");

/// Lab 02 with one line replaced.
fn broken_lab(dir: &Path, from: &str, to: &str) -> String {
    assert!(GOOD_LAB.contains(from), "{from}");
    write(dir, "bad.toml", &GOOD_LAB.replacen(from, to, 1)).display().to_string()
}

#[test]
fn list_names_every_lab() {
    let out = stdout(&["list"]);
    for s in [
        "01",
        "lost-messages",
        "02",
        "retry",
        "03",
        "rpc",
        "04",
        "nfs",
        "05",
        "afs",
        "06",
        "integrity",
        "07",
        "primary-backup",
        "08",
        "quorum",
        "09",
        "tune-retry",
        "predict",
        "tune",
        "6 questions",
    ] {
        assert!(out.contains(s), "{out}");
    }
    let tune = out.lines().find(|l| l.contains("tune-retry")).unwrap_or_default();
    for s in ["09", "Tune the retry timer", "tune", "3 goals"] {
        assert!(tune.contains(s), "{out}");
    }
}

#[test]
fn run_prints_blanks_and_solve_fills_them_in_the_same_layout() {
    let q = stdout(&["run", "2"]);
    let s = stdout(&["run", "2", "--solve"]);
    assert!(q.starts_with("lab 02 retry: Acks, timeouts and retries    seed 1\n"));
    assert!(q.contains("model reliable: messages=6 timeout=60ms max_retries=3"));
    assert!(q.contains("tx_m3: ?\n") && q.contains("gave_up: ?\n"));
    assert!(!s.contains(": ?\n"));
    assert!(s.contains("new: deliver m1 to the app"));
    assert!(!q.contains("new: deliver"), "question mode must not show the receiver's decisions");
    // Same header, intro and column heads.
    let head = |t: &str| t.lines().take_while(|l| !l.contains("──────")).collect::<Vec<_>>().join("\n");
    assert_eq!(head(&q), head(&s));
    assert!(q.contains("    time  sender"));
    // Every line of question mode's timeline appears in solve mode.
    let mut rest = s.lines();
    for line in q.lines().skip_while(|l| !l.contains("time  sender")).take_while(|l| !l.is_empty()) {
        if !line.contains('?') {
            assert!(rest.any(|l| l == line), "solve mode lacks {line:?}");
        }
    }
}

#[test]
fn lab_names_resolve_by_number_padded_number_slug_and_path() {
    let a = stdout(&["run", "2"]);
    assert_eq!(stdout(&["run", "02"]), a);
    assert_eq!(stdout(&["run", "retry"]), a);
    let by_path = stdout(&["run", "labs/02-retry.toml"]);
    assert_eq!(by_path.lines().next(), a.lines().next());
}

#[test]
fn runs_are_byte_identical_and_seeds_differ() {
    for lab in ["1", "2", "3", "4", "5", "6", "7", "8", "9"] {
        assert_eq!(stdout(&["run", lab, "--solve"]), stdout(&["run", lab, "--solve"]));
        assert_eq!(stdout(&["run", lab, "--format", "json"]), stdout(&["run", lab, "--format", "json"]));
        assert_ne!(stdout(&["run", lab, "--solve"]), stdout(&["run", lab, "--solve", "--seed", "2"]));
    }
}

#[test]
fn json_carries_lab_seed_answers_facts_and_trace() {
    let j: serde_json::Value = serde_json::from_str(&stdout(&["run", "3", "--format", "json"])).unwrap();
    assert_eq!(j["lab"], 3);
    assert_eq!(j["slug"], "rpc");
    assert_eq!(j["seed"], 1);
    assert_eq!(j["answers"]["counter"], j["facts"]["final_counter"]);
    assert_eq!(j["answers"]["exec_r2"], j["facts"]["executions"]["r2"]);
    for fact in ["executions", "final_counter", "cached_replies", "client_results", "belief_mismatch"] {
        assert!(j["facts"].get(fact).is_some(), "no fact {fact}");
    }
    let trace = j["trace"].as_array().unwrap();
    assert!(trace.len() > 20);
    assert_eq!(trace[0]["event"], "call");
    assert!(trace.iter().any(|e| e["event"] == "send" && e["fate"] == "dropped"));
    assert!(trace.iter().any(|e| e["event"] == "deliver" && e["to"] == "server"));
    assert!(trace.iter().all(|e| e["time_us"].is_u64()));
}

#[test]
fn detail_levels_reveal_more() {
    let plain = stdout(&["run", "2", "--solve"]);
    let more = stdout(&["run", "2", "--solve", "--detail", "1"]);
    assert!(more.contains("acked: timer cancelled") && !plain.contains("acked: timer cancelled"));
    assert!(more.lines().count() > plain.lines().count());
    bad_input(&["run", "2", "--detail", "9"], &["--detail"]);
    let timers = stdout(&["run", "1", "--solve", "--detail", "2"]);
    assert!(timers.contains("pacing timer") && !plain.contains("pacing timer"));
    assert!(!more.contains("timeout m2") || plain.contains("timeout m2"));
}

/// The template with every blank filled from `run --format json`'s answers;
/// `spoil` names one answer to replace with a wrong one.
fn filled_template(lab: &str, seed: &str, spoil: Option<usize>) -> String {
    let mut text = stdout(&["run", lab, "--template", "--seed", seed]);
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&["run", lab, "--seed", seed, "--format", "json"])).unwrap();
    for (i, (id, v)) in j["answers"].as_object().unwrap().iter().enumerate() {
        let value = match (spoil == Some(i), v) {
            (true, serde_json::Value::Array(_)) => "[\"zz9\"]".to_string(),
            (true, serde_json::Value::Bool(b)) => (!b).to_string(),
            (true, serde_json::Value::Number(n)) => (n.as_f64().unwrap() + 1.0).to_string(),
            (true, _) => "-1".to_string(),
            (false, serde_json::Value::Null) => "\"none\"".to_string(),
            (false, other) => other.to_string(),
        };
        let blank = format!("\n{id} = \"\"\n");
        assert!(text.contains(&blank), "no blank for {id}");
        text = text.replace(&blank, &format!("\n{id} = {value}\n"));
    }
    text
}

#[test]
fn solved_answers_get_full_marks_through_the_cli_at_50_seeds() {
    let dir = tempfile::tempdir().unwrap();
    for lab in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        for seed in 1..=50 {
            let seed = seed.to_string();
            let path = write(dir.path(), "answers.toml", &filled_template(lab, &seed, None));
            let out = distlab().args(["check", lab, path.to_str().unwrap()]).output().unwrap();
            let s = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "lab {lab} seed {seed}:\n{s}");
            assert!(s.contains("full marks"), "{s}");

            // One answer changed (a different one each seed): fewer points, exit 1.
            let k = seed.parse::<usize>().unwrap() % 5;
            let path = write(dir.path(), "spoiled.toml", &filled_template(lab, &seed, Some(k)));
            let out = distlab().args(["check", lab, path.to_str().unwrap(), "--format", "json"]).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "lab {lab} seed {seed}: a wrong answer kept exit 0");
            let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(g["score"].as_f64() < g["max_score"].as_f64());
            assert_eq!(g["seed"].to_string(), seed);
        }
    }
}

#[test]
fn check_reports_in_json_and_a_blank_template_scores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for lab in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        let path = write(dir.path(), "answers.toml", &filled_template(lab, "17", None));
        let json = distlab().args(["check", lab, path.to_str().unwrap(), "--format", "json"]).output().unwrap();
        assert_eq!(json.status.code(), Some(0));
        let g: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(g["score"], g["max_score"]);
        assert_eq!(g["seed"], 17);
        assert!(g["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["correct"] == true && q["max_score"].as_f64() >= Some(1.0)));

        let blank = write(dir.path(), "blank.toml", &stdout(&["run", lab, "--template"]));
        distlab()
            .args(["check", lab, blank.to_str().unwrap()])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("no answer").and(predicate::str::contains("score 0/")));
    }
}

#[test]
fn check_grades_a_wrong_type_as_wrong_without_crashing() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        write(dir.path(), "a.toml", "lab = \"retry\"\nseed = 1\n[answers]\ntx_m3 = [1, 2]\ngave_up = 7\nextra = 1\n");
    let out = distlab().args(["check", "2", p.to_str().unwrap(), "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(g["lab"], 2);
    assert_eq!(g["score"], 0.0);
    let q = &g["questions"][0];
    assert_eq!(q["id"], "tx_m3");
    assert_eq!(q["correct"], false);
    assert!(q["message"].as_str().unwrap().contains("expected a number"));
    assert_eq!(g["ignored_keys"][0], "extra");
}

#[test]
fn check_expected_passes_and_catches_an_edited_file() {
    distlab().args(["check", "--expected"]).assert().code(0).stdout(predicate::str::contains("ok       02-retry"));
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("expected")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let victim = dir.path().join("02-retry.out");
    let text = std::fs::read_to_string(&victim).unwrap();
    std::fs::write(&victim, text.replacen("tx_m3: ", "tx_m3: 99", 1)).unwrap();
    let d = dir.path().to_str().unwrap();
    distlab()
        .args(["check", "--expected", "--expected-dir", d])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DIFFERS  02-retry").and(predicate::str::contains("-      tx_m3: 99")));
    distlab().args(["check", "--expected", "1", "--expected-dir", d]).assert().code(0);
    distlab().args(["check", "--expected", "2", "--expected-dir", d, "--bless"]).assert().code(0);
    distlab().args(["check", "--expected", "--expected-dir", d]).assert().code(0);
}

#[test]
fn inject_drop_changes_lab_2_and_stays_reproducible() {
    let a = stdout(&["inject", "2", "--drop", "0.6"]);
    assert_eq!(a, stdout(&["inject", "2", "--drop", "0.6"]));
    assert!(a.contains("injected: drop 0.6 (all links)"));
    assert!(a.contains("changed"));
    assert!(a.contains("The run with faults:"));
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&["inject", "2", "--drop", "0.6", "--format", "json"])).unwrap();
    assert_ne!(j["fault_free"]["answers"], j["faulted"]["answers"]);
    assert_eq!(
        j["fault_free"]["answers"],
        serde_json::from_str::<serde_json::Value>(&stdout(&["run", "2", "--format", "json"])).unwrap()["answers"]
    );
}

#[test]
fn inject_crash_of_the_rpc_server_shows_a_duplicate_execution() {
    let out = stdout(&["inject", "3", "--crash", "server@140ms"]);
    assert!(out.contains("CRASH"), "{out}");
    assert!(out.contains("duplicate table was in memory: lost"));
    let executions = out.lines().filter(|l| l.contains("execute r4 add(5)")).count();
    assert_eq!(executions, 2, "{out}");
}

#[test]
fn inject_takes_partitions_restarts_and_plan_files() {
    let out = stdout(&["inject", "2", "--partition", "sender/receiver@40ms..200ms"]);
    assert!(out.contains("partition begins: sender | receiver"));
    assert!(out.contains("cut by partition"));
    let out = stdout(&["inject", "3", "--crash", "server@30ms", "--restart", "server@45ms"]);
    assert!(out.contains("restart server at 45ms"));
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", "drop = 0.6\n[[fault]]\nat = \"140ms\"\ncrash = \"server\"\n");
    let out = stdout(&["inject", "3", "--plan", plan.to_str().unwrap()]);
    assert!(out.contains("injected: drop 0.6 (all links); crash server at 140ms"), "{out}");
}

#[test]
fn bad_lab_files_get_one_positioned_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lab = broken_lab(d, "drop = 0.25", "dorp = 0.25");
    bad_input(&["run", &lab], &["bad.toml:34:1: unknown key `dorp` in [network]; did you mean `drop`?"]);
    let lab = broken_lab(d, "timeout = \"60ms\"", "timeout = \"60 msec\"");
    bad_input(&["run", &lab], &["bad.toml:29:11:", "unknown unit `msec`", "40ms"]);
    let lab = broken_lab(d, "timeout = \"60ms\"", "timeout = 60");
    bad_input(&["run", &lab], &["bad.toml:29:11:", "no unit", "\"60ms\""]);
    let lab = broken_lab(d, "drop = 0.25", "drop = 1.5");
    bad_input(&["run", &lab], &["bad.toml:34:8:", "probability 1.5 is out of range", "from 0 to 1"]);
    let lab = broken_lab(d, "[[question]]", "[[fault]]\nat = \"10ms\"\ncrash = \"recever\"\n\n[[question]]");
    bad_input(&["run", &lab], &["bad.toml:39:9:", "no node `recever`", "did you mean `receiver`", "sender, receiver"]);
    let lab = broken_lab(d, "messages = 6", "messages = [6");
    bad_input(&["run", &lab], &["bad.toml:29:1:", "invalid array: expected `]`"]);
    let lab = broken_lab(d, "name = \"reliable\"", "name = \"relaible\"");
    bad_input(&["run", &lab], &["unknown model `relaible`", "did you mean `reliable`"]);
    let lab =
        broken_lab(d, "answer = { fact = \"total_transmissions\" }", "answer = { fact = \"total_transmission\" }");
    bad_input(&["run", &lab], &["no fact `total_transmission`", "did you mean `total_transmissions`"]);
    let lab = broken_lab(d, "kind = \"number\"", "kind = \"integer\"");
    bad_input(&["run", &lab], &["unknown question kind `integer`", "number, text, list, set, yesno"]);
    bad_input(&["run", "/nonexistent/lab.toml"], &["cannot read lab file"]);
}

const AFS_LAB: &str = include_str!("../labs/05-afs.toml");

/// Lab 05 with its model's last line followed by `extra`.
fn afs_lab(dir: &Path, extra: &str) -> String {
    let text = AFS_LAB.replacen("read_ratio = 0.5\n", &format!("read_ratio = 0.5\n{extra}\n"), 1);
    write(dir, "afs.toml", &text).display().to_string()
}

#[test]
fn bad_afs_workloads_get_one_positioned_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let line = AFS_LAB.lines().position(|l| l == "read_ratio = 0.5").unwrap() + 2;
    let at = |col: usize| format!("afs.toml:{line}:{col}:");
    let lab = afs_lab(d, "actions = \"oa1:r1:c1,oa1:q1:c1\"");
    bad_input(&["run", &lab], &[&at(26), "actions: `q1` is not an action", "oa1 opens file a as fd 1"]);
    let lab = afs_lab(d, "actions = \"oa1:r1:c1,ox1:w1:c1\"");
    bad_input(&["run", &lab], &[&at(23), "`ox1` opens file x, which does not exist: the files are a to b"]);
    let lab = afs_lab(d, "actions = \"oa1:r1:c1,oa1:w1:c1\"\nschedule = \"0102\"");
    let next = format!("afs.toml:{}:16:", line + 1);
    bad_input(&["run", &lab], &[&next, "schedule names client 2, but there are only clients 0 to 1"]);
    let lab = afs_lab(d, "schedule = \"01x\"");
    bad_input(&["run", &lab], &[&at(15), "`x` is not a client digit", "\"011100\""]);
    let lab = AFS_LAB.replacen("clients = 3", "clients = 12", 1);
    let lab = write(d, "c.toml", &lab).display().to_string();
    bad_input(&["run", &lab], &["clients must be from 1 to 10, not 12"]);
    let lab = afs_lab(d, "timeout = \"0ms\"");
    bad_input(&["run", &lab], &[&at(11), "timeout must be longer than 0ms"]);
    let lab = afs_lab(d, "revalidate = \"yes\"");
    bad_input(&["run", &lab], &[&at(14), "expected true or false"]);
    let lab = afs_lab(d, "shedule = \"01\"");
    bad_input(&["run", &lab], &[&at(1), "unknown key `shedule` in [model]; did you mean `schedule`?"]);
    bad_input(&["inject", "5", "--crash", "c3@10ms"], &["no node `c3`", "server, c0, c1, c2"]);
}

#[test]
fn lab_5_runs_explicit_workloads_and_reports_reads_and_files_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let text = "number = 50\nslug = \"mine\"\ntitle = \"t\"\nkind = \"predict\"\nseed = 1\nintro = \"i\"\n\n\
                [model]\nname = \"afs\"\nactions = \"oa1:r1:c1,oa1:w1:c1\"\nschedule = \"011100\"\n";
    let lab = write(dir.path(), "mine.toml", text).display().to_string();
    let j: serde_json::Value = serde_json::from_str(&stdout(&["run", &lab, "--format", "json"])).unwrap();
    assert_eq!(j["facts"]["reads"], serde_json::json!([{"step": "s5", "client": "c0", "file": "a", "value": 0}]));
    assert_eq!(j["facts"]["files"], serde_json::json!({"a": 1}));
    assert_eq!(j["facts"]["schedule"], "011100");
    let out = stdout(&["run", &lab]);
    assert!(out.contains("model afs: actions=oa1:r1:c1,oa1:w1:c1 files=1 schedule=011100"), "{out}");
    assert!(out.contains("s5 read a (fd 1) → ?"));

    let j: serde_json::Value = serde_json::from_str(&stdout(&["run", "5", "--format", "json"])).unwrap();
    assert_eq!(j["facts"]["files"], serde_json::json!({"a": 5, "b": 6}));
    assert_eq!(j["answers"]["final_a"], 5);
    assert_eq!(j["facts"]["reads"].as_array().unwrap().len(), 4);
    let out = stdout(&["inject", "5", "--crash", "server@1230ms", "--detail", "2"]);
    assert!(out.contains("callback table lost (epoch 2)"), "{out}");
    assert!(out.contains("s20 open a (fd 2): revalidate") && out.contains("s20 a unchanged: 3"));
}

#[test]
fn bad_answers_files_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = write(d, "a.toml", "this is = not [toml\n");
    bad_input(&["check", "2", p.to_str().unwrap()], &["a.toml:1:"]);
    let p = write(d, "b.toml", "lab = 3\nseed = 1\n[answers]\n");
    bad_input(&["check", "2", p.to_str().unwrap()], &["b.toml:1:7:", "for lab 3, not lab 02-retry"]);
    let p = write(d, "c.toml", "seed = 1\n");
    bad_input(&["check", "2", p.to_str().unwrap()], &["missing key `lab`"]);
    let p = d.join("bin.toml");
    std::fs::write(&p, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    bad_input(&["check", "2", p.to_str().unwrap()], &["not UTF-8"]);
    bad_input(&["check", "2", "/nonexistent/answers.toml"], &["cannot read answers file"]);
    bad_input(&["check", "2"], &["needs a lab and an answers file"]);
}

#[test]
fn bad_labs_flags_and_fault_specs_get_one_line_and_exit_2() {
    bad_input(&["run", "12"], &["lab 12 not found", "01-lost-messages, 02-retry, 03-rpc"]);
    bad_input(&["run", "nope"], &["lab nope not found"]);
    bad_input(&["run"], &["LAB"]);
    bad_input(&["run", "2", "--format", "xml"], &["xml"]);
    bad_input(&["frobnicate"], &["frobnicate"]);
    bad_input(&["inject", "2", "--partition", "a,b/c@10ms..5ms"], &["--partition 'a,b/c@10ms..5ms'", "no node `a`"]);
    bad_input(&["inject", "2", "--partition", "sender/receiver@10ms..5ms"], &["ends before it starts (10ms..5ms)"]);
    bad_input(&["inject", "2", "--partition", "sender-receiver"], &["--partition", "A,B/C@START..END"]);
    bad_input(&["inject", "2", "--drop", "1.5"], &["--drop", "out of range"]);
    bad_input(&["inject", "2", "--drop", "lots"], &["--drop", "not a number"]);
    bad_input(&["inject", "2", "--delay", "5ms"], &["--delay '5ms'", "START..END"]);
    bad_input(&["inject", "3", "--crash", "server"], &["--crash 'server'", "NODE@TIME"]);
    bad_input(&["inject", "3", "--crash", "srv@10ms"], &["no node `srv`", "client, server"]);
    bad_input(&["inject", "3"], &["no fault to inject"]);
    bad_input(&["check", "--bless"], &["--expected"]);
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "p.toml", "[[fault]]\nat = \"1ms\"\ncrash = \"sever\"\n");
    bad_input(&["inject", "3", "--plan", plan.to_str().unwrap()], &["p.toml:3:9:", "did you mean `server`"]);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = stdout(&["--help"]);
    assert!(out.contains("Examples:") && out.contains("Exit status: 0"));
    for cmd in ["run", "inject", "check"] {
        assert!(stdout(&[cmd, "--help"]).contains("Examples:"), "{cmd} --help has no examples");
    }
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} run 2 --solve | head -1", env!("CARGO_BIN_EXE_distlab")))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn set_overrides_are_validated_echoed_and_recorded_for_check() {
    let out = stdout(&["run", "2", "--set", "model.timeout=30ms", "--set", "network.drop=0"]);
    assert!(out.contains("set: model.timeout=30ms, network.drop=0\n"));
    assert!(out.contains("model reliable: messages=6 timeout=30ms"));
    assert!(out.contains("drop 0,"));
    assert!(out.contains("distlab run 2 --set model.timeout=30ms --set network.drop=0 --template"));
    // No loss at all: every message is sent at least once and nothing is lost.
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&["run", "2", "--set", "network.drop=0", "--format", "json"])).unwrap();
    assert_eq!(j["facts"]["gave_up"], serde_json::json!([]));

    // The template records the overrides; check re-runs under them.
    let dir = tempfile::tempdir().unwrap();
    let template = stdout(&["run", "2", "--set", "model.timeout=30ms", "--template"]);
    assert!(template.contains("set = [\"model.timeout=30ms\"]"));
    let solved: serde_json::Value =
        serde_json::from_str(&stdout(&["run", "2", "--set", "model.timeout=30ms", "--format", "json"])).unwrap();
    let plain: serde_json::Value = serde_json::from_str(&stdout(&["run", "2", "--format", "json"])).unwrap();
    assert_ne!(solved["answers"], plain["answers"], "a 30ms timeout should change lab 2's answers");
    let mut text = template;
    for (id, v) in solved["answers"].as_object().unwrap() {
        let v = if v.is_null() { "\"none\"".to_string() } else { v.to_string() };
        text = text.replace(&format!("\n{id} = \"\"\n"), &format!("\n{id} = {v}\n"));
    }
    let path = write(dir.path(), "a.toml", &text);
    distlab().args(["check", "2", path.to_str().unwrap()]).assert().code(0);
    // The same answers against the lab without the override fall short.
    let stripped = write(dir.path(), "b.toml", &text.replace("set = [\"model.timeout=30ms\"]\n", ""));
    distlab().args(["check", "2", stripped.to_str().unwrap()]).assert().code(1);
}

#[test]
fn bad_overrides_get_one_line_and_exit_2() {
    bad_input(&["run", "2", "--set", "model.timout=30ms"], &["--set model.timout=30ms", "did you mean `timeout`"]);
    bad_input(&["run", "2", "--set", "network.drop=1.5"], &["--set network.drop=1.5", "out of range"]);
    bad_input(&["run", "2", "--set", "model.timeout=30"], &["no unit"]);
    bad_input(&["run", "2", "--set", "nonsense"], &["no `=`", "KEY=VALUE"]);
    bad_input(&["run", "2", "--set", "fault.0.at=1ms"], &["`fault` does not exist"]);
    bad_input(&["inject", "3", "--set", "model.semantics=maybe", "--drop", "0.1"], &["unknown semantics `maybe`"]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.toml", "lab = 2\nset = [\"model.messages=0\"]\n[answers]\n");
    bad_input(&["check", "2", p.to_str().unwrap()], &["--set model.messages=0", "messages must be from 1 to 1000"]);
}

#[test]
fn bursts_drop_and_duplicate_inside_their_window_only() {
    let out = stdout(&["inject", "1", "--burst", "1@0ms..35ms"]);
    assert!(out.contains("injected: drop burst 1 from 0ms to 35ms"));
    let lost: Vec<&str> = out.lines().filter(|l| l.contains("──✗ lost")).collect();
    assert!(lost.len() >= 4, "{out}");
    assert!(out.lines().any(|l| l.trim_start().starts_with("40ms") && l.contains("──▶")));
    let dup = stdout(&["inject", "1", "--dup-burst", "1@0ms..80ms", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&dup).unwrap();
    let twice = j["faulted"]["facts"]["duplicated"].as_array().unwrap().len();
    assert!(twice >= 5, "{twice}");
    bad_input(&["inject", "1", "--burst", "2@0ms..5ms"], &["--burst", "out of range"]);
    bad_input(&["inject", "1", "--burst", "0.5"], &["--burst", "P@START..END"]);
}

#[test]
fn a_what_if_question_is_answered_by_the_run_it_names() {
    let base: serde_json::Value = serde_json::from_str(&stdout(&["run", "2", "--format", "json"])).unwrap();
    for seed in ["1", "5", "9"] {
        let j: serde_json::Value =
            serde_json::from_str(&stdout(&["run", "2", "--seed", seed, "--format", "json"])).unwrap();
        let what_if: serde_json::Value = serde_json::from_str(&stdout(&[
            "run",
            "2",
            "--seed",
            seed,
            "--set",
            "model.timeout=30ms",
            "--format",
            "json",
        ]))
        .unwrap();
        assert_eq!(j["answers"]["halved"], what_if["facts"]["total_transmissions"], "seed {seed}");
    }
    assert_ne!(base["answers"]["halved"], base["answers"]["total"]);
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&stdout(args)).unwrap()
}

#[test]
fn integrity_question_mode_leaves_the_checksums_blank() {
    let q = stdout(&["run", "6"]);
    let s = stdout(&["run", "6", "--solve"]);
    let facts = &json(&["run", "6", "--format", "json"])["facts"];
    // The data shows in both modes, in decimal, hex and binary.
    let b0: Vec<u64> = facts["data"]["b0"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let decimal: String = b0.iter().map(|x| format!(" {x:>10}")).collect();
    let hex: String = b0.iter().map(|x| format!(" {:>10}", format!("{x:#04x}"))).collect();
    let bin: String = b0.iter().map(|x| format!(" {:>10}", format!("{x:#010b}"))).collect();
    for text in [&q, &s] {
        assert!(text.contains(&format!("  b0  Decimal:{decimal}\n")), "{text}");
        assert!(text.contains(&format!("      Hex:    {hex}\n")));
        assert!(text.contains(&format!("      Bin:    {bin}\n")));
    }
    // Question mode: every checksum a blank; solve mode: every one filled in.
    assert_eq!(q.matches("Add: ?   Xor: ?\n").count(), 5);
    assert_eq!(q.matches("Fletcher(s1,s2): ?   CRC-32: ?\n").count(), 5);
    for block in ["b0", "b1", "b2", "b3", "b4"] {
        let add = facts["add"][block].as_u64().unwrap();
        let fl = &facts["fletcher"][block];
        let crc = format!("{:#010x}", facts["crc32"][block].as_u64().unwrap());
        let fletcher = format!("{},{} (", fl[0], fl[1]);
        assert!(s.contains(&format!("Add: {add} (")) && s.contains(&fletcher) && s.contains(&crc), "{block}");
        assert!(!q.contains(&fletcher) && !q.contains(&crc), "question mode shows {block}'s checksums");
    }
    // No verdict, returned value or scrub finding leaks into question mode.
    for outcome in ["≠", "returns", "good", "bad", "which is right", "scrub done", "repair b", "arrives"] {
        assert!(!q.contains(outcome), "question mode shows {outcome:?}");
        assert!(s.contains(outcome), "solve mode lacks {outcome:?}");
    }
    assert!(q.contains("send repair ? ──▶") && s.contains("send repair b1 ──▶"));
    // Same layout: question mode has exactly the lines of solve mode minus the outcomes.
    let head = |t: &str| t.lines().take_while(|l| !l.contains("──────")).count();
    assert_eq!(head(&q), head(&s));
}

#[test]
fn integrity_takes_the_homework_data_and_shows_it_as_the_homework_does() {
    let args = ["run", "6", "--solve", "--set", "model.data=216,194,107,66"];
    let out = stdout(&args);
    assert!(out.contains("set: model.data=216,194,107,66\n"));
    assert!(out.contains("data=216,194,107,66 checksum=fletcher"));
    assert!(out.contains("  b0  Decimal:        216        194        107         66\n"), "{out}");
    assert!(out.contains("      Hex:           0xd8       0xc2       0x6b       0x42\n"));
    assert!(out.contains("      Bin:     0b11011000 0b11000010 0b01101011 0b01000010\n"));
    assert!(out.contains("      Add: 71 (0b01000111)   Xor: 51 (0b00110011)\n"));
    assert!(out.contains("      Fletcher(s1,s2): 73,196 (0b01001001,0b11000100)   CRC-32: 0x4e549e94\n"));
    assert!(out.contains("add_b0: 71\n") && out.contains("fletcher_b0: 73, 196\n"));
    let j = json(&["run", "6", "--format", "json", "--set", "model.data=[216, 194, 107, 66]"]);
    assert_eq!(j["facts"]["add"]["b0"], 71);
    assert_eq!(j["facts"]["xor"]["b0"], 51);
    assert_eq!(j["facts"]["fletcher"]["b0"], serde_json::json!([73, 196]));
    assert_eq!(j["facts"]["crc32"]["b0"], 0x4e54_9e94u32);
    assert_eq!(j["answers"]["fletcher_b0"], serde_json::json!([73, 196]));
}

#[test]
fn inject_disk_faults_change_the_integrity_answers() {
    let answers = |args: &[&str]| {
        let j = json(args);
        (j["fault_free"]["answers"].clone(), j["faulted"]["answers"].clone())
    };
    // A latent error on the host's b3: the mirror's b3 is the stale copy its lost write left.
    let (before, after) = answers(&["inject", "6", "--lse", "host:3@50ms", "--format", "json"]);
    assert_eq!(before["returned_wrong"], serde_json::json!(["b4"]));
    assert_eq!(after["returned_wrong"], serde_json::json!(["b3", "b4"]));
    assert_eq!(after["scrub_differ"], serde_json::json!(["b4"]));
    // Another mirror copy goes bad after the reads: the scrubber repairs two.
    let (before, after) = answers(&["inject", "6", "--corrupt", "mirror:0@150ms", "--format", "json"]);
    assert_eq!((before["scrub_repaired"].as_i64(), after["scrub_repaired"].as_i64()), (Some(1), Some(2)));
    // A bit flip where the misdirected write landed: the checksum now fails too.
    let (_, after) = answers(&["inject", "6", "--corrupt", "host:0@50ms", "--format", "json"]);
    assert_eq!(after["b0_rejected_by"], serde_json::json!(["fletcher", "address"]));
    let text = stdout(&["inject", "6", "--corrupt", "host:3@50ms/swap"]);
    assert!(text.contains("injected: byte swap on host block 3 at 50ms"), "{text}");
    assert!(text.contains("changed") && text.contains("⚡ byte swap: bytes"));
}

#[test]
fn bad_integrity_keys_and_disk_faults_get_one_line_and_exit_2() {
    let set = |spec: &str, needles: &[&str]| bad_input(&["run", "6", "--set", spec], needles);
    set("model.data=216,300", &["--set model.data=216,300", "item 2 of data is 300, not a byte", "0 to 255"]);
    set("model.data=216,x", &["item 2 of data, `x`, is not a number"]);
    set("model.data=[]", &["data is empty"]);
    set("model.data=[1.5]", &["item 1 of data is not a whole number"]);
    set("model.data=-1", &["item 1 of data is -1, not a byte"]);
    set(
        "model.data=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21",
        &["data has 21 bytes, but 5 blocks of 4 bytes hold 20"],
    );
    set(
        "model.checksum=fletch",
        &["unknown checksum `fletch`", "did you mean `fletcher`", "none, add, xor, fletcher, crc32"],
    );
    set("model.blocks=0", &["blocks must be from 1 to 64, not 0"]);
    set("model.block_size=65", &["block_size must be from 1 to 64, not 65"]);
    set("model.read_at=5ms", &["read_at (5ms) must come after write_at (10ms)"]);
    set("model.scrub_at=10ms", &["scrub_at (10ms) must come after write_at (10ms)"]);
    set("model.timeout=0ms", &["timeout must be longer than 0ms"]);
    set("model.address=maybe", &["expected true or false"]);
    set("model.adress=false", &["unknown key `adress` in [model]", "did you mean `address`"]);
    set("fault.2.kind=swop", &["unknown corruption kind `swop`", "bitflip, swap, misdirect or lostwrite"]);
    set("fault.0.corrupt=host:5", &["host has blocks 0 to 4; there is no block 5"]);

    let dir = tempfile::tempdir().unwrap();
    let lab = include_str!("../labs/06-integrity.toml");
    let bad = write(dir.path(), "bad6.toml", &lab.replacen("block_size = 4", "block_size = 4\ndata = [216, 300]", 1));
    let line = lab.lines().position(|l| l == "block_size = 4").unwrap() + 2;
    bad_input(&["run", bad.to_str().unwrap()], &[&format!("bad6.toml:{line}:8:"), "item 2 of data is 300"]);
    let bad = write(dir.path(), "bad6.toml", &lab.replacen("checksum = \"fletcher\"", "checksum = \"crc\"", 1));
    bad_input(&["run", bad.to_str().unwrap()], &["bad6.toml:", "unknown checksum `crc`; did you mean `crc32`?"]);

    bad_input(&["inject", "6", "--corrupt", "host:9@50ms"], &["--corrupt 'host:9@50ms'", "host has blocks 0 to 4"]);
    bad_input(&["inject", "6", "--corrupt", "host:1@50ms/melt"], &["unknown corruption `melt`", "swap"]);
    bad_input(&["inject", "6", "--corrupt", "mirror@5ms"], &["`mirror` names no block", "NODE:BLOCK"]);
    bad_input(&["inject", "6", "--lse", "disk:1@5ms"], &["no node `disk`", "host, mirror"]);
    bad_input(&["inject", "3", "--corrupt", "server:1@5ms"], &["no node in this lab has a disk"]);
}

const PB_LAB: &str = include_str!("../labs/07-primary-backup.toml");

/// Lab 07 with one line replaced.
fn broken_pb_lab(dir: &Path, from: &str, to: &str) -> String {
    assert!(PB_LAB.contains(from), "{from}");
    write(dir, "pb.toml", &PB_LAB.replacen(from, to, 1)).display().to_string()
}

#[test]
fn bad_primary_backup_keys_get_one_positioned_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lab = broken_pb_lab(d, "replication = \"async\"", "replication = \"semi\"");
    bad_input(&["run", &lab], &["pb.toml:40:15:", "unknown replication `semi`", "\"sync\" or \"async\""]);
    let lab = broken_pb_lab(d, "view_service = false", "view_servce = false");
    bad_input(&["run", &lab], &["pb.toml:41:1:", "unknown key `view_servce`", "did you mean `view_service`"]);
    let lab = broken_pb_lab(d, "writes = 14", "writes = 0");
    bad_input(&["run", &lab], &["pb.toml:42:10:", "writes must be from 1 to 200, not 0"]);
    let lab = broken_pb_lab(d, "timeout = \"160ms\"", "timeout = \"50ms\"");
    bad_input(&["run", &lab], &["pb.toml:44:11:", "timeout must be longer than the heartbeat (50ms)"]);
    let lab = broken_pb_lab(d, "heartbeat = \"50ms\"", "heartbeat = \"0ms\"");
    bad_input(&["run", &lab], &["pb.toml:43:13:", "heartbeat must be longer than 0ms"]);
    let lab = broken_pb_lab(d, "view_service = false", "view_service = false\nlease = \"100ms\"");
    bad_input(&["run", &lab], &["pb.toml:42:9:", "`lease` comes from the view service"]);
    let lab = broken_pb_lab(d, "view_service = false", "view_service = true\nlease = \"40ms\"");
    bad_input(&["run", &lab], &["pb.toml:42:9:", "lease must be longer than the heartbeat (50ms)"]);
    let lab = broken_pb_lab(d, "[\"300ms\", \"400ms\"]", "[\"300ms\", \"300ms\"]");
    bad_input(&["run", &lab], &["pb.toml:47:24:", "300ms is listed twice in primary_at"]);
    let lab = broken_pb_lab(d, "crash = \"primary\"", "crash = \"primery\"");
    bad_input(&["run", &lab], &["no node `primery`", "did you mean `primary`", "client, primary, backup"]);
    bad_input(
        &["run", "7", "--set", "model.replication=semi"],
        &["--set model.replication=semi", "unknown replication"],
    );
    bad_input(&["run", "7", "--set", "model.lease=80ms"], &["--set model.lease=80ms", "view_service = true"]);
    bad_input(&["inject", "7", "--crash", "view@100ms"], &["no node `view`", "client, primary, backup"]);
}

#[test]
fn lab_7_shows_heartbeats_and_logs_only_at_their_detail_bits() {
    let plain = stdout(&["run", "7", "--solve"]);
    assert!(!plain.contains("heartbeat (") && !plain.contains("log: w1"));
    assert!(plain.contains("send replicate #1: w1"), "replication is the lab's subject: always shown");
    assert!(plain.contains("takes over as primary (epoch 2)"));
    let beats = stdout(&["run", "7", "--solve", "--detail", "2"]);
    assert!(beats.contains("send heartbeat (primary, epoch 1, log #1)") && !beats.contains("log: w1"));
    let logs = stdout(&["run", "7", "--solve", "--detail", "4"]);
    assert!(logs.contains("log: w1 w2") && !logs.contains("heartbeat ("));
    // Question mode never shows a log, whatever the detail.
    assert!(!stdout(&["run", "7", "--detail", "7"]).contains("log: w1"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&["run", "7", "--format", "json"])).unwrap();
    let trace = json["trace"].as_array().unwrap();
    assert!(trace
        .iter()
        .any(|e| e["event"] == "send" && e["level"] == 2 && e["msg"].as_str().unwrap().starts_with("heartbeat")));
    assert!(trace
        .iter()
        .all(|e| e["event"] != "send" || e["msg"].as_str().unwrap().starts_with("heartbeat") == (e["level"] == 2)));
}

#[test]
fn lab_7_view_service_adds_a_node_and_names_views() {
    let out = stdout(&["run", "7", "--solve", "--set", "model.view_service=true"]);
    assert!(out.contains("model primary-backup: replication=async view_service=true"));
    assert!(out.contains("lease=160ms"));
    assert!(out.lines().any(|l| l.trim_start().starts_with("time  client") && l.trim_end().ends_with("view")));
    assert!(out.contains("holds a lease until"));
    assert!(out.contains("silent for") && out.contains("new view 2: primary=backup, backup=none"));
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&["run", "7", "--set", "model.view_service=true", "--format", "json"])).unwrap();
    assert_eq!(j["nodes"], serde_json::json!(["client", "primary", "backup", "view"]));
    assert_eq!(j["facts"]["two_primaries"], false);
    assert!(j["facts"]["views"][0].as_str().unwrap().contains("view 2: primary=backup, backup=none"));
}

const QUORUM_LAB: &str = include_str!("../labs/08-quorum.toml");

/// Lab 08 with one piece replaced.
fn broken_quorum(dir: &Path, from: &str, to: &str) -> String {
    assert!(QUORUM_LAB.contains(from), "{from}");
    write(dir, "bad.toml", &QUORUM_LAB.replacen(from, to, 1)).display().to_string()
}

#[test]
fn bad_quorum_keys_get_one_positioned_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let line = |key: &str| QUORUM_LAB.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let (n, r, w, workload) = (line("n = "), line("r = "), line("w = "), line("workload = "));
    let lab = broken_quorum(d, "r = 1", "r = 4");
    bad_input(&["run", &lab], &[&format!("bad.toml:{r}:5:"), "r must be from 1 to n (3), not 4"]);
    let lab = broken_quorum(d, "w = 2", "w = 0");
    bad_input(&["run", &lab], &[&format!("bad.toml:{w}:5:"), "w must be from 1 to n (3), not 0"]);
    let lab = broken_quorum(d, "n = 3", "n = 12");
    bad_input(&["run", &lab], &[&format!("bad.toml:{n}:5:"), "n (the number of replicas) must be from 1 to 9, not 12"]);
    let lab = broken_quorum(d, "\"read read read read read\"", "\"read raed\"");
    bad_input(
        &["run", &lab],
        &[
            &format!("bad.toml:{workload}:"),
            "unknown operation `raed` for client c1; did you mean `read`?",
            "read or write",
        ],
    );
    let lab = broken_quorum(d, "n = 3", "n = 3\nclients = 2");
    bad_input(
        &["run", &lab],
        &[&format!("bad.toml:{}:11:", n + 1), "either `workload` (scripted) or `clients` and `operations`"],
    );
    let lab =
        broken_quorum(d, "workload = [\"write write write write read\", \"read read read read read\"]", "clients = 2");
    bad_input(&["run", &lab], &[&format!("bad.toml:{workload}:11:"), "a random workload needs `operations` too"]);
    let lab = broken_quorum(d, "workload = [\"write write write write read\", \"read read read read read\"]", "");
    bad_input(&["run", &lab], &["bad.toml: the quorum model needs a workload", "operations"]);
    let lab = broken_quorum(d, "read_repair = true", "read_repiar = true");
    bad_input(&["run", &lab], &["unknown key `read_repiar` in [model]; did you mean `read_repair`?"]);
    let lab = broken_quorum(d, "timeout = \"60ms\"", "timeout = \"0ms\"");
    bad_input(&["run", &lab], &["timeout must be longer than 0ms"]);
    let lab = broken_quorum(d, "[\"c1\", \"r0\"]", "[\"c1\", \"r3\"]");
    bad_input(&["run", &lab], &["no node `r3`", "c0, c1, r0, r1, r2"]);
    bad_input(&["run", "8", "--set", "model.r=5"], &["--set model.r=5", "r must be from 1 to n (3), not 5"]);
    bad_input(&["run", "8", "--set", "model.read_ratio=0.5"], &["`read_ratio` belongs to a random workload"]);
    bad_input(&["inject", "8", "--crash", "r9@10ms"], &["no node `r9`"]);
}

#[test]
fn quorum_detail_bits_show_replicas_timers_and_state() {
    let plain = stdout(&["run", "8", "--solve"]);
    let one = stdout(&["run", "8", "--solve", "--detail", "1"]);
    let two = stdout(&["run", "8", "--solve", "--detail", "2"]);
    let four = stdout(&["run", "8", "--solve", "--detail", "4"]);
    assert!(one.contains("put: store 10 v1.c0 (was 0 v0)") && !plain.contains("put: store"));
    assert!(one.contains("rd6: reply 1/1 (r2)"));
    assert!(two.contains("timeout w2") && !plain.contains("timeout w2") && !one.contains("timeout w2"));
    assert!(four.contains("holds 40 v4.c0") && !one.contains("holds 40"));
    // Question mode hides what the replicas hold and what reads return.
    let q = stdout(&["run", "8", "--detail", "7"]);
    assert!(!q.contains("holds 40") && !q.contains("returns 10") && q.contains("send r0: rd6 = ? +"));
}

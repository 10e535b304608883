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
    for s in ["01", "lost-messages", "02", "retry", "03", "rpc", "predict", "6 questions"] {
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
    for lab in ["1", "2", "3", "9"] {
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
    for lab in ["1", "2", "3"] {
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
    for lab in ["1", "2", "3"] {
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

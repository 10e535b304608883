//! Classroom grading through the command line: student variants, the batch
//! check of a generated class, every report format read back by a real
//! reader, shards merged, the reveal policy and atomic output.

#[path = "common/class.rs"]
mod class;

use assert_cmd::Command;
use class::{generate, Expect, KINDS};
use distlab::lab::catalog;
use distlab::lab::variant::{derive, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SECRET: &str = "correct horse battery staple";

/// distlab with no course secret in its environment.
fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("DISTLAB_SECRET");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Out {
    let o = c.output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

fn secret_file(dir: &Path) -> PathBuf {
    let p = dir.join("secret.txt");
    std::fs::write(&p, format!("{SECRET}\n")).unwrap();
    p
}

/// A student template filled with the answers of `run --format json`.
fn filled(template: &str, answers: &serde_json::Value) -> String {
    let mut text = template.to_string();
    for (id, v) in answers.as_object().unwrap() {
        let value = if v.is_null() { "\"none\"".to_string() } else { v.to_string() };
        let blank = format!("\n{id} = \"\"\n");
        assert!(text.contains(&blank), "no blank for {id}");
        text = text.replace(&blank, &format!("\n{id} = {value}\n"));
    }
    text
}

fn answers_of(args: &[&str], secret: Option<&Path>) -> serde_json::Value {
    let mut c = distlab();
    c.args(args).args(["--format", "json"]);
    if let Some(s) = secret {
        c.arg("--secret-file").arg(s);
    }
    let o = run(&mut c);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    j["answers"].clone()
}

#[test]
fn students_get_their_own_variants_which_check_grades_with_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    let s = secret.to_str().unwrap();
    for lab in catalog::all().unwrap().into_iter().filter(|l| l.kind == distlab::lab::LabKind::Predict) {
        let l = lab.number.to_string();
        let alice = answers_of(&["run", &l, "--student", "alice"], Some(&secret));
        let bob = answers_of(&["run", &l, "--student", "bob"], Some(&secret));
        let sheet_a = run(distlab().args(["run", &l, "--student", "alice", "--secret-file", s]));
        let sheet_b = run(distlab().args(["run", &l, "--student", "bob", "--secret-file", s]));
        assert_ne!(sheet_a.stdout, sheet_b.stdout, "lab {l}: two students got the same sheet");
        assert!(sheet_a.stderr.is_empty(), "no warning with a secret: {}", sheet_a.stderr);

        // Neither the sheet, nor its JSON, nor the template shows the seed.
        let v = derive(&lab, "alice", &Secret::new(SECRET.as_bytes()).unwrap()).unwrap();
        let template = run(distlab().args(["run", &l, "--student", "alice", "--template", "--secret-file", s])).stdout;
        let json =
            run(distlab().args(["run", &l, "--student", "alice", "--format", "json", "--secret-file", s])).stdout;
        for text in [&sheet_a.stdout, &template, &json] {
            assert!(!text.contains(&v.seed.to_string()), "lab {l}: the seed {} is shown", v.seed);
            assert!(text.contains(&v.code), "lab {l}: the variant code {} is not shown", v.code);
        }
        assert!(sheet_a.stdout.lines().next().unwrap().ends_with(&format!("variant {} (student alice)", v.code)));
        assert!(template.contains("\nstudent = \"alice\"\n") && !template.contains("\nseed = "));

        // With the secret, check grades each student's own answers right,
        // and alice's answers on bob's variant wrong.
        let a_file = dir.path().join("alice.toml");
        std::fs::write(&a_file, filled(&template, &alice)).unwrap();
        let ok = run(distlab().args(["check", &l]).arg(&a_file).args(["--secret-file", s]));
        assert_eq!(ok.code, 0, "lab {l}:\n{}{}", ok.stdout, ok.stderr);
        assert!(ok
            .stdout
            .starts_with(&format!("lab {:02} {}, variant {} (student alice)", lab.number, lab.slug, v.code)));
        let bob_template =
            run(distlab().args(["run", &l, "--student", "bob", "--template", "--secret-file", s])).stdout;
        let b_file = dir.path().join("bob.toml");
        std::fs::write(&b_file, filled(&bob_template, &bob)).unwrap();
        assert_eq!(run(distlab().args(["check", &l]).arg(&b_file).args(["--secret-file", s])).code, 0);
        let swapped = dir.path().join("swapped.toml");
        std::fs::write(&swapped, filled(&bob_template, &alice)).unwrap();
        if alice != bob {
            let o = run(distlab().args(["check", &l]).arg(&swapped).args(["--secret-file", s, "--format", "json"]));
            assert_eq!(o.code, 1, "lab {l}: alice's answers passed bob's variant");
        }
        // The secret may come from the environment just as well.
        let env = run(distlab().env("DISTLAB_SECRET", SECRET).args(["check", &l]).arg(&a_file));
        assert_eq!(env.code, 0);
    }
}

#[test]
fn without_the_secret_a_students_own_solve_does_not_reveal_their_graded_answers() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    for lab in catalog::all().unwrap().into_iter().filter(|l| l.kind == distlab::lab::LabKind::Predict) {
        let l = lab.number.to_string();
        for student in ["alice", "bob", "carol"] {
            // What the student can compute: the public derivation.
            let o = run(distlab().args(["run", &l, "--student", student, "--solve"]));
            assert!(o.stderr.contains("warning: no course secret"), "{}", o.stderr);
            let public = answers_of(&["run", &l, "--student", student], None);
            let template = run(distlab().args(["run", &l, "--student", student, "--template"])).stdout;
            let file = dir.path().join(format!("{student}-{l}.toml"));
            std::fs::write(&file, filled(&template, &public)).unwrap();
            // Graded with the course secret, those answers are not the key.
            let g = run(distlab()
                .args(["check", &l])
                .arg(&file)
                .arg("--secret-file")
                .arg(&secret)
                .args(["--format", "json"]));
            assert_eq!(
                g.code, 1,
                "lab {l} {student}: the public variant's answers passed the secret one:\n{}",
                g.stdout
            );
            let j: serde_json::Value = serde_json::from_str(&g.stdout).unwrap();
            assert!(j["score"].as_f64() < j["max_score"].as_f64());
            assert!(j.get("seed").is_none(), "a variant's report shows its seed");
            assert_eq!(j["student"], student);
            // The instructor's variant and the public one differ in seed.
            let s = derive(&lab, student, &Secret::new(SECRET.as_bytes()).unwrap()).unwrap();
            let p = derive(&lab, student, &Secret::public()).unwrap();
            assert_ne!((s.seed, &s.code), (p.seed, &p.code));
        }
    }
}

#[test]
fn reveal_decides_whether_expected_answers_appear() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path());
    // One right answer and one wrong one, at the lab's own seed.
    let own = dir.path().join("own.toml");
    let key = answers_of(&["run", "2"], None);
    let tx = key["tx_m3"].as_i64().unwrap();
    std::fs::write(&own, format!("lab = 2\nseed = 1\n[answers]\ntx_m3 = {tx}\ntotal = 999\n")).unwrap();
    let shown = |extra: &[&str], file: &Path| -> BTreeMap<String, bool> {
        let o = run(distlab()
            .args(["check", "2"])
            .arg(file)
            .args(["--format", "json"])
            .arg("--secret-file")
            .arg(&secret)
            .args(extra));
        let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        j["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["id"].as_str().unwrap().to_string(), q.get("expected").is_some()))
            .collect()
    };
    // A student's own check shows everything by default.
    assert!(shown(&[], &own).values().all(|s| *s));
    assert!(shown(&["--reveal", "never"], &own).values().all(|s| !*s));
    let wrong = shown(&["--reveal", "wrong"], &own);
    assert_eq!((wrong["tx_m3"], wrong["total"]), (false, true));
    // An instructor's variant shows nothing by default, in any format.
    let variant = dir.path().join("variant.toml");
    std::fs::write(&variant, "lab = 2\nstudent = \"dave\"\n[answers]\ntotal = 999\n").unwrap();
    assert!(shown(&[], &variant).values().all(|s| !*s));
    assert!(shown(&["--reveal", "all"], &variant).values().all(|s| *s));
    let expected_total = answers_of(&["run", "2", "--student", "dave"], Some(&secret))["total"].to_string();
    for format in ["table", "csv", "junit", "gradescope"] {
        let o = run(distlab()
            .args(["check", "2"])
            .arg(&variant)
            .arg("--secret-file")
            .arg(&secret)
            .args(["--format", format]));
        assert_eq!(o.code, 1);
        assert!(
            !o.stdout.contains(&format!("expected {expected_total}")) && !o.stdout.contains("right answer"),
            "{format}:\n{}",
            o.stdout
        );
        let o = run(distlab()
            .args(["check", "2"])
            .arg(&variant)
            .arg("--secret-file")
            .arg(&secret)
            .args(["--format", format, "--reveal", "all"]));
        assert!(o.stdout.contains(&expected_total), "{format} with --reveal all lacks {expected_total}:\n{}", o.stdout);
    }
    // --student insists on the student's variant.
    let o = run(distlab().args(["check", "2"]).arg(&own).args(["--student", "dave"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("own.toml:2:8:") && o.stderr.contains("student = \"dave\""), "{}", o.stderr);
    let o = run(distlab().args(["check", "2"]).arg(&variant).args(["--student", "erin"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("this file is for student dave, not erin"), "{}", o.stderr);
}

#[test]
fn gradescope_results_have_its_field_names_and_sum_up() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.toml");
    let key = answers_of(&["run", "3", "--seed", "4"], None);
    std::fs::write(&f, format!("lab = 3\nseed = 4\n[answers]\nexec_r2 = {}\ncounter = -5\n", key["exec_r2"])).unwrap();
    let o = run(distlab().args(["check", "3"]).arg(&f).args(["--format", "gradescope"]));
    assert_eq!(o.code, 1);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let tests = j["tests"].as_array().unwrap();
    assert_eq!(tests.len(), catalog::resolve("3").unwrap().questions.len());
    let sum: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
    assert_eq!(j["score"].as_f64().unwrap(), sum);
    assert!(sum >= 1.0, "exec_r2 was right");
    for t in tests {
        for k in ["name", "score", "max_score", "status", "output", "visibility"] {
            assert!(t.get(k).is_some(), "a test lacks {k}: {t}");
        }
        let passed = t["score"] == t["max_score"];
        assert_eq!(t["status"], if passed { "passed" } else { "failed" });
        assert_eq!(t["visibility"], "visible");
    }
    assert_eq!(tests[0]["status"], "passed");
    // A submission that cannot be graded still gets a results.json saying why.
    std::fs::write(&f, "lab = 3\nseed = [\n").unwrap();
    let out = dir.path().join("results.json");
    let o = run(distlab().args(["check", "3"]).arg(&f).args(["--format", "gradescope", "--output"]).arg(&out));
    assert_eq!(o.code, 2);
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j["score"], 0.0);
    assert!(j["output"].as_str().unwrap().contains("a.toml:3:1: invalid array"), "{j}");
    assert_eq!(j["tests"].as_array().unwrap().len(), 0);
}

/// Grades a class folder; returns exit code, stdout and stderr.
fn batch(dir: &Path, extra: &[&str]) -> Out {
    run(distlab().arg("check").arg("--submissions").arg(dir).args(extra))
}

fn secret_args(dir: &Path) -> Vec<String> {
    vec!["--variants".into(), "--secret-file".into(), secret_file(dir).display().to_string()]
}

#[test]
fn a_generated_class_with_broken_submissions_is_graded_exactly_and_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    let secret = Secret::new(SECRET.as_bytes()).unwrap();
    // 60 students × every lab, 10% broken so that every kind appears.
    let class = generate(&dir, 60, 100, true, &secret);
    let broken = class.expect.values().filter(|e| matches!(e, Expect::Broken(_))).count();
    assert!(broken >= KINDS.len(), "only {broken} broken cells");
    let args: Vec<String> = secret_args(tmp.path()).into_iter().chain(["--format".into(), "json".into()]).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let one = batch(&dir, &[&args[..], &["--jobs", "1"]].concat());
    assert_eq!(one.code, 1, "broken submissions mean exit 1: {}", one.stderr);
    assert!(!one.stderr.contains("warning"), "{}", one.stderr);
    let three = batch(&dir, &[&args[..], &["--jobs", "3"]].concat());
    assert_eq!(one.stdout, three.stdout, "the report depends on --jobs");
    assert_eq!(one.stdout, batch(&dir, &args).stdout, "two runs differ");

    let r: serde_json::Value = serde_json::from_str(&one.stdout).unwrap();
    let students = r["students"].as_array().unwrap();
    assert_eq!(students.len(), 60);
    let ids: Vec<&str> = students.iter().map(|s| s["student"].as_str().unwrap()).collect();
    assert_eq!(ids, class.students, "not every student, sorted");
    let mut seen_kinds = 0;
    for s in students {
        let id = s["student"].as_str().unwrap();
        let mut total = 0.0;
        for cell in s["labs"].as_array().unwrap() {
            let lab = cell["lab"].as_u64().unwrap() as u32;
            match &class.expect[&(id.to_string(), lab)] {
                Expect::Graded(score) => {
                    assert_eq!(cell["status"], "graded", "{id} lab {lab}: {cell}");
                    assert_eq!(cell["score"].as_f64().unwrap(), *score, "{id} lab {lab}");
                    assert_eq!(cell["variant"], derive(&class.labs[(lab - 1) as usize], id, &secret).unwrap().code);
                    assert!(cell.get("seed").is_none(), "a variant's seed is in the report");
                    assert!(cell["questions"].as_array().unwrap().iter().all(|q| q.get("expected").is_none()));
                    total += score;
                }
                Expect::Broken(needle) => {
                    seen_kinds += 1;
                    assert_ne!(cell["status"], "graded", "{id} lab {lab} was graded");
                    let reason = cell["reason"].as_str().unwrap();
                    assert!(reason.contains(needle.as_str()), "{id} lab {lab}: {reason:?} lacks {needle:?}");
                }
            }
        }
        assert_eq!(s["score"].as_f64().unwrap(), total, "{id}");
        assert!(s.get("other_problems").is_none(), "{id}: {s}");
    }
    assert_eq!(seen_kinds, broken);
    assert_eq!(r["summary"]["could_not_grade"], broken);
    assert_eq!(r["summary"]["graded"], 60 * class.labs.len() - broken);

    // The table says the same, with every reason.
    let table = batch(&dir, &secret_args(tmp.path()).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(table.code, 1);
    let last = table.stdout.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "60 students, {} submissions: {} graded, {broken} could not be graded (exit 1)",
            60 * class.labs.len(),
            60 * class.labs.len() - broken
        )
    );
    assert_eq!(table.stdout.matches("┆ error ").count() + table.stdout.matches("┆ missing ").count(), broken);
}

#[test]
fn a_class_graded_by_seed_shares_runs_and_grades_right() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    let class = generate(&dir, 25, 0, false, &Secret::public());
    let o = batch(&dir, &["--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    for s in r["students"].as_array().unwrap() {
        for cell in s["labs"].as_array().unwrap() {
            let key = (s["student"].as_str().unwrap().to_string(), cell["lab"].as_u64().unwrap() as u32);
            assert_eq!(Expect::Graded(cell["score"].as_f64().unwrap()), class.expect[&key]);
            assert!(cell["seed"].as_u64().unwrap() <= 20);
        }
    }
    // With --variants, a file naming a seed is an error cell.
    let args = secret_args(tmp.path());
    let v = batch(&dir, &[&args.iter().map(String::as_str).collect::<Vec<_>>()[..], &["--format", "json"]].concat());
    assert_eq!(v.code, 1);
    let r: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(r["summary"]["graded"], 0);
    let reason = r["students"][0]["labs"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("s0001/01-lost-messages.toml:2:8: names seed "), "{reason}");
    assert!(
        reason.ends_with("this class is graded by student variant: write student = \"s0001\" in its place"),
        "{reason}"
    );
}

#[test]
fn csv_and_junit_reports_read_back_with_real_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    let secret = Secret::new(SECRET.as_bytes()).unwrap();
    let class = generate(&dir, 30, 100, true, &secret);
    let args = secret_args(tmp.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let csv_out = batch(&dir, &[&args[..], &["--format", "csv"]].concat());
    assert_eq!(csv_out.code, 1);
    let mut rd = csv::Reader::from_reader(csv_out.stdout.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let mut want = vec!["student".to_string()];
    want.extend(class.labs.iter().map(|l| l.code()));
    want.push("total".into());
    assert_eq!(header, want);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30);
    for row in &rows {
        let id = &row[0];
        let mut total = 0.0;
        for (i, lab) in class.labs.iter().enumerate() {
            match &class.expect[&(id.to_string(), lab.number)] {
                Expect::Graded(s) => {
                    assert_eq!(row[i + 1].parse::<f64>().unwrap(), *s, "{id} {}", lab.code());
                    total += s;
                }
                Expect::Broken(_) => assert!(["error", "missing"].contains(&&row[i + 1]), "{id}: {:?}", &row[i + 1]),
            }
        }
        assert_eq!(row[class.labs.len() + 1].parse::<f64>().unwrap(), total);
    }

    let xml = batch(&dir, &[&args[..], &["--format", "junit", "--reveal", "all"]].concat());
    let doc = roxmltree::Document::parse(&xml.stdout).expect("JUnit output is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let attr =
        |n: roxmltree::Node, a: &str| -> usize { n.attribute(a).unwrap_or_else(|| panic!("no {a}")).parse().unwrap() };
    let suites: Vec<roxmltree::Node> = root.children().filter(|n| n.is_element()).collect();
    assert!(suites.iter().all(|s| s.tag_name().name() == "testsuite"));
    assert_eq!(suites.len(), 30 * class.labs.len());
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for s in &suites {
        assert!(s.attribute("name").is_some());
        let cases: Vec<roxmltree::Node> = s.children().filter(|n| n.has_tag_name("testcase")).collect();
        assert_eq!(attr(*s, "tests"), cases.len());
        let f = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count();
        let e = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("error"))).count();
        assert_eq!((attr(*s, "failures"), attr(*s, "errors")), (f, e));
        for c in &cases {
            assert!(c.attribute("name").is_some() && c.attribute("classname").is_some());
            for n in c.children().filter(|n| n.has_tag_name("failure") || n.has_tag_name("error")) {
                assert!(n.attribute("message").is_some() && n.attribute("type").is_some());
            }
        }
        (tests, failures, errors) = (tests + cases.len(), failures + f, errors + e);
    }
    assert_eq!((attr(root, "tests"), attr(root, "failures"), attr(root, "errors")), (tests, failures, errors));
    let broken = class.expect.values().filter(|e| matches!(e, Expect::Broken(_))).count();
    assert_eq!(errors, broken);
    assert!(failures > 0 && xml.stdout.contains("expected "), "--reveal all puts expected answers in failures");
    // Without --reveal, a class report keeps expected answers out.
    let hidden = batch(&dir, &[&args[..], &["--format", "junit"]].concat());
    assert!(!hidden.stdout.contains("expected:") && !hidden.stdout.contains("; expected "));
}

#[test]
fn shards_merged_equal_the_unsharded_report_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    generate(&dir, 23, 100, true, &Secret::new(SECRET.as_bytes()).unwrap());
    let args = secret_args(tmp.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut parts = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let p = tmp.path().join(format!("part{k}.json"));
        let o = batch(
            &dir,
            &[&args[..], &["--shard", &format!("{k}/3"), "--format", "json", "--output", p.to_str().unwrap()]].concat(),
        );
        assert!(o.stdout.is_empty(), "--output leaves stdout empty");
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        sizes.push(j["students"].as_array().unwrap().len());
        parts.push(p);
    }
    assert_eq!(sizes, [8, 8, 7]);
    for format in ["json", "table", "csv", "junit"] {
        let whole = batch(&dir, &[&args[..], &["--format", format]].concat());
        let merged = run(distlab().args(["check", "--format", format, "--merge"]).args(&parts));
        assert_eq!(merged.stdout, whole.stdout, "{format}: merged shards differ from the whole");
        assert_eq!((merged.code, whole.code), (1, 1));
    }
    // Shards in any order, and --reveal no more than they were made with.
    let mut rev = parts.clone();
    rev.reverse();
    let a = run(distlab().args(["check", "--merge"]).args(&rev));
    let b = run(distlab().args(["check", "--merge"]).args(&parts));
    assert_eq!(a.stdout, b.stdout);
    let o = run(distlab().args(["check", "--reveal", "all", "--merge"]).args(&parts));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--reveal never"), "{}", o.stderr);
    let o = run(distlab().args(["check", "--merge"]).args(&parts[..2]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("shard 3/3 is missing"), "{}", o.stderr);
    let o = run(distlab().args(["check", "--merge"]).arg(&parts[0]).arg(&parts[0]).arg(&parts[1]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("given twice"), "{}", o.stderr);
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"a report\"}").unwrap();
    let o = run(distlab().args(["check", "--merge"]).arg(&junk));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("junk.json: not a class report"), "{}", o.stderr);
}

#[test]
fn output_is_written_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    generate(&dir, 5, 0, false, &Secret::public());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let report = out_dir.join("grades.csv");
    std::fs::write(&report, "old report\n").unwrap();
    let o = batch(&dir, &["--format", "csv", "--output", report.to_str().unwrap()]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("wrote ") && o.stderr.contains("5 students"), "{}", o.stderr);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("student,01-") && text.lines().count() == 6, "{text}");
    let left: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["grades.csv"], "a temporary file was left behind");
    // A folder that cannot be written to: an error, and the old report stays.
    let o = batch(&dir, &["--output", out_dir.join("no/such/dir.csv").to_str().unwrap()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot write"), "{}", o.stderr);
}

#[test]
fn odd_folders_and_files_are_reported_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    generate(&dir, 3, 0, false, &Secret::public());
    std::fs::write(dir.join("README.txt"), "not a student").unwrap();
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join("s0001/notes.txt"), "my notes").unwrap();
    std::fs::write(dir.join("s0002/.DS_Store"), [0u8, 1, 2]).unwrap();
    #[cfg(unix)]
    {
        // A FIFO must not hang the batch.
        let fifo = dir.join("s0003/fifo.toml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    }
    let o = batch(&dir, &["--format", "json"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("README.txt: not a student folder; skipped"), "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let problems = |i: usize| r["students"][i]["other_problems"].clone();
    assert!(problems(0)[0]["reason"].as_str().unwrap().contains("s0001/notes.txt:1:"), "{}", problems(0));
    assert!(problems(1).is_null(), "hidden files are skipped");
    #[cfg(unix)]
    assert!(problems(2)[0]["reason"].as_str().unwrap().contains("not a regular file"), "{}", problems(2));
    let predict = catalog::all().unwrap().into_iter().filter(|l| l.tune.is_none()).count();
    assert_eq!(r["summary"]["graded"], 3 * predict);
}

#[test]
fn batch_usage_errors_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("class");
    generate(&dir, 2, 0, false, &Secret::public());
    let d = dir.to_str().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (args, needle) in [
        (vec!["--submissions", d, "--shard", "0/3"], "K runs from 1 to N"),
        (vec!["--submissions", d, "--shard", "4/3"], "shard 4/3 does not exist"),
        (vec!["--submissions", d, "--shard", "two"], "K/N"),
        (vec!["--submissions", d, "--jobs", "0"], "number of threads"),
        (vec!["--submissions", d, "--format", "gradescope"], "one submission"),
        (vec!["--submissions", d, "--labs", "1,99"], "lab 99 not found"),
        (vec!["--submissions", d, "--labs", "1,01"], "names lab 01 twice"),
        (vec!["--submissions", "/no/such/class"], "cannot read the submissions folder"),
        (vec!["--submissions", empty.to_str().unwrap()], "no student folders"),
        (vec!["2", "--submissions", d], "takes no lab"),
        (vec!["--shard", "1/2"], "--submissions"),
    ] {
        let o = run(distlab().arg("check").args(&args));
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert_eq!(o.stderr.trim_end().lines().count(), 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{args:?}: {} lacks {needle}", o.stderr);
        assert!(o.stdout.is_empty());
    }
    // --labs picks the columns; other labs' files are left alone.
    let o = batch(&dir, &["--labs", "2,retry", "--format", "csv"]);
    assert_eq!(o.code, 2, "2 and retry are the same lab");
    let o = batch(&dir, &["--labs", "3,1", "--format", "csv"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("student,01-lost-messages,03-rpc,total\n"), "{}", o.stdout);
}

#[test]
fn a_tune_labs_parameter_files_are_graded_by_their_goals_in_a_class() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    let template = String::from_utf8(
        Command::cargo_bin("distlab").unwrap().args(["run", "9", "--template"]).output().unwrap().stdout,
    )
    .unwrap();
    let good = template
        .lines()
        .map(|l| match l.split_once(" = ").map(|(k, _)| k) {
            Some("timeout") => "timeout = \"120ms\"".to_string(),
            Some("backoff") => "backoff = 1.0".to_string(),
            Some("max_retries") => "max_retries = 6".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    for (student, text) in
        [("ann", good.as_str()), ("ben", template.as_str()), ("cat", "lab = 9\n[params]\ntimout = \"1s\"\n")]
    {
        std::fs::create_dir_all(class.join(student)).unwrap();
        std::fs::write(class.join(student).join("09-tune-retry.toml"), text).unwrap();
    }
    let out = Command::cargo_bin("distlab")
        .unwrap()
        .args(["check", "--submissions", class.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "cat's file cannot be graded");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = r.to_string();
    assert!(text.contains("did you mean `timeout`"), "{text}");
    let cell = |who: &str| -> serde_json::Value {
        let s = r["students"].as_array().unwrap().iter().find(|s| s["student"] == who).unwrap().clone();
        s["labs"][0].clone()
    };
    assert_eq!(cell("ann")["score"], 4.0, "{text}");
    assert_eq!(cell("ann")["max_score"], 4.0);
    assert_eq!(cell("ben")["score"], 0.0, "the lab's own poor settings meet no goal");
}

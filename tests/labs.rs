//! Every built-in lab: golden output, round trips over many seeds, and the
//! determinism the whole product rests on.

use distlab::cli::check::solved_sheet;
use distlab::grade::{grade, template, AnswersFile};
use distlab::lab::{catalog, FaultDef, Injection, Lab, LabKind};
use distlab::questions::{Kind, Value};

fn labs() -> Vec<Lab> {
    catalog::all().expect("every built-in lab loads")
}

/// The labs graded by questions; tune labs are graded by goals (tests/tune.rs).
fn predict_labs() -> Vec<Lab> {
    labs().into_iter().filter(|l| l.kind == LabKind::Predict).collect()
}

/// The template with every blank filled in from `answers`.
fn filled(lab: &Lab, seed: u64, answers: &[(String, toml::Value)]) -> String {
    let mut text = template(lab, seed);
    for (id, v) in answers {
        let blank = format!("\n{id} = \"\"\n");
        assert!(text.contains(&blank), "template lacks a blank for {id}");
        text = text.replace(&blank, &format!("\n{id} = {v}\n"));
    }
    text
}

fn solved_answers(lab: &Lab, seed: u64) -> Vec<(String, toml::Value)> {
    let solved = lab.solve(seed, &Injection::default()).expect("lab solves");
    solved.answers.iter().map(|(q, v)| (q.id.clone(), v.to_toml())).collect()
}

/// A value that is certainly wrong for a question.
fn wrong(kind: Kind, v: &toml::Value) -> toml::Value {
    match (kind, v) {
        (Kind::Number { tolerance }, toml::Value::Integer(i)) => toml::Value::Integer(i + 1 + tolerance as i64),
        (Kind::Number { tolerance }, toml::Value::Float(f)) => toml::Value::Float(f + 1.0 + tolerance),
        (Kind::Number { .. }, _) => toml::Value::Integer(-1),
        (Kind::YesNo, toml::Value::Boolean(b)) => toml::Value::Boolean(!b),
        (Kind::List | Kind::Set, toml::Value::Array(a)) => {
            let mut a = a.clone();
            a.push(toml::Value::String("zz99".into()));
            toml::Value::Array(a)
        }
        _ => toml::Value::String("certainly not this".into()),
    }
}

#[test]
fn the_catalogue_has_its_labs_with_enough_questions_or_goals() {
    let labs = labs();
    let codes: Vec<String> = labs.iter().map(|l| l.code()).collect();
    assert_eq!(codes, ["01-lost-messages", "02-retry", "03-rpc", "09-tune-retry"]);
    let kinds: Vec<LabKind> = labs.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, [LabKind::Predict, LabKind::Predict, LabKind::Predict, LabKind::Tune]);
    let nodes: Vec<Vec<String>> = labs.iter().map(|l| l.node_names()).collect();
    assert_eq!(nodes[0], ["sender", "receiver"]);
    assert_eq!(nodes[1], ["sender", "receiver"]);
    assert_eq!(nodes[2], ["client", "server"]);
    assert_eq!(nodes[3], ["sender", "receiver"]);
    for lab in &labs {
        assert!(lab.intro.len() > 400, "{} needs an intro that teaches", lab.code());
        match (&lab.tune, lab.kind) {
            (None, LabKind::Predict) => {
                assert!(lab.questions.len() >= 5, "{} has {} questions", lab.code(), lab.questions.len())
            }
            (Some(t), LabKind::Tune) => {
                assert!(lab.questions.is_empty(), "{}: a tune lab is graded by goals", lab.code());
                assert!(t.goals.len() >= 3 && t.max_points() >= 3, "{} has {} goals", lab.code(), t.goals.len());
            }
            _ => panic!("{}: kind {} and [tune] disagree", lab.code(), lab.kind),
        }
    }
}

#[test]
fn golden_solved_output_matches_expected() {
    for lab in labs() {
        let path = format!("{}/expected/{}.out", env!("CARGO_MANIFEST_DIR"), lab.code());
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let got = solved_sheet(&lab).expect("solves");
        assert!(want == got, "{} differs from {path}; run `cargo run -- check --expected` to see the diff", lab.code());
    }
}

#[test]
fn solved_answers_score_full_marks_at_50_seeds_and_one_wrong_answer_loses_points() {
    for lab in predict_labs() {
        for seed in 1..=50 {
            let answers = solved_answers(&lab, seed);
            let text = filled(&lab, seed, &answers);
            let file = AnswersFile::parse(&text, "answers.toml").expect("filled template parses");
            file.check_lab(&lab).expect("template names its lab");
            let g = grade(&lab, &file).expect("grades");
            assert!(g.full_marks(), "{} seed {seed}: {:?}", lab.code(), g.questions);
            assert_eq!(g.score(), g.max_score());
            assert!(g.max_score() >= 5.0);

            // Change one answer (a different one each seed): fewer points.
            let k = seed as usize % answers.len();
            let mut changed = answers.clone();
            changed[k].1 = wrong(lab.questions[k].kind, &answers[k].1);
            let file = AnswersFile::parse(&filled(&lab, seed, &changed), "answers.toml").expect("parses");
            let g = grade(&lab, &file).expect("grades");
            assert!(!g.full_marks(), "{} seed {seed}: changing {} kept full marks", lab.code(), changed[k].0);
            assert!(g.score() < g.max_score());
            assert!(!g.questions[k].verdict.correct);
        }
    }
}

#[test]
fn a_blank_template_scores_nothing() {
    for lab in predict_labs() {
        let file = AnswersFile::parse(&template(&lab, lab.seed), "answers.toml").expect("template parses");
        let g = grade(&lab, &file).expect("grades");
        assert_eq!(g.score(), 0.0, "{}", lab.code());
        assert!(g.questions.iter().all(|q| q.verdict.message.as_deref() == Some("no answer")));
    }
}

#[test]
fn the_same_seed_gives_identical_runs_and_another_seed_a_different_one() {
    for lab in labs() {
        let a = lab.solve(lab.seed, &Injection::default()).unwrap();
        let b = lab.solve(lab.seed, &Injection::default()).unwrap();
        assert_eq!(a.answers, b.answers);
        assert_eq!(a.outcome.facts, b.outcome.facts);
        assert_eq!(format!("{:?}", a.outcome.trace), format!("{:?}", b.outcome.trace));
        let c = lab.solve(lab.seed + 1, &Injection::default()).unwrap();
        assert_ne!(a.outcome.facts, c.outcome.facts, "{}: seeds 1 and 2 give the same facts", lab.code());
        if lab.kind == LabKind::Predict {
            assert_ne!(a.answers, c.answers, "{}: seeds 1 and 2 give the same answers", lab.code());
        }
        assert_ne!(format!("{:?}", a.outcome.trace), format!("{:?}", c.outcome.trace));
    }
}

#[test]
fn faults_bite_at_most_seeds() {
    // The labs promise interesting runs: count seeds where the fault shows.
    let labs = labs();
    let count = |lab: &Lab, fact: &str| {
        (1..=50)
            .filter(|s| {
                let f = lab.solve(*s, &Injection::default()).unwrap().outcome.facts;
                !matches!(&f[fact], Value::Int(0) | Value::Null | Value::Bool(false)) && f[fact] != Value::List(vec![])
            })
            .count()
    };
    assert!(count(&labs[0], "lost_count") >= 35);
    assert!(count(&labs[0], "overtaken") >= 35);
    assert!(count(&labs[1], "retransmissions") >= 40);
    assert!(count(&labs[1], "suppressed") >= 30);
    assert!(count(&labs[2], "cached_replies") >= 30);
    assert!(count(&labs[2], "client_failed") >= 10);
}

#[test]
fn an_injected_loss_leaves_every_other_draw_as_it_was() {
    // Separate streams: raising the drop rate loses messages, but every
    // datagram that still arrives has exactly the delay it had before.
    let lab = &labs()[0];
    let base = lab.solve(lab.seed, &Injection::default()).unwrap().outcome.facts;
    let lossy = lab.solve(lab.seed, &Injection { drop: Some(0.6), ..Injection::default() }).unwrap().outcome.facts;
    let (Value::Map(before), Value::Map(after)) = (&base["arrival_time"], &lossy["arrival_time"]) else { panic!() };
    let mut still = 0;
    for (m, t) in after {
        if *t != Value::Null {
            assert_eq!(before[m], *t, "{m} arrived at a different time");
            still += 1;
        }
    }
    assert!(still > 0 && lossy["lost_count"] != base["lost_count"]);

    // A crash after the run's last event changes nothing at all.
    let late = Injection { faults: vec![FaultDef::Crash { node: 1, at: 4_000_000 }], ..Injection::default() };
    assert_eq!(lab.solve(lab.seed, &late).unwrap().outcome.facts, base);
}

#[test]
fn a_server_crash_makes_at_most_once_execute_a_retried_request_twice() {
    let lab = &labs()[2];
    let base = lab.solve(lab.seed, &Injection::default()).unwrap().outcome.facts;
    let crash = Injection { faults: vec![FaultDef::Crash { node: 1, at: 140_000 }], ..Injection::default() };
    let f = lab.solve(lab.seed, &crash).unwrap().outcome.facts;
    assert_eq!(base["duplicate_executions"], Value::List(vec![]));
    assert_eq!(f["duplicate_executions"], Value::texts(["r4"]));
    assert_eq!(f["belief_mismatch"], Value::texts(["r4"]));
}

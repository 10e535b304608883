//! The text sheet: header, intro, timeline and questions. Question mode and
//! solve mode print the same layout; solve mode fills in every blank.

use super::{header::header, timeline::timeline, wrap, View};
use crate::lab::{Injection, Lab};
use crate::models::{Outcome, Scenario};
use crate::questions::{Question, Value};

pub fn sheet(
    lab: &Lab,
    sc: &Scenario,
    inj: &Injection,
    out: &Outcome,
    answers: &[(Question, Value)],
    view: View,
) -> String {
    let mut s = header(lab, sc, inj);
    s.push('\n');
    s.push_str(&wrap(&lab.intro, "  "));
    s.push('\n');
    let preface = crate::models::preface(sc, out, view.solve);
    if !preface.is_empty() {
        s.push_str(&preface);
        s.push('\n');
    }
    s.push_str(&timeline(out, sc, view));
    s.push('\n');
    s.push_str(&questions(answers, view.solve));
    s.push('\n');
    let lab_arg = lab.cli_name();
    let run_arg = lab.cli_name_with_overrides();
    let seed = if sc.seed == lab.seed { String::new() } else { format!(" --seed {}", sc.seed) };
    if view.solve {
        s.push_str("Solved: every ? is filled in. To grade your own answers:\n");
    } else {
        s.push_str("Answer them:\n");
    }
    s.push_str(&format!("  distlab run {run_arg}{seed} --template > answers.toml   (then fill it in)\n"));
    s.push_str(&format!("  distlab check {lab_arg} answers.toml\n"));
    s
}

pub fn questions(answers: &[(Question, Value)], solve: bool) -> String {
    let mut s = String::from("Questions\n");
    for (i, (q, v)) in answers.iter().enumerate() {
        let pts = if q.points == 1 { "1 pt".to_string() } else { format!("{} pts", q.points) };
        let first = format!("  [{}] ", i + 1);
        let indent = " ".repeat(first.chars().count());
        let body = wrap(&format!("{} ({}, {pts})", q.ask, q.kind), &indent);
        s.push_str(&first);
        s.push_str(body.trim_start());
        let shown = if solve { v.to_string() } else { "?".to_string() };
        s.push_str(&format!("{indent}{}: {shown}\n", q.id));
    }
    s
}

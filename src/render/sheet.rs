//! The text sheet: header, intro, timeline and questions. Question mode and
//! solve mode print the same layout; solve mode fills in every blank.

use super::{header::header, timeline::timeline, wrap, View};
use crate::lab::tune::ParamValue;
use crate::lab::{Injection, Lab, TuneSpec};
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
    sheet_with(lab, sc, inj, out, answers, view, &timeline(out, sc, view))
}

/// The sheet with another picture of the run (a diagram) in the timeline's place.
pub fn sheet_with(
    lab: &Lab,
    sc: &Scenario,
    inj: &Injection,
    out: &Outcome,
    answers: &[(Question, Value)],
    view: View,
    picture: &str,
) -> String {
    let mut s = header(lab, sc, inj);
    s.push('\n');
    s.push_str(&wrap(&lab.intro, "  "));
    s.push('\n');
    if let Some(spec) = &lab.tune {
        s.push_str(&tune_goals(lab, spec));
        s.push('\n');
        // Nothing to predict in a tune lab: the run is shown whole.
        s.push_str(&timeline(out, sc, View { solve: true, ..view }));
        s.push('\n');
        s.push_str(&tune_footer(lab, spec, sc, out));
        return s;
    }
    let preface = crate::models::preface(sc, out, view.solve);
    if !preface.is_empty() {
        s.push_str(&preface);
        s.push('\n');
    }
    s.push_str(picture);
    s.push('\n');
    s.push_str(&questions(answers, view.solve));
    s.push('\n');
    if !lab.invariants.is_empty() {
        s.push_str(&invariants(lab, out, view.solve));
        s.push('\n');
    }
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

/// A tune lab's goals and what a submission may set.
fn tune_goals(lab: &Lab, spec: &TuneSpec) -> String {
    let seeds = spec.seed_range(lab.seed);
    let mut s = format!("Goals, graded over seeds {} to {} with your parameters\n", seeds.start(), seeds.end());
    for (i, g) in spec.goals.iter().enumerate() {
        let pts = if g.points == 1 { "1 pt".to_string() } else { format!("{} pts", g.points) };
        let first = format!("  [{}] ", i + 1);
        let indent = " ".repeat(first.chars().count());
        s.push_str(&first);
        s.push_str(wrap(&format!("({pts}) {}", g.explain()), &indent).trim_start());
    }
    s.push_str("\nYour parameter file sets\n");
    for p in &spec.params {
        let first = format!("  {:<13}", p.name);
        s.push_str(&first);
        s.push_str(wrap(&format!("{}: {}", p.about(), p.help()), &" ".repeat(first.len())).trim_start());
    }
    s
}

/// This run measured as the goals measure it, and how to submit.
fn tune_footer(lab: &Lab, spec: &TuneSpec, sc: &Scenario, out: &Outcome) -> String {
    let run = crate::grade::tune::SeedRun::from_facts(sc.seed, &out.facts);
    let mut s = format!("This run, measured as the goals measure it (one seed; check grades {}):\n", spec.seeds);
    for (what, value) in run.measures() {
        s.push_str(&format!("  {what:<31}{value}\n"));
    }
    s.push('\n');
    let lab_arg = lab.cli_name();
    let run_arg = lab.cli_name_with_overrides();
    // Another value to try: twice the lab's own, within the allowed range.
    let example = spec.params.first().map_or(String::new(), |p| {
        let v = match (p.default, p.max) {
            (ParamValue::Duration(t), ParamValue::Duration(max)) => ParamValue::Duration(t.saturating_mul(2).min(max)),
            (v, _) => v,
        };
        format!(" --set {}", p.set(&v))
    });
    s.push_str("Tune it:\n");
    s.push_str(&format!("  distlab run {run_arg} --template > params.toml   (then set the parameters)\n"));
    s.push_str(&format!(
        "  distlab check {lab_arg} params.toml   (runs all {} seeds and grades the goals)\n",
        spec.seeds
    ));
    s.push_str(&format!("  distlab run {lab_arg}{example} --seed 2   (one run with other settings)\n"));
    s
}

/// Each declared invariant and whether it held; question mode keeps the
/// verdicts blank, since a question may ask exactly that.
pub fn invariants(lab: &Lab, out: &Outcome, solve: bool) -> String {
    let mut s = String::from("Invariants\n");
    for name in &lab.invariants {
        let promise = lab.model.invariants().iter().find(|(n, _)| n == name).map_or("", |(_, p)| *p);
        let broken = out.violations.iter().find(|v| &v.invariant == name);
        let line = match (solve, broken) {
            (false, _) => format!("  ?  {name}: {promise}\n"),
            (true, None) => format!("  ✓  {name}: {promise}\n"),
            (true, Some(v)) => {
                format!("  ✗  {name}: {promise}\n     BROKEN at {}: {}\n", crate::sim::fmt_time(v.time), v.what)
            }
        };
        s.push_str(&line);
    }
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

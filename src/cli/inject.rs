use super::{Format, InjectArgs};
use crate::grade::tune::SeedRun;
use crate::lab::{faults, load_plan, resolve_with, Injection, Lab};
use crate::output::emit;
use crate::render::diagram::{asciify, diagram, Opts};
use crate::render::{header::header, html, json::run_json, stdout_colour, timeline::timeline, View};
use crate::sim::Latency;
use anyhow::anyhow;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// Builds the injection from the flags (after the plan file, so flags win).
fn injection(a: &InjectArgs, lab: &Lab) -> anyhow::Result<Injection> {
    let names = lab.node_names();
    let mut inj = match &a.plan {
        Some(path) => {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{file}: cannot read plan file: {e}"))?;
            load_plan(&text, &file, lab)?
        }
        None => Injection::default(),
    };
    inj.drop = a.drop.or(inj.drop);
    inj.duplicate = a.duplicate.or(inj.duplicate);
    if let Some(spec) = &a.delay {
        let (min, max) = faults::parse_window(spec).map_err(|e| anyhow!("--delay '{spec}': {e}"))?;
        inj.latency = Some(Latency::Uniform { min, max });
    }
    for spec in &a.partition {
        inj.faults.push(faults::parse_partition(spec, &names).map_err(|e| anyhow!("--partition '{spec}': {e}"))?);
    }
    for spec in &a.burst {
        inj.faults.push(faults::parse_burst(spec, false).map_err(|e| anyhow!("--burst '{spec}': {e}"))?);
    }
    for spec in &a.dup_burst {
        inj.faults.push(faults::parse_burst(spec, true).map_err(|e| anyhow!("--dup-burst '{spec}': {e}"))?);
    }
    for spec in &a.crash {
        let (node, at) = faults::parse_node_at(spec, &names).map_err(|e| anyhow!("--crash '{spec}': {e}"))?;
        inj.faults.push(faults::FaultDef::Crash { node, at });
    }
    for spec in &a.restart {
        let (node, at) = faults::parse_node_at(spec, &names).map_err(|e| anyhow!("--restart '{spec}': {e}"))?;
        inj.faults.push(faults::FaultDef::Restart { node, at });
    }
    let disks = lab.model.disk_blocks();
    for spec in &a.corrupt {
        let f = faults::parse_corrupt(spec, &names, &disks, false).map_err(|e| anyhow!("--corrupt '{spec}': {e}"))?;
        inj.faults.push(f);
    }
    for spec in &a.lse {
        let f = faults::parse_corrupt(spec, &names, &disks, true).map_err(|e| anyhow!("--lse '{spec}': {e}"))?;
        inj.faults.push(f);
    }
    if inj.is_empty() {
        return Err(anyhow!(
            "no fault to inject: give at least one of --drop, --duplicate, --delay, --partition, --burst, --crash, --restart, --corrupt, --lse or --plan (see distlab inject --help)"
        ));
    }
    Ok(inj)
}

pub fn inject(a: &InjectArgs) -> anyhow::Result<u8> {
    let lab = resolve_with(&a.lab, &a.set)?;
    if let Some(n) = a.explore {
        return explore(a, &lab, n);
    }
    let inj = injection(a, &lab)?;
    let seed = a.seed.unwrap_or(lab.seed);
    let base = lab.solve(seed, &Injection::default()).map_err(anyhow::Error::msg)?;
    let faulted = lab.solve(seed, &inj).map_err(anyhow::Error::msg)?;
    a.pictures.check()?;
    let view = View { solve: true, detail: a.detail };
    if let Some(path) = &a.pictures.html {
        html::write(path, &html::inject_report(&lab, &base, &faulted, &inj, view))?;
        if !a.pictures.wants_diagram() {
            return Ok(super::OK);
        }
    }
    if a.format == Format::Json {
        let j = serde_json::json!({
            "fault_free": run_json(&lab, &base.scenario, &Injection::default(), &base.outcome, &base.answers),
            "faulted": run_json(&lab, &faulted.scenario, &inj, &faulted.outcome, &faulted.answers),
        });
        emit(&format!("{}\n", serde_json::to_string_pretty(&j)?))?;
        return Ok(super::OK);
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(100);
    let what = if lab.tune.is_some() { "measure" } else { "question" };
    t.set_header(vec!["#", what, "fault-free", "with faults", ""]);
    // A tune lab has no questions: compare what its goals measure instead.
    let rows: Vec<(String, String, String)> = if lab.tune.is_some() {
        let measure = |s: &crate::lab::Solved| SeedRun::from_facts(s.scenario.seed, &s.outcome.facts).measures();
        measure(&base).into_iter().zip(measure(&faulted)).map(|((what, b), (_, f))| (what.to_string(), b, f)).collect()
    } else {
        base.answers
            .iter()
            .zip(&faulted.answers)
            .map(|((q, before), (_, after))| (format!("{}: {}", q.id, q.ask), before.to_string(), after.to_string()))
            .collect()
    };
    let mut changed = 0;
    for (i, (what, before, after)) in rows.iter().enumerate() {
        let differs = before != after;
        changed += usize::from(differs);
        t.add_row(vec![
            (i + 1).to_string(),
            what.clone(),
            before.clone(),
            after.clone(),
            if differs { "changed".into() } else { String::new() },
        ]);
    }
    let mut s = header(&lab, &faulted.scenario, &inj);
    s.push('\n');
    s.push_str(&format!("{t}\n"));
    s.push_str(&format!(
        "{changed} of {} {} changed. Each link and node draws from its own random stream, so the differences are what the faults caused.\n\n",
        rows.len(),
        if lab.tune.is_some() { "measures" } else { "answers" }
    ));
    if !lab.invariants.is_empty() {
        s.push_str("With faults:\n");
        s.push_str(&crate::render::sheet::invariants(&lab, &faulted.outcome, true));
        s.push('\n');
    }
    s.push_str("The run with faults:\n");
    if a.pictures.wants_diagram() {
        let opts = Opts { ascii: a.pictures.ascii, colour: stdout_colour() };
        s.push_str(&diagram(&faulted.outcome, &faulted.scenario, view, opts));
    } else {
        s.push_str(&timeline(&faulted.outcome, &faulted.scenario, view));
    }
    if a.pictures.ascii {
        s = asciify(&s);
    }
    emit(&s)?;
    Ok(super::OK)
}

fn explore(a: &InjectArgs, lab: &Lab, n: u64) -> anyhow::Result<u8> {
    let fixed = a.drop.is_some()
        || a.duplicate.is_some()
        || a.delay.is_some()
        || a.plan.is_some()
        || !(a.partition.is_empty() && a.burst.is_empty() && a.dup_burst.is_empty())
        || !(a.crash.is_empty() && a.restart.is_empty() && a.corrupt.is_empty() && a.lse.is_empty());
    if fixed {
        return Err(anyhow!("--explore draws its own faults; give it no fault flags (only --seed and --set)"));
    }
    if a.format == Format::Json {
        return Err(anyhow!("--explore prints text only; its reproducer is a command and a plan file"));
    }
    if lab.invariants.is_empty() {
        let names: Vec<&str> = lab.model.invariants().iter().map(|(n, _)| *n).collect();
        return Err(anyhow!(
            "lab {} declares no invariants to check; add [[invariant]] name = \"...\" to it (model {} has: {})",
            lab.code(),
            lab.model.name(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ));
    }
    let seed = a.seed.unwrap_or(lab.seed);
    let own = lab.faults.len();
    let lab = &crate::lab::explore::without_own_faults(lab);
    let names = lab.node_names();
    let bar = crate::output::progress::bar(n, "exploring");
    let result = crate::lab::explore::explore(lab, seed, n, |_| bar.inc(1));
    bar.finish_and_clear();
    let mut s = format!(
        "exploring lab {} (seed {seed}): up to {n} schedules of {} faults (at most {} at once, within 0ms..{}), checking {}\n",
        lab.code(),
        lab.explore.faults.join(", "),
        lab.explore.max_faults,
        crate::sim::fmt_time(result.horizon),
        lab.invariants.join(", ")
    );
    if own > 0 {
        s.push_str(&format!(
            "  (without the lab's own {own} fault{}: --set 'fault=[]')\n",
            if own == 1 { "" } else { "s" }
        ));
    }
    let Some(found) = result.found else {
        s.push_str(&format!("explored {} schedules: every invariant held\n", result.tried));
        emit(&s)?;
        return Ok(super::OK);
    };
    let lab_arg = lab.cli_name_with_overrides();
    if found.schedule == 0 {
        let v = &found.violation;
        s.push_str(&format!(
            "the run with no extra fault already breaks {} at {}: {}\nno fault schedule is needed; reproduce it with:\n\ndistlab run {lab_arg} --seed {seed} --solve\n",
            v.invariant,
            crate::sim::fmt_time(v.time),
            v.what
        ));
        emit(&s)?;
        return Ok(super::SHORT);
    }
    let describe = |fs: &[crate::lab::FaultDef]| fs.iter().map(|f| f.describe(&names)).collect::<Vec<_>>().join("; ");
    s.push_str(&format!(
        "schedule {} of {n} broke {}: {}\n  with {} fault{}: {}\n",
        found.schedule,
        found.violation.invariant,
        found.violation.what,
        found.original.len(),
        if found.original.len() == 1 { "" } else { "s" },
        describe(&found.original)
    ));
    s.push_str(&format!(
        "shrunk in {} runs to {} fault{}: {}\n  which breaks {} at {}: {}\n\n",
        found.shrink_runs,
        found.shrunk.len(),
        if found.shrunk.len() == 1 { "" } else { "s" },
        describe(&found.shrunk),
        found.violation.invariant,
        crate::sim::fmt_time(found.violation.time),
        found.violation.what
    ));
    s.push_str(&format!("# plan.toml: reproduce with distlab inject {lab_arg} --seed {seed} --plan plan.toml\n"));
    for f in &found.shrunk {
        s.push_str(&f.plan_toml(&names));
    }
    let flags: Vec<String> = found.shrunk.iter().map(|f| f.flag(&names)).collect();
    if flags.is_empty() {
        // Nothing to inject: the run breaks the invariant without any fault.
        s.push_str(&format!("\ndistlab run {lab_arg} --seed {seed} --solve\n"));
    } else {
        s.push_str(&format!("\ndistlab inject {lab_arg} --seed {seed} {}\n", flags.join(" ")));
    }
    emit(&s)?;
    Ok(super::SHORT)
}

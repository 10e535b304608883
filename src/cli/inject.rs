use super::{Format, InjectArgs};
use crate::lab::{faults, load_plan, resolve, Injection, Lab};
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
    for spec in &a.crash {
        let (node, at) = faults::parse_node_at(spec, &names).map_err(|e| anyhow!("--crash '{spec}': {e}"))?;
        inj.faults.push(faults::FaultDef::Crash { node, at });
    }
    for spec in &a.restart {
        let (node, at) = faults::parse_node_at(spec, &names).map_err(|e| anyhow!("--restart '{spec}': {e}"))?;
        inj.faults.push(faults::FaultDef::Restart { node, at });
    }
    if inj.is_empty() {
        return Err(anyhow!(
            "no fault to inject: give at least one of --drop, --duplicate, --delay, --partition, --crash, --restart or --plan (see distlab inject --help)"
        ));
    }
    Ok(inj)
}

pub fn inject(a: &InjectArgs) -> anyhow::Result<u8> {
    let lab = resolve(&a.lab)?;
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
    t.set_header(vec!["#", "question", "fault-free", "with faults", ""]);
    let mut changed = 0;
    for (i, ((q, before), (_, after))) in base.answers.iter().zip(&faulted.answers).enumerate() {
        let differs = before != after;
        changed += usize::from(differs);
        t.add_row(vec![
            (i + 1).to_string(),
            format!("{}: {}", q.id, q.ask),
            before.to_string(),
            after.to_string(),
            if differs { "changed".into() } else { String::new() },
        ]);
    }
    let mut s = header(&lab, &faulted.scenario, &inj);
    s.push('\n');
    s.push_str(&format!("{t}\n"));
    s.push_str(&format!(
        "{changed} of {} answers changed. Each link and node draws from its own random stream, so the differences are what the faults caused.\n\n",
        base.answers.len()
    ));
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

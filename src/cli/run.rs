use super::{Format, RunArgs};
use crate::grade::template;
use crate::lab::{resolve_with, Injection};
use crate::output::emit;
use crate::render::{json::run_json, sheet::sheet, View};

pub fn run(a: &RunArgs) -> anyhow::Result<u8> {
    let lab = resolve_with(&a.lab, &a.set)?;
    let seed = a.seed.unwrap_or(lab.seed);
    if a.template {
        let text = match &lab.tune {
            Some(spec) => crate::grade::tune::template(&lab, spec),
            None => template(&lab, seed),
        };
        emit(&text)?;
        return Ok(super::OK);
    }
    let inj = Injection::default();
    let solved = lab.solve(seed, &inj).map_err(anyhow::Error::msg)?;
    let text = match a.format {
        Format::Json => {
            let j = run_json(&lab, &solved.scenario, &inj, &solved.outcome, &solved.answers);
            format!("{}\n", serde_json::to_string_pretty(&j)?)
        }
        Format::Text => sheet(
            &lab,
            &solved.scenario,
            &inj,
            &solved.outcome,
            &solved.answers,
            View { solve: a.solve, detail: a.detail },
        ),
    };
    emit(&text)?;
    Ok(super::OK)
}

use super::{Format, PictureArgs, RunArgs};
use crate::grade::template;
use crate::lab::{resolve_with, Injection, Lab, Solved};
use crate::output::emit;
use crate::render::diagram::{asciify, diagram, Opts};
use crate::render::{html, json::run_json, sheet::sheet, sheet::sheet_with, stdout_colour, View};
use anyhow::anyhow;

pub fn run(a: &RunArgs) -> anyhow::Result<u8> {
    let lab = resolve_with(&a.lab, &a.set)?;
    let seed = a.seed.unwrap_or(lab.seed);
    if a.template {
        emit(&template(&lab, seed))?;
        return Ok(super::OK);
    }
    a.pictures.check()?;
    let inj = Injection::default();
    let solved = lab.solve(seed, &inj).map_err(anyhow::Error::msg)?;
    let view = View { solve: a.solve, detail: a.detail };
    if let Some(path) = &a.pictures.html {
        html::write(path, &html::run_report(&lab, &solved, &inj, view))?;
        if !a.pictures.wants_diagram() {
            return Ok(super::OK);
        }
    }
    let text = match a.format {
        Format::Json => {
            let j = run_json(&lab, &solved.scenario, &inj, &solved.outcome, &solved.answers);
            format!("{}\n", serde_json::to_string_pretty(&j)?)
        }
        Format::Text if a.pictures.wants_diagram() => diagram_sheet(&lab, &solved, &inj, view, &a.pictures),
        Format::Text => sheet(&lab, &solved.scenario, &inj, &solved.outcome, &solved.answers, view),
    };
    emit(&text)?;
    Ok(super::OK)
}

/// The sheet with the space-time diagram in the timeline's place.
fn diagram_sheet(lab: &Lab, solved: &Solved, inj: &Injection, view: View, p: &PictureArgs) -> String {
    let opts = Opts { ascii: p.ascii, colour: stdout_colour() };
    let picture = diagram(&solved.outcome, &solved.scenario, view, opts);
    let text = sheet_with(lab, &solved.scenario, inj, &solved.outcome, &solved.answers, view, &picture);
    if p.ascii {
        asciify(&text)
    } else {
        text
    }
}

impl PictureArgs {
    pub fn wants_diagram(&self) -> bool {
        self.diagram || self.ascii
    }

    /// Flags that parse but cannot work together.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.wants_diagram() && self.html.as_deref().is_some_and(|p| p.as_os_str() == "-") {
            return Err(anyhow!(
                "--html - writes the report to stdout, which the diagram also needs; write the report to a file (--html report.html)"
            ));
        }
        Ok(())
    }
}

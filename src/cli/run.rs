use super::{secret, Format, PictureArgs, RunArgs};
use crate::grade::{student_template, template};
use crate::lab::variant::{derive, Variant};
use crate::lab::{resolve_with, Injection, Lab, Solved};
use crate::output::emit;
use crate::render::diagram::{asciify, diagram, Opts};
use crate::render::{html, json::run_json, sheet::sheet, sheet::sheet_with, stdout_colour, View};
use anyhow::anyhow;

pub fn run(a: &RunArgs) -> anyhow::Result<u8> {
    let lab = resolve_with(&a.lab, &a.set)?;
    let variant = match &a.student {
        Some(_) if lab.tune.is_some() => {
            return Err(anyhow!(
            "lab {} is a tune lab: every submission is graded over the same seeds, so it has no per-student variants",
            lab.code()
        ))
        }
        Some(id) => {
            let secret = secret::load(a.secret_file.as_deref())?;
            secret::warn_if_public(&secret);
            Some(derive(&lab, id, &secret).map_err(|e| anyhow!("--student: {e}"))?)
        }
        None => None,
    };
    let seed = variant.as_ref().map_or(a.seed.unwrap_or(lab.seed), |v| v.seed);
    if a.template {
        emit(&match (&lab.tune, &variant) {
            (Some(spec), _) => crate::grade::tune::template(&lab, spec),
            (None, Some(v)) => student_template(&lab, v),
            (None, None) => template(&lab, seed),
        })?;
        return Ok(super::OK);
    }
    a.pictures.check()?;
    let inj = Injection::default();
    let solved = lab.solve(seed, &inj).map_err(anyhow::Error::msg)?;
    let view = View { solve: a.solve, detail: a.detail };
    if let Some(path) = &a.pictures.html {
        let page = html::run_report(&lab, &solved, &inj, view);
        let page = match &variant {
            Some(v) => conceal(page, v)?,
            None => page,
        };
        html::write(path, &page)?;
        if !a.pictures.wants_diagram() {
            return Ok(super::OK);
        }
    }
    let text = match a.format {
        Format::Json => {
            let mut j = run_json(&lab, &solved.scenario, &inj, &solved.outcome, &solved.answers);
            if let (Some(v), Some(o)) = (&variant, j.as_object_mut()) {
                o.remove("seed");
                o.insert("student".into(), v.student.clone().into());
                o.insert("variant".into(), v.code.clone().into());
            }
            format!("{}\n", serde_json::to_string_pretty(&j)?)
        }
        Format::Text if a.pictures.wants_diagram() => diagram_sheet(&lab, &solved, &inj, view, &a.pictures),
        Format::Text => sheet(&lab, &solved.scenario, &inj, &solved.outcome, &solved.answers, view),
    };
    let text = match &variant {
        Some(v) => conceal(text, v)?,
        None => text,
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

/// A student variant's output shows its code where the seed would be, and
/// names the student where a command would pass `--seed`.
fn conceal(text: String, v: &Variant) -> anyhow::Result<String> {
    let seed = v.seed.to_string();
    let id = if v.student.chars().all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c)) {
        v.student.clone()
    } else {
        format!("'{}'", v.student.replace('\'', "'\\''"))
    };
    let text = text
        .replace(&format!("--seed {seed}"), &format!("--student {id}"))
        .replace(&format!("seed {seed}"), &format!("variant {} (student {})", v.code, v.student));
    if text.contains(&seed) {
        // Better no sheet than one that gives the secret seed away.
        return Err(anyhow!("internal error: a student variant's output would show its seed; please report this"));
    }
    Ok(text)
}

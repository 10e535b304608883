use super::{CheckArgs, Format};
use crate::grade::{self, export, AnswersFile};
use crate::lab::{catalog, resolve, resolve_with, Injection, Lab, LabKind};
use crate::output::{emit, progress};
use crate::render::{sheet::sheet, View};
use anyhow::anyhow;
use similar::TextDiff;
use std::path::Path;

pub fn check(a: &CheckArgs) -> anyhow::Result<u8> {
    if a.expected {
        if a.answers.is_some() {
            return Err(anyhow!("--expected compares labs with expected/ and takes no answers file"));
        }
        return expected(a);
    }
    let (Some(lab), Some(path)) = (&a.lab, &a.answers) else {
        return Err(anyhow!(
            "check needs a lab and an answers file: distlab check 2 answers.toml (or --expected to compare with expected/)"
        ));
    };
    if !a.set.is_empty() && a.expected {
        return Err(anyhow!("--set does not apply to --expected, which checks the labs as they are"));
    }
    // A tune lab grades a parameter file over many seeds instead.
    let target = resolve_with(lab, &a.set)?;
    if target.kind == LabKind::Tune {
        let report = grade::tune::check(&target, lab, path)?;
        emit(&if a.format == Format::Json { report.json() } else { report.table() })?;
        return Ok(if report.passed() { super::OK } else { super::SHORT });
    }
    let answers = AnswersFile::read(path)?;
    let mut overrides = answers.set.clone();
    overrides.extend(a.set.iter().filter(|o| !answers.set.contains(o)).cloned());
    let lab = resolve_with(lab, &overrides)?;
    answers.check_lab(&lab)?;
    let g = grade::grade(&lab, &answers).map_err(anyhow::Error::msg)?;
    let format = match a.format {
        Format::Text => "table",
        Format::Json => "json",
    };
    let exporter = export::exporter(format).ok_or_else(|| anyhow!("unknown format {format}"))?;
    emit(&exporter.render(&g, true))?;
    Ok(if g.full_marks() { super::OK } else { super::SHORT })
}

/// The solved sheet that expected/ records for a lab.
pub fn solved_sheet(lab: &Lab) -> Result<String, String> {
    let inj = Injection::default();
    let s = lab.solve(lab.seed, &inj)?;
    Ok(sheet(lab, &s.scenario, &inj, &s.outcome, &s.answers, View { solve: true, detail: 0 }))
}

fn expected(a: &CheckArgs) -> anyhow::Result<u8> {
    let labs = match &a.lab {
        Some(spec) => {
            let lab = resolve(spec)?;
            if !lab.builtin {
                return Err(anyhow!(
                    "--expected compares the built-in labs; {} is not one (see distlab list)",
                    lab.file
                ));
            }
            vec![lab]
        }
        None => catalog::all()?,
    };
    let dir = &a.expected_dir;
    if !dir.is_dir() {
        if a.bless {
            std::fs::create_dir_all(dir).map_err(|e| anyhow!("{}: cannot create: {e}", dir.display()))?;
        } else {
            return Err(anyhow!(
                "{}: no such directory; run from the distlab repository or pass --expected-dir DIR",
                dir.display()
            ));
        }
    }
    let bar = progress::bar(labs.len() as u64, "comparing");
    let mut report = String::new();
    let mut differ = 0;
    for lab in &labs {
        let actual = solved_sheet(lab).map_err(anyhow::Error::msg)?;
        let path = dir.join(format!("{}.out", lab.code()));
        bar.inc(1);
        if a.bless {
            write_atomic(&path, &actual)?;
            report.push_str(&format!("blessed  {}\n", path.display()));
            continue;
        }
        let want = match std::fs::read_to_string(&path) {
            Ok(w) => w,
            Err(_) => {
                differ += 1;
                report.push_str(&format!(
                    "MISSING  {}: run distlab check --expected --bless after reading the output\n",
                    path.display()
                ));
                continue;
            }
        };
        if want == actual {
            report.push_str(&format!("ok       {}\n", lab.code()));
        } else {
            differ += 1;
            report.push_str(&format!("DIFFERS  {}\n", lab.code()));
            let diff = TextDiff::from_lines(&want, &actual);
            let expected_name = path.display().to_string();
            report.push_str(&diff.unified_diff().context_radius(2).header(&expected_name, "this build").to_string());
        }
    }
    bar.finish_and_clear();
    if differ > 0 {
        report.push_str(&format!(
            "{differ} of {} labs differ from expected/. If the change is intended, read the diff, then: distlab check --expected --bless\n",
            labs.len()
        ));
    }
    emit(&report)?;
    Ok(if differ == 0 { super::OK } else { super::SHORT })
}

/// Writes through a temporary file and a rename, so a reader never sees half.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("out.tmp");
    std::fs::write(&tmp, text).map_err(|e| anyhow!("{}: cannot write: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))?;
    Ok(())
}

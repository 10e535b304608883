use super::output::{deliver, write_atomic};
use super::{secret, CheckArgs};
use crate::grade::batch::{self, grade_class};
use crate::grade::export::{exporter, gradescope, Format};
use crate::grade::report::{Cell, ClassReport, GradedFile};
use crate::grade::{grade_at, AnswersFile, At, Reveal};
use crate::lab::variant::{derive, normalize_student};
use crate::lab::{catalog, resolve, resolve_with, Injection, Lab, LabKind};
use crate::output::{emit, progress};
use crate::render::{sheet::sheet, View};
use anyhow::anyhow;
use similar::TextDiff;
use std::collections::BTreeSet;

pub fn check(a: &CheckArgs) -> anyhow::Result<u8> {
    if a.expected {
        if a.answers.is_some() {
            return Err(anyhow!("--expected compares labs with expected/ and takes no answers file"));
        }
        return expected(a);
    }
    if !a.merge.is_empty() {
        if a.lab.is_some() {
            return Err(anyhow!("--merge joins reports and takes no lab or answers file"));
        }
        return merge(a);
    }
    if a.submissions.is_some() {
        if a.lab.is_some() {
            return Err(anyhow!(
                "--submissions grades a whole folder and takes no lab or answers file (use --labs 1,2 to choose labs)"
            ));
        }
        return class(a);
    }
    let (Some(lab), Some(path)) = (&a.lab, &a.answers) else {
        return Err(anyhow!(
            "check needs a lab and an answers file: distlab check 2 answers.toml (or --submissions DIR for a class, --expected to compare with expected/)"
        ));
    };
    if !a.set.is_empty() && a.expected {
        return Err(anyhow!("--set does not apply to --expected, which checks the labs as they are"));
    }
    let spec = lab;
    let lab = resolve_with(spec, &a.set)?;
    // A tune lab grades a parameter file over many seeds instead.
    if lab.kind == LabKind::Tune {
        let report = crate::grade::tune::check(&lab, spec, path)?;
        let text = match a.format {
            Format::Json => report.json(),
            Format::Table => report.table(),
            other => {
                return Err(anyhow!("a tune lab's check prints a table or JSON (--format table|json), not {other:?}"))
            }
        };
        deliver(a.output.as_deref(), &text)?;
        return Ok(if report.passed() { super::OK } else { super::SHORT });
    }
    let graded = match single(a, &lab, path) {
        Ok(g) => g,
        Err(e) => {
            // An autograder reads results.json whatever happened: give it the reason.
            if a.format == Format::Gradescope {
                deliver(a.output.as_deref(), &gradescope::not_graded(&e.to_string()))?;
            }
            return Err(e);
        }
    };
    let text = exporter(a.format).single(&graded).map_err(anyhow::Error::msg)?;
    deliver(a.output.as_deref(), &text)?;
    Ok(if graded.full_marks { super::OK } else { super::SHORT })
}

/// Grades one answers file: at its seed, or as a student's variant.
fn single(a: &CheckArgs, lab: &Lab, path: &std::path::Path) -> anyhow::Result<GradedFile> {
    let answers = AnswersFile::read(path)?;
    answers.check_lab(lab)?;
    let student = match (&a.student, &answers.student, answers.seed) {
        (Some(id), _, Some(seed)) => {
            let id = normalize_student(id).map_err(|e| anyhow!("--student: {e}"))?;
            return Err(answers
                .at_seed(format!(
                    "this file names seed {seed}, but --student grades {id}'s variant: write student = \"{id}\" in its place"
                ))
                .into());
        }
        (Some(id), Some(s), _) => {
            let id = normalize_student(id).map_err(|e| anyhow!("--student: {e}"))?;
            if id != *s {
                return Err(answers.at_student(format!("this file is for student {s}, not {id}")).into());
            }
            Some(id)
        }
        (Some(id), None, None) => Some(normalize_student(id).map_err(|e| anyhow!("--student: {e}"))?),
        (None, s, _) => s.clone(),
    };
    let at = match &student {
        Some(id) => {
            let secret = secret::load(a.secret_file.as_deref())?;
            secret::warn_if_public(&secret);
            At::Variant(derive(lab, id, &secret).map_err(anyhow::Error::msg)?)
        }
        None => At::Seed(answers.seed.unwrap_or(lab.seed)),
    };
    // A student checking their own seed may see everything; an instructor's
    // variant reveals nothing unless asked.
    let reveal = a.reveal.unwrap_or(if student.is_some() { Reveal::Never } else { Reveal::All });
    let g = grade_at(lab, &answers, &at).map_err(anyhow::Error::msg)?;
    Ok(GradedFile::new(&g, reveal))
}

fn class(a: &CheckArgs) -> anyhow::Result<u8> {
    if a.format == Format::Gradescope {
        return Err(anyhow!("--format gradescope writes one submission's results.json; for a class use table, csv, json or junit (or check LAB FILE --format gradescope per submission)"));
    }
    if a.student.is_some() {
        return Err(anyhow!("--student grades one file; with --submissions each folder name is the student id"));
    }
    let Some(dir) = &a.submissions else { return Err(anyhow!("--submissions needs a folder")) };
    let known = catalog::all()?;
    let (labs, labs_given) = if a.labs.is_empty() {
        (known.clone(), false)
    } else {
        let mut labs = Vec::new();
        let mut numbers = BTreeSet::new();
        for spec in &a.labs {
            let lab = resolve(spec.trim())?;
            if !numbers.insert(lab.number) {
                return Err(anyhow!("--labs names lab {:02} twice", lab.number));
            }
            labs.push(lab);
        }
        (labs, true)
    };
    let mut all_known = known;
    all_known.extend(labs.iter().filter(|l| !l.builtin).cloned());
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = batch::Options {
        dir: dir.clone(),
        labs,
        labs_given,
        known: all_known,
        jobs,
        shard: a.shard,
        variants: a.variants,
        secret: secret::load(a.secret_file.as_deref())?,
        reveal: a.reveal.unwrap_or(Reveal::Never),
    };
    let (students, _) = batch::students(dir).map_err(anyhow::Error::msg)?;
    let mine = (0..students.len()).filter(|i| a.shard.is_none_or(|s| s.takes(*i))).count();
    let bar = progress::bar(mine as u64, "grading");
    let outcome = grade_class(&opts, &|| bar.inc(1)).map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    for note in &outcome.skipped {
        eprintln!("note: {note}");
    }
    let report = outcome.report;
    let uses_variants =
        report.students.iter().flat_map(|s| &s.labs).any(|c| matches!(c, Cell::Graded(g) if g.variant.is_some()));
    if opts.variants || uses_variants {
        secret::warn_if_public(&opts.secret);
    }
    finish_class(a, &report)
}

fn merge(a: &CheckArgs) -> anyhow::Result<u8> {
    if a.format == Format::Gradescope {
        return Err(anyhow!(
            "--format gradescope writes one submission's results.json; merge into table, csv, json or junit"
        ));
    }
    let mut parts = Vec::new();
    for path in &a.merge {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{name}: cannot read: {e}"))?;
        let r: ClassReport = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{name}: not a class report (made by check --submissions DIR --format json): {e}"))?;
        parts.push((name, r));
    }
    let report = ClassReport::merge(parts, a.reveal.unwrap_or(Reveal::Never)).map_err(anyhow::Error::msg)?;
    finish_class(a, &report)
}

fn finish_class(a: &CheckArgs, report: &ClassReport) -> anyhow::Result<u8> {
    let text = exporter(a.format).class(report).map_err(anyhow::Error::msg)?;
    deliver(a.output.as_deref(), &text)?;
    let m = &report.summary;
    if a.output.is_some() || a.format != Format::Table {
        let to = a.output.as_ref().map(|p| format!("wrote {}: ", p.display())).unwrap_or_default();
        eprintln!(
            "{to}{} students, {} submissions: {} graded, {} could not be graded",
            m.students, m.submissions, m.graded, m.could_not_grade
        );
    }
    Ok(if report.all_graded() { super::OK } else { super::SHORT })
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

//! Grading a class folder: DIR/<student>/<answers files>, each file naming
//! its lab. Students are graded in parallel; the report is sorted, so it is
//! the same whatever the number of threads. A file that cannot be graded
//! becomes an error cell with its reason, and everything else is still
//! graded.

use super::answers::{read_text, AnswersFile};
use super::report::{Cell, ClassReport, GradedFile, LabInfo, Problem, Shard, Submissions};
use super::{score, At, Reveal};
use crate::lab::variant::{derive, normalize_student, Secret};
use crate::lab::{Injection, Lab};
use crate::questions::{Question, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub struct Options {
    pub dir: PathBuf,
    /// The labs files may name: the `--labs` given, or every built-in lab.
    pub labs: Vec<Lab>,
    /// Whether `labs` were given (and so are the columns, all of them).
    pub labs_given: bool,
    /// Every lab distlab knows, to tell "not being graded" from "unknown".
    pub known: Vec<Lab>,
    pub jobs: usize,
    pub shard: Option<Shard>,
    /// Grade every file as its folder's student variant.
    pub variants: bool,
    pub secret: Secret,
    pub reveal: Reveal,
}

/// What a batch found besides the report: entries it skipped, for stderr.
pub struct Outcome {
    pub report: ClassReport,
    pub skipped: Vec<String>,
}

/// A student's id (their folder's name) and folder.
pub type Student = (String, PathBuf);

/// Lists the student folders of `dir`, sorted: every entry that is a folder
/// and not hidden. Other entries are returned as skipped.
pub fn students(dir: &Path) -> Result<(Vec<Student>, Vec<String>), String> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read the submissions folder: {e}", dir.display()))?;
    let mut students = Vec::new();
    let mut skipped = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| format!("{}: cannot read the submissions folder: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry.path().is_dir() {
            students.push((name, entry.path()));
        } else {
            skipped.push(format!("{}: not a student folder; skipped", entry.path().display()));
        }
    }
    students.sort();
    skipped.sort();
    if students.is_empty() {
        return Err(format!("{}: no student folders; the layout is DIR/<student>/<answers files>", dir.display()));
    }
    Ok((students, skipped))
}

/// Grades the class (or one shard of it). `tick` is called once per student
/// graded, from any thread, for a progress bar.
pub fn grade_class(opts: &Options, tick: &(dyn Fn() + Sync)) -> Result<Outcome, String> {
    let (all, skipped) = students(&opts.dir)?;
    let mine: Vec<&Student> =
        all.iter().enumerate().filter(|(i, _)| opts.shard.is_none_or(|s| s.takes(*i))).map(|(_, s)| s).collect();
    let cache = Cache::default();
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Submissions>>> = mine.iter().map(|_| Mutex::new(None)).collect();
    let jobs = opts.jobs.clamp(1, mine.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((name, path)) = mine.get(i) else { break };
                // A bug met on one student's files must not stop the class:
                // that student gets an error, everyone else is graded.
                let graded =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grade_student(opts, &cache, name, path)));
                if let (Ok(s), Ok(mut slot)) = (graded, results[i].lock()) {
                    *slot = Some(s);
                }
                tick();
            });
        }
    });
    let students: Vec<Submissions> = results
        .into_iter()
        .zip(&mine)
        .map(|(m, (name, _))| {
            // A student whose grading failed has an empty slot: say so rather
            // than drop them.
            m.into_inner().ok().flatten().unwrap_or_else(|| Submissions {
                student: name.clone(),
                cells: vec![],
                problems: vec![Problem { file: name.clone(), reason: format!("{name}: internal error while grading") }],
            })
        })
        .collect();
    let known: BTreeMap<u32, LabInfo> = opts.labs.iter().map(|l| (l.number, LabInfo::new(l))).collect();
    let given = opts.labs_given.then(|| opts.labs.iter().map(LabInfo::new).collect());
    let report = ClassReport::assemble(opts.reveal, given, &known, opts.shard, students);
    Ok(Outcome { report, skipped })
}

/// A lab's expected answers at one seed, computed once.
type Solved = Arc<OnceLock<Result<Vec<(Question, Value)>, String>>>;

/// Solved runs by (lab, seed), shared by every thread: students who share a
/// seed share one run.
#[derive(Default)]
struct Cache {
    runs: Mutex<HashMap<(u32, u64), Solved>>,
}

impl Cache {
    fn solve(&self, lab: &Lab, seed: u64) -> Solved {
        let cell = match self.runs.lock() {
            Ok(mut m) => m.entry((lab.number, seed)).or_default().clone(),
            Err(_) => Arc::default(),
        };
        cell.get_or_init(|| lab.solve(seed, &Injection::default()).map(|s| s.answers));
        cell
    }
}

/// The lab a file name points to: `02-retry.toml`, `2.toml`, `lab2.toml`,
/// `lab-02.toml` or `retry.toml`.
fn lab_from_name<'a>(name: &str, labs: &'a [Lab]) -> Option<&'a Lab> {
    let stem = name.strip_suffix(".toml").unwrap_or(name).to_lowercase();
    let rest = stem.strip_prefix("lab").map(|r| r.trim_start_matches(['-', '_'])).unwrap_or(&stem);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[digits.len()..].chars().next();
    if !digits.is_empty() && after.is_none_or(|c| !c.is_ascii_alphanumeric()) {
        let n: u32 = digits.parse().ok()?;
        return labs.iter().find(|l| l.number == n);
    }
    labs.iter().find(|l| stem == l.slug || stem == l.code())
}

/// What one file in a student's folder came to.
enum Found<'a> {
    /// Readable answers for a lab being graded.
    Answers(&'a Lab, AnswersFile),
    /// Cannot be graded; attributed to a lab when its name or contents say which.
    Broken(Option<&'a Lab>, String),
    /// A tune lab's parameter file, already graded over the lab's seeds.
    Tuned(&'a Lab, GradedFile),
    /// Answers for a real lab that is not being graded.
    Ignored,
}

fn examine<'a>(opts: &'a Options, rel: &str, path: &Path) -> Found<'a> {
    let by_name = lab_from_name(rel.rsplit('/').next().unwrap_or(rel), &opts.labs);
    let text = match read_text(path) {
        Ok(t) => t,
        Err(e) => return Found::Broken(by_name, format!("{rel}: {e}")),
    };
    // A tune lab's file holds parameters, graded over its seeds.
    if let Some(lab) = by_name.filter(|l| l.tune.is_some()) {
        return match crate::grade::tune::check(lab, &lab.number.to_string(), path) {
            Ok(report) => Found::Tuned(lab, tuned_file(&report, &lab.title, rel)),
            Err(d) => Found::Broken(Some(lab), format!("{rel}: {}", d.message)),
        };
    }
    let a = match AnswersFile::parse(&text, rel) {
        Ok(a) => a,
        Err(d) => return Found::Broken(by_name, d.to_string()),
    };
    let names = opts.labs.iter().find(|l| a.check_lab(l).is_ok());
    match (names, by_name) {
        (Some(t), Some(n)) if t.number != n.number => Found::Broken(
            Some(n),
            a.at_lab(format!("the file is named for lab {} but answers lab {}", n.code(), t.code())).to_string(),
        ),
        (Some(t), _) => Found::Answers(t, a),
        (None, n) => {
            if n.is_none() && opts.known.iter().any(|l| a.check_lab(l).is_ok()) {
                return Found::Ignored;
            }
            let labs: Vec<String> = opts.labs.iter().map(Lab::code).collect();
            let what = if opts.known.iter().any(|l| a.check_lab(l).is_ok()) {
                "is not being graded"
            } else {
                "does not exist"
            };
            Found::Broken(
                n,
                a.at_lab(format!("the lab this file names {what}; the labs being graded are {}", labs.join(", ")))
                    .to_string(),
            )
        }
    }
}

fn grade_student(opts: &Options, cache: &Cache, name: &str, dir: &Path) -> Submissions {
    let mut out = Submissions { student: name.to_string(), ..Default::default() };
    let mut entries: Vec<(String, PathBuf)> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(n, _)| !n.starts_with('.'))
            .collect(),
        Err(e) => {
            out.problems.push(Problem { file: name.into(), reason: format!("{name}: cannot read the folder: {e}") });
            return out;
        }
    };
    entries.sort();
    let mut by_lab: BTreeMap<u32, Vec<(String, Found)>> = BTreeMap::new();
    for (file, path) in &entries {
        let rel = format!("{name}/{file}");
        match examine(opts, &rel, path) {
            Found::Ignored => {}
            Found::Broken(None, reason) => out.problems.push(Problem { file: rel, reason }),
            f @ (Found::Answers(lab, _) | Found::Broken(Some(lab), _) | Found::Tuned(lab, _)) => {
                by_lab.entry(lab.number).or_default().push((rel, f))
            }
        }
    }
    for (lab_number, mut files) in by_lab {
        if files.len() > 1 {
            let list: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
            out.cells.push(Cell::Error {
                lab: lab_number,
                file: list[0].to_string(),
                reason: format!(
                    "{name}: {} files answer lab {:02}: {}; keep one",
                    list.len(),
                    lab_number,
                    list.join(", ")
                ),
            });
            continue;
        }
        let Some((rel, found)) = files.pop() else { continue };
        out.cells.push(match found {
            Found::Answers(lab, a) => grade_file(opts, cache, name, lab, &a),
            Found::Tuned(_, graded) => Cell::Graded(graded),
            Found::Broken(_, reason) => Cell::Error { lab: lab_number, file: rel, reason },
            Found::Ignored => continue,
        });
    }
    out
}

/// A tune report as a graded file: one row per goal, in place of questions.
fn tuned_file(r: &crate::grade::tune::TuneReport, title: &str, rel: &str) -> GradedFile {
    let questions = r
        .goals
        .iter()
        .map(|g| crate::grade::report::QuestionResult {
            number: g.number,
            id: g.goal.id(),
            ask: g.goal.describe(),
            answer: serde_json::Value::Null,
            expected: None,
            score: f64::from(g.points()),
            max_score: f64::from(g.goal.points),
            correct: g.passed,
            message: Some(format!("measured {}", g.measured.text())),
        })
        .collect();
    GradedFile {
        lab: r.lab,
        slug: r.slug.clone(),
        title: title.to_string(),
        file: rel.to_string(),
        seed: None,
        student: None,
        variant: None,
        score: f64::from(r.score()),
        max_score: f64::from(r.max_score()),
        full_marks: r.passed(),
        questions,
        ignored_keys: Vec::new(),
    }
}

fn grade_file(opts: &Options, cache: &Cache, folder: &str, lab: &Lab, a: &AnswersFile) -> Cell {
    let error = |reason: String| Cell::Error { lab: lab.number, file: a.file.clone(), reason };
    let variant = || {
        normalize_student(folder)
            .and_then(|id| derive(lab, &id, &opts.secret))
            .map_err(|e| format!("{}: the folder name is not a student id: {e}", a.file))
    };
    let at = match (&a.student, a.seed) {
        (Some(s), _) => match variant() {
            Ok(v) if v.student == *s => At::Variant(v),
            Ok(v) => {
                return error(
                    a.at_student(format!("this file is for student {s} but is in the folder of {}", v.student))
                        .to_string(),
                )
            }
            Err(e) => return error(e),
        },
        (None, Some(seed)) if opts.variants => {
            return error(
                a.at_seed(format!(
                    "names seed {seed}, but this class is graded by student variant: write student = \"{folder}\" in its place"
                ))
                .to_string(),
            )
        }
        (None, Some(seed)) => At::Seed(seed),
        (None, None) if opts.variants => match variant() {
            Ok(v) => At::Variant(v),
            Err(e) => return error(e),
        },
        (None, None) => At::Seed(lab.seed),
    };
    // A file made under `set = [...]` overrides is graded under them (uncached:
    // such files are rare in a class).
    match crate::grade::under_its_overrides(lab, a) {
        Err(e) => return error(e),
        Ok(Some(changed)) => {
            return match crate::grade::grade_at(&changed, a, &at) {
                Ok(g) => Cell::Graded(GradedFile::new(&g, opts.reveal)),
                Err(e) => error(format!("{}: the lab cannot be run: {e}", a.file)),
            }
        }
        Ok(None) => {}
    }
    let solved = cache.solve(lab, at.seed());
    match solved.get() {
        Some(Ok(expected)) => Cell::Graded(GradedFile::new(&score(lab, a, &at, expected), opts.reveal)),
        Some(Err(e)) => error(format!("{}: the lab cannot be run: {e}", a.file)),
        None => error(format!("{}: the lab cannot be run", a.file)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_point_to_labs() {
        let labs = crate::lab::catalog::all().unwrap();
        let n = |name: &str| lab_from_name(name, &labs).map(|l| l.number);
        assert_eq!(n("02-retry.toml"), Some(2));
        assert_eq!(n("2.toml"), Some(2));
        assert_eq!(n("lab03.toml"), Some(3));
        assert_eq!(n("Lab-1.toml"), Some(1));
        assert_eq!(n("retry.toml"), Some(2));
        assert_eq!(n("answers.toml"), None);
        assert_eq!(n("2b.toml"), None);
        assert_eq!(n("42-x.toml"), None);
    }
}

//! A generated class, for the batch tests and the batch benchmark: students ×
//! every built-in lab in DIR/<student>/<NN-slug>.toml, with a share of
//! broken submissions of every kind, and what grading must say of each cell.

use distlab::lab::variant::{derive, Secret};
use distlab::lab::{catalog, Injection, Lab};
use distlab::questions::{Kind, Value};
use distlab::sim::Stream;
use std::collections::BTreeMap;
use std::path::Path;

/// What grading must report for one student and one lab.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// Graded, with exactly this score.
    Graded(f64),
    /// An error cell whose reason contains this text.
    Broken(String),
}

pub struct Class {
    pub students: Vec<String>,
    pub labs: Vec<Lab>,
    /// (student, lab number) → what grading must report.
    pub expect: BTreeMap<(String, u32), Expect>,
}

/// The kinds of broken submission, dealt in turn.
pub const KINDS: &[&str] = &[
    "not TOML",
    "wrong lab",
    "unknown lab",
    "missing",
    "unreadable",
    "huge",
    "binary",
    "bad key",
    "two files",
    "wrong student",
];

/// Writes a class of `n` students into `dir`. `per_mille` of the
/// student × lab cells are broken. With `variants`, every good file names its
/// student and is graded at the student's variant under `secret`; otherwise
/// files name seeds from 1 to 20 (so students share runs).
pub fn generate(dir: &Path, n: usize, per_mille: u64, variants: bool, secret: &Secret) -> Class {
    // Tune labs take parameter files, not answers: tests/grading.rs covers them.
    let labs: Vec<Lab> = catalog::all().expect("built-in labs load").into_iter().filter(|l| l.tune.is_none()).collect();
    let students: Vec<String> = (1..=n).map(|i| format!("s{i:04}")).collect();
    let mut rng = Stream::new(7, "class");
    let cells = n * labs.len();
    let broken_count = (cells as u64 * per_mille / 1000) as usize;
    // Spread the broken cells evenly over the class, deterministically.
    let step = cells.checked_div(broken_count).unwrap_or(usize::MAX);
    let mut expect = BTreeMap::new();
    let mut kind = 0;
    for (si, student) in students.iter().enumerate() {
        let sdir = dir.join(student);
        std::fs::create_dir_all(&sdir).unwrap();
        for (li, lab) in labs.iter().enumerate() {
            let cell = si * labs.len() + li;
            let name = format!("{}.toml", lab.code());
            let path = sdir.join(&name);
            let rel = format!("{student}/{name}");
            if step != usize::MAX && cell % step == step / 2 {
                let k = KINDS[kind % KINDS.len()];
                kind += 1;
                let other = labs.iter().find(|l| l.number != lab.number).expect("two labs");
                let needle = match k {
                    "not TOML" => {
                        std::fs::write(&path, format!("lab = {}\nthese answers = are [not toml\n", lab.number))
                            .unwrap();
                        format!("{rel}:2:")
                    }
                    "wrong lab" => {
                        std::fs::write(&path, format!("lab = {}\nseed = 1\n[answers]\n", other.number)).unwrap();
                        format!("{rel}:1:7: the file is named for lab {} but answers lab {}", lab.code(), other.code())
                    }
                    "unknown lab" => {
                        std::fs::write(&path, "lab = 77\nseed = 1\n[answers]\n").unwrap();
                        format!("{rel}:1:7: the lab this file names does not exist")
                    }
                    "missing" => format!("{student}: no answers file for lab {}", lab.code()),
                    "unreadable" => {
                        std::fs::create_dir(&path).unwrap();
                        format!("{rel}: cannot read answers file: it is a folder")
                    }
                    "huge" => {
                        let mut text = format!("lab = {}\nseed = 1\n", lab.number);
                        while text.len() <= 1 << 20 {
                            text.push_str("# padding padding padding padding padding padding padding padding\n");
                        }
                        std::fs::write(&path, text).unwrap();
                        format!("{rel}: answers file is")
                    }
                    "binary" => {
                        let bytes: Vec<u8> = (0..600).map(|_| rng.below(256) as u8).chain([0, 0xff]).collect();
                        std::fs::write(&path, bytes).unwrap();
                        format!("{rel}: answers file is binary")
                    }
                    "bad key" => {
                        std::fs::write(&path, format!("lab = {}\nsede = 1\n[answers]\n", lab.number)).unwrap();
                        format!("{rel}:2:1: unknown key `sede` at the top level; did you mean `seed`?")
                    }
                    "two files" => {
                        let (text, _) = good(lab, student, variants, secret, &mut rng);
                        std::fs::write(&path, &text).unwrap();
                        std::fs::write(sdir.join(format!("lab{}.toml", lab.number)), &text).unwrap();
                        format!("2 files answer lab {:02}", lab.number)
                    }
                    "wrong student" => {
                        let (text, _) = good(lab, "someone-else", true, secret, &mut rng);
                        std::fs::write(&path, text).unwrap();
                        // With or without --variants, a student id must match its folder.
                        format!("this file is for student someone-else but is in the folder of {student}")
                    }
                    _ => unreachable!(),
                };
                expect.insert((student.clone(), lab.number), Expect::Broken(needle));
                continue;
            }
            let (text, score) = good(lab, student, variants, secret, &mut rng);
            std::fs::write(&path, text).unwrap();
            expect.insert((student.clone(), lab.number), Expect::Graded(score));
        }
    }
    Class { students, labs, expect }
}

/// A good answers file: right answers, except a few left out or of the wrong
/// type (which score 0 even with partial credit). Returns it and its score.
fn good(lab: &Lab, student: &str, variants: bool, secret: &Secret, rng: &mut Stream) -> (String, f64) {
    let (head, seed) = if variants {
        let v = derive(lab, student, secret).expect("valid id");
        (format!("lab = {}\nstudent = \"{student}\"\n", lab.number), v.seed)
    } else {
        let seed = rng.range_inclusive(1, 20);
        (format!("lab = \"{}\"\nseed = {seed}\n", lab.code()), seed)
    };
    let solved = lab.solve(seed, &Injection::default()).expect("lab solves");
    let mut text = format!("{head}\n[answers]\n");
    let mut score = 0.0;
    for (q, v) in &solved.answers {
        match rng.below(8) {
            0 => continue,
            1 => {
                let wrong = match q.kind {
                    Kind::Number { .. } => "\"many\"",
                    Kind::List | Kind::Set | Kind::Text => "7",
                    Kind::YesNo => "\"maybe\"",
                };
                text.push_str(&format!("{} = {wrong}\n", q.id));
            }
            _ => {
                let value = match v {
                    Value::Null => toml::Value::String("none".into()),
                    other => other.to_toml(),
                };
                text.push_str(&format!("{} = {value}\n", q.id));
                score += f64::from(q.points);
            }
        }
    }
    (text, score)
}

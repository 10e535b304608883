//! Answers files: what a student submits, and the template they start from.

use crate::lab::{Diag, Lab};
use serde::Deserialize;
use toml::Spanned;

/// Which lab an answers file is for: its number or its slug.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum LabRef {
    Number(u32),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    lab: Spanned<LabRef>,
    seed: Option<Spanned<u64>>,
    student: Option<Spanned<String>>,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    answers: toml::Table,
}

#[derive(Clone, Debug)]
pub struct AnswersFile {
    pub file: String,
    pub lab: LabRef,
    pub seed: Option<u64>,
    /// The `--set` overrides the run was made under.
    pub set: Vec<String>,
    /// An instructor-issued variant: the student id, in place of a seed.
    pub student: Option<String>,
    pub answers: toml::Table,
    text: String,
    lab_span: std::ops::Range<usize>,
    seed_span: Option<std::ops::Range<usize>>,
    student_span: Option<std::ops::Range<usize>>,
}

/// Larger than any honest answers file; a guard against feeding in a binary.
pub const MAX_BYTES: usize = 1 << 20;

impl AnswersFile {
    pub fn read(path: &std::path::Path) -> Result<AnswersFile, Diag> {
        let file = path.display().to_string();
        let text = read_text(path).map_err(|e| Diag::whole_file(&file, e))?;
        AnswersFile::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<AnswersFile, Diag> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let d = Diag::from_toml(file, text, &e);
            if d.message.contains("did not match any variant") {
                Diag { message: "`lab` must be the lab's number (2) or slug (\"retry\")".into(), ..d }
            } else {
                d
            }
        })?;
        if let (Some(_), Some(student)) = (&raw.seed, &raw.student) {
            return Err(Diag::at(
                file,
                text,
                Some(student.span()),
                "an answers file names either `seed` or `student`, not both",
            ));
        }
        let (student, student_span) = match raw.student {
            Some(s) => {
                let span = s.span();
                let id = crate::lab::variant::normalize_student(s.get_ref())
                    .map_err(|e| Diag::at(file, text, Some(span.clone()), e))?;
                (Some(id), Some(span))
            }
            None => (None, None),
        };
        Ok(AnswersFile {
            file: file.to_string(),
            lab_span: raw.lab.span(),
            lab: raw.lab.into_inner(),
            seed_span: raw.seed.as_ref().map(Spanned::span),
            seed: raw.seed.map(Spanned::into_inner),
            set: raw.set,
            student,
            student_span,
            answers: raw.answers,
            text: text.to_string(),
        })
    }

    /// An error at the `lab` key.
    pub fn at_lab(&self, message: impl Into<String>) -> Diag {
        Diag::at(&self.file, &self.text, Some(self.lab_span.clone()), message)
    }

    /// An error at the `seed` key (or the top of the file).
    pub fn at_seed(&self, message: impl Into<String>) -> Diag {
        Diag::at(&self.file, &self.text, self.seed_span.clone(), message)
    }

    /// An error at the `student` key (or the top of the file).
    pub fn at_student(&self, message: impl Into<String>) -> Diag {
        Diag::at(&self.file, &self.text, self.student_span.clone(), message)
    }

    /// Checks that this file answers `lab`.
    pub fn check_lab(&self, lab: &Lab) -> Result<(), Diag> {
        let ok = match &self.lab {
            LabRef::Number(n) => *n == lab.number,
            LabRef::Name(s) => {
                let s = s.trim().to_lowercase();
                s == lab.slug || s == lab.code() || s.parse::<u32>().ok() == Some(lab.number)
            }
        };
        if ok {
            return Ok(());
        }
        let named = match &self.lab {
            LabRef::Number(n) => format!("lab {n}"),
            LabRef::Name(s) => format!("lab \"{s}\""),
        };
        Err(Diag::at(
            &self.file,
            &self.text,
            Some(self.lab_span.clone()),
            format!(
                "this answers file is for {named}, not lab {} {}; check it against its own lab",
                lab.code(),
                lab.title
            ),
        ))
    }
}

/// Reads a file that should hold TOML text, refusing what cannot be one: a
/// folder or other non-file, more than [`MAX_BYTES`], or bytes that are not
/// UTF-8 text. Only the first `MAX_BYTES + 1` bytes are ever read.
pub fn read_text(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read answers file: {}", plain_io(&e)))?;
    if meta.is_dir() {
        return Err("cannot read answers file: it is a folder, not a file".into());
    }
    if !meta.is_file() {
        // A FIFO or device could block or never end.
        return Err("cannot read answers file: it is not a regular file".into());
    }
    if meta.len() > MAX_BYTES as u64 {
        return Err(format!("answers file is {} bytes; the limit is {MAX_BYTES} (1 MiB)", meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read answers file: {}", plain_io(&e)))?;
    if bytes.len() > MAX_BYTES {
        return Err(format!("answers file is over {MAX_BYTES} bytes (1 MiB), the limit"));
    }
    if bytes.contains(&0) {
        return Err("answers file is binary, not UTF-8 text (is it the right file?)".into());
    }
    String::from_utf8(bytes).map_err(|_| "answers file is not UTF-8 text (is it the right file?)".into())
}

/// An I/O error without Rust's "(os error 2)" suffix.
fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s,
    }
}

/// The answers skeleton for a lab at a seed: every question as a commented
/// blank, in order.
pub fn template(lab: &Lab, seed: u64) -> String {
    let mut s = format!(
        "# Answers for lab {} ({}), seed {seed}.\n# Fill in each answer, then run: distlab check {} answers.toml\n",
        lab.code(),
        lab.title,
        lab.cli_name()
    );
    s.push_str(&format!("lab = {}\nseed = {seed}\n", lab.number));
    s.push_str(&set_line(lab));
    s.push_str("\n[answers]\n");
    s.push_str(&blanks(lab));
    s
}

/// `set = [...]` when the lab was loaded under overrides, so check re-runs them.
fn set_line(lab: &Lab) -> String {
    if lab.overrides.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = lab.overrides.iter().map(|o| toml::Value::String(o.clone()).to_string()).collect();
    format!("set = [{}]\n", quoted.join(", "))
}

/// The answers skeleton for a student's variant: it names the student, never
/// the seed, and shows the variant code to match against the sheet.
pub fn student_template(lab: &Lab, variant: &crate::lab::variant::Variant) -> String {
    let mut s = format!(
        "# Answers for lab {} ({}), variant {} for student {}.\n# Fill in each answer and hand it in as your instructor asks.\n",
        lab.code(),
        lab.title,
        variant.code,
        variant.student
    );
    s.push_str(&format!("lab = {}\nstudent = {}\n", lab.number, toml::Value::from(variant.student.as_str())));
    s.push_str(&set_line(lab));
    s.push_str("\n[answers]\n");
    s.push_str(&blanks(lab));
    s
}

fn blanks(lab: &Lab) -> String {
    let mut s = String::new();
    for (i, q) in lab.questions.iter().enumerate() {
        let ask = crate::render::wrap(&format!("[{}] {}", i + 1, q.ask), "# ");
        s.push('\n');
        s.push_str(&ask);
        s.push_str(&format!("#     {}: {}\n", q.kind, q.kind.how_to_answer()));
        s.push_str(&format!("{} = \"\"\n", q.id));
    }
    s
}

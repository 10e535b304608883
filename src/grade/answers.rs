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
    seed: Option<u64>,
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
    pub answers: toml::Table,
    text: String,
    lab_span: std::ops::Range<usize>,
}

/// Larger than any honest answers file; a guard against feeding in a binary.
const MAX_BYTES: usize = 1 << 20;

impl AnswersFile {
    pub fn read(path: &std::path::Path) -> Result<AnswersFile, Diag> {
        let file = path.display().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| Diag::whole_file(&file, format!("cannot read answers file: {e}")))?;
        if bytes.len() > MAX_BYTES {
            return Err(Diag::whole_file(
                &file,
                format!("answers file is {} bytes; the limit is {MAX_BYTES}", bytes.len()),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Diag::whole_file(&file, "answers file is not UTF-8 text (is it the right file?)"))?;
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
        Ok(AnswersFile {
            file: file.to_string(),
            lab_span: raw.lab.span(),
            lab: raw.lab.into_inner(),
            seed: raw.seed,
            set: raw.set,
            answers: raw.answers,
            text: text.to_string(),
        })
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
    if !lab.overrides.is_empty() {
        let quoted: Vec<String> = lab.overrides.iter().map(|o| toml::Value::String(o.clone()).to_string()).collect();
        s.push_str(&format!("set = [{}]\n", quoted.join(", ")));
    }
    s.push_str("\n[answers]\n");
    for (i, q) in lab.questions.iter().enumerate() {
        let ask = crate::render::wrap(&format!("[{}] {}", i + 1, q.ask), "# ");
        s.push('\n');
        s.push_str(&ask);
        s.push_str(&format!("#     {}: {}\n", q.kind, q.kind.how_to_answer()));
        s.push_str(&format!("{} = \"\"\n", q.id));
    }
    s
}

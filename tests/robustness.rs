//! Bad input never panics: thousands of mangled lab and answers files must
//! each load cleanly or fail with a positioned diagnostic.

use distlab::grade::AnswersFile;
use distlab::lab::{catalog, load_str, Injection};
use distlab::sim::Stream;

const JUNK: &[&str] =
    &["", "=", "[", "]", "\"", "0", "-1", "1.5", "99999999999999999999", "x", "{", "}", ",", "\n", "ms", "@"];

fn mangle(text: &str, s: &mut Stream) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = s.below(chars.len() as u64 + 1) as usize;
    let cut = (at + s.below(8) as usize).min(chars.len());
    let junk = JUNK[s.below(JUNK.len() as u64) as usize];
    let mut out: String = chars[..at].iter().collect();
    out.push_str(junk);
    out.extend(&chars[cut..]);
    out
}

#[test]
fn mangled_lab_files_load_or_fail_cleanly() {
    let mut s = Stream::new(7, "robustness");
    let mut failed = 0;
    for src in catalog::builtin() {
        for _ in 0..300 {
            let text = mangle(src.text, &mut s);
            match load_str(&text, "mangled.toml") {
                Ok(lab) => {
                    // What loads must also run.
                    if lab.questions.len() < 20 {
                        let _ = lab.solve(lab.seed, &Injection::default());
                    }
                }
                Err(d) => {
                    failed += 1;
                    assert!(!d.message.is_empty());
                    assert!(!d.message.contains('\n'), "multi-line message: {}", d.message);
                }
            }
        }
    }
    assert!(failed > 100, "the mangling should break most files ({failed})");
}

#[test]
fn mangled_answers_files_parse_or_fail_cleanly() {
    let mut s = Stream::new(8, "robustness");
    let lab = catalog::resolve("2").unwrap();
    let good = distlab::grade::template(&lab, 1);
    for _ in 0..500 {
        let text = mangle(&good, &mut s);
        if let Ok(a) = AnswersFile::parse(&text, "a.toml") {
            if a.check_lab(&lab).is_ok() {
                let _ = distlab::grade::grade(&lab, &a);
            }
        }
    }
}

//! JUnit XML, as CI systems read it: one testsuite per graded file, one
//! testcase per question; a file that could not be graded is one testcase
//! with an error. Expected and given answers appear only where the reveal
//! policy left them in the report.

use super::{verdict_word, Export};
use crate::grade::fmt_score;
use crate::grade::report::{answer_text, value_text, Cell, ClassReport, GradedFile, QuestionResult};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

pub struct Junit;

fn case(q: &QuestionResult, class: &str) -> TestCase {
    let status = if q.correct {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let mut message =
            format!("{} ({}/{})", verdict_word(q.score, q.correct), fmt_score(q.score), fmt_score(q.max_score));
        if let Some(m) = &q.message {
            message.push_str(&format!(": {m}"));
        }
        let mut description = q.ask.clone();
        if let Some(e) = &q.expected {
            message.push_str(&format!("; expected {}, got {}", value_text(e), answer_text(&q.answer)));
            description.push_str(&format!("\nexpected: {}\nactual: {}", value_text(e), answer_text(&q.answer)));
        }
        s.set_message(message).set_type("wrong answer").set_description(description);
        s
    };
    let mut c = TestCase::new(format!("[{}] {}", q.number, q.id), status);
    c.set_classname(class);
    c
}

fn graded_suite(g: &GradedFile, prefix: &str) -> TestSuite {
    let mut suite = TestSuite::new(format!("{prefix}{}", g.code()));
    let class = format!("{}{}", prefix.replace(' ', "").replace('/', "."), g.code());
    suite.add_property(Property::new("file", g.file.as_str()));
    suite.add_property(Property::new("score", fmt_score(g.score)));
    suite.add_property(Property::new("max_score", fmt_score(g.max_score)));
    if let Some(v) = &g.variant {
        suite.add_property(Property::new("variant", v.as_str()));
    }
    suite.add_test_cases(g.questions.iter().map(|q| case(q, &class)));
    suite
}

fn error_suite(name: String, class: &str, reason: &str) -> TestSuite {
    let mut suite = TestSuite::new(name);
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
    s.set_message(reason).set_type("not graded");
    let mut c = TestCase::new("answers file", s);
    c.set_classname(class);
    suite.add_test_case(c);
    suite
}

fn finish(report: Report) -> Result<String, String> {
    report.to_string().map_err(|e| format!("cannot write JUnit XML: {e}"))
}

impl Export for Junit {
    fn single(&self, g: &GradedFile) -> Result<String, String> {
        let mut r = Report::new("distlab");
        r.add_test_suite(graded_suite(g, ""));
        finish(r)
    }

    fn class(&self, r: &ClassReport) -> Result<String, String> {
        let mut report = Report::new("distlab");
        for s in &r.students {
            let prefix = format!("{} / ", s.student);
            for (c, l) in s.labs.iter().zip(&r.labs) {
                report.add_test_suite(match c {
                    Cell::Graded(g) => graded_suite(g, &prefix),
                    Cell::Error { reason, .. } | Cell::Missing { reason, .. } => {
                        error_suite(format!("{prefix}{}", l.code), &format!("{}.{}", s.student, l.code), reason)
                    }
                });
            }
            for p in &s.other_problems {
                report.add_test_suite(error_suite(format!("{prefix}{}", p.file), &s.student, &p.reason));
            }
        }
        finish(report)
    }
}

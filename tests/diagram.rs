//! The terminal space-time diagram: golden files for every built-in lab at its
//! default seed (Unicode and ASCII, solved and in question mode), and the
//! promises a student relies on: it fits 100 columns, blanks stay blanks,
//! detail levels apply, and colour never reaches a pipe.
//!
//! The golden files live in tests/snapshots/diagrams/. After reading the diff of an
//! intended change, rewrite them with:
//!     DISTLAB_BLESS=1 cargo test --test diagram

use assert_cmd::Command;
use distlab::lab::{catalog, Injection, Lab};
use distlab::render::diagram::{diagram, picture, End, Opts};
use distlab::render::View;
use std::path::PathBuf;

fn labs() -> Vec<Lab> {
    catalog::all().expect("every built-in lab loads")
}

fn draw(lab: &Lab, view: View, ascii: bool) -> String {
    let s = lab.solve(lab.seed, &Injection::default()).expect("solves");
    diagram(&s.outcome, &s.scenario, view, Opts { ascii, colour: false })
}

const SOLVED: View = View { solve: true, detail: 0 };
const QUESTION: View = View { solve: false, detail: 0 };

/// The variants kept for every lab: file suffix, view, ASCII.
const VARIANTS: [(&str, View, bool); 3] =
    [("unicode", SOLVED, false), ("ascii", SOLVED, true), ("question", QUESTION, false)];

fn golden_path(lab: &Lab, suffix: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/diagrams")
        .join(format!("{}.{suffix}.txt", lab.code()))
}

#[test]
fn every_lab_matches_its_golden_diagrams() {
    let bless = std::env::var_os("DISTLAB_BLESS").is_some_and(|v| !v.is_empty());
    let mut differ = Vec::new();
    for lab in labs() {
        for (suffix, view, ascii) in VARIANTS {
            let got = draw(&lab, view, ascii);
            let path = golden_path(&lab, suffix);
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == got => {}
                Ok(want) => {
                    let diff = similar::TextDiff::from_lines(&want, &got)
                        .unified_diff()
                        .header(&path.display().to_string(), "this build")
                        .to_string();
                    differ.push(diff);
                }
                Err(e) => differ.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{}\nIf the change is intended: DISTLAB_BLESS=1 cargo test --test diagram",
        differ.join("\n")
    );
}

#[test]
fn diagrams_fit_100_columns_and_ascii_is_ascii() {
    for lab in labs() {
        for (suffix, view, ascii) in VARIANTS {
            let d = draw(&lab, view, ascii);
            for line in d.lines() {
                assert!(
                    line.chars().count() <= 100,
                    "{} {suffix}: {} columns:\n{line}",
                    lab.code(),
                    line.chars().count()
                );
            }
            assert_eq!(d.is_ascii(), ascii, "{} {suffix}", lab.code());
            assert!(!d.contains('\x1b'), "colour in a plain rendering");
        }
    }
}

#[test]
fn every_message_of_every_lab_is_drawn_with_its_send_and_its_fate() {
    for lab in labs() {
        let s = lab.solve(lab.seed, &Injection::default()).unwrap();
        let pic = picture(&s.outcome, &s.scenario, SOLVED);
        let d = draw(&lab, SOLVED, false);
        let sends = pic.arrows.iter().filter(|a| a.copy == 0).count();
        // Some labs keep their messages at a detail level (AFS's fetches).
        assert!(sends > 5 || lab.number >= 4, "{}", lab.code());
        assert_eq!(d.matches(" send ").count(), sends, "{}:\n{d}", lab.code());
        let arrived = pic.arrows.iter().filter(|a| matches!(a.end, End::Arrived(_))).count();
        assert_eq!(d.matches("arrives: ").count(), arrived, "{}", lab.code());
        // One arrowhead per arrival, one ✗ per loss (in the drawing and the note).
        assert_eq!(d.matches(['▶', '◀']).count(), arrived, "{}:\n{d}", lab.code());
        let lost = pic.arrows.iter().filter(|a| matches!(a.end, End::Lost(_) | End::Down(_))).count();
        let key = usize::from(lost > 0);
        assert_eq!(d.matches('✗').count(), 2 * lost + key, "{}:\n{d}", lab.code());
        // Duplicates have their own lane, drawn double.
        let copies = pic.arrows.iter().filter(|a| a.copy == 1).count();
        assert_eq!(d.matches("(network copy)").count(), copies, "{}", lab.code());
        if copies > 0 {
            assert!(d.contains('║') && d.contains('╚'), "{}:\n{d}", lab.code());
        }
    }
}

#[test]
fn question_mode_keeps_the_blanks_blank() {
    let labs = labs();
    for lab in &labs {
        let q = draw(lab, QUESTION, false);
        assert!(!q.contains("arrives: "), "{}: an arrival is an outcome:\n{q}", lab.code());
        assert!(!q.contains('▶') && !q.contains('◀'), "{}: no arrowhead lands:\n{q}", lab.code());
        let s = lab.solve(lab.seed, &Injection::default()).unwrap();
        if !picture(&s.outcome, &s.scenario, QUESTION).arrows.is_empty() {
            assert!(q.contains("? arrival is yours to work out"), "{}", lab.code());
        }
    }
    // Lab 2: the receiver's decisions are the questions.
    let q2 = draw(&labs[1], QUESTION, false);
    assert!(!q2.contains("new: deliver") && !q2.contains("suppressed"), "{q2}");
    assert!(draw(&labs[1], SOLVED, false).contains("duplicate m3: suppressed"));
    // Lab 3: reply values are secret; executions and returns are outcomes.
    let q3 = draw(&labs[2], QUESTION, false);
    assert!(q3.contains("send reply r1 = ? → client"), "{q3}");
    assert!(!q3.contains("execute") && !q3.contains("returns"), "{q3}");
    let s3 = draw(&labs[2], SOLVED, false);
    assert!(s3.contains("send reply r1 = 1 → client") && s3.contains("r4 returns 7"), "{s3}");
}

#[test]
fn detail_levels_apply_to_the_diagram_as_to_the_timeline() {
    let labs = labs();
    // Lab 1's pacing timer is a level-2 line.
    let plain = draw(&labs[0], SOLVED, false);
    let timers = draw(&labs[0], View { solve: true, detail: 2 }, false);
    assert!(!plain.contains('◷'), "{plain}");
    assert_eq!(timers.matches("pacing timer: next datagram").count(), 7, "{timers}");
    // Lab 2's internals (level 1) appear with --detail 1, and not with --detail 2.
    let internals = draw(&labs[1], View { solve: true, detail: 1 }, false);
    assert!(internals.contains("seen so far: m1"), "{internals}");
    assert!(!draw(&labs[1], View { solve: true, detail: 2 }, false).contains("seen so far"));
}

#[test]
fn faults_are_marked_on_the_lines_crash_down_restart_and_partition_band() {
    let lab = &labs()[2];
    let names = lab.node_names();
    let mut inj = Injection::default();
    let (node, at) = distlab::lab::faults::parse_node_at("server@140ms", &names).unwrap();
    inj.faults.push(distlab::lab::FaultDef::Crash { node, at });
    inj.faults.push(distlab::lab::faults::parse_partition("client/server@200ms..260ms", &names).unwrap());
    let s = lab.solve(lab.seed, &inj).unwrap();
    let d = diagram(&s.outcome, &s.scenario, SOLVED, Opts::default());
    let line = |needle: &str| d.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{d}"));
    assert!(line("CRASH: memory and timers lost").contains('╳'));
    assert!(line("timeout r4").contains('┊'), "the server's line is dotted while it is down:\n{d}");
    assert!(line("RESTART").contains('↻'));
    assert!(line("lost: server is down").contains("─✗"), "dies at the server's line:\n{d}");
    assert!(line("partition begins: client | server").contains("░░░"));
    // A message the partition cut dies against the band.
    assert!(line("send r4 add(5) (try 3)").contains("✗░░░"), "{d}");
    assert!(!line("partition heals").is_empty());
    let after = d.lines().skip_while(|l| !l.contains("partition heals")).nth(1).unwrap();
    assert!(!after.contains('░'), "the band ends when the partition heals:\n{d}");
}

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn run_and_inject_print_the_diagram_in_the_timelines_place() {
    let lab = &labs()[0];
    let out = distlab().args(["run", "1", "--diagram", "--solve"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("lab 01 lost-messages"), "{text}");
    assert!(text.contains(&draw(lab, SOLVED, false)), "{text}");
    assert!(text.contains("Questions\n") && !text.contains("\x1b["), "{text}");

    let out = distlab().args(["run", "3", "--ascii"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && text.is_ascii(), "{text}");
    assert!(text.contains("send r1 increment() (try 1) -> server: +14ms"), "{text}");

    let out = distlab().args(["inject", "3", "--crash", "server@140ms", "--diagram"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("The run with faults:") && text.contains('╳') && text.contains("changed"), "{text}");
}

#[test]
fn diagram_flags_that_cannot_work_together_are_one_clear_error() {
    for args in [
        vec!["run", "2", "--diagram", "--format", "json"],
        vec!["run", "2", "--template", "--diagram"],
        vec!["run", "2", "--diagram", "--html", "-"],
    ] {
        let out = distlab().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn messages_still_in_flight_when_the_run_ends_are_drawn_to_the_end() {
    let mut lab = labs()[0].clone();
    lab.duration = 62_000; // 62ms: m4, m6 (and its copy) and m7 are still travelling
    let s = lab.solve(lab.seed, &Injection::default()).unwrap();
    let d = diagram(&s.outcome, &s.scenario, SOLVED, Opts::default());
    let end = d
        .lines()
        .find(|l| l.contains("still in flight at 60ms: m4, m6, m6 (copy), m7"))
        .unwrap_or_else(|| panic!("{d}"));
    assert!(end.trim_start().starts_with("end"), "{end}");
    assert_eq!(end.matches('▼').count(), 4, "{d}");
}

#[test]
fn colour_on_a_terminal_only_and_never_with_no_color() {
    // `script` gives the command a terminal for stdout (util-linux, in every Debian).
    let bin = assert_cmd::cargo::cargo_bin("distlab");
    let shell = |env: &str| {
        let cmd = format!("{env} {} run 1 --diagram --solve", bin.display());
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("NO_COLOR")
            .output()
            .expect("`script` (util-linux) runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = shell("");
    assert!(tty.contains("\x1b[31m✗"), "no colour on a terminal:\n{tty}");
    let no_color = shell("NO_COLOR=1");
    assert!(no_color.contains("✗ lost") && !no_color.contains('\x1b'), "{no_color}");
    let piped = distlab().args(["run", "1", "--diagram", "--solve"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
}

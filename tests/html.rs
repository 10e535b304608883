//! The HTML report. Statically: one self-contained file with no URL in it
//! (the SVG namespace aside), deterministic, written atomically. In headless
//! Chromium (Debian's `chromium`, which .ci/run installs): after the page's
//! script ran, every node's line and every message's arrow are in the DOM,
//! a screenshot is taken, and the browser's net log shows the page asked the
//! network for nothing.
//!
//! Without Chromium the browser tests fail, loudly: install it
//! (`apt-get install -y chromium`) or point DISTLAB_CHROMIUM at a binary.

use assert_cmd::Command;
use distlab::lab::{catalog, faults, FaultDef, Injection, Lab};
use distlab::render::diagram::picture;
use distlab::render::html::{inject_report, run_report};
use distlab::render::View;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SVG_NS: &str = "http://www.w3.org/2000/svg";

fn labs() -> Vec<Lab> {
    catalog::all().expect("every built-in lab loads")
}

fn crash_and_partition(lab: &Lab) -> Injection {
    let names = lab.node_names();
    let (node, at) = faults::parse_node_at("server@140ms", &names).unwrap();
    let part = faults::parse_partition("client/server@200ms..260ms", &names).unwrap();
    Injection { faults: vec![FaultDef::Crash { node, at }, part], ..Injection::default() }
}

/// The pieces of a page that would make a browser fetch something.
fn network_references(page: &str) -> Vec<String> {
    let lower = page.to_ascii_lowercase();
    let mut found = Vec::new();
    for needle in ["http://", "https://", "src=", "href=", "<link", "@import", "url(", "//"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(needle) {
            let at = from + i;
            from = at + needle.len();
            let rest = &lower[at..];
            // Allowed: the SVG namespace the script names elements in, and
            // references to this page's own fragments (`url(#arrow)`).
            if rest.starts_with(SVG_NS) || (needle == "//" && lower[..at].ends_with(&SVG_NS[..5])) {
                continue;
            }
            if needle == "url(" && rest.starts_with("url(#") {
                continue;
            }
            // `//` starts a protocol-relative URL only inside a value
            // (`src="//cdn…"`, `url(//…)`, `'//…'`); elsewhere it opens a comment.
            if needle == "//" && !lower[..at].ends_with(['"', '\'', '(', '=']) {
                continue;
            }
            found.push(page[at..(at + 60).min(page.len())].to_string());
        }
    }
    found
}

#[test]
fn the_scanner_for_network_references_catches_them() {
    for bad in [
        "<img src=\"pic.png\">",
        "<script src=\"//cdn.example/x.js\"></script>",
        "<link rel=stylesheet href=x.css>",
        "<style>@import 'x.css'</style>",
        "<style>body { background: url(x.png) }</style>",
        "fetch(\"https://example.com/\")",
        "fetch('//example.com/x')",
    ] {
        assert!(!network_references(bad).is_empty(), "missed {bad}");
    }
    assert!(
        network_references("var NS = \"http://www.w3.org/2000/svg\";\n  // a comment\nfill: url(#hatch)").is_empty()
    );
}

#[test]
fn every_report_is_self_contained() {
    let labs = labs();
    for lab in &labs {
        let s = lab.solve(lab.seed, &Injection::default()).unwrap();
        for solve in [false, true] {
            let page = run_report(lab, &s, &Injection::default(), View { solve, detail: 0 });
            let refs = network_references(&page);
            assert!(refs.is_empty(), "{}: the page refers outside itself: {refs:?}", lab.code());
            assert_eq!(page.matches(SVG_NS).count(), 1, "only the script's namespace constant");
            assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
            assert!(page.contains("<style>") && page.contains("class=\"run-data\""));
        }
    }
    let lab = &labs[2];
    let inj = crash_and_partition(lab);
    let base = lab.solve(lab.seed, &Injection::default()).unwrap();
    let faulted = lab.solve(lab.seed, &inj).unwrap();
    let page = inject_report(lab, &base, &faulted, &inj, View { solve: true, detail: 0 });
    assert!(network_references(&page).is_empty());
}

#[test]
fn question_mode_reports_keep_answers_and_outcomes_out() {
    let lab = &labs()[2];
    let s = lab.solve(lab.seed, &Injection::default()).unwrap();
    let q = run_report(lab, &s, &Injection::default(), View { solve: false, detail: 0 });
    let a = run_report(lab, &s, &Injection::default(), View { solve: true, detail: 0 });
    // The server's executions, the client's returns and reply values are the questions.
    for outcome in ["execute r1", "r1 returns", "reply r1 = 1", "counter 11"] {
        assert!(!q.contains(outcome), "question mode shows {outcome}");
        assert!(a.contains(outcome), "solve mode lacks {outcome}");
    }
    assert!(q.contains("reply r1 = ?"));
    assert!(q.contains("<span class=\"value\">?</span>") && !q.contains("<span class=\"value\">11</span>"));
    assert!(a.contains("<span class=\"value\">11</span>"), "the counter question's answer");
    assert_eq!(q, run_report(lab, &s, &Injection::default(), View { solve: false, detail: 0 }), "deterministic");
}

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn the_cli_writes_the_report_atomically_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab2.html");
    let out = distlab().args(["run", "2", "--solve", "--html"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--html alone prints nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("wrote ") && err.contains("lab2.html"), "{err}");
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.contains("lab 02 retry"));
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["lab2.html"], "no temporary file left behind");

    // Same run, same bytes; `-` is stdout; --diagram as well prints the diagram.
    let again = distlab().args(["run", "2", "--solve", "--html", "-"]).output().unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap(), page);
    let both = distlab().args(["run", "2", "--diagram", "--html"]).arg(&path).output().unwrap();
    assert!(String::from_utf8(both.stdout).unwrap().contains("key: ● send/arrival"));

    let side = dir.path().join("inject.html");
    let out = distlab().args(["inject", "3", "--crash", "server@140ms", "--html"]).arg(&side).output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    let page = std::fs::read_to_string(&side).unwrap();
    assert!(page.contains("fault-free") && page.contains("with faults") && page.contains("panel1"));

    let nowhere = dir.path().join("no/such/dir/r.html");
    let out = distlab().args(["run", "2", "--html"]).arg(&nowhere).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: --html ") && err.contains("no such directory"), "{err}");
}

// ---------------------------------------------------------------------------
// Headless Chromium.

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("DISTLAB_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed for the HTML report tests and was not found on PATH: \
         install Debian's chromium (apt-get install -y chromium; .ci/run does this) or set DISTLAB_CHROMIUM"
    );
}

/// Runs headless Chromium on a page with a fresh profile, no network beyond
/// the machine (every host resolves to nothing), and a net log. Returns
/// stdout and the net log's text.
fn browse(page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("netlog.json");
    let mut child = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1400,3200",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium took over 90 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().unwrap();
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    (dom, log)
}

/// The URLs the page itself asked for, from Chromium's net log. The browser
/// makes requests of its own (update checks, the clock), whose initiator is
/// "not an origin"; a page opened from a file has the opaque origin "null".
fn page_requests(netlog: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(netlog).expect("the net log is JSON");
    let types = &log["constants"]["logEventTypes"];
    let start = types["URL_REQUEST_START_JOB"].as_u64().expect("the net log names its event types");
    let mut urls = Vec::new();
    for e in log["events"].as_array().expect("the net log has events") {
        if e["type"].as_u64() != Some(start) {
            continue;
        }
        let p = &e["params"];
        let Some(url) = p["url"].as_str() else { continue };
        let by_browser = p["initiator"].as_str() == Some("not an origin")
            && !p["network_isolation_key"].as_str().unwrap_or("").contains("file://");
        if !by_browser {
            urls.push(url.to_string());
        }
    }
    urls
}

/// `attr="value"` of the first element whose opening tag contains `anchor`.
fn attr(dom: &str, anchor: &str, name: &str) -> String {
    let at = dom.find(anchor).unwrap_or_else(|| panic!("no {anchor} in the rendered page"));
    let tag = &dom[dom[..at].rfind('<').unwrap()..at + dom[at..].find('>').unwrap()];
    let key = format!("{name}=\"");
    let i = tag.find(&key).unwrap_or_else(|| panic!("{anchor} has no {name}: {tag}"));
    tag[i + key.len()..].split('"').next().unwrap().to_string()
}

/// The values of `data-msg` inside panel `panel`'s element.
fn drawn_arrows(dom: &str, panel: &str) -> BTreeSet<String> {
    let start = dom.find(&format!("id=\"{panel}\"")).unwrap();
    let end = dom[start..].find("class=\"panel\"").map_or(dom.len(), |i| start + i);
    let part = &dom[start..end];
    part.split("data-msg=\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect()
}

fn expected_arrows(s: &distlab::lab::Solved, view: View) -> BTreeSet<String> {
    picture(&s.outcome, &s.scenario, view).arrows.iter().map(|a| format!("{}.{}", a.id, a.copy)).collect()
}

fn png_size(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20), bytes.len())
}

struct Case {
    name: &'static str,
    page: String,
    panels: Vec<(String, Vec<String>, BTreeSet<String>)>,
}

fn cases() -> Vec<Case> {
    let labs = labs();
    let mut out = Vec::new();
    for (lab, solve) in [(&labs[1], true), (&labs[2], false)] {
        let s = lab.solve(lab.seed, &Injection::default()).unwrap();
        let view = View { solve, detail: 0 };
        out.push(Case {
            name: if solve { "lab2-solved" } else { "lab3-question" },
            page: run_report(lab, &s, &Injection::default(), view),
            panels: vec![("panel0".into(), lab.node_names(), expected_arrows(&s, view))],
        });
    }
    let lab = &labs[2];
    let inj = crash_and_partition(lab);
    let view = View { solve: true, detail: 0 };
    let base = lab.solve(lab.seed, &Injection::default()).unwrap();
    let faulted = lab.solve(lab.seed, &inj).unwrap();
    out.push(Case {
        name: "lab3-inject",
        page: inject_report(lab, &base, &faulted, &inj, view),
        panels: vec![
            ("panel0".into(), lab.node_names(), expected_arrows(&base, view)),
            ("panel1".into(), lab.node_names(), expected_arrows(&faulted, view)),
        ],
    });
    out
}

#[test]
fn chromium_draws_every_node_line_and_every_message_arrow_and_fetches_nothing() {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in cases() {
        let page = dir.path().join(format!("{}.html", case.name));
        std::fs::write(&page, &case.page).unwrap();

        let (dom, netlog) = browse(&page, &["--dump-dom"]);
        assert!(
            dom.contains("data-panels=\""),
            "{}: the script did not run:\n{}",
            case.name,
            &dom[..dom.len().min(400)]
        );
        for (panel, nodes, arrows) in &case.panels {
            let anchor = format!("id=\"{panel}\"");
            assert_eq!(attr(&dom, &anchor, "data-nodes"), nodes.len().to_string(), "{}", case.name);
            assert_eq!(attr(&dom, &anchor, "data-total-arrows"), arrows.len().to_string(), "{}", case.name);
            assert_eq!(attr(&dom, &anchor, "data-drawn-arrows"), arrows.len().to_string(), "{}", case.name);
            let panel_dom = &dom[dom.find(&anchor).unwrap()..];
            for n in nodes {
                let line = format!("<g class=\"node\" data-node=\"{n}\"><line class=\"node-line\"");
                assert!(panel_dom.contains(&line), "{} {panel}: no line for node {n}", case.name);
            }
            assert_eq!(&drawn_arrows(&dom, panel), arrows, "{} {panel}: arrows drawn", case.name);
        }
        if case.name == "lab2-solved" {
            // Hovering shows a message's full content and fate: the text is in the drawn DOM.
            let tip = attr(&dom, "data-msg=\"1.0\"", "data-tip");
            for part in ["m1 (try 1)", "sender → receiver", "sent 0ms; the network: +16ms", "arrived 16ms"] {
                assert!(tip.contains(part), "tooltip of m1 lacks {part:?}: {tip}");
            }
            let lost = attr(&dom, "class=\"msg dropped lost\"", "data-tip");
            assert!(lost.contains("m2 (try 1)") && lost.contains("lost: the network dropped it"), "{lost}");
        }
        let requests = page_requests(&netlog);
        assert!(requests.is_empty(), "{}: the page made network requests: {requests:?}", case.name);

        let png = shots.join(format!("{}.png", case.name));
        let _ = std::fs::remove_file(&png);
        browse(&page, &[&format!("--screenshot={}", png.display())]);
        let (w, h, bytes) = png_size(&png);
        assert_eq!((w, h), (1400, 3200), "{}", png.display());
        assert!(bytes > 40_000, "{}: {bytes} bytes: a blank page?", png.display());
        eprintln!("screenshot: {}", png.display());
    }
}

#[test]
fn the_net_log_check_sees_a_page_that_does_fetch() {
    // Without this, a net log check that never matches would pass forever.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fetches.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><img src=\"http://example.invalid/a.png\">\
         <script>fetch('https://example.invalid/b.json').catch(function(){})</script>",
    )
    .unwrap();
    let (_, netlog) = browse(&page, &["--dump-dom"]);
    let requests = page_requests(&netlog);
    assert!(requests.iter().any(|u| u.starts_with("http://example.invalid/a.png")), "{requests:?}");
}

//! Lab 04's model in scenarios small enough to work out by hand (10ms each
//! way, nothing dropped), each shown both ways: the effect, and its absence
//! when the cause is taken away. Then lab 04 itself through the CLI: disk
//! faults from `inject`, and bad values for the new keys.

use assert_cmd::Command;
use distlab::lab::{load_str, FaultDef, Injection, Lab};
use distlab::questions::{Facts, Value};
use distlab::sim::{Corruption, SEC};

/// A lab around an nfs model table; `extra` is appended (faults).
fn lab(model: &str, extra: &str) -> Lab {
    let text = format!(
        "number = 90\nslug = \"nfs-test\"\ntitle = \"t\"\nkind = \"predict\"\nseed = 1\nintro = \"t\"\nduration = \"30s\"\n\
         [model]\nname = \"nfs\"\n{model}\n[network]\nlatency = \"10ms\"\n{extra}"
    );
    load_str(&text, "test.toml").unwrap_or_else(|d| panic!("{d}"))
}

fn facts(lab: &Lab, inj: &Injection) -> Facts {
    lab.solve(1, inj).expect("solves").outcome.facts
}

fn run(model: &str, extra: &str) -> Facts {
    facts(&lab(model, extra), &Injection::default())
}

fn texts(items: &[&str]) -> Value {
    Value::texts(items.iter().copied())
}

fn entry(f: &Facts, fact: &str, key: &str) -> Value {
    match &f[fact] {
        Value::Map(m) => m.get(key).cloned().unwrap_or_else(|| panic!("{fact} has no {key}: {m:?}")),
        other => panic!("{fact} is {other:?}"),
    }
}

const CACHE: &str = r#"files = { "/a" = "old" }
script = [
    "0ms c1 open /a",
    "    c1 read /a",
    "100ms c0 open /a",
    "    c0 write /a 0 new",
    "    c0 close /a",
    "1s  c1 read /a",
    "4s  c1 read /a",
]"#;

#[test]
fn a_read_inside_the_attribute_cache_window_is_stale_and_one_after_it_is_fresh() {
    // c1's attributes come with its READ reply at 40ms. c0's WRITE lands at
    // 130ms. At 1s they are 960ms old, under 3s: c1 trusts them and its
    // cached "old". At 4s they are 3.96s old: GETATTR sees the new mtime.
    let f = run(CACHE, "");
    assert_eq!(
        f["read_values"],
        Value::Map(
            [("r1", "old"), ("r2", "old"), ("r3", "new")]
                .iter()
                .map(|(k, v)| (k.to_string(), Value::text(*v)))
                .collect()
        )
    );
    assert_eq!(f["stale_reads"], texts(&["r2"]));
    assert_eq!(f["attr_cache_reads"], texts(&["r1", "r2"]));
    assert_eq!(f["getattr_calls"], Value::Int(1));
    let Value::List(reads) = &f["reads"] else { panic!() };
    let r2 = format!("{:?}", reads[1]);
    for part in ["Int(1000)", "\"cache\"", "\"attr-cache\"", "Bool(true)", "\"c1\""] {
        assert!(r2.contains(part), "r2 lacks {part}: {r2}");
    }
    let r3 = format!("{:?}", reads[2]);
    assert!(r3.contains("\"getattr\"") && r3.contains("\"server\"") && r3.contains("Bool(false)"), "{r3}");

    // A shorter window: at 1s the attributes have expired, so r2 is fresh.
    let f = run(&format!("attr_timeout = \"500ms\"\n{CACHE}"), "");
    assert_eq!(entry(&f, "read_values", "r2"), Value::text("new"));
    assert_eq!(f["stale_reads"], Value::List(vec![]));
    assert_eq!(f["getattr_calls"], Value::Int(2));
}

#[test]
fn own_buffered_writes_are_read_back_and_only_close_sends_them() {
    let f = run(
        r#"files = { "/a" = "abcdefgh" }
script = ["c0 open /a", "c0 write /a 2 XY", "c0 read /a", "1s c1 open /a", "c1 read /a", "c1 close /a", "2s c0 close /a", "3s c1 open /a", "c1 read /a"]"#,
        "",
    );
    // c0 sees its own write at once; c1 sees it only after c0's close and its own open.
    assert_eq!(entry(&f, "read_values", "r1"), Value::text("abXYefgh"));
    assert_eq!(entry(&f, "read_values", "r2"), Value::text("abcdefgh"));
    assert_eq!(entry(&f, "read_values", "r3"), Value::text("abXYefgh"));
    assert_eq!(entry(&f, "calls", "WRITE"), Value::Int(1));
    assert_eq!(f["stale_reads"], Value::List(vec![]), "r2 was not stale: the server had no new data yet");
}

#[test]
fn a_retried_remove_reports_enoent_although_the_file_was_removed() {
    // The replies to c0 are cut until 300ms: tries at 0, 200 and 400ms all
    // execute; only the third reply gets through, and it says ENOENT.
    let cut = "[[fault]]\nat = \"0ms\"\nuntil = \"300ms\"\npartition = [[\"server\"], [\"c0\"]]\noneway = true\n";
    let model = r#"files = { "/a" = "x" }
script = ["0ms c0 remove /a", "1s c0 create /b", "2s c1 create /b"]"#;
    let f = run(model, cut);
    assert_eq!(entry(&f, "results", "1"), Value::text("ENOENT"));
    assert_eq!(f["retried_remove_result"], Value::text("ENOENT"));
    assert_eq!(entry(&f, "executions", "REMOVE"), Value::Int(3));
    assert_eq!(entry(&f, "calls", "REMOVE"), Value::Int(1));
    assert_eq!(f["retransmissions"], Value::Int(2));
    assert_eq!(entry(&f, "file_contents", "/a"), Value::Null, "the first try removed it");
    assert_eq!(entry(&f, "file_generations", "/a"), Value::Null);
    assert_eq!(entry(&f, "results", "2"), Value::text("ok"));
    assert_eq!(entry(&f, "results", "3"), Value::text("EEXIST"), "CREATE is not idempotent either");

    // Without the cut, the one try succeeds and says so.
    let f = run(model, "");
    assert_eq!(entry(&f, "results", "1"), Value::text("ok"));
    assert_eq!(f["retried_remove_result"], Value::Null);
    assert_eq!(entry(&f, "executions", "REMOVE"), Value::Int(1));
}

#[test]
fn a_handle_to_a_removed_and_reused_inode_is_stale() {
    let f = run(
        r#"files = { "/t" = "data" }
script = ["0ms c1 open /t", "c1 read /t", "1s c0 remove /t", "c0 create /u", "5s c1 read /t", "6s c1 close /t", "7s c1 open /u", "c1 read /u"]"#,
        "",
    );
    assert_eq!(entry(&f, "read_values", "r1"), Value::text("data"));
    assert_eq!(entry(&f, "read_values", "r2"), Value::text("ESTALE"));
    assert_eq!(entry(&f, "read_values", "r3"), Value::Null, "the new file is empty");
    assert_eq!(entry(&f, "results", "7"), Value::text("ok"));
    assert_eq!(entry(&f, "file_generations", "/u"), Value::Int(2), "/u took /t's inode, one generation on");
}

const LOG: &str = r#"files = { "/log" = "old1old2old3" }
sync = "1s"
script = [
    "200ms c0 open /log", "c0 write /log 0 new1", "c0 close /log",
    "1.2s  c0 open /log", "c0 write /log 4 new2", "c0 close /log",
    "2.2s  c0 open /log", "c0 write /log 8 new3", "c0 close /log",
    "5s    c1 open /log", "c1 read /log",
]"#;

#[test]
fn unsafe_writes_lose_an_acknowledged_write_in_a_crash_and_safe_ones_do_not() {
    // new1 reaches the media at the 1s sync; new2 is acknowledged at 1.23s
    // from the volatile cache and the crash at 1.6s takes it; new3 is sent
    // while the server is down, retried after the reboot at 2.6s, and synced.
    let crash = "[[fault]]\nat = \"1.6s\"\ncrash = \"server\"\n";
    let f = run(&format!("unsafe_writes = true\n{LOG}"), crash);
    assert_eq!(entry(&f, "file_contents", "/log"), Value::text("new1old2new3"));
    assert_eq!(entry(&f, "read_values", "r1"), Value::text("new1old2new3"));
    assert_eq!(f["lost_acknowledged_writes"], texts(&["/log@4"]));
    assert_eq!(entry(&f, "results", "6"), Value::text("ok"), "the client was told the write worked");
    assert!(matches!(f["retransmissions"], Value::Int(n) if n >= 2), "c0 retried while the server was down");

    // Safe writes: every WRITE is on the media before its reply.
    let f = run(&format!("unsafe_writes = false\n{LOG}"), crash);
    assert_eq!(entry(&f, "file_contents", "/log"), Value::text("new1new2new3"));
    assert_eq!(f["lost_acknowledged_writes"], Value::List(vec![]));

    // Unsafe writes with no crash lose nothing either.
    let f = run(&format!("unsafe_writes = true\n{LOG}"), "");
    assert_eq!(entry(&f, "file_contents", "/log"), Value::text("new1new2new3"));
    assert_eq!(f["lost_acknowledged_writes"], Value::List(vec![]));
}

#[test]
fn disk_faults_change_what_reads_return() {
    // /a is inode 2 and its data is block 9 (after the superblock and 8
    // inodes). c0's write at 130ms rewrites the block; the fault comes at 2s,
    // before r3 reads the block from the server at 4s.
    let l = lab(CACHE, "");
    let base = facts(&l, &Injection::default());
    assert_eq!(entry(&base, "file_blocks", "/a"), Value::List(vec![Value::Int(9)]));
    let fault = |kind| Injection {
        faults: vec![FaultDef::Corrupt { node: 0, block: 9, kind, at: 2 * SEC }],
        ..Injection::default()
    };
    let lse = facts(&l, &fault(Corruption::Latent));
    assert_eq!(entry(&lse, "read_values", "r3"), Value::text("EIO"));
    assert_eq!(entry(&lse, "read_values", "r2"), Value::text("old"), "r2 came from c1's cache");
    assert_eq!(entry(&lse, "file_contents", "/a"), Value::text("EIO"));
    let flip = facts(&l, &fault(Corruption::BitFlip));
    let Value::Text(r3) = entry(&flip, "read_values", "r3") else { panic!() };
    assert_ne!(r3, "new");
    // One flipped bit: either one printable letter changed, or a byte now shown as \xNN.
    let same = r3.chars().zip("new".chars()).filter(|(a, b)| a == b).count();
    assert!(same == 2 || r3.contains("\\x"), "{r3}");
    // A fault after the last read changes no read.
    let late = Injection {
        faults: vec![FaultDef::Corrupt { node: 0, block: 9, kind: Corruption::Latent, at: 5 * SEC }],
        ..Injection::default()
    };
    assert_eq!(facts(&l, &late)["read_values"], base["read_values"]);
}

#[test]
fn a_client_crash_loses_its_buffered_writes() {
    let f = facts(
        &lab(
            r#"files = { "/a" = "old" }
script = ["0ms c0 open /a", "c0 write /a 0 new", "1s c0 close /a", "2s c1 open /a", "c1 read /a"]"#,
            "[[fault]]\nat = \"500ms\"\ncrash = \"c0\"\n[[fault]]\nat = \"600ms\"\nrestart = \"c0\"\n",
        ),
        &Injection::default(),
    );
    assert_eq!(entry(&f, "results", "3"), Value::text("EBADF"), "the restarted client has no open files");
    assert_eq!(entry(&f, "read_values", "r1"), Value::text("old"));
    assert_eq!(entry(&f, "calls", "WRITE"), Value::Int(0));
}

// --- lab 04 through the command line

fn distlab() -> Command {
    let mut c = Command::cargo_bin("distlab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = distlab().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn injected_disk_faults_change_lab_4s_answers() {
    // The block that holds /log's bytes 4..8, from the run's own facts.
    let base = json(&["run", "4", "--format", "json"]);
    let block = base["facts"]["file_blocks"]["/log"][1].as_u64().expect("/log has a second block").to_string();
    assert_eq!(base["answers"]["log"], "new1old2new3");

    let lse = json(&["inject", "4", "--lse", &format!("server:{block}@16s"), "--format", "json"]);
    assert_eq!(lse["fault_free"]["answers"], base["answers"]);
    assert_eq!(lse["faulted"]["answers"]["log"], "EIO");
    assert_eq!(lse["faulted"]["facts"]["read_values"]["r6"], "EIO", "c1's read at 17s fails");
    assert_eq!(lse["faulted"]["answers"]["r2"], base["answers"]["r2"], "earlier answers stay as they were");

    let flip = json(&["inject", "4", "--corrupt", &format!("server:{block}@16s"), "--format", "json"]);
    let got = flip["faulted"]["answers"]["log"].as_str().unwrap().to_string();
    assert_ne!(got, "new1old2new3");
    assert!(got.starts_with("new1") && got.ends_with("new3"), "only block {block} changed: {got}");

    let text = distlab().args(["inject", "4", "--lse", &format!("server:{block}@16s")]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&format!("injected: latent sector error on server block {block} at 16000ms")), "{text}");
    assert!(text.contains("changed") && text.contains("EIO"), "{text}");
}

#[test]
fn lab_4_answers_every_question_even_when_nothing_gets_through() {
    // /new is never created: its entry is there, as none.
    let lost = json(&["inject", "4", "--drop", "1", "--format", "json"]);
    assert_eq!(lost["faulted"]["answers"]["generation"], serde_json::Value::Null);
    assert_eq!(lost["faulted"]["answers"]["log"], "old1old2old3");
    assert_eq!(lost["faulted"]["answers"]["r2"], serde_json::Value::Null, "no read finished");
}

#[test]
fn lab_4_unsafe_switch_decides_whether_the_crash_loses_data() {
    let safe = json(&["run", "4", "--set", "model.unsafe_writes=false", "--format", "json"]);
    assert_eq!(safe["answers"]["lost"], serde_json::json!([]));
    assert_eq!(safe["answers"]["log"], "new1new2new3");
    let unsafe_ = json(&["run", "4", "--format", "json"]);
    assert_eq!(unsafe_["answers"]["lost"], serde_json::json!(["/log@4"]));
}

#[test]
fn lab_4_detail_levels_reveal_calls_then_cache_decisions_then_disk_blocks() {
    let out = |args: &[&str]| String::from_utf8(distlab().args(args).output().unwrap().stdout).unwrap();
    let plain = out(&["run", "4", "--solve"]);
    let calls = out(&["run", "4", "--solve", "--detail", "1"]);
    let cache = out(&["run", "4", "--solve", "--detail", "2"]);
    let disk = out(&["run", "4", "--solve", "--detail", "4"]);
    assert!(calls.contains("REMOVE(fh(1,1,1), \"tmp\") → ENOENT (no such name)") && !plain.contains("REMOVE(fh"));
    assert!(cache.contains("attr cache hit: fh(1,3,1)") && !calls.contains("attr cache hit"));
    assert!(disk.contains("disk: write block 10 (cached, not yet on the media)") && !cache.contains("disk: write"));
    assert!(!plain.contains("attr cache") && !plain.contains("disk: write"));
    // Question mode at every level: the cache decisions and hidden calls stay hidden.
    let q = out(&["run", "4", "--detail", "7"]);
    assert!(!q.contains("attr cache hit") && !q.contains("GETATTR(") && !q.contains("READ("), "question mode leaks");
    assert!(!q.contains("ENOENT (") && q.contains("REMOVE(fh(1,1,1), \"tmp\") → ?"));
    assert!(q.contains("block 4 ← inode 4: ?") && !q.contains("gen=2"), "an inode's new generation is an answer");
    assert!(disk.contains("block 4 ← inode 4: \"file gen=2 size=0"));
}

/// Bad input: exit 2, one line on stderr with every needle, nothing on stdout.
fn bad_input(args: &[&str], needles: &[&str]) {
    let out = distlab().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line:\n{err}");
    assert!(out.stdout.is_empty() && !err.contains("panicked"), "{args:?}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}:\n{err}");
    }
}

#[test]
fn bad_nfs_keys_and_steps_get_one_line_and_exit_2() {
    bad_input(&["run", "4", "--set", "model.script.0=0ms c9 open /notes"], &["no client `c9`: clients are c0, c1"]);
    bad_input(
        &["run", "4", "--set", "model.script.1=c1 raed /notes"],
        &["unknown operation `raed`", "read PATH [OFFSET COUNT]"],
    );
    bad_input(&["run", "4", "--set", "model.script.1=c1 read /nope"], &["c1 has not opened /nope"]);
    bad_input(&["run", "4", "--set", "model.script.1=3 c1 read /notes"], &["time `3`", "no unit"]);
    bad_input(&["run", "4", "--set", "model.script=[]"], &["script must list from 1 to 500 steps"]);
    bad_input(
        &["run", "4", "--set", "model.attr_timout=1s"],
        &["unknown key `attr_timout`", "did you mean `attr_timeout`"],
    );
    bad_input(&["run", "4", "--set", "model.attr_timeout=3"], &["no unit"]);
    bad_input(&["run", "4", "--set", "model.clients=0"], &["clients must be from 1 to 8"]);
    bad_input(&["run", "4", "--set", "model.clients=1"], &["no client `c1`: clients are c0"]);
    bad_input(&["run", "4", "--set", "model.unsafe_writes=maybe"], &["expected true or false"]);
    bad_input(&["run", "4", "--set", "model.block_size=100"], &["block_size must be from 1 to 64"]);
    bad_input(&["run", "4", "--set", "model.inodes=3"], &["files:", "does not fit", "3 inodes"]);
    bad_input(&["run", "4", "--set", "model.sync=0ms"], &["sync must be at least 1ms, not 0ms"]);
    bad_input(&["run", "4", "--set", "model.timeout=500us"], &["timeout must be at least 1ms, not 500us"]);
    bad_input(&["run", "4", "--set", "model.files.notes=x"], &["files:", "`notes` is not a usable path"]);
    bad_input(
        &["inject", "4", "--corrupt", "server:99@1s"],
        &["--corrupt", "server has blocks 0 to 32; there is no block 99"],
    );
    bad_input(&["inject", "4", "--lse", "c0:1@1s"], &["--lse", "node `c0` has no disk; nodes with disks: server"]);
    bad_input(&["inject", "4", "--corrupt", "server:9@1s/melt"], &["unknown corruption `melt`"]);
}

#[test]
fn a_bad_step_in_a_lab_file_is_pointed_at_by_line_and_column() {
    let text =
        include_str!("../labs/04-nfs.toml").replacen("\"        c0 close /notes\"", "\"        c0 clsoe /notes\"", 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, &text).unwrap();
    let line = text.lines().position(|l| l.contains("clsoe")).unwrap() + 1;
    let col = text.lines().nth(line - 1).unwrap().find("clsoe").unwrap() + 1;
    bad_input(&["run", path.to_str().unwrap()], &[&format!("bad.toml:{line}:{col}: unknown operation `clsoe`")]);
}

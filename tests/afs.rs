//! Lab 05 (AFS) through the library: explicit workloads in afs.py's notation
//! loaded from lab files, what question mode may show, detail levels, faults,
//! and the loader's positioned errors for the model's keys.

use distlab::lab::{load_str, resolve, FaultDef, Injection, Lab};
use distlab::questions::Value;
use distlab::render::{sheet::sheet, View};

fn lab(model: &str) -> Lab {
    let text = format!(
        "number = 5\nslug = \"afs\"\ntitle = \"t\"\nkind = \"predict\"\nseed = 1\nintro = \"i\"\n\n[model]\nname = \"afs\"\n{model}\n"
    );
    load_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn facts(l: &Lab, inj: &Injection) -> distlab::questions::Facts {
    l.solve(l.seed, inj).expect("solves").outcome.facts
}

/// (client, value) of every read, in order.
fn reads(f: &distlab::questions::Facts) -> Vec<(String, i64)> {
    let Value::List(rs) = &f["reads"] else { panic!("reads is a list") };
    rs.iter()
        .map(|r| match r {
            Value::Map(m) => match (&m["client"], &m["value"]) {
                (Value::Text(c), Value::Int(v)) => (c.clone(), *v),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect()
}

fn files(f: &distlab::questions::Facts) -> Vec<(String, i64)> {
    let Value::Map(m) = &f["files"] else { panic!("files is a table") };
    m.iter().map(|(k, v)| (k.clone(), if let Value::Int(i) = v { *i } else { -1 })).collect()
}

/// (actions, schedule, files, reads as (client, value), final contents).
type Case<'a> = (&'a str, &'a str, u8, &'a [(&'a str, i64)], &'a [(&'a str, i64)]);

#[test]
fn explicit_workloads_give_the_values_afs_py_gives() {
    // Expected values from `python3 afs.py -A ACTIONS -S SCHEDULE -f FILES -c`
    // (ostep-homework, dist-afs), run on these exact cases.
    let cases: &[Case] = &[
        ("oa1:r1:c1,oa1:w1:c1", "011100", 1, &[("c0", 0)], &[("a", 1)]),
        ("oa1:w1:c1,oa1:r1:c1", "001101", 1, &[("c1", 0)], &[("a", 1)]),
        ("oa1:w1:c1,oa1:w1:c1", "011100", 1, &[], &[("a", 2)]),
        ("oa1:w1:c1,oa1:w1:c1", "001110", 1, &[], &[("a", 1)]),
        ("oa1:r1:c1:oa2:r2:c2,oa1:w1:c1", "000111000", 1, &[("c0", 0), ("c0", 1)], &[("a", 1)]),
        ("oa1:w1:oa2:r2:c2:c1,oa1:w1:c1", "001110000", 1, &[("c0", 2)], &[("a", 2)]),
        (
            "oa1:ob2:w1:w2:c2:c1,ob1:oa2:w1:w2:c1:c2,oa1:r1:ob2:r2:c1:c2",
            "012012012012012012",
            2,
            &[("c2", 0), ("c2", 1)],
            &[("a", 5), ("b", 3)],
        ),
        (
            "oa1:w1:c1:oa2:r2:c2,ob1:r1:oa2:w2:c2:c1,oa1:r1:ob2:r2:c2:c1",
            "0122",
            3,
            &[("c2", 0), ("c1", 1), ("c2", 1), ("c0", 3)],
            &[("a", 4), ("b", 1), ("c", 2)],
        ),
        (
            "ob1:r1:c1:oa2:w2:c2:ob3:r3:c3,oa1:w1:c1:ob2:w2:c2,ob1:r1:oa2:r2:c1:c2",
            "012",
            2,
            &[("c0", 1), ("c2", 1), ("c2", 2), ("c0", 4)],
            &[("a", 3), ("b", 4)],
        ),
    ];
    for (actions, schedule, n, want_reads, want_files) in cases {
        let l = lab(&format!("files = {n}\nactions = \"{actions}\"\nschedule = \"{schedule}\""));
        let f = facts(&l, &Injection::default());
        let own = |v: &[(&str, i64)]| v.iter().map(|(a, b)| (a.to_string(), *b)).collect::<Vec<_>>();
        assert_eq!(reads(&f), own(want_reads), "{actions} / {schedule}");
        assert_eq!(files(&f), own(want_files), "{actions} / {schedule}");
        assert_eq!(f["actions"], Value::text(*actions));
    }
}

#[test]
fn the_seed_does_not_matter_to_an_explicit_workload_but_shapes_a_random_one() {
    let given = lab("actions = \"oa1:w1:c1,oa1:r1:c1\"\nschedule = \"01\"");
    let a = given.solve(1, &Injection::default()).unwrap().outcome.facts;
    assert_eq!(a, given.solve(9, &Injection::default()).unwrap().outcome.facts);
    // An empty schedule is random, like afs.py's default.
    let random = lab("actions = \"oa1:w1:c1,oa1:r1:c1\"\nschedule = \"\"");
    let schedules: std::collections::BTreeSet<String> = (1..=12)
        .map(|s| random.solve(s, &Injection::default()).unwrap().outcome.facts["schedule"].to_string())
        .collect();
    assert!(schedules.len() > 3, "{schedules:?}");
    // Random actions are open, then read or write, then close, fd k for step k.
    let l = lab("clients = 2\nsteps = 3\nfiles = 2\nread_ratio = 0.5");
    let Value::Text(actions) = &facts(&l, &Injection::default())["actions"] else { panic!() };
    for client in actions.split(',') {
        let ops: Vec<&str> = client.split(':').collect();
        assert_eq!(ops.len(), 9);
        for (k, chunk) in ops.chunks(3).enumerate() {
            assert!(chunk[0].starts_with('o') && chunk[0].ends_with(&k.to_string()), "{actions}");
            assert!(chunk[1] == format!("r{k}") || chunk[1] == format!("w{k}"), "{actions}");
            assert_eq!(chunk[2], format!("c{k}"));
        }
    }
}

#[test]
fn question_mode_leaves_blanks_and_hides_the_mechanism_at_every_detail() {
    let l = resolve("5").unwrap();
    let s = l.solve(l.seed, &Injection::default()).unwrap();
    let text =
        |solve, detail| sheet(&l, &s.scenario, &Injection::default(), &s.outcome, &s.answers, View { solve, detail });
    for detail in [0, 1, 2, 4, 7] {
        let q = text(false, detail);
        let timeline: Vec<&str> =
            q.lines().skip_while(|l| !l.contains("time  server")).take_while(|l| !l.is_empty()).collect();
        assert!(timeline.len() > 20);
        for line in &timeline {
            if line.contains(" read ") {
                assert!(line.ends_with("→ ?"), "{line}");
            }
            if line.contains(" write ") {
                assert!(line.contains("): ? → "), "{line}");
            }
            if line.contains(" open ") {
                assert!(line.ends_with("): ?"), "{line}");
            }
            for leak in ["fetch", "stored", "callback", "[a:", "[b:", "hit", "miss", "invalid"] {
                assert!(!line.contains(leak), "detail {detail} leaks {leak:?}: {line}");
            }
        }
    }
    let solved = text(true, 0);
    assert!(solved.contains("s11 open a (fd 2): hit"), "{solved}");
    assert!(solved.contains("s13 read a (fd 2) → 4"));
    assert!(solved.contains("s4 write a (fd 0): 0 → 3"));
    assert!(!solved.contains("send fetch") && !solved.contains("break callback"));
    let one = text(true, 1);
    assert!(one.contains("◀── send fetch a") && one.contains("send file a = 0") && one.contains("store a = 3 (s12)"));
    assert!(!one.contains("break callback"));
    let two = text(true, 2);
    assert!(two.contains("a changed: break callbacks of c2") && two.contains("invalid (open: keeps 4 until closed)"));
    assert!(!two.contains("◀── send fetch a") && !two.contains("[a:"));
    let four = text(true, 4);
    assert!(four.contains("[a: 4 (v=0,d=0,r=1)]"), "{four}");
    assert!(!four.contains("break callback"));
}

#[test]
fn the_default_run_has_the_cases_the_questions_ask_about() {
    let l = resolve("5").unwrap();
    let f = facts(&l, &Injection::default());
    assert_eq!(f["read_values"].to_string(), "1, 4, 2, 3");
    assert_eq!(files(&f), [("a".to_string(), 5), ("b".to_string(), 6)]);
    assert_eq!(f["callbacks_broken"].to_string(), "s6, s10, s12, s23, s27");
    assert_eq!(f["outdated_reads"].to_string(), "s7, s13");
    assert_eq!(f["clobbered"].to_string(), "s9");
    assert_eq!((f["hits"].clone(), f["misses"].clone()), (Value::Int(2), Value::Int(7)));
    assert_eq!(f["hits_fresh"], Value::Bool(true));
    assert_eq!(
        f["actions"].to_string(),
        "oa0:w0:c0:ob1:r1:c1:oa2:w2:c2,ob0:r0:c0:oa1:r1:c1:ob2:w2:c2,ob0:w0:c0:oa1:w1:c1:oa2:r2:c2"
    );
    // afs.py with these actions and this schedule reads c1 1, c2 4, c0 2, c1 3
    // and ends with a = 5, b = 6.
    assert_eq!(f["schedule"].to_string(), "220012122220210012000101111");
}

#[test]
fn a_server_crash_makes_clients_revalidate_and_lost_breaks_make_stale_hits() {
    let l = resolve("5").unwrap();
    // Crash between steps: the reboot notice reaches every client before the
    // next step, s20's copy is revalidated instead of hit, values unchanged.
    let crash = Injection { faults: vec![FaultDef::Crash { node: 0, at: 1_230_000 }], ..Injection::default() };
    let base = facts(&l, &Injection::default());
    let f = facts(&l, &crash);
    assert_eq!(f["revalidated"].to_string(), "s20");
    assert_eq!(f["hits"], Value::Int(1));
    assert_eq!((f["read_values"].clone(), f["files"].clone()), (base["read_values"].clone(), base["files"].clone()));
    // A lossy network loses some breaks: some seed then shows a stale hit.
    let lossy = Injection { drop: Some(0.4), ..Injection::default() };
    let stale =
        (1..=20).filter(|s| l.solve(*s, &lossy).unwrap().outcome.facts["hits_fresh"] == Value::Bool(false)).count();
    assert!(stale >= 2, "only {stale} of 20 lossy runs had a stale hit");
}

#[test]
fn bad_afs_keys_are_reported_where_they_are() {
    let err = |model: &str| {
        let text = format!(
            "number = 5\nslug = \"afs\"\ntitle = \"t\"\nkind = \"predict\"\nseed = 1\nintro = \"i\"\n\n[model]\nname = \"afs\"\n{model}\n"
        );
        load_str(&text, "t.toml").unwrap_err().to_string()
    };
    assert_eq!(
        err("actions = \"oa1:r1:c1,oa1:w1:c1\"\nschedule = \"0120\""),
        "t.toml:11:15: schedule: schedule names client 2, but there are only clients 0 to 1"
    );
    assert_eq!(
        err("actions = \"oa1:r1:c1,o11:r1:c1\""),
        "t.toml:10:22: actions: malformed open `o11`: a file is one letter, a to z, such as oa1"
    );
    assert_eq!(
        err("files = 2\nactions = \"oa1:r1:c1,oc1:r1:c1\""),
        "t.toml:11:23: actions: `oc1` opens file c, which does not exist: the files are a to b (raise model.files)"
    );
    assert!(err("actions = \"oa1:r2:c1\"").starts_with("t.toml:10:16: actions: `r2`: client 0 has no fd 2 open"));
    assert!(err("clients = 2\nschedule = \"000\"").contains("client 1 never appears in the schedule"));
    assert_eq!(err("clients = 11"), "t.toml:10:11: clients must be from 1 to 10, not 11");
    assert_eq!(err("steps = 0"), "t.toml:10:9: steps must be from 1 to 10, not 0");
    assert_eq!(err("files = 27"), "t.toml:10:9: files must be from 1 to 26, not 27");
    assert!(err("read_ratio = 1.5").contains("probability 1.5 is out of range"));
    assert!(err("interval = \"0ms\"").contains("interval must be longer than 0ms"));
    assert!(err("client = 2").contains("unknown key `client` in [model]; did you mean `clients`?"));
    assert_eq!(
        err("clients = 10\nsteps = 10\ninterval = \"1s\""),
        "t.toml: the workload's last step is due at 299000ms, but the run lasts only 60000ms: raise `duration` or lower the model's `interval` or workload"
    );
    // Escapes make the column inexact, so the error points at the value.
    assert!(err("actions = \"oa1:\\u0072x:c1\"").starts_with("t.toml:10:11: actions: malformed action `rx`"));
}

#[test]
fn exploration_finds_a_lost_callback_break_that_makes_a_stale_hit() {
    use distlab::lab::explore;
    let l = resolve("5").unwrap();
    assert!(explore::violations(&l, l.seed, &[]).is_empty(), "the fault-free run keeps fresh-hits");
    let found = explore::explore(&l, l.seed, 300, |_| {}).found.expect("some schedule loses a break");
    assert_eq!(found.violation.invariant, "fresh-hits");
    assert!(found.violation.what.contains("from its cache and got"), "{}", found.violation.what);
    assert!(!found.shrunk.is_empty() && found.shrunk.len() <= found.original.len());
    // A server crash at any moment between steps: clients that revalidate
    // keep the promise; clients that trust their caches after the reboot break
    // it at some of those moments.
    let trusting = distlab::lab::resolve_with("5", &["model.revalidate=false".to_string()]).unwrap();
    let (mut kept, mut broke) = (0, 0);
    for k in 0..26u64 {
        let crash = [FaultDef::Crash { node: 0, at: k * 100_000 + 40_000 }];
        kept += usize::from(explore::violations(&l, l.seed, &crash).is_empty());
        broke += usize::from(!explore::violations(&trusting, trusting.seed, &crash).is_empty());
    }
    assert_eq!((kept, broke), (26, 1));
    // The one: c1 fetched b = 1 at 410ms; the crash at 440ms wipes its
    // callback, so c2's store of 2 at 500ms tells nobody, and c1's later hit
    // on b (s25) returns 1.
    let crash = [FaultDef::Crash { node: 0, at: 440_000 }];
    let v = explore::violations(&trusting, trusting.seed, &crash);
    assert_eq!(v[0].what, "s25 c1 opened b from its cache and got 1, but the server holds 2");
}

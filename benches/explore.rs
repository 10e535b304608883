//! Fault exploration throughput: schedules per second on one core, for every
//! built-in lab that declares invariants, plus lab 07 with synchronous
//! replication and a view service. Run: cargo bench --bench explore
use distlab::lab::{catalog, explore, Lab};
use std::time::Instant;

/// Draws and checks `n` schedules, best of 3; returns seconds.
fn measure(lab: &Lab, n: u64) -> f64 {
    let horizon = explore::horizon(lab, lab.seed);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        for i in 1..=n {
            let faults = explore::draw(lab, lab.seed, i, horizon);
            std::hint::black_box(explore::violations(lab, lab.seed, &faults));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let labs = match catalog::all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
    let mut rows: Vec<(String, Lab)> = labs
        .iter()
        .filter(|l| !l.invariants.is_empty())
        // What `inject --explore` runs: the lab without its own faults.
        .map(|l| (l.code(), explore::without_own_faults(l)))
        .collect();
    let sets = ["model.replication=sync".to_string(), "model.view_service=true".to_string()];
    match catalog::resolve_with("7", &sets) {
        Ok(l) => rows.push(("07 sync + lease".to_string(), explore::without_own_faults(&l))),
        Err(e) => eprintln!("error: {e}"),
    }
    println!("{:<22} {:>10} {:>10} {:>14}", "lab", "schedules", "seconds", "schedules/s");
    for (name, lab) in &rows {
        let n = 5_000u64;
        let best = measure(lab, n);
        println!("{:<22} {:>10} {:>10.3} {:>14.0}", name, n, best, n as f64 / best);
    }
}

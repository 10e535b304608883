//! Fault exploration throughput: schedules per second on one core, for every
//! built-in lab that declares invariants. Run: cargo bench --bench explore
use distlab::lab::{catalog, explore};
use std::time::Instant;

fn main() {
    let labs = match catalog::all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
    println!("{:<22} {:>10} {:>10} {:>14}", "lab", "schedules", "seconds", "schedules/s");
    for lab in labs.iter().filter(|l| !l.invariants.is_empty()) {
        let horizon = explore::horizon(lab, lab.seed);
        let n = 5_000u64;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for i in 1..=n {
                let faults = explore::draw(lab, lab.seed, i, horizon);
                std::hint::black_box(explore::violations(lab, lab.seed, &faults));
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{:<22} {:>10} {:>10.3} {:>14.0}", lab.code(), n, best, n as f64 / best);
    }
}

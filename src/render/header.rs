//! The lines that open every run, so a pasted output can be reproduced.

use crate::lab::{Injection, Lab};
use crate::models::Scenario;
use crate::sim::LinkConfig;

fn link_text(c: &LinkConfig) -> String {
    format!("latency {}, drop {}, duplicate {}", c.latency.describe(), c.drop, c.duplicate)
}

pub fn header(lab: &Lab, sc: &Scenario, inj: &Injection) -> String {
    let names = lab.node_names();
    let mut out = format!("lab {:02} {}: {}    seed {}\n", lab.number, lab.slug, lab.title, sc.seed);
    if !lab.overrides.is_empty() {
        out.push_str(&format!("set: {}\n", lab.overrides.join(", ")));
    }
    out.push_str(&format!("model {}: {}\n", lab.model.name(), lab.model.describe()));
    out.push_str(&format!("network: {}\n", link_text(&sc.link)));
    for ((a, b), c) in &sc.links {
        out.push_str(&format!("  link {} -> {}: {}\n", names[*a], names[*b], link_text(c)));
    }
    let faults: Vec<String> = lab.faults.iter().map(|f| f.describe(&names)).collect();
    if !faults.is_empty() {
        out.push_str(&format!("faults: {}\n", faults.join("; ")));
    }
    if !inj.is_empty() {
        out.push_str(&format!("injected: {}\n", inj.describe(&names).join("; ")));
    }
    out
}

// Embeds every labs/*.toml into the binary, in file-name order, so `distlab
// run 2` works from any directory.
use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=labs");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("pub const LAB_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed=labs/{f}");
        let path = dir.join(f);
        writeln!(out, "    ({f:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("labs.rs");
    std::fs::write(dest, out).unwrap();
}

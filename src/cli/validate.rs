use super::ValidateArgs;
use crate::lab::validate::validate_str;
use crate::output::emit;
use std::path::PathBuf;

pub fn validate(a: &ValidateArgs) -> anyhow::Result<u8> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut out = String::new();
    let mut unreadable = 0;
    for p in &a.paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read the folder: {e}", p.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            if found.is_empty() {
                return Err(anyhow::anyhow!("{}: no .toml files in this folder", p.display()));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let (mut bad, mut total) = (0, 0);
    for f in &files {
        let name = f.display().to_string();
        let text = match std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|b| String::from_utf8(b).map_err(|_| "the lab file is not UTF-8 text".to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                unreadable += 1;
                out.push_str(&format!("{name}: cannot read lab file: {e}\n"));
                continue;
            }
        };
        let problems = validate_str(&text, &name);
        for p in &problems {
            out.push_str(&format!("{p}\n"));
        }
        if problems.is_empty() {
            out.push_str(&format!("{name}: ok\n"));
        } else {
            bad += 1;
            total += problems.len();
            let n = problems.len();
            out.push_str(&format!("{name}: {n} problem{}\n", if n == 1 { "" } else { "s" }));
        }
    }
    if files.len() > 1 {
        out.push_str(&format!(
            "{} files: {} valid, {bad} with problems ({total} in all){}\n",
            files.len(),
            files.len() - bad - unreadable,
            if unreadable > 0 { format!(", {unreadable} unreadable") } else { String::new() }
        ));
    }
    emit(&out)?;
    Ok(if unreadable > 0 {
        super::BAD_INPUT
    } else if bad > 0 {
        super::SHORT
    } else {
        super::OK
    })
}

use crate::lab::catalog;
use crate::output::emit;
use comfy_table::{presets::NOTHING, Table};

pub fn list() -> anyhow::Result<u8> {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(vec!["lab", "slug", "title", "kind", "graded by"]);
    for lab in catalog::all()? {
        t.add_row(vec![
            format!("{:02}", lab.number),
            lab.slug.clone(),
            lab.title.clone(),
            lab.kind.to_string(),
            match &lab.tune {
                Some(t) => format!("{} goals", t.goals.len()),
                None => format!("{} questions", lab.questions.len()),
            },
        ]);
    }
    emit(&format!("{t}\n\nRun one with: distlab run 1\n"))?;
    Ok(super::OK)
}

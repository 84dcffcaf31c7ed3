//! `classified lenses list`: every lens the catalog sees, its kind, its component's stages and where it is from.

use super::source_name;
use crate::component;
use crate::error::Error;
use crate::lens::{Catalog, Lens};
use std::sync::Arc;

pub fn run(catalog: &Catalog) -> Result<(), Error> {
    let mut rows = vec![[
        "LENS".to_string(),
        "KIND".into(),
        "STAGES".into(),
        "SOURCE".into(),
    ]];
    for name in catalog.names() {
        match catalog.get(&name) {
            Ok(lens) => {
                let lens = Arc::new(lens);
                let stages = component_summary(&lens).unwrap_or_else(|e| format!("error: {e}"));
                rows.push([
                    name,
                    lens.kind.name().into(),
                    stages,
                    source_name(&lens.source),
                ]);
            }
            Err(e) => rows.push([name, "-".into(), format!("error: {e}"), "-".into()]),
        }
    }
    let widths: Vec<usize> = (0..3)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        println!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    Ok(())
}

/// "score, bucket (classified:lens@0.1.0)", "native" for a lens without a component; a model
/// lens scores with its model file: "score (model.bin)", then its component's stages if any.
fn component_summary(lens: &Arc<Lens>) -> Result<String, Error> {
    let component = match component::describe(lens, tiktoken_rs::o200k_base_singleton())? {
        None => None,
        Some(d) => {
            let stages: Vec<&str> = d.stages.iter().map(|s| s.name()).collect();
            Some(format!(
                "{} (classified:lens@{})",
                stages.join(", "),
                d.wit_version
            ))
        }
    };
    Ok(match (&lens.model, component) {
        (Some(m), None) => format!("score ({})", m.name),
        (Some(m), Some(c)) => format!("score ({}); {c}", m.name),
        (None, Some(c)) => c,
        (None, None) => "native".into(),
    })
}

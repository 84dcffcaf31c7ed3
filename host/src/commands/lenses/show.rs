//! `classified lenses show NAME`: a lens's kind, fields, labels, component (stages, buckets, limits) and prompts.

use super::source_name;
use crate::component;
use crate::error::Error;
use crate::lens::Lens;
use crate::pipeline::Stage;
use serde_json::Value;
use std::sync::Arc;

pub fn run(lens: &Lens) -> Result<(), Error> {
    let lens = Arc::new(lens.clone());
    println!("lens:       {}", lens.name);
    println!("kind:       {}", lens.kind.name());
    println!("source:     {}", source_name(&lens.source));
    println!("inputs:     {}", lens.input_fields.join(", "));
    println!("function:   {}", lens.function_name);
    println!("scores:     {}", lens.score_labels.join(", "));
    println!(
        "rationales: {}",
        if lens.rationale_labels.is_empty() {
            "-".into()
        } else {
            lens.rationale_labels.join(", ")
        }
    );
    if let Some(description) = lens.config.get("description").and_then(Value::as_str) {
        println!("about:      {description}");
    }
    if let Some(m) = &lens.model {
        println!("model:      {}", super::model_line(m));
        if let Some(from) = lens.config.get("trained_from") {
            println!("trained on: {from}");
        }
    }
    match component::describe(&lens, tiktoken_rs::o200k_base_singleton())? {
        None => println!("component:  none (every stage native)"),
        Some(d) => {
            let stages: Vec<&str> = d.stages.iter().map(|s| s.name()).collect();
            println!(
                "component:  {} ({} bytes, classified:lens@{})",
                lens.component.as_ref().map_or("", |c| &c.name),
                d.size,
                d.wit_version
            );
            println!("stages:     {}", stages.join(", "));
            if !d.bucket_names.is_empty() {
                // The host uses a component's bucket names only with its bucket stage: say so
                // rather than list names no row can get.
                let unused = if d.stages.contains(&Stage::Bucket) {
                    ""
                } else {
                    " (unused: the component does not list the bucket stage)"
                };
                println!("buckets:    {}{unused}", d.bucket_names.join(", "));
            }
            println!(
                "limits:     {} ms per call, {} MiB memory, {} KiB output",
                d.limits.time_ms, d.limits.memory_mb, d.limits.output_kb
            );
        }
    }
    for (title, template) in [
        ("system prompt", &lens.system_template),
        ("user prompt", &lens.prompt_template),
    ] {
        if !template.is_empty() {
            println!("\n--- {title} ---\n{}", template.trim_end());
        }
    }
    Ok(())
}

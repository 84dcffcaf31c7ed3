//! `classified lenses check PATH`: config, templates, schema, component (loads, WIT version, the stages
//! it lists agree with the lens), then a smoke run of every stage the lens uses without a model, on
//! the folder's `fixtures/rows.jsonl` or, without one, on a made-up row.

use super::fields::{self, RowFields};
use super::{context, scores_json};
use crate::component;
use crate::error::Error;
use crate::lens::{Lens, LensKind, LensSource};
use crate::pipeline::{Prepared, Stage, Stages};
use serde_json::{Value, json};

pub fn run(lens: Lens) -> Result<(), Error> {
    let folder = match &lens.source {
        LensSource::Dir(dir) => Some(dir.clone()),
        LensSource::Builtin => None,
    };
    println!(
        "ok  config.json: {} lens, input fields {}",
        lens.kind.name(),
        lens.input_fields.join(", ")
    );
    println!(
        "ok  function.json: function `{}`, scores {}",
        lens.function_name,
        lens.score_labels.join(", ")
    );
    if lens.kind.asks_model() {
        println!("ok  system.jinja, prompt.jinja: parse, and use only the input fields");
    }
    if let Some(m) = &lens.model {
        println!("ok  {}", super::model_line(m));
    }
    let ctx = context(lens);
    let stages = component::stages_for(ctx.clone())?;
    let lens = &ctx.lens;
    if let Some(d) = component::describe(lens, ctx.bpe.get())? {
        let names: Vec<&str> = d.stages.iter().map(|s| s.name()).collect();
        println!(
            "ok  component {}: loads, classified:lens@{}, stages {}, {} bytes",
            lens.component.as_ref().map_or("", |c| &c.name),
            d.wit_version,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
            d.size
        );
        listed_stages_fit(lens, &d.stages, &d.bucket_names)?;
    }

    let fixtures = folder.map(|f| f.join("fixtures/rows.jsonl"));
    let (source, text) = match fixtures.map(std::fs::read_to_string) {
        Some(Ok(text)) => ("fixtures row", text),
        _ => {
            println!("--  no fixtures/rows.jsonl: smoke run on one made-up row");
            ("made-up row", made_up_row(lens).to_string())
        }
    };
    let mut failures = Vec::new();
    for (row, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        match smoke(stages.as_ref(), row as u64, line) {
            Ok(outcome) => println!("ok  {source} {row}: {outcome}"),
            Err(e) => {
                println!("ERR {source} {row}: {e}");
                failures.push(row);
            }
        }
    }
    if failures.is_empty() {
        println!("lens `{}` passed its checks", lens.name);
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "lens `{}` failed its smoke run ({source}s {failures:?}); the lines above say why",
            lens.name
        )))
    }
}

/// The stages a component lists (its `describe`) must be the ones the lens needs: a stage it
/// implements but leaves out is never called, so say so here rather than fail every row of a run.
fn listed_stages_fit(lens: &Lens, listed: &[Stage], bucket_names: &[String]) -> Result<(), Error> {
    let sdk_hint = "in Rust, export the lens with classified-lens 0.1's export_lens!, which lists the stages the lens implements";
    if lens.kind == LensKind::Local && !listed.contains(&Stage::Score) {
        return Err(Error::Usage(format!(
            "lens `{}` is a local lens, but its component does not list the score stage, so no row could be rated; list score in the component's describe ({sdk_hint})",
            lens.name
        )));
    }
    if !bucket_names.is_empty() && !listed.contains(&Stage::Bucket) {
        return Err(Error::Usage(format!(
            "lens `{}`: its component names buckets ({}) but does not list the bucket stage, so they would never be used; list bucket in the component's describe ({sdk_hint})",
            lens.name,
            bucket_names.join(", ")
        )));
    }
    Ok(())
}

/// A row for a lens without fixtures: a sentence in every input field and, for a model lens, a
/// valid answer made from `function.json` (each score at its minimum, each rationale a word).
fn made_up_row(lens: &Lens) -> Value {
    let mut row = serde_json::Map::new();
    for field in &lens.input_fields {
        row.insert(
            field.clone(),
            json!("Photosynthesis turns light, water and carbon dioxide into sugar and oxygen. Plants store the sugar as starch and use it to grow."),
        );
    }
    if lens.kind.asks_model() {
        let properties = &lens.function["parameters"]["properties"];
        let mut arguments = serde_json::Map::new();
        for label in &lens.score_labels {
            let schema = &properties[label];
            let value = schema["enum"]
                .get(0)
                .cloned()
                .or_else(|| schema.get("minimum").cloned())
                .or_else(|| schema.get("maximum").cloned())
                .unwrap_or(json!(1));
            arguments.insert(label.clone(), value);
        }
        for label in &lens.rationale_labels {
            arguments.insert(label.clone(), json!("made up by lenses check"));
        }
        row.insert("arguments".into(), Value::Object(arguments));
    }
    Value::Object(row)
}

/// Run one fixture row through the stages a lens uses without a model. A row is a JSON object of
/// input fields; for a model lens an `"arguments"` member stands in for the model's answer.
fn smoke(stages: &dyn Stages, row: u64, line: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let lens = &stages.context().lens;
    let fields = match fields::read(&value, &lens.input_fields)? {
        RowFields::Text(fields) => fields,
        RowFields::Skip(reason) => return Ok(format!("skipped ({reason})")),
    };
    let chunk = if !lens.kind.asks_model() {
        stages.score(row, &fields).map_err(|e| e.to_string())?
    } else {
        let prepared = stages.preprocess(row, &fields).map_err(|e| e.to_string())?;
        let Some(arguments) = value.get("arguments") else {
            return Ok(format!("preprocess: {}", describe_prepared(&prepared)));
        };
        let arguments = match arguments {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        stages
            .postprocess(row, &arguments)
            .map_err(|e| e.to_string())?
    };
    let scores = stages
        .aggregate(row, std::slice::from_ref(&chunk))
        .map_err(|e| e.to_string())?;
    let bucket = stages.bucket(row, &scores).map_err(|e| e.to_string())?;
    Ok(format!("{} -> {bucket}", scores_json(lens, &chunk)))
}

fn describe_prepared(prepared: &Prepared) -> String {
    match prepared {
        Prepared::Inputs(inputs) => format!("{} prompt(s)", inputs.len()),
        Prepared::Skip(reason) => format!("skipped ({reason})"),
    }
}

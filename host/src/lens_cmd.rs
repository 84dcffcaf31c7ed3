//! `classified lenses list|show|check|new|call`: inspect lenses, scaffold a new one, run one stage by hand.

use crate::component;
use crate::error::Error;
use crate::lens::{Catalog, Lens, LensKind, LensSource};
use crate::pipeline::{ChunkScores, Inputs, Prepared, RowScores, StageContext, Stages};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum LensesCommand {
    /// List the built-in and user lenses, and the stages each one's component implements.
    List,
    /// Show a lens: kind, input fields, score labels, component and prompts.
    Show {
        /// A lens name, or the path of a lens folder.
        name: String,
    },
    /// Check a lens: config, templates and their variables, function schema, component (loads, WIT
    /// version, stages, size), and a smoke run on its folder's fixtures/rows.jsonl if present.
    Check {
        /// The path of a lens folder, or a lens name.
        lens: String,
    },
    /// Create a lens folder with a component to build; as generated it builds and passes `check`.
    New {
        /// The folder to create; its last part is the lens's name.
        name: PathBuf,
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
    },
    /// Run one stage of a lens on one input and print the result as JSON.
    Call {
        /// A lens name, or the path of a lens folder.
        lens: String,
        #[arg(long, value_enum)]
        stage: CallStage,
        /// preprocess/score: a JSON object of input fields; postprocess: the function-call arguments;
        /// bucket: a JSON object of score label -> value.
        #[arg(long)]
        input: String,
    },
}

/// The language of a new lens's component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
}

/// A stage `lenses call` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CallStage {
    Preprocess,
    Postprocess,
    Bucket,
    Score,
}

pub fn run(cmd: LensesCommand, catalog: &Catalog) -> Result<(), Error> {
    match cmd {
        LensesCommand::List => list(catalog),
        LensesCommand::Show { name } => show(&catalog.get(&name)?),
        LensesCommand::Check { lens } => check(catalog.get(&lens)?),
        LensesCommand::New { name, lang } => new(&name, lang),
        LensesCommand::Call { lens, stage, input } => call(catalog.get(&lens)?, stage, &input),
    }
}

/// A stage context for running a lens outside a rating run (default chunking, the o200k tokenizer).
fn context(lens: Lens) -> StageContext {
    StageContext {
        lens: Arc::new(lens),
        chunking: Default::default(),
        bpe: crate::pipeline::chunk::Tokenizer::lazy(tiktoken_rs::o200k_base_singleton),
    }
}

fn kind_name(kind: LensKind) -> &'static str {
    match kind {
        LensKind::Pretrain => "pretrain",
        LensKind::Instruct => "instruct",
        LensKind::Local => "local",
    }
}

fn source_name(source: &LensSource) -> String {
    match source {
        LensSource::Builtin => "built-in".into(),
        LensSource::Dir(dir) => dir.display().to_string(),
    }
}

/// "score, bucket (classified:lens@0.1.0)", "native" for a lens without a component.
fn component_summary(lens: &Arc<Lens>) -> Result<String, Error> {
    Ok(
        match component::describe(lens, tiktoken_rs::o200k_base_singleton())? {
            None => "native".into(),
            Some(d) => {
                let stages: Vec<&str> = d.stages.iter().map(|s| s.name()).collect();
                format!("{} (classified:lens@{})", stages.join(", "), d.wit_version)
            }
        },
    )
}

fn list(catalog: &Catalog) -> Result<(), Error> {
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
                    kind_name(lens.kind).into(),
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

fn show(lens: &Lens) -> Result<(), Error> {
    let lens = Arc::new(lens.clone());
    println!("lens:       {}", lens.name);
    println!("kind:       {}", kind_name(lens.kind));
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
                println!("buckets:    {}", d.bucket_names.join(", "));
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

fn check(lens: Lens) -> Result<(), Error> {
    let folder = match &lens.source {
        LensSource::Dir(dir) => Some(dir.clone()),
        LensSource::Builtin => None,
    };
    println!(
        "ok  config.json: {} lens, input fields {}",
        kind_name(lens.kind),
        lens.input_fields.join(", ")
    );
    println!(
        "ok  function.json: function `{}`, scores {}",
        lens.function_name,
        lens.score_labels.join(", ")
    );
    if lens.kind != LensKind::Local {
        println!("ok  system.jinja, prompt.jinja: parse, and use only the input fields");
    }
    let ctx = context(lens);
    let stages = component::stages_for(ctx.clone())?;
    if let Some(d) = component::describe(&ctx.lens, ctx.bpe.get())? {
        let names: Vec<&str> = d.stages.iter().map(|s| s.name()).collect();
        println!(
            "ok  component {}: loads, classified:lens@{}, stages {}, {} bytes",
            ctx.lens.component.as_ref().map_or("", |c| &c.name),
            d.wit_version,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
            d.size
        );
    }
    let fixtures = folder.map(|f| f.join("fixtures/rows.jsonl"));
    let Some(Ok(text)) = fixtures.map(std::fs::read_to_string) else {
        println!("--  no fixtures/rows.jsonl: skipped the smoke run");
        return Ok(());
    };
    let mut failures = Vec::new();
    for (row, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        match smoke(stages.as_ref(), row as u64, line) {
            Ok(outcome) => println!("ok  fixtures row {row}: {outcome}"),
            Err(e) => {
                println!("ERR fixtures row {row}: {e}");
                failures.push(row);
            }
        }
    }
    if failures.is_empty() {
        println!("lens `{}` passed its checks", ctx.lens.name);
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "lens `{}` failed its smoke run on fixtures/rows.jsonl rows {:?}",
            ctx.lens.name, failures
        )))
    }
}

/// Run one fixture row through the stages a lens uses without a model. A row is a JSON object of
/// input fields; for a model lens an `"arguments"` member stands in for the model's answer.
fn smoke(stages: &dyn Stages, row: u64, line: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let lens = &stages.context().lens;
    let fields = fields_of(&value, &lens.input_fields)?;
    let chunk = if lens.kind == LensKind::Local {
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

fn fields_of(value: &Value, input_fields: &[String]) -> Result<Inputs, String> {
    input_fields
        .iter()
        .map(|f| match value.get(f) {
            Some(Value::String(s)) => Ok((f.clone(), s.clone())),
            Some(other) => Ok((f.clone(), other.to_string())),
            None => Err(format!("has no input field `{f}`")),
        })
        .collect()
}

fn describe_prepared(prepared: &Prepared) -> String {
    match prepared {
        Prepared::Inputs(inputs) => format!("{} prompt(s)", inputs.len()),
        Prepared::Skip(reason) => format!("skipped ({reason})"),
    }
}

fn scores_json(lens: &Lens, chunk: &ChunkScores) -> Value {
    let scores: serde_json::Map<String, Value> = lens
        .score_labels
        .iter()
        .cloned()
        .zip(chunk.scores.iter().map(|v| json!(v)))
        .collect();
    let rationales: serde_json::Map<String, Value> = lens
        .rationale_labels
        .iter()
        .cloned()
        .zip(chunk.rationales.iter().map(|v| json!(v)))
        .collect();
    json!({"scores": scores, "rationales": rationales})
}

fn call(lens: Lens, stage: CallStage, input: &str) -> Result<(), Error> {
    let stages = component::stages_for(context(lens))?;
    let lens = stages.context().lens.clone();
    let parse = || -> Result<Value, Error> {
        serde_json::from_str(input)
            .map_err(|e| Error::Usage(format!("--input is not valid JSON: {e}")))
    };
    let failed = |e: crate::pipeline::StageError| {
        let log = if e.log.is_empty() {
            String::new()
        } else {
            format!("\nplugin log:\n{}", e.log.trim_end())
        };
        Error::Component(format!("{e}{log}"))
    };
    let output = match stage {
        CallStage::Preprocess => {
            let fields = fields_of(&parse()?, &lens.input_fields)
                .map_err(|e| Error::Usage(format!("--input {e}")))?;
            match stages.preprocess(0, &fields).map_err(failed)? {
                Prepared::Inputs(inputs) => json!({"inputs": inputs}),
                Prepared::Skip(reason) => json!({"skip": reason}),
            }
        }
        CallStage::Postprocess => {
            scores_json(&lens, &stages.postprocess(0, input).map_err(failed)?)
        }
        CallStage::Score => {
            let fields = fields_of(&parse()?, &lens.input_fields)
                .map_err(|e| Error::Usage(format!("--input {e}")))?;
            scores_json(&lens, &stages.score(0, &fields).map_err(failed)?)
        }
        CallStage::Bucket => {
            let given = parse()?;
            let scores = lens
                .score_labels
                .iter()
                .map(|l| {
                    given
                        .get(l)
                        .and_then(Value::as_f64)
                        .ok_or_else(|| Error::Usage(format!("--input has no number `{l}`")))
                })
                .collect::<Result<Vec<f64>, Error>>()?;
            json!({"bucket": stages.bucket(0, &RowScores { scores }).map_err(failed)?})
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&output).unwrap_or_default()
    );
    Ok(())
}

/// Where the repository's SDK is, when this binary was built from a checkout: new Rust lenses depend on
/// it by path; elsewhere on the published crate.
fn sdk_dependency() -> String {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
    match sdk.canonicalize() {
        Ok(path) => format!("{{ path = {:?} }}", path.display().to_string()),
        Err(_) => "\"0.1\"".into(),
    }
}

fn new(dir: &Path, lang: Lang) -> Result<(), Error> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} is not a lens name: use letters, digits, '_' and '-'",
                dir.display()
            ))
        })?;
    if dir.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; choose a new folder",
            dir.display()
        )));
    }
    let function = json!({
        "name": name.replace('-', "_"),
        "description": format!("Scores of the {name} lens."),
        "parameters": {
            "type": "object",
            "properties": {
                "overall": {"type": "integer", "minimum": 1, "maximum": 3, "description": "1 poor, 2 fair, 3 good."},
                "reason": {"type": "string", "description": "Why."}
            },
            "required": ["overall", "reason"]
        }
    });
    let config = json!({
        "description": format!("The {name} lens (scores rows locally with its component)."),
        "input_fields": ["text"],
        "type": "local",
        "component": "lens.wasm"
    });
    let fixtures = "{\"text\": \"A short row.\"}\n{\"text\": \"A longer row with quite a few more words in it than the first one, so that it scores better.\"}\n";
    let (files, build): (Vec<(String, String)>, String) = match lang {
        Lang::Rust => {
            let crate_name = format!("{}-lens", name.replace('_', "-"));
            let wasm = crate_name.replace('-', "_");
            (
                vec![
                    (
                        "guest/Cargo.toml".into(),
                        RUST_CARGO.replace("{crate}", &crate_name).replace("{sdk}", &sdk_dependency()),
                    ),
                    ("guest/src/lib.rs".into(), RUST_LIB.into()),
                ],
                format!(
                    "cd guest && cargo build --target wasm32-wasip2 --release && cp target/wasm32-wasip2/release/{wasm}.wasm ../lens.wasm"
                ),
            )
        }
        Lang::Python => (
            vec![
                ("app.py".into(), PYTHON_APP.into()),
                ("wit/lens.wit".into(), include_str!("../../wit/v0.1.0/lens.wit").into()),
            ],
            "pip install componentize-py==0.25.1 && componentize-py -d wit -w lens componentize app -o lens.wasm"
                .into(),
        ),
    };
    let mut all = vec![
        (
            "config.json".to_string(),
            serde_json::to_string_pretty(&config).unwrap_or_default() + "\n",
        ),
        (
            "function.json".into(),
            serde_json::to_string_pretty(&function).unwrap_or_default() + "\n",
        ),
        ("fixtures/rows.jsonl".into(), fixtures.into()),
        (
            "README.md".into(),
            format!(
                "# {name}\n\nBuild the component, then check the lens:\n\n    {build}\n    classified lenses check {}\n",
                dir.display()
            ),
        ),
    ];
    all.extend(files);
    for (file, text) in all {
        let path = dir.join(&file);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
            std::fs::write(&path, text)
        };
        write().map_err(|source| Error::Output {
            path: path.display().to_string(),
            source,
        })?;
    }
    println!(
        "created lens `{name}` in {}\nbuild its component (in {}):\n    {build}\nthen: classified lenses check {}",
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(())
}

const RUST_CARGO: &str = r#"[package]
name = "{crate}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
classified-lens = {sdk}

# Its own workspace: the component builds for wasm32-wasip2, apart from any other project.
[workspace]
"#;

const RUST_LIB: &str = r#"//! A lens component: scores a row's `text` 1-3 by its length. Replace `score` with your own rules.

use classified_lens::{Error, Fields, Lens, Scored, Stage};

#[derive(Default)]
pub struct MyLens;

impl Lens for MyLens {
    const STAGES: &'static [Stage] = &[Stage::Score];

    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let text = fields.get("text").ok_or("the row has no `text` field")?;
        let words = text.split_whitespace().count();
        let overall = if words >= 12 { 3.0 } else if words >= 4 { 2.0 } else { 1.0 };
        Ok(Scored::new().score("overall", overall).rationale("reason", format!("{words} words")))
    }
}

classified_lens::export_lens!(MyLens);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_rows_score_higher() {
        let row = |t: &str| Fields::from([("text".to_string(), t.to_string())]);
        let short = MyLens.score(row("Too short.")).unwrap();
        let long = MyLens.score(row("This row has clearly more than twelve words in it, so it scores three.")).unwrap();
        assert_eq!((short.get("overall"), long.get("overall")), (Some(1.0), Some(3.0)));
    }
}
"#;

const PYTHON_APP: &str = r#""""A lens component in Python: scores a row's `text` 1-3 by its length. Replace `score` with your rules.

Build: componentize-py -d wit -w lens componentize app -o lens.wasm
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.stages import Error_Failed, Error_Unsupported, Info, Scored, Stage


class Stages(exports.Stages):
    def describe(self) -> Info:
        return Info(stages=[Stage.SCORE], bucket_names=[])

    def score(self, row, fields):
        text = json.loads(fields).get("text")
        if text is None:
            raise Err(Error_Failed("the row has no `text` field"))
        words = len(text.split())
        overall = 3.0 if words >= 12 else 2.0 if words >= 4 else 1.0
        return Scored(scores=[("overall", overall)], rationales=[("reason", f"{words} words")])

    def preprocess(self, row, fields):
        raise Err(Error_Unsupported())

    def postprocess(self, row, arguments):
        raise Err(Error_Unsupported())

    def bucket(self, row, scores):
        raise Err(Error_Unsupported())
"#;

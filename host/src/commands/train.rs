//! `classified train DATASETS COLUMNS LENS`: read LENS's ratings from the cache (never a request),
//! hold out a stratified share of the rows, train the classifier on the rest, evaluate it against
//! the LLM, and write a `model` lens folder that scores rows with no model and no API key.

mod import;
pub use import::parse_labels;

use crate::component;
use crate::error::Error;
use crate::lens::{Lens, LensKind};
use crate::pipeline::{RowScores, StageContext, Stages, chunk};
use crate::train::card::Card;
use crate::train::lens_folder::{self, Contents};
use crate::train::{TrainConfig, Training, dataset, format, metrics, split};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

pub fn run(config: TrainConfig) -> Result<(), Error> {
    match config {
        TrainConfig::Train(training) => train(*training),
        TrainConfig::Import(import) => import::run(import),
    }
}

fn train(config: Training) -> Result<(), Error> {
    let run = &config.run;
    let settings = &run.settings;
    let lens = &run.selection.lenses[0];
    lens_folder::check_target(&config.folder)?;
    let database = settings.database();
    if !database.exists() {
        return Err(Error::Usage(format!(
            "there is no cache at {}, so there are no ratings to learn; rate rows first with `{}` (or point --data-dir or DATABASE_URL at the cache summary used)",
            database.display(),
            rerun(&config, None)
        )));
    }

    let started = Instant::now();
    let gathered = dataset::gather(run, config.hyper.features)?;
    let rows = &gathered.rows;
    eprintln!(
        "Read {} row(s) from the cache in {:.1} s: {} with a rating, {} without, {} skipped or failed; {} labelled example(s).",
        rows.seen,
        started.elapsed().as_secs_f64(),
        rows.labelled,
        rows.unrated,
        rows.other,
        gathered.len()
    );
    if rows.unrated > 0 {
        eprintln!(
            "{} row(s) have no rating in the cache for model `{}`, version {}; rate them first with `{}` (or give train the --max and --seed that summary used).",
            rows.unrated,
            settings.model,
            run.version,
            rerun(&config, None)
        );
    }
    let labels = gathered.labels(&lens.score_labels);
    let suggestion = (rows.seen * 2).max(1000);
    dataset::check_enough(&gathered, &labels, &rerun(&config, Some(suggestion)))?;

    let examples = gathered.examples(&labels);
    let last = labels.len() - 1;
    let strata: Vec<u16> = (0..examples.len())
        .map(|i| examples.targets_of(i)[last])
        .collect();
    let (train_rows, test_rows) =
        split::holdout(&gathered.groups, &strata, config.holdout, config.hyper.seed);
    let (train, test) = (examples.select(&train_rows), examples.select(&test_rows));

    let fit_started = Instant::now();
    let mut fitted = crate::train::fit(
        &train,
        &labels,
        lens.input_fields.len() as u32,
        &config.hyper,
    );
    // Integer-typed labels report the nearest score value, so the bucket rule and "≥ t" filters
    // read the model's scores as they read the LLM's; "number" labels keep the expected score.
    for head in &mut fitted.heads {
        head.nearest = lens
            .score_labels
            .iter()
            .position(|l| *l == head.label)
            .is_some_and(|i| lens.score_specs[i].integer);
    }
    let train_seconds = fit_started.elapsed().as_secs_f64();
    let bytes = format::to_bytes(&fitted);
    // Evaluate the model as the file holds it (half-precision embeddings), not as trained.
    let saved = format::from_bytes(&bytes)
        .map_err(|e| Error::Internal(format!("the model just written {e}")))?;
    eprintln!(
        "Trained on {} example(s), {} held out, in {train_seconds:.2} s.",
        train.len(),
        test.len()
    );

    let stages = source_stages(lens, settings)?;
    let keep_component =
        match component::describe(&stages.context().lens, tiktoken_rs::o200k_base_singleton())? {
            Some(d) => d.stages.contains(&crate::pipeline::Stage::Bucket),
            None => false,
        };
    let bucket = |scores: &[f64]| {
        stages
            .bucket(
                0,
                &RowScores {
                    scores: scores.to_vec(),
                },
            )
            .unwrap_or_else(|e| format!("({e})"))
    };
    let metrics = metrics::evaluate(
        &saved,
        &train,
        &test,
        &labels,
        &bucket,
        &stages.bucket_names(),
    );
    println!("{}", metrics.render());

    let lens_name = config
        .folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}_model", lens.name));
    let datasets: Vec<String> = run
        .selection
        .datasets
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let card = Card {
        lens_name: &lens_name,
        source_lens: &lens.name,
        chat_model: &settings.model,
        version: run.version,
        datasets: &datasets,
        columns: &run.selection.columns,
        rows,
        examples: gathered.len(),
        unit: if lens.kind == LensKind::Pretrain {
            "chunk"
        } else {
            "row"
        },
        text_bytes: gathered.bytes,
        hyper: &config.hyper,
        holdout: config.holdout,
        model_bytes: bytes.len(),
        train_seconds,
        metrics: &metrics,
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let trained_from = json!({
        "lens": lens.name,
        "kind": lens.kind.name(),
        "chat_model": settings.model,
        "version": run.version,
    });
    let metrics_json = serde_json::to_value(&metrics)
        .map_err(|e| Error::Internal(format!("metrics do not serialize: {e}")))?;
    lens_folder::write_lens(
        &config.folder,
        lens,
        &Contents {
            model: &bytes,
            metrics: &metrics_json,
            card: &card.render(),
            keep_component,
            trained_from,
        },
    )?;
    // What was written must load as a lens, or this is a bug worth hearing about now.
    crate::lens::load_dir(&config.folder)
        .map_err(|e| Error::Internal(format!("the model lens just written does not load: {e}")))?;
    println!(
        "Wrote the model lens {} ({} byte model). Rate rows with it, with no API key: classified summary {} {} {}",
        config.folder.display(),
        bytes.len(),
        datasets.join(","),
        run.selection.columns.join(","),
        config.folder.display()
    );
    Ok(())
}

/// The source lens's stages: its bucket rule is the one the model lens keeps.
fn source_stages(
    lens: &Lens,
    settings: &crate::settings::Settings,
) -> Result<Arc<dyn Stages>, Error> {
    component::stages_for(StageContext {
        lens: Arc::new(lens.clone()),
        chunking: settings.chunking,
        bpe: chunk::lazy_tokenizer_for_model(&settings.model),
    })
}

/// The `summary` command that rates this selection into the cache train reads (with `--max N`
/// when `max` is given).
fn rerun(config: &Training, max: Option<u64>) -> String {
    let run = &config.run;
    let mut cmd = format!(
        "classified summary {} {} {} --model {} --version {}",
        run.selection
            .datasets
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
        run.selection.columns.join(","),
        run.selection.lenses[0].name,
        run.settings.model,
        run.version
    );
    if let Some(n) = max {
        cmd.push_str(&format!(" --max {n}"));
    }
    cmd
}

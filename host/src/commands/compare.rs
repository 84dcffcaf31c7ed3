//! `classified compare DATASETS COLUMNS LENS --a MODEL[@VERSION] --b MODEL[@VERSION] [--rate]`:
//! how well two raters agree on the same rows, read from the cache (`run::from_cache`); with
//! `--rate`, the rows either lacks are rated first through the normal `summary` run (`run::run`).
//! Prints tables, writes `compare.json` and adds a section to report.html.

use crate::cli::report::CompareArgs;
use crate::compare::{self, Collector, Comparison, Rater, Ratings};
use crate::config::{RunConfig, RunMode, Selection};
use crate::error::Error;
use crate::lens::Lens;
use crate::report::{self, RowSink, RunInfo};
use crate::settings::Settings;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One side of the comparison, ready to run.
struct Side {
    rater: Rater,
    config: RunConfig,
}

/// The run config of one rater: its model, version and lens, the shared rows and settings.
fn side(
    selection: &Selection,
    base: &Settings,
    limits: &crate::model::Limits,
    (model, version): (String, u32),
    lens: &Lens,
    max_usd: Option<f64>,
    out: PathBuf,
) -> Side {
    let mut settings = base.clone();
    // The cache stays where it is while this side's outputs (with --rate) go to their own folder.
    settings.database_url = Some(base.database());
    settings.data_dir = out;
    settings.model = model.clone();
    Side {
        rater: Rater {
            model,
            version,
            lens: lens.name.clone(),
        },
        config: RunConfig {
            selection: Selection {
                datasets: selection.datasets.clone(),
                columns: selection.columns.clone(),
                lenses: vec![lens.clone()],
                sample: selection.sample.clone(),
                split: selection.split.clone(),
                hub: selection.hub.clone(),
            },
            limits: limits.clone(),
            version,
            mode: RunMode::Live,
            max_usd,
            settings,
            json: false,
        },
    }
}

/// Check the arguments into the two sides; the output folder is the second value.
fn sides(args: CompareArgs, mut settings: Settings) -> Result<(Side, Side, PathBuf, bool), Error> {
    let (a_spec, b_spec, rate) = (args.a, args.b, args.rate);
    let selection = args.input.validate(&mut settings)?;
    let model = args.model.validate(&mut settings)?;
    let (lens_a, lens_b) = match selection.lenses.as_slice() {
        [one] => (one.clone(), one.clone()),
        [a, b] => (a.clone(), b.clone()),
        more => {
            return Err(Error::Usage(format!(
                "compare takes one LENS both raters use, or two (LENS_A,LENS_B), not {}",
                more.len()
            )));
        }
    };
    if lens_a.score_labels != lens_b.score_labels {
        return Err(Error::Usage(format!(
            "lenses `{}` ({}) and `{}` ({}) score different labels; compare lenses with the same score labels",
            lens_a.name,
            lens_a.score_labels.join(", "),
            lens_b.name,
            lens_b.score_labels.join(", ")
        )));
    }
    let a = compare::parse_rater("--a", a_spec.as_deref(), &settings.model, model.version)?;
    let b = compare::parse_rater("--b", b_spec.as_deref(), &settings.model, model.version)?;
    if a == b && lens_a.name == lens_b.name {
        return Err(Error::Usage(format!(
            "--a and --b are the same rater ({}@{} through {}); give two models (--a gpt-4o-mini --b gpt-4o), two versions (--a gpt-4o@1 --b gpt-4o@2) or two lenses (LENS_A,LENS_B)",
            a.0, a.1, lens_a.name
        )));
    }
    if rate {
        crate::cli::require_api_key(&selection, &settings)?;
    }
    let out = settings.data_dir.clone();
    let make = |rater, lens: &Lens, folder: &str| {
        side(
            &selection,
            &settings,
            &model.limits,
            rater,
            lens,
            model.max_usd,
            out.join(folder),
        )
    };
    let side_a = make(a, &lens_a, "compare-a");
    let side_b = make(b, &lens_b, "compare-b");
    Ok((side_a, side_b, out, rate))
}

/// `--rate`: each side through the normal run. `--max-usd` is one budget for both: B gets what A
/// left (from A's run.json).
fn rate(a: &Side, b: &mut Side) -> Result<(), Error> {
    eprintln!("Rating what {} lacks", a.rater);
    crate::runtime::block_on(crate::run::run(&a.config))?;
    if let Some(max) = b.config.max_usd {
        let spent = RunInfo::read(&a.config.settings.data_dir)?
            .and_then(|r| r.spend.usd)
            .unwrap_or(0.0);
        if spent >= max {
            return Err(Error::Budget(format!(
                "rating {} spent the whole --max-usd {max}; nothing was sent for {}: raise --max-usd and rerun (answers so far are cached)",
                a.rater, b.rater
            )));
        }
        b.config.max_usd = Some(max - spent);
    }
    eprintln!("Rating what {} lacks", b.rater);
    crate::runtime::block_on(crate::run::run(&b.config))?;
    Ok(())
}

/// Every rated row of one side, from the cache alone; and its bucket names in report order.
fn collect(side: &Side) -> Result<(Ratings, Vec<String>), Error> {
    let ratings = Arc::new(Mutex::new(Ratings::default()));
    let into = ratings.clone();
    let mut sinks = move |dataset: &str, _: &Lens| -> Result<Box<dyn RowSink>, Error> {
        Ok(Box::new(Collector::new(dataset, into.clone())))
    };
    let tallies = crate::runtime::block_on(crate::run::from_cache(&side.config, &mut sinks))?;
    let buckets = tallies
        .first()
        .map(|t| t.bucket_names.clone())
        .unwrap_or_default();
    drop(sinks);
    let ratings = Arc::try_unwrap(ratings)
        .map_err(|_| Error::Internal("a ratings collector outlived its pass".into()))?
        .into_inner()
        .expect("no collector panicked");
    Ok((ratings, buckets))
}

pub fn run(args: CompareArgs, settings: Settings) -> Result<(), Error> {
    let (a, mut b, out, with_rating) = sides(args, settings)?;
    if with_rating {
        rate(&a, &mut b)?;
    }
    let (ratings_a, buckets) = collect(&a)?;
    let (ratings_b, _) = collect(&b)?;
    let names = report::dataset_names(&a.config.selection.datasets);
    let labels = a.config.selection.lenses[0].score_labels.clone();
    let empty = Default::default();
    let comparison = Comparison {
        a: a.rater.clone(),
        b: b.rater.clone(),
        date: report::now(),
        datasets: names
            .iter()
            .map(|name| {
                compare::agreement(
                    name,
                    &labels,
                    &buckets,
                    ratings_a.rows.get(name).unwrap_or(&empty),
                    ratings_b.rows.get(name).unwrap_or(&empty),
                )
            })
            .collect(),
        labels,
    };
    println!("{}", compare::render(&comparison));
    if comparison.datasets.iter().all(|d| d.both == 0) {
        eprintln!(
            "No row is rated by both in the cache: rate them first (add --rate, or run `classified summary` with each model and --version)."
        );
    }
    let text = serde_json::to_string_pretty(&comparison).expect("the comparison serializes");
    let written = report::AtomicFile::write(
        &out.join(report::COMPARE_JSON),
        format!("{text}\n").as_bytes(),
    )?;
    eprintln!("wrote {}", written.display());
    eprintln!("wrote {}", report::write_report(&out)?.display());
    Ok(())
}

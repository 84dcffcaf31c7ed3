//! Arguments → a checked [`RunConfig`]: every flag is validated here, once, with one plain
//! sentence per mistake.

use super::{InputArgs, ModelArgs, SummaryArgs};
use crate::config::{HubOptions, RunConfig, RunMode, Selection};
use crate::data::Sample;
use crate::error::Error;
use crate::lens::Catalog;
use crate::settings::{DEFAULT_BASE_URL, Settings};
use std::path::PathBuf;

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

impl SummaryArgs {
    /// Check the arguments against the settings and the lenses they name.
    pub fn validate(self, mut settings: Settings) -> Result<RunConfig, Error> {
        let selection = self.input.validate(&mut settings)?;
        let model = self.model.validate(&mut settings)?;
        if !self.dry_run {
            require_api_key(&selection, &settings)?;
        }
        Ok(RunConfig {
            selection,
            limits: model.limits,
            version: model.version,
            mode: match (self.dry_run, self.batch) {
                (true, batch_prices) => RunMode::DryRun { batch_prices },
                (false, true) => RunMode::Batch,
                (false, false) => RunMode::Live,
            },
            max_usd: model.max_usd,
            settings,
            json: self.json,
        })
    }
}

impl InputArgs {
    /// Check what to read and the lenses it names; `--out` and `--lens-dir` override the settings.
    pub fn validate(self, settings: &mut Settings) -> Result<Selection, Error> {
        let args = self;
        if let Some(out) = args.out {
            settings.data_dir = out;
        }
        if let Some(dir) = args.lens_dir {
            settings.lens_dir = Some(dir);
        }
        let datasets: Vec<PathBuf> = split_list(&args.datasets)
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let columns = split_list(&args.columns);
        let lens_names = split_list(&args.lenses);
        if datasets.is_empty() || columns.is_empty() || lens_names.is_empty() {
            return Err(Error::Usage(
                "summary needs DATASETS, COLUMNS and LENSES, each a comma-separated list, e.g. `classified summary data.jsonl text textbook_quality`".into(),
            ));
        }
        if args.shuffle_buffer == 0 {
            return Err(Error::Usage("--shuffle-buffer must be at least 1".into()));
        }
        let catalog = Catalog::new(settings.lens_dir.iter().cloned().collect());
        let lenses = lens_names
            .iter()
            .map(|name| catalog.get(name))
            .collect::<Result<Vec<_>, _>>()?;
        for lens in &lenses {
            if lens.input_fields.len() != columns.len() {
                return Err(Error::Usage(format!(
                    "lens `{}` takes {} input field(s) ({}) but {} column(s) were given ({}); list one column per field, in that order",
                    lens.name,
                    lens.input_fields.len(),
                    lens.input_fields.join(", "),
                    columns.len(),
                    columns.join(", ")
                )));
            }
        }
        Ok(Selection {
            datasets,
            columns,
            lenses,
            sample: match args.max {
                Some(n) => Sample::Random { n, seed: args.seed },
                None => Sample::All,
            },
            split: args.split,
            hub: HubOptions {
                config: args.config,
                revision: args.revision,
                stream: args.stream,
                shuffle_buffer: args.shuffle_buffer,
            },
        })
    }
}

/// The model options, checked.
pub struct ModelChoice {
    pub limits: crate::model::Limits,
    pub version: u32,
    pub max_usd: Option<f64>,
}

impl ModelArgs {
    /// Check the model options; `--model` and `--base-url` override the settings.
    pub fn validate(self, settings: &mut Settings) -> Result<ModelChoice, Error> {
        let args = self;
        if let Some(model) = args.model {
            settings.model = model;
        }
        if let Some(url) = args.base_url {
            settings.base_url = url;
        }
        if args.workers == 0 {
            return Err(Error::Usage("--workers must be at least 1".into()));
        }
        for (flag, value) in [("--rpm", args.rpm), ("--tpm", args.tpm)] {
            if value.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(Error::Usage(format!(
                    "{flag} must be a number above 0 (a per-minute limit), or left out to follow the server's headers"
                )));
            }
        }
        if let Some(usd) = args.max_usd
            && !(usd.is_finite() && usd > 0.0)
        {
            return Err(Error::Usage(format!(
                "--max-usd {usd} is not a positive number of US dollars; give e.g. --max-usd 5"
            )));
        }
        Ok(ModelChoice {
            limits: crate::model::Limits {
                ceiling: args.workers,
                rpm: args.rpm,
                tpm: args.tpm,
                structured: args.structured,
            },
            version: args.version,
            max_usd: args.max_usd,
        })
    }
}

/// The one lens a command that takes a single LENS (`train`, `filter`) was given, or one sentence
/// naming the lenses it got.
pub fn one_lens<'s>(
    selection: &'s Selection,
    command: &str,
) -> Result<&'s crate::lens::Lens, Error> {
    match selection.lenses.as_slice() {
        [lens] => Ok(lens),
        lenses => Err(Error::Usage(format!(
            "{command} takes one LENS at a time, not {} ({}); run it once per lens",
            lenses.len(),
            lenses
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A run that will ask a model needs a key, unless it talks to a server that wants none.
pub fn require_api_key(selection: &Selection, settings: &Settings) -> Result<(), Error> {
    let needs_model = selection.lenses.iter().any(|l| l.kind.asks_model());
    // A self-hosted server (vLLM, Ollama, llama.cpp) usually wants no key; OpenAI always does.
    if needs_model
        && settings.api_key.is_none()
        && settings.base_url.trim_end_matches('/') == DEFAULT_BASE_URL
    {
        return Err(Error::Usage(
            "no API key: set OPENAI_API_KEY (or OPENAI_KEY, also read from local.env), point OPENAI_BASE_URL at a server that needs none, or add --dry-run to see what would be sent".into(),
        ));
    }
    Ok(())
}

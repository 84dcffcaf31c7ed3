//! `run.json`: what a report needs about a run that is not per row — the settings it ran with
//! (model, version, lens checksums, date, command line) and what it spent and saved by the cache.
//! Written beside `summary.csv`; `classified report` reads it back.

use super::{AtomicFile, Tally};
use crate::config::{RunConfig, RunMode};
use crate::cost::Price;
use crate::data::Sample;
use crate::error::Error;
use crate::lens::Lens;
use crate::pipeline::rate::Usage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const RUN_JSON: &str = "run.json";

/// The run's settings and spend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Version of this layout.
    pub format: u32,
    /// `summary`, `filter`, …
    pub command: String,
    /// The command line as typed (keys are never on it: they come from the environment).
    pub argv: Vec<String>,
    /// When the run ended, RFC 3339 UTC.
    pub date: String,
    pub model: String,
    pub version: u32,
    /// `live`, `batch` (or another command's mode).
    pub mode: String,
    /// `--max N` and its seed, when the run rated a sample.
    pub max: Option<usize>,
    pub seed: Option<u64>,
    pub lenses: Vec<LensInfo>,
    pub spend: Spend,
    /// Per dataset × lens: rows by status and failures by kind.
    pub outputs: Vec<OutputInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LensInfo {
    pub name: String,
    pub kind: String,
    /// sha256 of everything that decides the lens's answers: config, templates, function, component.
    pub checksum: String,
}

/// Tokens and dollars, paid in this run and saved by answers from the cache.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Spend {
    pub prompts: u64,
    pub requests: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// `None` when the model has no known price.
    pub usd: Option<f64>,
    /// What the cached answers cost when they were first paid for.
    pub saved_prompt_tokens: u64,
    pub saved_completion_tokens: u64,
    pub saved_usd: Option<f64>,
    /// Dollars per 1M input and output tokens the run was priced at.
    pub usd_per_million: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputInfo {
    pub dataset: String,
    pub lens: String,
    pub rated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub failures: BTreeMap<String, u64>,
}

impl Spend {
    pub fn new(usage: &Usage, price: Option<Price>) -> Spend {
        Spend {
            prompts: usage.prompts,
            requests: usage.requests,
            cache_hits: usage.cache_hits,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            usd: price.map(|p| p.cost(usage.prompt_tokens, usage.completion_tokens)),
            saved_prompt_tokens: usage.saved_prompt_tokens,
            saved_completion_tokens: usage.saved_completion_tokens,
            saved_usd: price
                .map(|p| p.cost(usage.saved_prompt_tokens, usage.saved_completion_tokens)),
            usd_per_million: price.map(|p| (p.input * 1e6, p.output * 1e6)),
        }
    }
}

impl OutputInfo {
    pub fn new(t: &Tally) -> OutputInfo {
        let mut failures = BTreeMap::new();
        for ((_, kind), (n, _)) in &t.failure_kinds {
            *failures.entry(kind.name().to_string()).or_default() += n;
        }
        OutputInfo {
            dataset: t.dataset.clone(),
            lens: t.lens.clone(),
            rated: t.rated,
            failed: t.failed,
            skipped: t.skipped,
            failures,
        }
    }
}

/// An argument with a URL's `user:password@` replaced by `***@`: keys never reach the command line,
/// but a `--base-url` may carry credentials, and run.json and report.html are shared.
fn redact(arg: String) -> String {
    let Some(scheme_end) = arg.find("://").map(|i| i + 3) else {
        return arg;
    };
    let rest = &arg[scheme_end..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}***{}", &arg[..scheme_end], &rest[at..]),
        None => arg,
    }
}

/// Now, as RFC 3339 UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl RunInfo {
    /// A `summary` run's info, at its end.
    pub fn for_summary(config: &RunConfig, tallies: &[Tally], price: Option<Price>) -> RunInfo {
        let mut usage = Usage::default();
        tallies.iter().for_each(|t| usage.add(&t.usage));
        let (max, seed) = match config.selection.sample {
            Sample::Random { n, seed } => (Some(n), Some(seed)),
            _ => (None, None),
        };
        RunInfo {
            format: 1,
            command: "summary".into(),
            argv: std::env::args().map(redact).collect(),
            date: now(),
            model: config.settings.model.clone(),
            version: config.version,
            mode: match config.mode {
                RunMode::Batch => "batch",
                RunMode::Live => "live",
                RunMode::DryRun { .. } => "dry-run",
            }
            .into(),
            max,
            seed,
            lenses: config.selection.lenses.iter().map(LensInfo::new).collect(),
            spend: Spend::new(&usage, price),
            outputs: tallies.iter().map(OutputInfo::new).collect(),
        }
    }

    /// Write `run.json` in `dir`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Error> {
        let text = serde_json::to_string_pretty(self).expect("run info serializes");
        AtomicFile::write(&dir.join(RUN_JSON), format!("{text}\n").as_bytes())
    }

    /// `dir/run.json`, or `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<RunInfo>, Error> {
        let path = dir.join(RUN_JSON);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Output {
                    path: path.display().to_string(),
                    source: e,
                });
            }
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Usage(format!(
                "{} is not a run.json this version of classified wrote ({e}); delete it or rerun the command that wrote it",
                path.display()
            ))
        })
    }
}

impl LensInfo {
    pub fn new(lens: &Lens) -> LensInfo {
        LensInfo {
            name: lens.name.clone(),
            kind: format!("{:?}", lens.kind).to_lowercase(),
            checksum: lens.checksum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact("--base-url=https://me:secret@llm.example/v1?x=a@b".into()),
            "--base-url=https://***@llm.example/v1?x=a@b"
        );
        assert_eq!(
            redact("http://localhost:8000/v1".into()),
            "http://localhost:8000/v1"
        );
        assert_eq!(redact("a@b.jsonl".into()), "a@b.jsonl");
    }

    #[test]
    fn run_json_round_trips_and_spend_prices_saved_tokens() {
        let usage = Usage {
            prompts: 10,
            cache_hits: 4,
            requests: 6,
            prompt_tokens: 6000,
            completion_tokens: 600,
            saved_prompt_tokens: 4000,
            saved_completion_tokens: 400,
        };
        // $0.15 / $0.60 per 1M tokens (gpt-4o-mini): 6000 in + 600 out = $0.00126; saved 4000 + 400 = $0.00084.
        let price = Price {
            input: 0.15e-6,
            output: 0.6e-6,
        };
        let spend = Spend::new(&usage, Some(price));
        assert!((spend.usd.unwrap() - 0.00126).abs() < 1e-12);
        assert!((spend.saved_usd.unwrap() - 0.00084).abs() < 1e-12);
        let info = RunInfo {
            format: 1,
            command: "summary".into(),
            argv: vec!["classified".into(), "summary".into()],
            date: now(),
            model: "gpt-4o-mini".into(),
            version: 2,
            mode: "live".into(),
            max: Some(25),
            seed: Some(42),
            lenses: Vec::new(),
            spend,
            outputs: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        info.write(dir.path()).unwrap();
        assert_eq!(RunInfo::read(dir.path()).unwrap(), Some(info));
        assert_eq!(RunInfo::read(&dir.path().join("none")).unwrap(), None);
        std::fs::write(dir.path().join(RUN_JSON), "{").unwrap();
        let err = RunInfo::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is not a run.json"), "{err}");
    }
}

//! Which files of a Hub dataset repo make which config and split, following the rules of Python
//! `datasets` (README `configs:`, then the default split patterns, then the majority format),
//! plus the layout of the auto-converted `refs/convert/parquet` branch. Pure logic: the caller
//! lists the repo and fetches README.md.

mod format;
mod parquet_branch;
mod patterns;
#[cfg(test)]
mod tests;
mod yaml;

pub use format::{Compression, Format, Kind};
pub use parquet_branch::parquet_branch_configs;

use format::{Module, format_in_module, is_data_file, winning_extension};
use patterns::{Pattern, SplitPatterns, default_split_patterns};

/// One file of the repo tree, its path relative to the repo root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    pub path: String,
    pub size: u64,
    /// The content hash the tree listing gives (its object id); `None` offline.
    pub etag: Option<String>,
}

/// A data file chosen for a split, with the format its extension gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub path: String,
    pub size: u64,
    pub format: Format,
}

/// The files of one split, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFiles {
    pub split: String,
    pub files: Vec<DataFile>,
    /// Only on the Parquet branch: the Hub converted just the first part of a huge split
    /// (`{config}/partial-{split}/…`).
    pub partial: bool,
}

/// A config and its splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub name: String,
    /// Whether this config is used when none is named.
    pub default: bool,
    pub splits: Vec<SplitFiles>,
    /// Why this config's files cannot be used (no data files, an unreadable format, a listed
    /// file that is missing). Kept rather than returned so that one broken config in a README
    /// does not hide the others; [`select`] returns it when this config is picked.
    pub problem: Option<LayoutError>,
}

/// What went wrong while resolving configs and splits; each message is one sentence naming the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Nothing readable for this config; the caller may fall back to `refs/convert/parquet`.
    #[error(
        "found no data files for config `{config}` (looked for .parquet, .arrow, .jsonl, .json, \
         .csv, .tsv and .txt files, optionally .gz or .zst compressed); the dataset's \
         refs/convert/parquet branch may hold a Parquet export of it"
    )]
    NoDataFiles { config: String },
    /// The Parquet branch has no `{config}/{split}/NNNN.parquet` files.
    #[error(
        "the refs/convert/parquet branch holds no Parquet export; the Hub has not converted this \
         dataset, so point to its files with hf://datasets/owner/name/PATH or download them"
    )]
    NoParquetExport,
    #[error(
        "split `{split}` of config `{config}` holds mostly {ext} files (the `{builder}` format), \
         which classified cannot rate; it reads Parquet, Arrow, JSON Lines, JSON, CSV, TSV and text"
    )]
    UnsupportedFormat {
        config: String,
        split: String,
        ext: String,
        builder: String,
    },
    #[error(
        "`{path}` in config `{config}` ends in {ext}, which classified cannot decompress; it \
         reads plain, .gz and .zst files"
    )]
    UnreadableFile {
        config: String,
        path: String,
        ext: String,
    },
    #[error(
        "config `{config}` lists `{pattern}`, which is not in the repo; fix data_files in README.md"
    )]
    MissingFile { config: String, pattern: String },
    #[error("`{pattern}` is not a valid file pattern ({reason}); fix data_files in README.md")]
    BadPattern { pattern: String, reason: String },
    #[error(
        "`{path}` looks like a shard of split `{split}`, but a split name may only use letters, \
         digits, `_` and single dots; rename the file or list the files in README.md"
    )]
    BadSplitName { path: String, split: String },
    /// The README front matter is malformed; the text says where.
    #[error("{0}")]
    BadReadme(String),
    #[error("README.md marks several configs as default (`{first}` and `{second}`); mark only one")]
    SeveralDefaults { first: String, second: String },
    #[error(
        "the dataset has several configs ({}) and none is the default; pick one with \
         `owner/name:CONFIG` or --config", configs.join(", ")
    )]
    NoDefaultConfig { configs: Vec<String> },
    #[error("the dataset has no config `{name}`; its configs are: {}", configs.join(", "))]
    UnknownConfig { name: String, configs: Vec<String> },
    #[error("config `{config}` has no split `{name}`; its splits are: {}", splits.join(", "))]
    UnknownSplit {
        config: String,
        name: String,
        splits: Vec<String>,
    },
}

impl Config {
    /// The split called `name`.
    pub fn split(&self, name: &str) -> Result<&SplitFiles, LayoutError> {
        self.splits
            .iter()
            .find(|s| s.split == name)
            .ok_or_else(|| LayoutError::UnknownSplit {
                config: self.name.clone(),
                name: name.to_string(),
                splits: self.split_names(),
            })
    }

    pub fn split_names(&self) -> Vec<String> {
        self.splits.iter().map(|s| s.split.clone()).collect()
    }
}

/// The configs of a repo from its file list and README.md text (`None` if it has none).
///
/// With a README `configs:` list, one config per entry, in order; the default is the only one,
/// the one named `default` or the one with `default: true` (`MetadataConfigs.get_default_config_name`).
/// Without it, one config named `default` whose splits come from the default patterns. Errors
/// here concern the README itself; problems with one config's files are kept in
/// [`Config::problem`].
pub fn configs(files: &[RepoFile], readme: Option<&str>) -> Result<Vec<Config>, LayoutError> {
    let specs = match readme {
        Some(text) => yaml::config_specs(text)?,
        None => Vec::new(),
    };
    if specs.is_empty() {
        return Ok(vec![config("default", true, files, "", None)]);
    }
    let mut default: Option<&str> = None;
    for spec in &specs {
        if specs.len() == 1 || spec.name == "default" || spec.default {
            if let Some(first) = default {
                return Err(LayoutError::SeveralDefaults {
                    first: first.to_string(),
                    second: spec.name.clone(),
                });
            }
            default = Some(&spec.name);
        }
    }
    Ok(specs
        .iter()
        .map(|spec| {
            let base = spec.data_dir.as_deref().unwrap_or("").trim_matches('/');
            let is_default = default == Some(spec.name.as_str());
            config(
                &spec.name,
                is_default,
                files,
                base,
                spec.data_files.as_ref(),
            )
        })
        .collect())
}

/// The config to use: the one named, or else the default.
pub fn select<'a>(configs: &'a [Config], name: Option<&str>) -> Result<&'a Config, LayoutError> {
    let names = || configs.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let chosen =
        match name {
            Some(name) => configs.iter().find(|c| c.name == name).ok_or_else(|| {
                LayoutError::UnknownConfig {
                    name: name.to_string(),
                    configs: names(),
                }
            })?,
            None => configs
                .iter()
                .find(|c| c.default)
                .ok_or_else(|| LayoutError::NoDefaultConfig { configs: names() })?,
        };
    match &chosen.problem {
        Some(problem) => Err(problem.clone()),
        None => Ok(chosen),
    }
}

/// One config whose files live under `base` (its `data_dir`, `""` for the repo root).
fn config(
    name: &str,
    default: bool,
    files: &[RepoFile],
    base: &str,
    data_files: Option<&SplitPatterns>,
) -> Config {
    let (splits, problem) = match resolve_config(name, files, base, data_files) {
        Ok(splits) => (splits, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    Config {
        name: name.to_string(),
        default,
        splits,
        problem,
    }
}

fn resolve_config(
    config: &str,
    files: &[RepoFile],
    base: &str,
    data_files: Option<&SplitPatterns>,
) -> Result<Vec<SplitFiles>, LayoutError> {
    // Paths relative to `base`, each with its file, sorted like fsspec's glob.
    let mut under: Vec<(&str, &RepoFile)> = files
        .iter()
        .filter_map(|f| {
            if base.is_empty() {
                Some((f.path.as_str(), f))
            } else {
                f.path
                    .strip_prefix(base)?
                    .strip_prefix('/')
                    .map(|rel| (rel, f))
            }
        })
        .collect();
    under.sort_by(|a, b| a.0.cmp(b.0));
    let rel: Vec<&str> = under.iter().map(|(p, _)| *p).collect();
    let detected;
    let patterns = match data_files {
        Some(p) => p,
        None => {
            detected = default_split_patterns(&rel)?.ok_or_else(|| LayoutError::NoDataFiles {
                config: config.to_string(),
            })?;
            &detected
        }
    };
    let mut splits = Vec::new();
    for (split, texts) in patterns {
        let mut matched: Vec<&str> = Vec::new();
        for text in texts {
            let pattern = Pattern::new(text)?;
            let found = pattern.select(&rel);
            if found.is_empty() && !pattern.has_magic() {
                return Err(LayoutError::MissingFile {
                    config: config.to_string(),
                    pattern: pattern.text().to_string(),
                });
            }
            matched.extend(found);
        }
        matched.sort_unstable();
        matched.dedup();
        matched.retain(|p| is_data_file(p));
        let Some(files) = split_files(config, split, &matched, &under)? else {
            continue;
        };
        splits.push(SplitFiles {
            split: split.clone(),
            files,
            partial: false,
        });
    }
    if splits.is_empty() {
        return Err(LayoutError::NoDataFiles {
            config: config.to_string(),
        });
    }
    Ok(splits)
}

/// The files of one split: the majority builder decides, files of other builders are dropped
/// (`infer_module_for_data_files` then `DataFilesDict.filter`). `None` if nothing is left.
///
/// Unlike `datasets`, which insists that all splits of a config share one builder, each split
/// is decided on its own: a `train.parquet` + `test.csv` repo works.
fn split_files(
    config: &str,
    split: &str,
    matched: &[&str],
    under: &[(&str, &RepoFile)],
) -> Result<Option<Vec<DataFile>>, LayoutError> {
    let Some((ext, module)) = winning_extension(matched) else {
        return Ok(None);
    };
    if let Module::Unsupported(builder) = module {
        return Err(LayoutError::UnsupportedFormat {
            config: config.to_string(),
            split: split.to_string(),
            ext: format!(".{ext}"),
            builder: builder.to_string(),
        });
    }
    let mut out = Vec::new();
    for rel in matched {
        let file = under
            .binary_search_by(|(p, _)| p.cmp(rel))
            .map(|i| under[i].1)
            .expect("matched paths come from `under`");
        let format = format_in_module(rel, module).map_err(|ext| LayoutError::UnreadableFile {
            config: config.to_string(),
            path: file.path.clone(),
            ext,
        })?;
        if let Some(format) = format {
            out.push(DataFile {
                path: file.path.clone(),
                size: file.size,
                format,
            });
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

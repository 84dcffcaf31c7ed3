//! Open a Hub dataset the way `datasets.load_dataset(id, config, split=..., streaming=...)` does:
//! pin the revision to a commit, find the config's files for the split, then read them — from the
//! Hub cache after downloading them, or (`--stream`) straight from the Hub by range requests.

use super::api::{DEFAULT_REVISION, Hub};
use super::error::HubError;
use super::layout::{self, RepoFile};
use super::rows::{self, Part};
use super::spec::{DatasetRef, SplitSpec};
use crate::data::{self, Dataset, Sample, Source};
use crate::error::Error;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use tokio::runtime::Handle;

/// What the user asked for, besides the reference itself.
#[derive(Debug, Clone)]
pub struct HubRequest<'a> {
    pub config: Option<&'a str>,
    /// Split, optionally sliced: `train`, `train[:1000]`, `train[10%:20%]`, `train+test`.
    pub split: Option<&'a str>,
    pub revision: Option<&'a str>,
    pub stream: bool,
    pub sample: Sample,
    pub shuffle_buffer: usize,
    pub columns: &'a [String],
}

/// The files of the selected split(s), pinned to one commit.
struct Selection {
    repo: String,
    sha: String,
    /// Per split, in the order asked: its name and its files (sorted).
    splits: Vec<(String, Vec<RepoFile>)>,
}

/// Opens a Hub dataset. Blocking: call it off the async threads, inside the runtime.
pub fn open(hub: &Hub, reference: &str, req: &HubRequest) -> Result<Dataset, Error> {
    let handle = Handle::current();
    let dataset = DatasetRef::parse(reference).map_err(layout_error)?;
    let split_text = req.split.unwrap_or("train");
    let spec = SplitSpec::parse(split_text).map_err(layout_error)?;
    let selection = handle.block_on(select(hub, &dataset, req, &spec))?;
    let name = display_name(&dataset, req);

    // Streaming reads remote files; otherwise (and offline) files come from the Hub cache.
    let remote = req.stream && !hub.offline();
    let mut splits = Vec::new();
    for (split, files) in &selection.splits {
        splits.push((split.clone(), sources(hub, &selection, files, remote)?));
    }

    let needs_sizes = spec.needs_totals() || !remote;
    let rows = if remote && !needs_sizes {
        stream_rows(splits, &spec, req)?
    } else {
        if remote && !all_parquet(&splits) {
            return Err(HubError::Layout(format!(
                "the split \"{split_text}\" is sliced by percent or from its end, which needs every file's row count; without --stream the files are downloaded and counted, or use an absolute slice such as train[:1000]"
            ))
            .into());
        }
        exact_rows(splits, &spec, req)?
    };
    Ok(Dataset {
        name,
        total_rows: rows.1,
        rows: rows.0,
    })
}

/// One file of a split for `filter`: where its bytes are, and what the Hub lists for it.
#[derive(Debug, Clone)]
pub struct SplitFile {
    pub source: Source,
    /// `hf://datasets/owner/name@sha/path`: the same on every machine, wherever its cache is.
    pub name: String,
    pub size: u64,
    /// The content hash the Hub lists, online (see [`RepoFile::etag`]).
    pub etag: Option<String>,
}

/// The files of a whole split, and the commit they were listed at.
#[derive(Debug, Clone)]
pub struct SplitSources {
    pub sha: String,
    pub files: Vec<SplitFile>,
}

/// Every file of a whole split (or of `train+test`, in the order asked), in file order, for
/// `filter`, which reads every row of every file by record batches and cuts big Parquet files into
/// row-group units. Without `stream` (and offline) the files are downloaded into the Hub cache (or
/// taken from it); with it, they stay on the Hub and are read by range requests (Arrow IPC files
/// excepted, which are always downloaded). Slices (`train[:1000]`) are refused: `filter` keeps
/// rows of whole splits. Blocking: call it inside the runtime, off its async threads.
pub fn split_files(hub: &Hub, reference: &str, req: &HubRequest) -> Result<SplitSources, Error> {
    let handle = Handle::current();
    let dataset = DatasetRef::parse(reference).map_err(layout_error)?;
    let split_text = req.split.unwrap_or("train");
    let spec = SplitSpec::parse(split_text).map_err(layout_error)?;
    if spec
        .parts()
        .iter()
        .any(|p| p.rows_without_total() != Some((0, None)))
    {
        return Err(HubError::Layout(format!(
            "--split {split_text} is a slice, and filter and sharded runs read whole splits; give the split's name (e.g. --split train)"
        ))
        .into());
    }
    let selection = handle.block_on(select(hub, &dataset, req, &spec))?;
    let remote = req.stream && !hub.offline();
    let mut out = Vec::new();
    for (_, files) in &selection.splits {
        let sources = sources(hub, &selection, files, remote)?;
        for (file, source) in files.iter().zip(sources) {
            out.push(SplitFile {
                source,
                name: format!(
                    "hf://datasets/{}@{}/{}",
                    selection.repo, selection.sha, file.path
                ),
                size: file.size,
                etag: file.etag.clone(),
            });
        }
    }
    Ok(SplitSources {
        sha: selection.sha,
        files: out,
    })
}

use crate::data::Rows;

/// Where each of `files` is read from, in order: on the Hub by range requests when `remote` (Arrow
/// IPC files excepted: they are not read by range), else from the Hub cache, downloading what it
/// lacks (offline, the cache alone). Blocking, inside the runtime.
fn sources(
    hub: &Hub,
    selection: &Selection,
    files: &[RepoFile],
    remote: bool,
) -> Result<Vec<Source>, Error> {
    let mut sources = Vec::new();
    let mut to_fetch = Vec::new();
    for file in files {
        match hub.remote(&selection.repo, &selection.sha, file) {
            Some(remote_file) if remote && data::reads_by_range(Path::new(&file.path)) => {
                sources.push(Some(Source::Remote(Arc::new(remote_file))));
            }
            _ => {
                sources.push(None);
                to_fetch.push(file.path.clone());
            }
        }
    }
    if to_fetch.is_empty() {
        return Ok(sources.into_iter().flatten().collect());
    }
    if !hub.offline() {
        let bytes: u64 = files
            .iter()
            .filter(|f| to_fetch.contains(&f.path))
            .map(|f| f.size)
            .sum();
        eprintln!(
            "downloading {} file(s) ({}) of {} into the Hub cache {} (files already there are not fetched again)",
            to_fetch.len(),
            human_bytes(bytes),
            selection.repo,
            hub.settings.cache_dir.display()
        );
    }
    let mut fetched = Handle::current()
        .block_on(hub.fetch_all(&selection.repo, &selection.sha, &to_fetch))?
        .into_iter();
    Ok(sources
        .into_iter()
        .map(|s| {
            s.unwrap_or_else(|| Source::Local(fetched.next().expect("one path per file fetched")))
        })
        .collect())
}

/// Every file's rows counted, then exactly the rows asked for: a slice, a seeded sample.
fn exact_rows(
    splits: Vec<(String, Vec<Source>)>,
    spec: &SplitSpec,
    req: &HubRequest,
) -> Result<(Rows, Option<u64>), Error> {
    let mut sources = Vec::new();
    let mut sizes = Vec::new();
    let mut ranges: Vec<Range<u64>> = Vec::new();
    let mut offset = 0;
    for (split, files) in splits {
        let mut total = 0;
        for source in files {
            let rows = data::count_rows(&source)?;
            total += rows;
            sources.push((source, rows));
        }
        sizes.push((split, total, offset));
        offset += total;
    }
    let split_sizes: BTreeMap<String, u64> =
        sizes.iter().map(|(s, t, _)| (s.clone(), *t)).collect();
    for (split, range) in spec.resolve(&split_sizes).map_err(layout_error)? {
        let (_, _, start) = sizes
            .iter()
            .find(|(s, _, _)| *s == split)
            .expect("resolve returns the splits it was given");
        ranges.push(start + range.start..start + range.end);
    }
    let sample = match req.sample {
        Sample::Random { n, seed } => Some((n, seed)),
        _ => None,
    };
    let selected: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    let total = sample.map_or(selected, |(n, _)| selected.min(n as u64));
    let parts = rows::exact_parts(sources, &ranges, sample);
    Ok((Box::new(rows::Chain::new(parts, req.columns)), Some(total)))
}

/// Rows as they stream: in order (optionally an absolute slice), or shuffled for `--max`.
fn stream_rows(
    splits: Vec<(String, Vec<Source>)>,
    spec: &SplitSpec,
    req: &HubRequest,
) -> Result<(Rows, Option<u64>), Error> {
    // Without sizes, only absolute row slices can be streamed (`needs_totals` was false).
    let mut streams: Vec<Rows> = Vec::new();
    let mut files_in_order = Vec::new();
    let mut whole = true;
    for part in spec.parts() {
        let (start, end) = part
            .rows_without_total()
            .expect("only slices that need no row counts are streamed");
        let files = splits
            .iter()
            .find(|(s, _)| *s == part.split)
            .map(|(_, f)| f.clone())
            .unwrap_or_default();
        let parts: Vec<Part> = files
            .into_iter()
            .map(|source| Part {
                source,
                offset: None,
                sample: Sample::All,
            })
            .collect();
        if start == 0 && end.is_none() {
            files_in_order.extend(parts.iter().cloned());
            streams.push(Box::new(rows::Chain::new(parts, req.columns)));
        } else {
            whole = false;
            let range = start..end.unwrap_or(u64::MAX);
            streams.push(rows::take_range(
                rows::Chain::new(parts, req.columns),
                range,
            ));
        }
    }
    let chained: Rows = Box::new(streams.into_iter().flatten());
    Ok(match req.sample {
        Sample::Random { n, seed } if whole => (
            rows::shuffled(files_in_order, req.columns, n, seed, req.shuffle_buffer),
            None,
        ),
        Sample::Random { n, seed } => (
            Box::new(super::shuffle::ShuffleBuffer::new(chained, req.shuffle_buffer, seed).take(n)),
            None,
        ),
        _ => (chained, None),
    })
}

/// Pins the revision and finds the files of each split asked for.
async fn select(
    hub: &Hub,
    dataset: &DatasetRef,
    req: &HubRequest<'_>,
    spec: &SplitSpec,
) -> Result<Selection, Error> {
    let repo = dataset.repo.clone();
    let revision = match (&dataset.revision, req.revision) {
        (Some(a), Some(b)) if a != b => {
            return Err(HubError::Layout(format!(
                "the revision is given twice ({a} in the reference, {b} with --revision); give it once"
            ))
            .into());
        }
        (Some(a), _) => a.clone(),
        (None, Some(b)) => b.to_string(),
        (None, None) => DEFAULT_REVISION.to_string(),
    };
    let config = match (&dataset.config, req.config) {
        (Some(a), Some(b)) if a != b => {
            return Err(HubError::Layout(format!(
                "the config is given twice ({a} in the reference, {b} with --config); give it once"
            ))
            .into());
        }
        (Some(a), _) => Some(a.clone()),
        (None, b) => b.map(str::to_string),
    };
    let sha = hub.commit(&repo, &revision).await?;
    let files = hub.files(&repo, &sha).await?;

    // hf://datasets/owner/name/path: one file, which is the `train` split.
    if let Some(path) = &dataset.path {
        let file = files
            .iter()
            .find(|f| &f.path == path)
            .cloned()
            .ok_or_else(|| HubError::EntryNotFound {
                repo: repo.clone(),
                revision: revision.clone(),
                path: path.clone(),
            })?;
        let splits = spec
            .splits()
            .into_iter()
            .map(str::to_string)
            .map(|s| {
                if s == "train" {
                    Ok((s, vec![file.clone()]))
                } else {
                    Err(HubError::Layout(format!(
                        "a single file is the \"train\" split; drop --split {s} or point at the dataset instead of {path}"
                    )))
                }
            })
            .collect::<Result<_, _>>()?;
        return Ok(Selection { repo, sha, splits });
    }

    let readme = match files.iter().find(|f| f.path == "README.md") {
        Some(_) => {
            let path = hub.fetch(&repo, &sha, "README.md").await?;
            std::fs::read_to_string(&path).ok()
        }
        None => None,
    };
    let configs = layout::configs(&files, readme.as_deref()).map_err(layout_error)?;
    let default_problem = layout::select(&configs, config.as_deref()).err();
    // The listing the chosen files come from: the revision's, or the Parquet branch's.
    let (configs, sha, listing) = match default_problem {
        None => (configs, sha, files),
        // No readable data files: the Hub's auto-converted Parquet branch, as `datasets` falls back to.
        // Offline, a snapshot without data files is one whose files were never downloaded (a
        // `--stream` run caches refs and the README only): say that, not that the dataset has none.
        Some(layout::LayoutError::NoDataFiles { .. }) if hub.offline() => {
            return Err(HubError::NotCached {
                what: format!(
                    "the data of dataset {repo} at commit {sha} (a --stream run reads files without caching them)"
                ),
                cache: hub.settings.cache_dir.clone(),
            }
            .into());
        }
        Some(e @ layout::LayoutError::NoDataFiles { .. }) => {
            let branch = "refs/convert/parquet";
            let parquet_sha = match hub.commit(&repo, branch).await {
                Ok(sha) => sha,
                Err(HubError::RevisionNotFound { .. }) | Err(HubError::NotCached { .. }) => {
                    return Err(layout_error(e).into());
                }
                Err(other) => return Err(other.into()),
            };
            let parquet_files = hub.files(&repo, &parquet_sha).await?;
            let configs = layout::parquet_branch_configs(&parquet_files).map_err(layout_error)?;
            (configs, parquet_sha, parquet_files)
        }
        Some(e) => return Err(layout_error(e).into()),
    };
    let chosen = layout::select(&configs, config.as_deref()).map_err(layout_error)?;
    let mut splits = Vec::new();
    for split in spec.splits().into_iter().map(str::to_string) {
        let split_files = chosen.split(&split).map_err(layout_error)?;
        let picked = split_files
            .files
            .iter()
            .map(|f| RepoFile {
                path: f.path.clone(),
                size: f.size,
                // `Hub::files` lists sorted by path.
                etag: listing
                    .binary_search_by(|l| l.path.as_str().cmp(&f.path))
                    .ok()
                    .and_then(|i| listing[i].etag.clone()),
            })
            .collect();
        splits.push((split, picked));
    }
    Ok(Selection { repo, sha, splits })
}

fn layout_error(e: impl std::fmt::Display) -> HubError {
    HubError::Layout(e.to_string())
}

fn all_parquet(splits: &[(String, Vec<Source>)]) -> bool {
    splits
        .iter()
        .flat_map(|(_, f)| f)
        .all(|s| s.extension() == "parquet")
}

/// `owner/name`, plus `:config` when one was chosen, as reports name the dataset.
fn display_name(dataset: &DatasetRef, req: &HubRequest) -> String {
    let mut name = dataset.repo.clone();
    if let Some(path) = &dataset.path {
        name = format!("{name}/{path}");
    }
    if let Some(config) = dataset.config.as_deref().or(req.config) {
        name = format!("{name}:{config}");
    }
    name
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

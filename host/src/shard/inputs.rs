//! The data files of each dataset argument of `filter` and of a sharded `summary` (both read
//! every row, by units of work): a file, a folder's files by name, or a
//! Hub dataset's whole split (`--split`, `--config`, `--revision`), pinned to one commit. A Hub
//! split is downloaded into the Hub cache first, or with `--stream` read where it is, by range
//! requests (offline, `--stream` or not, its files come from the cache).

use crate::config::Selection;
use crate::error::Error;
use crate::hub::remote::HubHttp;
use crate::hub::{Hub, HubRequest};
use crate::settings::Settings;
use crate::shard::units::{self, FileStamp, InputFile};
use std::sync::Arc;

/// What `filter` or a sharded `summary` reads.
#[derive(Debug)]
pub struct Inputs {
    /// Per dataset argument, in order, its data files in read order.
    pub files: Vec<Vec<InputFile>>,
    /// Per dataset argument, the commit a Hub dataset was read at (`None` for local files): part
    /// of the run's identity, so shards of one run read one commit.
    pub commits: Vec<Option<String>>,
    /// The HTTP client streamed files are read through (`None` without a Hub dataset, or offline).
    pub http: Option<Arc<HubHttp>>,
}

impl Inputs {
    /// Say how much was streamed from the Hub, if anything (downloads are announced as they start).
    pub fn report_streamed(&self) {
        if let Some(http) = &self.http
            && http.bytes_received() > 0
        {
            eprintln!(
                "streamed {} from the Hub",
                crate::hub::open::human_bytes(http.bytes_received())
            );
        }
    }
}

/// The files of every dataset argument.
pub fn files(selection: &Selection, settings: &Settings) -> Result<Inputs, Error> {
    let any_hub = selection
        .datasets
        .iter()
        .any(|d| crate::input::is_hub_reference(d));
    if !any_hub {
        let hub_flags = [
            ("--split", selection.split.is_some()),
            ("--config", selection.hub.config.is_some()),
            ("--revision", selection.hub.revision.is_some()),
            ("--stream", selection.hub.stream),
        ];
        if let Some((flag, _)) = hub_flags.iter().find(|(_, given)| *given) {
            return Err(Error::Usage(format!(
                "{flag} is a Hub dataset option and no dataset here is on the Hub; every file of a local folder is read, so point at the files to read"
            )));
        }
        let files = selection
            .datasets
            .iter()
            .map(|d| local_files(d))
            .collect::<Result<_, _>>()?;
        return Ok(Inputs {
            files,
            commits: vec![None; selection.datasets.len()],
            http: None,
        });
    }
    let hub_settings = settings.hub.clone();
    let datasets = selection.datasets.clone();
    let split = selection.split.clone();
    let hub_options = selection.hub.clone();
    let columns = selection.columns.clone();
    // The Hub client is made in, and blocks on, the runtime it runs in: a blocking thread of one.
    // Its range reads get a runtime of their own: the units are read after this one has ended.
    crate::runtime::block_on(async move {
        tokio::task::spawn_blocking(move || {
            let hub = Hub::detached(hub_settings)?;
            let mut inputs = Inputs {
                files: Vec::new(),
                commits: Vec::new(),
                http: hub.http().cloned(),
            };
            for d in &datasets {
                if !crate::input::is_hub_reference(d) {
                    inputs.files.push(local_files(d)?);
                    inputs.commits.push(None);
                    continue;
                }
                let request = HubRequest {
                    config: hub_options.config.as_deref(),
                    split: split.as_deref(),
                    revision: hub_options.revision.as_deref(),
                    stream: hub_options.stream,
                    sample: crate::data::Sample::All,
                    shuffle_buffer: hub_options.shuffle_buffer,
                    columns: &columns,
                };
                let split = crate::hub::open::split_files(&hub, &d.to_string_lossy(), &request)?;
                // Stamped as the Hub lists them, not by the local copy (whose path and time
                // differ from machine to machine): shards on any machines compare equal.
                inputs.files.push(
                    split
                        .files
                        .into_iter()
                        .map(|f| InputFile {
                            source: f.source,
                            stamp: FileStamp {
                                path: f.name,
                                bytes: f.size,
                                modified_ns: 0,
                                etag: f.etag,
                            },
                        })
                        .collect(),
                );
                inputs.commits.push(Some(split.sha));
            }
            Ok(inputs)
        })
        .await
        .map_err(|e| Error::Internal(format!("the Hub listing thread failed: {e}")))?
    })
}

fn local_files(arg: &std::path::Path) -> Result<Vec<InputFile>, Error> {
    units::files_of(arg)?
        .into_iter()
        .map(InputFile::local)
        .collect()
}

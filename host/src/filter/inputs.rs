//! The local files of each dataset argument of `filter`: a file, a folder's files by name, or a
//! Hub dataset's whole split, downloaded into the Hub cache first (`--split`, `--config`,
//! `--revision`; offline, from the cache alone).

use crate::config::Selection;
use crate::error::Error;
use crate::hub::{Hub, HubRequest};
use crate::settings::Settings;
use crate::shard::units;
use std::path::PathBuf;

/// Per dataset argument, in order, its data files in read order.
pub fn files(selection: &Selection, settings: &Settings) -> Result<Vec<Vec<PathBuf>>, Error> {
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
                "{flag} is a Hub dataset option and no dataset here is on the Hub; filter reads every file of a local folder, so point at the files to keep"
            )));
        }
        return selection
            .datasets
            .iter()
            .map(|d| units::files_of(d))
            .collect();
    }
    if selection.hub.stream {
        return Err(Error::Usage(
            "filter reads every row of a Hub dataset from the Hub cache and takes no --stream; drop --stream (the split is downloaded once and reused by later runs)".into(),
        ));
    }
    let hub_settings = settings.hub.clone();
    let datasets = selection.datasets.clone();
    let split = selection.split.clone();
    let hub_options = selection.hub.clone();
    let columns = selection.columns.clone();
    // The Hub client is made in, and blocks on, the runtime it runs in: a blocking thread of one.
    crate::runtime::block_on(async move {
        tokio::task::spawn_blocking(move || {
            let hub = Hub::new(hub_settings)?;
            datasets
                .iter()
                .map(|d| {
                    if !crate::input::is_hub_reference(d) {
                        return units::files_of(d);
                    }
                    let request = HubRequest {
                        config: hub_options.config.as_deref(),
                        split: split.as_deref(),
                        revision: hub_options.revision.as_deref(),
                        stream: false,
                        sample: crate::data::Sample::All,
                        shuffle_buffer: hub_options.shuffle_buffer,
                        columns: &columns,
                    };
                    crate::hub::open::split_files(&hub, &d.to_string_lossy(), &request)
                })
                .collect()
        })
        .await
        .map_err(|e| Error::Internal(format!("the Hub download thread failed: {e}")))?
    })
}

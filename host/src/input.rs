//! Which reader opens a dataset argument: a local file or folder (`data/`), or a Hugging Face Hub
//! dataset (`hub/`). A path that exists locally always wins over a Hub id of the same shape.

use crate::config::HubOptions;
use crate::data::{self, Dataset, OpenOptions, Sample};
use crate::error::Error;
use crate::hub::{self, Hub, HubRequest};
use std::path::Path;

/// Whether a dataset argument names a Hub dataset (and not a local path).
pub fn is_hub_reference(arg: &Path) -> bool {
    !arg.exists() && hub::spec::looks_like_hub_id(&arg.to_string_lossy())
}

/// What to read from every dataset of a run (owned, to move onto a blocking thread).
#[derive(Debug, Clone)]
pub struct Input {
    pub columns: Vec<String>,
    pub split: Option<String>,
    pub sample: Sample,
    pub hub: HubOptions,
}

/// Opens one dataset argument. Blocking: call it off the async threads, inside the runtime.
/// `hub` is present when any argument is a Hub reference.
pub fn open(arg: &Path, config: &Input, hub: Option<&Hub>) -> Result<Dataset, Error> {
    if let Some(hub) = hub.filter(|_| is_hub_reference(arg)) {
        let request = HubRequest {
            config: config.hub.config.as_deref(),
            split: config.split.as_deref(),
            revision: config.hub.revision.as_deref(),
            stream: config.hub.stream,
            sample: config.sample.clone(),
            shuffle_buffer: config.hub.shuffle_buffer,
            columns: &config.columns,
        };
        return hub::open(hub, &arg.to_string_lossy(), &request);
    }
    Ok(data::open(
        arg,
        &OpenOptions {
            columns: &config.columns,
            split: config.split.as_deref(),
            sample: config.sample.clone(),
        },
    )?)
}

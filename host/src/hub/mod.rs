//! Hugging Face Hub datasets: `owner/name[:config]` ids and `hf://datasets/...` URLs wherever a
//! local path is accepted.
//!
//! - `spec.rs`: what the user typed (dataset references, split slices).
//! - `settings.rs`: `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, `HF_HUB_OFFLINE`.
//! - `api.rs`: revision → commit, file listing, downloads into the shared Hub cache (hf-hub crate).
//! - `layout.rs`: which files make which config and split, as `datasets` decides.
//! - `remote.rs`: range reads for `--stream` (resume, CDN URL reuse and expiry).
//! - `rows.rs`, `shuffle.rs`: the rows of many files as one dataset; slices, samples, shuffling.
//! - `open.rs`: ties them together for `summary`, and lists a whole split's files (cached, or read
//!   by range with `--stream`) for `filter`.

pub mod api;
pub mod error;
pub mod layout;
pub mod open;
pub mod remote;
pub mod rows;
pub mod settings;
pub mod shuffle;
pub mod spec;

pub use api::Hub;
pub use error::HubError;
pub use open::{HubRequest, open};
pub use settings::HubSettings;

//! What the host offers a lens: logging, the run's tokenizer and the lens's config.
//!
//! In a component these call the host. In native `cargo test` they call [`crate::testing`]'s mocks.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Add a line to the plugin log of the row being handled; it is shown with that row's errors.
pub fn log(level: Level, message: &str) {
    imp::log(level, message)
}

/// Number of tokens in `text` for the run's chat model.
pub fn count_tokens(text: &str) -> usize {
    imp::count_tokens(text)
}

/// The longest prefix of `text` that is at most `max` tokens for the run's chat model.
pub fn truncate_tokens(text: &str, max: usize) -> String {
    imp::truncate_tokens(text, max)
}

/// The lens's `config.json` (`Null` if the host sent something that is not JSON).
pub fn lens_config() -> serde_json::Value {
    serde_json::from_str(&imp::lens_config()).unwrap_or(serde_json::Value::Null)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::__private::bindings::classified::lens::host as wit;

    pub fn log(level: Level, message: &str) {
        let level = match level {
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        };
        wit::log(level, message)
    }

    pub fn count_tokens(text: &str) -> usize {
        wit::count_tokens(text) as usize
    }

    pub fn truncate_tokens(text: &str, max: usize) -> String {
        wit::truncate_tokens(text, u32::try_from(max).unwrap_or(u32::MAX))
    }

    pub fn lens_config() -> String {
        wit::lens_config()
    }
}

#[cfg(not(target_arch = "wasm32"))]
use crate::testing::mock as imp;

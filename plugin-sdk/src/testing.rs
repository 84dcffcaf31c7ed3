//! Run a lens natively in `cargo test`: the [`host`](crate::host) functions are mocked per thread.
//!
//! ```
//! use classified_lens::{host, testing};
//!
//! testing::set_lens_config(classified_lens::serde_json::json!({"min_words": 50}));
//! assert_eq!(host::lens_config()["min_words"], 50);
//! assert_eq!(host::count_tokens("one two three"), 3); // the mock counts whitespace-separated words
//! host::log(host::Level::Info, "hello");
//! assert_eq!(testing::take_logs(), vec![(host::Level::Info, "hello".to_string())]);
//! ```

use crate::host::Level;
use std::cell::RefCell;

thread_local! {
    static CONFIG: RefCell<String> = RefCell::new("{}".to_string());
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

/// Make [`host::lens_config`](crate::host::lens_config) return `config` on this thread.
pub fn set_lens_config(config: serde_json::Value) {
    CONFIG.with(|c| *c.borrow_mut() = config.to_string());
}

/// The lines logged on this thread so far, oldest first; clears them.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// The mocked host. Tokens are whitespace-separated words (the real host uses the model's tokenizer).
pub(crate) mod mock {
    use super::{CONFIG, LOGS};
    use crate::host::Level;

    pub fn log(level: Level, message: &str) {
        LOGS.with(|l| l.borrow_mut().push((level, message.to_string())));
    }

    pub fn count_tokens(text: &str) -> usize {
        text.split_whitespace().count()
    }

    pub fn truncate_tokens(text: &str, max: usize) -> String {
        match text.split_whitespace().nth(max) {
            // The prefix ends where the first word past the limit starts.
            Some(word) => {
                let start = word.as_ptr() as usize - text.as_ptr() as usize;
                text[..start].trim_end().to_string()
            }
            None => text.to_string(),
        }
    }

    pub fn lens_config() -> String {
        CONFIG.with(|c| c.borrow().clone())
    }
}

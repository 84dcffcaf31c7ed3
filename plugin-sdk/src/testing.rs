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
use crate::{Lens, Stage};
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

/// Check that [`Lens::STAGES`] lists exactly the stage methods `L` overrides; panic with the fix if not.
///
/// [`export_lens!`](crate::export_lens) runs this in the lens crate's `cargo test`. Each stage method
/// is called once with empty input: a method that is not the trait's default counts as implemented,
/// whatever it answers (a panic included).
///
/// ```
/// use classified_lens::{Error, Fields, Lens, Scored, Stage, testing};
///
/// #[derive(Default)]
/// struct Forgot;
///
/// impl Lens for Forgot {
///     const STAGES: &'static [Stage] = &[]; // but `score` is implemented below
///     fn score(&self, _: Fields) -> Result<Scored, Error> {
///         Ok(Scored::new().score("overall", 1.0))
///     }
/// }
///
/// let message = std::panic::catch_unwind(|| testing::assert_stages::<Forgot>()).unwrap_err();
/// assert!(message.downcast_ref::<String>().unwrap().contains("add Stage::Score"));
/// ```
pub fn assert_stages<L: Lens>() {
    let implemented = crate::stages::implemented(&L::default());
    let mut problems = Vec::new();
    for stage in [
        Stage::Preprocess,
        Stage::Postprocess,
        Stage::Bucket,
        Stage::Score,
    ] {
        let name = crate::stages::method(stage);
        match (L::STAGES.contains(&stage), implemented.contains(&stage)) {
            (false, true) => problems.push(format!(
                "Lens::{name} is implemented but Lens::STAGES does not list it, so the host would never call it: add Stage::{stage:?} to STAGES"
            )),
            (true, false) => problems.push(format!(
                "Lens::STAGES lists Stage::{stage:?} but Lens::{name} is not implemented: implement it or remove Stage::{stage:?} from STAGES"
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Make [`row`](crate::row) return `row` on this thread, as a stage call for that row would.
pub fn set_row(row: u64) {
    crate::stages::set_row(row);
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

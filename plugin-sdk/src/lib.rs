//! Write a Classified lens component in Rust.
//!
//! A lens component replaces any subset of the rating pipeline's stages: **preprocess** (row fields →
//! prompt inputs), **postprocess** (a model's function-call arguments → scores), **bucket** (scores →
//! bucket name) and **score** (a `"type": "local"` lens scores rows itself, without a model). Implement
//! [`Lens`] — every stage method has a default, override the ones you need and list them in
//! [`Lens::STAGES`] — then export it with [`export_lens!`]:
//!
//! ```
//! use classified_lens::{Fields, Lens, Scored, Stage, Error};
//!
//! #[derive(Default)]
//! struct Length;
//!
//! impl Lens for Length {
//!     const STAGES: &'static [Stage] = &[Stage::Score];
//!
//!     fn score(&self, fields: Fields) -> Result<Scored, Error> {
//!         let words = fields.get("text").map_or(0, |t| t.split_whitespace().count());
//!         Ok(Scored::new().score("overall", if words > 100 { 3.0 } else { 1.0 }))
//!     }
//! }
//!
//! classified_lens::export_lens!(Length);
//! # fn main() {}
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release` on a `crate-type = ["cdylib"]` crate: the
//! `.wasm` it produces is the component. Name it in the lens's `config.json` (`"component": "lens.wasm"`).
//! Unit-test the same code natively with `cargo test`: the [`host`] functions are then served by
//! [`testing`]'s mocks.

// Lets the bindings name this crate the same way from inside and from a lens crate's macro expansion.
extern crate self as classified_lens;

mod convert;
pub mod host;
mod stages;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use serde_json;
pub use stages::row;
use std::collections::BTreeMap;
use std::fmt;

/// A row's input fields (or one prompt's template variables): field name → text.
pub type Fields = BTreeMap<String, String>;

/// A stage a lens component can replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Preprocess,
    Postprocess,
    Bucket,
    Score,
}

/// What preprocessing made of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// The template variables of each prompt to send (several for a chunked document).
    Inputs(Vec<Fields>),
    /// Do not rate this row, for this reason (e.g. `"too short"`). The row is counted as skipped.
    Skip(String),
}

/// Named scores and rationales. Labels are the lens's `function.json` property names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    pub scores: Vec<(String, f64)>,
    pub rationales: Vec<(String, String)>,
}

impl Scored {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a score.
    pub fn score(mut self, label: impl Into<String>, value: f64) -> Self {
        self.scores.push((label.into(), value));
        self
    }

    /// Add a rationale.
    pub fn rationale(mut self, label: impl Into<String>, text: impl Into<String>) -> Self {
        self.rationales.push((label.into(), text.into()));
        self
    }

    /// The score with this label.
    pub fn get(&self, label: &str) -> Option<f64> {
        self.scores
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| *v)
    }
}

/// Why a stage produced no result.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The stage is not implemented; the host runs its native default. The trait's defaults return this.
    Unsupported,
    /// This row cannot be handled: one plain sentence saying why. Fails the row, never the run.
    Failed(String),
}

impl Error {
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unsupported => f.write_str("this stage is not implemented"),
            Error::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::Failed(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::Failed(message.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Failed(format!("invalid JSON: {e}"))
    }
}

/// A lens component. Every stage method defaults to [`Error::Unsupported`] (the host's native stage).
///
/// [`Lens::STAGES`] must list exactly the stage methods the lens overrides, and cannot drift
/// unnoticed: [`export_lens!`] adds a test to the lens crate's `cargo test` that fails when the list
/// and the methods disagree (see [`testing::assert_stages`]), and a component whose listed stage runs
/// a default method fails that row saying so, which `classified lenses check` shows.
///
/// The index of the row a stage call handles is [`row`], for log messages.
///
/// One value is created with `Default` per component instance and reused for many rows, so it may
/// cache things such as parsed [`host::lens_config`]. It must not keep per-row state: the host may run
/// rows in any order and recycles instances after a failure.
pub trait Lens: Default + 'static {
    /// The stages this lens implements, i.e. the methods below that it overrides. The host calls only these.
    /// `cargo test` checks this list against the methods (a test [`export_lens!`] adds).
    const STAGES: &'static [Stage];

    /// Row fields (the lens's `input_fields`) → the template variables of each prompt, or a skip.
    fn preprocess(&self, fields: Fields) -> Result<Prepared, Error> {
        let _ = fields;
        Err(stages::not_implemented(Stage::Preprocess))
    }

    /// The model's function-call arguments (JSON text, possibly malformed) → scores and rationales.
    /// An error marks the answer as bad, so the host retries the call.
    fn postprocess(&self, arguments: &str) -> Result<Scored, Error> {
        let _ = arguments;
        Err(stages::not_implemented(Stage::Postprocess))
    }

    /// A row's final scores (label → value, in `function.json` order) → its bucket name.
    fn bucket(&self, scores: &[(String, f64)]) -> Result<String, Error> {
        let _ = scores;
        Err(stages::not_implemented(Stage::Bucket))
    }

    /// The bucket names [`Lens::bucket`] returns, in report order. Empty means the host's own
    /// `Poor`, `Low`, `Medium`, `Good`.
    fn bucket_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Score a row without a model (lenses of `"type": "local"`).
    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let _ = fields;
        Err(stages::not_implemented(Stage::Score))
    }
}

/// Export a [`Lens`] implementation as the component's `classified:lens` world. Use once per crate.
///
/// Each stage call makes its row index available to the lens as [`row`]. In the crate's own
/// `cargo test`, the macro adds a test, `classified_lens_stages_match_the_methods`, that fails when
/// [`Lens::STAGES`] and the overridden methods disagree.
#[macro_export]
macro_rules! export_lens {
    ($lens:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __ClassifiedLens;

            ::std::thread_local! {
                static LENS: $lens = <$lens as ::core::default::Default>::default();
            }

            impl $crate::__private::Guest for __ClassifiedLens {
                fn describe() -> $crate::__private::Info {
                    LENS.with(|lens| $crate::__private::describe(lens))
                }
                fn preprocess(
                    row: u64,
                    fields: String,
                ) -> $crate::__private::Result<$crate::__private::Prepared> {
                    LENS.with(|lens| $crate::__private::preprocess(lens, row, fields))
                }
                fn postprocess(
                    row: u64,
                    arguments: String,
                ) -> $crate::__private::Result<$crate::__private::Scored> {
                    LENS.with(|lens| $crate::__private::postprocess(lens, row, arguments))
                }
                fn bucket(
                    row: u64,
                    scores: Vec<(String, f64)>,
                ) -> $crate::__private::Result<String> {
                    LENS.with(|lens| $crate::__private::bucket(lens, row, scores))
                }
                fn score(
                    row: u64,
                    fields: String,
                ) -> $crate::__private::Result<$crate::__private::Scored> {
                    LENS.with(|lens| $crate::__private::score(lens, row, fields))
                }
            }

    $crate::__private::export!(__ClassifiedLens with_types_in $crate::__private::bindings);
        };

        #[cfg(all(test, not(target_arch = "wasm32")))]
        #[test]
        fn classified_lens_stages_match_the_methods() {
            $crate::testing::assert_stages::<$lens>();
        }
    };
}

/// Used by [`export_lens!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::convert::{bucket, describe, postprocess, preprocess, score};
    pub use bindings::__classified_lens_export as export;
    pub use bindings::exports::classified::lens::stages::{Guest, Info, Prepared, Scored};
    pub use wit_bindgen;

    pub type Result<T> =
        core::result::Result<T, bindings::exports::classified::lens::stages::Error>;

    pub mod bindings {
        wit_bindgen::generate!({
            path: "wit/v0.1.0",
            world: "lens",
            pub_export_macro: true,
            export_macro_name: "__classified_lens_export",
            runtime_path: "classified_lens::__private::wit_bindgen::rt",
        });
    }
}

//! The clap types of `classified lenses`: its subcommands and their arguments. The commands themselves
//! are in `commands/lenses/`, one file each.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum LensesCommand {
    /// List the built-in and user lenses, and the stages each one's component implements.
    List,
    /// Show a lens: kind, input fields, score labels, component and prompts.
    Show {
        /// A lens name, or the path of a lens folder.
        name: String,
    },
    /// Check a lens: config, templates and their variables, function schema, component (loads, WIT
    /// version, stages, size), a call of each stage it lists, and a smoke run on its folder's
    /// fixtures/rows.jsonl if present.
    Check {
        /// The path of a lens folder, or a lens name.
        lens: String,
    },
    /// Create a lens folder with a component to build; as generated it builds and passes `check`.
    New {
        /// The folder to create; its last part is the lens's name.
        name: PathBuf,
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
    },
    /// Run one stage of a lens on one input and print the result as JSON.
    Call {
        /// A lens name, or the path of a lens folder.
        lens: String,
        #[arg(long, value_enum)]
        stage: CallStage,
        /// preprocess/score: a JSON object of input fields (text; a null skips the row, as in
        /// `summary`); postprocess: the function-call arguments; bucket: a JSON object of score
        /// label -> value.
        #[arg(long)]
        input: String,
    },
}

/// The language of a new lens's component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with the `classified-lens` SDK, built for wasm32-wasip2 by cargo.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with npm's @bytecodealliance/componentize-js.
    Js,
}

/// A stage `lenses call` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallStage {
    Preprocess,
    Postprocess,
    Bucket,
    Score,
}

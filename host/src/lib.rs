//! Classified rates rows of LLM training data through lenses.
//!
//! The pipeline, a module per step: read rows ([`data`]) → preprocess → render → call the model
//! ([`model`], through the [`cache`]) → postprocess → aggregate → bucket ([`pipeline`]) → report
//! ([`report`]). [`run`] drives a whole `summary` run and picks the [`pipeline::answer`]er its mode
//! needs; [`lens`] loads lenses; [`component`] runs their WebAssembly components; [`error`] owns the
//! message policy and [`failure`] the kinds of row failures.
//!
//! `main.rs` parses the command line ([`cli`]), validates it into a [`config`], and dispatches to
//! one of the [`commands`].

pub mod batch;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod component;
pub mod config;
pub mod cost;
pub mod data;
pub mod error;
pub mod failure;
pub mod filter;
pub mod hub;
pub mod input;
pub mod lens;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod run;
pub mod runtime;
pub mod settings;
pub mod shard;
pub mod stats;
pub mod train;

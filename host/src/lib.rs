//! Classified rates rows of LLM training data through lenses.
//!
//! The pipeline, a module per step: read rows ([`data`]) → preprocess → render → call the model
//! ([`model`], through the [`cache`]) → postprocess → aggregate → bucket ([`pipeline`]) → report
//! ([`report`]). [`summary`] drives a run; [`lens`] loads lenses; [`component`] runs their
//! WebAssembly components; [`error`] owns the message policy.

pub mod batch;
pub mod batches_cmd;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod component;
pub mod config;
pub mod cost;
pub mod data;
pub mod error;
pub mod hub;
pub mod input;
pub mod lens;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod settings;
pub mod summary;

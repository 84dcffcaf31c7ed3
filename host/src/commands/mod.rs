//! One module per command; `main.rs` picks the command once and calls its `run`.

pub mod batches;
pub mod compare;
pub mod lenses;
pub mod report;
pub mod summary;
pub mod train;

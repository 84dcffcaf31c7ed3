//! Where a pass hands each row's outcome: the run's output files, or whatever a command that
//! reads ratings collects (`train`, `compare`).

use crate::error::Error;
use crate::pipeline::rate::RowOutcome;
use std::path::PathBuf;

/// Receives one dataset × lens's row outcomes, in row order.
pub trait RowSink: Send {
    /// One row's outcome.
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error>;

    /// Every row was written: complete the outputs and name the files written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error>;
}

impl RowSink for super::RowFiles {
    fn write(&mut self, outcome: &RowOutcome) -> Result<(), Error> {
        super::RowFiles::write(self, outcome)
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, Error> {
        super::RowFiles::finish(*self)
    }
}

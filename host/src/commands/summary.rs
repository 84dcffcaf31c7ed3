//! `classified summary`: rate every dataset through every lens and report how good the data is.

use crate::config::RunConfig;
use crate::error::Error;
use crate::run::RunReport;

/// Run it. A run that finishes with failed rows has written every output, then ends with
/// [`Error::RowsFailed`] so that scripts and job arrays can tell.
pub fn run(config: RunConfig) -> Result<RunReport, Error> {
    let report = crate::runtime::block_on(crate::run::run(&config))?;
    match report.failed_rows() {
        (0, _) => Ok(report),
        (failed, rows) => Err(Error::RowsFailed { failed, rows }),
    }
}

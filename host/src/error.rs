//! The one place that decides how failures reach the user.
//!
//! A fatal [`Error`] stops the run: `main` prints its message as one plain sentence (`error: …`) and
//! exits non-zero. Problems with single rows are not `Error`s: they are
//! [`StageError`](crate::pipeline::StageError)s, counted and reported per row while the run goes on.

use crate::data::DataError;
use crate::lens::LensError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or settings ask for something impossible.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lens(#[from] LensError),
    #[error(transparent)]
    Data(#[from] DataError),
    /// A Hugging Face Hub dataset could not be resolved or opened.
    #[error(transparent)]
    Hub(#[from] crate::hub::HubError),
    /// The model API refused the whole run (bad key, no access, unknown model).
    #[error("{0}")]
    Api(String),
    /// A lens component could not be loaded or linked.
    #[error("{0}")]
    Component(String),
    #[error("the cache at {path} {problem}")]
    Cache { path: String, problem: String },
    /// `--max-usd` stopped the run (outputs are written; a rerun with a higher budget continues).
    #[error("{0}")]
    Budget(String),
    /// A rate quota of the server (a per-day budget) ran out (outputs are written; a rerun after
    /// the reset continues).
    #[error("{0}")]
    RateBudget(String),
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
    /// The run finished and wrote every output, but some rows failed (exit code 4).
    #[error(
        "{failed} of {rows} row(s) failed (reasons above and in the `error` column of the per-row Parquet files); rerunning the same command retries only them"
    )]
    RowsFailed { failed: u64, rows: u64 },
    /// Ctrl-C (exit code 130).
    #[error(
        "interrupted; every answer received so far is cached, so rerunning the same command continues where this one stopped"
    )]
    Interrupted,
    /// A bug in classified, not in the input (exit code 70).
    #[error(
        "internal error: {0}; this is a bug in classified, please report it with the command you ran"
    )]
    Internal(String),
}

impl Error {
    /// The process exit code (README, "Exit codes"): 2 for bad input the user can fix, 3 for a run
    /// stopped at its `--max-usd` budget, 4 for a finished run in which some rows failed, 5 for one
    /// stopped by the server's daily rate budget, 70 for a bug, 130 for Ctrl-C, 1 for everything
    /// else (the API or the network refused the run).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Lens(_) | Error::Data(_) => 2,
            Error::Budget(_) => 3,
            Error::RowsFailed { .. } => 4,
            Error::RateBudget(_) => 5,
            Error::Internal(_) => 70,
            Error::Interrupted => 130,
            Error::Hub(e) if e.is_input_error() => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_exit_code() {
        let codes = [
            Error::Usage("x".into()).exit_code(),
            Error::Api("x".into()).exit_code(),
            Error::Budget("x".into()).exit_code(),
            Error::RowsFailed { failed: 1, rows: 2 }.exit_code(),
            Error::Internal("x".into()).exit_code(),
            Error::Interrupted.exit_code(),
        ];
        assert_eq!(codes, [2, 1, 3, 4, 70, 130]);
        let text = Error::RowsFailed { failed: 1, rows: 2 }.to_string();
        assert!(text.starts_with("1 of 2 row(s) failed"), "{text}");
    }
}

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
}

impl Error {
    /// The process exit code: 2 for bad input the user can fix, 3 for a run stopped at its
    /// `--max-usd` budget, 5 for one stopped by the server's daily rate budget, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Lens(_) | Error::Data(_) => 2,
            Error::Budget(_) => 3,
            Error::RateBudget(_) => 5,
            Error::Hub(e) if e.is_input_error() => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

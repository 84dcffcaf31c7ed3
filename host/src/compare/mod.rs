//! Rater agreement for `classified compare`: two raters (a model at a cache version, through a
//! lens) read from the cache, paired row by row, and measured with `crate::stats`.

mod agreement;
mod ratings;
mod table;

pub use agreement::{DatasetAgreement, Disagreement, LabelAgreement, agreement};
pub use ratings::{Collector, Rated, Ratings};
pub use table::render;

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// Who rated: a model at a cache version, through a lens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rater {
    pub model: String,
    pub version: u32,
    pub lens: String,
}

impl std::fmt::Display for Rater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} through {}", self.model, self.version, self.lens)
    }
}

/// What `compare` found: `compare.json`, and its section of report.html.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub a: Rater,
    pub b: Rater,
    /// The score labels both lenses share, in order; agreement is per label.
    pub labels: Vec<String>,
    pub date: String,
    pub datasets: Vec<DatasetAgreement>,
}

/// `MODEL[@VERSION]`, with `default_model` and `default_version` for what is left out.
pub fn parse_rater(
    flag: &str,
    spec: Option<&str>,
    default_model: &str,
    default_version: u32,
) -> Result<(String, u32), Error> {
    let Some(spec) = spec.map(str::trim) else {
        return Ok((default_model.to_string(), default_version));
    };
    let (model, version) = match spec.rsplit_once('@') {
        Some((model, version)) => {
            let version = version.parse::<u32>().map_err(|_| {
                Error::Usage(format!(
                    "{flag} {spec}: `{version}` is not a cache version; write MODEL@VERSION with a whole number, e.g. gpt-4o-mini@2"
                ))
            })?;
            (model, version)
        }
        None => (spec, default_version),
    };
    if model.is_empty() {
        return Err(Error::Usage(format!(
            "{flag} {spec} names no model; write MODEL[@VERSION], e.g. gpt-4o-mini or gpt-4o@2"
        )));
    }
    Ok((model.to_string(), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raters_are_model_at_version_with_defaults() {
        assert_eq!(
            parse_rater("--a", Some("gpt-4o@3"), "gpt-4", 1).unwrap(),
            ("gpt-4o".to_string(), 3)
        );
        assert_eq!(
            parse_rater("--a", Some("gpt-4o-mini"), "gpt-4", 2).unwrap(),
            ("gpt-4o-mini".to_string(), 2)
        );
        assert_eq!(
            parse_rater("--b", None, "gpt-4", 1).unwrap(),
            ("gpt-4".to_string(), 1)
        );
        let err = parse_rater("--b", Some("gpt-4o@new"), "gpt-4", 1).unwrap_err();
        assert!(
            err.to_string().contains("`new` is not a cache version"),
            "{err}"
        );
        let err = parse_rater("--b", Some("@2"), "gpt-4", 1).unwrap_err();
        assert!(err.to_string().contains("names no model"), "{err}");
    }
}

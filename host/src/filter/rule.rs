//! Which rated rows `filter` keeps: `--min-bucket B`, every `--min LABEL=X`, and `--top PCT` (by the
//! lens's last score, against a threshold found by a scoring pass over the whole dataset). A row must
//! pass every rule given.

use crate::error::Error;
use crate::pipeline::rate::Status;
use serde::{Deserialize, Serialize};

/// The rules, checked against the lens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The lowest bucket kept and its place in the lens's bucket order (worst first).
    pub min_bucket: Option<String>,
    #[serde(skip)]
    bucket_rank: Option<usize>,
    #[serde(skip)]
    bucket_names: Vec<String>,
    /// `(label, its index, lowest score kept)`.
    pub min: Vec<(String, usize, f64)>,
    /// `--top PCT`: keep this percent of the rated rows, by the last score.
    pub top_percent: Option<f64>,
    /// The exact last-score threshold `--top` came to (set after the scoring pass).
    pub threshold: Option<f64>,
}

impl Rule {
    /// Check the flags against the lens's score labels and bucket names (worst first).
    pub fn new(
        labels: &[String],
        bucket_names: &[String],
        min_bucket: Option<&str>,
        min: &[String],
        top: Option<f64>,
    ) -> Result<Rule, Error> {
        let bucket_rank = match min_bucket {
            None => None,
            Some(b) => Some(bucket_names.iter().position(|n| n == b).ok_or_else(|| {
                Error::Usage(format!(
                    "--min-bucket {b}: the lens has no bucket `{b}`; its buckets are {}",
                    bucket_names.join(", ")
                ))
            })?),
        };
        let mut parsed = Vec::new();
        for m in min {
            let (label, value) = m.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--min {m}: write it as LABEL=NUMBER, e.g. --min {}=2",
                    labels.last().map(String::as_str).unwrap_or("overall")
                ))
            })?;
            let index = labels
                .iter()
                .position(|l| l == label.trim())
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--min {m}: the lens has no score `{}`; its scores are {}",
                        label.trim(),
                        labels.join(", ")
                    ))
                })?;
            let x: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| {
                    Error::Usage(format!("--min {m}: `{}` is not a number", value.trim()))
                })?;
            parsed.push((label.trim().to_string(), index, x));
        }
        if let Some(p) = top
            && !(p > 0.0 && p <= 100.0)
        {
            return Err(Error::Usage(format!(
                "--top {p}: give a percent of rows to keep above 0 and at most 100, e.g. --top 10"
            )));
        }
        Ok(Rule {
            min_bucket: min_bucket.map(str::to_string),
            bucket_rank,
            bucket_names: bucket_names.to_vec(),
            min: parsed,
            top_percent: top,
            threshold: None,
        })
    }

    /// Whether a rated row is kept. `--top` needs [`Rule::threshold`] set first.
    pub fn keeps(&self, status: &Status) -> bool {
        let Status::Rated { scores, bucket } = status else {
            return false;
        };
        if let Some(rank) = self.bucket_rank {
            // A bucket the lens did not declare ranks below every declared one.
            match self.bucket_names.iter().position(|n| n == bucket) {
                Some(r) if r >= rank => {}
                _ => return false,
            }
        }
        if self
            .min
            .iter()
            .any(|(_, i, x)| scores.scores.get(*i).is_none_or(|s| s < x))
        {
            return false;
        }
        match self.threshold {
            Some(t) => scores.scores.last().is_some_and(|s| *s >= t),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RowScores;

    fn labels() -> Vec<String> {
        vec!["a".into(), "overall".into()]
    }
    fn buckets() -> Vec<String> {
        ["Poor", "Low", "Medium", "Good"].map(String::from).to_vec()
    }
    fn rated(a: f64, overall: f64, bucket: &str) -> Status {
        Status::Rated {
            scores: RowScores {
                scores: vec![a, overall],
            },
            bucket: bucket.into(),
        }
    }

    #[test]
    fn every_rule_given_must_pass() {
        let rule = Rule::new(&labels(), &buckets(), Some("Medium"), &["a=2".into()], None).unwrap();
        assert!(rule.keeps(&rated(2.0, 1.0, "Medium")));
        assert!(rule.keeps(&rated(3.0, 1.0, "Good")));
        assert!(!rule.keeps(&rated(1.9, 3.0, "Good")));
        assert!(!rule.keeps(&rated(3.0, 3.0, "Low")));
        assert!(!rule.keeps(&rated(3.0, 3.0, "Odd")));
        assert!(!rule.keeps(&Status::Skipped("x".into())));
        let mut top = Rule::new(&labels(), &buckets(), None, &[], Some(10.0)).unwrap();
        top.threshold = Some(2.5);
        assert!(top.keeps(&rated(0.0, 2.5, "Poor")));
        assert!(!top.keeps(&rated(9.0, 2.49, "Good")));
    }

    #[test]
    fn bad_rules_name_what_exists() {
        let err = |r: Result<Rule, Error>| r.unwrap_err().to_string();
        assert_eq!(
            err(Rule::new(&labels(), &buckets(), Some("Great"), &[], None)),
            "--min-bucket Great: the lens has no bucket `Great`; its buckets are Poor, Low, Medium, Good"
        );
        assert_eq!(
            err(Rule::new(
                &labels(),
                &buckets(),
                None,
                &["depth=2".into()],
                None
            )),
            "--min depth=2: the lens has no score `depth`; its scores are a, overall"
        );
        assert!(
            err(Rule::new(&labels(), &buckets(), None, &["a".into()], None))
                .contains("LABEL=NUMBER")
        );
        assert!(
            err(Rule::new(
                &labels(),
                &buckets(),
                None,
                &["a=x".into()],
                None
            ))
            .contains("not a number")
        );
        for bad in [0.0, 150.0, -1.0, f64::NAN] {
            assert!(
                err(Rule::new(&labels(), &buckets(), None, &[], Some(bad)))
                    .contains("above 0 and at most 100")
            );
        }
        assert!(Rule::new(&labels(), &buckets(), None, &[], Some(100.0)).is_ok());
    }
}

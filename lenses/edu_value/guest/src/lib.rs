//! The `edu_value` lens component: reads the model's 0–5 educational-value score (forgiving about
//! its form, strict about its range) and buckets it: 0–1 Poor, 2 Low, 3 Medium, 4–5 Good.

use classified_lens::serde_json::{self, Value};
use classified_lens::{Error, Lens, Scored, Stage};

const SCORE: &str = "educational_value";
const RATIONALE: &str = "justification";

#[derive(Default)]
pub struct EduValue;

impl Lens for EduValue {
    const STAGES: &'static [Stage] = &[Stage::Postprocess, Stage::Bucket];

    fn postprocess(&self, arguments: &str) -> Result<Scored, Error> {
        let args: Value = serde_json::from_str(arguments)?;
        let raw = args.get(SCORE).ok_or_else(|| Error::failed(format!("the answer has no `{SCORE}`")))?;
        let score =
            parse_score(raw).ok_or_else(|| Error::failed(format!("`{SCORE}` is {raw}, not a number from 0 to 5")))?;
        let why = args.get(RATIONALE).and_then(Value::as_str).unwrap_or_default();
        Ok(Scored::new().score(SCORE, score).rationale(RATIONALE, why.trim()))
    }

    fn bucket(&self, scores: &[(String, f64)]) -> Result<String, Error> {
        let score = scores.iter().find(|(l, _)| l == SCORE).map(|(_, v)| *v).ok_or("no educational_value score")?;
        // Chunk means can be fractional: round half up, so 3.5 counts as Good.
        Ok(match (score + 0.5).floor() as i64 {
            ..=1 => "Poor",
            2 => "Low",
            3 => "Medium",
            _ => "Good",
        }
        .to_string())
    }
}

classified_lens::export_lens!(EduValue);

/// A whole number of points from a number or a string such as "4", "4/5" or "Educational score: 4".
/// Values slightly out of range (a model answering 6) are clamped; garbage is refused.
fn parse_score(raw: &Value) -> Option<f64> {
    let value = match raw {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let digits: String = s
                .trim_start_matches(|c: char| !c.is_ascii_digit() && c != '-')
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect();
            digits.parse().ok()?
        }
        _ => return None,
    };
    (value.is_finite() && (-1.0..=10.0).contains(&value)).then(|| value.round().clamp(0.0, 5.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(arguments: &str) -> Result<f64, Error> {
        EduValue.postprocess(arguments).map(|s| s.get(SCORE).unwrap())
    }

    #[test]
    fn scores_are_read_forgivingly_and_clamped() {
        assert_eq!(score(r#"{"educational_value": 4, "justification": "clear"}"#), Ok(4.0));
        assert_eq!(score(r#"{"educational_value": "3/5"}"#), Ok(3.0));
        assert_eq!(score(r#"{"educational_value": "Educational score: 2"}"#), Ok(2.0));
        assert_eq!(score(r#"{"educational_value": 6}"#), Ok(5.0));
        assert_eq!(score(r#"{"educational_value": 4.6}"#), Ok(5.0));
        assert!(score(r#"{"educational_value": "great"}"#).is_err());
        assert!(score(r#"{"educational_value": 400}"#).is_err());
        assert!(score(r#"{"justification": "no score"}"#).is_err());
        assert!(score("not json").is_err());
    }

    #[test]
    fn buckets_follow_the_rubric() {
        let bucket = |v: f64| EduValue.bucket(&[(SCORE.to_string(), v)]).unwrap();
        let got: Vec<String> = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 2.4, 3.5].map(bucket).to_vec();
        assert_eq!(got, ["Poor", "Poor", "Low", "Medium", "Good", "Good", "Low", "Good"]);
    }
}

//! A lens component: scores a row's `text` 1-3 by its length. Replace `score` with your own rules.

use classified_lens::{Error, Fields, Lens, Scored, Stage};

#[derive(Default)]
pub struct MyLens;

impl Lens for MyLens {
    // The stages this lens implements. `cargo test` checks this list against the methods below.
    const STAGES: &'static [Stage] = &[Stage::Score];

    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let text = fields.get("text").ok_or("the row has no `text` field")?;
        let words = text.split_whitespace().count();
        let overall = if words >= 12 { 3.0 } else if words >= 4 { 2.0 } else { 1.0 };
        Ok(Scored::new().score("overall", overall).rationale("reason", format!("{words} words")))
    }
}

classified_lens::export_lens!(MyLens);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_rows_score_higher() {
        let row = |t: &str| Fields::from([("text".to_string(), t.to_string())]);
        let short = MyLens.score(row("Too short.")).unwrap();
        let long = MyLens.score(row("This row has clearly more than twelve words in it, so it scores three.")).unwrap();
        assert_eq!((short.get("overall"), long.get("overall")), (Some(1.0), Some(3.0)));
    }
}

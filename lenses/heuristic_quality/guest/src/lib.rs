//! The `heuristic_quality` lens: scores a document 1–3 on each Gopher/C4-style signal, plus `overall`,
//! without a model. The thresholds are in `function.json` and `../README.md`.

#[cfg(test)]
mod reference;
pub mod signals;

use classified_lens::{Error, Fields, Lens, Scored, Stage};
use signals::Signals;

#[derive(Default)]
pub struct HeuristicQuality;

impl Lens for HeuristicQuality {
    const STAGES: &'static [Stage] = &[Stage::Score, Stage::Bucket];

    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let text = fields.get("text").ok_or("the row has no `text` field")?;
        Ok(scored(&signals::measure(text)))
    }

    /// `overall` 1 → Poor; 2 → Low, or Medium when the mean signal is at least 2.5; 3 → Good.
    fn bucket(&self, scores: &[(String, f64)]) -> Result<String, Error> {
        let overall = scores
            .iter()
            .find(|(l, _)| l == "overall")
            .map(|(_, v)| *v)
            .ok_or("no `overall` score")?;
        let signals: Vec<f64> = scores
            .iter()
            .filter(|(l, _)| l != "overall")
            .map(|(_, v)| *v)
            .collect();
        let mean = signals.iter().sum::<f64>() / signals.len().max(1) as f64;
        let bucket = match overall.round() as i64 {
            ..=1 => "Poor",
            2 if mean >= 2.5 => "Medium",
            2 => "Low",
            _ => "Good",
        };
        Ok(bucket.to_string())
    }
}

classified_lens::export_lens!(HeuristicQuality);

/// 3 when `value` is in `good`, 2 when in `fair`, else 1.
fn band(
    value: f64,
    good: std::ops::RangeInclusive<f64>,
    fair: std::ops::RangeInclusive<f64>,
) -> f64 {
    if good.contains(&value) {
        3.0
    } else if fair.contains(&value) {
        2.0
    } else {
        1.0
    }
}

pub fn scored(s: &Signals) -> Scored {
    let words = s.words as f64;
    let thresholds = [0.20, 0.18, 0.16];
    let ngram = if s.top_ngram.iter().zip(thresholds).all(|(v, t)| *v < t) {
        3.0
    } else if s
        .top_ngram
        .iter()
        .zip(thresholds)
        .all(|(v, t)| *v < 1.5 * t)
    {
        2.0
    } else {
        1.0
    };
    let signals = [
        (
            "word_count",
            band(words, 50.0..=100_000.0, 20.0..=200_000.0),
        ),
        (
            "mean_word_length",
            band(s.mean_word_length, 3.0..=10.0, 2.5..=12.0),
        ),
        ("symbol_ratio", band(s.symbol_ratio, 0.0..=0.05, 0.0..=0.1)),
        (
            "bullet_ellipsis_lines",
            band(s.bullet_lines, 0.0..=0.5, 0.0..=0.9).min(band(
                s.ellipsis_lines,
                0.0..=0.1,
                0.0..=0.3,
            )),
        ),
        ("alpha_words", band(s.alpha_words, 0.8..=1.0, 0.6..=1.0)),
        (
            "stop_words",
            band(s.stop_words as f64, 2.0..=8.0, 1.0..=8.0),
        ),
        (
            "duplication",
            band(
                s.duplicate_lines.max(s.duplicate_paragraphs),
                0.0..=0.1,
                0.0..=0.3,
            ),
        ),
        ("ngram_repetition", ngram),
    ];
    let ones = signals.iter().filter(|(_, v)| *v == 1.0).count();
    let twos = signals.iter().filter(|(_, v)| *v == 2.0).count();
    let overall = if ones > 0 {
        1.0
    } else if twos <= 1 {
        3.0
    } else {
        2.0
    };
    let mut out = Scored::new();
    for (label, value) in signals {
        out = out.score(label, value);
    }
    out.score("overall", overall).rationale(
        "signals",
        format!(
            "words={} mean_word_length={:.2} symbol_ratio={:.3} bullet_lines={:.2} ellipsis_lines={:.2} \
             alpha_words={:.2} stop_words={} duplicate_lines={:.2} duplicate_paragraphs={:.2} \
             top_ngram_2_3_4={:.3}/{:.3}/{:.3}",
            s.words,
            s.mean_word_length,
            s.symbol_ratio,
            s.bullet_lines,
            s.ellipsis_lines,
            s.alpha_words,
            s.stop_words,
            s.duplicate_lines,
            s.duplicate_paragraphs,
            s.top_ngram[0],
            s.top_ngram[1],
            s.top_ngram[2],
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Fields {
        Fields::from([("text".to_string(), text.to_string())])
    }

    #[test]
    fn good_prose_scores_three() {
        let text = "The history of the printing press is a story of ideas moving faster than ever before. \
                    Before Gutenberg, books were copied by hand, which made them rare and expensive. \
                    With movable type, a workshop could produce hundreds of copies of the same text, and \
                    scholars across Europe began to share and argue with the same editions. That change \
                    helped the spread of literacy and of new scientific methods.";
        let s = HeuristicQuality.score(fields(text)).unwrap();
        assert_eq!(s.get("overall"), Some(3.0), "{s:?}");
        assert_eq!(HeuristicQuality.bucket(&s.scores).unwrap(), "Good");
    }

    #[test]
    fn spam_scores_one() {
        let s = HeuristicQuality
            .score(fields(&"BUY NOW #deal #cheap\n".repeat(30)))
            .unwrap();
        assert_eq!(s.get("overall"), Some(1.0));
        assert_eq!(HeuristicQuality.bucket(&s.scores).unwrap(), "Poor");
    }

    #[test]
    fn missing_text_fails_the_row() {
        assert!(matches!(
            HeuristicQuality.score(Fields::new()),
            Err(Error::Failed(_))
        ));
    }
}

//! The classifier and its prediction: the mean of the feature rows of an embedding table (the text's
//! vector), then, per score label, a softmax over the score values seen in training. A label's
//! expected value under that softmax is the model's estimate; a head that reports the nearest value
//! (integer-typed labels) rounds it to the nearest score value, so the lens's bucket rule and
//! "score ≥ t" filters apply to it exactly as to the LLM's scores. An imported fastText model
//! ([`super::fasttext`]) replaces the text vector with fastText's own and keeps everything else.

use super::features::{self, FeatureConfig};

/// One score label's output layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The score label (from function.json).
    pub label: String,
    /// The distinct score values seen in training, ascending: the classes.
    pub values: Vec<f64>,
    /// `values.len()` rows of `dim` weights.
    pub weights: Vec<f32>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// Report the value nearest the expected score rather than the expected score itself.
    /// Integer-typed labels do: an expected 2.8 reads as "almost surely 3", and only a 3 passes
    /// the bucket rule's "3" or a "≥ 3" filter.
    pub nearest: bool,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub features: FeatureConfig,
    /// Input fields the model reads, in order (the lens's input fields).
    pub fields: u32,
    /// Length of the text vector.
    pub dim: usize,
    /// `features.buckets` rows of `dim` values.
    pub embeddings: Vec<f32>,
    pub heads: Vec<Head>,
    /// An imported fastText model computes the text vector (then `features` only describes it and
    /// `embeddings` is empty).
    pub imported: Option<std::sync::Arc<super::fasttext::FastText>>,
}

/// What the model says of one text for one label.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probability of each of the head's `values`.
    pub probabilities: Vec<f64>,
    /// The expected score, Σ p·value.
    pub expected: f64,
    /// What the lens reports: `expected`, or the value nearest it for a head that rounds.
    pub score: f64,
}

impl Prediction {
    /// Index of the most likely class.
    pub fn argmax(&self) -> usize {
        argmax(&self.probabilities)
    }

    /// Index of the value nearest the expected score (the upper one of two equally near): the
    /// class the lens's score stands for.
    pub fn nearest(&self, values: &[f64]) -> usize {
        let mut best = 0;
        for (i, v) in values.iter().enumerate() {
            if (v - self.expected).abs() <= (values[best] - self.expected).abs() {
                best = i;
            }
        }
        best
    }
}

/// Index of the largest value (the first of equals).
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

impl Model {
    /// The text vector of `fields`: the mean of their feature rows (zeros for a text without a
    /// single token). `hidden` must hold `dim` values.
    pub fn hidden(&self, fields: &[&str], hidden: &mut [f32]) {
        // Hash first, then gather: the gather loop has no data-dependent branches, so the CPU
        // keeps many of its (mostly cache-missing) row loads in flight at once. Interleaved
        // with tokenizing, each word boundary's mispredicted branch held them to one or two,
        // and prediction ran at a quarter of the speed.
        thread_local! {
            static BUCKETS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        if let Some(imported) = &self.imported {
            imported.hidden(fields, hidden);
            return;
        }
        BUCKETS.with_borrow_mut(|buckets| {
            buckets.clear();
            features::collect(&self.features, fields, buckets);
            self.mean_rows(buckets, hidden);
            // A huge row must not pin its buffer for the rest of the thread's life.
            if buckets.capacity() > 1 << 20 {
                *buckets = Vec::new();
            }
        });
    }

    /// The mean of the feature rows `features` into `hidden` (zeros for none).
    fn mean_rows(&self, features: &[u32], hidden: &mut [f32]) {
        mean_rows(&self.embeddings, self.dim, features, hidden);
    }

    /// Predictions for an example already turned into feature ids (training and evaluation).
    pub fn predict_features(&self, features: &[u32]) -> Vec<Prediction> {
        let mut hidden = vec![0.0; self.dim];
        self.mean_rows(features, &mut hidden);
        self.predict_hidden(&hidden)
    }

    /// Each head's softmax and expected score for a text vector.
    pub fn predict_hidden(&self, hidden: &[f32]) -> Vec<Prediction> {
        self.heads
            .iter()
            .map(|head| {
                let mut probabilities = logits(head, hidden);
                softmax(&mut probabilities);
                let (low, high) = head
                    .values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                        (a.min(*v), b.max(*v))
                    });
                // Clamped: rounding must not take a sure top score past function.json's maximum.
                let expected = probabilities
                    .iter()
                    .zip(&head.values)
                    .map(|(p, v)| p * v)
                    .sum::<f64>()
                    .clamp(low, high);
                let mut prediction = Prediction {
                    probabilities,
                    expected,
                    score: expected,
                };
                if head.nearest {
                    prediction.score = head.values[prediction.nearest(&head.values)];
                }
                prediction
            })
            .collect()
    }

    /// Predictions for one row's input fields, one per label.
    pub fn predict(&self, fields: &[&str]) -> Vec<Prediction> {
        let mut hidden = vec![0.0; self.dim];
        self.hidden(fields, &mut hidden);
        self.predict_hidden(&hidden)
    }

    /// The score of each label that the model lens reports for a row.
    pub fn scores(&self, fields: &[&str]) -> Vec<f64> {
        self.predict(fields).into_iter().map(|p| p.score).collect()
    }

    pub fn labels(&self) -> Vec<String> {
        self.heads.iter().map(|h| h.label.clone()).collect()
    }
}

/// The mean of the rows `features` of `table` (rows of `dim` values) into `out`: zeros for none.
/// Training and prediction both use it, so a model predicts what it was trained to.
pub(crate) fn mean_rows(table: &[f32], dim: usize, features: &[u32], out: &mut [f32]) {
    // Common widths are summed in registers: summed in `out`, each row's add waited for the
    // previous row's store to come back (prediction ran a third faster without that wait). The
    // order of the additions is the same, so the sums are the same to the bit.
    match dim {
        8 => sum_rows::<8>(table, features, out),
        16 => sum_rows::<16>(table, features, out),
        32 => sum_rows::<32>(table, features, out),
        _ => {
            out.fill(0.0);
            for &f in features {
                let start = f as usize * dim;
                add(out, &table[start..start + dim]);
            }
        }
    }
    if !features.is_empty() {
        let scale = 1.0 / features.len() as f32;
        out.iter_mut().for_each(|o| *o *= scale);
    }
}

/// The sum of the rows `features` of `table`, rows of `D` values, into `out`.
#[inline(always)]
fn sum_rows<const D: usize>(table: &[f32], features: &[u32], out: &mut [f32]) {
    let mut acc = [0.0f32; D];
    for &f in features {
        let start = f as usize * D;
        let row: &[f32; D] = table[start..start + D]
            .try_into()
            .expect("a row of D values");
        add(&mut acc, row);
    }
    out.copy_from_slice(&acc);
}

/// `acc += row`, written so the compiler vectorises it.
#[inline(always)]
fn add(acc: &mut [f32], row: &[f32]) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a += *r;
    }
}

/// `W·h + b` of one head, in f64 (a few classes; precision is free here).
pub(crate) fn logits(head: &Head, hidden: &[f32]) -> Vec<f64> {
    let dim = hidden.len();
    head.bias
        .iter()
        .enumerate()
        .map(|(k, b)| {
            let row = &head.weights[k * dim..(k + 1) * dim];
            f64::from(*b)
                + row
                    .iter()
                    .zip(hidden)
                    .map(|(w, h)| f64::from(*w) * f64::from(*h))
                    .sum::<f64>()
        })
        .collect()
}

/// Logits → probabilities, in place (shifted by the maximum so nothing overflows).
pub(crate) fn softmax(values: &mut [f64]) {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn rows_summed_in_registers_are_the_rows_summed_in_memory_to_the_bit() {
        for dim in [8, 16, 32, 5] {
            let table: Vec<f32> = (0..64 * dim)
                .map(|i| ((i * 7919) % 1000) as f32 / 37.0 - 13.0)
                .collect();
            let features: Vec<u32> = (0..501).map(|i| (i * 31 % 64) as u32).collect();
            let mut fast = vec![0.0; dim];
            mean_rows(&table, dim, &features, &mut fast);
            let mut slow = vec![0.0f32; dim];
            for &f in &features {
                add(&mut slow, &table[f as usize * dim..][..dim]);
            }
            let scale = 1.0 / features.len() as f32;
            slow.iter_mut().for_each(|s| *s *= scale);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&slow), "dim {dim}");
            // No features: zeros, not the NaN of 0 × (1 / 0).
            mean_rows(&table, dim, &[], &mut fast);
            assert!(fast.iter().all(|x| *x == 0.0), "dim {dim}");
        }
    }

    /// A tiny hand-made model: 8 buckets of 2 values, one head over the scores 1, 2, 3.
    pub fn tiny() -> Model {
        Model {
            features: FeatureConfig {
                buckets: 8,
                word_ngrams: 1,
                char_min: 0,
                char_max: 0,
            },
            fields: 1,
            dim: 2,
            embeddings: (0..16).map(|i| i as f32 / 8.0 - 1.0).collect(),
            heads: vec![Head {
                label: "overall".into(),
                values: vec![1.0, 2.0, 3.0],
                weights: vec![-1.0, 0.5, 0.0, 0.0, 1.0, -0.5],
                bias: vec![0.1, 0.2, 0.0],
                nearest: false,
            }],
            imported: None,
        }
    }

    #[test]
    fn expected_score_is_the_softmax_mean_of_the_values() {
        let model = tiny();
        let p = &model.predict(&["some words here"])[0];
        let sum: f64 = p.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        let expected: f64 = p
            .probabilities
            .iter()
            .zip([1.0, 2.0, 3.0])
            .map(|(p, v)| p * v)
            .sum();
        assert!((p.expected - expected).abs() < 1e-12);
        assert!((1.0..=3.0).contains(&p.expected));
    }

    #[test]
    fn a_rounding_head_reports_the_value_nearest_the_expectation() {
        let mut model = tiny();
        for text in ["some words here", "other text", "", "x y z w"] {
            model.heads[0].nearest = false;
            let p = model.predict(&[text])[0].clone();
            assert_eq!(p.score, p.expected);
            model.heads[0].nearest = true;
            let rounded = model.scores(&[text])[0];
            assert_eq!(rounded, [1.0, 2.0, 3.0][p.nearest(&[1.0, 2.0, 3.0])]);
            assert!(
                (rounded - p.expected).abs() <= 0.5,
                "{rounded} vs {}",
                p.expected
            );
        }
    }

    #[test]
    fn hidden_is_the_mean_of_the_feature_rows() {
        let model = tiny();
        let mut buckets = Vec::new();
        features::collect(&model.features, &["alpha beta"], &mut buckets);
        let mut want = [0.0f32; 2];
        for b in &buckets {
            want[0] += model.embeddings[*b as usize * 2] / buckets.len() as f32;
            want[1] += model.embeddings[*b as usize * 2 + 1] / buckets.len() as f32;
        }
        let mut got = [0.0f32; 2];
        model.hidden(&["alpha beta"], &mut got);
        assert!((got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6);
        // An empty text is the zero vector: the biases alone decide.
        model.hidden(&[""], &mut got);
        assert_eq!(got, [0.0, 0.0]);
    }

    #[test]
    fn softmax_survives_huge_logits() {
        let mut v = vec![1000.0, 0.0, -1000.0];
        softmax(&mut v);
        assert!((v[0] - 1.0).abs() < 1e-12 && v.iter().all(|p| p.is_finite()));
        assert_eq!(argmax(&[0.2, 0.5, 0.5]), 1);
    }
}

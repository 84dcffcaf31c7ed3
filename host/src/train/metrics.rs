//! How well the model agrees with the LLM on the hold-out, beside a majority-class baseline for
//! every figure (a model no better than always answering the commonest score is obvious):
//! per label accuracy, macro-F1, mean absolute error and Spearman; bucket accuracy and confusion;
//! and for each threshold of the last label, how a "score ≥ t" filter built on the model compares
//! with the same filter on the LLM's scores. The statistics are `crate::stats`'.
//!
//! Accuracy, F1 and the label confusion matrices read the model's expected score as the nearest
//! score value; MAE and Spearman take the expected score as it is (it ranks rows finer than the
//! values do). Buckets and thresholds take the score the lens reports (the nearest value for an
//! integer-typed label, else the expected score), as a filter on the lens's scores would. Each
//! threshold `t` is also shown on the expected score at the midpoint below it.

use super::fit::{Examples, Label};
use super::model::Model;
use crate::stats;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub train_examples: usize,
    pub holdout_examples: usize,
    pub labels: Vec<LabelMetrics>,
    pub buckets: BucketMetrics,
    /// Thresholds of the last label.
    pub thresholds: Vec<ThresholdMetrics>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LabelMetrics {
    pub label: String,
    /// The score values (classes), ascending.
    pub values: Vec<f64>,
    pub model: Agreement,
    /// Always the commonest value of the training examples.
    pub baseline: Agreement,
    /// The model's confusion matrix over `values`: row = the LLM's score, column = the model's.
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Agreement {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub mae: f64,
    /// `None` when one side is constant (always, for the baseline).
    pub spearman: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketMetrics {
    pub names: Vec<String>,
    pub accuracy: f64,
    /// Always the commonest bucket of the training examples.
    pub baseline: String,
    pub baseline_accuracy: f64,
    /// Row = the bucket of the LLM's scores, column = the bucket of the model's.
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdMetrics {
    pub threshold: f64,
    /// Share of hold-out examples the LLM scores at or above the threshold.
    pub llm_kept: f64,
    /// The model's score at or above `threshold`.
    pub model: Filter,
    /// The midpoint between the value below `threshold` and `threshold`.
    pub midpoint: f64,
    /// The model's expected score at or above `midpoint`.
    pub model_at_midpoint: Filter,
    pub baseline: Filter,
}

/// A "score ≥ t" filter judged against the same filter on the LLM's scores.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Filter {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of examples it keeps.
    pub kept: f64,
}

/// Index of the commonest class (the lowest of equals).
fn majority(classes: impl Iterator<Item = usize>, n: usize) -> usize {
    let mut counts = vec![0u64; n];
    classes.for_each(|c| counts[c] += 1);
    let mut best = 0;
    for (i, c) in counts.iter().enumerate() {
        if *c > counts[best] {
            best = i;
        }
    }
    best
}

fn agreement(values: &[f64], truth: &[usize], predicted: &[usize], scores: &[f64]) -> Agreement {
    let classes: Vec<usize> = (0..values.len()).collect();
    let confusion = stats::confusion(&classes, truth, predicted);
    let truth_values: Vec<f64> = truth.iter().map(|c| values[*c]).collect();
    Agreement {
        accuracy: stats::accuracy(truth, predicted),
        macro_f1: stats::macro_f1(&confusion),
        mae: stats::mean_absolute_error(&truth_values, scores),
        spearman: stats::spearman(&truth_values, scores),
    }
}

fn filter(truth: &[bool], kept: &[bool]) -> Filter {
    let m = stats::confusion(&[false, true], truth, kept);
    let positive = stats::class_scores(&m)[1];
    let n = kept.len().max(1) as f64;
    Filter {
        precision: positive.precision,
        recall: positive.recall,
        f1: positive.f1,
        kept: kept.iter().filter(|k| **k).count() as f64 / n,
    }
}

/// Evaluate `model` on `test`; `train` gives the baselines. `bucket` is the lens's bucket rule
/// (its stages), `bucket_names` its buckets in report order.
pub fn evaluate(
    model: &Model,
    train: &Examples,
    test: &Examples,
    labels: &[Label],
    bucket: &dyn Fn(&[f64]) -> String,
    bucket_names: &[String],
) -> Metrics {
    let predictions: Vec<_> = (0..test.len())
        .map(|i| model.predict_features(test.features_of(i)))
        .collect();
    let value_of = |l: usize, c: u16| labels[l].values[usize::from(c)];

    let mut label_metrics = Vec::new();
    let mut expected_last = Vec::new();
    let mut reported_last = Vec::new();
    let mut truth_last = Vec::new();
    for (l, label) in labels.iter().enumerate() {
        let values = &label.values;
        let truth: Vec<usize> = (0..test.len())
            .map(|i| usize::from(test.targets_of(i)[l]))
            .collect();
        let nearest: Vec<usize> = predictions.iter().map(|p| p[l].nearest(values)).collect();
        let expected: Vec<f64> = predictions.iter().map(|p| p[l].expected).collect();
        let common = majority(
            (0..train.len()).map(|i| usize::from(train.targets_of(i)[l])),
            values.len(),
        );
        let classes: Vec<usize> = (0..values.len()).collect();
        label_metrics.push(LabelMetrics {
            label: label.name.clone(),
            values: values.clone(),
            model: agreement(values, &truth, &nearest, &expected),
            baseline: agreement(
                values,
                &truth,
                &vec![common; truth.len()],
                &vec![values[common]; truth.len()],
            ),
            confusion: stats::confusion(&classes, &truth, &nearest),
        });
        if l + 1 == labels.len() {
            expected_last = expected.clone();
            reported_last = predictions.iter().map(|p| p[l].score).collect();
            truth_last = truth.iter().map(|c| values[*c]).collect();
        }
    }

    // Buckets: the lens's rule on the LLM's scores against the rule on the model's.
    let llm_scores = |e: &Examples, i: usize| -> Vec<f64> {
        e.targets_of(i)
            .iter()
            .enumerate()
            .map(|(l, c)| value_of(l, *c))
            .collect()
    };
    let truth_buckets: Vec<String> = (0..test.len())
        .map(|i| bucket(&llm_scores(test, i)))
        .collect();
    let model_buckets: Vec<String> = predictions
        .iter()
        .map(|p| bucket(&p.iter().map(|p| p.score).collect::<Vec<_>>()))
        .collect();
    let mut names = bucket_names.to_vec();
    for b in truth_buckets.iter().chain(&model_buckets) {
        if !names.contains(b) {
            names.push(b.clone());
        }
    }
    let train_buckets: Vec<usize> = (0..train.len())
        .map(|i| {
            let b = bucket(&llm_scores(train, i));
            names.iter().position(|n| *n == b).unwrap_or(0)
        })
        .collect();
    let baseline = names
        .get(majority(train_buckets.into_iter(), names.len().max(1)))
        .cloned()
        .unwrap_or_default();
    let buckets = BucketMetrics {
        accuracy: stats::accuracy(&truth_buckets, &model_buckets),
        baseline_accuracy: stats::accuracy(&truth_buckets, &vec![baseline.clone(); test.len()]),
        baseline,
        confusion: stats::confusion(&names, &truth_buckets, &model_buckets),
        names,
    };

    // Thresholds of the last label: every value above the lowest.
    let last = labels.len() - 1;
    let common_last = labels[last].values[majority(
        (0..train.len()).map(|i| usize::from(train.targets_of(i)[last])),
        labels[last].values.len(),
    )];
    let thresholds = labels[last]
        .values
        .windows(2)
        .map(|pair| {
            let (below, t) = (pair[0], pair[1]);
            let midpoint = (below + t) / 2.0;
            let truth: Vec<bool> = truth_last.iter().map(|v| *v >= t).collect();
            let kept = |scores: &[f64], at: f64| -> Vec<bool> {
                scores.iter().map(|v| *v >= at).collect()
            };
            ThresholdMetrics {
                threshold: t,
                llm_kept: truth.iter().filter(|k| **k).count() as f64 / truth.len().max(1) as f64,
                model: filter(&truth, &kept(&reported_last, t)),
                midpoint,
                model_at_midpoint: filter(&truth, &kept(&expected_last, midpoint)),
                baseline: filter(&truth, &vec![common_last >= t; truth.len()]),
            }
        })
        .collect();

    Metrics {
        train_examples: train.len(),
        holdout_examples: test.len(),
        labels: label_metrics,
        buckets,
        thresholds,
    }
}

fn table(header: Vec<&str>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN)
        .set_header(header);
    t
}

fn right_align(t: &mut comfy_table::Table, from: usize) {
    for (i, column) in t.column_iter_mut().enumerate() {
        if i >= from {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
}

fn spearman(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into())
}

impl Metrics {
    /// The tables `train` prints: model against baseline per label, buckets, thresholds.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Hold-out: {} example(s), trained on {} (baseline: always the commonest value)\n",
            self.holdout_examples, self.train_examples
        );
        let mut t = table(vec![
            "Label", "Accuracy", "baseline", "Macro-F1", "baseline", "MAE", "baseline", "Spearman",
            "baseline",
        ]);
        for l in &self.labels {
            t.add_row(vec![
                l.label.clone(),
                format!("{:.3}", l.model.accuracy),
                format!("{:.3}", l.baseline.accuracy),
                format!("{:.3}", l.model.macro_f1),
                format!("{:.3}", l.baseline.macro_f1),
                format!("{:.3}", l.model.mae),
                format!("{:.3}", l.baseline.mae),
                spearman(l.model.spearman),
                spearman(l.baseline.spearman),
            ]);
        }
        right_align(&mut t, 1);
        out.push_str(&format!("{t}\n\n"));

        let b = &self.buckets;
        out.push_str(&format!(
            "Buckets: accuracy {:.3} (baseline, always {}: {:.3}); rows = LLM, columns = model\n",
            b.accuracy, b.baseline, b.baseline_accuracy
        ));
        let mut header = vec![""];
        header.extend(b.names.iter().map(String::as_str));
        let mut t = table(header);
        for (name, row) in b.names.iter().zip(&b.confusion) {
            let mut cells = vec![name.clone()];
            cells.extend(row.iter().map(u64::to_string));
            t.add_row(cells);
        }
        right_align(&mut t, 1);
        out.push_str(&format!("{t}\n"));

        if let Some(last) = self.labels.last()
            && !self.thresholds.is_empty()
        {
            out.push_str(&format!(
                "\nFiltering on `{}` >= t, against the LLM's scores >= t (model at t, and its expected score at the midpoint m below t)\n",
                last.label
            ));
            let mut t = table(vec![
                "t",
                "LLM keeps",
                "keeps",
                "Precision",
                "Recall",
                "F1",
                "m",
                "keeps",
                "Precision",
                "Recall",
                "F1",
                "baseline F1",
            ]);
            for th in &self.thresholds {
                let (a, b) = (&th.model, &th.model_at_midpoint);
                t.add_row(vec![
                    format!("{}", th.threshold),
                    format!("{:.1}%", th.llm_kept * 100.0),
                    format!("{:.1}%", a.kept * 100.0),
                    format!("{:.3}", a.precision),
                    format!("{:.3}", a.recall),
                    format!("{:.3}", a.f1),
                    format!("{}", th.midpoint),
                    format!("{:.1}%", b.kept * 100.0),
                    format!("{:.3}", b.precision),
                    format!("{:.3}", b.recall),
                    format!("{:.3}", b.f1),
                    format!("{:.3}", th.baseline.f1),
                ]);
            }
            right_align(&mut t, 0);
            out.push_str(&format!("{t}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::Head;
    use crate::train::{FeatureConfig, Model};

    /// A model that knows two words: "good" pushes to 3, "bad" to 1.
    fn two_word_model() -> (Model, Vec<u32>, Vec<u32>) {
        let features = FeatureConfig {
            buckets: 64,
            word_ngrams: 1,
            char_min: 0,
            char_max: 0,
        };
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        crate::train::features::collect(&features, &["good"], &mut good);
        crate::train::features::collect(&features, &["bad"], &mut bad);
        let mut embeddings = vec![0.0; 64];
        embeddings[good[0] as usize] = 1.0;
        embeddings[bad[0] as usize] = -1.0;
        let model = Model {
            features,
            fields: 1,
            dim: 1,
            embeddings,
            heads: vec![Head {
                label: "overall".into(),
                values: vec![1.0, 2.0, 3.0],
                weights: vec![-20.0, 0.0, 20.0],
                bias: vec![0.0, 1.0, 0.0],
                nearest: false,
            }],
            imported: None,
        };
        (model, good, bad)
    }

    #[test]
    fn figures_match_a_hand_count() {
        let (model, good, bad) = two_word_model();
        let labels = vec![Label {
            name: "overall".into(),
            values: vec![1.0, 2.0, 3.0],
        }];
        // Training is mostly 2s: the baseline always says 2.
        let mut train = Examples::new(1);
        for c in [1u16, 1, 1, 0, 2] {
            train.push(&good, &[c]);
        }
        // Hold-out: "good" rated 3 twice and 1 once, "bad" rated 1 once, nothing rated 2 once.
        let mut test = Examples::new(1);
        test.push(&good, &[2]);
        test.push(&good, &[2]);
        test.push(&good, &[0]);
        test.push(&bad, &[0]);
        test.push(&[], &[1]);
        let bucket = |s: &[f64]| {
            if s[0] >= 2.5 {
                "Good".into()
            } else {
                "Poor".into()
            }
        };
        let names = vec!["Poor".to_string(), "Good".to_string()];
        let m = evaluate(&model, &train, &test, &labels, &bucket, &names);
        let l = &m.labels[0];
        // The model predicts 3, 3, 3, 1, 2: four of five right.
        assert!((l.model.accuracy - 0.8).abs() < 1e-12);
        assert_eq!(
            l.confusion,
            vec![vec![1, 0, 1], vec![0, 1, 0], vec![0, 0, 2]]
        );
        // The baseline (always 2) gets one of five.
        assert!((l.baseline.accuracy - 0.2).abs() < 1e-12);
        assert_eq!(l.baseline.spearman, None);
        assert!(l.model.spearman.unwrap() > 0.5);
        // Buckets: truth Good, Good, Poor, Poor, Poor; model Good, Good, Good, Poor, Poor.
        assert!((m.buckets.accuracy - 0.8).abs() < 1e-12);
        assert_eq!(m.buckets.baseline, "Poor");
        assert!((m.buckets.baseline_accuracy - 0.6).abs() < 1e-12);
        // Thresholds 2 and 3. At 3 the model's scores (just under 3) keep nothing; at the midpoint
        // 2.5 they keep 3 of 5, both of the LLM's 2 among them.
        assert_eq!(m.thresholds.len(), 2);
        let t3 = &m.thresholds[1];
        assert_eq!((t3.threshold, t3.midpoint), (3.0, 2.5));
        assert!((t3.llm_kept - 0.4).abs() < 1e-12 && t3.model.kept == 0.0);
        let mid = &t3.model_at_midpoint;
        assert!((mid.kept - 0.6).abs() < 1e-12);
        assert!((mid.precision - 2.0 / 3.0).abs() < 1e-12 && mid.recall == 1.0);
        // At 2 the empty text's score (exactly 2.0) counts: 4 of 5 kept at t.
        assert!((m.thresholds[0].model.kept - 0.8).abs() < 1e-12);
        // The baseline (2) keeps nothing at 3.
        assert_eq!((t3.baseline.kept, t3.baseline.f1), (0.0, 0.0));
        let text = m.render();
        assert!(
            text.contains("Macro-F1") && text.contains("baseline") && text.contains("LLM keeps")
        );
    }
}

//! Deterministic training: fastText's supervised algorithm (mean of feature rows → softmax per
//! label, plain SGD with a learning rate falling linearly to zero), on one thread with a seeded
//! shuffle, so the same examples, settings and seed give the same model, bit for bit, whatever
//! the number of cores and whatever else runs (`exp` is the platform's, so another OS or CPU
//! architecture may differ in the last bits). One thread is fast enough here: a few MB of labelled
//! text train in seconds, and the labels (LLM answers) cost far more than the training.

use super::features::FeatureConfig;
use super::model::{Head, Model, logits, mean_rows, softmax};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Training settings (the model card lists them).
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    pub features: FeatureConfig,
    /// Length of the text vector.
    pub dim: usize,
    /// Passes over the training examples.
    pub epochs: u32,
    /// Starting learning rate (falls linearly to 0 over the whole training).
    pub lr: f32,
    pub seed: u64,
}

impl Default for Hyper {
    fn default() -> Self {
        Hyper {
            features: FeatureConfig::default(),
            dim: 16,
            epochs: 10,
            lr: 0.5,
            seed: 42,
        }
    }
}

/// Labelled examples as feature ids, flat: example `i` has the features
/// `features[offsets[i]..offsets[i + 1]]` and, for head `h`, the class `targets[i * heads + h]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Examples {
    pub features: Vec<u32>,
    pub offsets: Vec<usize>,
    pub targets: Vec<u16>,
    pub heads: usize,
}

impl Examples {
    pub fn new(heads: usize) -> Self {
        Examples {
            features: Vec::new(),
            offsets: vec![0],
            targets: Vec::new(),
            heads,
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add one example: its features and its class per head.
    pub fn push(&mut self, features: &[u32], targets: &[u16]) {
        debug_assert_eq!(targets.len(), self.heads);
        self.features.extend_from_slice(features);
        self.offsets.push(self.features.len());
        self.targets.extend_from_slice(targets);
    }

    pub fn features_of(&self, i: usize) -> &[u32] {
        &self.features[self.offsets[i]..self.offsets[i + 1]]
    }

    pub fn targets_of(&self, i: usize) -> &[u16] {
        &self.targets[i * self.heads..(i + 1) * self.heads]
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Examples {
        let mut out = Examples::new(self.heads);
        for &i in indices {
            out.push(self.features_of(i), self.targets_of(i));
        }
        out
    }
}

/// One label to learn: its name and the score values its classes stand for (ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub name: String,
    pub values: Vec<f64>,
}

/// Train a model on `examples` (whose features were made with `hyper.features`).
pub fn fit(examples: &Examples, labels: &[Label], fields: u32, hyper: &Hyper) -> Model {
    let dim = hyper.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(hyper.seed);
    // fastText's start: small random text vectors, zero output layers.
    let bound = 1.0 / dim as f32;
    let mut embeddings: Vec<f32> = (0..hyper.features.buckets as usize * dim)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let mut heads: Vec<Head> = labels
        .iter()
        .map(|l| Head {
            label: l.name.clone(),
            values: l.values.clone(),
            weights: vec![0.0; l.values.len() * dim],
            bias: vec![0.0; l.values.len()],
            // The classes are the discrete values the LLM gave; `train` turns this off for
            // labels function.json types as "number".
            nearest: true,
        })
        .collect();

    let total = (examples.len() as u64 * u64::from(hyper.epochs)).max(1);
    let mut done = 0u64;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let (mut hidden, mut grad) = (vec![0.0f32; dim], vec![0.0f32; dim]);
    for _ in 0..hyper.epochs {
        order.shuffle(&mut rng);
        for &i in &order {
            let lr = hyper.lr * (1.0 - done as f32 / total as f32);
            done += 1;
            let features = examples.features_of(i);
            if features.is_empty() {
                continue;
            }
            mean_rows(&embeddings, dim, features, &mut hidden);
            grad.fill(0.0);
            for (head, &target) in heads.iter_mut().zip(examples.targets_of(i)) {
                step(head, &hidden, usize::from(target), lr, &mut grad);
            }
            let scale = 1.0 / features.len() as f32;
            for &f in features {
                let row = &mut embeddings[f as usize * dim..(f as usize + 1) * dim];
                for (e, g) in row.iter_mut().zip(&grad) {
                    *e += g * scale;
                }
            }
        }
    }
    Model {
        features: hyper.features,
        fields,
        dim,
        embeddings,
        heads,
        imported: None,
    }
}

/// One SGD step of one head's softmax loss: update its weights and biases, and add the gradient
/// for the text vector to `grad` (computed with the weights before the update, as fastText does).
fn step(head: &mut Head, hidden: &[f32], target: usize, lr: f32, grad: &mut [f32]) {
    let dim = hidden.len();
    let mut p = logits(head, hidden);
    softmax(&mut p);
    for (k, pk) in p.iter().enumerate() {
        let y = if k == target { 1.0 } else { 0.0 };
        let alpha = lr * (y - *pk as f32);
        let row = &mut head.weights[k * dim..(k + 1) * dim];
        for ((g, w), h) in grad.iter_mut().zip(row.iter_mut()).zip(hidden) {
            *g += alpha * *w;
            *w += alpha * h;
        }
        head.bias[k] += alpha;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::features;
    use crate::train::format;

    /// Texts whose label is how many "good" words they hold against "bad" ones.
    pub(crate) fn corpus(n: usize, seed: u64) -> (Vec<String>, Vec<u16>) {
        let good = [
            "theorem",
            "proof",
            "photosynthesis",
            "lemma",
            "enzyme",
            "derivation",
        ];
        let bad = ["click", "subscribe", "casino", "bonus", "viagra", "lol"];
        let filler = [
            "the", "a", "of", "and", "to", "in", "is", "it", "that", "with",
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let class: u16 = rng.random_range(0..3);
            let words: Vec<&str> = (0..40)
                .map(|_| {
                    let roll: f64 = rng.random();
                    let p_good = [0.05, 0.15, 0.3][class as usize];
                    let p_bad = [0.3, 0.15, 0.05][class as usize];
                    if roll < p_good {
                        good[rng.random_range(0..good.len())]
                    } else if roll < p_good + p_bad {
                        bad[rng.random_range(0..bad.len())]
                    } else {
                        filler[rng.random_range(0..filler.len())]
                    }
                })
                .collect();
            texts.push(words.join(" "));
            labels.push(class);
        }
        (texts, labels)
    }

    fn examples(texts: &[String], labels: &[u16], config: &FeatureConfig) -> Examples {
        let mut ex = Examples::new(1);
        let mut buf = Vec::new();
        for (t, l) in texts.iter().zip(labels) {
            buf.clear();
            features::collect(config, &[t], &mut buf);
            ex.push(&buf, &[*l]);
        }
        ex
    }

    fn overall() -> Vec<Label> {
        vec![Label {
            name: "overall".into(),
            values: vec![1.0, 2.0, 3.0],
        }]
    }

    #[test]
    fn learns_a_learnable_corpus() {
        let hyper = Hyper {
            features: FeatureConfig {
                buckets: 1 << 12,
                ..Default::default()
            },
            ..Default::default()
        };
        let (texts, labels) = corpus(1500, 1);
        let model = fit(
            &examples(&texts, &labels, &hyper.features),
            &overall(),
            1,
            &hyper,
        );
        let (test, truth) = corpus(300, 2);
        let right = test
            .iter()
            .zip(&truth)
            .filter(|(t, l)| model.predict(&[t])[0].argmax() == usize::from(**l))
            .count();
        assert!(right > 240, "{right} of 300 right");
        // The expected score orders the classes.
        let mean = |class: u16| {
            let s: Vec<f64> = test
                .iter()
                .zip(&truth)
                .filter(|(_, l)| **l == class)
                .map(|(t, _)| model.scores(&[t])[0])
                .collect();
            s.iter().sum::<f64>() / s.len() as f64
        };
        assert!(mean(0) < mean(1) && mean(1) < mean(2));
    }

    #[test]
    fn same_data_and_seed_give_the_same_bytes_and_another_seed_does_not() {
        let hyper = Hyper {
            features: FeatureConfig {
                buckets: 1 << 10,
                ..Default::default()
            },
            epochs: 3,
            ..Default::default()
        };
        let (texts, labels) = corpus(200, 3);
        let ex = examples(&texts, &labels, &hyper.features);
        let a = format::to_bytes(&fit(&ex, &overall(), 1, &hyper));
        let b = format::to_bytes(&fit(&ex, &overall(), 1, &hyper));
        assert!(a == b);
        let other = Hyper { seed: 7, ..hyper };
        assert!(a != format::to_bytes(&fit(&ex, &overall(), 1, &other)));
    }
}

//! `classified train`'s classifier, measured (README "Train a classifier"): training MB/s,
//! prediction MB/s on one core, model size and load time, and macro-F1 on a hold-out, beside real
//! fastText (PyPI `fasttext-wheel`) trained on the same examples with the same split, labels,
//! features (word 1-2-grams, the same bucket count and vector size) and hyper-parameters.
//!
//! `cargo bench -p classified --bench train`. The corpus is synthetic and seeded: 3 classes of
//! ~2 KB documents drawn from overlapping Zipf vocabularies, with 10% of labels flipped, so
//! neither model can be perfect. `TRAIN_BENCH_DOCS` changes its size (default 30,000). Without
//! `python3 -c "import fasttext"` the fastText column says so and the rest still runs.

use classified::stats;
use classified::train::{self, Examples, Hyper, Label, features, format};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::time::Instant;

const CLASSES: usize = 3;
const VOCAB: usize = 20_000;

/// Seeded documents and labels: each class prefers its own slice of a Zipf vocabulary.
fn corpus(n: usize, seed: u64) -> (Vec<String>, Vec<u16>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let words: Vec<String> = (0..VOCAB).map(|i| format!("w{i:x}")).collect();
    // Zipf weights, cumulative, for sampling by binary search.
    let mut cumulative = Vec::with_capacity(VOCAB);
    let mut total = 0.0;
    for rank in 1..=VOCAB {
        total += 1.0 / rank as f64;
        cumulative.push(total);
    }
    let draw = |rng: &mut rand_chacha::ChaCha8Rng| {
        let x = rng.random::<f64>() * total;
        cumulative.partition_point(|c| *c < x).min(VOCAB - 1)
    };
    let mut texts = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = rng.random_range(0..CLASSES);
        let len = rng.random_range(200..500);
        let mut text = String::with_capacity(len * 6);
        for i in 0..len {
            let w = draw(&mut rng);
            // 15% of words come from the class's own shifted slice of the vocabulary.
            let w = if rng.random::<f64>() < 0.15 {
                (w * 7 + class * 1013) % VOCAB
            } else {
                w
            };
            if i > 0 {
                text.push(if i % 17 == 0 { '\n' } else { ' ' });
            }
            text.push_str(&words[w]);
        }
        let label = if rng.random::<f64>() < 0.1 {
            rng.random_range(0..CLASSES)
        } else {
            class
        };
        texts.push(text);
        labels.push(label as u16);
    }
    (texts, labels)
}

fn macro_f1(truth: &[u16], predicted: &[u16]) -> f64 {
    let classes: Vec<u16> = (0..CLASSES as u16).collect();
    stats::macro_f1(&stats::confusion(&classes, truth, predicted))
}

/// fastText on the same split; (train seconds, predict seconds, macro-F1, model bytes, its
/// predictions), or why not.
fn fasttext(
    dir: &std::path::Path,
    train: &[(&String, u16)],
    test: &[(&String, u16)],
    hyper: &Hyper,
) -> Result<(f64, f64, f64, u64, Vec<u16>), String> {
    let write = |name: &str, rows: &[(&String, u16)]| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(name)).unwrap());
        for (text, label) in rows {
            // One line per example: fastText reads a line break, and a literal `</s>`, as the end
            // of the example, so line breaks become spaces (as the model lens reads them).
            writeln!(f, "__label__{label} {}", text.replace('\n', " ")).unwrap();
        }
    };
    write("train.txt", train);
    write("test.txt", test);
    let script = format!(
        r#"
import fasttext, time, sys
t = time.perf_counter()
m = fasttext.train_supervised(input="train.txt", dim={dim}, wordNgrams={ngrams}, bucket={buckets},
    epoch={epochs}, lr={lr}, minCount=1, thread=1, verbose=0, loss="softmax", seed={seed})
train = time.perf_counter() - t
lines = [l.split(" ", 1) for l in open("test.txt").read().splitlines()]
t = time.perf_counter()
# The C++ predictor directly: fasttext 0.9.2's Python wrapper breaks on numpy 2.
pred = [m.f.predict(text, 1, 0.0, "strict")[0][1] for _, text in lines]
predict = time.perf_counter() - t
m.save_model("ft.bin")
import os
print(train, predict, os.path.getsize("ft.bin"))
for p in pred: print(p.replace("__label__", ""))
"#,
        dim = hyper.dim,
        ngrams = hyper.features.word_ngrams,
        buckets = hyper.features.buckets,
        epochs = hyper.epochs,
        lr = hyper.lr,
        seed = hyper.seed,
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let head: Vec<f64> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let predicted: Vec<u16> = lines.filter_map(|l| l.trim().parse().ok()).collect();
    let truth: Vec<u16> = test.iter().map(|(_, l)| *l).collect();
    if head.len() != 3 || predicted.len() != truth.len() {
        return Err("unexpected output from the fastText script".into());
    }
    Ok((
        head[0],
        head[1],
        macro_f1(&truth, &predicted),
        head[2] as u64,
        predicted,
    ))
}

/// fastText's own model imported (`train --import-fasttext`): prediction MB/s per core and how
/// often its most likely label is fastText's.
fn imported(file: &std::path::Path, texts: &[String], bytes: usize, fasttext: &[u16]) {
    let raw = std::fs::read(file).expect("fastText saved its model");
    let ft = train::fasttext::FastText::parse(&raw).expect("fastText's model imports");
    let labels: Vec<u16> = ft
        .labels
        .iter()
        .map(|l| l.trim_start_matches("__label__").parse().unwrap())
        .collect();
    let values = vec![0.0; labels.len()];
    let model = train::fasttext::into_model(ft, 1, "class", values);
    let started = Instant::now();
    let mut rounds = 0;
    let mut predicted: Vec<u16> = Vec::new();
    while rounds == 0 || started.elapsed().as_secs_f64() < 1.0 {
        predicted = texts
            .iter()
            .map(|t| labels[model.predict(&[t])[0].argmax()])
            .collect();
        rounds += 1;
    }
    let seconds = started.elapsed().as_secs_f64() / rounds as f64;
    let same = predicted
        .iter()
        .zip(fasttext)
        .filter(|(a, b)| a == b)
        .count();
    println!(
        "| fastText's model imported: prediction MB/s per core | {:.1} | same top label as fastText: {same} of {} |",
        bytes as f64 / 1e6 / seconds,
        fasttext.len()
    );
}

fn main() {
    let docs: usize = std::env::var("TRAIN_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let (texts, labels) = corpus(docs, 1);
    let holdout = docs / 10;
    let (train_texts, test_texts) = texts.split_at(docs - holdout);
    let (train_labels, test_labels) = labels.split_at(docs - holdout);
    let train_bytes: usize = train_texts.iter().map(String::len).sum();
    let test_bytes: usize = test_texts.iter().map(String::len).sum();
    let hyper = Hyper::default();
    println!(
        "corpus: {docs} documents, {:.1} MB ({} held out); {}, vector {}, {} epochs, lr {}",
        (train_bytes + test_bytes) as f64 / 1e6,
        holdout,
        hyper.features.describe(),
        hyper.dim,
        hyper.epochs,
        hyper.lr
    );

    // Training: features from text, then SGD, as `classified train` does after reading the cache.
    let started = Instant::now();
    let mut examples = Examples::new(1);
    let mut buffer = Vec::new();
    for (text, label) in train_texts.iter().zip(train_labels) {
        buffer.clear();
        features::collect(&hyper.features, &[text], &mut buffer);
        examples.push(&buffer, &[*label]);
    }
    let labels_spec = vec![Label {
        name: "class".into(),
        values: (0..CLASSES).map(|c| c as f64).collect(),
    }];
    let model = train::fit(&examples, &labels_spec, 1, &hyper);
    let train_seconds = started.elapsed().as_secs_f64();
    let bytes = format::to_bytes(&model);
    let loaded_at = Instant::now();
    let model = format::from_bytes(&bytes).expect("the model loads");
    let load_ms = loaded_at.elapsed().as_secs_f64() * 1e3;

    // Prediction on one core: the whole pipeline a model lens runs per row, repeated to 1 s.
    let started = Instant::now();
    let mut rounds = 0;
    let mut predicted = Vec::new();
    while rounds == 0 || started.elapsed().as_secs_f64() < 1.0 {
        predicted = test_texts
            .iter()
            .map(|t| model.predict(&[t])[0].argmax() as u16)
            .collect();
        rounds += 1;
    }
    let predict_seconds = started.elapsed().as_secs_f64() / rounds as f64;
    let f1 = macro_f1(test_labels, &predicted);
    let nearest: Vec<u16> = test_texts
        .iter()
        .map(|t| model.predict(&[t])[0].nearest(&labels_spec[0].values) as u16)
        .collect();
    let f1_nearest = macro_f1(test_labels, &nearest);

    // TRAIN_BENCH_DIR keeps fastText's input files (train.txt, test.txt) for a closer look.
    let temp = tempfile::tempdir().expect("a temporary folder");
    let dir = match std::env::var_os("TRAIN_BENCH_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).expect("TRAIN_BENCH_DIR can be created");
            std::path::PathBuf::from(d)
        }
        None => temp.path().to_path_buf(),
    };
    let train_pairs: Vec<(&String, u16)> = train_texts
        .iter()
        .zip(train_labels.iter().copied())
        .collect();
    let test_pairs: Vec<(&String, u16)> =
        test_texts.iter().zip(test_labels.iter().copied()).collect();
    let ft = fasttext(&dir, &train_pairs, &test_pairs, &hyper);

    let mb = |bytes: usize, s: f64| format!("{:.1}", bytes as f64 / 1e6 / s);
    println!("\n| | classified train | fastText 0.9.2 (1 thread) |");
    println!("|---|---:|---:|");
    match &ft {
        Ok((ft_train, ft_predict, ft_f1, ft_size, ft_predicted)) => {
            println!(
                "| training MB/s ({} epochs) | {} | {} |",
                hyper.epochs,
                mb(train_bytes, train_seconds),
                mb(train_bytes, *ft_train)
            );
            println!(
                "| prediction MB/s per core | {} | {} |",
                mb(test_bytes, predict_seconds),
                mb(test_bytes, *ft_predict)
            );
            println!("| model size | {} bytes | {ft_size} bytes |", bytes.len());
            println!("| macro-F1, most likely class | {f1:.4} | {ft_f1:.4} |");
            imported(&dir.join("ft.bin"), test_texts, test_bytes, ft_predicted);
        }
        Err(why) => {
            println!(
                "| training MB/s ({} epochs) | {} | not run: {why} |",
                hyper.epochs,
                mb(train_bytes, train_seconds)
            );
            println!(
                "| prediction MB/s per core | {} | |",
                mb(test_bytes, predict_seconds)
            );
            println!("| model size | {} bytes | |", bytes.len());
            println!("| macro-F1, most likely class | {f1:.4} | |");
        }
    }
    println!("| macro-F1, nearest to the expected score | {f1_nearest:.4} | — |");
    println!("| model load | {load_ms:.1} ms | — |");
}

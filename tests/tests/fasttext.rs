//! `classified train --import-fasttext` against real fastText (PyPI `fasttext-wheel`): tiny
//! supervised models trained here (plain, word n-grams with subwords, quantized `.ftz`), imported
//! into model lenses, must score texts (line breaks, unicode, empty, unknown words) as fastText's
//! own `predict` does; bad files and label maps are one sentence each.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use support::Workspace;

/// Trains the models and writes fastText's predictions (run with the workspace folder).
const MAKE_MODELS: &str = r#""""Train tiny supervised fastText models (plain, word n-grams + subwords, quantized with qnorm and a
pruning cutoff, and one with hierarchical softmax) in the folder given, and write what
fastText's own predict says of every text in texts.json to predictions.json.

Called by tests/tests/fasttext.rs; needs `pip install fasttext-wheel`."""
import fasttext, json, sys, random
out = sys.argv[1]
rng = random.Random(7)
good = ["theorem", "proof", "lemma", "equation", "derivative", "integral", "hypothesis", "molecule", "Größe", "定理"]
bad = ["click", "buy", "cheap", "free", "winner", "casino", "subscribe", "offer", "discount", "¡viral!"]
fill = ["the", "of", "and", "a", "to", "in", "is", "that", "for", "it", "river", "table", "über", "naïve", "日本語"]
lines = []
for i in range(600):
    cls = rng.choice(["hq", "mid", "cc"])
    share = {"hq": 0.9, "mid": 0.5, "cc": 0.1}[cls]
    words = [(rng.choice(good) if rng.random() < share else rng.choice(bad)) if rng.random() < 0.3 else rng.choice(fill) for _ in range(30)]
    lines.append(f"__label__{cls} " + " ".join(words))
open(f"{out}/train.txt", "w").write("\n".join(lines) + "\n")
models = {
    "plain.bin": fasttext.train_supervised(f"{out}/train.txt", dim=16, epoch=5, lr=0.25, wordNgrams=1, minn=0, maxn=0, bucket=1000, seed=1, thread=1, verbose=0),
    "ngrams.bin": fasttext.train_supervised(f"{out}/train.txt", dim=16, epoch=20, lr=1.0, wordNgrams=3, minn=2, maxn=5, bucket=5000, seed=1, thread=1, verbose=0),
}
q = fasttext.train_supervised(f"{out}/train.txt", dim=16, epoch=20, lr=1.0, wordNgrams=2, minn=2, maxn=4, bucket=5000, seed=1, thread=1, verbose=0)
q.quantize(input=f"{out}/train.txt", qnorm=True, cutoff=300, retrain=False, dsub=2)
models["quant.ftz"] = q
fasttext.train_supervised(f"{out}/train.txt", dim=8, epoch=1, loss="hs", bucket=0, seed=1, thread=1, verbose=0).save_model(f"{out}/hs.bin")
texts = [t for t in json.load(open(f"{out}/texts.json"))]
result = {}
for name, m in models.items():
    m.save_model(f"{out}/{name}")
    rows = []
    for t in texts:
        # fastText's Python predict refuses line breaks; callers replace them by spaces, which the
        # model lens does too. Called below the wrapper (numpy 2 breaks its copy=False), with
        # the trailing line break the wrapper adds. Its probabilities are softmax + 1e-5.
        preds = m.f.predict(t.replace("\n", " ") + "\n", -1, 0.0, "strict")
        rows.append({label: prob - 1e-5 for prob, label in preds})
    result[name] = rows
json.dump(result, open(f"{out}/predictions.json", "w"))
"#;

/// Texts to score: known and unknown words, line breaks and other whitespace, unicode, an empty
/// text, a label-like token, a literal `</s>` (where fastText's line ends) and a long text.
fn texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "theorem proof lemma",
        "click buy cheap\nfree winner",
        "",
        "Größe 定理 naïve über\r\n\ttheorem",
        "unknownword zzz",
        "__label__hq casino",
        "a b </s> theorem proof",
        "the river and the table of integral equation buy",
        "  leading and trailing spaces  ",
        "¡viral! Größe discount hypothesis",
        "\n\n\n",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    texts.push("the river molecule derivative click ".repeat(200));
    texts
}

/// Train the models with real fastText in `ws`; its predictions, per model, per text.
fn make_models(ws: &Workspace) -> BTreeMap<String, Vec<BTreeMap<String, f64>>> {
    std::fs::write(
        ws.path().join("texts.json"),
        serde_json::to_string(&texts()).unwrap(),
    )
    .unwrap();
    let script = ws.path().join("make_models.py");
    std::fs::write(&script, MAKE_MODELS).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(ws.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "training fastText models failed (pip install fasttext-wheel):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(ws.path().join("predictions.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Import `model` with `labels` and rate the texts with it; the lens's score per row.
fn scores(ws: &Workspace, model: &str, labels: &str) -> Vec<f64> {
    let lens = format!("lens_{}", model.replace('.', "_"));
    let file = ws.path().join(model).to_string_lossy().into_owned();
    let lens_dir = ws.path().join(&lens).to_string_lossy().into_owned();
    ws.run(
        None,
        &[
            "train",
            "--import-fasttext",
            &file,
            "--labels",
            labels,
            "--out",
            &lens_dir,
        ],
    )
    .ok();
    let rows = ws.path().join("texts.jsonl");
    let lines: Vec<String> = texts()
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    std::fs::write(&rows, lines.join("\n")).unwrap();
    let rows = rows.to_string_lossy().into_owned();
    let out = format!("out_{lens}");
    ws.run(None, &["summary", &rows, "text", &lens_dir, "--out", &out])
        .ok();
    let mut scores = vec![f64::NAN; texts().len()];
    let written =
        std::fs::read_to_string(ws.path().join(format!("{out}/texts.{lens}.jsonl"))).unwrap();
    for line in written.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let at = row["row"].as_u64().unwrap() as usize;
        scores[at] = row["scores"]["score"].as_f64().unwrap_or(f64::NAN);
    }
    scores
}

#[test]
fn imported_fasttext_models_score_as_fasttext_predict() {
    let ws = Workspace::new();
    let predictions = make_models(&ws);
    let values = [
        ("__label__hq", 3.0),
        ("__label__mid", 2.0),
        ("__label__cc", 0.0),
    ];
    let labels = "__label__hq=3,__label__mid=2,__label__cc=0";
    let mut spread = Vec::new();
    for model in ["plain.bin", "ngrams.bin", "quant.ftz"] {
        let got = scores(&ws, model, labels);
        for (i, (got, fasttext)) in got.iter().zip(&predictions[model]).enumerate() {
            let want: f64 = values
                .iter()
                .map(|(l, v)| fasttext.get(*l).copied().unwrap_or(0.0) * v)
                .sum();
            assert!(
                (got - want).abs() < 1e-4,
                "{model}, text {i} {:?}: classified {got}, fastText {want}",
                texts()[i]
            );
            spread.push(want);
        }
    }
    // The texts reach confident and doubtful predictions alike, so the comparison means something.
    assert!(spread.iter().any(|s| *s > 2.9) && spread.iter().any(|s| *s < 0.1));
    assert!(
        spread.iter().filter(|s| (0.3..2.7).contains(*s)).count() >= 5,
        "{spread:?}"
    );

    // One label at 1, the others 0: the score is fastText's probability of that label.
    let p_hq = scores(
        &ws,
        "ngrams.bin",
        "__label__hq=1,__label__mid=0,__label__cc=0",
    );
    for (got, fasttext) in p_hq.iter().zip(&predictions["ngrams.bin"]) {
        assert!(
            (got - fasttext["__label__hq"]).abs() < 1e-4,
            "{got} vs {fasttext:?}"
        );
    }
    let card = std::fs::read_to_string(ws.path().join("lens_ngrams_bin/MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("ngrams.bin") && card.contains("character 2-5-grams"),
        "{card}"
    );
    let check = ws
        .run(
            None,
            &[
                "lenses",
                "check",
                &ws.path().join("lens_quant_ftz").to_string_lossy(),
            ],
        )
        .ok();
    assert!(
        check.stdout.contains("passed its checks"),
        "{}",
        check.stdout
    );
}

#[test]
fn bad_fasttext_files_and_label_maps_are_one_sentence() {
    let ws = Workspace::new();
    make_models(&ws);
    let path = |name: &str| ws.path().join(name).to_string_lossy().into_owned();
    let import = |file: &str, labels: &str| {
        ws.run(
            None,
            &[
                "train",
                "--import-fasttext",
                file,
                "--labels",
                labels,
                "--out",
                &path("out"),
            ],
        )
    };
    let labels = "__label__hq=3,__label__mid=2,__label__cc=0";
    let good = std::fs::read(ws.path().join("ngrams.bin")).unwrap();
    std::fs::write(ws.path().join("cut.bin"), &good[..good.len() / 2]).unwrap();
    std::fs::write(ws.path().join("text.bin"), b"__label__hq good text\n").unwrap();
    let mut lying = good.clone();
    // The dictionary's word count (after magic, version, 12 settings and a double): 2^31 - 1.
    lying[68..72].copy_from_slice(&i32::MAX.to_le_bytes());
    std::fs::write(ws.path().join("lying.bin"), &lying).unwrap();
    for (file, want) in [
        ("cut.bin", "is truncated"),
        ("text.bin", "is not a fastText model file"),
        ("hs.bin", "hierarchical softmax"),
        ("lying.bin", "is damaged"),
        ("missing.bin", "cannot read"),
    ] {
        let e = import(&path(file), labels).error();
        assert!(e.contains(file) && e.contains(want), "{file}: {e}");
    }
    let e = import(&path("plain.bin"), "__label__hq=1,__label__cc=0").error();
    assert!(
        e.contains("--labels") && e.contains("missing: __label__mid"),
        "{e}"
    );
    let e = import(&path("plain.bin"), "__label__hq").error();
    assert!(e.contains("LABEL=SCORE"), "{e}");
    let run = ws.run(None, &["train", "--import-fasttext", &path("plain.bin")]);
    assert!(
        run.code == 2 && run.stderr.contains("--labels"),
        "{}",
        run.stderr
    );
    let e = ws
        .run(
            None,
            &[
                "train",
                "x.jsonl",
                "text",
                "edu_value",
                "--import-fasttext",
                &path("plain.bin"),
                "--labels",
                labels,
            ],
        )
        .error();
    assert!(e.contains("drop DATASETS COLUMNS LENS"), "{e}");
    let e = ws.run(None, &["train"]).error();
    assert!(e.contains("DATASETS COLUMNS LENS"), "{e}");
    assert!(!ws.path().join("out").exists());
}

//! End to end: rate rows with an LLM lens against the fake server (whose answers depend on the
//! text's words, so there is something to learn), `train` a model lens from the cache with no
//! request, then rate new rows with the model lens offline, with no server and no key.

mod support;

use classified_tests::FakeOpenAi;
use classified_tests::Reply;
use classified_tests::openai::{BAD_WORDS, GOOD_WORDS, graded_arguments, graded_score};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::path::Path;
use support::Workspace;

const LENS: &str = "textbook_quality";

/// A server whose scores follow the share of good words in the text.
fn grading_server() -> FakeOpenAi {
    FakeOpenAi::with_behaviour(|call| Reply::Arguments(graded_arguments(&call.body)))
}

/// `n` texts of 90 words: filler with good and bad words mixed in one of three proportions, so
/// the fake server's grades spread over 1, 2 and 3.
fn texts(n: usize, seed: u64) -> Vec<String> {
    let filler = [
        "the", "of", "and", "a", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on",
        "be", "by", "this", "are", "from", "or", "an", "which", "one", "all", "their", "there",
        "when", "can", "more", "some", "river", "table", "window", "market", "garden", "season",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let roll: f64 = rng.random();
            let good_share = if roll < 0.33 {
                0.1
            } else if roll < 0.66 {
                0.5
            } else {
                0.9
            };
            (0..90)
                .map(|_| {
                    if rng.random::<f64>() < 0.2 {
                        if rng.random::<f64>() < good_share {
                            GOOD_WORDS[rng.random_range(0..GOOD_WORDS.len())]
                        } else {
                            BAD_WORDS[rng.random_range(0..BAD_WORDS.len())]
                        }
                    } else {
                        filler[rng.random_range(0..filler.len())]
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Write `texts` as JSON Lines with a `text` column; its path.
fn write_rows(ws: &Workspace, name: &str, texts: &[String]) -> String {
    let path = ws.path().join(name);
    let lines: Vec<String> = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.to_string_lossy().into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Rate `rows` through the LLM lens: every row gets a cached grade.
fn rate(ws: &Workspace, server: &FakeOpenAi, rows: &str) {
    ws.run(Some(server), &["summary", rows, "text", LENS]).ok();
}

#[test]
fn rated_rows_train_a_model_lens_that_scores_new_rows_offline() {
    let ws = Workspace::new();
    let server = grading_server();
    let rows = write_rows(&ws, "rated.jsonl", &texts(400, 1));
    rate(&ws, &server, &rows);
    let sent = server.request_count();
    assert_eq!(sent, 400);

    // Training reads the cache only: the server stays reachable, and hears nothing.
    let run = ws.run(Some(&server), &["train", &rows, "text", LENS]).ok();
    assert_eq!(server.request_count(), sent, "train sent a request");
    assert!(
        run.stdout.contains("Macro-F1") && run.stdout.contains("baseline"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("LLM keeps"), "{}", run.stdout);
    let folder = ws.path().join("lenses").join(format!("{LENS}_model"));
    for file in [
        "config.json",
        "function.json",
        "model.bin",
        "metrics.json",
        "MODEL_CARD.md",
    ] {
        assert!(folder.join(file).is_file(), "{file} missing");
    }
    let config = read_json(&folder.join("config.json"));
    assert_eq!(config["type"], "model");
    assert_eq!(config["input_fields"], serde_json::json!(["resource"]));
    assert_eq!(config["trained_from"]["lens"], LENS);
    let model_size = std::fs::metadata(folder.join("model.bin")).unwrap().len();
    assert!(model_size <= 10_000_000, "{model_size} bytes");

    // The hold-out figures: well above the majority baseline.
    let metrics = read_json(&folder.join("metrics.json"));
    let overall = &metrics["labels"][0];
    assert_eq!(overall["label"], "overall");
    let accuracy = overall["model"]["accuracy"].as_f64().unwrap();
    let baseline = overall["baseline"]["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.75 && accuracy > baseline + 0.25, "{overall}");
    assert!(
        overall["model"]["macro_f1"].as_f64().unwrap() >= 0.7,
        "{overall}"
    );
    assert!(
        overall["model"]["spearman"].as_f64().unwrap() >= 0.7,
        "{overall}"
    );
    assert_eq!(metrics["thresholds"].as_array().unwrap().len(), 2);
    assert!(metrics["buckets"]["confusion"].is_array());
    // The integer score reports the nearest value, so the bucket rule and "≥ 3" read it as they
    // read the LLM's (the expected value kept 0% at "≥ 3" and bucket accuracy was 0.675).
    let buckets = metrics["buckets"]["accuracy"].as_f64().unwrap();
    let top = &metrics["thresholds"][1];
    let (llm_kept, model_kept) = (
        top["llm_kept"].as_f64().unwrap(),
        top["model"]["kept"].as_f64().unwrap(),
    );
    eprintln!(
        "bucket accuracy {buckets}, label accuracy {accuracy}; >= 3 keeps {model_kept} where the LLM keeps {llm_kept}"
    );
    assert!(buckets >= 0.85, "bucket accuracy {buckets}");
    assert!((model_kept - llm_kept).abs() <= 0.15, "{top}");
    assert!(top["model"]["f1"].as_f64().unwrap() >= 0.7, "{top}");
    let card = std::fs::read_to_string(folder.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains(LENS) && card.contains("gpt-4") && card.contains("word 1-2-grams"));

    // How well the classifier reproduces the LLM, by `compare`: the source lens (from the cache)
    // against the model lens (scored here), on the rows it learned from. Nothing is sent.
    let model_lens = folder.to_string_lossy().into_owned();
    let pair = format!("{LENS},{model_lens}");
    let run = ws
        .run(
            Some(&server),
            &["compare", &rows, "text", &pair, "--a", "gpt-4"],
        )
        .ok();
    assert_eq!(server.request_count(), sent, "compare sent a request");
    let compared: Value = serde_json::from_str(&ws.read("compare.json")).unwrap();
    let dataset = &compared["datasets"][0];
    assert_eq!(dataset["both"], 400, "{}", run.stdout);
    let agreement = &dataset["labels"][0];
    assert_eq!(agreement["label"], "overall");
    let (exact, kappa) = (
        agreement["exact"].as_f64().unwrap(),
        agreement["kappa"].as_f64().unwrap(),
    );
    assert!(exact >= 0.75 && kappa >= 0.7, "{agreement}");

    // New rows, no server, no key: the model lens rates them, close to what the LLM would say.
    drop(server);
    let fresh_texts = texts(200, 99);
    let fresh = write_rows(&ws, "fresh.jsonl", &fresh_texts);
    let lens = folder.to_string_lossy().into_owned();
    ws.run(None, &["summary", &fresh, "text", &lens]).ok();
    let chunks: Vec<Value> = ws
        .read(&format!("fresh.{LENS}_model.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(chunks.len(), 200);
    let agree = chunks
        .iter()
        .filter(|c| {
            let row = c["row"].as_u64().unwrap() as usize;
            let score = c["scores"]["overall"].as_f64().unwrap();
            assert!((1.0..=3.0).contains(&score), "{score}");
            score.round() as i64 == graded_score(&fresh_texts[row], 1, 3)
        })
        .count();
    eprintln!("{agree} of 200 new rows agree with the grader");
    assert!(agree >= 160, "{agree} of 200 rows agree with the grader");
    let summary = ws.summary();
    assert_eq!(summary[0]["Total"], "200");

    // lenses check / show / list know model lenses.
    let check = ws.run(None, &["lenses", "check", &lens]).ok();
    assert!(
        check.stdout.contains("model.bin: loads"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("passed its checks"),
        "{}",
        check.stdout
    );
    let good_text = fresh_texts
        .iter()
        .find(|t| graded_score(t, 1, 3) == 3)
        .unwrap();
    let input = serde_json::json!({ "resource": good_text }).to_string();
    let call = ws
        .run(
            None,
            &[
                "lenses", "call", &lens, "--stage", "score", "--input", &input,
            ],
        )
        .ok();
    let called: Value = serde_json::from_str(&call.stdout).unwrap();
    assert!(
        called["scores"]["overall"].as_f64().unwrap() > 2.5,
        "{called}"
    );
    let show = ws.run(None, &["lenses", "show", &lens]).ok();
    assert!(show.stdout.contains("kind:       model"), "{}", show.stdout);
    let lens_dir = ws.path().join("lenses").to_string_lossy().into_owned();
    let mut list = ws.command(None, &["lenses", "list"]);
    let list = support::Run::from(list.env("LENS_DIR", &lens_dir).output().unwrap()).ok();
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{LENS}_model")))
        .unwrap_or_else(|| panic!("{}", list.stdout));
    assert!(
        line.contains("model") && line.contains("score (model.bin)"),
        "{line}"
    );

    // Deterministic: the same data and seed give the same bytes; another seed does not.
    let again = ws.path().join("again");
    let again_arg = again.to_string_lossy().into_owned();
    ws.run(None, &["train", &rows, "text", LENS, "--out", &again_arg])
        .ok();
    assert!(
        std::fs::read(again.join("model.bin")).unwrap()
            == std::fs::read(folder.join("model.bin")).unwrap()
    );
    ws.run(
        None,
        &[
            "train", &rows, "text", LENS, "--out", &again_arg, "--seed", "7",
        ],
    )
    .ok();
    assert!(
        std::fs::read(again.join("model.bin")).unwrap()
            != std::fs::read(folder.join("model.bin")).unwrap()
    );
}

#[test]
fn an_instruct_lens_with_several_scores_trains_one_head_per_score() {
    let ws = Workspace::new();
    let server = grading_server();
    let path = ws.path().join("pairs.jsonl");
    let lines: Vec<String> = texts(300, 11)
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"q": format!("Question {i}: explain this."), "a": t}).to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let rows = path.to_string_lossy().into_owned();
    ws.run(
        Some(&server),
        &["summary", &rows, "q,a", "instruction_following"],
    )
    .ok();
    drop(server);
    ws.run(
        None,
        &[
            "train",
            &rows,
            "q,a",
            "instruction_following",
            "--out",
            "if",
        ],
    )
    .ok();
    let metrics = read_json(&ws.path().join("if/metrics.json"));
    let labels: Vec<&str> = metrics["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["follows_instructions", "on_topic", "correct", "overall"]
    );
    for label in metrics["labels"].as_array().unwrap() {
        assert!(
            label["model"]["accuracy"].as_f64().unwrap() >= 0.7,
            "{label}"
        );
    }
    let config = read_json(&ws.path().join("if/config.json"));
    assert_eq!(
        config["input_fields"],
        serde_json::json!(["instruction", "output"])
    );
    // Offline, both columns feed the model; every score label gets a column.
    ws.run(None, &["summary", &rows, "q,a", "if", "--max", "20"])
        .ok();
    let means = ws.read("means.csv");
    for label in labels {
        assert!(means.contains(&format!(",if,{label},")), "{means}");
    }
}

#[test]
fn a_source_lens_with_a_bucket_component_keeps_it() {
    let ws = Workspace::new();
    let server = grading_server();
    let rows = write_rows(&ws, "rated.jsonl", &texts(400, 21));
    ws.run(Some(&server), &["summary", &rows, "text", "edu_value"])
        .ok();
    drop(server);
    ws.run(None, &["train", &rows, "text", "edu_value", "--out", "edu"])
        .ok();
    let folder = ws.path().join("edu");
    let config = read_json(&folder.join("config.json"));
    assert_eq!(config["component"], "lens.wasm");
    assert!(folder.join("lens.wasm").is_file());
    let metrics = read_json(&folder.join("metrics.json"));
    assert_eq!(
        metrics["labels"][0]["values"],
        serde_json::json!([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    );
    // Five thresholds of the 0-5 score.
    assert_eq!(metrics["thresholds"].as_array().unwrap().len(), 5);
    ws.run(None, &["summary", &rows, "text", "edu", "--max", "50"])
        .ok();
    let summary = ws.summary();
    assert_eq!(summary[0]["Total"], "50");
    let check = ws.run(None, &["lenses", "check", "edu"]).ok();
    assert!(
        check.stdout.contains("model.bin: loads") && check.stdout.contains("component lens.wasm"),
        "{}",
        check.stdout
    );
}

#[test]
fn rows_missing_from_the_cache_are_counted_and_too_few_labels_stop_with_counts() {
    let ws = Workspace::new();
    // No cache at all.
    let some = write_rows(&ws, "some.jsonl", &texts(30, 3));
    let e = ws.run(None, &["train", &some, "text", LENS]).error();
    assert!(
        e.contains("there is no cache") && e.contains("classified summary"),
        "{e}"
    );

    let server = grading_server();
    rate(&ws, &server, &some);
    // 30 labelled rows: too few.
    let e = ws.run(None, &["train", &some, "text", LENS]).error();
    assert!(
        e.contains("found 30 labelled example(s)") && e.contains("fewer than the 50"),
        "{e}"
    );
    assert!(e.contains("--max"), "{e}");

    // 30 rated rows and 40 that are not: the 40 are counted and the way to rate them given.
    let mut more = texts(30, 3);
    more.extend(texts(40, 4));
    let more = write_rows(&ws, "more.jsonl", &more);
    let run = ws.run(None, &["train", &more, "text", LENS]);
    assert!(
        run.stderr.contains("40 row(s) have no rating in the cache"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("classified summary"), "{}", run.stderr);
    assert_eq!(run.code, 2);

    // A cache summary wrote under --out (no DATABASE_URL) is found with --data-dir: train's --out
    // is the lens folder.
    let without_url = |server: Option<&FakeOpenAi>, args: &[&str]| {
        let mut cmd = ws.command(server, args);
        support::Run::from(cmd.env_remove("DATABASE_URL").output().unwrap())
    };
    without_url(
        Some(&server),
        &["summary", &some, "text", LENS, "--out", "results"],
    )
    .ok();
    let e = without_url(
        None,
        &["train", &some, "text", LENS, "--data-dir", "nowhere"],
    )
    .error();
    assert!(
        e.contains("there is no cache at nowhere/classified.sqlite"),
        "{e}"
    );
    let e = without_url(
        None,
        &["train", &some, "text", LENS, "--data-dir", "results"],
    )
    .error();
    assert!(e.contains("found 30 labelled example(s)"), "{e}");

    // Another --version has no ratings at all.
    let e = ws
        .run(None, &["train", &some, "text", LENS, "--version", "2"])
        .error();
    assert!(e.contains("found 0 labelled example(s)"), "{e}");

    // Enough rows, but one score is too rare to learn: two texts graded 3 among 80.
    let mut threes = 0;
    let rare: Vec<String> = texts(400, 5)
        .into_iter()
        .filter(|t| match graded_score(t, 1, 3) {
            3 => {
                threes += 1;
                threes <= 2
            }
            _ => true,
        })
        .take(80)
        .collect();
    let rare = write_rows(&ws, "rare.jsonl", &rare);
    rate(&ws, &server, &rare);
    let e = ws.run(None, &["train", &rare, "text", LENS]).error();
    assert!(
        e.contains("`overall` = 3 has only 2 example(s)") && e.contains("each score value needs"),
        "{e}"
    );
}

#[test]
fn bad_arguments_are_one_sentence_each() {
    let ws = Workspace::new();
    let rows = write_rows(&ws, "rows.jsonl", &texts(10, 1));
    let cases: &[(&[&str], &str)] = &[
        (
            &["textbook_quality,learning_value"],
            "takes one LENS at a time",
        ),
        (&["heuristic_quality"], "local lens"),
        (&[LENS, "--holdout", "0"], "--holdout 0 must be"),
        (&[LENS, "--holdout", "0.9"], "--holdout 0.9 must be"),
        (
            &[LENS, "--char-ngrams", "3to5"],
            "--char-ngrams \"3to5\" is not MIN-MAX",
        ),
        (&[LENS, "--char-ngrams", "5-3"], "character n-grams"),
        (&[LENS, "--word-ngrams", "9"], "word n-grams"),
        (&[LENS, "--dim", "0"], "--dim must be"),
        (&[LENS, "--epochs", "0"], "--epochs must be"),
        (&[LENS, "--lr", "0"], "--lr 0 must be"),
    ];
    for (args, want) in cases {
        let mut all = vec!["train", rows.as_str(), "text"];
        all.extend_from_slice(args);
        let run = ws.run(None, &all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let e = run.error();
        assert!(e.contains(want), "{args:?}: {e}");
    }
    // A folder that is not a model lens is not overwritten.
    std::fs::create_dir(ws.path().join("mine")).unwrap();
    std::fs::write(ws.path().join("mine/notes.txt"), "keep me").unwrap();
    let e = ws
        .run(None, &["train", &rows, "text", LENS, "--out", "mine"])
        .error();
    assert!(e.contains("is not a model lens"), "{e}");
    assert_eq!(
        std::fs::read_to_string(ws.path().join("mine/notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_damaged_model_file_is_one_sentence_naming_it() {
    let ws = Workspace::new();
    let server = grading_server();
    let rows = write_rows(&ws, "rated.jsonl", &texts(120, 8));
    rate(&ws, &server, &rows);
    drop(server);
    ws.run(
        None,
        &["train", &rows, "text", LENS, "--out", "m", "--epochs", "2"],
    )
    .ok();
    let model = ws.path().join("m/model.bin");
    let good = std::fs::read(&model).unwrap();
    let mut future = good.clone();
    future[8] = 9;
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 1;
    let damaged: [(Vec<u8>, &str); 4] = [
        (good[..good.len() / 3].to_vec(), "is truncated"),
        (future, "version 9, newer"),
        (flipped, "is corrupted"),
        (
            b"__label__1 0.9\n".to_vec(),
            "is not a classified model file",
        ),
    ];
    for (bytes, want) in damaged {
        std::fs::write(&model, &bytes).unwrap();
        let run = ws.run(None, &["summary", &rows, "text", "m"]);
        assert_eq!(run.code, 2, "{want}: {}", run.stderr);
        let e = run.error();
        assert!(e.contains("model.bin") && e.contains(want), "{e}");
    }
    std::fs::remove_file(&model).unwrap();
    let e = ws.run(None, &["lenses", "check", "m"]).error();
    assert!(
        e.contains("model.bin") && e.contains("does not exist"),
        "{e}"
    );
}

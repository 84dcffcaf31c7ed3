//! End to end: `classified filter` with the local `heuristic_quality` lens on Parquet, JSON Lines
//! and CSV, `--min-bucket`, `--min`, `--top`, `--write-rejected`, an LLM lens through the fake
//! server (with `--max-usd`), a Hub dataset through the loopback Hub emulator, and every bad
//! input.

mod support;

use arrow_schema::DataType;
use classified_tests::FakeOpenAi;
use classified_tests::filter_data::{
    graded_texts, ids, parquet_dataset, parts, read_batches, strings,
};
use classified_tests::hub::{HubEmulator, Repo};
use serde_json::Value;
use std::collections::BTreeSet;
use support::{Workspace, fixture};

const LENS: &str = "heuristic_quality";

fn stats(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("stats.json")).unwrap()).unwrap()
}

#[test]
fn parquet_rows_that_pass_keep_every_column_and_type_in_input_order() {
    let ws = Workspace::new();
    let data = parquet_dataset(&ws.path().join("web"), 3, 700, 200);
    let out = ws.path().join("out");
    let run = ws
        .run(
            None,
            &[
                "filter",
                data.to_str().unwrap(),
                "text",
                LENS,
                "--out",
                out.to_str().unwrap(),
                "--min-bucket",
                "Good",
                "--write-rejected",
            ],
        )
        .ok();
    assert!(
        run.stdout.contains("Kept rows (lens heuristic_quality)"),
        "{}",
        run.stdout
    );

    let kept = read_batches(&parts(&out, "part-"));
    let rejected = read_batches(&parts(&out.join("rejected"), "part-"));
    let (kept_ids, rejected_ids) = (ids(&kept), ids(&rejected));
    // In input order, none lost, none twice.
    assert!(
        kept_ids.windows(2).all(|w| w[0] < w[1]),
        "kept rows out of order"
    );
    let all: BTreeSet<i64> = kept_ids.iter().chain(&rejected_ids).copied().collect();
    assert_eq!(all, (0..2100).collect::<BTreeSet<i64>>());
    assert_eq!(kept_ids.len() + rejected_ids.len(), 2100);
    // The junk rows (every fifth) are gone, and the rule held.
    assert!(kept_ids.iter().all(|id| id % 5 != 3));
    assert!(!kept_ids.is_empty() && kept_ids.len() < 2100);
    assert!(
        strings(&kept, "bucket")
            .iter()
            .all(|b| b.as_deref() == Some("Good"))
    );

    // Every original column with its type, then the scores and the bucket.
    let schema = kept[0].schema();
    let types: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(types[0], ("id", &DataType::Int64));
    assert_eq!(types[1], ("text", &DataType::Utf8));
    assert_eq!(types[2], ("weight", &DataType::Float32));
    assert!(matches!(types[3], ("tags", DataType::List(_))));
    assert_eq!(types.last().unwrap(), &("bucket", &DataType::Utf8));
    assert!(types.contains(&("overall", &DataType::Float64)));
    // The kept rows' values are the input's.
    let input = read_batches(&parts(&data, "part-"));
    let texts = strings(&input, "text");
    for (id, text) in kept_ids.iter().zip(strings(&kept, "text")) {
        assert_eq!(texts[*id as usize], text);
    }
    let weight = kept[0]
        .column_by_name("weight")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Float32Array>()
        .unwrap();
    use arrow_array::Array;
    for (k, id) in ids(&kept[..1]).iter().enumerate() {
        assert_eq!(weight.is_null(k), id % 7 == 0);
    }
    // Rejected rows say why.
    assert!(
        strings(&rejected, "status")
            .iter()
            .all(|s| s.as_deref() == Some("rejected"))
    );
    assert!(
        strings(&rejected, "reason")
            .iter()
            .all(|s| s.as_deref() == Some("below the filter's rule"))
    );

    let s = stats(&out);
    assert_eq!(s["total"]["rows_in"], 2100);
    assert_eq!(s["total"]["rows_kept"], kept_ids.len());
    assert_eq!(s["total"]["rows_rejected"], rejected_ids.len());
    assert_eq!(s["rule"]["min_bucket"], "Good");
    assert!(
        s["lens"]["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let part_bytes: u64 = parts(&out, "part-")
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert_eq!(s["total"]["bytes_out"], part_bytes);
    let input_bytes: u64 = parts(&data, "part-")
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert_eq!(s["total"]["bytes_in"], input_bytes);
    let buckets: u64 = s["total"]["buckets"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(buckets, 2100);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
}

#[test]
fn summary_csv_and_means_csv_are_the_ones_summary_writes() {
    let ws = Workspace::new();
    let sample = fixture("sample.jsonl");
    ws.run(None, &["summary", &sample, "text", LENS]).ok();
    let out = ws.path().join("out");
    ws.run(
        None,
        &[
            "filter",
            &sample,
            "text",
            LENS,
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    ws.assert_same_summary_files(&out);
}

#[test]
fn jsonl_keeps_every_field_and_csv_every_field_as_written() {
    let ws = Workspace::new();
    let good = "The committee reviewed the annual report in detail and agreed that the new library should open in the spring, after the last inspections of the building are finished and the books have been moved from the old site.";
    let rows = [
        serde_json::json!({"text": good, "n": 1, "meta": {"src": "a", "tags": ["x"]}}),
        serde_json::json!({"text": "@@ ## $$ %% ^^", "n": 2, "meta": {"src": "b", "tags": []}}),
        serde_json::json!({"text": good, "n": 3, "extra": true}),
    ];
    let jsonl = ws.path().join("d.jsonl");
    std::fs::write(
        &jsonl,
        rows.iter()
            .map(|r| r.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let out = ws.path().join("out");
    ws.run(
        None,
        &[
            "filter",
            jsonl.to_str().unwrap(),
            "text",
            LENS,
            "--out",
            out.to_str().unwrap(),
            "--min-bucket",
            "Good",
        ],
    )
    .ok();
    let kept = read_batches(&parts(&out, "part-"));
    let schema = kept[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(&names[..4], ["text", "n", "meta", "extra"]);
    assert_eq!(schema.field(1).data_type(), &DataType::Int64);
    assert!(matches!(schema.field(2).data_type(), DataType::Struct(_)));
    let n: Vec<i64> = kept
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(n, [1, 3]);

    let csv = ws.path().join("d.csv");
    std::fs::write(
        &csv,
        format!("id,text,note\n007,\"{good}\",\"a, b\"\n008,@@ ## $$,x\n"),
    )
    .unwrap();
    let out = ws.path().join("out_csv");
    ws.run(
        None,
        &[
            "filter",
            csv.to_str().unwrap(),
            "text",
            LENS,
            "--out",
            out.to_str().unwrap(),
            "--min-bucket",
            "Good",
        ],
    )
    .ok();
    let kept = read_batches(&parts(&out, "part-"));
    assert_eq!(strings(&kept, "id"), [Some("007".to_string())]);
    assert_eq!(strings(&kept, "note"), [Some("a, b".to_string())]);
}

#[test]
fn min_scores_and_top_percent_cut_exactly() {
    let ws = Workspace::new();
    let data = parquet_dataset(&ws.path().join("web"), 2, 500, 100);
    let filter = |out: &str, extra: &[&str]| {
        let out = ws.path().join(out);
        let mut args = vec![
            "filter",
            data.to_str().unwrap(),
            "text",
            LENS,
            "--out",
            out.to_str().unwrap(),
            "--write-rejected",
        ];
        args.extend_from_slice(extra);
        ws.run(None, &args).ok();
        out
    };
    // --min overall=2.5 keeps exactly the rows whose overall score is at least 2.5.
    let out = filter("min", &["--min", "overall=2.5"]);
    let kept = read_batches(&parts(&out, "part-"));
    let rejected = read_batches(&parts(&out.join("rejected"), "part-"));
    let overall = |b: &[arrow_array::RecordBatch]| -> Vec<f64> {
        b.iter()
            .flat_map(|b| {
                b.column_by_name("overall")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<arrow_array::Float64Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(overall(&kept).iter().all(|s| *s >= 2.5));
    assert!(overall(&rejected).iter().all(|s| s.is_nan() || *s < 2.5));
    let mut every = overall(&kept);
    every.extend(overall(&rejected));
    every.retain(|s| !s.is_nan());

    // --top 30: the threshold is the score of the ⌈30%⌉-th best row; ties at it are all kept.
    let out = filter("top", &["--top", "30"]);
    let s = stats(&out);
    let threshold = s["rule"]["threshold"].as_f64().unwrap();
    let mut sorted = every.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let k = (0.3 * sorted.len() as f64).ceil() as usize;
    assert_eq!(threshold, sorted[k - 1]);
    let expected = sorted.iter().filter(|s| **s >= threshold).count();
    let kept = read_batches(&parts(&out, "part-"));
    assert_eq!(ids(&kept).len(), expected);
    assert_eq!(s["total"]["rows_kept"], expected);
    assert!(overall(&kept).iter().all(|v| *v >= threshold));
    // --top 100 keeps every rated row.
    let out = filter("all", &["--top", "100"]);
    assert_eq!(stats(&out)["total"]["rows_kept"], every.len());
    // A rerun into the same folder over less data leaves no part of the earlier run behind.
    let small = parquet_dataset(&ws.path().join("small"), 1, 50, 50);
    let out_s = out.to_str().unwrap();
    ws.run(
        None,
        &[
            "filter",
            small.to_str().unwrap(),
            "text",
            LENS,
            "--out",
            out_s,
            "--top",
            "100",
        ],
    )
    .ok();
    assert_eq!(parts(&out, "part-").len(), 1);
    assert_eq!(
        ids(&read_batches(&parts(&out, "part-"))).len() as u64,
        stats(&out)["total"]["rows_kept"].as_u64().unwrap()
    );
}

#[test]
fn an_llm_lens_goes_through_the_cache_and_honours_max_usd() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(30);
    let out = ws.path().join("out");
    let args = [
        "filter",
        &data,
        "instruction,output",
        "instruction_following",
        "--out",
        out.to_str().unwrap(),
        "--min",
        "overall=2",
    ];
    ws.run(Some(&server), &args).ok();
    let sent = server.request_count();
    assert_eq!(sent, 30);
    let s = stats(&out);
    assert_eq!(s["total"]["rows_in"], 30);
    let kept = read_batches(&parts(&out, "part-"));
    assert_eq!(s["total"]["rows_kept"], ids_len(&kept));
    assert!(strings(&kept, "instruction").iter().all(Option::is_some));
    // A rerun is answered from the cache: nothing more is sent.
    std::fs::remove_dir_all(&out).unwrap();
    ws.run(Some(&server), &args).ok();
    assert_eq!(server.request_count(), sent);

    // --top: the scoring pass asks the model once per row, the writing pass only the cache.
    let fresh = ws.path().join("fresh.jsonl");
    let lines: Vec<String> = (0..10).map(|i| serde_json::json!({"instruction": format!("Fresh question {i}?"), "output": format!("{i}")}).to_string()).collect();
    std::fs::write(&fresh, lines.join("\n")).unwrap();
    let top = ws.path().join("top");
    ws.run(
        Some(&server),
        &[
            "filter",
            fresh.to_str().unwrap(),
            "instruction,output",
            "instruction_following",
            "--out",
            top.to_str().unwrap(),
            "--top",
            "50",
        ],
    )
    .ok();
    assert_eq!(server.request_count(), sent + 10);
    let kept = stats(&top)["total"]["rows_kept"].as_u64().unwrap();
    assert!((5..=10).contains(&kept), "{kept}");
    let sent = sent + 10;

    // --max-usd stops sending at the budget (exit 3).
    let prices = ws.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"models": {"gpt-4o-mini": {"input": 0, "output": 1000}}}"#,
    )
    .unwrap();
    let more = ws.path().join("more.jsonl");
    let lines: Vec<String> = (0..40).map(|i| serde_json::json!({"instruction": format!("Other question {i}?"), "output": format!("{i}")}).to_string()).collect();
    std::fs::write(&more, lines.join("\n")).unwrap();
    let out2 = ws.path().join("out2");
    let mut cmd = ws.command(
        Some(&server),
        &[
            "filter",
            more.to_str().unwrap(),
            "instruction,output",
            "instruction_following",
            "--out",
            out2.to_str().unwrap(),
            "--model",
            "gpt-4o-mini",
            "--max-usd",
            "0.35",
        ],
    );
    cmd.env("CLASSIFIED_PRICES", &prices)
        .env("MAX_GENERATION_TOKENS", "100");
    let stopped = support::Run::from(cmd.output().unwrap());
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    assert!(server.request_count() - sent < 40);
}

fn ids_len(batches: &[arrow_array::RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

#[test]
fn every_bad_input_gets_one_sentence_and_exit_2() {
    let ws = Workspace::new();
    let sample = fixture("sample.jsonl");
    let out = ws.path().join("out");
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--min", "depth=2"],
            "--min depth=2: the lens has no score `depth`; its scores are word_count,",
        ),
        (
            &["--min-bucket", "Great"],
            "--min-bucket Great: the lens has no bucket `Great`; its buckets are Poor, Low, Medium, Good",
        ),
        (
            &["--top", "0"],
            "--top 0: give a percent of rows to keep above 0 and at most 100",
        ),
        (
            &["--top", "150"],
            "--top 150: give a percent of rows to keep above 0 and at most 100",
        ),
        (
            &["--shard", "5/4"],
            "--shard 5/4: write it as K/N with K from 0 to N-1",
        ),
        (
            &["--max", "3"],
            "filter keeps rows of whole datasets and takes no --max",
        ),
        (
            &["--split", "train"],
            "--split is a Hub dataset option and no dataset here is on the Hub",
        ),
        (
            &["--part-mb", "0"],
            "--part-mb 0: give a size in megabytes above 0",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["filter", &sample, "text", LENS, "--out", out];
        args.extend_from_slice(extra);
        let run = ws.run(None, &args);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    let run = ws.run(None, &["filter", &sample, "text", LENS]);
    assert!(
        run.code == 2 && run.stderr.contains("filter needs --out DIR"),
        "{}",
        run.stderr
    );
    let run = ws.run(
        None,
        &[
            "filter",
            &sample,
            "text",
            "heuristic_quality,heuristic_quality",
            "--out",
            out,
        ],
    );
    assert!(
        run.code == 2 && run.stderr.contains("filter takes one LENS at a time"),
        "{}",
        run.stderr
    );
}

/// `classified filter ARGS` against the Hub emulator (offline instead when `hub` is `None`).
fn filter_hub(ws: &Workspace, hub: Option<&HubEmulator>, args: &[&str]) -> support::Run {
    let mut full = vec!["filter"];
    full.extend_from_slice(args);
    let mut cmd = ws.command(None, &full);
    match hub {
        Some(hub) => cmd.env("HF_ENDPOINT", hub.endpoint()),
        None => cmd.env("HF_HUB_OFFLINE", "1"),
    };
    support::Run::from(cmd.output().unwrap())
}

#[test]
fn a_hub_split_is_downloaded_once_and_filtered_like_its_local_files() {
    let ws = Workspace::new();
    let local = parquet_dataset(&ws.path().join("web"), 3, 700, 200);
    let other = parquet_dataset(&ws.path().join("other"), 1, 300, 100);
    let mut repo = Repo::dataset("acme/web");
    for f in 0..3 {
        repo = repo.lfs_path(
            &format!("data/train-{f:05}-of-00003.parquet"),
            local.join(format!("part-{f:03}.parquet")),
        );
    }
    let repo = repo.lfs_path(
        "data/test-00000-of-00001.parquet",
        other.join("part-000.parquet"),
    );
    let mut hub = HubEmulator::start([repo]);
    let rule = ["--min-bucket", "Good"];

    let local_out = ws.path().join("local");
    let mut args = vec![local.to_str().unwrap(), "text", LENS, "--out"];
    args.push(local_out.to_str().unwrap());
    args.extend_from_slice(&rule);
    filter_hub(&ws, None, &args).ok();

    let hub_out = ws.path().join("hub");
    let hub_args = |out: &str, split: &'static str| {
        let mut a = vec!["acme/web".to_string(), "text".into(), LENS.into()];
        a.extend([
            "--out".into(),
            out.to_string(),
            "--split".into(),
            split.into(),
        ]);
        a.extend(rule.iter().map(|s| s.to_string()));
        a
    };
    let args = hub_args(hub_out.to_str().unwrap(), "train");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = filter_hub(&ws, Some(&hub), &args).ok();
    assert!(
        run.stderr.contains("downloading 3 file(s)"),
        "{}",
        run.stderr
    );
    let kept_local = read_batches(&parts(&local_out, "part-"));
    let kept_hub = read_batches(&parts(&hub_out, "part-"));
    assert!(!ids(&kept_local).is_empty() && ids(&kept_local).len() < 2100);
    assert_eq!(kept_hub, kept_local, "the Hub split kept other rows");
    // Same files, same dataset name (`web`): the same stats, summary.csv and means.csv.
    assert_eq!(stats(&hub_out), stats(&local_out));
    support::assert_same_summary_files(&hub_out, &local_out);

    // `--split test` is the other split's file.
    let test_out = ws.path().join("test");
    let args = hub_args(test_out.to_str().unwrap(), "test");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    filter_hub(&ws, Some(&hub), &args).ok();
    assert_eq!(stats(&test_out)["total"]["rows_in"], 300);

    // The split's files are in the Hub cache now: the same command offline gives the same rows.
    hub.stop();
    let again = ws.path().join("again");
    let args = hub_args(again.to_str().unwrap(), "train");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    filter_hub(&ws, None, &args).ok();
    assert_eq!(read_batches(&parts(&again, "part-")), kept_local);

    // A slice is refused in one sentence (`--stream` is taken: tests/filter_stream.rs).
    let run = filter_hub(
        &ws,
        None,
        &[
            "acme/web",
            "text",
            LENS,
            "--out",
            "x",
            "--split",
            "train[:10]",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "--split train[:10] is a slice, and filter and sharded runs read whole splits"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

fn floats(batches: &[arrow_array::RecordBatch], column: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).unwrap();
            let a = a
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .unwrap();
            a.values().to_vec()
        })
        .collect()
}

#[test]
fn a_trained_model_lens_filters_by_bucket_and_by_top_percent_offline() {
    use classified_tests::openai::{graded_arguments, graded_score};
    use sha2::{Digest, Sha256};
    let ws = Workspace::new();
    let write = |name: &str, texts: &[String]| {
        let path = ws.path().join(name);
        let lines: Vec<String> = texts
            .iter()
            .map(|t| serde_json::json!({ "text": t }).to_string())
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        path.to_string_lossy().into_owned()
    };
    // Rate rows with the LLM lens on the grading fake server, then train a model lens on them.
    let server = FakeOpenAi::with_behaviour(|call| {
        classified_tests::Reply::Arguments(graded_arguments(&call.body))
    });
    let rated = write("rated.jsonl", &graded_texts(400, 1));
    ws.run(
        Some(&server),
        &["summary", &rated, "text", "textbook_quality"],
    )
    .ok();
    ws.run(
        Some(&server),
        &["train", &rated, "text", "textbook_quality"],
    )
    .ok();
    drop(server);
    let lens = ws.path().join("lenses/textbook_quality_model");
    let lens = lens.to_str().unwrap();

    // New rows, no server and no key: the model lens rates every row.
    let fresh_texts = graded_texts(300, 7);
    let fresh = write("fresh.jsonl", &fresh_texts);
    let filter = |out: &str, rule: &[&str]| {
        let out = ws.path().join(out);
        let mut args = vec!["filter", &fresh, "text", lens, "--out"];
        args.push(out.to_str().unwrap());
        args.push("--write-rejected");
        args.extend_from_slice(rule);
        ws.run(None, &args).ok();
        let kept = read_batches(&parts(&out, "part-"));
        let rejected = read_batches(&parts(&out.join("rejected"), "part-"));
        (stats(&out), kept, rejected)
    };
    let (s, _, _) = filter("probe", &[]);
    let model = std::fs::read(ws.path().join("lenses/textbook_quality_model/model.bin")).unwrap();
    assert_eq!(
        s["lens"]["model_sha256"],
        format!("sha256:{:x}", Sha256::digest(&model)),
        "stats.json names the model file's checksum"
    );
    assert!(
        s["lens"]["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let buckets: Vec<String> = s["lens"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    assert!(buckets.len() >= 2, "{buckets:?}");

    // --min-bucket: every kept row's bucket is at least B, every rejected one below; and the kept
    // rows are the good ones by the grader's measure.
    let cut = &buckets[buckets.len() - 1];
    let (s, kept, rejected) = filter("bucket", &["--min-bucket", cut]);
    let rank = |b: &Option<String>| buckets.iter().position(|x| Some(x) == b.as_ref()).unwrap();
    assert!(
        strings(&kept, "bucket")
            .iter()
            .all(|b| rank(b) == buckets.len() - 1)
    );
    assert!(
        strings(&rejected, "bucket")
            .iter()
            .all(|b| rank(b) < buckets.len() - 1)
    );
    let (kept_texts, rejected_texts) = (strings(&kept, "text"), strings(&rejected, "text"));
    assert_eq!(kept_texts.len() + rejected_texts.len(), 300);
    assert_eq!(s["total"]["rows_kept"], kept_texts.len());
    assert!(!kept_texts.is_empty() && !rejected_texts.is_empty());
    let mean_grade = |texts: &[Option<String>]| {
        texts
            .iter()
            .map(|t| graded_score(t.as_deref().unwrap(), 1, 3) as f64)
            .sum::<f64>()
            / texts.len() as f64
    };
    assert!(
        mean_grade(&kept_texts) > mean_grade(&rejected_texts) + 0.5,
        "kept {} vs rejected {}",
        mean_grade(&kept_texts),
        mean_grade(&rejected_texts)
    );

    // --top 30: at least 90 rows, every kept score at or above the exact threshold, none below.
    let (s, kept, rejected) = filter("top", &["--top", "30"]);
    let threshold = s["rule"]["threshold"].as_f64().unwrap();
    let (kept_scores, rejected_scores) = (floats(&kept, "overall"), floats(&rejected, "overall"));
    assert!(
        kept_scores.len() >= 90 && kept_scores.len() < 300,
        "{}",
        kept_scores.len()
    );
    assert!(kept_scores.iter().all(|&x| x >= threshold));
    assert!(rejected_scores.iter().all(|&x| x < threshold));
    assert_eq!(kept_scores.len() + rejected_scores.len(), 300);
}

/// `text` with ANSI escape sequences removed and carriage returns made line breaks.
fn plain_lines(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(if c == '\r' { '\n' } else { c });
    }
    plain.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn on_a_terminal_filter_draws_its_one_bar_and_not_the_per_lens_bar() {
    let ws = Workspace::new();
    let data = parquet_dataset(&ws.path().join("web"), 3, 700, 200);
    let out = ws.path().join("out");
    // Bars draw only on a terminal: run it under `script`, which gives it a pseudo-terminal.
    let line = format!(
        "'{}' filter '{}' text {LENS} --out '{}' --min-bucket Good",
        env!("CARGO_BIN_EXE_classified-e2e"),
        data.display(),
        out.display()
    );
    let template = ws.command(None, &[]);
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(ws.path())
        .stdin(std::process::Stdio::null());
    for (key, value) in template.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let output = cmd.output().expect("`script` (util-linux) runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let bars: Vec<String> = plain_lines(&text)
        .into_iter()
        .filter(|l| l.contains("/2100 rows"))
        .collect();
    assert!(!bars.is_empty(), "no bar drawn: {text}");
    for bar in &bars {
        assert!(
            bar.starts_with("filter "),
            "a bar that is not filter's: {bar:?}"
        );
    }
    let last = bars.last().expect("checked above");
    assert!(
        last.contains("2100/2100 rows") && last.contains("MB/s") && last.contains("kept"),
        "{last:?}"
    );
}

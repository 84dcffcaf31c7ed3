//! End to end: the complete per-row Parquet, run.json, `summary --json`, report.html (hostile rows
//! stay text, no external reference) and `classified report DATA_DIR`, also on merged shards.

mod report_fixture;
mod support;

use report_fixture::{
    LENS, hostile_args, hostile_dataset, hostile_server, rate_hostile, without_generated,
};
use serde_json::Value;
use support::{Workspace, read_parquet, summary_args};

#[test]
fn the_parquet_is_the_complete_record_and_run_json_says_what_was_spent() {
    let server = hostile_server();
    let ws = Workspace::new();
    let dataset = hostile_dataset(&ws);
    let args = hostile_args(&dataset);
    ws.run(Some(&server), &args).rows_failed();
    let first_requests = server.request_count();
    // 7 rows answered once, the FAIL row asked 3 times.
    assert_eq!(first_requests, 7 + 3);

    let rows = read_parquet(&ws.data_dir().join(format!("hostile.{LENS}.parquet")));
    assert_eq!(rows.len(), 9);
    let rated = &rows[0];
    assert_eq!(rated["status"], "rated");
    assert_eq!(rated["cached"], false);
    let rationale = rated["rationale"].as_array().unwrap();
    assert_eq!(rationale.len(), 1);
    assert!(
        rationale[0]
            .as_str()
            .unwrap()
            .starts_with("Because <script>")
    );
    assert!(rated["error_kind"].is_null() && rated["skipped"].is_null());
    let failed = &rows[7];
    assert_eq!(
        (
            &failed["status"],
            &failed["error_kind"],
            &failed["error_stage"]
        ),
        (
            &Value::from("failed"),
            &Value::from("bad-answer"),
            &Value::from("postprocess")
        )
    );
    assert!(
        failed["error"].as_str().unwrap().contains("asked 3 times"),
        "{failed:?}"
    );
    let skipped = &rows[8];
    assert_eq!(skipped["skipped"], "null in column `instruction`");
    assert_eq!(
        skipped["error"], skipped["skipped"],
        "`error` keeps its meaning"
    );
    assert!(skipped["cached"].is_null(), "no prompt: cached is unknown");

    let run: Value = serde_json::from_str(&ws.read("run.json")).unwrap();
    assert_eq!(run["command"], "summary");
    assert_eq!(run["model"], "gpt-4");
    assert_eq!(run["version"], 1);
    assert_eq!(run["lenses"][0]["name"], LENS);
    let checksum = run["lenses"][0]["checksum"].as_str().unwrap();
    assert!(
        checksum.starts_with("sha256:") && checksum.len() == 7 + 64,
        "{checksum}"
    );
    assert_eq!(run["spend"]["requests"], first_requests as u64);
    assert_eq!(run["spend"]["cache_hits"], 0);
    assert_eq!(run["outputs"][0]["failures"]["bad-answer"], 1);
    assert_eq!(run["outputs"][0]["rated"], 7);
    assert!(run["argv"].as_array().unwrap().iter().any(|a| a == LENS));
    let paid = run["spend"]["prompt_tokens"].as_u64().unwrap();
    assert!(paid > 0);

    // The same command again: answered rows come from the cache, and run.json says what that saved.
    ws.run(Some(&server), &args).rows_failed();
    assert_eq!(
        server.request_count(),
        first_requests + 3,
        "only the failed row is asked again"
    );
    let run: Value = serde_json::from_str(&ws.read("run.json")).unwrap();
    assert_eq!(run["spend"]["cache_hits"], 7);
    let saved = run["spend"]["saved_prompt_tokens"].as_u64().unwrap();
    let paid_again = run["spend"]["prompt_tokens"].as_u64().unwrap();
    // What the 7 cached answers cost the first time: all that was paid then but the FAIL row's share.
    assert_eq!(
        saved + paid_again,
        paid,
        "saved {saved}, paid again {paid_again}, first {paid}"
    );
    assert!(run["spend"]["saved_usd"].as_f64().unwrap() > 0.0);
    let rows = read_parquet(&ws.data_dir().join(format!("hostile.{LENS}.parquet")));
    assert_eq!(rows[0]["cached"], true);
}

#[test]
fn report_html_shows_the_numbers_and_keeps_hostile_rows_inert() {
    let server = hostile_server();
    let ws = Workspace::new();
    rate_hostile(&ws, &server, &[]);
    let html = ws.read("report.html");

    // Every share of summary.csv is in the report, with the counts.
    let summary = &ws.summary()[0];
    for bucket in ["Poor", "Low", "Medium", "Good"] {
        assert!(
            html.contains(&format!(">{}%<", summary[bucket])),
            "{bucket} {}",
            summary[bucket]
        );
    }
    assert!(
        html.contains("<td>9</td><td>7</td><td>1</td><td>1</td>"),
        "rows, rated, failed, skipped"
    );
    assert!(html.contains("bad-answer") && html.contains("asked 3 times"));
    assert!(html.contains("null in column `instruction`"));

    // Hostile rows and rationales are text: escaped, never markup.
    for tag in [
        "<script",
        "<img",
        "<b>",
        "<a href=\"javascript",
        "</textarea",
        "<iframe",
        "<object",
        "<embed",
        "<link",
    ] {
        assert!(
            !html.contains(tag),
            "{tag} made it into the report as markup"
        );
    }
    // (minijinja escapes `/` too, as `&#x2f;`.)
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;&#x2f;script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;&#x2f;textarea&gt;&lt;b&gt;bold&lt;&#x2f;b&gt;"));
    assert!(
        html.contains("[click](javascript:alert(2))"),
        "a javascript: URL stays text"
    );
    assert!(html.contains("Because &lt;script&gt;document.title=&#x27;rationale&#x27;"));
    // The only links are to the report's own sections (a `javascript:` href is not one).
    for (i, _) in html.match_indices("href=\"") {
        assert_eq!(&html[i..i + 7], "href=\"#", "{}", &html[i..i + 40]);
    }
    // No external reference of any kind.
    for needle in ["http://", "https://", "=\"//", "url(", "@import"] {
        assert!(!html.contains(needle), "{needle} in the report");
    }
    // Every chart is inline SVG: the bucket chart and one histogram per score label
    // (follows_instructions, on_topic, correct, overall).
    assert_eq!(html.matches("<svg").count(), 1 + 4);
}

#[test]
fn summary_json_is_one_object_with_the_intervals() {
    let server = hostile_server();
    let ws = Workspace::new();
    let run = rate_hostile(&ws, &server, &["--json"]);
    let json: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", run.stdout));
    let result = &json["results"][0];
    assert_eq!(
        (result["rated"].as_u64(), result["failed"].as_u64()),
        (Some(7), Some(1))
    );
    let summary = &ws.summary()[0];
    let mut rows = 0;
    for b in result["buckets"].as_array().unwrap() {
        let percent = b["percent"].as_f64().unwrap();
        assert_eq!(
            format!("{percent:.2}"),
            summary[b["bucket"].as_str().unwrap()]
        );
        assert!(b["low"].as_f64().unwrap() <= percent && percent <= b["high"].as_f64().unwrap());
        rows += b["rows"].as_u64().unwrap();
    }
    assert_eq!(rows, 7);
    assert_eq!(result["means"].as_array().unwrap().len(), 4);
    assert_eq!(result["failures"][0]["kind"], "bad-answer");
    assert_eq!(json["run"]["model"], "gpt-4");
    assert!(!run.stdout.contains("| Lens"), "no table with --json");
}

#[test]
fn report_rebuilds_the_same_html_from_the_files_alone_and_from_merged_shards() {
    let server = hostile_server();
    let ws = Workspace::new();
    rate_hostile(&ws, &server, &[]);
    let original = ws.read("report.html");
    let requests = server.request_count();

    // No cache, no model: only the output folder.
    std::fs::remove_file(ws.cache()).unwrap();
    std::fs::remove_file(ws.data_dir().join("report.html")).unwrap();
    let data = ws.data_dir().to_string_lossy().into_owned();
    let run = ws.run(None, &["report", &data]).ok();
    run.assert_stderr_has("report.html");
    assert_eq!(
        without_generated(&ws.read("report.html")),
        without_generated(&original)
    );
    assert_eq!(server.request_count(), requests);

    // The same rows as two shards (rows 0–3 and 4–8) in one folder: the same report.
    let merged = ws.path().join("merged");
    std::fs::create_dir(&merged).unwrap();
    let stem = format!("hostile.{LENS}");
    split_parquet(
        &ws.data_dir().join(format!("{stem}.parquet")),
        4,
        &merged.join(format!("{stem}.parquet")),
        &merged.join(format!("{stem}-2.parquet")),
    );
    let jsonl = ws.read(&format!("{stem}.jsonl"));
    let (a, b): (Vec<&str>, Vec<&str>) = jsonl.lines().partition(|l| {
        serde_json::from_str::<Value>(l).unwrap()["row"]
            .as_u64()
            .unwrap()
            < 4
    });
    std::fs::write(merged.join(format!("{stem}.jsonl")), a.join("\n")).unwrap();
    std::fs::write(merged.join(format!("{stem}-2.jsonl")), b.join("\n")).unwrap();
    std::fs::copy(ws.data_dir().join("run.json"), merged.join("run.json")).unwrap();
    ws.run(None, &["report", &merged.to_string_lossy()]).ok();
    let shards = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert_eq!(without_generated(&shards), without_generated(&original));

    // A folder with no outputs: one sentence saying what to pass.
    let empty = ws.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = ws.run(None, &["report", &empty.to_string_lossy()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.assert_stderr_has("holds no per-row Parquet written by this version of classified");
}

/// Copy `from`'s rows below `at` into `low` and the rest into `high`, keeping its footer.
fn split_parquet(from: &std::path::Path, at: u64, low: &std::path::Path, high: &std::path::Path) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap()).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned();
    let schema = builder.schema().clone();
    let batches: Vec<_> = builder.build().unwrap().map(Result::unwrap).collect();
    for (path, below) in [(low, true), (high, false)] {
        let props = WriterProperties::builder()
            .set_key_value_metadata(kv.clone())
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            schema.clone(),
            Some(props),
        )
        .unwrap();
        for batch in &batches {
            // Rows are in ascending order: the ones below `at` come first.
            let rows = batch.column(0).as_primitive::<UInt64Type>();
            let cut = (0..batch.num_rows())
                .take_while(|&i| rows.value(i) < at)
                .count();
            let part = match below {
                true => batch.slice(0, cut),
                false => batch.slice(cut, batch.num_rows() - cut),
            };
            w.write(&part).unwrap();
        }
        w.close().unwrap();
    }
}

#[test]
fn a_summary_reports_its_own_files_and_report_takes_the_whole_folder() {
    let server = hostile_server();
    let ws = Workspace::new();
    let sample = support::fixture("sample.jsonl");
    ws.run(None, &["summary", &sample, "text", "heuristic_quality"])
        .ok();
    // A local lens asks no model: the report says so instead of listing a model and a spend of $0.
    let local = ws.read("report.html");
    assert!(local.contains("none: every lens scores rows itself"));
    assert!(!local.contains("Paid in this run"));
    rate_hostile(&ws, &server, &[]);
    let html = ws.read("report.html");
    assert!(html.contains(&format!("hostile × {LENS}")));
    assert!(
        !html.contains("sample × heuristic_quality"),
        "an older run's files stay out of this run's report"
    );
    let data = ws.data_dir().to_string_lossy().into_owned();
    ws.run(None, &["report", &data]).ok();
    let html = ws.read("report.html");
    assert!(
        html.contains(&format!("hostile × {LENS}")) && html.contains("sample × heuristic_quality")
    );
}

/// Every percentage a report shows, in order: its numbers, without its settings and file names.
fn percentages(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in html.match_indices('%') {
        let digits = html[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .count();
        if digits > 0 {
            found.push(html[at - digits..=at].to_string());
        }
    }
    found
}

#[test]
fn report_of_a_sharded_summary_after_merge_shows_the_numbers_of_one_run() {
    let ws = Workspace::new();
    let sample = std::fs::read_to_string(support::fixture("sample.jsonl")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let data = ws.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("a.jsonl"), first.join("\n")).unwrap();
    std::fs::write(data.join("b.jsonl"), second.join("\n")).unwrap();
    let datasets = format!(
        "{},{}",
        data.join("a.jsonl").display(),
        data.join("b.jsonl").display()
    );
    let one = ws.path().join("one");
    let sharded = ws.path().join("sharded");
    let (one_s, sharded_s) = (one.to_str().unwrap(), sharded.to_str().unwrap());
    ws.run(
        None,
        &summary_args(&datasets, "text", "heuristic_quality", &["--out", one_s]),
    )
    .ok();
    for spec in ["0/2", "1/2"] {
        ws.run(
            None,
            &summary_args(
                &datasets,
                "text",
                "heuristic_quality",
                &["--out", sharded_s, "--shard", spec],
            ),
        )
        .ok();
    }
    ws.run(None, &["merge", sharded_s]).ok();
    ws.run(None, &["report", sharded_s]).ok();
    let whole = std::fs::read_to_string(one.join("report.html")).unwrap();
    let merged = std::fs::read_to_string(sharded.join("report.html")).unwrap();
    let numbers = percentages(&whole);
    assert!(numbers.len() > 8, "{numbers:?}");
    assert_eq!(percentages(&merged), numbers);
    for dataset in ["a × heuristic_quality", "b × heuristic_quality"] {
        assert!(
            merged.contains(dataset),
            "{dataset} missing from the merged report"
        );
    }
}

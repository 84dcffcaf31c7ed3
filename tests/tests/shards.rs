//! End to end: `filter --shard K/N` (and the Slurm / Kubernetes environment), done markers and
//! reruns, `merge` (identical to one unsharded run, missing shards, another run's shards, a dataset
//! that changed, `--compact`), and an LLM lens's per-shard caches.

mod support;

use classified_tests::FakeOpenAi;
use classified_tests::filter_data::{ids, parquet_dataset, parts, read_batches};
use std::path::{Path, PathBuf};
use support::{Workspace, summary_args};

const LENS: &str = "heuristic_quality";

/// A dataset of four files, one of them big enough (at `--unit-mb 0.05`) to be cut into several
/// row-group units.
fn dataset(ws: &Workspace) -> PathBuf {
    let dir = parquet_dataset(&ws.path().join("web"), 3, 400, 100);
    let big = parquet_dataset(&ws.path().join("big"), 1, 1600, 100);
    std::fs::rename(big.join("part-000.parquet"), dir.join("part-003.parquet")).unwrap();
    dir
}

fn filter_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "filter",
        data,
        "text",
        LENS,
        "--out",
        out,
        "--min-bucket",
        "Good",
        "--unit-mb",
        "0.05",
        "--quiet",
    ]
}

/// `filter` of instruct rows through the LLM lens `instruction_following` into `out`.
fn llm_filter_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "filter",
        data,
        "instruction,output",
        "instruction_following",
        "--out",
        out,
    ]
}

/// `summary` of `datasets` through LENS into `out` as shard `spec` (`K/N`).
fn sharded_summary<'a>(datasets: &'a str, out: &'a str, spec: &'a str) -> Vec<&'a str> {
    summary_args(datasets, "text", LENS, &["--out", out, "--shard", spec])
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn four_shards_merge_into_exactly_what_one_process_writes() {
    let ws = Workspace::new();
    let data = dataset(&ws);
    let data = data.to_str().unwrap();
    let one = ws.path().join("one");
    let sharded = ws.path().join("sharded");
    ws.run(None, &filter_args(data, one.to_str().unwrap())).ok();
    // Shards in any order, one through the Slurm variables and one as a Kubernetes pod.
    for k in [2, 0, 3] {
        let spec = format!("{k}/4");
        let mut args = filter_args(data, sharded.to_str().unwrap());
        args.extend(["--shard", &spec]);
        let run = ws.run(None, &args).ok();
        run.assert_stderr_has(&format!("shard {k}/4 is done"));
    }
    let merge = ws.run(None, &["merge", sharded.to_str().unwrap()]);
    assert_eq!(merge.code, 2, "{}", merge.stderr);
    merge.assert_stderr_has("1 of 4 shards are not done: shard(s) 1 of 4");
    let mut slurm = ws.command(None, &filter_args(data, sharded.to_str().unwrap()));
    slurm
        .env("SLURM_ARRAY_TASK_ID", "11")
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "4");
    support::Run::from(slurm.output().unwrap()).ok();
    assert!(sharded.join("shard-1-of-4.json").exists());
    // Every shard had work: the big file was cut into row-group units.
    for k in 0..4 {
        let marker: serde_json::Value =
            serde_json::from_slice(&bytes(&sharded.join(format!("shard-{k}-of-4.json")))).unwrap();
        assert!(
            marker["stats"]["datasets"][0]["rows_in"].as_u64().unwrap() > 0,
            "shard {k}"
        );
    }

    let merge = ws.run(None, &["merge", sharded.to_str().unwrap()]).ok();
    merge.assert_stderr_has("merged 4 shard(s)");
    for file in ["stats.json", "summary.csv", "means.csv"] {
        assert_eq!(
            String::from_utf8(bytes(&sharded.join(file))).unwrap(),
            String::from_utf8(bytes(&one.join(file))).unwrap(),
            "{file}"
        );
    }
    // The very same part files, byte for byte.
    let (a, b) = (parts(&one, "part-"), parts(&sharded, "part-"));
    assert_eq!(
        a.iter().map(|p| p.file_name().unwrap()).collect::<Vec<_>>(),
        b.iter().map(|p| p.file_name().unwrap()).collect::<Vec<_>>()
    );
    assert!(a.len() > 4, "{a:?}");
    for (x, y) in a.iter().zip(&b) {
        assert!(bytes(x) == bytes(y), "{} differs", x.display());
    }

    // A done shard is not redone.
    let before = std::fs::metadata(&b[0]).unwrap().modified().unwrap();
    let mut args = filter_args(data, sharded.to_str().unwrap());
    args.extend(["--shard", "0/4"]);
    let again = ws.run(None, &args).ok();
    again.assert_stderr_has("shard 0/4 is already done");
    assert_eq!(
        std::fs::metadata(&b[0]).unwrap().modified().unwrap(),
        before
    );

    // --compact: fewer, bigger parts, the same rows in the same order.
    let kept = ids(&read_batches(&a));
    ws.run(None, &["merge", sharded.to_str().unwrap(), "--compact"])
        .ok();
    let compacted = parts(&sharded, "part-");
    assert_eq!(
        compacted
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        ["part-00000.parquet"]
    );
    assert_eq!(ids(&read_batches(&compacted)), kept);
}

#[test]
fn a_shard_killed_midway_redoes_only_itself() {
    let ws = Workspace::new();
    let data = dataset(&ws);
    let data = data.to_str().unwrap();
    let out = ws.path().join("out");
    let shard = |k: usize| {
        let spec = format!("{k}/2");
        let mut args = filter_args(data, out.to_str().unwrap());
        args.extend(["--shard", &spec]);
        ws.run(None, &args).ok()
    };
    shard(0);
    shard(1);
    let done: Vec<PathBuf> = parts(&out, "part-");
    // Shard 1 "killed": its marker gone, one of its parts half written, another part missing.
    std::fs::remove_file(out.join("shard-1-of-2.json")).unwrap();
    let last = done.last().unwrap();
    let whole = bytes(last);
    std::fs::write(
        out.join(format!(
            ".{}.x1y2z3.partial",
            last.file_name().unwrap().to_string_lossy()
        )),
        &whole[..whole.len() / 2],
    )
    .unwrap();
    std::fs::remove_file(last).unwrap();
    let first_of_shard_0 = std::fs::metadata(&done[0]).unwrap().modified().unwrap();
    assert!(shard(0).stderr.contains("already done"));
    shard(1);
    assert_eq!(
        std::fs::metadata(&done[0]).unwrap().modified().unwrap(),
        first_of_shard_0
    );
    assert_eq!(parts(&out, "part-"), done);
    assert!(bytes(last) == whole);
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    ws.run(None, &["merge", out.to_str().unwrap()]).ok();
}

#[test]
fn another_runs_shards_and_a_changed_dataset_are_refused() {
    let ws = Workspace::new();
    let data = dataset(&ws);
    let data_s = data.to_str().unwrap();
    let out = ws.path().join("out");
    let out_s = out.to_str().unwrap();
    let mut args = filter_args(data_s, out_s);
    args.extend(["--shard", "0/2"]);
    ws.run(None, &args).ok();

    // Same folder, other rule.
    let mut other = vec![
        "filter",
        data_s,
        "text",
        LENS,
        "--out",
        out_s,
        "--min-bucket",
        "Medium",
        "--unit-mb",
        "0.05",
        "--shard",
        "1/2",
    ];
    let run = ws.run(None, &other);
    assert_eq!(run.code, 2);
    run.assert_stderr_has("holds shard-0-of-2.json from another run");
    // Same folder, other shard count.
    other[7] = "Good";
    other[11] = "1/3";
    let run = ws.run(None, &other);
    assert!(
        run.code == 2 && run.stderr.contains("from a run cut into 2 shards, not 3"),
        "{}",
        run.stderr
    );
    // An unsharded run into a sharded run's folder.
    let run = ws.run(None, &filter_args(data_s, out_s));
    assert!(
        run.code == 2
            && run
                .stderr
                .contains("holds shard-0-of-2.json from a sharded run"),
        "{}",
        run.stderr
    );

    // The dataset changes before shard 1 runs: merge refuses.
    // Same bytes, a new modification time: a rewritten file, so a change.
    let file = data.join("part-000.parquet");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let mut args = filter_args(data_s, out_s);
    args.extend(["--shard", "1/2"]);
    ws.run(None, &args).ok();
    let merge = ws.run(None, &["merge", out_s]);
    assert_eq!(merge.code, 2, "{}", merge.stderr);
    merge.assert_stderr_has("the dataset changed between shards");
    assert!(!out.join("stats.json").exists());
}

#[test]
fn llm_shards_keep_their_own_caches_and_merge_unions_them() {
    let server = FakeOpenAi::start();
    let ws = Workspace::new();
    let data = ws.instruct_rows(24);
    let out = ws.path().join("out");
    let out_s = out.to_str().unwrap();
    for k in 0..2 {
        let spec = format!("{k}/2");
        let mut args = llm_filter_args(&data, out_s);
        args.extend(["--shard", &spec, "--quiet"]);
        ws.run(Some(&server), &args).ok();
    }
    // One file, so one unit: shard 0 rates every row, shard 1 has none.
    assert_eq!(server.request_count(), 24);
    assert!(out.join("cache/shard-0-of-2.sqlite").exists());
    ws.run(None, &["merge", out_s]).ok();
    let conn = rusqlite::Connection::open(out.join("classified.sqlite")).unwrap();
    let n: usize = conn
        .query_row("SELECT count(*) FROM answers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 24);
    // An unsharded rerun with that cache sends nothing.
    let one = ws.path().join("one");
    ws.run_with_env(
        Some(&server),
        &llm_filter_args(&data, one.to_str().unwrap()),
        [("DATABASE_URL", out.join("classified.sqlite"))],
    )
    .ok();
    assert_eq!(server.request_count(), 24);
    assert_eq!(
        bytes(&one.join("summary.csv")),
        bytes(&out.join("summary.csv"))
    );
}

#[test]
fn a_sharded_summary_merges_into_the_summary_of_one_process() {
    let ws = Workspace::new();
    let data = parquet_dataset(&ws.path().join("web"), 2, 300, 100);
    let (a, b) = (data.join("part-000.parquet"), data.join("part-001.parquet"));
    let datasets = format!("{},{}", a.display(), b.display());
    ws.run(None, &summary_args(&datasets, "text", LENS, &[]))
        .ok();
    let out = ws.path().join("sharded");
    let out_s = out.to_str().unwrap();
    for k in 0..2 {
        let spec = format!("{k}/2");
        let run = ws.run(None, &sharded_summary(&datasets, out_s, &spec)).ok();
        run.assert_stderr_has(&format!("shard {k}/2 is done"));
    }
    // Each shard wrote the per-row files of its own rows.
    assert!(
        out.join("part-000.heuristic_quality.shard-0-of-2.parquet")
            .exists()
    );
    assert!(
        out.join("part-001.heuristic_quality.shard-1-of-2.parquet")
            .exists()
    );
    let again = ws.run(None, &sharded_summary(&datasets, out_s, "1/2")).ok();
    again.assert_stderr_has("shard 1/2 is already done");
    ws.run(None, &["merge", out_s]).ok();
    ws.assert_same_summary_files(&out);
    let mut capped = sharded_summary(&datasets, out_s, "0/2");
    capped.extend(["--max", "5"]);
    let run = ws.run(None, &capped);
    assert!(
        run.code == 2 && run.stderr.contains("takes no --max"),
        "{}",
        run.stderr
    );
}

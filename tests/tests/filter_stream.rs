//! End to end: `classified filter --stream` on Hub datasets served by the loopback Hub emulator.
//! Streamed shards read only their own row groups by range requests, write nothing into the Hub
//! cache, and merge into exactly what one downloading run writes; JSON Lines files stream whole;
//! offline, `--stream` reads the cache; a split that moved between shards is refused by `merge`.

mod support;

use classified_tests::filter_data::{ids, parquet_dataset, parts, read_batches};
use classified_tests::hub::{HubEmulator, Repo, fixtures};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::Workspace;

const LENS: &str = "heuristic_quality";
const REPO: &str = "acme/web";

/// Four Parquet files of row groups of 100 rows, the last big enough (at `--unit-mb 0.05`) to be
/// cut into several row-group units, served as the `train` split of [`REPO`].
fn parquet_repo(ws: &Workspace) -> (Repo, u64) {
    let dir = parquet_dataset(&ws.path().join("web"), 3, 400, 100);
    let big = parquet_dataset(&ws.path().join("big"), 1, 1600, 100);
    std::fs::rename(big.join("part-000.parquet"), dir.join("part-003.parquet")).unwrap();
    let mut repo = Repo::dataset(REPO);
    let mut total = 0;
    for f in 0..4 {
        let file = dir.join(format!("part-{f:03}.parquet"));
        total += std::fs::metadata(&file).unwrap().len();
        repo = repo.lfs_path(&format!("data/train-{f:05}-of-00004.parquet"), file);
    }
    (repo, total)
}

/// `classified filter REPO text LENS --out OUT --min-bucket Good --unit-mb 0.05 EXTRA…` against
/// `hub` (offline when `None`), with the Hub cache under `hf_home`.
fn filter(
    ws: &Workspace,
    hub: Option<&HubEmulator>,
    hf_home: &Path,
    out: &Path,
    extra: &[&str],
) -> support::Run {
    filter_repo(ws, hub, hf_home, REPO, out, extra)
}

/// [`filter`] of another repo.
fn filter_repo(
    ws: &Workspace,
    hub: Option<&HubEmulator>,
    hf_home: &Path,
    repo: &str,
    out: &Path,
    extra: &[&str],
) -> support::Run {
    let mut args = vec![
        "filter",
        repo,
        "text",
        LENS,
        "--out",
        out.to_str().unwrap(),
        "--min-bucket",
        "Good",
        "--unit-mb",
        "0.05",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let mut cmd = ws.command(None, &args);
    cmd.env("HF_HOME", hf_home);
    match hub {
        Some(hub) => cmd.env("HF_ENDPOINT", hub.endpoint()),
        None => cmd.env("HF_HUB_OFFLINE", "1"),
    };
    support::Run::from(cmd.output().unwrap())
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` (recursively; symlinks named, not followed), relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `a` and `b` hold the same outputs: stats.json, summary.csv, means.csv and every part file,
/// byte for byte.
fn assert_same_outputs(a: &Path, b: &Path) {
    for file in ["stats.json", "summary.csv", "means.csv"] {
        assert_eq!(
            String::from_utf8(bytes(&a.join(file))).unwrap(),
            String::from_utf8(bytes(&b.join(file))).unwrap(),
            "{file}"
        );
    }
    let (pa, pb) = (parts(a, "part-"), parts(b, "part-"));
    assert_eq!(
        pa.iter()
            .map(|p| p.file_name().unwrap())
            .collect::<Vec<_>>(),
        pb.iter()
            .map(|p| p.file_name().unwrap())
            .collect::<Vec<_>>()
    );
    assert!(!pa.is_empty());
    for (x, y) in pa.iter().zip(&pb) {
        assert!(bytes(x) == bytes(y), "{} differs", x.display());
    }
}

#[test]
fn streamed_shards_read_only_their_row_groups_and_merge_into_the_downloading_run() {
    let ws = Workspace::new();
    let (repo, split_bytes) = parquet_repo(&ws);
    let hub = HubEmulator::start([repo]);

    // The reference: one process, the split downloaded into a Hub cache of its own.
    let one = ws.path().join("one");
    let downloaded_home = ws.path().join("hf-downloaded");
    let run = filter(&ws, Some(&hub), &downloaded_home, &one, &[]).ok();
    assert!(
        run.stderr.contains("downloading 4 file(s)"),
        "{}",
        run.stderr
    );
    let kept = read_batches(&parts(&one, "part-"));
    assert!(!ids(&kept).is_empty() && ids(&kept).len() < 2800);

    // Two streamed shards: each fetches its own units' row groups (and every file's footer).
    let home = ws.path().join("hf-streamed");
    let sharded = ws.path().join("sharded");
    let mut fetched = Vec::new();
    for k in 0..2 {
        let before = hub.bytes_served();
        let spec = format!("{k}/2");
        let run = filter(
            &ws,
            Some(&hub),
            &home,
            &sharded,
            &["--stream", "--shard", &spec],
        )
        .ok();
        assert!(!run.stderr.contains("downloading"), "{}", run.stderr);
        // The shard says how much it streamed.
        let said = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("streamed ")?.strip_suffix(" from the Hub"));
        assert!(said.is_some(), "{}", run.stderr);
        fetched.push(hub.bytes_served() - before);
    }
    eprintln!("streamed shards fetched {fetched:?} of the split's {split_bytes} bytes");
    for (k, bytes) in fetched.iter().enumerate() {
        assert!(
            *bytes > 0 && (*bytes as f64) < 0.75 * split_bytes as f64,
            "shard {k} fetched {bytes} of the split's {split_bytes} bytes ({fetched:?})"
        );
    }
    // The big file was cut into row-group units and its ranges went to both shards.
    let big = "data/train-00003-of-00004.parquet";
    assert!(
        hub.requests()
            .iter()
            .filter(|r| r.file.as_deref() == Some(big))
            .count()
            > 4
    );
    // Nothing of the data went into the Hub cache: at most refs.
    let cached = files_under(&home);
    assert!(
        cached
            .iter()
            .all(|f| !f.contains("blobs") && !f.contains("snapshots")),
        "{cached:?}"
    );

    let merge = ws.run(None, &["merge", sharded.to_str().unwrap()]).ok();
    assert!(
        merge.stderr.contains("merged 2 shard(s)"),
        "{}",
        merge.stderr
    );
    assert_same_outputs(&one, &sharded);

    // One streamed process writes the same too; its marker-less run names the commit nowhere but
    // reads the same bytes, and a rerun of a done shard does nothing, even streamed.
    let streamed = ws.path().join("streamed");
    filter(&ws, Some(&hub), &home, &streamed, &["--stream"]).ok();
    assert_same_outputs(&one, &streamed);
    let before = hub.bytes_served();
    let run = filter(
        &ws,
        Some(&hub),
        &home,
        &sharded,
        &["--stream", "--shard", "1/2"],
    )
    .ok();
    assert!(run.stderr.contains("already done"), "{}", run.stderr);
    assert!(hub.bytes_served() - before < split_bytes / 10);
    // The shard marker records the Hub files by name, size and content hash, and the commit.
    let marker: serde_json::Value =
        serde_json::from_slice(&bytes(&sharded.join("shard-0-of-2.json"))).unwrap();
    let sha = hub.commit_sha(REPO, "main").unwrap();
    assert_eq!(marker["identity"]["hub_commits"], json!([sha]));
    let stamp = &marker["stamps"][0];
    assert_eq!(
        stamp["path"],
        format!("hf://datasets/{REPO}@{sha}/data/train-00000-of-00004.parquet")
    );
    // The tree listing's object id (`hf-hub` reads no LFS sha256 from it): a git blob id.
    let etags: Vec<&str> = (0..4)
        .map(|f| marker["stamps"][f]["etag"].as_str().unwrap())
        .collect();
    assert!(
        etags
            .iter()
            .all(|e| e.len() == 40 && e.chars().all(|c| c.is_ascii_hexdigit())),
        "{etags:?}"
    );
    assert_eq!(etags.iter().collect::<BTreeSet<_>>().len(), 4, "{etags:?}");
}

#[test]
fn a_jsonl_split_streams_whole_and_keeps_every_field() {
    let ws = Workspace::new();
    let texts = fixtures::text_rows(300, 3);
    let rows = |range: std::ops::Range<usize>| -> Vec<serde_json::Value> {
        range
            .map(|i| {
                let text = if i % 5 == 3 {
                    format!("@@ ## {i} $$ %% {}", "#$%&* ".repeat(20))
                } else {
                    texts[i].clone()
                };
                json!({"id": i, "text": text, "source": format!("s{}", i % 3)})
            })
            .collect()
    };
    let repo = Repo::dataset(REPO)
        .lfs(
            "data/train-00000-of-00002.jsonl",
            fixtures::jsonl(&rows(0..150)),
        )
        .lfs(
            "data/train-00001-of-00002.jsonl.gz",
            fixtures::gzip(&fixtures::jsonl(&rows(150..300))),
        );
    let mut hub = HubEmulator::start([repo]);

    let one = ws.path().join("one");
    filter(&ws, Some(&hub), &ws.path().join("hf-downloaded"), &one, &[]).ok();
    let home = ws.path().join("hf-streamed");
    let sharded = ws.path().join("sharded");
    for k in ["0/2", "1/2"] {
        filter(
            &ws,
            Some(&hub),
            &home,
            &sharded,
            &["--stream", "--shard", k],
        )
        .ok();
    }
    ws.run(None, &["merge", sharded.to_str().unwrap()]).ok();
    assert_same_outputs(&one, &sharded);
    let kept = read_batches(&parts(&sharded, "part-"));
    let schema = kept[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert!(names.starts_with(&["id", "text", "source"]), "{names:?}");
    let ids = ids(&kept);
    assert!(ids.iter().all(|i| i % 5 != 3) && ids.iter().any(|&i| i >= 150));
    let cached = files_under(&home);
    assert!(
        cached
            .iter()
            .all(|f| !f.contains("blobs") && !f.contains("snapshots")),
        "{cached:?}"
    );

    // A shard streamed online and one offline (from a cache holding the split) are one run.
    let mixed = ws.path().join("mixed");
    let downloaded = ws.path().join("hf-downloaded");
    filter(
        &ws,
        Some(&hub),
        &home,
        &mixed,
        &["--stream", "--shard", "0/2"],
    )
    .ok();
    filter(
        &ws,
        None,
        &downloaded,
        &mixed,
        &["--stream", "--shard", "1/2"],
    )
    .ok();
    ws.run(None, &["merge", mixed.to_str().unwrap()]).ok();
    assert_same_outputs(&one, &mixed);

    // Offline, --stream reads what the cache holds: the downloading run's files.
    hub.stop();
    let offline = ws.path().join("offline");
    filter(
        &ws,
        None,
        &ws.path().join("hf-downloaded"),
        &offline,
        &["--stream"],
    )
    .ok();
    assert_same_outputs(&one, &offline);
    // A cache that never held them (the streamed runs') says so.
    let run = filter(&ws, None, &home, &ws.path().join("nothing"), &["--stream"]);
    let error = run.error();
    assert!(
        error.contains("HF_HUB_OFFLINE=1 and dataset acme/web at commit")
            && error.contains("is not in the Hub cache"),
        "{error}"
    );
}

/// A split whose branch moved between two shards running at the same time: `merge` names the
/// file that changed.
#[test]
fn a_split_that_moved_between_shards_is_refused_by_merge() {
    let ws = Workspace::new();
    let dir = parquet_dataset(&ws.path().join("v1"), 2, 300, 100);
    let v2 = parquet_dataset(&ws.path().join("v2"), 1, 320, 100);
    let serve = |second: PathBuf| {
        HubEmulator::start([Repo::dataset(REPO)
            .lfs_path(
                "data/train-00000-of-00002.parquet",
                dir.join("part-000.parquet"),
            )
            .lfs_path("data/train-00001-of-00002.parquet", second)])
    };
    let home = ws.path().join("hf");
    let (a, b) = (ws.path().join("a"), ws.path().join("b"));
    let old = serve(dir.join("part-001.parquet"));
    filter(&ws, Some(&old), &home, &a, &["--stream", "--shard", "0/2"]).ok();
    let new = serve(v2.join("part-000.parquet"));
    filter(&ws, Some(&new), &home, &b, &["--stream", "--shard", "1/2"]).ok();
    // Both shards ran at once into one folder: shard 1's marker lands next to shard 0's.
    std::fs::copy(b.join("shard-1-of-2.json"), a.join("shard-1-of-2.json")).unwrap();
    let merge = ws.run(None, &["merge", a.to_str().unwrap()]);
    assert_eq!(merge.code, 2, "{}", merge.stderr);
    let new_sha = new.commit_sha(REPO, "main").unwrap();
    assert!(
        merge.stderr.contains(&format!(
            "the dataset changed between shards: for shard 1 of 2, hf://datasets/{REPO}@{new_sha}/data/train-00000-of-00002.parquet where it read hf://datasets/{REPO}@"
        )),
        "{}",
        merge.stderr
    );
    assert!(!a.join("stats.json").exists());
}

/// With `--stream`, Arrow IPC files are downloaded (they are not read by range) and a compressed
/// CSV file streams; both filter as their downloaded runs do.
#[test]
fn arrow_files_are_downloaded_and_a_compressed_csv_streams() {
    let ws = Workspace::new();
    let batch = classified_tests::filter_data::batch(0, 600, 1);
    let mut arrow = Vec::new();
    let mut w = arrow_ipc::writer::FileWriter::try_new(&mut arrow, &batch.schema()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    drop(w);
    let texts = classified_tests::filter_data::strings(std::slice::from_ref(&batch), "text");
    let rows: Vec<Vec<String>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| vec![i.to_string(), t.clone().unwrap()])
        .collect();
    let csv = fixtures::zstd(&fixtures::csv(&["id", "text"], &rows));
    let hub = HubEmulator::start([
        Repo::dataset("acme/arrow").lfs("data/train-00000-of-00001.arrow", arrow),
        Repo::dataset("acme/csv").lfs("data/train-00000-of-00001.csv.zst", csv),
    ]);
    for repo in ["acme/arrow", "acme/csv"] {
        let name = repo.replace('/', "-");
        let one = ws.path().join(format!("{name}-one"));
        let downloaded = ws.path().join(format!("{name}-hf-downloaded"));
        filter_repo(&ws, Some(&hub), &downloaded, repo, &one, &[]).ok();
        let streamed = ws.path().join(format!("{name}-streamed"));
        let home = ws.path().join(format!("{name}-hf-streamed"));
        let run = filter_repo(&ws, Some(&hub), &home, repo, &streamed, &["--stream"]).ok();
        assert_same_outputs(&one, &streamed);
        let cached = files_under(&home);
        let in_cache = cached.iter().any(|f| f.ends_with(".arrow"));
        if repo == "acme/arrow" {
            assert!(
                run.stderr.contains("downloading 1 file(s)"),
                "{}",
                run.stderr
            );
            assert!(in_cache, "{cached:?}");
        } else {
            assert!(!run.stderr.contains("downloading"), "{}", run.stderr);
            assert!(
                cached.iter().all(|f| !f.contains("snapshots")),
                "{cached:?}"
            );
        }
    }
}

/// `summary REPO text LENS EXTRA…` against `hub`, with the Hub cache under `hf_home`.
fn summary(ws: &Workspace, hub: &HubEmulator, hf_home: &Path, extra: &[&str]) -> support::Run {
    let mut args = vec!["summary", REPO, "text", LENS];
    args.extend_from_slice(extra);
    let mut cmd = ws.command(None, &args);
    cmd.env("HF_HOME", hf_home)
        .env("HF_ENDPOINT", hub.endpoint());
    support::Run::from(cmd.output().unwrap())
}

#[test]
fn a_sharded_summary_of_a_hub_split_streams_its_units_and_merges_into_one_summary() {
    let ws = Workspace::new();
    let (repo, split_bytes) = parquet_repo(&ws);
    let hub = HubEmulator::start([repo]);
    summary(&ws, &hub, &ws.path().join("hf-one"), &[]).ok();

    let home = ws.path().join("hf-streamed");
    let sharded = ws.path().join("sharded");
    let out = sharded.to_str().unwrap();
    for k in 0..2 {
        let before = hub.bytes_served();
        let spec = format!("{k}/2");
        let run = summary(
            &ws,
            &hub,
            &home,
            &["--stream", "--out", out, "--shard", &spec],
        )
        .ok();
        assert!(
            run.stderr.contains(&format!("shard {k}/2 is done")),
            "{}",
            run.stderr
        );
        let fetched = hub.bytes_served() - before;
        assert!(
            (fetched as f64) < 0.75 * split_bytes as f64,
            "shard {k} fetched {fetched} of the split's {split_bytes} bytes"
        );
    }
    assert!(
        files_under(&home).iter().all(|f| !f.contains("blobs/")),
        "a streamed shard cached {:?}",
        files_under(&home)
    );
    let marker: serde_json::Value =
        serde_json::from_slice(&bytes(&sharded.join("shard-0-of-2.json"))).unwrap();
    assert_eq!(
        marker["identity"]["hub_commits"].as_array().map(Vec::len),
        Some(1),
        "{marker}"
    );
    ws.run(None, &["merge", out]).ok();
    ws.assert_same_summary_files(&sharded);
}

#[test]
fn offline_a_split_missing_a_file_from_the_cache_is_refused_by_name_not_filtered_short() {
    let ws = Workspace::new();
    let (repo, _) = parquet_repo(&ws);
    let hub = HubEmulator::start([repo]);
    let home = ws.path().join("hf");
    filter(&ws, Some(&hub), &home, &ws.path().join("online"), &[]).ok();
    // Someone cleaned part of the cache: one file of the split is gone from the snapshot.
    let gone = "data/train-00001-of-00004.parquet";
    let snapshot = files_under(&home)
        .into_iter()
        .find(|f| f.contains("snapshots/") && f.ends_with(gone))
        .expect("the online run cached the file");
    std::fs::remove_file(home.join(&snapshot)).unwrap();
    let run = filter(&ws, None, &home, &ws.path().join("offline"), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(gone) && run.stderr.contains("is not in the Hub cache"),
        "{}",
        run.stderr
    );
}

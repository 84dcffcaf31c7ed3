//! Hub datasets end to end: `classified summary owner/name ...` against the loopback Hub emulator
//! (a Hub port and a CDN port), rated with the local heuristic_quality lens so no model is needed.

mod support;

use classified_tests::hub::{Host, HubEmulator, RangeMode, Repo, fixtures};
use std::path::PathBuf;
use std::time::Duration;
use support::{Run, Workspace, read_parquet};

const LENS: &str = "heuristic_quality";
const TOKEN: &str = "hf_test_SECRET_token_7c1d";

/// `classified summary ARGS` with `HF_ENDPOINT` at the emulator (and `HF_TOKEN` when given).
fn summary(ws: &Workspace, hub: &HubEmulator, token: Option<&str>, args: &[&str]) -> Run {
    let mut full = vec!["summary"];
    full.extend_from_slice(args);
    let mut cmd = ws.command(None, &full);
    cmd.env("HF_ENDPOINT", hub.endpoint());
    if let Some(token) = token {
        cmd.env("HF_TOKEN", token);
    }
    Run::from(cmd.output().unwrap())
}

/// Row numbers rated, from the per-row Parquet output of dataset `stem`.
fn rated_rows(ws: &Workspace, stem: &str) -> Vec<u64> {
    let path = ws.data_dir().join(format!("{stem}.{LENS}.parquet"));
    read_parquet(&path)
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "rated", "{r:?}");
            r["row"].as_u64().unwrap()
        })
        .collect()
}

fn texts(n: usize, seed: u64) -> Vec<String> {
    fixtures::text_rows(n, seed)
}

/// A Parquet dataset of `files` shards with `rows` rows each, `group` rows per row group.
fn sharded(id: &str, files: usize, rows: usize, group: usize) -> Repo {
    let mut repo = Repo::dataset(id);
    for i in 0..files {
        let name = format!("data/train-{i:05}-of-{files:05}.parquet");
        let bytes = fixtures::parquet(
            &[
                ("text", texts(rows, i as u64)),
                ("other", texts(rows, 100 + i as u64)),
            ],
            group,
        );
        repo = repo.lfs(&name, bytes);
    }
    repo
}

#[test]
fn streaming_max_reads_only_a_few_row_groups_and_never_leaks_the_token() {
    let repo = sharded("acme/big", 4, 2000, 100).private();
    let hub = HubEmulator::builder().token(TOKEN).repo(repo).start();
    let ws = Workspace::new();
    let run = summary(
        &ws,
        &hub,
        Some(TOKEN),
        &["acme/big", "text", LENS, "--stream", "--max", "25"],
    )
    .ok();
    let rows = rated_rows(&ws, "big");
    assert_eq!(rows.len(), 25, "{}", run.stderr);
    let served = hub.bytes_served();
    // Seeded: the same command rates the same rows.
    let again = Workspace::new();
    summary(
        &again,
        &hub,
        Some(TOKEN),
        &["acme/big", "text", LENS, "--stream", "--max", "25"],
    )
    .ok();
    assert_eq!(rated_rows(&again, "big"), rows);

    // Only the footers and a few row groups of the `text` column were fetched.
    let dataset_bytes: u64 = (0..4)
        .map(|i| {
            fixtures::parquet(
                &[
                    ("text", texts(2000, i as u64)),
                    ("other", texts(2000, 100 + i as u64)),
                ],
                100,
            )
            .len() as u64
        })
        .sum();
    // The shuffle buffer needs about 1,025 rows: the `text` column of one file's first row
    // groups (plus footers), not the other files, nor the `other` column.
    assert!(
        served * 4 < dataset_bytes,
        "read {served} of {dataset_bytes} bytes"
    );
    assert_eq!(hub.cdn_requests_with_authorization(), 0);
    let hub_requests = hub.requests_to(Host::Hub);
    assert!(hub_requests.iter().all(|r| r.has_authorization));
    let all_text = format!("{}{}{}", run.stdout, run.stderr, ws.all_files_text());
    assert!(!all_text.contains(TOKEN), "the token leaked");
}

#[test]
fn downloads_into_the_hub_cache_then_works_offline() {
    let repo = Repo::dataset("acme/small")
        .file(
            "README.md",
            fixtures::readme("configs:\n- config_name: default\n  data_files: data/*.jsonl\n"),
        )
        .file("data/part-0.jsonl", fixtures::jsonl_text(&texts(6, 1)))
        .lfs("data/part-1.jsonl", fixtures::jsonl_text(&texts(4, 2)));
    let mut hub = HubEmulator::start([repo]);
    let sha = hub.commit_sha("acme/small", "main").unwrap();
    let ws = Workspace::new();
    summary(&ws, &hub, None, &["acme/small", "text", LENS]).ok();
    assert_eq!(rated_rows(&ws, "small"), (0..10).collect::<Vec<_>>());

    // The layout Python's huggingface_hub uses, so both tools share downloads.
    let folder = ws.hf_home().join("hub/datasets--acme--small");
    assert_eq!(
        std::fs::read_to_string(folder.join("refs/main"))
            .unwrap()
            .trim(),
        sha
    );
    assert!(
        folder
            .join("snapshots")
            .join(&sha)
            .join("data/part-1.jsonl")
            .is_file()
    );
    assert!(folder.join("blobs").is_dir());
    // Every file request was pinned to the commit.
    for r in hub.requests_to(Host::Hub) {
        if r.path.contains("/resolve/") {
            assert!(r.path.contains(&sha), "{}", r.path);
        }
    }

    // Offline: no connection at all (the emulator is gone), same rows from the cache.
    hub.stop();
    let offline = Workspace::new();
    std::fs::create_dir_all(offline.hf_home()).unwrap();
    copy_dir(&ws.hf_home(), &offline.hf_home());
    let mut cmd = offline.command(None, &["summary", "acme/small", "text", LENS]);
    cmd.env("HF_ENDPOINT", hub.endpoint())
        .env("HF_HUB_OFFLINE", "1");
    Run::from(cmd.output().unwrap()).ok();
    assert_eq!(rated_rows(&offline, "small"), (0..10).collect::<Vec<_>>());

    // Offline without the dataset in the cache: one sentence naming what is missing.
    let empty = Workspace::new();
    let mut cmd = empty.command(None, &["summary", "acme/other", "text", LENS]);
    cmd.env("HF_ENDPOINT", hub.endpoint())
        .env("HF_HUB_OFFLINE", "1");
    let err = Run::from(cmd.output().unwrap()).error();
    assert!(
        err.contains("HF_HUB_OFFLINE=1") && err.contains("acme/other"),
        "{err}"
    );
}

#[test]
fn offline_after_a_streaming_run_says_the_files_are_not_cached() {
    // Data files only by pattern (no README configs) and the README cached by the streaming run:
    // offline, the snapshot holds the file list but none of the data.
    for readme in [
        None,
        Some("configs:\n- config_name: default\n  data_files: data/*.jsonl\n"),
    ] {
        let mut repo = Repo::dataset("acme/streamed")
            .file("data/train-0.jsonl", fixtures::jsonl_text(&texts(6, 3)));
        if let Some(yaml) = readme {
            repo = repo.file("README.md", fixtures::readme(yaml));
        }
        let mut hub = HubEmulator::start([repo]);
        let ws = Workspace::new();
        summary(
            &ws,
            &hub,
            None,
            &["acme/streamed", "text", LENS, "--stream"],
        )
        .ok();
        hub.stop();
        let mut cmd = ws.command(None, &["summary", "acme/streamed", "text", LENS]);
        cmd.env("HF_ENDPOINT", hub.endpoint())
            .env("HF_HUB_OFFLINE", "1");
        let run = Run::from(cmd.output().unwrap());
        let err = run.error();
        assert!(
            err.contains("HF_HUB_OFFLINE=1")
                && err.contains("not in the Hub cache")
                && err.contains("acme/streamed")
                && !err.contains("parquet"),
            "{err}"
        );
        assert_eq!(run.code, 2, "{err}");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&src).unwrap();
        if meta.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&src, &dst);
        } else if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn revision_is_pinned_and_split_slices_work() {
    let v1 = texts(30, 5);
    let repo = Repo::dataset("acme/rev")
        .branch("v1", |b| {
            b.lfs("train.parquet", fixtures::parquet(&[("text", v1)], 7))
        })
        .lfs(
            "train.parquet",
            fixtures::parquet(&[("text", texts(50, 6))], 7),
        );
    let hub = HubEmulator::start([repo]);
    let ws = Workspace::new();
    summary(
        &ws,
        &hub,
        None,
        &[
            "acme/rev",
            "text",
            LENS,
            "--revision",
            "v1",
            "--split",
            "train[10%:20%]",
        ],
    )
    .ok();
    // 10%..20% of the 30 rows at v1 (not the 50 on main).
    assert_eq!(rated_rows(&ws, "rev"), (3..6).collect::<Vec<_>>());
    let sha = hub.commit_sha("acme/rev", "v1").unwrap();
    let resolves: Vec<_> = hub
        .requests_to(Host::Hub)
        .into_iter()
        .filter(|r| r.path.contains("/resolve/"))
        .collect();
    assert!(!resolves.is_empty());
    assert!(resolves.iter().all(|r| r.path.contains(&sha)));

    let streamed = Workspace::new();
    summary(
        &streamed,
        &hub,
        None,
        &["acme/rev", "text", LENS, "--stream", "--split", "train[:5]"],
    )
    .ok();
    assert_eq!(rated_rows(&streamed, "rev"), (0..5).collect::<Vec<_>>());
}

#[test]
fn hub_errors_are_one_plain_sentence() {
    let hub = HubEmulator::builder()
        .token(TOKEN)
        .repo(sharded("acme/public", 1, 10, 5))
        .repo(sharded("acme/gated", 1, 10, 5).gated())
        .repo(sharded("acme/closed", 1, 10, 5).gated_without_access())
        .start();
    let ws = Workspace::new();
    let cases: Vec<(Vec<&str>, Option<&str>, Vec<&str>)> = vec![
        (
            vec!["acme/missing", "text", LENS],
            None,
            vec!["acme/missing", "not found", "HF_TOKEN"],
        ),
        (
            vec!["acme/gated", "text", LENS],
            None,
            vec!["gated", "HF_TOKEN"],
        ),
        (
            vec!["acme/closed", "text", LENS],
            Some(TOKEN),
            vec!["not been granted access", "acme/closed"],
        ),
        (
            vec!["acme/public", "text", LENS, "--revision", "nope"],
            None,
            vec!["revision \"nope\"", "acme/public"],
        ),
        (
            vec!["acme/public", "text", LENS, "--split", "test"],
            None,
            vec!["`test`", "train"],
        ),
        (
            vec!["acme/public", "body", LENS, "--stream"],
            None,
            vec!["\"body\"", "\"text\"", "\"other\""],
        ),
    ];
    for (args, token, needles) in cases {
        let run = summary(&ws, &hub, token, &args);
        let err = run.error();
        assert_eq!(run.code, 2, "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {err}");
        }
        assert!(!err.contains(TOKEN));
    }
}

#[test]
fn rate_limits_cuts_and_expired_links_are_survived() {
    let hub = HubEmulator::start([sharded("acme/flaky", 2, 300, 50)]);
    let ws = Workspace::new();
    // A 429 storm with Retry-After, then a body cut mid-stream, then an expired CDN link.
    hub.fail_next(2, 429, Some(1));
    hub.cut_connections_after(2, 5000);
    hub.expire_cdn_urls_after(Duration::from_secs(1));
    let run = summary(&ws, &hub, None, &["acme/flaky", "text", LENS, "--stream"]).ok();
    assert_eq!(
        rated_rows(&ws, "flaky"),
        (0..600).collect::<Vec<_>>(),
        "{}",
        run.stderr
    );

    // A server that ignores ranges (200 with the whole file) still gives the same rows.
    hub.set_range_mode(RangeMode::IgnoreRanges);
    let whole = Workspace::new();
    summary(
        &whole,
        &hub,
        None,
        &["acme/flaky", "text", LENS, "--stream"],
    )
    .ok();
    assert_eq!(rated_rows(&whole, "flaky"), (0..600).collect::<Vec<_>>());
}

#[test]
fn a_network_that_stays_down_is_a_clear_error() {
    let hub = HubEmulator::start([sharded("acme/down", 1, 200, 50)]);
    // Every body breaks before its first byte: no progress, so the retries run out.
    hub.cut_connections_after(1000, 0);
    let ws = Workspace::new();
    let run = summary(&ws, &hub, None, &["acme/down", "text", LENS, "--stream"]);
    let err = run.error();
    assert!(
        err.contains("after 5 retries") || err.contains("retries"),
        "{err}"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn compressed_text_csv_and_single_file_urls() {
    let rows = texts(8, 9);
    let csv_rows: Vec<Vec<String>> = rows.iter().map(|t| vec![t.clone()]).collect();
    let repo = Repo::dataset("acme/mixed")
        .lfs(
            "train.jsonl.gz",
            fixtures::gzip(&fixtures::jsonl_text(&rows)),
        )
        .lfs(
            "test.jsonl.zst",
            fixtures::zstd(&fixtures::jsonl_text(&rows[..3])),
        )
        .file("extra/notes.csv", fixtures::csv(&["text"], &csv_rows));
    let hub = HubEmulator::start([repo]);
    let ws = Workspace::new();
    summary(&ws, &hub, None, &["acme/mixed", "text", LENS, "--stream"]).ok();
    assert_eq!(rated_rows(&ws, "mixed"), (0..8).collect::<Vec<_>>());
    let test = Workspace::new();
    summary(
        &test,
        &hub,
        None,
        &["acme/mixed", "text", LENS, "--split", "test"],
    )
    .ok();
    assert_eq!(rated_rows(&test, "mixed"), (0..3).collect::<Vec<_>>());
    let file = Workspace::new();
    summary(
        &file,
        &hub,
        None,
        &[
            "hf://datasets/acme/mixed@main/extra/notes.csv",
            "text",
            LENS,
            "--stream",
        ],
    )
    .ok();
    assert_eq!(rated_rows(&file, "notes"), (0..8).collect::<Vec<_>>());
}

#[test]
fn configs_from_yaml_and_the_parquet_branch() {
    let yaml = "configs:\n- config_name: en\n  data_files:\n  - split: train\n    path: en/*.jsonl\n- config_name: fr\n  data_files:\n  - split: train\n    path: fr/*.jsonl\n";
    let repo = Repo::dataset("acme/multi")
        .file("README.md", fixtures::readme(yaml))
        .file("en/a.jsonl", fixtures::jsonl_text(&texts(3, 1)))
        .file("fr/a.jsonl", fixtures::jsonl_text(&texts(5, 2)));
    // No data files on main: `datasets` falls back to the auto-converted Parquet branch.
    let converted = Repo::dataset("acme/script")
        .file("README.md", fixtures::readme("license: mit"))
        .file("script.py", "print('hi')")
        .branch("refs/convert/parquet", |b| {
            b.lfs(
                "default/train/0000.parquet",
                fixtures::parquet(&[("text", texts(4, 3))], 2),
            )
        });
    let hub = HubEmulator::start([repo, converted]);
    let ws = Workspace::new();
    let err = summary(&ws, &hub, None, &["acme/multi", "text", LENS]).error();
    assert!(
        err.contains("en") && err.contains("fr") && err.contains("--config"),
        "{err}"
    );
    summary(&ws, &hub, None, &["acme/multi:fr", "text", LENS]).ok();
    assert_eq!(rated_rows(&ws, "multi_fr"), (0..5).collect::<Vec<_>>());
    let other = Workspace::new();
    summary(
        &other,
        &hub,
        None,
        &["acme/script", "text", LENS, "--stream"],
    )
    .ok();
    assert_eq!(rated_rows(&other, "script"), (0..4).collect::<Vec<_>>());
}

#[test]
fn a_local_path_wins_over_a_hub_id_of_the_same_shape() {
    let hub = HubEmulator::start([]);
    let ws = Workspace::new();
    let dir: PathBuf = ws.path().join("acme");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("local.jsonl"), fixtures::jsonl_text(&texts(2, 1))).unwrap();
    summary(&ws, &hub, None, &["acme/local.jsonl", "text", LENS]).ok();
    assert!(hub.requests().is_empty());
}

#[test]
fn an_expired_storage_link_is_resolved_again_and_ranges_land_where_asked() {
    use classified::data::RemoteFile;
    use classified::hub::HubSettings;
    use classified::hub::remote::{HubFile, HubHttp};

    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let hub = HubEmulator::start([Repo::dataset("acme/blob").lfs("data.bin", bytes.clone())]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let settings = HubSettings {
        endpoint: hub.endpoint(),
        token: None,
        cache_dir: std::env::temp_dir().join("unused-hub-cache"),
        offline: false,
    };
    let sha = hub.commit_sha("acme/blob", "main").unwrap();
    let file = HubFile::new(
        HubHttp::new(&settings).unwrap(),
        "acme/blob",
        &sha,
        "data.bin",
        100_000,
    );

    assert_eq!(file.read_range(10, 5).unwrap().as_ref(), &bytes[10..15]);
    // The CDN link the first read was redirected to is reused while it is valid...
    assert_eq!(
        file.read_range(99_990, 100).unwrap().as_ref(),
        &bytes[99_990..]
    );
    let resolves = |hub: &HubEmulator| hub.count(&format!("/datasets/acme/blob/resolve/{sha}/"));
    assert_eq!(resolves(&hub), 1);
    // ...and once it has expired (the CDN answers 403), the file is resolved again.
    hub.advance_clock(Duration::from_secs(2 * 3600));
    assert_eq!(
        file.read_range(50_000, 7).unwrap().as_ref(),
        &bytes[50_000..50_007]
    );
    assert_eq!(resolves(&hub), 2);
    assert!(
        hub.requests_to(Host::Cdn).iter().any(|r| r.status == 403),
        "the expired link was never tried"
    );
    // A sequential read across the whole file gives every byte in order.
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut file.reader(0), &mut all).unwrap();
    assert_eq!(all, bytes);
}

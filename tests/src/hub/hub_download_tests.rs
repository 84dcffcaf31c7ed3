//! Self-tests of the Hub emulator's downloads: ranges on both hosts and the ignore-ranges mode,
//! the Parquet-export listing, disk-backed files, repos built from folders, and a large-dataset
//! throughput benchmark (ignored by default).

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use super::hub_tests::{ID, client, get_json, h, lfs_bytes, resolve_url, sha256_hex, start};
use super::{Host, HubEmulator, RangeMode, Repo, fixtures};

async fn ranged(url: &str, range: &str) -> (StatusCode, String, Vec<u8>) {
    let r = client()
        .get(url)
        .header("range", range)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let cr = h(r.headers(), "content-range");
    (s, cr, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn hub_ranges_on_cdn_and_hub_then_ignore_mode() {
    let hub = start();
    let data = lfs_bytes();
    let lfs = resolve_url(&hub, "main", "data/train-00000-of-00001.parquet");
    let (s, cr, b) = ranged(&lfs, "bytes=10-19").await;
    assert_eq!((s.as_u16(), cr.as_str()), (206, "bytes 10-19/50000"));
    assert_eq!(b, data[10..20]);
    let (s, cr, b) = ranged(&lfs, "bytes=-8").await;
    assert_eq!((s.as_u16(), cr.as_str()), (206, "bytes 49992-49999/50000"));
    assert_eq!(b, data[49_992..]);
    let (s, cr, b) = ranged(&lfs, "bytes=49990-").await;
    assert_eq!(
        (s.as_u16(), cr.as_str(), b.len()),
        (206, "bytes 49990-49999/50000", 10)
    );
    let (s, cr, _) = ranged(&lfs, "bytes=50000-").await;
    assert_eq!((s.as_u16(), cr.as_str()), (416, "bytes */50000"));
    let small = resolve_url(&hub, "main", "hello.txt");
    let (s, cr, b) = ranged(&small, "bytes=1-3").await;
    assert_eq!(
        (s.as_u16(), cr.as_str(), &b[..]),
        (206, "bytes 1-3/6", &b"ell"[..])
    );
    assert_eq!(hub.bytes_served(), 10 + 8 + 10 + 3);

    hub.set_range_mode(RangeMode::IgnoreRanges);
    let (s, cr, b) = ranged(&lfs, "bytes=10-19").await;
    assert_eq!((s.as_u16(), cr.as_str()), (200, ""));
    assert_eq!(b, data);
    let (s, _, b) = ranged(&small, "bytes=1-3").await;
    assert_eq!((s.as_u16(), &b[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn hub_parquet_listing_leads_to_the_converted_file() {
    let hub = start();
    let api = format!("{}/api/datasets/{ID}/parquet", hub.endpoint());
    let (s, all) = get_json(&api).await;
    assert_eq!(s, 200);
    let url0 = format!("{api}/default/train/0.parquet");
    assert_eq!(all, json!({"default": {"train": [url0]}}));
    let (_, split) = get_json(&format!("{api}/default/train")).await;
    assert_eq!(split, json!([url0]));
    let r = client().get(&url0).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"PAR1converted");
    assert_eq!(hub.bytes_served_for("default/train/0000.parquet"), 13);
    let r = client()
        .get(format!("{api}/default/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn hub_serves_disk_files_with_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &data).unwrap();
    let hub = HubEmulator::start([Repo::dataset(ID).lfs_path("data/big.bin", &file)]);
    let url = resolve_url(&hub, "main", "data/big.bin");
    let (s, cr, b) = ranged(&url, "bytes=100000-199999").await;
    assert_eq!(
        (s.as_u16(), cr.as_str()),
        (206, "bytes 100000-199999/300000")
    );
    assert_eq!(b, data[100_000..200_000]);
    let full = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(full.to_vec(), data);
    assert_eq!(hub.bytes_served_for("data/big.bin"), 400_000);
    assert_eq!(
        hub.lfs_sha256(ID, "main", "data/big.bin").unwrap(),
        sha256_hex(&data)
    );
}

#[tokio::test]
async fn hub_repo_from_folder_puts_data_files_in_lfs() {
    let dir = tempfile::tempdir().unwrap();
    let paths = fixtures::write_parquet_dataset(dir.path(), 100_000, 2, 20).unwrap();
    std::fs::write(
        dir.path().join("README.md"),
        fixtures::readme("license: cc0-1.0"),
    )
    .unwrap();
    let hub = HubEmulator::start([Repo::from_folder(ID, dir.path()).unwrap()]);
    let (_, info) = get_json(&format!("{}/api/datasets/{ID}", hub.endpoint())).await;
    assert_eq!(info["cardData"]["license"], "cc0-1.0");
    let siblings: Vec<&str> = info["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rfilename"].as_str().unwrap())
        .collect();
    assert_eq!(
        siblings,
        [
            "README.md",
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet"
        ],
        "the hidden marker file is skipped"
    );
    assert!(hub.lfs_sha256(ID, "main", "README.md").is_none());
    let want = std::fs::read(&paths[1]).unwrap();
    let got = client()
        .get(resolve_url(
            &hub,
            "main",
            "data/train-00001-of-00002.parquet",
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), want);
    assert_eq!(hub.requests_to(Host::Cdn).len(), 1);
}

/// Throughput of the emulator serving a disk-backed Parquet dataset through the CDN.
/// `HUB_BENCH_BYTES` (default 256 MiB) sets the size; `HUB_BENCH_DIR` a reusable folder.
#[tokio::test]
#[ignore = "benchmark: cargo test -p classified-tests --lib hub_bench -- --ignored --nocapture"]
async fn hub_bench_large_dataset_throughput() {
    let bytes: u64 = std::env::var("HUB_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 << 20);
    let dir = std::env::var("HUB_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("hub-emulator-bench"));
    let t = Instant::now();
    let paths = fixtures::write_parquet_dataset(&dir, bytes, 4, 2000).unwrap();
    let written = t.elapsed();
    let t = Instant::now();
    let hub = HubEmulator::start([Repo::from_folder("bench/data", &dir).unwrap()]);
    let hashed = t.elapsed();
    let t = Instant::now();
    let mut total = 0u64;
    for p in &paths {
        let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        let url = format!("{}/datasets/bench/data/resolve/main/{rel}", hub.endpoint());
        let mut r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        while let Some(chunk) = r.chunk().await.unwrap() {
            total += chunk.len() as u64;
        }
    }
    let served = t.elapsed();
    assert_eq!(total, hub.bytes_served());
    let mib = total as f64 / (1 << 20) as f64;
    println!(
        "dataset {mib:.0} MiB in {} files: write/reuse {written:.1?}, hash {hashed:.1?}, \
         download {served:.1?} ({:.0} MiB/s)",
        paths.len(),
        mib / served.as_secs_f64()
    );
}

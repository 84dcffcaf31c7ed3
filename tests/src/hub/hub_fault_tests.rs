//! Self-tests of the Hub emulator's errors and injected faults: each `X-Error-Code` case,
//! invalid tokens, 429 storms with `Retry-After`, CDN failures, cut connections, expired and
//! tampered CDN URLs. Also the data-file fixtures.

use std::time::Duration;

use serde_json::Value;

use super::hub_tests::{ID, TOKEN, client, h, lfs_bytes, no_redirect, resolve_url, start};
use super::{Host, HubEmulator, Repo, fixtures};

async fn status_code_msg(req: reqwest::RequestBuilder) -> (u16, String, String) {
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    let code = h(r.headers(), "x-error-code");
    let text = r.text().await.unwrap();
    let msg = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or(text);
    (s, code, msg)
}

#[tokio::test]
async fn hub_error_codes_match_the_real_hub() {
    let hub = HubEmulator::builder()
        .token(TOKEN)
        .repo(Repo::dataset("acme/secret").file("a.txt", "a").private())
        .repo(Repo::dataset("acme/gated").file("a.txt", "a").gated())
        .repo(
            Repo::dataset("acme/closed")
                .file("a.txt", "a")
                .gated_without_access(),
        )
        .repo(Repo::dataset(ID).file("a.txt", "a"))
        .start();
    let e = hub.endpoint();
    let c = client();
    let info = |id: &str| format!("{e}/api/datasets/{id}");
    let file = |id: &str, p: &str| format!("{e}/datasets/{id}/resolve/main/{p}");

    let missing = (401, "RepoNotFound".into(), "Repository not found".into());
    assert_eq!(status_code_msg(c.get(info("acme/nope"))).await, missing);
    assert_eq!(status_code_msg(c.get(info("acme/secret"))).await, missing);
    assert_eq!(
        status_code_msg(c.get(file("acme/secret", "a.txt"))).await,
        missing
    );
    // Logged in: a missing repo is a 404, a private one of ours is visible.
    let (s, code, _) = status_code_msg(c.get(info("acme/nope")).bearer_auth(TOKEN)).await;
    assert_eq!((s, code.as_str()), (404, "RepoNotFound"));
    let r = c
        .get(file("acme/secret", "a.txt"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A wrong token is refused everywhere.
    let (s, _, msg) = status_code_msg(c.get(info(ID)).bearer_auth("hf_wrong")).await;
    assert_eq!(
        (s, msg.as_str()),
        (401, "Invalid credentials in Authorization header")
    );

    let (s, code, msg) =
        status_code_msg(c.get(format!("{e}/api/datasets/{ID}/revision/nope"))).await;
    assert_eq!(
        (s, code.as_str(), msg.as_str()),
        (404, "RevisionNotFound", "Invalid rev id: nope")
    );
    let r = c.get(file(ID, "missing.txt")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(h(r.headers(), "x-error-code"), "EntryNotFound");
    assert_eq!(
        h(r.headers(), "x-repo-commit"),
        hub.commit_sha(ID, "main").unwrap()
    );
    // HEAD errors carry the same headers (hf-hub reads them without a body).
    let r = c.head(file(ID, "missing.txt")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), h(r.headers(), "x-error-code")),
        (404, "EntryNotFound".into())
    );
    let r = c
        .head(format!("{e}/datasets/{ID}/resolve/nope/a.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(h(r.headers(), "x-error-code"), "RevisionNotFound");

    // Gated: metadata is public, files need the token and an access grant.
    let v: Value = c
        .get(info("acme/gated"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["gated"], "manual");
    let (s, code, msg) = status_code_msg(c.get(file("acme/gated", "a.txt"))).await;
    assert_eq!((s, code.as_str()), (401, "GatedRepo"));
    assert!(
        msg.starts_with("Access to dataset acme/gated is restricted"),
        "{msg}"
    );
    let r = c
        .get(file("acme/gated", "a.txt"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, code, msg) =
        status_code_msg(c.get(file("acme/closed", "a.txt")).bearer_auth(TOKEN)).await;
    assert_eq!((s, code.as_str()), (403, "GatedRepo"));
    assert!(
        msg.contains(
            "Access to dataset acme/closed is restricted and you are not in the authorized list"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn hub_fail_next_sends_429_with_retry_after_then_recovers() {
    let hub = start();
    hub.fail_next(2, 429, Some(3));
    let url = format!("{}/api/datasets/{ID}", hub.endpoint());
    for _ in 0..2 {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(h(r.headers(), "retry-after"), "3");
    }
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    let statuses: Vec<u16> = hub.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

#[tokio::test]
async fn hub_cdn_fail_next_answers_xml_errors() {
    let hub = start();
    hub.cdn_fail_next(1, 503, None);
    let url = resolve_url(&hub, "main", "data/train-00000-of-00001.parquet");
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("<Code>SlowDown</Code>"));
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hub.requests_to(Host::Cdn).len(), 2);
}

#[tokio::test]
async fn hub_cut_connection_then_resume_with_a_range() {
    let hub = start();
    let data = lfs_bytes();
    let path = "data/train-00000-of-00001.parquet";
    let url = resolve_url(&hub, "main", path);
    hub.cut_connection_after(1000);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h(r.headers(), "content-length"), "50000");
    assert!(r.bytes().await.is_err(), "the body must end early");
    assert_eq!(hub.bytes_served_for(path), 1000);
    let r = client()
        .get(&url)
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap()[..], data[1000..]);
    assert_eq!(hub.bytes_served_for(path), 50_000);
    // Small files from the Hub itself can be cut too.
    hub.cut_connection_after(2);
    let r = client()
        .get(resolve_url(&hub, "main", "hello.txt"))
        .send()
        .await
        .unwrap();
    assert!(r.bytes().await.is_err());
}

#[tokio::test]
async fn hub_cdn_urls_expire_and_reject_tampering() {
    let hub = start();
    let url = resolve_url(&hub, "main", "data/train-00000-of-00001.parquet");
    let loc = h(
        no_redirect().get(&url).send().await.unwrap().headers(),
        "location",
    );
    assert_eq!(client().get(&loc).send().await.unwrap().status(), 200);
    hub.advance_clock(Duration::from_secs(2 * 3600));
    let r = client().get(&loc).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Request has expired"));
    // A fresh resolve issues a URL valid on the advanced clock.
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    hub.expire_cdn_urls_after(Duration::ZERO);
    assert_eq!(client().get(&url).send().await.unwrap().status(), 403);
    let tampered = loc.replace("sig=", "sig=0");
    let r = client().get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("SignatureDoesNotMatch"));
}

#[test]
fn hub_fixtures_build_readable_files() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let rows = fixtures::text_rows(50, 7);
    assert_eq!(rows, fixtures::text_rows(50, 7), "deterministic");
    assert_ne!(rows, fixtures::text_rows(50, 8));
    let lens: Vec<usize> = rows.iter().map(String::len).collect();
    assert!(lens.iter().all(|&l| l >= 30), "{lens:?}");
    assert!(lens.iter().max().unwrap() > &800, "{lens:?}");
    let pq = fixtures::parquet(&[("text", rows.clone())], 8);
    let reader = SerializedFileReader::new(pq).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 50);
    assert_eq!(reader.metadata().num_row_groups(), 7);
    let jl = fixtures::jsonl_text(&rows[..2]);
    let first: Value =
        serde_json::from_str(std::str::from_utf8(&jl).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["text"], rows[0]);
    let csv = fixtures::csv(&["id", "text"], &[vec!["1".into(), "a, \"b\"".into()]]);
    assert_eq!(&csv[..], b"id,text\n1,\"a, \"\"b\"\"\"\n");
    let gz = fixtures::gzip(b"hello hello hello");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
    assert_eq!(out, "hello hello hello");
    assert_eq!(
        zstd::decode_all(&fixtures::zstd(b"abc")[..]).unwrap(),
        b"abc"
    );
}

#[test]
fn hub_parquet_dataset_on_disk_has_the_size_and_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let target = 400_000u64;
    let paths = fixtures::write_parquet_dataset(dir.path(), target, 2, 50).unwrap();
    assert_eq!(paths.len(), 2);
    assert!(paths[1].ends_with("data/train-00001-of-00002.parquet"));
    let total: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    // Each file stops at the first row group past its share, so at most a group over.
    assert!(total >= target && total < target + 2 * 120_000, "{total}");
    let mtime = std::fs::metadata(&paths[0]).unwrap().modified().unwrap();
    let again = fixtures::write_parquet_dataset(dir.path(), target, 2, 50).unwrap();
    assert_eq!(again, paths);
    assert_eq!(
        std::fs::metadata(&paths[0]).unwrap().modified().unwrap(),
        mtime
    );
    // Poorly compressible: Parquet (Snappy) barely shrinks the text.
    let zipped = fixtures::zstd(&std::fs::read(&paths[0]).unwrap());
    assert!(zipped.len() as u64 > std::fs::metadata(&paths[0]).unwrap().len() / 2);
}

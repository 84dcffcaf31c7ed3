//! Self-tests of the Hub emulator's normal behaviour over real HTTP: info, tree paging,
//! resolve (small files and LFS redirects), the CDN's token check, renames and shutdown.
//! Ranges and downloads are in `hub_download_tests.rs`, faults and errors in
//! `hub_fault_tests.rs`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Host, HubEmulator, Repo, fixtures};

pub(super) const TOKEN: &str = "hf_emulatorTestToken";
pub(super) const ID: &str = "acme/reviews";
/// `git hash-object` of "hello\n".
const HELLO_OID: &str = "ce013625030ba8dba906f756967f9e9ca394464a";

pub(super) fn lfs_bytes() -> Vec<u8> {
    (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

pub(super) fn sample_repo() -> Repo {
    let readme = fixtures::readme(
        "license: mit\nlanguage:\n- en\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*",
    );
    Repo::dataset(ID)
        .file("README.md", readme)
        .file("hello.txt", "hello\n")
        .lfs("data/train-00000-of-00001.parquet", lfs_bytes())
        .file("data/extra/notes.md", "notes\n")
        .branch("refs/convert/parquet", |b| {
            b.lfs("default/train/0000.parquet", b"PAR1converted".to_vec())
        })
        .tag("v1.0")
}

pub(super) fn start() -> HubEmulator {
    HubEmulator::builder()
        .token(TOKEN)
        .repo(sample_repo())
        .start()
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A client that shows redirects instead of following them (as hf-hub's HEAD does).
pub(super) fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(super) fn h(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub(super) fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn resolve_url(hub: &HubEmulator, rev: &str, path: &str) -> String {
    format!("{}/datasets/{ID}/resolve/{rev}/{path}", hub.endpoint())
}

pub(super) async fn get_json(url: &str) -> (StatusCode, Value) {
    let r = client().get(url).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

#[tokio::test]
async fn hub_info_has_the_real_shape_and_card_data() {
    let hub = start();
    let (s, v) = get_json(&format!("{}/api/datasets/{ID}", hub.endpoint())).await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], ID);
    assert_eq!(v["author"], "acme");
    assert_eq!(v["_id"].as_str().unwrap().len(), 24);
    assert_eq!(v["sha"], hub.commit_sha(ID, "main").unwrap());
    assert_eq!(v["sha"].as_str().unwrap().len(), 40);
    assert_eq!(v["private"], false);
    assert_eq!(v["gated"], false);
    assert_eq!(v["disabled"], false);
    assert!(v["lastModified"].as_str().unwrap().ends_with('Z'));
    let siblings: Vec<&str> = v["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rfilename"].as_str().unwrap())
        .collect();
    assert_eq!(
        siblings,
        [
            "README.md",
            "data/extra/notes.md",
            "data/train-00000-of-00001.parquet",
            "hello.txt"
        ]
    );
    assert_eq!(v["cardData"]["license"], "mit");
    assert_eq!(v["cardData"]["language"], json!(["en"]));
    assert_eq!(
        v["cardData"]["configs"][0]["data_files"][0],
        json!({"split": "train", "path": "data/train-*"})
    );
    assert!(
        v["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("license:mit"))
    );
}

#[tokio::test]
async fn hub_info_at_revisions_branch_tag_and_sha() {
    let hub = start();
    let base = format!("{}/api/datasets/{ID}/revision", hub.endpoint());
    let (s, conv) = get_json(&format!("{base}/refs%2Fconvert%2Fparquet")).await;
    assert_eq!(s, 200);
    let conv_sha = hub.commit_sha(ID, "refs/convert/parquet").unwrap();
    assert_eq!(conv["sha"], conv_sha);
    assert_ne!(conv_sha, hub.commit_sha(ID, "main").unwrap());
    assert_eq!(
        conv["siblings"],
        json!([{"rfilename": "default/train/0000.parquet"}])
    );
    assert!(conv.get("cardData").is_none(), "no README on that branch");
    let (_, tag) = get_json(&format!("{base}/v1.0")).await;
    assert_eq!(tag["sha"], hub.commit_sha(ID, "main").unwrap());
    let (s, by_sha) = get_json(&format!("{base}/{conv_sha}")).await;
    assert_eq!(s, 200);
    assert_eq!(by_sha["sha"], conv_sha);
}

#[tokio::test]
async fn hub_tree_pages_of_two_follow_absolute_links() {
    let hub = HubEmulator::builder()
        .repo(sample_repo())
        .page_size(2)
        .start();
    let mut url = format!(
        "{}/api/datasets/{ID}/tree/main?recursive=true&expand=false",
        hub.endpoint()
    );
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let link = h(r.headers(), "link");
        let page: Vec<Value> = r.json().await.unwrap();
        assert!(!page.is_empty() && page.len() <= 2);
        all.extend(page);
        pages += 1;
        if link.is_empty() {
            break;
        }
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        url = link[1..link.find('>').unwrap()].to_owned();
        assert!(url.starts_with(&hub.endpoint()), "absolute link: {url}");
        assert!(url.contains("recursive=true") && url.contains("cursor="));
    }
    let paths: Vec<&str> = all.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "data",
            "data/extra",
            "data/extra/notes.md",
            "data/train-00000-of-00001.parquet",
            "hello.txt"
        ]
    );
    assert_eq!(pages, 3);
    let lfs = &all[4];
    assert_eq!(lfs["type"], "file");
    assert_eq!(lfs["size"], 50_000);
    assert_eq!(lfs["lfs"]["oid"], sha256_hex(&lfs_bytes()));
    assert_eq!(lfs["lfs"]["size"], 50_000);
    assert!(lfs["lfs"]["pointerSize"].as_u64().unwrap() > 100);
    assert_eq!(all[1]["type"], "directory");
    assert_eq!(all[5]["oid"], HELLO_OID);
    assert!(all[5].get("lfs").is_none());
}

#[tokio::test]
async fn hub_tree_of_a_folder_and_non_recursive_root() {
    let hub = start();
    let base = format!("{}/api/datasets/{ID}/tree/main", hub.endpoint());
    let (_, root) = get_json(&base).await;
    let paths: Vec<&str> = root
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["README.md", "data", "hello.txt"]);
    let (_, sub) = get_json(&format!("{base}/data")).await;
    let paths: Vec<&str> = sub
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["data/extra", "data/train-00000-of-00001.parquet"]);
    let r = client().get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(h(r.headers(), "x-error-code"), "EntryNotFound");
}

#[tokio::test]
async fn hub_resolve_small_file_and_head() {
    let hub = start();
    let url = resolve_url(&hub, "main", "hello.txt");
    let main_sha = hub.commit_sha(ID, "main").unwrap();
    for req in [client().get(&url), client().head(&url)] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        let hd = r.headers().clone();
        assert_eq!(h(&hd, "etag"), format!("\"{HELLO_OID}\""));
        assert_eq!(h(&hd, "x-repo-commit"), main_sha);
        assert_eq!(h(&hd, "content-length"), "6");
        assert_eq!(h(&hd, "accept-ranges"), "bytes");
        assert!(hd.get("x-linked-size").is_none());
        let body = r.bytes().await.unwrap();
        assert!(body.is_empty() || &body[..] == b"hello\n");
    }
    let log = hub.requests();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].method.as_str(), log[0].bytes_sent), ("GET", 6));
    assert_eq!((log[1].method.as_str(), log[1].bytes_sent), ("HEAD", 0));
}

#[tokio::test]
async fn hub_lfs_resolve_redirects_to_the_cdn_with_linked_headers() {
    let hub = start();
    let path = "data/train-00000-of-00001.parquet";
    let url = resolve_url(&hub, "main", path);
    let sha = sha256_hex(&lfs_bytes());
    for req in [no_redirect().head(&url), no_redirect().get(&url)] {
        let r = req.bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let hd = r.headers().clone();
        let loc = h(&hd, "location");
        assert!(
            loc.starts_with(&format!("{}/{sha}?expires=", hub.cdn_endpoint())),
            "{loc}"
        );
        assert!(loc.contains("&sig="));
        assert_eq!(h(&hd, "x-linked-size"), "50000");
        assert_eq!(h(&hd, "x-linked-etag"), format!("\"{sha}\""));
        assert!(!h(&hd, "etag").is_empty());
        assert_eq!(h(&hd, "x-repo-commit"), hub.commit_sha(ID, "main").unwrap());
        assert_ne!(h(&hd, "content-length"), "50000");
    }
    assert_eq!(hub.lfs_sha256(ID, "main", path).unwrap(), sha);
    // reqwest follows the cross-port redirect and drops the token on the way.
    let r = client().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h(r.headers(), "content-length"), "50000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), lfs_bytes());
    assert_eq!(hub.cdn_requests_with_authorization(), 0);
    let hub_gets: Vec<_> = hub.requests_to(Host::Hub);
    assert!(
        hub_gets
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")[..]))
    );
    let cdn = hub.requests_to(Host::Cdn);
    assert_eq!(cdn.len(), 1);
    assert!(!cdn[0].has_authorization && cdn[0].authorization.is_none());
    assert_eq!(cdn[0].file.as_deref(), Some(path));
    assert_eq!(hub.bytes_served_for(path), 50_000);
    assert_eq!(hub.bytes_served(), 50_000);
    assert_eq!(hub.count(&format!("/datasets/{ID}/resolve/")), 3);
}

#[tokio::test]
async fn hub_cdn_rejects_and_logs_authorization() {
    let hub = start();
    let url = resolve_url(&hub, "main", "data/train-00000-of-00001.parquet");
    let r = no_redirect().get(&url).send().await.unwrap();
    let loc = h(r.headers(), "location");
    let r = client().get(&loc).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("<Code>InvalidArgument</Code>"), "{text}");
    assert_eq!(hub.cdn_requests_with_authorization(), 1);
    let cdn = hub.requests_to(Host::Cdn);
    assert!(cdn[0].has_authorization);
    assert_eq!(
        cdn[0].authorization, None,
        "the CDN log never keeps the token"
    );
    // Without the header the same URL works.
    let r = client().get(&loc).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn hub_renamed_repo_answers_relative_307() {
    let hub = HubEmulator::start([sample_repo().renamed_from("acme/old-reviews")]);
    let old = format!(
        "{}/datasets/acme/old-reviews/resolve/main/hello.txt",
        hub.endpoint()
    );
    let r = no_redirect().head(&old).send().await.unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(
        h(r.headers(), "location"),
        format!("/datasets/{ID}/resolve/main/hello.txt")
    );
    let r = client().get(&old).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"hello\n");
}

#[tokio::test]
async fn hub_refuses_connections_after_stop() {
    let mut hub = start();
    let url = format!("{}/api/datasets/{ID}", hub.endpoint());
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    hub.stop();
    let err = client().get(&url).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let cdn = client().get(hub.cdn_endpoint()).send().await.unwrap_err();
    assert!(cdn.is_connect(), "{cdn:?}");
    assert_eq!(hub.requests().len(), 1, "the log outlives the server");
}

#[tokio::test]
async fn hub_paths_info_answers_json_and_form_bodies() {
    let hub = start();
    let url = format!("{}/api/datasets/{ID}/paths-info/main", hub.endpoint());
    let body = json!({"paths": ["hello.txt", "data/extra", "nope.txt", "data/train-00000-of-00001.parquet"]});
    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "hello.txt",
            "data/extra",
            "data/train-00000-of-00001.parquet"
        ]
    );
    assert_eq!(v[0]["oid"], HELLO_OID);
    assert_eq!(v[1]["type"], "directory");
    assert_eq!(v[2]["lfs"]["oid"], sha256_hex(&lfs_bytes()));
    let r = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("paths=hello.txt&paths=README.md&expand=true")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(
        v[0]["lastCommit"]["id"],
        hub.commit_sha(ID, "main").unwrap()
    );
    let r = client()
        .post(format!(
            "{}/api/datasets/{ID}/paths-info/nope",
            hub.endpoint()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(h(r.headers(), "x-error-code"), "RevisionNotFound");
}

//! A plain run plans its estimate on the first rows of each dataset and then rates them without
//! reading them again: streamed from the Hub, every byte is fetched once.

mod support;

use classified_tests::hub::{HubEmulator, Repo, fixtures};
use classified_tests::openai::FakeOpenAi;
use support::{Run, Workspace};

/// A two-file Parquet dataset, small enough that the plan covers every row.
fn repo() -> Repo {
    let mut repo = Repo::dataset("acme/once");
    for i in 0..2 {
        let rows = fixtures::text_rows(60, i);
        let bytes = fixtures::parquet(&[("text", rows)], 20);
        repo = repo.lfs(&format!("data/train-{i:05}-of-00002.parquet"), bytes);
    }
    repo
}

fn summary(ws: &Workspace, hub: &HubEmulator, server: &FakeOpenAi, extra: &[&str]) -> Run {
    let mut args = vec![
        "summary",
        "acme/once",
        "text",
        "textbook_quality",
        "--stream",
    ];
    args.extend_from_slice(extra);
    let mut cmd = ws.command(Some(server), &args);
    cmd.env("HF_ENDPOINT", hub.endpoint());
    Run::from(cmd.output().unwrap())
}

#[test]
fn a_plain_streaming_run_reads_the_rows_it_planned_only_once() {
    let server = FakeOpenAi::start();

    // What reading the dataset once costs: a dry run reads every row once and sends nothing.
    let hub = HubEmulator::builder().repo(repo()).start();
    let dry = summary(&Workspace::new(), &hub, &server, &["--dry-run"]).ok();
    let once = hub.bytes_served();
    assert!(once > 0, "{}", dry.stderr);
    assert_eq!(server.request_count(), 0);

    // A real run plans (printing its estimate) and rates: the same bytes, not twice as many.
    let hub = HubEmulator::builder().repo(repo()).start();
    let run = summary(&Workspace::new(), &hub, &server, &[]).ok();
    assert!(run.stderr.contains("Estimate:"), "{}", run.stderr);
    assert!(server.request_count() > 0);
    let served = hub.bytes_served();
    assert!(
        served <= once + once / 10,
        "a plain run read {served} bytes where reading the dataset once takes {once}"
    );
}

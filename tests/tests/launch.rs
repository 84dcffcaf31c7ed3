//! `classified launch`: the Slurm script is valid bash that submits an N-task array and a merge job
//! depending on it; the Kubernetes manifest parses and is an Indexed Job with the right
//! completions, parallelism and environment, plus a merge Job. (The script runs for real in
//! `slurm.rs`.) No cluster is needed here.

mod support;

use serde_json::Value;
use support::Workspace;

fn launch(ws: &Workspace, args: &[&str]) -> support::Run {
    let mut all = vec!["launch"];
    all.extend_from_slice(args);
    ws.run(None, &all)
}

#[test]
fn the_slurm_script_submits_the_array_and_the_dependent_merge() {
    let ws = Workspace::new();
    let run = launch(
        &ws,
        &[
            "slurm",
            "--shards",
            "64",
            "--partition",
            "cpu",
            "--mem",
            "4G",
            "--",
            "filter",
            "data/web",
            "text",
            "heuristic_quality",
            "--out",
            "out dir",
            "--min-bucket",
            "Good",
        ],
    )
    .ok();
    let script = run.stdout;
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    let out = ws.path().join("out dir");
    for expected in [
        "--array=0-63".to_string(),
        "--partition=cpu".into(),
        "--mem=4G".into(),
        "--dependency=afterok:\"$array_job\"".into(),
        format!("OUT='{}'", out.display()),
        "--output=\"$LOGS/%A_%a.log\"".into(),
        format!(
            "filter data/web text heuristic_quality --min-bucket Good --out '{}'",
            out.display()
        ),
        format!("merge '{}'", out.display()),
    ] {
        assert!(script.contains(&expected), "{expected} missing:\n{script}");
    }
    let path = ws.path().join("job.sh");
    std::fs::write(&path, &script).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // Without --partition the cluster's default is used: no empty flag.
    let run = launch(
        &ws,
        &[
            "slurm",
            "--shards",
            "2",
            "--",
            "filter",
            "d.parquet",
            "text",
            "heuristic_quality",
            "--out",
            "o",
        ],
    )
    .ok();
    assert!(!run.stdout.contains("--partition"), "{}", run.stdout);
}

#[test]
fn the_kubernetes_manifest_is_an_indexed_job_and_a_merge_job() {
    let ws = Workspace::new();
    let run = launch(
        &ws,
        &[
            "k8s",
            "--shards",
            "8",
            "--image",
            "ghcr.io/me/classified:1",
            "--volume",
            "corpus",
            "--",
            "filter",
            "/data/web",
            "text",
            "heuristic_quality",
            "--out",
            "/data/out",
        ],
    )
    .ok();
    let docs: Vec<Value> = run
        .stdout
        .split("\n---\n")
        .filter(|d| {
            d.lines()
                .any(|l| !l.starts_with('#') && !l.trim().is_empty() && l.trim() != "---")
        })
        .map(|d| serde_norway::from_str(d).unwrap_or_else(|e| panic!("{e}:\n{d}")))
        .collect();
    assert_eq!(docs.len(), 2, "{}", run.stdout);
    let job = &docs[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 8);
    assert_eq!(job["spec"]["parallelism"], 8);
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/me/classified:1");
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        [
            "classified",
            "filter",
            "/data/web",
            "text",
            "heuristic_quality",
            "--out",
            "/data/out",
            "--shards",
            "8"
        ]
    );
    assert_eq!(container["env"][0]["name"], "JOB_COMPLETION_INDEX");
    assert!(
        container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"]
            .as_str()
            .unwrap()
            .contains("job-completion-index")
    );
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "corpus"
    );
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/data");
    let merge = &docs[1];
    assert_eq!(merge["kind"], "Job");
    let merge_command = merge["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        merge_command.contains("classified merge /data/out"),
        "{merge_command}"
    );
}

#[test]
fn a_command_launch_cannot_shard_is_refused() {
    let ws = Workspace::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "slurm",
                "--shards",
                "2",
                "--",
                "filter",
                "d.parquet",
                "text",
                "heuristic_quality",
            ],
            "the command needs --out DIR",
        ),
        (
            &["slurm", "--shards", "2", "--", "lenses", "list"],
            "launch runs `filter` or `summary` sharded, not `lenses`",
        ),
        (
            &[
                "slurm", "--shards", "2", "--", "filter", "d", "text", "l", "--out", "o",
                "--shard", "0/2",
            ],
            "leave --shard out of the command",
        ),
        (
            &[
                "k8s", "--shards", "0", "--", "filter", "d", "text", "l", "--out", "o",
            ],
            "--shards must be at least 1",
        ),
    ];
    for (args, message) in cases {
        let run = launch(&ws, args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

//! On a real single-node Slurm cluster (started and stopped by `classified_tests::slurm`): the
//! script `classified launch slurm` prints is submitted as is; a 4-task array filters a multi-file
//! Parquet dataset and the dependent merge job runs; the kept rows and every stats file equal one
//! unsharded run's, byte for byte. Then one task is killed midway and the script resubmitted: only
//! that shard is redone.

use classified_tests::filter_data::{parquet_dataset, parts};
use classified_tests::slurm::Slurm;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LENS: &str = "heuristic_quality";

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kept rows, stats.json, summary.csv and means.csv of two runs are the same bytes.
fn assert_same_outputs(one: &Path, sharded: &Path) {
    for file in ["stats.json", "summary.csv", "means.csv"] {
        assert!(
            bytes(&one.join(file)) == bytes(&sharded.join(file)),
            "{file} differs"
        );
    }
    let (a, b) = (parts(one, "part-"), parts(sharded, "part-"));
    let names = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(&b) {
        assert!(bytes(x) == bytes(y), "{} differs", x.display());
    }
}

/// The submitted array and merge job ids from the script's last line.
fn job_ids(stdout: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("submitted array job"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (
        words[3].to_string(),
        words[words.iter().position(|w| *w == "merge").unwrap() + 2]
            .trim_end_matches(';')
            .to_string(),
    )
}

#[test]
fn a_slurm_job_array_filters_like_one_process_and_a_killed_task_alone_is_redone() {
    if !Slurm::installed() {
        eprintln!(
            "SKIPPED: Slurm is not installed (apt-get install slurmctld slurmd slurm-client; .ci/run does)"
        );
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // A copy of the program, so that no concurrent build replaces it while the jobs run.
    let program = root.join("classified");
    std::fs::copy(env!("CARGO_BIN_EXE_classified-e2e"), &program).unwrap();
    let data = parquet_dataset(&root.join("web"), 4, 6000, 1000);
    let data = data.to_str().unwrap();
    let filter = |out: &Path| -> Vec<String> {
        [
            "filter",
            data,
            "text",
            LENS,
            "--out",
            out.to_str().unwrap(),
            "--min-bucket",
            "Good",
            "--quiet",
        ]
        .map(String::from)
        .to_vec()
    };
    let classified = || {
        let mut cmd = Command::new(&program);
        cmd.current_dir(root)
            .env_remove("DATABASE_URL")
            .env_remove("DATA_DIR");
        for var in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "JOB_COMPLETION_INDEX",
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    let one = root.join("one");
    run(classified().args(filter(&one)));

    let slurm = Slurm::start();
    let script = |out: &Path, name: &str| -> PathBuf {
        let text = run(classified()
            .args([
                "launch",
                "slurm",
                "--shards",
                "4",
                "--mem",
                "500M",
                "--cpus-per-task",
                "1",
                "--time",
                "00:10:00",
                "--name",
                name,
            ])
            .arg("--program")
            .arg(&program)
            .arg("--")
            .args(filter(out)));
        let path = root.join(format!("{name}.sh"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let submit = |path: &Path| -> (String, String) {
        let stdout = run(Command::new("bash")
            .arg(path)
            .current_dir(root)
            .env("SLURM_CONF", slurm.conf()));
        job_ids(&stdout)
    };

    // 1. The whole workflow: array, then the merge that depends on it.
    let sharded = root.join("sharded");
    let (array, merge) = submit(&script(&sharded, "filter"));
    slurm.wait_idle(Duration::from_secs(300));
    assert_eq!(
        slurm.job_state(&merge),
        "COMPLETED",
        "merge job {merge} (array {array})\n{}",
        slurm.logs()
    );
    for k in 0..4 {
        assert!(
            sharded.join(format!("shard-{k}-of-4.json")).exists(),
            "shard {k}"
        );
    }
    assert_same_outputs(&one, &sharded);
    let logs: Vec<PathBuf> = std::fs::read_dir(sharded.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 5, "{logs:?}");

    // 2. Kill task 3 while it writes its first part; the merge job does not run.
    let killed = root.join("killed");
    let job = script(&killed, "killed");
    let (array, merge) = submit(&job);
    let task = format!("{array}_3");
    let started = Instant::now();
    loop {
        let writing = std::fs::read_dir(&killed)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(".part-00003-"))
            })
            .unwrap_or(false);
        if writing {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "task 3 never started writing\n{}",
            slurm.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    run(slurm.client("scancel").arg(&task));
    slurm.wait_idle(Duration::from_secs(300));
    assert_ne!(slurm.job_state(&merge), "COMPLETED");
    assert!(!killed.join("shard-3-of-4.json").exists());
    assert!(!killed.join("stats.json").exists());
    let done: Vec<(PathBuf, std::time::SystemTime)> = (0..3)
        .map(|k| {
            let m = killed.join(format!("shard-{k}-of-4.json"));
            let t = std::fs::metadata(&m)
                .unwrap_or_else(|e| panic!("shard {k}: {e}"))
                .modified()
                .unwrap();
            (m, t)
        })
        .collect();

    // 3. Resubmit the same script: shards 0–2 say they are done, only shard 3 is redone.
    let (array, merge) = submit(&job);
    slurm.wait_idle(Duration::from_secs(300));
    assert_eq!(
        slurm.job_state(&merge),
        "COMPLETED",
        "merge job {merge}\n{}",
        slurm.logs()
    );
    for (marker, modified) in &done {
        assert_eq!(
            &std::fs::metadata(marker).unwrap().modified().unwrap(),
            modified,
            "{} was rewritten",
            marker.display()
        );
    }
    for k in 0..4 {
        let log =
            std::fs::read_to_string(killed.join("logs").join(format!("{array}_{k}.log"))).unwrap();
        assert_eq!(log.contains("is already done"), k < 3, "task {k}: {log}");
    }
    assert_same_outputs(&one, &killed);
}

//! `classified launch slurm|k8s --shards N -- <filter or summary arguments>`: print what runs the
//! command sharded on an existing engine, for the user to read, edit and run. For Slurm, a bash
//! script that submits an N-task job array and the merge job that depends on it
//! (`templates/launch/slurm.sh.j2`); for Kubernetes, an Indexed Job and a merge Job.

use crate::cli::filter::{LaunchArgs, LaunchTarget};
use crate::error::Error;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const SLURM: &str = include_str!("../../templates/launch/slurm.sh.j2");

pub fn run(args: LaunchArgs) -> Result<(), Error> {
    print!("{}", render(&args)?);
    if let Some(note) = unpinned_hub_note(&args.command) {
        eprintln!("{note}");
    }
    Ok(())
}

/// A note when the command reads a Hub dataset at a branch: every task resolves the branch when it
/// starts, so a push while the tasks run makes shards read different commits (refused at the next
/// shard and by `merge`). Pinning `--revision` to a commit avoids that.
fn unpinned_hub_note(command: &[String]) -> Option<String> {
    if command
        .iter()
        .any(|a| a == "--revision" || a.starts_with("--revision="))
    {
        return None;
    }
    let datasets = command.get(1)?;
    let hub: Vec<&str> = datasets
        .split(',')
        .filter(|d| crate::input::is_hub_reference(Path::new(d)))
        .collect();
    (!hub.is_empty()).then(|| {
        format!(
            "note: every task reads {} at the commit its branch points to when the task starts; to be sure all shards read one commit, add --revision COMMIT_SHA to the command",
            hub.join(", ")
        )
    })
}

/// One word for bash, quoted when it needs to be.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The value of `--out` in the command, as given.
fn out_of(command: &[String]) -> Option<String> {
    command.iter().enumerate().find_map(|(i, a)| {
        if a == "--out" {
            command.get(i + 1).cloned()
        } else {
            a.strip_prefix("--out=").map(str::to_string)
        }
    })
}

/// Check the command and make its `--out` absolute (tasks may start in another folder).
/// (Kubernetes paths are the pods', so they are left as given there: `cwd` is `None`.)
fn checked_command(args: &LaunchArgs, cwd: Option<&Path>) -> Result<(Vec<String>, PathBuf), Error> {
    if args.shards == 0 {
        return Err(Error::Usage("--shards must be at least 1".into()));
    }
    let verb = args.command.first().map(String::as_str).unwrap_or_default();
    if verb != "filter" && verb != "summary" {
        return Err(Error::Usage(format!(
            "launch runs `filter` or `summary` sharded, not `{verb}`: write `classified launch slurm --shards N -- filter DATASETS COLUMNS LENS --out DIR …`"
        )));
    }
    if args
        .command
        .iter()
        .any(|a| a == "--shard" || a.starts_with("--shard="))
    {
        return Err(Error::Usage(
            "leave --shard out of the command: each task takes its shard from the engine".into(),
        ));
    }
    let out = out_of(&args.command).ok_or_else(|| {
        Error::Usage(
            "the command needs --out DIR: every shard writes there and merge reads it".into(),
        )
    })?;
    let out = match cwd {
        Some(cwd) => cwd.join(out),
        None => PathBuf::from(out),
    };
    let mut command = Vec::new();
    let mut skip = false;
    for a in &args.command {
        if skip {
            skip = false;
            continue;
        }
        if a == "--out" {
            skip = true;
            continue;
        }
        if a.starts_with("--out=") {
            continue;
        }
        command.push(a.clone());
    }
    command.push("--out".into());
    command.push(out.display().to_string());
    Ok((command, out))
}

fn program(args: &LaunchArgs) -> String {
    args.program.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "classified".into())
    })
}

pub fn render(args: &LaunchArgs) -> Result<String, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Usage(format!("cannot read the current folder: {e}")))?;
    match args.target {
        LaunchTarget::Slurm => {
            let (command, out) = checked_command(args, Some(&cwd))?;
            slurm(args, &command, &out, &cwd)
        }
        LaunchTarget::K8s => {
            let (command, out) = checked_command(args, None)?;
            k8s(args, &command, &out)
        }
    }
}

fn slurm(args: &LaunchArgs, command: &[String], out: &Path, cwd: &Path) -> Result<String, Error> {
    let program = program(args);
    let words = |words: Vec<String>| words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    let mut task = vec![program.clone()];
    task.extend(command.iter().cloned());
    let merge = vec![program, "merge".into(), out.display().to_string()];
    let mut env = minijinja::Environment::new();
    env.add_template("slurm", SLURM)
        .expect("the Slurm template parses");
    env.get_template("slurm")
        .expect("added above")
        .render(minijinja::context! {
            shards => args.shards,
            last => args.shards - 1,
            verb => command[0],
            out => quote(&out.display().to_string()),
            name => quote(&args.name),
            time => quote(&args.time),
            mem => quote(&args.mem),
            cpus => args.cpus_per_task,
            partition => args.partition.as_deref().map(quote),
            workdir => quote(&cwd.display().to_string()),
            task => words(task),
            merge => words(merge),
        })
        .map(|s| s + "\n")
        .map_err(|e| Error::Internal(format!("the Slurm template failed: {e}")))
}

fn k8s(args: &LaunchArgs, command: &[String], out: &Path) -> Result<String, Error> {
    let program = args.program.clone().unwrap_or_else(|| "classified".into());
    let mut task = vec![program.clone()];
    task.extend(command.iter().cloned());
    task.extend(["--shards".into(), args.shards.to_string()]);
    let volume = json!([{"name": "data", "persistentVolumeClaim": {"claimName": args.volume}}]);
    let mounts = json!([{"name": "data", "mountPath": args.mount}]);
    let resources =
        json!({"requests": {"cpu": args.cpus_per_task.to_string(), "memory": args.mem}});
    let shards = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": args.name},
        "spec": {
            "completionMode": "Indexed",
            "completions": args.shards,
            "parallelism": args.shards,
            "backoffLimitPerIndex": 3,
            "maxFailedIndexes": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "shard",
                    "image": args.image,
                    "command": task,
                    "env": [{
                        "name": "JOB_COMPLETION_INDEX",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}
                    }],
                    "resources": resources,
                    "volumeMounts": mounts,
                }],
                "volumes": volume,
            }},
        },
    });
    // Kubernetes has no dependency between Jobs: the merge Job waits while shards are not done,
    // and fails on anything else (another run's shards, a dataset that changed).
    let merge_line = format!(
        "until out=$({} merge {} 2>&1); do echo \"$out\"; case \"$out\" in *\"are not done\"*) sleep 30 ;; *) exit 1 ;; esac; done; echo \"$out\"",
        quote(&program),
        quote(&out.display().to_string())
    );
    let merge = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": format!("{}-merge", args.name)},
        "spec": {
            "backoffLimit": 3,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "merge",
                    "image": args.image,
                    "command": ["sh", "-c", merge_line],
                    "resources": {"requests": {"cpu": "1", "memory": args.mem}},
                    "volumeMounts": mounts,
                }],
                "volumes": volume,
            }},
        },
    });
    let yaml = |v: &Value| {
        serde_yaml_ng::to_string(v)
            .map_err(|e| Error::Internal(format!("writing YAML failed: {e}")))
    };
    Ok(format!(
        "# Written by `classified launch k8s`: {} shards as an Indexed Job (each pod's JOB_COMPLETION_INDEX is its\n# shard), then a Job that merges them once every shard is done. Paths are as seen inside the pods\n# (the volume {} at {}). Apply with `kubectl apply -f job.yaml`.\n---\n{}---\n{}",
        args.shards,
        args.volume,
        args.mount,
        yaml(&shards)?,
        yaml(&merge)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_dataset_read_at_a_branch_gets_a_note_to_pin_the_commit() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let note =
            unpinned_hub_note(&words("filter acme/web text heuristic_quality --out o")).unwrap();
        assert!(
            note.contains("acme/web") && note.contains("--revision COMMIT_SHA"),
            "{note}"
        );
        assert_eq!(
            unpinned_hub_note(&words("filter acme/web text q --out o --revision 1a2b3c")),
            None
        );
        assert_eq!(
            unpinned_hub_note(&words("filter ./no/such/file.parquet text q --out o")),
            None
        );
    }

    #[test]
    fn words_are_quoted_for_bash_only_when_needed() {
        assert_eq!(quote("data/a.parquet"), "data/a.parquet");
        assert_eq!(quote("it's here"), r"'it'\''s here'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }
}

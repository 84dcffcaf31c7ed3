//! A real single-node Slurm cluster for the tests (Debian's `slurmctld`, `slurmd` and
//! `slurm-client`): a private config, state, spool and logs in a temporary folder, free ports,
//! `auth/none`, started here and stopped by the PIDs in its own pid files (never by name).
//! See `../shared/notes/slurm.md` for why each config line is there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running cluster; dropping it cancels every job and stops both daemons.
pub struct Slurm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

/// Where Debian puts the daemons (not always on a test's PATH).
fn daemon(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn hostname() -> String {
    let out = Command::new("hostname")
        .arg("-s")
        .output()
        .expect("hostname -s");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Slurm {
    /// Whether the Slurm packages are installed (`.ci/run` installs them).
    pub fn installed() -> bool {
        daemon("slurmctld").is_some() && daemon("slurmd").is_some() && daemon("sbatch").is_some()
    }

    /// Start a cluster of this machine's cores and memory; wait (bounded) until its node is idle.
    pub fn start() -> Slurm {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["state", "spool", "logs"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        // slurmd refuses a node with more memory than it finds: leave a GiB aside.
        let total_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .and_then(|k| k.parse::<u64>().ok())
                    })
            })
            .map_or(4096, |kib| kib / 1024);
        let memory = total_mib.saturating_sub(1024).max(1024);
        let host = hostname();
        let r = root.display();
        let conf = format!(
            "ClusterName=classifiedtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/logs/slurmctld.log
SlurmdLogFile={r}/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={per_cpu}
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc={r}/logs/jobcomp.txt
DependencyParameters=kill_invalid_depend
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
            ctld = free_port(),
            slurmd = free_port(),
            per_cpu = memory / cpus as u64,
        );
        let conf_path = root.join("slurm.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let slurm = Slurm {
            dir,
            conf: conf_path,
        };
        for name in ["slurmctld", "slurmd"] {
            let out = slurm
                .daemon_command(name)
                .output()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                out.status.success(),
                "{name} did not start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let started = Instant::now();
        loop {
            let out = slurm
                .client("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .unwrap();
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if state == "idle" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the Slurm node did not become idle (state {state:?}); logs:\n{}",
                slurm.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        slurm
    }

    fn daemon_command(&self, name: &str) -> Command {
        let mut cmd =
            Command::new(daemon(name).unwrap_or_else(|| panic!("{name} is not installed")));
        cmd.arg("-f").arg(&self.conf).env("SLURM_CONF", &self.conf);
        cmd
    }

    /// A Slurm client command (`sbatch`, `squeue`, `scontrol`, …) talking to this cluster.
    pub fn client(&self, name: &str) -> Command {
        let mut cmd =
            Command::new(daemon(name).unwrap_or_else(|| panic!("{name} is not installed")));
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    /// `SLURM_CONF` for commands that run Slurm clients themselves (a submit script).
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Job ids and states in the queue.
    pub fn queue(&self) -> Vec<(String, String)> {
        let out = self
            .client("squeue")
            .args(["-h", "-r", "-o", "%i %T"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
            .collect()
    }

    /// Wait (at most `limit`) until no job is queued or running.
    pub fn wait_idle(&self, limit: Duration) {
        let started = Instant::now();
        while !self.queue().is_empty() {
            assert!(
                started.elapsed() < limit,
                "jobs still queued after {limit:?}: {:?}\n{}",
                self.queue(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A job's state as the controller remembers it (`COMPLETED`, `FAILED`, `CANCELLED`, …).
    pub fn job_state(&self, id: &str) -> String {
        let out: Output = self
            .client("scontrol")
            .args(["show", "job", id])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find_map(|w| w.strip_prefix("JobState="))
            .unwrap_or("UNKNOWN")
            .to_string()
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join("logs").join(f))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                format!(
                    "--- {f}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn pid(&self, file: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join(file))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // Jobs first: with proctrack/linuxproc, stopping slurmd does not stop job steps.
        let _ = self.client("scancel").args(["--user", "root"]).output();
        let started = Instant::now();
        while !self.queue().is_empty() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(200));
        }
        for file in ["slurmd.pid", "slurmctld.pid"] {
            let Some(pid) = self.pid(file) else { continue };
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let started = Instant::now();
            while Path::new(&format!("/proc/{pid}")).exists()
                && started.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

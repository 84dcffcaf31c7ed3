//! Serves folders as dataset repos on a loopback Hugging Face Hub emulator, for benchmarks and
//! manual runs: `hub-emulator --repo owner/name=DIR [--port P]`. Prints the endpoint, then
//! serves until killed.

use std::path::{Path, PathBuf};

use clap::Parser;
use classified_tests::hub::{HubEmulator, Repo};

/// Files bigger than this, or with a binary data extension, are served as LFS (via the CDN).
const LFS_THRESHOLD: u64 = 1 << 20;
const LFS_EXTENSIONS: &[&str] = &["parquet", "arrow", "gz", "zst", "bz2", "xz", "zip", "bin"];

#[derive(Parser)]
#[command(about = "A loopback Hugging Face Hub + CDN emulator serving folders as dataset repos")]
struct Args {
    /// `owner/name=DIR`: serve DIR's files (hidden ones skipped) as dataset `owner/name`.
    #[arg(long = "repo", required = true, value_parser = parse_repo)]
    repos: Vec<(String, PathBuf)>,
    /// Hub port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// CDN port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    cdn_port: u16,
    /// The only token the Hub accepts (default: any).
    #[arg(long)]
    token: Option<String>,
}

fn parse_repo(s: &str) -> Result<(String, PathBuf), String> {
    let (id, dir) = s
        .split_once('=')
        .ok_or_else(|| format!("--repo takes owner/name=DIR, got {s:?}"))?;
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        return Err(format!(
            "{} is not a folder; pass an existing folder after `=`",
            dir.display()
        ));
    }
    if id.split('/').filter(|p| !p.is_empty()).count() != 2 {
        return Err(format!("the repo id must be owner/name, got {id:?}"));
    }
    Ok((id.to_owned(), dir))
}

/// Every non-hidden file under `dir`, as (repo path, disk path), sorted.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let repo_path = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{repo_path}/"), out)?;
        } else {
            out.push((repo_path, entry.path()));
        }
    }
    out.sort();
    Ok(())
}

fn main() {
    let args = Args::parse();
    let mut builder = HubEmulator::builder().ports(args.port, args.cdn_port);
    if let Some(t) = &args.token {
        builder = builder.token(t);
    }
    for (id, dir) in &args.repos {
        let mut files = Vec::new();
        if let Err(e) = walk(dir, "", &mut files) {
            eprintln!("cannot read {}: {e}", dir.display());
            std::process::exit(2);
        }
        let mut repo = Repo::dataset(id);
        for (path, disk) in files {
            let size = std::fs::metadata(&disk).map(|m| m.len()).unwrap_or(0);
            let ext = path.rsplit('.').next().unwrap_or("");
            if size > LFS_THRESHOLD || LFS_EXTENSIONS.contains(&ext) {
                repo = repo.lfs_path(&path, &disk);
            } else {
                let bytes = std::fs::read(&disk).unwrap_or_else(|e| {
                    eprintln!("cannot read {}: {e}", disk.display());
                    std::process::exit(2);
                });
                repo = repo.file(&path, bytes);
            }
        }
        builder = builder.repo(repo);
    }
    let hub = builder.start();
    println!("HF_ENDPOINT={}", hub.endpoint());
    println!("CDN={}", hub.cdn_endpoint());
    for (id, _) in &args.repos {
        println!("serving dataset {id}");
    }
    loop {
        std::thread::park();
    }
}

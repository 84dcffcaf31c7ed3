//! Serves folders as dataset repos on a loopback Hugging Face Hub emulator, for benchmarks and
//! manual runs: `hub-emulator --repo owner/name=DIR [--port P]`. Prints the endpoint, then
//! serves until killed.

use std::path::PathBuf;

use clap::Parser;
use classified_tests::hub::{HubEmulator, Repo};

#[derive(Parser)]
#[command(about = "A loopback Hugging Face Hub + CDN emulator serving folders as dataset repos")]
struct Args {
    /// `owner/name=DIR`: serve DIR's files (hidden ones skipped) as dataset `owner/name`.
    /// Parquet/Arrow/compressed files and files over 1 MiB are LFS files served by the CDN.
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

fn main() {
    let args = Args::parse();
    let mut builder = HubEmulator::builder().ports(args.port, args.cdn_port);
    if let Some(t) = &args.token {
        builder = builder.token(t);
    }
    for (id, dir) in &args.repos {
        match Repo::from_folder(id, dir) {
            Ok(repo) => builder = builder.repo(repo),
            Err(e) => {
                eprintln!("cannot read {}: {e}", dir.display());
                std::process::exit(2);
            }
        }
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

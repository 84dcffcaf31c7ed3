//! `classified merge DIR`: once every shard of a sharded `filter` (or `summary`) is done, write the
//! run's `stats.json`, `summary.csv` and `means.csv` (the same bytes one unsharded run writes),
//! union the shards' caches, and with `--compact` rewrite the parts into files of the target size.

use crate::cli::filter::MergeArgs;
use crate::error::Error;
use crate::filter::document::RunStats;
use crate::shard::{caches, gather};

pub fn run(args: MergeArgs) -> Result<(), Error> {
    let part_bytes = args.part_bytes()?;
    let markers = gather::gather(&args.dir)?;
    let count = markers.len();
    let command = markers[0].identity["command"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut files = match command.as_str() {
        "filter" => merge_filter(&markers, &args.dir)?,
        "summary" => crate::shard::summary::merge(&markers, &args.dir)?,
        other => {
            return Err(Error::Usage(format!(
                "the shards in {} were written by `{other}`, which merge does not know; merge them with the classified that wrote them",
                args.dir.display()
            )));
        }
    };
    for cache in caches::union(&args.dir)? {
        eprintln!(
            "took the answers of {} into the run's cache",
            cache.display()
        );
    }
    if args.compact {
        if command != "filter" {
            return Err(Error::Usage(
                "--compact rewrites the parts of a filter run; summary shards have none".into(),
            ));
        }
        let parts = crate::filter::compact::compact(&args.dir, part_bytes)?;
        eprintln!(
            "compacted the kept rows into {} part(s), {:.1} MB",
            parts.len(),
            parts.iter().map(|(_, b)| *b).sum::<u64>() as f64 / 1e6
        );
        files.extend(parts.into_iter().map(|(p, _)| p));
    }
    eprintln!("merged {count} shard(s) of {}", args.dir.display());
    for f in files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "parquet"))
    {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

/// The shards' stats, added in shard order (so each dataset's rows count as in one pass).
fn merge_filter(
    markers: &[crate::shard::marker::Marker],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut merged: Option<RunStats> = None;
    for m in markers {
        let stats: RunStats = serde_json::from_value(m.stats.clone()).map_err(|e| {
            Error::Usage(format!(
                "shard {} of {} in {} holds stats this classified cannot read ({e}); rerun that shard",
                m.shard,
                m.count,
                dir.display()
            ))
        })?;
        match merged.as_mut() {
            None => merged = Some(stats),
            Some(all) => {
                for (mine, theirs) in all.datasets.iter_mut().zip(&stats.datasets) {
                    mine.absorb(theirs);
                }
            }
        }
    }
    let merged = merged.expect("gather returns at least one shard");
    print!("{}", merged.render());
    merged.write(dir)
}

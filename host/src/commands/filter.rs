//! `classified filter`: keep the rows of whole datasets that pass a lens's rule (see `crate::filter`).

use crate::error::Error;
use crate::filter::{self, FilterConfig, Filtered};

pub fn run(config: FilterConfig) -> Result<(), Error> {
    let shard = config.shard;
    let out = config.run.settings.data_dir.clone();
    match filter::run(config)? {
        Filtered::AlreadyDone(marker) => {
            eprintln!(
                "shard {} is already done ({}): nothing to do",
                shard.map(|s| s.to_string()).unwrap_or_default(),
                marker.display()
            );
        }
        Filtered::Done { stats, files } => {
            print!("{}", stats.render());
            let parts = files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
                .count();
            eprintln!(
                "wrote {parts} part file(s) of kept rows in {}",
                out.display()
            );
            for f in files
                .iter()
                .filter(|f| f.extension().is_none_or(|e| e != "parquet"))
            {
                eprintln!("wrote {}", f.display());
            }
            if let Some(spec) = shard {
                eprintln!(
                    "shard {spec} is done; once every shard is, run `classified merge {}`",
                    out.display()
                );
            }
        }
    }
    Ok(())
}

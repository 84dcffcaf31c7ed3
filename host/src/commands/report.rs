//! `classified report DATA_DIR`: rebuild report.html from the output files alone (no cache, no
//! model), e.g. after merging shards or to get the report of an older run.

use crate::cli::report::ReportArgs;
use crate::error::Error;

pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let path = crate::report::write_report(&args.data_dir)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

//! `summary.csv` and `means.csv`: one line per dataset × lens (and per score label), for any
//! command that ends with tallies.

use super::Tally;
use super::files::output_error;
use crate::error::Error;
use std::path::{Path, PathBuf};

use super::AtomicFile;

/// `summary.csv` (one line per dataset × lens: bucket shares in percent of rated rows, counts) and
/// `means.csv` (one line per dataset × lens × score label).
pub fn write_summary_csv(dir: &Path, tallies: &[Tally]) -> Result<Vec<PathBuf>, Error> {
    let mut bucket_names: Vec<String> = Vec::new();
    for t in tallies {
        for b in &t.bucket_names {
            if !bucket_names.contains(b) {
                bucket_names.push(b.clone());
            }
        }
    }
    let csv_error = |path: &Path, e: csv::Error| output_error(path, e);

    let path = dir.join("summary.csv");
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = csv::Writer::from_writer(file.file());
        let mut header = vec!["Dataset".to_string(), "Lens".to_string()];
        header.extend(bucket_names.iter().cloned());
        header.extend(["Total", "Failed", "Skipped"].map(String::from));
        w.write_record(&header).map_err(|e| csv_error(&path, e))?;
        for t in tallies {
            let mut record = vec![t.dataset.clone(), t.lens.clone()];
            record.extend(bucket_names.iter().map(|b| format!("{:.2}", t.percent(b))));
            record.extend([t.rated, t.failed, t.skipped].map(|n| n.to_string()));
            w.write_record(&record).map_err(|e| csv_error(&path, e))?;
        }
        w.flush().map_err(|e| output_error(&path, e))?;
    }
    let summary = file.commit()?;

    let path = dir.join("means.csv");
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = csv::Writer::from_writer(file.file());
        w.write_record(["Dataset", "Lens", "Label", "Mean", "Rated"])
            .map_err(|e| csv_error(&path, e))?;
        for t in tallies {
            for (label, mean) in t.labels.iter().zip(t.means()) {
                let mean = mean.map(|m| format!("{m:.4}")).unwrap_or_default();
                w.write_record([&t.dataset, &t.lens, label, &mean, &t.rated.to_string()])
                    .map_err(|e| csv_error(&path, e))?;
            }
        }
        w.flush().map_err(|e| output_error(&path, e))?;
    }
    Ok(vec![summary, file.commit()?])
}

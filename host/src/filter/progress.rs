//! `filter`'s progress bar: rows done of the shard's rows, rows/s, MB/s of input, the share kept so
//! far and the time left.

use crate::shard::units::Unit;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Instant;

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    /// Input bytes done, counting each unit's bytes in proportion to its rows done.
    bytes: f64,
    rows: u64,
    kept: u64,
}

impl Progress {
    /// A bar over `rows` rows; `title` says which pass it is.
    pub fn new(rows: u64, title: &str, visible: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(rows),
            match visible {
                true => ProgressDrawTarget::stderr(),
                false => ProgressDrawTarget::hidden(),
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} rows  {per_sec}  {msg}  ETA {eta}",
            )
            .expect("the progress template is valid"),
        );
        bar.set_prefix(title.to_string());
        Progress {
            bar,
            started: Instant::now(),
            bytes: 0.0,
            rows: 0,
            kept: 0,
        }
    }

    pub fn advance(&mut self, unit: &Unit, rows: u64, kept: u64) {
        self.rows += rows;
        self.kept += kept;
        if unit.rows > 0 {
            self.bytes += unit.bytes as f64 * rows as f64 / unit.rows as f64;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.inc(rows);
        self.bar.set_message(format!(
            "{:.1} MB/s  kept {:.1}%",
            self.bytes / seconds / 1e6,
            100.0 * self.kept as f64 / self.rows.max(1) as f64
        ));
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}

//! Tables a person can read: mean scores, the bucket summary, failures and skips; or, for a dry
//! run, what the run would send.

use super::Tally;
use super::intervals;
use comfy_table::{CellAlignment, Table, presets};

fn table(header: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN).set_header(header);
    t
}

/// Right-align every column but the first `text_columns`.
fn align_numbers(t: &mut Table, text_columns: usize) {
    for (i, column) in t.column_iter_mut().enumerate() {
        if i >= text_columns {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn name_columns(tallies: &[Tally]) -> (bool, Vec<String>) {
    let several = tallies.iter().any(|t| t.dataset != tallies[0].dataset);
    let mut header = Vec::new();
    if several {
        header.push("Dataset".to_string());
    }
    header.push("Lens".to_string());
    (several, header)
}

fn names(t: &Tally, several: bool) -> Vec<String> {
    if several {
        vec![t.dataset.clone(), t.lens.clone()]
    } else {
        vec![t.lens.clone()]
    }
}

/// The summary the seed printed, with 95% intervals: mean score per label (`2.80 ±0.12`), then
/// bucket shares per lens (`86.96% ±6.1`: half the Wilson interval's width, in points).
pub fn render_summary(tallies: &[Tally]) -> String {
    if tallies.is_empty() {
        return String::new();
    }
    let (several, header) = name_columns(tallies);
    let mut out = String::from("Mean scores\n");
    for t in tallies {
        let mut h = header.clone();
        h.extend(t.labels.iter().cloned());
        let mut means = table(h);
        let mut row = names(t, several);
        row.extend(intervals::means(&t.scores.distributions()).iter().map(|m| {
            match (m.mean, m.low, m.high) {
                (Some(mean), Some(low), Some(high)) => {
                    format!("{mean:.2} ±{:.2}", (high - low) / 2.0)
                }
                _ => "-".into(),
            }
        }));
        means.add_row(row);
        align_numbers(&mut means, header.len());
        out.push_str(&format!("{means}\n"));
    }

    let mut bucket_names: Vec<String> = Vec::new();
    for b in tallies.iter().flat_map(|t| &t.bucket_names) {
        if !bucket_names.contains(b) {
            bucket_names.push(b.clone());
        }
    }
    let mut h = header.clone();
    h.extend(bucket_names.iter().cloned());
    h.extend(["Total", "Failed", "Skipped"].map(String::from));
    let mut summary = table(h);
    for t in tallies {
        let mut row = names(t, several);
        let counts: Vec<(String, u64)> = bucket_names
            .iter()
            .map(|b| (b.clone(), *t.buckets.get(b).unwrap_or(&0)))
            .collect();
        row.extend(
            intervals::shares(&counts, t.rated)
                .iter()
                .map(|s| format!("{:.2}% ±{:.1}", s.percent, s.plus_minus())),
        );
        row.extend([t.rated, t.failed, t.skipped].map(|n| n.to_string()));
        summary.add_row(row);
    }
    align_numbers(&mut summary, header.len());
    out.push_str(&format!(
        "\nSummary (share of rated rows) ± half its 95% Wilson interval, in points\n{summary}\n"
    ));

    out.push_str(&reasons(tallies));
    out
}

/// One line per kind of failure (with an example) and per skip reason, each starting with a newline.
fn reasons(tallies: &[Tally]) -> String {
    let mut out = String::new();
    for t in tallies {
        for ((stage, kind), (count, example)) in &t.failure_kinds {
            out.push_str(&format!(
                "\n{}: {count} row(s) failed at {stage} {kind}, e.g.: {example}",
                t.lens
            ));
        }
        for (reason, count) in &t.skip_reasons {
            out.push_str(&format!("\n{}: {count} row(s) skipped: {reason}", t.lens));
        }
    }
    out
}

pub fn print_summary(tallies: &[Tally]) {
    println!("{}", render_summary(tallies));
}

/// What a dry run found: prompts, cache hits and the tokens a real run would send, and the rows
/// that already failed (a component's preprocess, a template) with their reasons.
pub fn render_dry_run(tallies: &[Tally], max_tokens: u32) -> String {
    if tallies.is_empty() {
        return String::new();
    }
    let (several, header) = name_columns(tallies);
    let mut h = header.clone();
    h.extend(
        [
            "Rows",
            "Failed",
            "Skipped",
            "Prompts",
            "Cached",
            "To send",
            "Input tokens",
            "Max output tokens",
        ]
        .map(String::from),
    );
    let mut t = table(h);
    for tally in tallies {
        let u = &tally.usage;
        let to_send = u.prompts - u.cache_hits;
        let mut row = names(tally, several);
        row.extend(
            [
                tally.rows(),
                tally.failed,
                tally.skipped,
                u.prompts,
                u.cache_hits,
                to_send,
                u.prompt_tokens,
                to_send * max_tokens as u64,
            ]
            .map(|n| n.to_string()),
        );
        t.add_row(row);
    }
    align_numbers(&mut t, header.len());
    format!(
        "Dry run: nothing was sent to the model.\n{t}\nInput tokens count uncached prompts only.{}",
        reasons(tallies)
    )
}

pub fn print_dry_run(tallies: &[Tally], max_tokens: u32) {
    println!("{}", render_dry_run(tallies, max_tokens));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rate::{RowOutcome, Status, Usage};
    use crate::pipeline::{Stage, StageError};

    #[test]
    fn shares_and_means_carry_their_interval() {
        let labels = ["overall".to_string()];
        let mut tally = Tally::new("data", "demo", &labels, vec!["Poor".into(), "Good".into()]);
        for (i, (bucket, score)) in [("Good", 3.0), ("Good", 3.0), ("Good", 2.0), ("Poor", 1.0)]
            .into_iter()
            .enumerate()
        {
            tally.record(&RowOutcome {
                index: i as u64,
                status: Status::Rated {
                    scores: crate::pipeline::RowScores {
                        scores: vec![score],
                    },
                    bucket: bucket.into(),
                },
                chunks: Vec::new(),
                usage: Usage::default(),
            });
        }
        let text = render_summary(&[tally]);
        // 3 of 4 Good: Wilson 95% (0.300642, 0.954413), half width 32.7 points (Python, from the
        // formula); scores 3, 3, 2, 1: mean 2.25, sd 0.957427, ±1.96·sd/2 = ±0.94.
        assert!(text.contains("75.00% ±32.7"), "{text}");
        assert!(text.contains("25.00% ±32.7"), "{text}");
        assert!(text.contains("2.25 ±0.94"), "{text}");
    }

    #[test]
    fn a_dry_run_shows_failed_rows_and_why() {
        let mut tally = Tally::new("data", "demo", &["overall".to_string()], Vec::new());
        let outcome = |status| RowOutcome {
            index: 0,
            status,
            chunks: Vec::new(),
            usage: Usage::default(),
        };
        tally.record(&outcome(Status::Planned));
        let failed = StageError::new(
            Stage::Preprocess,
            crate::failure::FailureKind::BadOutput,
            "lens `demo`'s component, preprocess stage, row 1: returned 100000 prompts for one row",
        );
        tally.record(&outcome(Status::Failed(failed.clone())));
        tally.record(&outcome(Status::Failed(failed)));
        let text = render_dry_run(&[tally], 256);
        assert!(text.contains("| Failed |"), "{text}");
        assert!(
            text.contains("demo: 2 row(s) failed at preprocess bad-output, e.g.: lens `demo`'s component, preprocess stage, row 1: returned 100000 prompts"),
            "{text}"
        );
    }
}

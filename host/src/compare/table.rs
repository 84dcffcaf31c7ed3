//! `compare` in the terminal: agreement per score label, the bucket confusion matrix and the rows
//! where the raters differ most.

use super::Comparison;
use comfy_table::{CellAlignment, Table, presets};

fn table(header: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN).set_header(header);
    for (i, column) in t.column_iter_mut().enumerate() {
        if i > 0 {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn optional(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// Cut to `n` characters on one line.
fn short(text: &str, n: usize) -> String {
    let line = text.replace('\n', " ");
    match crate::report::cut_at(&line, n) {
        Some(cut) => format!("{}…", &line[..cut]),
        None => line,
    }
}

pub fn render(c: &Comparison) -> String {
    let mut out = format!("A: {}\nB: {}\n", c.a, c.b);
    for d in &c.datasets {
        out.push_str(&format!(
            "\n{}: {} row(s) rated by both ({} by A only, {} by B only)\n",
            d.dataset, d.both, d.only_a, d.only_b
        ));
        let mut t = table(
            [
                "Label",
                "Exact",
                "Kappa (quadratic)",
                "95% bootstrap",
                "Spearman",
                "Mean |A-B|",
            ]
            .map(String::from)
            .to_vec(),
        );
        for l in &d.labels {
            t.add_row(vec![
                l.label.clone(),
                format!("{:.2}%", 100.0 * l.exact),
                optional(l.kappa, 3),
                match (l.kappa_low, l.kappa_high) {
                    (Some(lo), Some(hi)) => format!("{lo:.3}–{hi:.3}"),
                    _ => "-".into(),
                },
                optional(l.spearman, 3),
                format!("{:.3}", l.mean_absolute_difference),
            ]);
        }
        out.push_str(&format!("{t}\n"));

        let mut header = vec!["A \\ B".to_string()];
        header.extend(d.bucket_names.iter().cloned());
        let mut m = table(header);
        for (name, row) in d.bucket_names.iter().zip(&d.bucket_matrix) {
            let mut cells = vec![name.clone()];
            cells.extend(row.iter().map(u64::to_string));
            m.add_row(cells);
        }
        out.push_str(&format!(
            "\nBuckets: the same for {:.2}% of rows\n{m}\n",
            100.0 * d.bucket_agreement
        ));

        if !d.disagreements.is_empty() {
            out.push_str("\nMost disagreeing rows\n");
            let last = c.labels.last().cloned().unwrap_or_default();
            for x in d.disagreements.iter().take(5) {
                out.push_str(&format!(
                    "row {}: {last} A {} ({}) vs B {} ({})\n  text: {}\n  A: {}\n  B: {}\n",
                    x.row,
                    x.a_scores.last().copied().unwrap_or(f64::NAN),
                    x.a_bucket,
                    x.b_scores.last().copied().unwrap_or(f64::NAN),
                    x.b_bucket,
                    short(&x.text, 100),
                    short(&x.a_rationale, 160),
                    short(&x.b_rationale, 160),
                ));
            }
        }
    }
    out
}

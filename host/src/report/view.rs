//! What report.html shows, computed from a loaded DATA_DIR: per dataset × lens the numbers with
//! their intervals, the charts (as SVG text) and the example browser's rows. Plain serializable
//! values, so the template only lays them out.

use super::dir::Loaded;
use super::intervals::{self, Mean, Share};
use super::lens_data::{Example, LensData};
use super::run_info::RunInfo;
use super::svg;
use super::texts::ChunkText;
use serde::Serialize;
use std::collections::BTreeMap;

/// Characters of a row's text shown before "more".
const PREVIEW_CHARS: usize = 280;
/// Characters of a row's text kept at all (a report of a 1 MB row stays readable).
const TEXT_CHARS: usize = 20_000;

#[derive(Debug, Serialize)]
pub struct ReportView {
    pub generated: String,
    pub run: Option<RunInfo>,
    /// Whether any lens of the run asks a model (local lenses score rows themselves).
    pub uses_model: bool,
    pub sections: Vec<Section>,
}

#[derive(Debug, Serialize)]
pub struct Section {
    pub id: String,
    pub dataset: String,
    pub lens: String,
    pub rows: u64,
    pub rated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub planned: u64,
    pub cached_rows: u64,
    pub shares: Vec<Share>,
    pub share_chart: String,
    pub means: Vec<Mean>,
    pub histograms: Vec<String>,
    pub failures: Vec<Count>,
    pub skips: Vec<Count>,
    pub examples: Vec<BucketExamples>,
    pub failed_examples: Vec<ExampleView>,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub name: String,
    pub rows: u64,
    pub example: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BucketExamples {
    pub bucket: String,
    pub top: Vec<ExampleView>,
    pub bottom: Vec<ExampleView>,
}

#[derive(Debug, Serialize)]
pub struct ExampleView {
    pub row: u64,
    /// `label value` pairs, formatted.
    pub scores: Vec<(String, String)>,
    pub rationales: Vec<(String, String)>,
    /// The first characters of the row's text, and the rest (up to a cap) when there is more.
    pub preview: String,
    pub more: Option<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

/// The text of a row's chunks, fields labelled when there are several.
fn row_text(chunks: Option<&Vec<ChunkText>>) -> String {
    let Some(chunks) = chunks else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (i, fields) in chunks.iter().enumerate() {
        let mut chunk = String::new();
        if chunks.len() > 1 {
            chunk.push_str(&format!("[chunk {}]\n", i + 1));
        }
        for (name, value) in fields {
            if fields.len() > 1 {
                chunk.push_str(&format!("{name}: "));
            }
            chunk.push_str(value);
            chunk.push('\n');
        }
        parts.push(chunk);
    }
    parts.join("\n").trim_end().to_string()
}

/// Split a text into what is shown at once and the rest (capped).
fn split_text(text: &str) -> (String, Option<String>) {
    let Some(cut) = super::texts::cut_at(text, PREVIEW_CHARS) else {
        return (text.to_string(), None);
    };
    let rest = &text[cut..];
    let kept: String = rest.chars().take(TEXT_CHARS).collect();
    let dropped = rest.chars().count() - kept.chars().count();
    let more = match dropped {
        0 => kept,
        n => format!("{kept}… ({n} more characters)"),
    };
    (text[..cut].to_string(), Some(more))
}

fn example_view(
    lens: &LensData,
    e: &Example,
    texts: &BTreeMap<u64, Vec<ChunkText>>,
) -> ExampleView {
    let (preview, more) = split_text(&row_text(texts.get(&e.row)));
    let scores = lens
        .meta
        .labels
        .iter()
        .zip(&e.scores)
        .filter_map(|(l, s)| s.map(|s| (l.clone(), format!("{s:.2}"))))
        .collect();
    let rationales = lens
        .meta
        .rationale_labels
        .iter()
        .zip(&e.rationales)
        .map(|(l, texts)| (l.clone(), texts.join("\n\n")))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    ExampleView {
        row: e.row,
        scores,
        rationales,
        preview,
        more,
        error: e.error.clone(),
        error_kind: e.error_kind.clone(),
    }
}

fn section(i: usize, lens: &LensData, texts: &BTreeMap<u64, Vec<ChunkText>>) -> Section {
    let shares = intervals::shares(&lens.bucket_counts(), lens.rated);
    let distributions = lens.scores.distributions();
    let means = intervals::means(&distributions);
    let title = format!("{} × {}", lens.meta.dataset, lens.meta.lens);
    let examples = lens
        .meta
        .bucket_names
        .iter()
        .filter_map(|b| {
            let top = lens.top.get(b)?;
            let bottom = lens.bottom.get(b).map(Vec::as_slice).unwrap_or(&[]);
            Some(BucketExamples {
                bucket: b.clone(),
                top: top.iter().map(|e| example_view(lens, e, texts)).collect(),
                bottom: bottom
                    .iter()
                    .map(|e| example_view(lens, e, texts))
                    .collect(),
            })
        })
        .collect();
    Section {
        id: format!("s{i}"),
        dataset: lens.meta.dataset.clone(),
        lens: lens.meta.lens.clone(),
        rows: lens.rows(),
        rated: lens.rated,
        failed: lens.failed,
        skipped: lens.skipped,
        planned: lens.planned,
        cached_rows: lens.cached_rows,
        share_chart: svg::share_chart(&title, &shares),
        shares,
        histograms: distributions
            .iter()
            .zip(&means)
            .map(|(d, m)| svg::histogram(d, m))
            .collect(),
        means,
        failures: lens
            .failures
            .iter()
            .map(|(k, (n, example))| Count {
                name: k.clone(),
                rows: *n,
                example: Some(example.clone()),
            })
            .collect(),
        skips: lens
            .skip_reasons
            .iter()
            .map(|(r, n)| Count {
                name: r.clone(),
                rows: *n,
                example: None,
            })
            .collect(),
        examples,
        failed_examples: lens
            .failed_examples
            .iter()
            .map(|e| example_view(lens, e, texts))
            .collect(),
    }
}

/// The whole report's values.
pub fn build(loaded: &Loaded) -> ReportView {
    ReportView {
        generated: super::run_info::now(),
        run: loaded.run.clone(),
        uses_model: loaded
            .run
            .as_ref()
            // Local and model lenses score rows here, asking no model.
            .is_none_or(|r| {
                r.lenses
                    .iter()
                    .any(|l| l.kind != "local" && l.kind != "model")
            }),
        sections: loaded
            .lenses
            .iter()
            .zip(&loaded.texts)
            .enumerate()
            .map(|(i, (lens, texts))| section(i, lens, texts))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_and_capped() {
        let short = "ä".repeat(PREVIEW_CHARS);
        assert_eq!(split_text(&short), (short.clone(), None));
        let long = format!(
            "{}{}",
            "é".repeat(PREVIEW_CHARS),
            "x".repeat(TEXT_CHARS + 5)
        );
        let (preview, more) = split_text(&long);
        assert_eq!(preview.chars().count(), PREVIEW_CHARS);
        let more = more.unwrap();
        assert!(
            more.ends_with("… (5 more characters)"),
            "{}",
            &more[more.len() - 40..]
        );
        let chunks = vec![
            vec![
                ("instruction".to_string(), "Do".to_string()),
                ("output".to_string(), "Done".to_string()),
            ],
            vec![("instruction".to_string(), "Again".to_string())],
        ];
        assert_eq!(
            row_text(Some(&chunks)),
            "[chunk 1]\ninstruction: Do\noutput: Done\n\n[chunk 2]\nAgain"
        );
    }
}

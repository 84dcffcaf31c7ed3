//! The report's two charts as inline SVG: bucket shares with their interval as whiskers, and a
//! histogram per score label with its mean and interval. A few dozen lines of our own instead of a
//! plotting crate: the charts are simple, the output must hold no external reference (no fonts,
//! no `xmlns` URL: inline SVG in HTML needs none), and every text in it is escaped here.

use super::intervals::{Mean, Share};
use super::scores::LabelDistribution;
use std::fmt::Write;

/// Distinct values up to which a histogram has one bar per value; above, equal-width bins.
const MAX_BARS: usize = 20;

/// Text for SVG/HTML content or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bucket shares: one bar per bucket on a 0–100% axis, the 95% interval as a whisker.
pub fn share_chart(title: &str, shares: &[Share]) -> String {
    let (left, width, row) = (110.0, 320.0, 26.0);
    let height = 24.0 + row * shares.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart shares" viewBox="0 0 520 {height}" width="520" height="{height}" role="img" aria-label="{}">"#,
        escape(title)
    );
    for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let x = left + width * tick / 100.0;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x}" y1="4" x2="{x}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{tick}%</text>"#,
            height - 16.0,
            height - 4.0
        );
    }
    for (i, share) in shares.iter().enumerate() {
        let y = 6.0 + row * i as f64;
        let bar = width * share.percent / 100.0;
        let (lo, hi) = (
            left + width * share.low / 100.0,
            left + width * share.high / 100.0,
        );
        let mid = y + 9.0;
        let _ = write!(
            s,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text><rect class="bar" x="{left}" y="{y}" width="{bar:.2}" height="18"><title>{}: {:.2}% (95% interval {:.2}–{:.2}%)</title></rect><line class="whisker" x1="{lo:.2}" y1="{mid}" x2="{hi:.2}" y2="{mid}"/><line class="whisker" x1="{lo:.2}" y1="{}" x2="{lo:.2}" y2="{}"/><line class="whisker" x1="{hi:.2}" y1="{}" x2="{hi:.2}" y2="{}"/><text class="value" x="{}" y="{}">{:.1}%</text>"#,
            left - 6.0,
            y + 13.0,
            escape(&share.bucket),
            escape(&share.bucket),
            share.percent,
            share.low,
            share.high,
            mid - 5.0,
            mid + 5.0,
            mid - 5.0,
            mid + 5.0,
            left + width + 8.0,
            y + 13.0,
            share.percent
        );
    }
    s.push_str("</svg>");
    s
}

/// `(label, rows)` bars of a distribution: one per value, or equal-width bins when there are many.
fn bars(d: &LabelDistribution) -> Vec<(String, u64)> {
    // Whole-number scores get a bar for every value between the lowest and highest, empty or
    // not, so a 1–3 score with no 2s shows the gap.
    let whole = d.values.iter().all(|(v, _)| v.fract() == 0.0);
    if let (true, Some(first), Some(last)) = (whole, d.values.first(), d.values.last())
        && last.0 - first.0 < MAX_BARS as f64
    {
        let (first, last) = (first.0 as i64, last.0 as i64);
        return (first..=last)
            .map(|v| {
                let n = d
                    .values
                    .iter()
                    .find(|(x, _)| *x == v as f64)
                    .map_or(0, |x| x.1);
                (v.to_string(), n)
            })
            .collect();
    }
    if d.values.len() <= MAX_BARS {
        return d
            .values
            .iter()
            .map(|(v, n)| (format_value(*v), *n))
            .collect();
    }
    let (min, max) = (d.values[0].0, d.values[d.values.len() - 1].0);
    let step = (max - min) / MAX_BARS as f64;
    let mut counts = vec![0u64; MAX_BARS];
    for (v, n) in &d.values {
        let i = (((v - min) / step) as usize).min(MAX_BARS - 1);
        counts[i] += n;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (format_value(min + step * i as f64), n))
        .collect()
}

fn format_value(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A score label's histogram over rated rows, with its mean and 95% interval under it.
pub fn histogram(d: &LabelDistribution, mean: &Mean) -> String {
    let bars = bars(d);
    let (left, width, top, plot) = (40.0, 440.0, 8.0, 120.0);
    let tallest = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let slot = width / bars.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart histogram" viewBox="0 0 520 190" width="390" height="142" role="img" aria-label="{} histogram">"#,
        escape(&d.label)
    );
    let base = top + plot;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" y1="{base}" x2="{}" y2="{base}"/><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
        left + width,
        left - 4.0,
        top + 10.0,
        tallest
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let h = plot * *n as f64 / tallest;
        let x = left + slot * i as f64 + slot * 0.1;
        let _ = write!(
            s,
            r#"<rect class="bar" x="{x:.2}" y="{:.2}" width="{:.2}" height="{h:.2}"><title>{}: {n} row(s)</title></rect><text class="tick" x="{:.2}" y="{}" text-anchor="middle">{}</text>"#,
            base - h,
            slot * 0.8,
            escape(label),
            x + slot * 0.4,
            base + 14.0,
            escape(label)
        );
    }
    if let (Some(m), Some(lo), Some(hi)) = (mean.mean, mean.low, mean.high) {
        // The mean's place on the value axis: between the first and last bar's centres.
        let (first, last) = (
            d.values.first().map(|v| v.0).unwrap_or(0.0),
            d.values.last().map(|v| v.0).unwrap_or(0.0),
        );
        let span = (last - first).max(f64::EPSILON);
        let (x0, x1) = (left + slot * 0.5, left + width - slot * 0.5);
        let at = |v: f64| {
            if bars.len() <= 1 {
                left + width / 2.0
            } else {
                x0 + (x1 - x0) * ((v - first) / span).clamp(0.0, 1.0)
            }
        };
        let y = base + 30.0;
        let _ = write!(
            s,
            r#"<line class="interval" x1="{:.2}" y1="{y}" x2="{:.2}" y2="{y}"/><circle class="mean" cx="{:.2}" cy="{y}" r="4"/><text class="value" x="{:.2}" y="{}" text-anchor="middle">mean {m:.2} (95% {lo:.2}–{hi:.2})</text>"#,
            at(lo),
            at(hi),
            at(m),
            at(m),
            y + 18.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(bucket: &str, percent: f64) -> Share {
        Share {
            bucket: bucket.into(),
            rows: 1,
            percent,
            low: percent / 2.0,
            high: (percent * 1.5).min(100.0),
        }
    }

    #[test]
    fn share_bars_are_proportional_and_names_are_escaped() {
        let svg = share_chart(
            "d × l",
            &[
                share("Good", 50.0),
                share("<script>alert(1)</script>\"'&", 25.0),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 320 px for 100%: 50% is 160 px wide, 25% is 80.
        assert!(svg.contains(r#"width="160.00" height="18""#), "{svg}");
        assert!(svg.contains(r#"width="80.00" height="18""#), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        assert!(
            !svg.contains("http"),
            "no namespace URL or any other: {svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn histograms_have_a_bar_per_value_or_twenty_bins_and_show_the_mean() {
        let d = LabelDistribution {
            label: "overall".into(),
            rated: 6,
            values: vec![(1.0, 1), (2.0, 2), (3.0, 3)],
        };
        // Whole numbers with a gap: the missing value gets an empty bar.
        let gap = LabelDistribution {
            values: vec![(1.0, 1), (3.0, 3)],
            ..d.clone()
        };
        assert_eq!(
            bars(&gap),
            vec![
                ("1".to_string(), 1),
                ("2".to_string(), 0),
                ("3".to_string(), 3)
            ]
        );
        let mean = Mean {
            label: "overall".into(),
            rated: 6,
            mean: Some(2.33),
            low: Some(1.7),
            high: Some(2.9),
        };
        let svg = histogram(&d, &mean);
        assert_eq!(svg.matches("<rect").count(), 3);
        // The tallest bar (3 rows) is the full 120 px; 2 rows are 80.
        assert!(
            svg.contains(r#"height="120.00""#) && svg.contains(r#"height="80.00""#),
            "{svg}"
        );
        assert!(svg.contains("mean 2.33 (95% 1.70–2.90)"), "{svg}");

        let many = LabelDistribution {
            label: "x".into(),
            rated: 100,
            values: (0..100).map(|i| (i as f64 / 10.0, 1)).collect(),
        };
        let svg = histogram(
            &many,
            &Mean {
                mean: None,
                low: None,
                high: None,
                ..mean
            },
        );
        assert_eq!(svg.matches("<rect").count(), MAX_BARS);
        assert!(
            !svg.contains("mean "),
            "no mean without rated rows' interval"
        );
    }
}

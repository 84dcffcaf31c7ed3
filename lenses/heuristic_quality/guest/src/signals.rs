//! Measure a document the way the Gopher (Rae et al. 2021) and C4 (Raffel et al. 2020) quality filters do.
//! Only measurements here; `lib.rs` turns them into scores.

use std::collections::{HashMap, HashSet};

/// The Gopher filter's stop words: real English prose contains at least two of them.
const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// The raw signals of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub words: usize,
    pub mean_word_length: f64,
    /// `#` characters plus ellipses, per word.
    pub symbol_ratio: f64,
    /// Share of non-empty lines starting with a bullet (`-`, `*`, `•`, `‣`, `◦`, `·`).
    pub bullet_lines: f64,
    /// Share of non-empty lines ending in `...` or `…`.
    pub ellipsis_lines: f64,
    /// Share of words containing at least one letter.
    pub alpha_words: f64,
    /// How many distinct [`STOP_WORDS`] occur.
    pub stop_words: usize,
    /// Share of non-empty lines that repeat an earlier line.
    pub duplicate_lines: f64,
    /// Share of paragraphs (blank-line separated) that repeat an earlier paragraph.
    pub duplicate_paragraphs: f64,
    /// For n = 2, 3, 4: characters in all occurrences of the most frequent word n-gram / characters in all words.
    pub top_ngram: [f64; 3],
}

pub fn measure(text: &str) -> Signals {
    let words: Vec<&str> = text.split_whitespace().collect();
    let word_chars: usize = words.iter().map(|w| w.chars().count()).sum();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let paragraphs: Vec<&str> = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect();

    let symbols = text.matches('#').count() + text.matches("...").count() + text.matches('…').count();
    let bullets = lines.iter().filter(|l| l.starts_with(['-', '*', '•', '‣', '◦', '·'])).count();
    let ellipses = lines.iter().filter(|l| l.ends_with("...") || l.ends_with('…')).count();
    let alpha = words.iter().filter(|w| w.chars().any(char::is_alphabetic)).count();
    let stop_words = {
        let lower: HashSet<String> = words.iter().filter(|w| w.len() <= 4).map(|w| w.to_lowercase()).collect();
        STOP_WORDS.iter().filter(|s| lower.contains(**s)).count()
    };

    Signals {
        words: words.len(),
        mean_word_length: ratio(word_chars, words.len()),
        symbol_ratio: ratio(symbols, words.len()),
        bullet_lines: ratio(bullets, lines.len()),
        ellipsis_lines: ratio(ellipses, lines.len()),
        alpha_words: ratio(alpha, words.len()),
        stop_words,
        duplicate_lines: duplicate_share(&lines),
        duplicate_paragraphs: duplicate_share(&paragraphs),
        top_ngram: [2, 3, 4].map(|n| top_ngram_share(&words, n, word_chars)),
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// Share of items equal to an earlier item.
fn duplicate_share(items: &[&str]) -> f64 {
    let mut seen = HashSet::with_capacity(items.len());
    let repeats = items.iter().filter(|item| !seen.insert(**item)).count();
    ratio(repeats, items.len())
}

/// Characters covered by every occurrence of the most frequent word n-gram, over all word characters.
fn top_ngram_share(words: &[&str], n: usize, word_chars: usize) -> f64 {
    if words.len() < n {
        return 0.0;
    }
    let mut counts: HashMap<&[&str], usize> = HashMap::new();
    for gram in words.windows(n) {
        *counts.entry(gram).or_default() += 1;
    }
    let Some((gram, count)) = counts.into_iter().max_by_key(|(gram, count)| (*count, *gram)) else {
        return 0.0;
    };
    if count < 2 {
        return 0.0;
    }
    let gram_chars: usize = gram.iter().map(|w| w.chars().count()).sum();
    ratio(gram_chars * count, word_chars).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_has_stop_words_and_no_duplicates() {
        let s = measure("The cat sat on the mat.\n\nIt was happy to be there with the dog.");
        assert_eq!(s.words, 15);
        assert!(s.stop_words >= 4);
        assert_eq!(s.duplicate_lines, 0.0);
        assert_eq!(s.alpha_words, 1.0);
    }

    #[test]
    fn repeated_lines_and_ngrams_are_counted() {
        let s = measure("buy now\nbuy now\nbuy now\nbuy now");
        assert_eq!(s.duplicate_lines, 0.75);
        assert!(s.top_ngram[0] > 0.5);
    }

    #[test]
    fn bullets_ellipses_and_symbols() {
        let s = measure("- one...\n- two #tag\nthree");
        assert!((s.bullet_lines - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.ellipsis_lines - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.symbol_ratio, 2.0 / 6.0);
    }

    #[test]
    fn empty_text_measures_zero() {
        let s = measure("");
        assert_eq!((s.words, s.mean_word_length, s.top_ngram), (0, 0.0, [0.0; 3]));
    }
}

//! The first, plain implementation of [`crate::signals::measure`], kept for the tests only: the fast
//! one must give exactly the same numbers on every document (`signals::tests::same_as_reference`).

use crate::signals::{STOP_WORDS, Signals};
use std::collections::{HashMap, HashSet};

pub fn measure(text: &str) -> Signals {
    let words: Vec<&str> = text.split_whitespace().collect();
    let word_chars: usize = words.iter().map(|w| w.chars().count()).sum();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();

    let symbols =
        text.matches('#').count() + text.matches("...").count() + text.matches('…').count();
    let bullets = lines
        .iter()
        .filter(|l| l.starts_with(['-', '*', '•', '‣', '◦', '·']))
        .count();
    let ellipses = lines
        .iter()
        .filter(|l| l.ends_with("...") || l.ends_with('…'))
        .count();
    let alpha = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    let stop_words = {
        let lower: HashSet<String> = words
            .iter()
            .filter(|w| w.len() <= 4)
            .map(|w| w.to_lowercase())
            .collect();
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
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
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
    let Some((gram, count)) = counts
        .into_iter()
        .max_by_key(|(gram, count)| (*count, *gram))
    else {
        return 0.0;
    };
    if count < 2 {
        return 0.0;
    }
    let gram_chars: usize = gram.iter().map(|w| w.chars().count()).sum();
    ratio(gram_chars * count, word_chars).min(1.0)
}

//! Measure a document the way the Gopher (Rae et al. 2021) and C4 (Raffel et al. 2020) quality filters do.
//! Only measurements here; `lib.rs` turns them into scores.

use rustc_hash::{FxHashMap, FxHashSet};

/// The Gopher filter's stop words: real English prose contains at least two of them.
pub(crate) const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

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

    // Each distinct word once: its id, its length in characters and the per-word signals, so
    // that repeated words (most of any text) cost one hash lookup and n-grams are integer keys.
    let mut ids: FxHashMap<&str, u32> =
        FxHashMap::with_capacity_and_hasher(words.len(), Default::default());
    let mut distinct: Vec<Word> = Vec::new();
    let mut word_ids: Vec<u32> = Vec::with_capacity(words.len());
    for &w in &words {
        let id = *ids.entry(w).or_insert_with(|| {
            distinct.push(Word::new(w));
            (distinct.len() - 1) as u32
        });
        word_ids.push(id);
    }
    let mut word_chars = 0;
    let mut alpha = 0;
    let mut stop_seen = [false; STOP_WORDS.len()];
    for &id in &word_ids {
        let w = &distinct[id as usize];
        word_chars += w.chars;
        alpha += usize::from(w.alphabetic);
    }
    for w in &distinct {
        if let Some(i) = w.stop_word {
            stop_seen[i] = true;
        }
    }

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
    let ngrams = Ngrams {
        words: &words,
        ids: &word_ids,
        distinct: &distinct,
    };

    Signals {
        words: words.len(),
        mean_word_length: ratio(word_chars, words.len()),
        symbol_ratio: ratio(symbols, words.len()),
        bullet_lines: ratio(bullets, lines.len()),
        ellipsis_lines: ratio(ellipses, lines.len()),
        alpha_words: ratio(alpha, words.len()),
        stop_words: stop_seen.iter().filter(|seen| **seen).count(),
        duplicate_lines: duplicate_share(&lines),
        duplicate_paragraphs: duplicate_share(&paragraphs),
        top_ngram: ngrams.top_shares(word_chars),
    }
}

/// What is measured of one distinct word.
struct Word {
    chars: usize,
    /// It contains a letter.
    alphabetic: bool,
    /// The [`STOP_WORDS`] entry it is, in any letter case.
    stop_word: Option<usize>,
}

impl Word {
    fn new(w: &str) -> Word {
        Word {
            chars: w.chars().count(),
            alphabetic: w.chars().any(char::is_alphabetic),
            stop_word: stop_word(w),
        }
    }
}

/// The stop word `w` is once lower-cased. Only words of at most 4 bytes are looked at; an ASCII
/// word is compared without allocating, any other one is lower-cased first, as before.
fn stop_word(w: &str) -> Option<usize> {
    if w.len() > 4 {
        return None;
    }
    if w.is_ascii() {
        STOP_WORDS.iter().position(|s| s.eq_ignore_ascii_case(w))
    } else {
        let lower = w.to_lowercase();
        STOP_WORDS.iter().position(|s| *s == lower)
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
    let mut seen = FxHashSet::with_capacity_and_hasher(items.len(), Default::default());
    let repeats = items.iter().filter(|item| !seen.insert(**item)).count();
    ratio(repeats, items.len())
}

/// The words of a document as ids of distinct words, for counting n-grams.
struct Ngrams<'a> {
    words: &'a [&'a str],
    ids: &'a [u32],
    distinct: &'a [Word],
}

/// The most frequent n-gram: its count and where it first occurs.
#[derive(Clone, Copy)]
struct Top {
    count: u32,
    at: usize,
}

impl Ngrams<'_> {
    /// For n = 2, 3, 4: characters covered by every occurrence of the most frequent word n-gram,
    /// over all word characters (0 when no n-gram occurs twice).
    ///
    /// An n-gram can only occur twice where its first n − 1 words do, so the 3- and 4-grams are
    /// counted only at positions whose shorter n-gram repeats (in prose, few of them).
    fn top_shares(&self, word_chars: usize) -> [f64; 3] {
        let len = self.ids.len();
        let mut shares = [0.0; 3];
        let mut repeats: Vec<usize> = (0..len.saturating_sub(1)).collect();
        for (k, n) in [2usize, 3, 4].into_iter().enumerate() {
            if len < n {
                break;
            }
            // Positions of n-grams that fit in the text, among those whose (n − 1)-gram repeats.
            repeats.retain(|&i| i + n <= len);
            let (top, next) = self.count(n, &repeats);
            match top {
                Some(top) if top.count >= 2 => {
                    let gram_chars: usize = self.ids[top.at..top.at + n]
                        .iter()
                        .map(|&id| self.distinct[id as usize].chars)
                        .sum();
                    shares[k] = ratio(gram_chars * top.count as usize, word_chars).min(1.0);
                }
                // No n-gram repeats, so no longer one does either.
                _ => break,
            }
            repeats = next;
        }
        shares
    }

    /// Counts the n-grams starting at `positions`; returns the most frequent one (ties go to the
    /// greatest n-gram, comparing words as strings) and the positions whose n-gram occurs twice or more.
    fn count(&self, n: usize, positions: &[usize]) -> (Option<Top>, Vec<usize>) {
        let mut counts: FxHashMap<u128, u32> =
            FxHashMap::with_capacity_and_hasher(positions.len(), Default::default());
        let key = |i: usize| {
            self.ids[i..i + n]
                .iter()
                .fold(0u128, |k, &id| (k << 32) | u128::from(id))
        };
        for &i in positions {
            *counts.entry(key(i)).or_default() += 1;
        }
        let mut top: Option<Top> = None;
        let mut repeated = Vec::new();
        for &i in positions {
            let count = counts[&key(i)];
            if count < 2 {
                continue;
            }
            repeated.push(i);
            let better = match top {
                None => true,
                Some(t) => {
                    count > t.count
                        || (count == t.count && self.words[i..i + n] > self.words[t.at..t.at + n])
                }
            };
            if better {
                top = Some(Top { count, at: i });
            }
        }
        (top, repeated)
    }
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
        assert_eq!(
            (s.words, s.mean_word_length, s.top_ngram),
            (0, 0.0, [0.0; 3])
        );
    }
    /// A small deterministic generator (xorshift), so the documents vary but never change.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Documents built from a small vocabulary (so n-grams repeat, with ties), mixed case, stop
    /// words, non-ASCII letters (the Kelvin sign lower-cases to ASCII `k`), bullets, ellipses,
    /// hashtags, blank lines and repeated lines.
    fn document(rng: &mut Rng) -> String {
        const PIECES: [&str; 32] = [
            "the",
            "THE",
            "The",
            "be",
            "to",
            "of",
            "and",
            "That",
            "have",
            "with",
            "buy",
            "now",
            "cat",
            "sat",
            "mat",
            "\u{212A}at",
            "caf\u{e9}",
            "日本語",
            "😀",
            "#tag",
            "...",
            "…",
            "a...",
            "x…",
            "- item",
            "* star",
            "• dot",
            "\n",
            "\n\n",
            "  ",
            "\t",
            "42",
        ];
        let mut text = String::new();
        let length = rng.below(300);
        for _ in 0..length {
            let vocabulary = if rng.below(4) == 0 { PIECES.len() } else { 12 };
            text.push_str(PIECES[rng.below(vocabulary)]);
            text.push([' ', ' ', ' ', '\n'][rng.below(4)]);
        }
        if rng.below(3) == 0 {
            let line = text.lines().next().unwrap_or("").to_string();
            text = format!("{line}\n{text}\n{line}");
        }
        text
    }

    #[test]
    fn same_as_reference() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let fixed = [
            String::new(),
            " ".into(),
            "word".into(),
            "a b".into(),
            "a b a b".into(),
            "b a b a".into(),
            "x y z x y z x y w".into(),
            "buy now\nbuy now\nbuy now\nbuy now".into(),
            "\u{212A}\u{212A} the \u{130} of".into(),
            "- one...\n- two #tag\nthree".into(),
            "BUY NOW #deal #cheap\n".repeat(30),
        ];
        let random = (0..3000).map(|_| document(&mut rng));
        for text in fixed.into_iter().chain(random) {
            assert_eq!(measure(&text), crate::reference::measure(&text), "{text:?}");
        }
    }

    #[test]
    fn ngram_ties_go_to_the_greatest_ngram() {
        // "a b", "b cc" and "cc dd" each occur twice; "cc dd" is the greatest, so its 4 characters count.
        let s = measure("a b cc dd a b cc dd");
        assert_eq!(s.top_ngram[0], (4.0 * 2.0) / 12.0);
        assert_eq!(
            s.top_ngram,
            crate::reference::measure("a b cc dd a b cc dd").top_ngram
        );
    }
}

//! A hand-written pre-tokenizer for `cl100k_base` and `o200k_base`: cuts text into exactly the
//! pieces `bpe_openai::Tokenizer::split` gives, deciding ASCII pieces from their bytes and asking
//! the same regex for any piece that could involve a non-ASCII character.
//!
//! `bpe-openai` cuts one piece at a time with a search anchored where the last piece ended, so each
//! piece depends only on where it starts. That makes a per-piece fallback exact by construction:
//! wherever the byte rules below cannot be sure (a byte >= 0x80 among the bytes that decide the
//! piece), the regex decides that one piece. The regex is the same one `bpe-openai` builds, with a
//! search cache owned by the caller (per thread) instead of the regex's shared pool, which cost a
//! pool round-trip per piece.
//!
//! The regexes (leftmost-first alternations, tried in order; `\s+\s` is `\s+(?!\S)` with its last
//! character given back, and `$` is the end of the text):
//! - cl100k: `(?i:'s|'t|'re|'ve|'m|'ll|'d)`, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`,
//!   ` ?[^\s\p{L}\p{N}]+[\r\n]*`, `\s*[\r\n]+`, `\s+$`, `\s+\s`, `\s+`;
//! - o200k: `[^\r\n\p{L}\p{N}]?[Lu Lt Lm Lo M]*[Ll Lm Lo M]+(?i:'s|…)?`,
//!   `[^\r\n\p{L}\p{N}]?[Lu Lt Lm Lo M]+[Ll Lm Lo M]*(?i:'s|…)?`, `\p{N}{1,3}`,
//!   ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, then the same whitespace rules.
//!
//! In ASCII every byte is exactly one of: whitespace (`\t \n \x0B \x0C \r` and space), a letter
//! (`A-Z` is `Lu`, `a-z` is `Ll`), a digit, or "other" (punctuation, symbols, control bytes).

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};
use std::sync::LazyLock;

/// Which pre-tokenizing regex a tokenizer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Cl100k,
    O200k,
}

impl Pattern {
    /// A small index (for per-thread state kept per pattern).
    pub fn index(self) -> usize {
        match self {
            Pattern::Cl100k => 0,
            Pattern::O200k => 1,
        }
    }

    /// The regex `bpe-openai` splits with, built the same way (its own is private): the first
    /// pattern is the main alternation, the second the look-ahead emulation whose last character
    /// is given back, the third a lone whitespace run.
    pub fn regex(self) -> &'static Regex {
        static CL100K: LazyLock<Regex> = LazyLock::new(|| {
            let main = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$";
            Regex::new_many(&[main, "\\s+\\s", "\\s+"]).expect("valid cl100k regex")
        });
        static O200K: LazyLock<Regex> = LazyLock::new(|| {
            let main = [
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
                "\\p{N}{1,3}",
                " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
                "\\s*[\\r\\n]+",
                "\\s+$",
            ]
            .join("|");
            Regex::new_many(&[main.as_str(), "\\s+\\s", "\\s+"]).expect("valid o200k regex")
        });
        match self {
            Pattern::Cl100k => &CL100K,
            Pattern::O200k => &O200K,
        }
    }
}

/// The pieces of `text`, in order, exactly as `bpe_openai::Tokenizer::split` gives them for the
/// tokenizer of `pattern`. `cache` must come from `pattern.regex().create_cache()`.
pub fn split<'t>(
    pattern: Pattern,
    text: &'t str,
    cache: &mut Cache,
) -> impl Iterator<Item = &'t str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let bytes = text.as_bytes();
        let end = match pattern {
            Pattern::Cl100k => cl100k_piece(bytes, at),
            Pattern::O200k => o200k_piece(bytes, at),
        };
        let end = match end {
            Some(end) => end,
            None => regex_piece(pattern, text, at, cache)?,
        };
        let piece = &text[at..end];
        at = end;
        Some(piece)
    })
}

/// The end of the piece starting at `at`, by the regex: one search anchored at `at`, exactly as
/// `bpe-openai`'s `Splits` does it. `None` if nothing matches (it cannot: every character is a
/// letter, a number, whitespace or "other", and each has a rule), which ends the split as there.
fn regex_piece(pattern: Pattern, text: &str, at: usize, cache: &mut Cache) -> Option<usize> {
    let rest = &text[at..];
    let found = pattern
        .regex()
        .search_with(cache, &Input::new(rest).anchored(Anchored::Yes))?;
    let mut end = found.end();
    if found.pattern().as_usize() == 1 {
        // `\s+\s` stands for `\s+(?!\S)`: the last character was only looked at.
        end -= rest[..end].chars().next_back().map_or(0, char::len_utf8);
    }
    (end > 0).then_some(at + end)
}

/// The class of an ASCII byte; `HIGH` for any byte of a non-ASCII character.
const OTHER: u8 = 0;
const SPACE: u8 = 1;
/// `\t`, `\x0B`, `\x0C`: whitespace that is neither a space nor a line break.
const BLANK: u8 = 2;
/// `\r`, `\n`.
const NEWLINE: u8 = 3;
const UPPER: u8 = 4;
const LOWER: u8 = 5;
const DIGIT: u8 = 6;
const HIGH: u8 = 7;

static CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = match b as u8 {
            b' ' => SPACE,
            b'\t' | 0x0B | 0x0C => BLANK,
            b'\r' | b'\n' => NEWLINE,
            b'A'..=b'Z' => UPPER,
            b'a'..=b'z' => LOWER,
            b'0'..=b'9' => DIGIT,
            0x80..=0xFF => HIGH,
            _ => OTHER,
        };
        b += 1;
    }
    class
};

/// The class of the byte at `at`, or `None` past the end.
#[inline]
fn class_at(bytes: &[u8], at: usize) -> Option<u8> {
    bytes.get(at).map(|&b| CLASS[b as usize])
}

#[inline]
fn is_letter(class: u8) -> bool {
    class == UPPER || class == LOWER
}

#[inline]
fn is_whitespace(class: u8) -> bool {
    matches!(class, SPACE | BLANK | NEWLINE)
}

/// Where the run of bytes of the classes `keep` accepts, from `at`, ends; `None` if it ends at a
/// non-ASCII character (which might continue it).
#[inline]
fn run_end(bytes: &[u8], mut at: usize, keep: impl Fn(u8) -> bool) -> Option<usize> {
    while let Some(class) = class_at(bytes, at) {
        if !keep(class) {
            return (class != HIGH).then_some(at);
        }
        at += 1;
    }
    Some(at)
}

/// The length of a contraction (`'s 't 're 've 'm 'll 'd`, any case) at `at` (an apostrophe):
/// `Some(0)` if there is none, `None` if a non-ASCII character decides it (`'ſ` is `'s` to `(?i)`).
#[inline]
fn contraction(bytes: &[u8], at: usize) -> Option<usize> {
    let lower = |at: usize| bytes.get(at).map(|b| b.to_ascii_lowercase());
    match lower(at + 1) {
        Some(b's' | b't' | b'm' | b'd') => Some(2),
        Some(first @ (b'r' | b'v' | b'l')) => {
            let second = if first == b'l' { b'l' } else { b'e' };
            match lower(at + 2) {
                Some(b) if b == second => Some(3),
                Some(0x80..=0xFF) => None,
                _ => Some(0),
            }
        }
        Some(0x80..=0xFF) => None,
        _ => Some(0),
    }
}

/// `\p{N}{1,3}` from a digit at `at`.
#[inline]
fn digits_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut end = at + 1;
    while end < at + 3 {
        match class_at(bytes, end) {
            Some(DIGIT) => end += 1,
            Some(HIGH) => return None, // a non-ASCII number would continue it
            _ => break,
        }
    }
    Some(end)
}

/// ` ?[^\s\p{L}\p{N}]+` followed by `[\r\n]*` (`[\r\n/]*` for o200k, `slash`: a `/` is "other",
/// so only one after a line break is left for it). `Some(None)` if the rule surely does not apply,
/// `None` if a non-ASCII character decides it.
#[inline]
fn punctuation_end(bytes: &[u8], at: usize, slash: bool) -> Option<Option<usize>> {
    let start = if bytes[at] == b' ' { at + 1 } else { at };
    match class_at(bytes, start) {
        Some(OTHER) => {}
        Some(HIGH) => return None,
        _ => return Some(None),
    }
    let end = run_end(bytes, start, |c| c == OTHER)?;
    // `[\r\n]*` only takes ASCII, so a non-ASCII character after it decides nothing.
    let end = end
        + bytes[end..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n' || (slash && b == b'/'))
            .count();
    Some(Some(end))
}

/// The whitespace rules, from whitespace at `at`, once the letter and punctuation rules have not
/// applied: `\s*[\r\n]+` (up to the run's last line break), `\s+$`, `\s+(?!\S)`, `\s+`.
#[inline]
fn whitespace_end(bytes: &[u8], at: usize) -> Option<usize> {
    let end = run_end(bytes, at, is_whitespace)?; // a non-ASCII space would continue the run
    if let Some(last) = bytes[at..end]
        .iter()
        .rposition(|&b| b == b'\r' || b == b'\n')
    {
        return Some(at + last + 1);
    }
    if end == bytes.len() || end - at == 1 {
        return Some(end);
    }
    Some(end - 1)
}

/// The end of the cl100k piece starting at `at`, or `None` for the regex to decide.
fn cl100k_piece(bytes: &[u8], at: usize) -> Option<usize> {
    let class = CLASS[bytes[at] as usize];
    if class == HIGH {
        return None;
    }
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if bytes[at] == b'\'' {
        let len = contraction(bytes, at)?;
        if len > 0 {
            return Some(at + len);
        }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if is_letter(class) {
        return run_end(bytes, at, is_letter);
    }
    if matches!(class, OTHER | SPACE | BLANK) {
        match class_at(bytes, at + 1) {
            Some(HIGH) => return None,
            Some(UPPER | LOWER) => return run_end(bytes, at + 1, is_letter),
            _ => {}
        }
    }
    // \p{N}{1,3}
    if class == DIGIT {
        return digits_end(bytes, at);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    if let Some(end) = punctuation_end(bytes, at, false)? {
        return Some(end);
    }
    whitespace_end(bytes, at)
}

/// The end of the o200k piece starting at `at`, or `None` for the regex to decide.
fn o200k_piece(bytes: &[u8], at: usize) -> Option<usize> {
    let class = CLASS[bytes[at] as usize];
    if class == HIGH {
        return None;
    }
    // [^\r\n\p{L}\p{N}]?  then  [Lu…]*[Ll…]+  or  [Lu…]+[Ll…]*,  then an optional contraction
    let letters = if is_letter(class) {
        Some(at)
    } else if matches!(class, OTHER | SPACE | BLANK) {
        match class_at(bytes, at + 1) {
            Some(HIGH) => return None,
            Some(UPPER | LOWER) => Some(at + 1),
            _ => None,
        }
    } else {
        None
    };
    if let Some(start) = letters {
        // In ASCII the two classes are disjoint, so both alternatives end where the lowercase run
        // after the uppercase run ends (the first needs a lowercase letter, the second an
        // uppercase one, and the run has at least one letter).
        let upper_end = run_end(bytes, start, |c| c == UPPER)?;
        let end = run_end(bytes, upper_end, |c| c == LOWER)?;
        if bytes.get(end) == Some(&b'\'') {
            return Some(end + contraction(bytes, end)?);
        }
        return Some(end);
    }
    // \p{N}{1,3}
    if class == DIGIT {
        return digits_end(bytes, at);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    if let Some(end) = punctuation_end(bytes, at, true)? {
        return Some(end);
    }
    whitespace_end(bytes, at)
}

#[cfg(test)]
mod tests;

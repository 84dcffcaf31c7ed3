//! `count-tokens` and `truncate-tokens` for components, inside the call's time limit: the text is
//! tokenized in pieces, with the budget checked between them, so that 50 MB handed to the host
//! stops at the limit (and holds one piece's tokens in memory, not fifty megabytes' worth).

use super::budget::{Budget, OutOfTime};
use crate::pipeline::chunk::{count_tokens, truncate_to_tokens};
use tiktoken_rs::CoreBPE;

/// Bytes tokenized between two looks at the clock (a few milliseconds of work).
const PIECE: usize = 64 * 1024;
/// How far past a piece's nominal end to look for a cut no token can straddle.
const WINDOW: usize = 16 * 1024;

/// Where the piece starting at `start` ends: after a line break that a letter or digit follows
/// (no token of cl100k or o200k spans that), else at a character boundary (the count may then
/// differ by a token at that seam, as the chunker's own seams may).
fn piece_end(text: &str, start: usize) -> usize {
    let nominal = start + PIECE;
    if nominal >= text.len() {
        return text.len();
    }
    let bytes = text.as_bytes();
    let window_end = (nominal + WINDOW).min(text.len() - 1);
    (nominal..window_end)
        .find(|&i| bytes[i] == b'\n' && bytes[i + 1].is_ascii_alphanumeric())
        .map(|i| i + 1)
        .unwrap_or_else(|| text.floor_char_boundary(nominal).max(start + 1))
}

/// `(offset, piece)` for every piece of `text`, in order.
fn pieces(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = text.ceil_char_boundary(piece_end(text, start));
        let piece = (start, &text[start..end]);
        start = end;
        Some(piece)
    })
}

fn check(budget: &mut Budget) -> Result<(), OutOfTime> {
    budget.check().map_err(|_| OutOfTime)
}

/// Tokens in `text`, or [`OutOfTime`] once the call's budget is spent.
pub fn count(bpe: &CoreBPE, text: &str, budget: &mut Budget) -> Result<usize, OutOfTime> {
    check(budget)?;
    let mut total = 0;
    for (_, piece) in pieces(text) {
        total += count_tokens(bpe, piece);
        check(budget)?;
    }
    Ok(total)
}

/// The longest prefix of `text` of at most `max` tokens, or [`OutOfTime`].
pub fn truncate<'a>(
    bpe: &CoreBPE,
    text: &'a str,
    max: usize,
    budget: &mut Budget,
) -> Result<&'a str, OutOfTime> {
    check(budget)?;
    let mut before = 0;
    for (offset, piece) in pieces(text) {
        let n = count_tokens(bpe, piece);
        check(budget)?;
        if before + n > max {
            let kept = truncate_to_tokens(bpe, piece, max - before);
            return Ok(&text[..offset + kept.len()]);
        }
        before += n;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn bpe() -> &'static CoreBPE {
        tiktoken_rs::o200k_base_singleton()
    }

    fn budget() -> Budget {
        Budget::start(Duration::from_secs(600))
    }

    #[test]
    fn pieces_cover_the_text_and_agree_with_one_pass() {
        let text = "Line one of the text.\nSecond line, ünïcödé 漢字.\n".repeat(8_000);
        let covered: String = pieces(&text).map(|(_, p)| p).collect();
        assert_eq!(covered, text);
        assert!(pieces(&text).count() > 4);
        assert_eq!(
            count(bpe(), &text, &mut budget()).unwrap(),
            count_tokens(bpe(), &text)
        );
        let cut = truncate(bpe(), &text, 70_000, &mut budget()).unwrap();
        assert_eq!(cut, truncate_to_tokens(bpe(), &text, 70_000));
        assert_eq!(
            truncate(bpe(), "short", 10, &mut budget()).unwrap(),
            "short"
        );
        assert_eq!(truncate(bpe(), "a b c", 0, &mut budget()).unwrap(), "");
    }

    #[test]
    fn a_huge_text_stops_at_the_budget() {
        let text = "word ".repeat(4_000_000);
        let mut budget = Budget::start(Duration::from_millis(20));
        assert!(count(bpe(), &text, &mut budget).is_err());
        assert!(budget.overrun.is_some());
        // CPU time, not wall clock, so a busy machine cannot fail it: counting all 20 MB takes
        // seconds; stopping at the budget leaves at most one 64 KiB piece past it.
        assert!(
            budget.used() < Duration::from_millis(500),
            "{:?}",
            budget.used()
        );
    }
}

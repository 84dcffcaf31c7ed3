//! Pretrain chunking: split a document into token windows the model rates, cutting at newlines.
//!
//! A document of at most `chunks_per_doc × tokens_per_chunk` tokens is cut into consecutive chunks
//! that together cover all of it, so every token is rated exactly once. A longer document is
//! sampled: `chunks_per_doc` windows of `tokens_per_chunk` tokens spread evenly from its first
//! token to its last. Every cut inside the document moves to the nearest line start within
//! `max_search_distance` tokens, so the model sees whole lines.
//!
//! Chunks are slices of the original text, located through the byte lengths of the tokens. Tokens
//! are never decoded back to text, because a token boundary can fall inside a multi-byte character
//! and decoding would turn its halves into U+FFFD.

use std::ops::Range;

use super::tokenize::{Encoding, encode, token_offsets};
// The tokenizer lived here; these names stay reachable as `chunk::…` for existing callers.
pub use super::tokenize::{
    Tokenizer, count_tokens, encoding_name_for_model, lazy_tokenizer_for_model,
    tokenizer_for_model, truncate_to_tokens,
};
// The tests below use them from here.
#[cfg(test)]
use {
    super::tokenize::{MAX_RUN_BYTES, seams},
    tiktoken_rs::CoreBPE,
};

/// How documents are cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSettings {
    /// Tokens per chunk (`TOKENS_PER_CHUNK`).
    pub tokens_per_chunk: usize,
    /// Chunks rated per document at most (`CHUNKS_PER_DOC`).
    pub chunks_per_doc: usize,
    /// How far, in tokens, a cut may move to reach a newline (`MAX_SEARCH_DISTANCE`).
    pub max_search_distance: usize,
    /// Chunks with fewer characters than this, once trimmed, are not rated.
    pub min_chunk_chars: usize,
}

impl Default for ChunkSettings {
    fn default() -> Self {
        ChunkSettings {
            tokens_per_chunk: 1500,
            chunks_per_doc: 2,
            max_search_distance: 100,
            min_chunk_chars: 375,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chunking
// ---------------------------------------------------------------------------------------------

/// The chunks of `text` to rate, in document order (see the module docs for the rules).
pub fn chunk<E: Encoding + ?Sized>(bpe: &E, text: &str, s: &ChunkSettings) -> Vec<String> {
    chunk_ranges(bpe, text, s)
        .into_iter()
        .map(|range| text[range].to_string())
        .collect()
}

/// Byte ranges in `text` of the chunks [`chunk`] returns; each starts and ends on a char boundary.
pub fn chunk_ranges<E: Encoding + ?Sized>(
    bpe: &E,
    text: &str,
    s: &ChunkSettings,
) -> Vec<Range<usize>> {
    if text.trim().is_empty() || s.chunks_per_doc == 0 {
        return Vec::new();
    }
    let doc = Tokenized::new(bpe, text);
    let per_chunk = s.tokens_per_chunk.max(1);
    // With tiny chunks, a long search would pull several cuts onto the same newline; half a chunk
    // keeps every chunk near its size.
    let distance = s.max_search_distance.min(per_chunk / 2);
    let ranges = if doc.tokens() <= s.chunks_per_doc.saturating_mul(per_chunk) {
        doc.consecutive_chunks(per_chunk, distance)
    } else {
        doc.spread_windows(per_chunk, s.chunks_per_doc, distance)
    };
    // Cuts keep their order (see `cut_near`), so chunks are in order and never overlap.
    debug_assert!(
        ranges.iter().all(|r| r.start <= r.end)
            && ranges.windows(2).all(|w| w[0].end <= w[1].start)
    );
    ranges
        .into_iter()
        .filter(|range| worth_rating(&text[range.clone()], s.min_chunk_chars))
        .collect()
}

fn worth_rating(chunk: &str, min_chars: usize) -> bool {
    let trimmed = chunk.trim();
    !trimmed.is_empty() && trimmed.chars().count() >= min_chars
}

/// A text with the byte offsets of its token boundaries.
struct Tokenized<'a> {
    text: &'a str,
    /// `offsets[i]` is the byte where token `i` starts; the last entry is `text.len()`.
    offsets: Vec<usize>,
}

impl<'a> Tokenized<'a> {
    fn new<E: Encoding + ?Sized>(bpe: &E, text: &'a str) -> Self {
        let offsets = token_offsets(bpe, &encode(bpe, text));
        debug_assert_eq!(
            offsets.last(),
            Some(&text.len()),
            "tokens must cover the text exactly"
        );
        Tokenized { text, offsets }
    }

    fn tokens(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Chunks of `per_chunk` tokens back to back, sharing their cut points: no gap, no overlap.
    fn consecutive_chunks(&self, per_chunk: usize, distance: usize) -> Vec<Range<usize>> {
        let count = self.tokens().div_ceil(per_chunk);
        let cuts = (1..count).map(|i| self.cut_near(i * per_chunk, distance));
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(cuts)
            .chain([self.text.len()])
            .collect();
        bounds.windows(2).map(|pair| pair[0]..pair[1]).collect()
    }

    /// `count` windows of `per_chunk` tokens, the first starting at the first token and the last
    /// ending at the last, the others evenly in between. Needs more than `count × per_chunk` tokens.
    fn spread_windows(&self, per_chunk: usize, count: usize, distance: usize) -> Vec<Range<usize>> {
        let total = self.tokens();
        (0..count)
            .map(|i| {
                let start = window_start(i, count, total, per_chunk);
                let end = start + per_chunk;
                let start = if start == 0 {
                    0
                } else {
                    self.cut_near(start, distance)
                };
                let end = if end == total {
                    self.text.len()
                } else {
                    self.cut_near(end, distance)
                };
                start..end
            })
            .collect()
    }

    /// Byte offset of the cut for token boundary `at`: just after the nearest newline within
    /// `distance` tokens, or else the boundary itself (moved off the middle of a character).
    ///
    /// Never decreasing in `at` (a nearest-point rule with one tie-break keeps order, and the
    /// fallback only moves forward to the end of a split character or "\r\n"), so cuts in token
    /// order are in byte order and chunks never overlap; `cuts_never_move_backwards` checks it.
    fn cut_near(&self, at: usize, distance: usize) -> usize {
        self.newline_cut_near(at, distance)
            .unwrap_or_else(|| self.boundary_cut(at))
    }

    fn newline_cut_near(&self, at: usize, distance: usize) -> Option<usize> {
        for step in 0..=distance {
            // Looking behind first makes the earlier of two equally near newlines win.
            let behind = at
                .checked_sub(step)
                .and_then(|boundary| self.newline_cut_at(boundary));
            let ahead = || (step > 0).then(|| self.newline_cut_at(at + step)).flatten();
            if let Some(cut) = behind.or_else(ahead) {
                return Some(cut);
            }
            if step >= at && at + step >= self.tokens() {
                break; // both directions have left the document
            }
        }
        None
    }

    /// The cut after the token ending at boundary `boundary`, if that token holds a newline: placed
    /// just after its last newline, so the next chunk starts a line (after any blank lines inside
    /// the token) and the newline stays with the previous chunk. Only cuts strictly inside the
    /// text count. '\n' is never part of a multi-byte character, so the cut is a char boundary, and
    /// "\r\n" is never split.
    fn newline_cut_at(&self, boundary: usize) -> Option<usize> {
        if boundary == 0 || boundary > self.tokens() {
            return None;
        }
        let token_start = self.offsets[boundary - 1];
        let token = &self.text.as_bytes()[token_start..self.offsets[boundary]];
        let newline = token.iter().rposition(|&byte| byte == b'\n')?;
        let cut = token_start + newline + 1;
        (cut < self.text.len()).then_some(cut)
    }

    /// The byte offset of token boundary `boundary`, moved forward to the next char boundary (a
    /// token can end inside a multi-byte character) and past a "\n" that would be split from its
    /// "\r".
    fn boundary_cut(&self, boundary: usize) -> usize {
        let cut = self.text.ceil_char_boundary(self.offsets[boundary]);
        let bytes = self.text.as_bytes();
        if cut > 0 && bytes[cut - 1] == b'\r' && bytes.get(cut) == Some(&b'\n') {
            cut + 1
        } else {
            cut
        }
    }
}

/// First token of window `i` of `count`: round(i × (total − per_chunk) / (count − 1)).
fn window_start(i: usize, count: usize, total: usize, per_chunk: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    let span = (total - per_chunk) as u128;
    let (i, gaps) = (i as u128, (count - 1) as u128);
    ((2 * i * span + gaps) / (2 * gaps)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_rng::Rng;

    fn cl100k() -> &'static CoreBPE {
        tokenizer_for_model("gpt-4")
    }

    /// Settings with the default chunk sizes and no minimum length, so nothing is dropped.
    fn keep_all() -> ChunkSettings {
        ChunkSettings {
            min_chunk_chars: 0,
            ..ChunkSettings::default()
        }
    }

    const WORDS: [&str; 16] = [
        "the", "model", "rates", "data", "quality", "of", "training", "text", "and", "code",
        "with", "care", "tokens", "lines", "newline", "window",
    ];

    /// One line of 6–14 words ending in "\n" (about 8–16 tokens).
    fn line(rng: &mut Rng, ending: &str) -> String {
        let count = 6 + rng.below(9);
        let words: Vec<&str> = (0..count).map(|_| WORDS[rng.below(WORDS.len())]).collect();
        format!("{}.{ending}", words.join(" "))
    }

    /// Lines of text with exactly `tokens` tokens (cl100k), padded at the end with " x" tokens.
    fn doc_with_tokens(tokens: usize, ending: &str) -> String {
        let bpe = cl100k();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut lines = Vec::new();
        let mut count = 0;
        while count + 20 < tokens {
            let next = line(&mut rng, ending);
            count += count_tokens(bpe, &next);
            lines.push(next);
        }
        pad_to_tokens(lines.concat(), tokens)
    }

    /// One line of words with no newline at all, exactly `tokens` tokens.
    fn single_line_with_tokens(tokens: usize) -> String {
        let mut rng = Rng(7);
        let mut text = String::from("start");
        let mut count = 1;
        loop {
            // Words joined by spaces tokenize one by one, so their counts add up.
            let word = format!(" {}", WORDS[rng.below(WORDS.len())]);
            count += count_tokens(cl100k(), &word);
            if count + 5 > tokens {
                break;
            }
            text.push_str(&word);
        }
        pad_to_tokens(text, tokens)
    }

    fn pad_to_tokens(mut text: String, tokens: usize) -> String {
        while count_tokens(cl100k(), &text) < tokens {
            text.push_str(" x");
        }
        assert_eq!(
            count_tokens(cl100k(), &text),
            tokens,
            "test document has the wrong size"
        );
        text
    }

    /// Token boundaries of `text` as byte offsets (computed independently of the module).
    fn boundaries(text: &str) -> Vec<usize> {
        let mut at = 0;
        let mut offsets = vec![0];
        for piece in cl100k().encode_ordinary(text) {
            at += cl100k().decode_bytes(&[piece]).unwrap().len();
            offsets.push(at);
        }
        offsets
    }

    /// The index of the last token boundary at or before byte `byte`.
    fn token_at(offsets: &[usize], byte: usize) -> usize {
        offsets.partition_point(|&end| end <= byte) - 1
    }

    fn assert_clean(text: &str, chunks: &[String]) {
        for chunk in chunks {
            assert!(!chunk.contains('\u{FFFD}'), "a chunk holds U+FFFD");
            assert!(
                text.contains(chunk.as_str()),
                "a chunk is not a slice of the text"
            );
        }
    }

    /// Every chunk after the first starts a line, and the one before it ends with its newline.
    fn assert_cut_at_newlines(chunks: &[String]) {
        for pair in chunks.windows(2) {
            assert!(
                pair[0].ends_with('\n'),
                "chunk does not end with its newline: {:?}",
                tail(&pair[0])
            );
            assert!(!pair[1].starts_with('\n'), "chunk starts with a newline");
        }
    }

    fn tail(s: &str) -> &str {
        &s[s.floor_char_boundary(s.len().saturating_sub(40))..]
    }

    #[test]
    fn defaults() {
        let s = ChunkSettings::default();
        assert_eq!(
            (
                s.tokens_per_chunk,
                s.chunks_per_doc,
                s.max_search_distance,
                s.min_chunk_chars
            ),
            (1500, 2, 100, 375)
        );
    }

    #[test]
    fn empty_and_whitespace_give_no_chunks() {
        for text in ["", " ", "\n", " \r\n\t \n\n   "] {
            assert!(chunk(cl100k(), text, &keep_all()).is_empty(), "{text:?}");
            assert!(
                chunk(cl100k(), text, &ChunkSettings::default()).is_empty(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn short_document_is_one_chunk_or_dropped() {
        let text = "A short line.\nAnother one.\n";
        assert_eq!(chunk(cl100k(), text, &keep_all()), vec![text.to_string()]);
        // 26 characters is below the default minimum of 375.
        assert!(chunk(cl100k(), text, &ChunkSettings::default()).is_empty());
    }

    #[test]
    fn short_chunks_are_dropped() {
        // A short tail after a full chunk: 1,500 tokens, then a few more (the cut moves 10 at most).
        let text = doc_with_tokens(1510, "\n");
        let near = |min_chunk_chars| ChunkSettings {
            max_search_distance: 10,
            min_chunk_chars,
            ..ChunkSettings::default()
        };
        let all = chunk(cl100k(), &text, &near(0));
        assert_eq!(all.len(), 2);
        assert_eq!(all.concat(), text);
        let tail_chars = all[1].trim().chars().count();
        assert!(
            tail_chars < 375,
            "the tail should be short, has {tail_chars} chars"
        );

        let rated = chunk(cl100k(), &text, &near(375));
        assert_eq!(
            rated,
            vec![all[0].clone()],
            "the short tail must be dropped, the long head kept"
        );

        // The limit is on trimmed characters: exactly at the limit is kept, one over is dropped.
        assert_eq!(chunk(cl100k(), &text, &near(tail_chars)).len(), 2);
        assert_eq!(chunk(cl100k(), &text, &near(tail_chars + 1)).len(), 1);
    }

    #[test]
    fn document_of_2000_tokens_is_rated_whole_in_two_consecutive_chunks() {
        let text = doc_with_tokens(2000, "\n");
        let offsets = boundaries(&text);
        let ranges = chunk_ranges(cl100k(), &text, &keep_all());
        assert_eq!(ranges.len(), 2);
        assert_eq!(
            (ranges[0].start, ranges[0].end, ranges[1].end),
            (0, ranges[1].start, text.len())
        );
        let cut = token_at(&offsets, ranges[0].end);
        assert!(
            cut.abs_diff(1500) <= 100,
            "cut at token {cut}, want 1500 ± 100"
        );

        let chunks = chunk(cl100k(), &text, &keep_all());
        assert_eq!(
            chunks.concat(),
            text,
            "every token must be rated exactly once"
        );
        // The first line of the second chunk is kept whole (the old tool dropped it).
        assert!(text[..ranges[1].start].ends_with('\n'));
        assert_cut_at_newlines(&chunks);
    }

    #[test]
    fn exactly_k_times_c_tokens_gives_two_consecutive_chunks() {
        let text = doc_with_tokens(3000, "\n");
        let chunks = chunk(cl100k(), &text, &keep_all());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.concat(), text);
        assert_cut_at_newlines(&chunks);
        let cut = token_at(&boundaries(&text), chunks[0].len());
        assert!(cut.abs_diff(1500) <= 100, "cut at token {cut}");
    }

    #[test]
    fn three_consecutive_chunks_share_their_cuts() {
        let text = doc_with_tokens(4000, "\n");
        let s = ChunkSettings {
            chunks_per_doc: 3,
            ..keep_all()
        };
        let ranges = chunk_ranges(cl100k(), &text, &s);
        assert_eq!(ranges.len(), 3);
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[0].end, ranges[1].start);
        assert_eq!(ranges[1].end, ranges[2].start);
        assert_eq!(ranges[2].end, text.len());
        let offsets = boundaries(&text);
        for (range, want) in ranges.iter().zip([1500, 3000]) {
            let cut = token_at(&offsets, range.end);
            assert!(cut.abs_diff(want) <= 100, "cut at token {cut}, want {want}");
        }
    }

    #[test]
    fn one_token_over_k_times_c_spreads_two_windows() {
        let text = doc_with_tokens(3001, "\n");
        let offsets = boundaries(&text);
        let ranges = chunk_ranges(cl100k(), &text, &keep_all());
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[1].end, text.len());
        assert!(ranges[0].end <= ranges[1].start, "windows overlap");
        // Windows are 0..1500 and 1501..3001 before the cuts move to newlines.
        let first_end = token_at(&offsets, ranges[0].end);
        let second_start = token_at(&offsets, ranges[1].start);
        assert!(
            first_end.abs_diff(1500) <= 100,
            "first window ends at token {first_end}"
        );
        assert!(
            second_start.abs_diff(1501) <= 100,
            "second window starts at token {second_start}"
        );
        assert_cut_at_newlines(&chunk(cl100k(), &text, &keep_all()));
    }

    #[test]
    fn long_document_is_sampled_at_its_start_and_end() {
        let text = doc_with_tokens(20_000, "\n");
        let offsets = boundaries(&text);
        let ranges = chunk_ranges(cl100k(), &text, &ChunkSettings::default());
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0].start, 0, "the first window starts the document");
        assert_eq!(
            ranges[1].end,
            text.len(),
            "the last window ends the document"
        );
        for range in &ranges {
            let tokens = token_at(&offsets, range.end) - token_at(&offsets, range.start);
            assert!(tokens.abs_diff(1500) <= 100, "window of {tokens} tokens");
        }
        assert!(text[..ranges[0].end].ends_with('\n'));
        assert!(
            text[..ranges[1].start].ends_with('\n'),
            "the last window starts a line"
        );
        let second_start = token_at(&offsets, ranges[1].start);
        assert!(
            second_start.abs_diff(18_500) <= 100,
            "last window starts at token {second_start}"
        );
    }

    #[test]
    fn windows_are_spread_evenly() {
        let text = doc_with_tokens(10_000, "\n");
        let offsets = boundaries(&text);
        let s = ChunkSettings {
            chunks_per_doc: 3,
            ..keep_all()
        };
        let ranges = chunk_ranges(cl100k(), &text, &s);
        assert_eq!(ranges.len(), 3);
        // Starts at round(i × 8500 / 2): 0, 4250, 8500.
        for (range, want) in ranges.iter().zip([0, 4250, 8500]) {
            let start = token_at(&offsets, range.start);
            assert!(
                start.abs_diff(want) <= 100,
                "window starts at token {start}, want {want}"
            );
        }
        assert_eq!(ranges[2].end, text.len());

        // One chunk per document: the first window only.
        let one = ChunkSettings {
            chunks_per_doc: 1,
            ..keep_all()
        };
        let ranges = chunk_ranges(cl100k(), &text, &one);
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0].start, 0);
        assert!(token_at(&offsets, ranges[0].end).abs_diff(1500) <= 100);
    }

    #[test]
    fn window_start_rounds() {
        assert_eq!(window_start(0, 2, 20_000, 1500), 0);
        assert_eq!(window_start(1, 2, 20_000, 1500), 18_500);
        assert_eq!(window_start(1, 3, 3002, 1000), 1001); // 2002 / 2
        assert_eq!(window_start(1, 3, 3003, 1000), 1002); // 2003 / 2 = 1001.5 rounds up
        assert_eq!(window_start(2, 3, 3003, 1000), 2003);
        assert_eq!(window_start(0, 1, 5000, 1500), 0);
    }

    /// A single line of `tokens` tokens with one "\n" put right after token `newline_after`.
    fn line_with_newline_after(tokens: usize, newline_after: usize) -> (String, usize) {
        let text = single_line_with_tokens(tokens);
        let at = boundaries(&text)[newline_after];
        let text = format!("{}\n{}", &text[..at], &text[at..]);
        (text, at + 1)
    }

    #[test]
    fn cut_moves_to_a_newline_within_reach() {
        for newline_after in [1450, 1500, 1560, 1599] {
            let (text, line_start) = line_with_newline_after(2000, newline_after);
            let ranges = chunk_ranges(cl100k(), &text, &keep_all());
            assert_eq!(ranges.len(), 2);
            assert_eq!(
                ranges[0].end, line_start,
                "newline after token {newline_after}"
            );
            assert_eq!(ranges[1].start, line_start);
            assert!(text[..ranges[0].end].ends_with('\n'));
        }
    }

    #[test]
    fn cut_stays_put_when_the_newline_is_out_of_reach() {
        for newline_after in [1300, 1700] {
            let (text, line_start) = line_with_newline_after(2000, newline_after);
            let offsets = boundaries(&text);
            let ranges = chunk_ranges(cl100k(), &text, &keep_all());
            assert_eq!(ranges.len(), 2);
            assert_ne!(ranges[0].end, line_start);
            assert_eq!(
                ranges[0].end, offsets[1500],
                "the cut must stay on token boundary 1500"
            );
            assert_eq!(ranges[0].end, ranges[1].start);
        }
    }

    #[test]
    fn nearest_newline_wins_and_ties_go_to_the_earlier() {
        // The same line with newlines 30 before and 40 after the cut (ok both ways), then 40 and 40.
        let text = single_line_with_tokens(2000);
        let offsets = boundaries(&text);
        let with_newlines = |before: usize, after: usize| {
            let (b, a) = (offsets[1500 - before], offsets[1500 + after]);
            format!("{}\n{}\n{}", &text[..b], &text[b..a], &text[a..])
        };
        let doc = with_newlines(30, 40);
        let ends = chunk_ranges(cl100k(), &doc, &keep_all())[0].end;
        assert_eq!(ends, offsets[1470] + 1, "the nearer newline (behind) wins");

        let doc = with_newlines(45, 20);
        let ends = chunk_ranges(cl100k(), &doc, &keep_all())[0].end;
        assert_eq!(ends, offsets[1520] + 2, "the nearer newline (ahead) wins");

        // Each inserted newline is a token of its own, so the one after the cut is one token
        // further away than it was placed: 39 tokens behind, 39 ahead.
        let doc = with_newlines(40, 37);
        let new_offsets = boundaries(&doc);
        let (behind, ahead) = (offsets[1460] + 1, offsets[1537] + 2);
        let distance = |cut: usize| token_at(&new_offsets, cut).abs_diff(1500);
        assert_eq!(
            (distance(behind), distance(ahead)),
            (39, 39),
            "the test needs a tie"
        );
        let ends = chunk_ranges(cl100k(), &doc, &keep_all())[0].end;
        assert_eq!(ends, behind, "a tie goes to the earlier newline");
    }

    #[test]
    fn text_without_newlines_is_cut_at_token_boundaries() {
        let text = single_line_with_tokens(2000);
        let offsets = boundaries(&text);
        let chunks = chunk(cl100k(), &text, &keep_all());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), offsets[1500]);
        assert_eq!(chunks.concat(), text);

        let long = single_line_with_tokens(20_000);
        let offsets = boundaries(&long);
        let ranges = chunk_ranges(cl100k(), &long, &keep_all());
        assert_eq!(ranges, vec![0..offsets[1500], offsets[18_500]..long.len()]);
    }

    #[test]
    fn crlf_line_endings_are_never_split() {
        let text = doc_with_tokens(2500, "\r\n");
        let chunks = chunk(cl100k(), &text, &keep_all());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.concat(), text);
        assert!(chunks[0].ends_with("\r\n"));
        assert!(!chunks[1].starts_with('\n') && !chunks[1].starts_with('\r'));

        let long = doc_with_tokens(20_000, "\r\n");
        for range in chunk_ranges(cl100k(), &long, &keep_all()) {
            assert!(!long[range.clone()].starts_with('\n'));
            assert!(range.end == long.len() || long[..range.end].ends_with("\r\n"));
        }
    }

    #[test]
    fn fallback_cut_never_splits_crlf() {
        // Token boundaries placed by hand between "\r" and "\n", as a search distance of 0 would use.
        let text = "ab\r\ncd";
        let doc = Tokenized {
            text,
            offsets: vec![0, 3, 6],
        };
        assert_eq!(doc.boundary_cut(1), 4);
        assert_eq!(doc.cut_near(1, 0), 4);
        assert_eq!(doc.cut_near(1, 1), 4, "the newline inside the second token");
    }

    #[test]
    fn blank_lines_inside_a_token_stay_with_the_previous_chunk() {
        // "\n\n\n" is a single token; the cut goes after the last of them.
        let text = "abc\n\n\ndef";
        let offsets = boundaries(text);
        let doc = Tokenized {
            text,
            offsets: offsets.clone(),
        };
        let blank = offsets
            .iter()
            .position(|&o| o == 3)
            .expect("a token starts at the newlines");
        assert_eq!(doc.newline_cut_at(blank + 1), Some(6));
        assert_eq!(doc.cut_near(blank, 1), 6);
    }

    /// CJK and emoji without newlines, so cuts fall on token boundaries, some inside characters.
    fn cjk_emoji_doc(tokens_hint: usize) -> String {
        let pieces = [
            "日本語の文章",
            "😀",
            "🎉🎉",
            "中文字符",
            "한국어",
            "👩‍👩‍👧",
            "テスト",
            "🦀",
        ];
        let mut rng = Rng(42);
        let mut text = String::new();
        while count_tokens(cl100k(), &text) < tokens_hint {
            for _ in 0..200 {
                text.push_str(pieces[rng.below(pieces.len())]);
            }
        }
        text
    }

    #[test]
    fn cjk_and_emoji_are_never_split() {
        let text = cjk_emoji_doc(2000);
        let offsets = boundaries(&text);
        let inside_chars = offsets
            .iter()
            .filter(|&&o| !text.is_char_boundary(o))
            .count();
        assert!(
            inside_chars > 100,
            "the test needs token boundaries inside characters"
        );

        // Every chunk count in the consecutive case, each cut landing on a different boundary.
        for per_chunk in [300, 301, 302, 303, 500, 700, 1000] {
            let s = ChunkSettings {
                tokens_per_chunk: per_chunk,
                chunks_per_doc: 20,
                max_search_distance: 0,
                min_chunk_chars: 0,
            };
            let chunks = chunk(cl100k(), &text, &s);
            assert!(chunks.len() >= 2);
            assert_clean(&text, &chunks);
            assert_eq!(
                chunks.concat(),
                text,
                "no bytes lost or doubled with {per_chunk} tokens per chunk"
            );
        }
        // Sampled windows too.
        let s = ChunkSettings {
            tokens_per_chunk: 333,
            chunks_per_doc: 3,
            ..keep_all()
        };
        let chunks = chunk(cl100k(), &text, &s);
        assert_eq!(chunks.len(), 3);
        assert_clean(&text, &chunks);
    }

    #[test]
    fn mid_character_cut_moves_forward_to_the_next_character() {
        let text = cjk_emoji_doc(2000);
        let offsets = boundaries(&text);
        let boundary = (1..offsets.len() - 1)
            .find(|&b| !text.is_char_boundary(offsets[b]))
            .unwrap();
        let doc = Tokenized::new(cl100k(), &text);
        let cut = doc.cut_near(boundary, 0);
        assert!(cut > offsets[boundary] && text.is_char_boundary(cut));
        assert_eq!(cut, text.ceil_char_boundary(offsets[boundary]));
    }

    #[test]
    fn special_tokens_are_plain_text() {
        let marker = "<|endoftext|>";
        assert!(
            count_tokens(cl100k(), marker) > 1,
            "counted as text, not as one special token"
        );
        assert!(count_tokens(tokenizer_for_model("gpt-4o"), marker) > 1);

        let mut text = String::new();
        let mut rng = Rng(3);
        while count_tokens(cl100k(), &text) < 2500 {
            text.push_str(&line(&mut rng, "\n"));
            text.push_str("<|endoftext|><|fim_prefix|> end\n");
        }
        let chunks = chunk(cl100k(), &text, &keep_all());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.concat(), text);
        assert!(chunks.iter().all(|c| c.contains(marker)));
        assert_cut_at_newlines(&chunks);
        assert!(truncate_to_tokens(cl100k(), &text, 100).contains(marker));
    }

    #[test]
    fn large_document_is_fast_enough() {
        // About 5 MB: must finish in seconds even unoptimised (encoding is the only big cost).
        let mut rng = Rng(11);
        let mut text = String::with_capacity(5_100_000);
        while text.len() < 5_000_000 {
            text.push_str(&line(&mut rng, "\n"));
        }
        let started = std::time::Instant::now();
        let ranges = chunk_ranges(cl100k(), &text, &ChunkSettings::default());
        assert_eq!(ranges.len(), 2);
        assert_eq!((ranges[0].start, ranges[1].end), (0, text.len()));
        let truncated = truncate_to_tokens(cl100k(), &text, 1500);
        assert_eq!(count_tokens(cl100k(), truncated), 1500);
        assert!(
            started.elapsed().as_secs() < 60,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn huge_runs_of_one_kind_of_character_are_safe() {
        // tiktoken-rs panics on about a million whitespace chars followed by text; a document of
        // padding must still be chunked.
        let text = format!(
            "Start of the document.\n{}end of it.\n{}x",
            " ".repeat(1_200_000),
            "\u{a0}".repeat(300_000)
        );
        for bpe in [cl100k(), tokenizer_for_model("gpt-4o")] {
            assert!(count_tokens(bpe, &text) > 3000);
            let ranges = chunk_ranges(bpe, &text, &keep_all());
            assert_eq!(ranges.len(), 2);
            assert_eq!((ranges[0].start, ranges[1].end), (0, text.len()));
            assert_eq!(
                truncate_to_tokens(bpe, &text, 5),
                "Start of the document.\n"
            );
        }
        // Seams cut long runs only, at char boundaries, every MAX_RUN_BYTES or so.
        let seams = seams(&text);
        assert!(
            seams.iter().all(|&seam| text.is_char_boundary(seam)
                && text[seam..].starts_with(char::is_whitespace))
        );
        assert_eq!(seams[1] - seams[0], MAX_RUN_BYTES);
        assert!(seams.len() >= (1_200_000 + 600_000) / MAX_RUN_BYTES - 2);

        // A long word: cut, covered exactly, and only a few tokens off the seamless count.
        let word = "日本語の文章".repeat(20_000);
        let doc = Tokenized::new(cl100k(), &word);
        assert_eq!(doc.offsets.last(), Some(&word.len()));
        assert!(
            doc.tokens().abs_diff(cl100k().encode_ordinary(&word).len())
                <= super::seams(&word).len()
        );
        let chunks = chunk(cl100k(), &word, &keep_all());
        assert_eq!(chunks.len(), 2);
        assert_clean(&word, &chunks);
    }

    #[test]
    fn ordinary_text_has_no_seams() {
        let text = doc_with_tokens(20_000, "\n") + &cjk_emoji_doc(3000);
        assert!(seams(&text).is_empty());
        assert_eq!(
            count_tokens(cl100k(), &text),
            cl100k().encode_ordinary(&text).len()
        );
    }

    #[test]
    fn truncation_keeps_the_longest_prefix_within_the_limit() {
        let bpe = cl100k();
        assert_eq!(truncate_to_tokens(bpe, "", 10), "");
        assert_eq!(truncate_to_tokens(bpe, "hello world", 0), "");
        assert_eq!(truncate_to_tokens(bpe, "hello world", 2), "hello world");
        assert_eq!(truncate_to_tokens(bpe, "hello world", 1), "hello");

        let text = doc_with_tokens(3000, "\n");
        let offsets = boundaries(&text);
        for max in [1, 17, 1500, 2999] {
            let prefix = truncate_to_tokens(bpe, &text, max);
            assert_eq!(prefix, &text[..offsets[max]], "at {max} tokens");
            assert_eq!(count_tokens(bpe, prefix), max);
        }
        assert_eq!(truncate_to_tokens(bpe, &text, 3000), text);
        assert_eq!(truncate_to_tokens(bpe, &text, 10_000), text);
        assert_eq!(truncate_to_tokens(bpe, &text, usize::MAX), text);
    }

    #[test]
    fn truncation_ends_on_a_char_boundary() {
        let bpe = cl100k();
        let text = cjk_emoji_doc(2000);
        let offsets = boundaries(&text);
        let ends = &offsets[..200];
        assert!(
            ends.iter().any(|&end| !text.is_char_boundary(end)),
            "needs mid-character ends"
        );
        for (max, &end) in ends.iter().enumerate() {
            let prefix = truncate_to_tokens(bpe, &text, max);
            assert!(text.starts_with(prefix));
            assert!(count_tokens(bpe, prefix) <= max, "{max}");
            // All the whole characters inside the text's first `max` tokens.
            assert_eq!(prefix.len(), text.floor_char_boundary(end), "{max}");
        }
    }

    #[test]
    fn cuts_never_move_backwards() {
        // Whatever the text and distance, a later token boundary never cuts before an earlier one,
        // so chunks can be neither inverted nor overlapping.
        let mut rng = Rng(5);
        let mut mixed = String::new();
        while mixed.len() < 6000 {
            let piece = ["\r\n", "\n\n\n", "\n", " \n  ", "日本語", "🎉", "\r", "x"][rng.below(8)];
            mixed.push_str(piece);
            mixed.push_str(WORDS[rng.below(WORDS.len())]);
        }
        let texts = [
            mixed,
            cjk_emoji_doc(500),
            doc_with_tokens(600, "\r\n"),
            single_line_with_tokens(300),
        ];
        for text in &texts {
            let doc = Tokenized::new(cl100k(), text);
            for distance in [0, 1, 2, 5, 100] {
                let mut previous = 0;
                for at in 1..doc.tokens() {
                    let cut = doc.cut_near(at, distance);
                    assert!(
                        cut >= previous && cut > 0 && cut <= text.len(),
                        "boundary {at}, distance {distance}"
                    );
                    assert!(text.is_char_boundary(cut));
                    assert!(!(text[..cut].ends_with('\r') && text[cut..].starts_with('\n')));
                    previous = cut;
                }
            }
        }
    }

    #[test]
    fn tokenizer_follows_the_model() {
        let cl = tiktoken_rs::cl100k_base_singleton();
        let o200 = tiktoken_rs::o200k_base_singleton();
        let cases = [
            ("gpt-4", "cl100k_base"),
            ("gpt-4-turbo", "cl100k_base"),
            ("gpt-3.5-turbo", "cl100k_base"),
            ("gpt-4o", "o200k_base"),
            ("gpt-4o-mini", "o200k_base"),
            ("gpt-4.1-nano", "o200k_base"),
            ("gpt-4.5-preview", "o200k_base"),
            ("o1", "o200k_base"),
            ("o3-mini", "o200k_base"),
            ("o4-mini", "o200k_base"),
            ("gpt-5", "o200k_base"),
            ("gpt-5.1-mini", "o200k_base"),
            ("chatgpt-4o-latest", "o200k_base"),
            ("openai/GPT-4o", "o200k_base"),
            ("ft:gpt-4o-mini:acme::abc123", "o200k_base"),
            ("llama-3", "cl100k_base"),
            ("meta-llama/Llama-3.1-8B-Instruct", "cl100k_base"),
            ("olmo-2", "cl100k_base"),
            ("", "cl100k_base"),
        ];
        for (model, encoding) in cases {
            assert_eq!(encoding_name_for_model(model), encoding, "{model}");
            let want = if encoding == "o200k_base" { o200 } else { cl };
            assert!(std::ptr::eq(tokenizer_for_model(model), want), "{model}");
        }
        // The two really are different encodings, and each is built once.
        assert_ne!(
            cl.encode_ordinary("hello world"),
            o200.encode_ordinary("hello world")
        );
        assert!(std::ptr::eq(
            tokenizer_for_model("gpt-4"),
            tokenizer_for_model("llama-3")
        ));
    }
}

//! The tokens of pre-tokenized pieces, remembered per thread: text repeats its words, and a word's
//! tokens never depend on its neighbours once the pre-tokenizer has cut it out, so each distinct
//! piece goes through byte-pair merging about once per thread instead of every time it occurs.
//! Only short pieces of a few tokens are remembered, inline in a direct-mapped table, so a lookup
//! costs a few integer operations and one cache line.

use super::pretokenize::{self, Pattern};
use regex_automata::meta::Cache;
use std::cell::RefCell;

/// Pieces longer than this are encoded every time: long pieces rarely repeat.
const MAX_PIECE_BYTES: usize = 16;
/// Pieces of more tokens than this are encoded every time (a short piece rarely has more).
const MAX_PIECE_TOKENS: usize = 3;
/// Slots per thread and encoding (a power of two). 8,192 slots of 32 bytes stay in a core's L2
/// cache; a bigger table made every lookup a cache miss (measured: with a hash map of 32,768
/// entries of 56 bytes the memo cost more than the byte-pair merging it saved).
const SLOTS: usize = 8192;

/// One remembered piece: its bytes zero-padded to two words (compared as integers, with no
/// pointer to follow and no `memcmp` call), its length (0 for an empty slot) and its tokens.
#[derive(Clone, Copy, Default)]
struct Slot {
    words: [u64; 2],
    len: u8,
    count: u8,
    tokens: [u32; MAX_PIECE_TOKENS],
}

/// What one thread keeps per encoding: the remembered pieces and the pre-tokenizer's regex
/// search cache (for pieces the byte rules leave to the regex).
struct State {
    /// Direct-mapped: a piece lives only in the slot its hash picks, and a newcomer evicts it,
    /// so the table never needs clearing and a lookup never probes.
    slots: Box<[Slot]>,
    cache: Cache,
}

impl State {
    fn new(pattern: Pattern) -> State {
        State {
            slots: vec![Slot::default(); SLOTS].into_boxed_slice(),
            cache: pattern.regex().create_cache(),
        }
    }
}

thread_local! {
    /// Per encoding (by [`Pattern::index`]), built on the thread's first use of it.
    static MEMO: RefCell<[Option<State>; 2]> = const { RefCell::new([None, None]) };
}

/// The `bpe-openai` tokenizer of an encoding.
pub fn tokenizer(pattern: Pattern) -> &'static bpe_openai::Tokenizer {
    match pattern {
        Pattern::Cl100k => bpe_openai::cl100k_base(),
        Pattern::O200k => bpe_openai::o200k_base(),
    }
}

/// The first `len` (1 to 16) bytes of `text` from `start`, zero-padded into two words.
#[inline]
fn key(text: &[u8], start: usize, len: usize) -> [u64; 2] {
    if let Some(window) = text.get(start..start + 16) {
        // Two plain loads and masks instead of a variable-length copy.
        let word = |i: usize| u64::from_le_bytes(window[i..i + 8].try_into().unwrap());
        let mask = |bytes: usize| match bytes {
            0 => 0,
            1..=7 => (1u64 << (bytes * 8)) - 1,
            _ => u64::MAX,
        };
        [word(0) & mask(len), word(8) & mask(len.saturating_sub(8))]
    } else {
        let mut padded = [0u8; 16];
        padded[..len].copy_from_slice(&text[start..start + len]);
        let word = |i: usize| u64::from_le_bytes(padded[i..i + 8].try_into().unwrap());
        [word(0), word(8)]
    }
}

/// Which slot a key lives in: a multiplicative hash's top bits.
#[inline]
fn slot_of(words: [u64; 2], len: usize) -> usize {
    let mixed = (words[0] ^ words[1].rotate_left(23) ^ len as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ words[1].wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (mixed >> (64 - SLOTS.trailing_zeros())) as usize
}

/// Call `each` with the tokens of every pre-tokenized piece of `text`, in order: exactly the
/// tokens `bpe_openai`'s tokenizer of `pattern` gives for `text` (neither normalizes: both
/// encodings are used without NFC).
pub fn for_each_piece(pattern: Pattern, text: &str, mut each: impl FnMut(&[u32])) {
    let bpe = &tokenizer(pattern).bpe;
    let bytes = text.as_bytes();
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let state = memo[pattern.index()].get_or_insert_with(|| State::new(pattern));
        let State { slots, cache } = state;
        for piece in pretokenize::split(pattern, text, cache) {
            let len = piece.len();
            if len > MAX_PIECE_BYTES {
                each(&bpe.encode_via_backtracking(piece.as_bytes()));
                continue;
            }
            let start = piece.as_ptr() as usize - text.as_ptr() as usize;
            let words = key(bytes, start, len);
            let slot = &mut slots[slot_of(words, len)];
            if slot.len as usize == len && slot.words == words {
                each(&slot.tokens[..slot.count as usize]);
                continue;
            }
            let tokens = bpe.encode_via_backtracking(piece.as_bytes());
            each(&tokens);
            if tokens.len() <= MAX_PIECE_TOKENS {
                *slot = Slot {
                    words,
                    len: len as u8,
                    count: tokens.len() as u8,
                    tokens: [0; MAX_PIECE_TOKENS],
                };
                slot.tokens[..tokens.len()].copy_from_slice(&tokens);
            }
        }
    });
}

/// The tokens of `text`, as `bpe-openai`'s tokenizer of `pattern` encodes it.
pub fn encode(pattern: Pattern, text: &str) -> Vec<u32> {
    let mut tokens = Vec::with_capacity(text.len() / 3);
    for_each_piece(pattern, text, |piece| tokens.extend_from_slice(piece));
    tokens
}

/// How many tokens `bpe-openai`'s tokenizer of `pattern` gives for `text`.
pub fn count(pattern: Pattern, text: &str) -> usize {
    let mut count = 0;
    for_each_piece(pattern, text, |piece| count += piece.len());
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Pattern; 2] = [Pattern::Cl100k, Pattern::O200k];

    #[test]
    fn remembered_pieces_give_the_same_tokens_as_encoding_afresh() {
        let text = "The cat sat on the mat. The cat sat again!  \n\n 中文字符 🙂 fn main() {} \
                    a_very_long_identifier_that_is_longer_than_the_piece_limit_for_sure \
                    🙂🙂🙂🙂🙂🙂 exactly16bytes_p 2024 1234567 end";
        for _ in 0..3 {
            for pattern in BOTH {
                let bpe = tokenizer(pattern);
                assert_eq!(encode(pattern, text), bpe.encode(text), "{pattern:?}");
                assert_eq!(count(pattern, text), bpe.count(text), "{pattern:?}");
                // Every suffix ends near the text's end, where keys are built by copying.
                for cut in (0..text.len()).filter(|&at| text.is_char_boundary(at)) {
                    let tail = &text[cut..];
                    assert_eq!(
                        encode(pattern, tail),
                        bpe.encode(tail),
                        "{pattern:?} {tail:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn evicted_and_colliding_pieces_stay_exact() {
        // Far more distinct pieces than slots: most lookups meet another piece in their slot.
        let words: String = (0..SLOTS * 4)
            .map(|i| format!("w{i} x{} ", i % 97))
            .collect();
        for pattern in BOTH {
            let bpe = tokenizer(pattern);
            assert_eq!(count(pattern, &words), bpe.count(words.as_str()));
            assert_eq!(encode(pattern, &words), bpe.encode(words.as_str()));
        }
    }

    #[test]
    fn keys_hold_exactly_the_piece() {
        let text = b"abcdefghijklmnopqrstuvwxyz";
        for start in 0..text.len() {
            for len in 1..=MAX_PIECE_BYTES.min(text.len() - start) {
                let mut padded = [0u8; 16];
                padded[..len].copy_from_slice(&text[start..start + len]);
                let want = [
                    u64::from_le_bytes(padded[..8].try_into().unwrap()),
                    u64::from_le_bytes(padded[8..].try_into().unwrap()),
                ];
                assert_eq!(key(text, start, len), want, "{start}+{len}");
            }
        }
    }
}

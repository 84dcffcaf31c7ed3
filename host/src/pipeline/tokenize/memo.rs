//! The tokens of pre-tokenized pieces, remembered per thread: text repeats its words, and a word's
//! tokens never depend on its neighbours once the pre-tokenizer has cut it out, so each distinct
//! piece goes through byte-pair merging about once per thread instead of every time it occurs.
//! Only short pieces of a few tokens are remembered, inline in a two-way set-associative table, so
//! a lookup costs a few integer operations and one cache line.

use super::pretokenize::{self, Pattern};
use regex_automata::meta::Cache;
use std::cell::RefCell;

/// Pieces longer than this are encoded every time: long pieces rarely repeat.
const MAX_PIECE_BYTES: usize = 16;
/// Pieces of more tokens than this are encoded every time (a short piece rarely has more).
const MAX_PIECE_TOKENS: usize = 3;
/// Sets of two pieces per thread and encoding (a power of two): 1 MB, a core's L2 cache on the
/// machine measured. On the benchmark corpus (`benches/cpu_path.rs`: 77,000 distinct short pieces
/// in 7.8 million) one thread missed 7.8% of lookups with 8,192 direct-mapped slots, 4.3% with
/// 32,768 and 3.3% with 32,768 in sets of two; a miss costs a byte-pair merge, far more than a
/// cache miss. (A hash map with 32,768 entries of 56 bytes, probing and clearing when full, was
/// slower than no memo.)
const SETS: usize = 16384;

/// One remembered piece: its bytes zero-padded to two words (compared as integers, with no
/// pointer to follow and no `memcmp` call), its length (0 for an empty slot) and its tokens.
#[derive(Clone, Copy, Default, PartialEq, Debug)]
struct Slot {
    words: [u64; 2],
    len: u8,
    count: u8,
    tokens: [u32; MAX_PIECE_TOKENS],
}

/// Two slots, the one used last first, in one cache line.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Set([Slot; 2]);

/// What one thread keeps per encoding: the remembered pieces and the pre-tokenizer's regex
/// search cache (for pieces the byte rules leave to the regex).
struct State {
    /// A piece lives only in the set its hash picks; a newcomer evicts the set's piece used
    /// less recently, so the table never needs clearing and a lookup reads one cache line.
    sets: Box<[Set]>,
    cache: Cache,
}

impl State {
    fn new(pattern: Pattern) -> State {
        State {
            sets: vec![Set::default(); SETS].into_boxed_slice(),
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

/// Which set a key lives in: a multiplicative hash's top bits.
#[inline]
fn set_of(words: [u64; 2], len: usize) -> usize {
    let mixed = (words[0] ^ words[1].rotate_left(23) ^ len as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ words[1].wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (mixed >> (64 - SETS.trailing_zeros())) as usize
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
        let State { sets, cache } = state;
        for piece in pretokenize::split(pattern, text, cache) {
            let len = piece.len();
            if len > MAX_PIECE_BYTES {
                each(&bpe.encode_via_backtracking(piece.as_bytes()));
                continue;
            }
            let start = piece.as_ptr() as usize - text.as_ptr() as usize;
            let words = key(bytes, start, len);
            let Set(set) = &mut sets[set_of(words, len)];
            let holds = |slot: &Slot| slot.len as usize == len && slot.words == words;
            if holds(&set[0]) {
                each(&set[0].tokens[..set[0].count as usize]);
                continue;
            }
            if holds(&set[1]) {
                // To the front, so that the set's other piece is the one evicted next.
                set.swap(0, 1);
                each(&set[0].tokens[..set[0].count as usize]);
                continue;
            }
            let tokens = bpe.encode_via_backtracking(piece.as_bytes());
            each(&tokens);
            if tokens.len() <= MAX_PIECE_TOKENS {
                let mut slot = Slot {
                    words,
                    len: len as u8,
                    count: tokens.len() as u8,
                    tokens: [0; MAX_PIECE_TOKENS],
                };
                slot.tokens[..tokens.len()].copy_from_slice(&tokens);
                set[1] = std::mem::replace(&mut set[0], slot);
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
        let words: String = (0..SETS * 8)
            .map(|i| format!("w{i} x{} ", i % 97))
            .collect();
        for pattern in BOTH {
            let bpe = tokenizer(pattern);
            assert_eq!(count(pattern, &words), bpe.count(words.as_str()));
            assert_eq!(encode(pattern, &words), bpe.encode(words.as_str()));
        }
    }

    #[test]
    fn a_set_keeps_its_two_most_recent_pieces() {
        // Pieces that share a set: the first one looked up again must survive one newcomer, and
        // the least recent one must be the one evicted.
        let pattern = Pattern::Cl100k;
        let words = |piece: &str| key(piece.as_bytes(), 0, piece.len());
        let target = set_of(words("the"), 3);
        // Letters only, so that each is one piece, of few enough tokens to be remembered.
        let mut rivals = (0u32..)
            .map(|i| {
                let digits = i.to_string();
                let letters: String = digits.bytes().map(|d| (d - b'0' + b'a') as char).collect();
                format!("q{letters}")
            })
            .filter(|p| set_of(words(p), p.len()) == target)
            .filter(|p| tokenizer(pattern).count(p.as_str()) <= MAX_PIECE_TOKENS);
        let (a, b) = (rivals.next().unwrap(), rivals.next().unwrap());
        let set_now =
            || MEMO.with(|m| m.borrow()[pattern.index()].as_ref().unwrap().sets[target].0);
        count(pattern, "the");
        count(pattern, &a);
        count(pattern, "the"); // a hit in the second slot moves "the" to the front
        count(pattern, &b); // evicts `a`, not "the"
        let [first, second] = set_now();
        assert_eq!((first.words, first.len as usize), (words(&b), b.len()));
        assert_eq!((second.words, second.len), (words("the"), 3));
        assert_eq!(
            count(pattern, &format!("the {a}the")),
            tokenizer(pattern).count(format!("the {a}the").as_str())
        );
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

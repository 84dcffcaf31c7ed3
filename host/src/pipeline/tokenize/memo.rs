//! The tokens of pre-tokenized pieces, remembered per thread: text repeats its words, and a word's
//! tokens never depend on its neighbours once the pre-tokenizing regex has cut it out, so each
//! distinct piece goes through byte-pair merging once per thread instead of every time it occurs.
//! Only short pieces of a few tokens are remembered, inline, so a lookup costs a few integer
//! operations.

use rustc_hash::FxHashMap;
use std::cell::RefCell;

/// Pieces longer than this are encoded every time: long pieces rarely repeat.
const MAX_PIECE_BYTES: usize = 16;
/// Pieces of more tokens than this are encoded every time (a short piece rarely has more).
const MAX_PIECE_TOKENS: usize = 3;
/// Pieces remembered per thread and encoding before the memo starts over: 8,192 entries of 40
/// bytes stay in a core's L2 cache; a bigger table made every lookup a cache miss (measured: the
/// memo cost more than the byte-pair merging it saved at 32,768 entries of 56 bytes).
const MAX_ENTRIES: usize = 8192;

/// A short piece's bytes, zero-padded, with its length: hashed and compared as four integers,
/// with no pointer to follow and no `memcmp` call (a lookup is most of what counting a word costs).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    words: [u64; 2],
    len: u8,
}

impl Key {
    fn new(bytes: &[u8]) -> Key {
        let mut padded = [0u8; MAX_PIECE_BYTES];
        padded[..bytes.len()].copy_from_slice(bytes);
        let word = |i: usize| u64::from_le_bytes(padded[i * 8..i * 8 + 8].try_into().unwrap());
        Key {
            words: [word(0), word(1)],
            len: bytes.len() as u8,
        }
    }
}

/// A short piece's tokens, inline.
#[derive(Clone, Copy)]
struct Tokens {
    len: u8,
    tokens: [u32; MAX_PIECE_TOKENS],
}

impl Tokens {
    fn as_slice(&self) -> &[u32] {
        &self.tokens[..self.len as usize]
    }
}

/// One encoding's remembered pieces.
type Pieces = FxHashMap<Key, Tokens>;

thread_local! {
    /// Per encoding (by the address of its `'static` tokenizer), the pieces seen on this thread.
    static MEMO: RefCell<Vec<(usize, Pieces)>> = const { RefCell::new(Vec::new()) };
}

/// Call `each` with the tokens of every pre-tokenized piece of `text`, in order: exactly the
/// tokens `tokenizer.encode(text)` gives.
pub fn for_each_piece(
    tokenizer: &'static bpe_openai::Tokenizer,
    text: &str,
    mut each: impl FnMut(&[u32]),
) {
    let text = tokenizer.normalize(text);
    let id = tokenizer as *const bpe_openai::Tokenizer as usize;
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let at = match memo.iter().position(|(owner, _)| *owner == id) {
            Some(at) => at,
            None => {
                memo.push((id, Pieces::default()));
                memo.len() - 1
            }
        };
        let pieces = &mut memo[at].1;
        for piece in tokenizer.split(text.as_str()) {
            let bytes = piece.as_bytes();
            if bytes.len() > MAX_PIECE_BYTES {
                each(&tokenizer.bpe.encode_via_backtracking(bytes));
                continue;
            }
            let key = Key::new(bytes);
            if let Some(tokens) = pieces.get(&key) {
                each(tokens.as_slice());
                continue;
            }
            let tokens = tokenizer.bpe.encode_via_backtracking(bytes);
            each(&tokens);
            if tokens.len() <= MAX_PIECE_TOKENS {
                if pieces.len() >= MAX_ENTRIES {
                    pieces.clear();
                }
                let mut inline = Tokens {
                    len: tokens.len() as u8,
                    tokens: [0; MAX_PIECE_TOKENS],
                };
                inline.tokens[..tokens.len()].copy_from_slice(&tokens);
                pieces.insert(key, inline);
            }
        }
    });
}

/// The tokens of `text`, as `tokenizer.encode(text)` gives them.
pub fn encode(tokenizer: &'static bpe_openai::Tokenizer, text: &str) -> Vec<u32> {
    let mut tokens = Vec::with_capacity(text.len() / 3);
    for_each_piece(tokenizer, text, |piece| tokens.extend_from_slice(piece));
    tokens
}

/// How many tokens `tokenizer.encode(text)` gives.
pub fn count(tokenizer: &'static bpe_openai::Tokenizer, text: &str) -> usize {
    let mut count = 0;
    for_each_piece(tokenizer, text, |piece| count += piece.len());
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_pieces_give_the_same_tokens_as_encoding_afresh() {
        let tokenizer = bpe_openai::cl100k_base();
        let text = "The cat sat on the mat. The cat sat again!  \n\n 中文字符 🙂 fn main() {} \
                    a_very_long_identifier_that_is_longer_than_the_piece_limit_for_sure \
                    🙂🙂🙂🙂🙂🙂 exactly16bytes_p 2024 1234567";
        for _ in 0..3 {
            assert_eq!(encode(tokenizer, text), tokenizer.encode(text));
            assert_eq!(count(tokenizer, text), tokenizer.count(text));
        }
        // Two encodings on one thread keep their pieces apart.
        let o200k = bpe_openai::o200k_base();
        assert_eq!(encode(o200k, text), o200k.encode(text));
    }

    #[test]
    fn a_full_memo_starts_over_and_stays_exact() {
        let tokenizer = bpe_openai::cl100k_base();
        let words: String = (0..MAX_ENTRIES + 500).map(|i| format!("w{i} ")).collect();
        assert_eq!(count(tokenizer, &words), tokenizer.count(words.as_str()));
        MEMO.with(|m| assert!(m.borrow().iter().all(|(_, p)| p.len() <= MAX_ENTRIES)));
    }
}

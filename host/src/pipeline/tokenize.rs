//! Tokens as the chat model counts them: which tiktoken encoding a model uses, token counts, token
//! boundaries (for chunking) and the longest prefix within a token budget.
//!
//! Two implementations give the same tokens: tiktoken-rs's [`CoreBPE`] (the reference, and what
//! component host functions get) and the `bpe-openai` crate, which encodes and counts several times
//! faster. A [`Tokenizer`] made for a model ([`lazy_tokenizer_for_model`]) uses `bpe-openai`'s
//! byte-pair merging with a hand-written pre-tokenizer (`pretokenize.rs`, exactly its regex's
//! pieces) and remembers the tokens of repeated words per thread (`memo.rs`); the tests check that
//! every way counts every kind of text alike.
//!
//! Special tokens such as `<|endoftext|>` are never encoded as such: documents are data, not control
//! sequences, so they count as the plain text they are.

mod memo;
mod pretokenize;

use pretokenize::Pattern;

use tiktoken_rs::CoreBPE;

/// What counting and chunking need of an encoding. Implemented by tiktoken-rs's [`CoreBPE`],
/// `bpe-openai`'s tokenizer and [`Tokenizer`]; every function here takes any of them.
pub trait Encoding {
    /// The tokens of `text`, exactly as tiktoken's `encode_ordinary` gives them.
    fn encode_ordinary_tokens(&self, text: &str) -> Vec<u32>;

    /// How many tokens [`Encoding::encode_ordinary_tokens`] gives.
    fn count_ordinary(&self, text: &str) -> usize {
        self.encode_ordinary_tokens(text).len()
    }

    /// The length in bytes of one token.
    fn token_len(&self, token: u32) -> usize;
}

impl Encoding for CoreBPE {
    fn encode_ordinary_tokens(&self, text: &str) -> Vec<u32> {
        self.encode_ordinary(text)
    }

    fn token_len(&self, token: u32) -> usize {
        // Only the length is needed; the bytes of one token need not be valid UTF-8.
        self.decode_bytes(&[token])
            .expect("tokens from encode_ordinary always decode")
            .len()
    }
}

impl Encoding for bpe_openai::Tokenizer {
    fn encode_ordinary_tokens(&self, text: &str) -> Vec<u32> {
        self.encode(text)
    }

    fn count_ordinary(&self, text: &str) -> usize {
        self.count(text)
    }

    fn token_len(&self, token: u32) -> usize {
        self.bpe.token_len(token)
    }
}

/// The tiktoken encoding a chat model uses: `o200k_base` for the gpt-4o generation and later
/// (gpt-4o, gpt-4.1, gpt-4.5, gpt-5*, o1*, o3*, o4*, chatgpt-4o, gpt-oss), `cl100k_base` for gpt-4,
/// gpt-3.5 and any model tiktoken does not know (e.g. a local llama served by vLLM), where it is
/// only an estimate of the real tokenizer.
///
/// Accepts provider-prefixed names (`openai/gpt-4o`), fine-tune names (`ft:gpt-4o-mini:org::id`)
/// and any letter case.
pub fn encoding_name_for_model(model: &str) -> &'static str {
    if uses_o200k(&base_model_name(model)) {
        "o200k_base"
    } else {
        "cl100k_base"
    }
}

/// The tiktoken-rs tokenizer of a chat model (see [`encoding_name_for_model`]).
///
/// Building a tokenizer takes a few hundred milliseconds, so each is built once per process: these
/// are tiktoken-rs's own lazily built singletons, shared with anything else that uses them.
pub fn tokenizer_for_model(model: &str) -> &'static CoreBPE {
    lazy_tokenizer_for_model(model).get()
}

/// The tokenizer of a chat model, built on first use: a cached rerun of an instruct lens never
/// counts a token, and building one is most of such a run's start-up.
pub fn lazy_tokenizer_for_model(model: &str) -> Tokenizer {
    match encoding_name_for_model(model) {
        "o200k_base" => Tokenizer::o200k_base(),
        _ => Tokenizer::cl100k_base(),
    }
}

/// A tokenizer that is built the first time it is used. It counts and encodes with `bpe-openai`
/// when it was made for an encoding ([`Tokenizer::cl100k_base`], [`Tokenizer::o200k_base`]), and
/// dereferences to tiktoken-rs's [`CoreBPE`] of the same encoding for code that needs that type.
#[derive(Clone, Copy)]
pub struct Tokenizer {
    tiktoken: fn() -> &'static CoreBPE,
    /// The same encoding in `bpe-openai` (with its own pre-tokenizer, `pretokenize.rs`); `None`
    /// for [`Tokenizer::lazy`], which knows only the tiktoken-rs singleton it was given.
    fast: Option<Pattern>,
}

impl Tokenizer {
    /// `singleton` is one of tiktoken-rs's lazily built singletons, e.g. `o200k_base_singleton`;
    /// tokens are counted with it.
    pub fn lazy(singleton: fn() -> &'static CoreBPE) -> Tokenizer {
        Tokenizer {
            tiktoken: singleton,
            fast: None,
        }
    }

    /// `cl100k_base` (gpt-4, gpt-3.5 and unknown models).
    pub fn cl100k_base() -> Tokenizer {
        Tokenizer {
            tiktoken: tiktoken_rs::cl100k_base_singleton,
            fast: Some(Pattern::Cl100k),
        }
    }

    /// `o200k_base` (gpt-4o and later).
    pub fn o200k_base() -> Tokenizer {
        Tokenizer {
            tiktoken: tiktoken_rs::o200k_base_singleton,
            fast: Some(Pattern::O200k),
        }
    }

    /// The tiktoken-rs tokenizer of this encoding (built on first use).
    pub fn get(self) -> &'static CoreBPE {
        (self.tiktoken)()
    }
}

impl std::ops::Deref for Tokenizer {
    type Target = CoreBPE;

    fn deref(&self) -> &CoreBPE {
        self.get()
    }
}

impl Encoding for Tokenizer {
    fn encode_ordinary_tokens(&self, text: &str) -> Vec<u32> {
        match self.fast {
            Some(fast) => memo::encode(fast, text),
            None => self.get().encode_ordinary_tokens(text),
        }
    }

    fn count_ordinary(&self, text: &str) -> usize {
        match self.fast {
            Some(fast) => memo::count(fast, text),
            None => self.get().count_ordinary(text),
        }
    }

    fn token_len(&self, token: u32) -> usize {
        match self.fast {
            Some(fast) => memo::tokenizer(fast).bpe.token_len(token),
            None => self.get().token_len(token),
        }
    }
}

/// `openai/GPT-4o` → `gpt-4o`; `ft:gpt-4o-mini:org::id` → `gpt-4o-mini`.
fn base_model_name(model: &str) -> String {
    let model = model.trim().to_ascii_lowercase();
    let model = model.rsplit('/').next().unwrap_or_default();
    match model.strip_prefix("ft:") {
        Some(fine_tune) => fine_tune.split(':').next().unwrap_or_default().to_string(),
        None => model.to_string(),
    }
}

fn uses_o200k(name: &str) -> bool {
    // gpt-oss uses o200k_harmony, which is o200k_base plus special tokens; we never encode special
    // tokens, so o200k_base counts its tokens exactly.
    const PREFIXES: [&str; 6] = [
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "chatgpt-4o",
        "gpt-oss",
    ];
    // The o-series, matched as a whole first word so that e.g. `o1x-local` is not caught.
    const SERIES: [&str; 3] = ["o1", "o3", "o4"];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || SERIES.iter().any(|series| {
            name.strip_prefix(series)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
}

/// Number of tokens in `text`, counting special tokens such as `<|endoftext|>` as plain text
/// (documents are data, not control sequences).
pub fn count_tokens<E: Encoding + ?Sized>(bpe: &E, text: &str) -> usize {
    let mut count = 0;
    let mut start = 0;
    for seam in seams(text) {
        count += bpe.count_ordinary(&text[start..seam]);
        start = seam;
    }
    count + bpe.count_ordinary(&text[start..])
}

/// Longest run of one kind of character (letters, whitespace, punctuation) encoded in one go.
pub(crate) const MAX_RUN_BYTES: usize = 4096;

/// `bpe.encode_ordinary(text)`, made safe and linear for pathological text by encoding long runs
/// of one kind of character in slices of [`MAX_RUN_BYTES`]:
/// - tiktoken's regex gives up on about a million whitespace characters followed by text
///   (fancy-regex's backtrack limit), and tiktoken-rs then panics;
/// - byte-pair merging slows down with the length of a word: 5 MB of CJK without punctuation took
///   15 s in one piece.
///
/// The tokens still cover the text byte for byte; only a seam may split its run differently.
pub(crate) fn encode<E: Encoding + ?Sized>(bpe: &E, text: &str) -> Vec<u32> {
    let mut tokens = Vec::new();
    let mut start = 0;
    for seam in seams(text) {
        tokens.extend(bpe.encode_ordinary_tokens(&text[start..seam]));
        start = seam;
    }
    tokens.extend(bpe.encode_ordinary_tokens(&text[start..]));
    tokens
}

/// Byte offsets (char boundaries) that cut every run of one kind of character into slices of at
/// most [`MAX_RUN_BYTES`]. Ordinary prose changes kind every few bytes and gets none.
pub(crate) fn seams(text: &str) -> Vec<usize> {
    let mut seams = Vec::new();
    if text.len() <= MAX_RUN_BYTES {
        return seams; // too short to hold a long run
    }
    // Every text the run counts goes through here, so ASCII bytes are classified by a table and
    // only other characters are decoded.
    static ASCII_KIND: [RunKind; 128] = {
        let mut kinds = [RunKind::Other; 128];
        let mut b = 0;
        while b < 128 {
            // What `RunKind::of` says of ASCII (`char::is_whitespace` is Unicode's White_Space).
            kinds[b] = match b as u8 {
                b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' => RunKind::Space,
                b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => RunKind::Word,
                _ => RunKind::Other,
            };
            b += 1;
        }
        kinds
    };
    let bytes = text.as_bytes();
    let (mut run_start, mut run_kind) = (0, RunKind::Other);
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let (this, width) = if byte < 0x80 {
            (ASCII_KIND[byte as usize], 1)
        } else {
            let c = text[at..].chars().next().expect("at is a char boundary");
            (RunKind::of(c), c.len_utf8())
        };
        if this != run_kind {
            (run_start, run_kind) = (at, this);
        } else if at - run_start >= MAX_RUN_BYTES {
            seams.push(at);
            run_start = at;
        }
        at += width;
    }
    seams
}

/// The kinds of character whose long runs [`seams`] cuts.
#[derive(Clone, Copy, PartialEq)]
enum RunKind {
    Space,
    Word,
    Other,
}

impl RunKind {
    fn of(c: char) -> RunKind {
        if c.is_whitespace() {
            RunKind::Space
        } else if c.is_alphanumeric() {
            RunKind::Word
        } else {
            RunKind::Other
        }
    }
}

/// The longest prefix of `text` that has at most `max_tokens` tokens, ending on a char boundary:
/// the text of its first `max_tokens` tokens, less the start of a character split by the last one.
///
/// The prefix always encodes to at most `max_tokens` on its own. (Re-encoding a prefix can merge
/// its cut-off end differently, e.g. "中文字" is "中" + "文字" but the whole text had "中", "文",
/// "字符", so a few more characters might fit; they are not hunted for.)
pub fn truncate_to_tokens<'a, E: Encoding + ?Sized>(
    bpe: &E,
    text: &'a str,
    max_tokens: usize,
) -> &'a str {
    // Only the head of the text matters, and encoding all of a 5 MB document takes about a second,
    // so encode a head that grows until it holds the answer.
    const MARGIN: usize = 16;
    let mut head_len = max_tokens.saturating_mul(8).max(4096);
    loop {
        let head = &text[..text.floor_char_boundary(head_len)];
        let tokens = encode(bpe, head);
        let whole = head.len() == text.len();
        if whole && tokens.len() <= max_tokens {
            return text;
        }
        // The last tokens of a head can differ from the whole text's (the head may end inside a
        // word), so a head is only trusted with some tokens to spare.
        if whole || tokens.len() > max_tokens.saturating_add(MARGIN) {
            return prefix_within(bpe, head, &tokens, max_tokens);
        }
        head_len = head_len.saturating_mul(2);
    }
}

/// The prefix of `text` ending at token boundary `max_tokens` of `tokens` (or the char boundary
/// before it), stepping back while the prefix on its own encodes to more than `max_tokens`.
fn prefix_within<'a, E: Encoding + ?Sized>(
    bpe: &E,
    text: &'a str,
    tokens: &[u32],
    max_tokens: usize,
) -> &'a str {
    let offsets = token_offsets(bpe, &tokens[..max_tokens.min(tokens.len())]);
    for &end in offsets.iter().rev() {
        let prefix = &text[..text.floor_char_boundary(end)];
        // A text cut mid-word can encode to more tokens than it took inside the whole text.
        if count_tokens(bpe, prefix) <= max_tokens {
            return prefix;
        }
    }
    ""
}

/// Byte offset of every token boundary: `offsets[i]` is where token `i` starts, and the last entry
/// is where the last token ends (the text's length, as encoding loses nothing).
pub(crate) fn token_offsets<E: Encoding + ?Sized>(bpe: &E, tokens: &[u32]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(tokens.len() + 1);
    let mut at = 0;
    offsets.push(at);
    for &token in tokens {
        at += bpe.token_len(token);
        offsets.push(at);
    }
    offsets
}

#[cfg(test)]
mod tests;

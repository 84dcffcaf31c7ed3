//! Text → hashed feature ids: word n-grams and optional character n-grams, fastText-style, in one
//! pass over the bytes with no allocation per token.
//!
//! Tokens are runs of ASCII letters and digits and of non-ASCII bytes (so any UTF-8 word is one
//! token), lowercased (ASCII); each other ASCII punctuation character is a token of its own, and
//! so is each line break; other whitespace only separates. Every token, and every run of up to
//! `word_ngrams` consecutive tokens, is hashed into one of `buckets` rows. Each input field hashes
//! with its own seed, so "yes" in an instruction and "yes" in an answer are different features.
//!
//! The hash is our own (an FxHash-style multiply-rotate, then a murmur finaliser) rather than a
//! crate's, because it is part of the model file format: a crate that changed its hash in a minor
//! release would silently change every saved model's predictions. `hash_is_stable` pins it.

/// What the features of a model are; stored in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureConfig {
    /// Rows of the embedding table every feature is hashed into.
    pub buckets: u32,
    /// Longest word n-gram (1 = words only, 2 = words and word pairs, …).
    pub word_ngrams: u8,
    /// Character n-grams of each word (with `<`/`>` marking its ends) from `char_min` to
    /// `char_max` bytes; `char_max == 0` means none.
    pub char_min: u8,
    pub char_max: u8,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            buckets: 1 << 18,
            word_ngrams: 2,
            char_min: 0,
            char_max: 0,
        }
    }
}

/// The longest word n-gram a model may use.
pub const MAX_WORD_NGRAMS: u8 = 5;
/// Mask of the ring of recent token hashes (8 slots, more than `MAX_WORD_NGRAMS`).
const RING: usize = 7;
/// The longest character n-gram a model may use.
pub const MAX_CHAR_NGRAM: u8 = 8;
/// Words longer than this many bytes add no character n-grams beyond their first `MAX_WORD_CHARS`
/// bytes (a 10 MB "word" of base64 must not cost 10 MB × n-gram lengths).
const MAX_WORD_CHARS: usize = 64;

impl FeatureConfig {
    /// The end of a sentence naming the first setting out of range, if any.
    pub fn check(&self) -> Result<(), String> {
        if self.buckets == 0 || self.buckets > super::format::MAX_BUCKETS {
            return Err(format!(
                "buckets is {}; it must be between 1 and {}",
                self.buckets,
                super::format::MAX_BUCKETS
            ));
        }
        if !(1..=MAX_WORD_NGRAMS).contains(&self.word_ngrams) {
            return Err(format!(
                "word n-grams is {}; it must be between 1 and {MAX_WORD_NGRAMS}",
                self.word_ngrams
            ));
        }
        if self.char_max != 0
            && (self.char_min == 0
                || self.char_min > self.char_max
                || self.char_max > MAX_CHAR_NGRAM)
        {
            return Err(format!(
                "character n-grams are {}-{}; give MIN-MAX with 1 <= MIN <= MAX <= {MAX_CHAR_NGRAM}",
                self.char_min, self.char_max
            ));
        }
        Ok(())
    }

    /// "word 1-2-grams, 262144 buckets" (+ ", char 3-5-grams"), for the model card and messages.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "word 1-{}-grams, {} hash buckets",
            self.word_ngrams, self.buckets
        );
        if self.char_max > 0 {
            s.push_str(&format!(
                ", character {}-{}-grams",
                self.char_min, self.char_max
            ));
        }
        s
    }
}

const K: u64 = 0x517c_c1b7_2722_0a95;

/// One byte into a running hash (FxHash's step).
#[inline(always)]
fn step(h: u64, b: u8) -> u64 {
    (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K)
}

/// Two hashes into one, order-sensitive (for n-grams of tokens).
#[inline(always)]
fn combine(a: u64, b: u64) -> u64 {
    (a.rotate_left(23) ^ b).wrapping_mul(K)
}

/// Spread every input bit over the high bits (murmur3's finaliser), which pick the bucket.
#[inline(always)]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A hash → a bucket in `0..buckets` (multiply-shift, no division).
#[inline(always)]
fn bucket(h: u64, buckets: u32) -> u32 {
    (((finish(h) >> 32) * u64::from(buckets)) >> 32) as u32
}

/// Byte classes, one table lookup per byte.
const SEP: u8 = 0;
const WORD: u8 = 1;
const PUNCT: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [PUNCT; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphanumeric() || b >= 0x80 {
            WORD
        } else if b == b'\n' {
            PUNCT
        } else if b.is_ascii_whitespace() || b.is_ascii_control() {
            SEP
        } else {
            PUNCT
        };
        i += 1;
    }
    t
};

/// Seeds that keep the kinds of features apart: a word, a pair and a character n-gram with the
/// same bytes land in unrelated buckets.
const FIELD_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const CHAR_SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// Call `emit` with the bucket of every feature of `fields` (the lens's input fields, in order);
/// returns how many there were.
pub fn for_each(config: &FeatureConfig, fields: &[&str], mut emit: impl FnMut(u32)) -> usize {
    let mut count = 0;
    let mut out = |h: u64| {
        emit(bucket(h, config.buckets));
        count += 1;
    };
    let n = usize::from(config.word_ngrams.clamp(1, MAX_WORD_NGRAMS));
    for (field, text) in fields.iter().enumerate() {
        let seed = FIELD_SEED.wrapping_mul(field as u64 + 1);
        // The last token hashes, token `p` at `recent[p & RING]` (a power of two: no division).
        let mut recent = [0u64; RING + 1];
        let mut seen = 0usize;
        let mut token = |h: u64, out: &mut dyn FnMut(u64)| {
            out(h);
            let mut g = h;
            for back in 1..n.min(seen + 1) {
                g = combine(recent[(seen - back) & RING], g);
                out(g ^ (back as u64));
            }
            recent[seen & RING] = h;
            seen += 1;
        };
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match CLASS[bytes[i] as usize] {
                SEP => i += 1,
                PUNCT => {
                    token(step(seed, bytes[i]), &mut out);
                    i += 1;
                }
                _ => {
                    let start = i;
                    let mut h = seed;
                    while i < bytes.len() && CLASS[bytes[i] as usize] == WORD {
                        h = step(h, bytes[i].to_ascii_lowercase());
                        i += 1;
                    }
                    // A word hash never equals a punctuation hash of the same byte: words get one
                    // more step.
                    token(step(h, 0xff), &mut out);
                    if config.char_max > 0 {
                        char_ngrams(config, seed, &bytes[start..i], &mut out);
                    }
                }
            }
        }
    }
    count
}

/// The character n-grams of one word, `<` and `>` marking its start and end, as fastText does.
fn char_ngrams(config: &FeatureConfig, seed: u64, word: &[u8], out: &mut dyn FnMut(u64)) {
    let word = &word[..word.len().min(MAX_WORD_CHARS)];
    let len = word.len() + 2;
    let at = |i: usize| -> u8 {
        match i {
            0 => b'<',
            i if i == len - 1 => b'>',
            i => word[i - 1].to_ascii_lowercase(),
        }
    };
    let (min, max) = (usize::from(config.char_min), usize::from(config.char_max));
    for start in 0..len {
        let mut h = seed ^ CHAR_SEED;
        for end in start..len.min(start + max) {
            h = step(h, at(end));
            let n = end - start + 1;
            // The whole "<word>" is the word feature already.
            if n >= min && n < len {
                out(h ^ (n as u64));
            }
        }
    }
}

/// Every feature of `fields` appended to `out`, in order; returns how many.
pub fn collect(config: &FeatureConfig, fields: &[&str], out: &mut Vec<u32>) -> usize {
    for_each(config, fields, |b| out.push(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(config: &FeatureConfig, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        collect(config, &[text], &mut out);
        out
    }

    #[test]
    fn hash_is_stable() {
        // Saved models depend on these exact buckets: a change here breaks every model file.
        // "the", "cat", ",", "sat", "." and the four pairs.
        let config = FeatureConfig::default();
        assert_eq!(
            features(&config, "The cat, sat."),
            [
                219_936, 233_274, 37_334, 167_463, 260_372, 68_021, 60_126, 260_426, 146_216
            ]
        );
    }

    #[test]
    fn words_pairs_and_punctuation_are_tokens() {
        let words = FeatureConfig {
            word_ngrams: 1,
            ..Default::default()
        };
        // the, cat, ",", sat, "." and a line break.
        assert_eq!(features(&words, "the cat, sat.\n").len(), 6);
        // Pairs add one feature per token after the first.
        let pairs = FeatureConfig::default();
        assert_eq!(features(&pairs, "the cat, sat.\n").len(), 11);
        let triples = FeatureConfig {
            word_ngrams: 3,
            ..Default::default()
        };
        assert_eq!(features(&triples, "a b c d").len(), 4 + 3 + 2);
    }

    #[test]
    fn case_and_spacing_do_not_matter_but_order_and_fields_do() {
        let c = FeatureConfig::default();
        assert_eq!(
            features(&c, "Hello World"),
            features(&c, "  hello \t world ")
        );
        assert_ne!(features(&c, "hello world"), features(&c, "world hello"));
        let mut a = Vec::new();
        collect(&c, &["", "hello"], &mut a);
        assert_ne!(a, features(&c, "hello"));
        // Non-ASCII words are one token each, kept as they are.
        assert_eq!(features(&c, "Über straße").len(), 3);
        assert_ne!(features(&c, "über"), features(&c, "Über"));
    }

    #[test]
    fn char_ngrams_follow_fasttext_boundaries() {
        let c = FeatureConfig {
            word_ngrams: 1,
            char_min: 3,
            char_max: 3,
            ..Default::default()
        };
        // "<ab>" has the 3-grams "<ab" and "ab>", besides the word itself.
        assert_eq!(features(&c, "ab").len(), 3);
        // A huge word costs at most MAX_WORD_CHARS positions.
        let long = "x".repeat(1_000_000);
        assert!(features(&c, &long).len() <= MAX_WORD_CHARS + 3);
    }

    #[test]
    fn buckets_stay_in_range_and_spread() {
        let c = FeatureConfig {
            buckets: 1000,
            ..Default::default()
        };
        let text: String = (0..5000).map(|i| format!("w{i} ")).collect();
        let f = features(&c, &text);
        assert!(f.iter().all(|&b| b < 1000));
        let distinct: std::collections::HashSet<_> = f.iter().collect();
        assert!(distinct.len() > 990, "{}", distinct.len());
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = FeatureConfig {
            word_ngrams: 0,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains("word n-grams"));
        let bad = FeatureConfig {
            char_min: 5,
            char_max: 3,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains("character n-grams"));
        assert!(FeatureConfig::default().check().is_ok());
    }
}

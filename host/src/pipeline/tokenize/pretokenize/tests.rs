//! The hand-written pre-tokenizer must cut exactly where `bpe-openai`'s regex cuts, for both
//! encodings: checked piece by piece on seeded random mixtures of every kind of character the
//! rules tell apart, and on ASCII text, where the byte rules must decide every piece themselves.

use super::*;

const BOTH: [Pattern; 2] = [Pattern::Cl100k, Pattern::O200k];

fn bpe(pattern: Pattern) -> &'static bpe_openai::Tokenizer {
    super::super::memo::tokenizer(pattern)
}

/// What random text is made of: every class the rules (or the regex) distinguish, and the
/// sequences where they meet.
const ATOMS: &[&str] = &[
    // ASCII letters, words, case changes
    "a",
    "Z",
    "word",
    "Word",
    "WORD",
    "camelCase",
    "XMLHttp",
    "iPhone",
    "x",
    // digits
    "1",
    "12",
    "123",
    "1234567",
    "0",
    // whitespace
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " \n",
    "\t \n ",
    "\u{0B}",
    "\u{0C}",
    // punctuation and symbols, including what the rules single out
    ".",
    ",",
    "!",
    "?!",
    "...",
    "(",
    ")",
    "{}",
    "[",
    "]",
    "-",
    "_",
    "/",
    "//",
    "\\",
    "\"",
    "#",
    "@",
    "$",
    "%",
    "&",
    "*",
    "+",
    "=",
    "<",
    ">",
    "|",
    "~",
    "`",
    "^",
    ":",
    ";",
    "\u{0}",
    "\u{1F}",
    "\u{7F}",
    // apostrophes and contractions in every case, complete and cut short
    "'",
    "''",
    "'s",
    "'S",
    "'t",
    "'T",
    "'re",
    "'RE",
    "'rE",
    "'r",
    "'ve",
    "'Ve",
    "'v",
    "'m",
    "'M",
    "'ll",
    "'LL",
    "'l",
    "'d",
    "'D",
    "'x",
    "n't",
    "'ſ",
    "'ſt",
    // the special-token marker, which is plain text here
    "<|endoftext|>",
    // non-ASCII letters: Ll, Lu, Lt, Lm, Lo, and letters that case-fold to ASCII (ſ, K)
    "é",
    "É",
    "ß",
    "ſ",
    "\u{212A}",
    "İ",
    "ǅ",
    "ᾈ",
    "ʰ",
    "ー",
    "ー",
    "א",
    "ก",
    "中",
    "文字",
    "日本語",
    "한국어",
    "Привет",
    "Ωμέγα",
    // combining marks (not normalised)
    "\u{301}",
    "e\u{301}",
    "\u{303}\u{30a}",
    "\u{93f}",
    // non-ASCII numbers: Nd, Nl, No
    "٣",
    "४",
    "１２",
    "Ⅻ",
    "①",
    "½",
    // non-ASCII whitespace
    "\u{a0}",
    "\u{2003}",
    "\u{3000}",
    "\u{85}",
    "\u{2028}",
    "\u{202F}",
    // non-ASCII punctuation and symbols, emoji sequences
    "…",
    "，",
    "。",
    "«",
    "»",
    "€",
    "—",
    "😀",
    "👩\u{200d}👩\u{200d}👧",
    "👍🏽",
    "🇫🇷",
    "❤️",
    "\u{fe0f}",
    "\u{200b}",
];

use crate::pipeline::test_rng::Rng;

fn random_text(rng: &mut Rng, atoms: &[&str]) -> String {
    (0..rng.below(40))
        .map(|_| atoms[rng.below(atoms.len())])
        .collect()
}

fn our_pieces(pattern: Pattern, text: &str) -> Vec<&str> {
    let mut cache = pattern.regex().create_cache();
    split(pattern, text, &mut cache).collect()
}

/// How many random texts each fuzz test tries: `PRETOKENIZE_FUZZ=1000000` for a deeper run.
fn fuzz_texts() -> usize {
    std::env::var("PRETOKENIZE_FUZZ")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

#[test]
fn pieces_match_bpe_openai_on_random_mixtures() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..fuzz_texts() {
        let text = random_text(&mut rng, ATOMS);
        for pattern in BOTH {
            let want: Vec<&str> = bpe(pattern).split(&text).collect();
            assert_eq!(our_pieces(pattern, &text), want, "{pattern:?} {text:?}");
        }
    }
}

#[test]
fn byte_rules_agree_with_the_regex_wherever_they_decide() {
    // Each rule is checked at every piece start of the regex's own split, so a wrong rule shows
    // at the very piece it gets wrong, whatever the pieces after it.
    let mut rng = Rng(42);
    for _ in 0..fuzz_texts() {
        let text = random_text(&mut rng, ATOMS);
        for pattern in BOTH {
            let mut at = 0;
            for piece in bpe(pattern).split(&text) {
                let decided = match pattern {
                    Pattern::Cl100k => cl100k_piece(text.as_bytes(), at),
                    Pattern::O200k => o200k_piece(text.as_bytes(), at),
                };
                if let Some(end) = decided {
                    assert_eq!(&text[at..end], piece, "{pattern:?} at {at} of {text:?}");
                }
                at += piece.len();
            }
        }
    }
}

#[test]
fn byte_rules_decide_every_ascii_piece() {
    let ascii: Vec<&str> = ATOMS.iter().copied().filter(|a| a.is_ascii()).collect();
    let mut rng = Rng(7);
    for _ in 0..fuzz_texts() {
        let text = random_text(&mut rng, &ascii);
        for pattern in BOTH {
            let mut at = 0;
            for piece in bpe(pattern).split(&text) {
                let decided = match pattern {
                    Pattern::Cl100k => cl100k_piece(text.as_bytes(), at),
                    Pattern::O200k => o200k_piece(text.as_bytes(), at),
                };
                assert_eq!(
                    decided,
                    Some(at + piece.len()),
                    "{pattern:?} at {at} of {text:?}"
                );
                at += piece.len();
            }
        }
    }
}

#[test]
fn known_cuts() {
    let cases: [(Pattern, &str, &[&str]); 8] = [
        (Pattern::Cl100k, "I'm here", &["I", "'m", " here"]),
        (Pattern::O200k, "I'm here", &["I'm", " here"]),
        (Pattern::Cl100k, "a  \n\n b", &["a", "  \n\n", " b"]),
        (Pattern::Cl100k, "x   y", &["x", "  ", " y"]),
        (
            Pattern::O200k,
            "HELLOworld XMLHttp",
            &["HELLOworld", " XMLHttp"],
        ),
        (
            Pattern::Cl100k,
            "12345 ...\n\nend  ",
            &["123", "45", " ...\n\n", "end", "  "],
        ),
        (Pattern::O200k, "café 中文", &["café", " 中文"]),
        (Pattern::Cl100k, "\u{a0}\u{a0}x", &["\u{a0}", "\u{a0}x"]),
    ];
    for (pattern, text, want) in cases {
        assert_eq!(our_pieces(pattern, text), want, "{pattern:?} {text:?}");
        assert_eq!(bpe(pattern).split(text).collect::<Vec<_>>(), want);
    }
}

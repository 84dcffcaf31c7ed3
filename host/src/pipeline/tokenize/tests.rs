//! `bpe-openai` must give exactly tiktoken's tokens: every count, truncation and chunk boundary of the
//! run depends on it. Compared on hand-picked hard cases and on generated mixtures of them.

use super::*;
use crate::pipeline::chunk::{ChunkSettings, chunk_ranges};

/// Each fast tokenizer with the tiktoken-rs one it must match.
fn pairs() -> [(&'static str, Tokenizer, &'static CoreBPE); 2] {
    [
        (
            "cl100k_base",
            Tokenizer::cl100k_base(),
            tiktoken_rs::cl100k_base_singleton(),
        ),
        (
            "o200k_base",
            Tokenizer::o200k_base(),
            tiktoken_rs::o200k_base_singleton(),
        ),
    ]
}

/// Hard cases: scripts without spaces, emoji sequences, code, whitespace of every kind and length,
/// special-token markers, digits, contractions and combining marks (which are not normalised).
const CASES: &[&str] = &[
    "",
    " ",
    "hello world",
    "日本語の文章を書きます。東京は大きい都市です。",
    "中文字符和标点符号，还有数字123456789。",
    "한국어 텍스트와 English mixed 텍스트",
    "Привет, мир! Ελληνικά κείμενα. العربية نص. हिन्दी पाठ. ภาษาไทย",
    "😀🎉🎉 👩‍👩‍👧 👍🏽 🇫🇷🇯🇵 ❤️‍🔥 🦀",
    "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n\tprintln!(\"{x:?}\");\n}\n",
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": None}  # comment\n\n\n\nclass A:\n\tpass\r\n",
    "{\"key\": \"value\", \"n\": 12345.678e-9, \"list\": [true, false, null]}",
    "<|endoftext|>",
    "text<|endoftext|>more <|fim_prefix|><|fim_middle|> <|im_start|>user\n<|im_end|>",
    "   leading and trailing   ",
    "a\n\n\n\nb\r\n\r\nc \n \n d\t\t\te",
    "\u{a0}\u{a0}nbsp\u{2003}em space\u{3000}ideographic",
    "1234567890 12 123 1234 3.14159 1,000,000",
    "I'm you're he'll they've she'd IT'S WE'LL O'Neil rock'n'roll",
    "e\u{301}te\u{301} cafe\u{301} n\u{303} a\u{30a}",
    "https://example.com/path?query=1&x=y#frag user@example.com",
    "!!!??? ... …… --- *** ### @@@ $$$ %%% ^^^",
    "CamelCaseWord XMLHttpRequest iPhone macOS McDonald's",
    "path/to\n//comment\r\n/x 'll 'LL 'ſ n't O'Reilly's don'T\u{212A}",
    "ǅemal ᾈx ʰx ーー ٣४ Ⅻ① ½ 中文123字 x٣y",
];

fn assert_same(name: &str, fast: &Tokenizer, tiktoken: &CoreBPE, text: &str) {
    let want = tiktoken.encode_ordinary(text);
    assert_eq!(
        fast.encode_ordinary_tokens(text),
        want,
        "{name} tokens of {text:?}"
    );
    assert_eq!(
        fast.count_ordinary(text),
        want.len(),
        "{name} count of {text:?}"
    );
    assert_eq!(count_tokens(fast, text), count_tokens(tiktoken, text));
}

#[test]
fn hard_cases_match_tiktoken() {
    for (name, fast, tiktoken) in pairs() {
        for text in CASES {
            assert_same(name, &fast, tiktoken, text);
        }
    }
}

#[test]
fn long_whitespace_runs_match_tiktoken() {
    // Runs longer than tiktoken's regex handles go through seams; below that, in one piece.
    let texts = [
        format!("start{}end", " ".repeat(3000)),
        format!("start{}end", "\n".repeat(2000)),
        format!("a{}b", " \t".repeat(1500)),
        format!("x{}", " ".repeat(4000)),
        format!("{}word", "\u{a0}".repeat(1000)),
        format!(
            "Start.\n{}end of it.\n{}x",
            " ".repeat(50_000),
            "\u{a0}".repeat(20_000)
        ),
    ];
    for (name, fast, tiktoken) in pairs() {
        for text in &texts {
            assert_eq!(
                count_tokens(&fast, text),
                count_tokens(tiktoken, text),
                "{name}"
            );
            assert_eq!(encode(&fast, text), encode(tiktoken, text), "{name}");
        }
    }
}

use crate::pipeline::test_rng::Rng;

/// Random mixtures of slices of the hard cases, joined by random separators.
fn mixture(rng: &mut Rng) -> String {
    const SEPARATORS: [&str; 8] = [" ", "", "\n", "  ", "\r\n", "\t", "'", " <|endoftext|> "];
    let mut text = String::new();
    for _ in 0..1 + rng.below(12) {
        let case = CASES[rng.below(CASES.len())];
        let start = case.floor_char_boundary(rng.below(case.len() + 1));
        let end = case.ceil_char_boundary(start + rng.below(case.len() + 1 - start));
        text.push_str(&case[start..end.max(start)]);
        text.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
    }
    text
}

#[test]
fn mixtures_match_tiktoken() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..400 {
        let text = mixture(&mut rng);
        for (name, fast, tiktoken) in pairs() {
            assert_same(name, &fast, tiktoken, &text);
        }
    }
}

#[test]
fn truncation_and_chunks_match_tiktoken() {
    let mut rng = Rng(77);
    let mut doc = String::new();
    while doc.len() < 40_000 {
        doc.push_str(&mixture(&mut rng));
        doc.push('\n');
    }
    let small = ChunkSettings {
        tokens_per_chunk: 700,
        chunks_per_doc: 3,
        max_search_distance: 40,
        min_chunk_chars: 0,
    };
    for (name, fast, tiktoken) in pairs() {
        for max in [0, 1, 7, 100, 1500, 5000, usize::MAX] {
            assert_eq!(
                truncate_to_tokens(&fast, &doc, max),
                truncate_to_tokens(tiktoken, &doc, max),
                "{name} at {max} tokens"
            );
        }
        for settings in [ChunkSettings::default(), small] {
            for len in [500, 5_000, 12_000, doc.len()] {
                let text = &doc[..doc.floor_char_boundary(len)];
                assert_eq!(
                    chunk_ranges(&fast, text, &settings),
                    chunk_ranges(tiktoken, text, &settings),
                    "{name}, {len} bytes"
                );
            }
        }
    }
}

#[test]
fn model_tokenizers_use_the_fast_encoder_of_their_encoding() {
    for (model, tiktoken) in [
        ("gpt-4", tiktoken_rs::cl100k_base_singleton()),
        ("gpt-4o-mini", tiktoken_rs::o200k_base_singleton()),
    ] {
        let tokenizer = lazy_tokenizer_for_model(model);
        assert!(tokenizer.fast.is_some(), "{model}");
        assert!(std::ptr::eq(tokenizer.get(), tiktoken), "{model}");
        // Token ids differ between the two encodings, so a mix-up would show.
        let text = "hello world, 日本語 and emoji 😀";
        assert_eq!(
            tokenizer.encode_ordinary_tokens(text),
            tiktoken.encode_ordinary(text),
            "{model}"
        );
    }
    let plain = Tokenizer::lazy(tiktoken_rs::o200k_base_singleton);
    assert!(plain.fast.is_none());
    assert_eq!(count_tokens(&plain, "hello world"), 2);
}

#[test]
fn seams_cut_runs_as_char_by_char_classification_does() {
    // The reference: every character classified by `char` methods, no byte table.
    fn reference(text: &str) -> Vec<usize> {
        let kind = |c: char| (c.is_whitespace(), c.is_alphanumeric());
        let mut seams = Vec::new();
        if text.len() <= MAX_RUN_BYTES {
            return seams;
        }
        let (mut run_start, mut run_kind) = (0, (false, false));
        for (at, c) in text.char_indices() {
            if kind(c) != run_kind {
                (run_start, run_kind) = (at, kind(c));
            } else if at - run_start >= MAX_RUN_BYTES {
                seams.push(at);
                run_start = at;
            }
        }
        seams
    }
    let all_ascii: String = (0u8..128).map(char::from).collect();
    let mut rng = Rng(99);
    let pieces = [
        "a", "Z9", " ", "\t", "\u{0B}", "\u{1C}", "\u{1F}", "\u{85}", "\u{a0}", "中", "é", "😀",
        "-", "\u{7F}", "٣", "\u{3000}",
    ];
    for _ in 0..200 {
        let piece = pieces[rng.below(pieces.len())];
        let mut text = piece.repeat(rng.below(6000) / piece.len().max(1));
        for _ in 0..rng.below(4) {
            text.push_str(&all_ascii);
            text.push_str(&pieces[rng.below(pieces.len())].repeat(rng.below(3000)));
        }
        assert_eq!(
            seams(&text),
            reference(&text),
            "{:?}",
            &text[..text.len().min(40)]
        );
    }
}

//! The CPU path end to end: `summary … heuristic_quality` (a local lens: read, score every row in
//! its WebAssembly component, write the outputs) and `summary … textbook_quality --dry-run` (read,
//! chunk, render, count tokens), each run as the release `classified` program on a generated corpus
//! of web-like text (~31.5 MB, 20,000 rows), reported in MB/s per core of CPU time (user + sys, from
//! `/usr/bin/time`), which does not depend on how many cores the machine has.
//!
//! Run: `cargo bench -p classified --bench cpu_path`. To compare with another build (e.g. `main`),
//! point `CPU_BENCH_BASELINE` at its `classified` binary: both are then measured side by side, in
//! alternation. `CPU_BENCH_ROWS` shrinks the corpus for a quick run; `CPU_BENCH_RUNS` (default 3)
//! sets how many runs of each command are taken (the best one is reported).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROWS: usize = 20_000;
/// Mean text length in bytes: 20,000 rows of it are about 31.5 MB.
const MEAN_BYTES: usize = 1_575;

fn main() {
    let rows = env_number("CPU_BENCH_ROWS").unwrap_or(ROWS);
    let runs = env_number("CPU_BENCH_RUNS").unwrap_or(3).max(1);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let root = target.join("cpu-bench");
    std::fs::create_dir_all(&root).expect("creates target/cpu-bench");
    let corpus = root.join(format!("web-{rows}.jsonl"));
    let text_bytes = write_corpus(&corpus, rows);
    eprintln!(
        "corpus: {} ({rows} rows, {:.1} MB of text, {:.1} MB on disk)",
        corpus.display(),
        text_bytes as f64 / 1e6,
        std::fs::metadata(&corpus).unwrap().len() as f64 / 1e6
    );

    let mut programs = vec![(
        "this build",
        PathBuf::from(env!("CARGO_BIN_EXE_classified")),
    )];
    if let Some(baseline) = std::env::var_os("CPU_BENCH_BASELINE") {
        programs.insert(0, ("baseline", PathBuf::from(baseline)));
    }
    let commands: [(&str, &[&str]); 2] = [
        ("heuristic_quality", &["heuristic_quality"]),
        (
            "textbook_quality --dry-run",
            &["textbook_quality", "--dry-run"],
        ),
    ];

    // (command, program) → best run.
    let mut best: Vec<Vec<Option<Measured>>> = vec![vec![None; programs.len()]; commands.len()];
    for round in 0..=runs {
        for (c, (_, args)) in commands.iter().enumerate() {
            for (p, (name, program)) in programs.iter().enumerate() {
                let m = measure(program, &corpus, args, &root);
                // Round 0 warms up: the component is compiled and cached, files are in the page cache.
                if round == 0 {
                    continue;
                }
                eprintln!(
                    "{name}: {} — {:.2} CPU-s, {:.2} s wall",
                    commands[c].0, m.cpu, m.wall
                );
                let slot = &mut best[c][p];
                if slot.as_ref().is_none_or(|b| m.cpu < b.cpu) {
                    *slot = Some(m);
                }
            }
        }
    }

    let mut header = "| command |".to_string();
    let mut rule = "| --- |".to_string();
    for (name, _) in &programs {
        write!(header, " {name}: CPU-s | wall s | MB/s per core |").unwrap();
        rule.push_str(" ---: | ---: | ---: |");
    }
    println!("{header}\n{rule}");
    for (c, (label, _)) in commands.iter().enumerate() {
        let mut line = format!("| `{label}` |");
        for m in best[c].iter().flatten() {
            write!(
                line,
                " {:.2} | {:.2} | {:.1} |",
                m.cpu,
                m.wall,
                text_bytes as f64 / 1e6 / m.cpu
            )
            .unwrap();
        }
        println!("{line}");
    }
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[derive(Debug, Clone)]
struct Measured {
    /// User + system CPU seconds.
    cpu: f64,
    wall: f64,
}

/// One run of `program summary CORPUS text ARGS…` in a fresh output folder (the component cache is
/// shared, so only the warm-up run compiles the component).
fn measure(program: &Path, corpus: &Path, args: &[&str], root: &Path) -> Measured {
    let work = tempfile::tempdir_in(root).unwrap();
    // `/usr/bin/time -f` prints its line last on stderr: user and system CPU seconds, wall seconds.
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %e"])
        .arg(program)
        .arg("summary")
        .arg(corpus)
        .arg("text")
        .args(args)
        .current_dir(work.path())
        .env("DATA_DIR", work.path().join("data"))
        .env("CLASSIFIED_CACHE_DIR", root.join("component-cache"))
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("runs /usr/bin/time (apt-get install time)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{stderr}",
        program.display()
    );
    let numbers: Vec<f64> = stderr
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [user, sys, wall] = numbers[..] else {
        panic!("no timing line from /usr/bin/time:\n{stderr}");
    };
    Measured {
        cpu: user + sys,
        wall,
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/// Writes `rows` JSON lines (`id`, `url`, `text`) to `path` unless it is already there, and returns
/// the total bytes of the `text` values. The same `rows` always gives the same file.
fn write_corpus(path: &Path, rows: usize) -> u64 {
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut out = Vec::with_capacity(rows * (MEAN_BYTES + 100));
    let mut text_bytes = 0;
    for id in 0..rows {
        let text = document(&mut rng);
        text_bytes += text.len() as u64;
        let line = serde_json::json!({
            "id": id,
            "url": format!("https://{}.example.com/{}/{id}", word(&mut rng), word(&mut rng)),
            "text": text,
        });
        writeln!(out, "{line}").unwrap();
    }
    let fresh = std::fs::read(path).ok().is_none_or(|old| old != out);
    if fresh {
        std::fs::write(path, &out).expect("writes the corpus");
    }
    text_bytes
}

/// A small deterministic generator (xorshift64*), so the corpus never changes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Roughly Zipf-distributed index below `n`: common items come up far more often.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
    }
}

const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "she",
    "other",
    "its",
    "may",
    "these",
    "what",
    "them",
    "than",
    "some",
    "him",
    "time",
    "into",
    "only",
    "do",
    "years",
    "new",
    "also",
    "about",
    "first",
    "people",
    "many",
    "most",
    "over",
    "after",
    "between",
    "through",
    "school",
    "water",
    "system",
    "world",
    "state",
    "during",
    "because",
    "under",
    "research",
    "students",
    "health",
    "government",
    "company",
    "business",
    "information",
    "development",
    "program",
    "service",
    "community",
    "history",
    "important",
    "different",
    "however",
    "support",
    "example",
    "process",
    "including",
    "public",
    "university",
    "market",
    "energy",
    "children",
    "experience",
    "available",
    "technology",
    "national",
    "online",
    "design",
    "quality",
    "family",
    "science",
    "training",
    "software",
    "customers",
    "website",
];

const SYLLABLES: &[&str] = &[
    "ka", "ro", "men", "tis", "al", "ber", "con", "du", "fra", "gel", "ix", "jo", "lan", "mor",
    "nu", "pre", "qua", "ris", "sta", "tor", "ul", "ven", "wex", "yor", "zen", "ph", "th", "ing",
    "tion", "ment", "er", "ly", "ous", "ic", "able",
];

const FOREIGN: &[&str] = &[
    "déjà",
    "über",
    "straße",
    "façade",
    "año",
    "naïve",
    "crème",
    "São",
    "Zürich",
    "Ærø",
    "日本語",
    "東京",
    "中文",
    "学习",
    "한국어",
    "서울",
    "Москва",
    "данные",
    "ελληνικά",
    "café",
];

const EMOJI: &[&str] = &["😀", "🎉", "🚀", "👍", "❤️", "🔥", "✅", "👩‍💻"];

/// A word: common English most of the time, else an invented one (rarer, more tokens).
fn word(rng: &mut Rng) -> String {
    if rng.chance(78) {
        COMMON[rng.zipf(COMMON.len())].to_string()
    } else if rng.chance(97) {
        (0..1 + rng.below(3))
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect()
    } else {
        FOREIGN[rng.below(FOREIGN.len())].to_string()
    }
}

fn sentence(rng: &mut Rng) -> String {
    let n = 6 + rng.below(18);
    let mut s = String::new();
    for i in 0..n {
        let mut w = word(rng);
        // Short-circuits as before: the first word draws no random number.
        if i == 0 || rng.chance(4) {
            w = capitalize(&w);
        }
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&w);
        if i + 1 < n && rng.chance(7) {
            s.push(',');
        }
        if rng.chance(2) {
            write!(s, " {}", rng.below(2030)).unwrap();
        }
    }
    s.push_str([".", ".", ".", ".", "?", "!", "..."][rng.below(7)]);
    if rng.chance(2) {
        s.push(' ');
        s.push_str(EMOJI[rng.below(EMOJI.len())]);
    }
    s
}

fn capitalize(w: &str) -> String {
    let mut chars = w.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One page of text, about `MEAN_BYTES` long on average (from a tenth of it to about six times).
fn document(rng: &mut Rng) -> String {
    // A skewed length: most pages are short, a few are long.
    let target = match rng.below(10) {
        0..=2 => 120 + rng.below(550),
        3..=7 => 550 + rng.below(1400),
        _ => 1600 + rng.below(3900),
    };
    let kind = rng.below(100);
    let mut text = String::with_capacity(target + 200);
    if rng.chance(40) {
        // A header of navigation links, as scraped pages have.
        for _ in 0..2 + rng.below(5) {
            writeln!(text, "{}", capitalize(&word(rng))).unwrap();
        }
        text.push('\n');
    }
    while text.len() < target {
        match kind {
            // Prose: paragraphs of sentences.
            0..=64 => {
                for _ in 0..1 + rng.below(5) {
                    text.push_str(&sentence(rng));
                    text.push(' ');
                }
                text.pop();
                text.push_str("\n\n");
            }
            // Lists: bullets, short lines.
            65..=79 => {
                let bullet = ["- ", "* ", "• ", "1. "][rng.below(4)];
                for _ in 0..2 + rng.below(6) {
                    let line: Vec<String> = (0..2 + rng.below(8)).map(|_| word(rng)).collect();
                    writeln!(text, "{bullet}{}", line.join(" ")).unwrap();
                }
                text.push('\n');
            }
            // Boilerplate and spam: repeated lines, hashtags, ellipses.
            80..=89 => {
                let line = [
                    "Click here to subscribe to our newsletter!",
                    "Copyright 2024 All rights reserved.",
                    "#deal #sale #cheap #free shipping...",
                    "Read more...",
                    "Share this: Facebook Twitter Email",
                ][rng.below(5)];
                for _ in 0..1 + rng.below(4) {
                    text.push_str(line);
                    text.push('\n');
                }
                text.push_str(&sentence(rng));
                text.push('\n');
            }
            // Code.
            _ => {
                let name = word(rng);
                writeln!(
                    text,
                    "def {name}_{}(x, y={}):\n    \"\"\"{}\"\"\"\n    if x > {}:\n        return x * y + {}\n    return [i for i in range(x)]\n",
                    rng.below(100),
                    rng.below(10),
                    sentence(rng),
                    rng.below(1000),
                    rng.below(50)
                )
                .unwrap();
            }
        }
    }
    text.truncate(text.trim_end().len());
    text
}

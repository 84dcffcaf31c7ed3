//! A lens component that misbehaves on request, for the sandbox tests: the row's `text` field names
//! what to do. Anything else scores normally, so a test can check that the next row still works.
//! What it does in `describe` (its bucket names) is set by the lens's config.json, since `describe`
//! sees no row: `"hostile": {"bucket_names": N, "noisy_describe": true, "panic_in_describe": true}`.

use classified_lens::host::{self, Level};
use classified_lens::{Error, Fields, Lens, Prepared, Scored, Stage};
use classified_lens::serde_json;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Hostile;

/// What the `leak` row keeps for good: 8 MiB more per call.
static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// What the `hold 40` row keeps: 40 MiB, once per instance.
static HELD: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn setting(key: &str) -> serde_json::Value {
    host::lens_config()["hostile"][key].clone()
}

/// About `millions` million rounds of integer work, for a component of known cost.
fn spin(millions: u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..millions * 1_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = std::hint::black_box(x);
    }
    x
}

impl Lens for Hostile {
    const STAGES: &'static [Stage] = &[
        Stage::Preprocess,
        Stage::Postprocess,
        Stage::Bucket,
        Stage::Score,
    ];

    fn bucket_names(&self) -> Vec<String> {
        if setting("noisy_describe").as_bool() == Some(true) {
            println!("describe says hello on stdout");
            eprintln!("describe says hello on stderr");
        }
        if setting("panic_in_describe").as_bool() == Some(true) {
            panic!("describe was asked to panic");
        }
        let n = setting("bucket_names").as_u64().unwrap_or(0);
        (0..n).map(|i| format!("b{i}")).collect()
    }

    fn bucket(&self, _scores: &[(String, f64)]) -> Result<String, Error> {
        match self.bucket_names().into_iter().next() {
            Some(name) => Ok(name),
            None => Err(Error::Unsupported),
        }
    }

    /// `fan out N` makes N prompts of the row; anything else is left to the host.
    fn preprocess(&self, fields: Fields) -> Result<Prepared, Error> {
        let text = fields.get("text").map(String::as_str).unwrap_or_default();
        match text.strip_prefix("fan out ") {
            Some(n) => {
                let n: usize = n.parse().map_err(|_| "fan out needs a number")?;
                let one = Fields::from([("text".to_string(), "x".to_string())]);
                Ok(Prepared::Inputs(vec![one; n]))
            }
            None => Err(Error::Unsupported),
        }
    }

    /// The answer's numbers become scores as they are, unchecked; `{"copies": N}` repeats
    /// `overall` N times.
    fn postprocess(&self, arguments: &str) -> Result<Scored, Error> {
        let value: serde_json::Value = serde_json::from_str(arguments)?;
        if let Some(n) = value["copies"].as_u64() {
            let mut scored = Scored::new();
            for _ in 0..n {
                scored = scored.score("overall", 2.0);
            }
            return Ok(scored);
        }
        let overall = value["overall"].as_f64().ok_or("no number `overall`")?;
        Ok(Scored::new().score("overall", overall))
    }

    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let text = fields.get("text").map(String::as_str).unwrap_or_default();
        let words = || format!("{} words", text.split_whitespace().count());
        if let Some(ms) = text.strip_prefix("sleep ms ") {
            let ms: u64 = ms.parse().map_err(|_| "sleep needs a number")?;
            std::thread::sleep(Duration::from_millis(ms));
            return Ok(Scored::new().score("overall", 3.0).rationale("note", "slept"));
        }
        if let Some(n) = text.strip_prefix("spin ") {
            let n: u64 = n.parse().map_err(|_| "spin needs a number")?;
            let x = spin(n);
            return Ok(Scored::new().score("overall", 3.0).rationale("note", format!("{}", x % 10)));
        }
        if let Some(mb) = text.strip_prefix("count tokens MB ") {
            let mb: usize = mb.parse().map_err(|_| "needs a number")?;
            let big = "word and more words\n".repeat(mb * 1_000_000 / 20);
            let n = host::count_tokens(&big);
            return Ok(Scored::new().score("overall", 3.0).rationale("note", format!("{n}")));
        }
        if let Some(mb) = text.strip_prefix("truncate tokens MB ") {
            let mb: usize = mb.parse().map_err(|_| "needs a number")?;
            let big = "word and more words\n".repeat(mb * 1_000_000 / 20);
            let kept = host::truncate_tokens(&big, usize::MAX / 2);
            return Ok(Scored::new().score("overall", 3.0).rationale("note", format!("{}", kept.len())));
        }
        if let Some(value) = text.strip_prefix("score ") {
            let value: f64 = value.parse().map_err(|_| "score needs a number")?;
            return Ok(Scored::new().score("overall", value));
        }
        match text {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "leak" => {
                let mut leaked = LEAKED.lock().unwrap();
                leaked.push(std::hint::black_box(vec![1u8; 8 << 20]));
                Ok(Scored::new().score("overall", 3.0).rationale("note", format!("{} leaked", leaked.len())))
            }
            "hold 40" => {
                let mut held = HELD.lock().unwrap();
                if held.is_empty() {
                    *held = std::hint::black_box(vec![1u8; 40 << 20]);
                }
                Ok(Scored::new().score("overall", 3.0).rationale("note", words()))
            }
            "unsupported" => Err(Error::Unsupported),
            "duplicate scores" => {
                let mut scored = Scored::new();
                for _ in 0..10_000 {
                    scored = scored.score("overall", 3.0);
                }
                Ok(scored)
            }
            "panic" => panic!("the row asked for a panic"),
            "big output" => {
                let rationale = "x".repeat(100_000_000);
                Ok(Scored::new().score("overall", 1.0).rationale("note", rationale))
            }
            "open file" => {
                let secret = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
                Ok(Scored::new().score("overall", 1.0).rationale("note", secret))
            }
            "socket" => {
                let stream = std::net::TcpStream::connect("127.0.0.1:9").map_err(|e| e.to_string())?;
                Ok(Scored::new().score("overall", 1.0).rationale("note", format!("{stream:?}")))
            }
            "refuse" => Err(Error::failed("the row asked to be refused")),
            "log then refuse" => {
                host::log(Level::Warn, "about to refuse");
                println!("to stdout");
                eprintln!("to stderr");
                Err(Error::failed("refused after logging"))
            }
            "bad label" => Ok(Scored::new().score("no_such_label", 1.0)),
            "every import" => {
                // Every host function (`log then refuse` shows where logs and std streams go).
                host::log(Level::Info, "hello from the guest");
                let config = host::lens_config();
                let tokens = host::count_tokens("hello world, hello tokens");
                let truncated = host::truncate_tokens("one two three four five six", 2);
                let note = format!("tokens={tokens} truncated={truncated:?} marker={}", config["marker"]);
                Ok(Scored::new().score("overall", tokens as f64).rationale("note", note))
            }
            _ => Ok(Scored::new().score("overall", 3.0).rationale("note", words())),
        }
    }
}

classified_lens::export_lens!(Hostile);

//! A lens component that misbehaves on request, for the sandbox tests: the row's `text` field names
//! what to do. Anything else scores normally, so a test can check that the next row still works.

use classified_lens::host::{self, Level};
use classified_lens::{Error, Fields, Lens, Scored, Stage};

#[derive(Default)]
struct Hostile;

impl Lens for Hostile {
    const STAGES: &'static [Stage] = &[Stage::Score];

    fn score(&self, fields: Fields) -> Result<Scored, Error> {
        let text = fields.get("text").map(String::as_str).unwrap_or_default();
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
            _ => Ok(Scored::new()
                .score("overall", 3.0)
                .rationale("note", format!("{} words", text.split_whitespace().count()))),
        }
    }
}

classified_lens::export_lens!(Hostile);

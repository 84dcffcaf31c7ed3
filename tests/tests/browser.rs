//! A real browser opens report.html: Debian's `chromium` (installed by `.ci/run`), headless, from a
//! file URL, every connection sent to a loopback listener we count (so nothing can leave the
//! machine, and a request the page makes is seen). It checks the rendered DOM: the numbers are
//! there, every chart is an `svg`, the hostile rows are text and no script ran.

mod report_fixture;
mod support;

use report_fixture::{LENS, hostile_server, rate_hostile};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use support::Workspace;

/// The browser, or a failure saying how to get it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(dir) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .find(|d| d.join(name).is_file())
        {
            return dir.join(name);
        }
    }
    panic!("no chromium on PATH: install Debian's `chromium` package (.ci/run does)");
}

/// A loopback "proxy" that records the first line of every request the browser sends through it
/// and answers nothing.
struct Canary {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Canary {
    fn start() -> Canary {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                stream
                    .set_read_timeout(Some(std::time::Duration::from_secs(2)))
                    .ok();
                let mut buf = [0u8; 512];
                let n = stream.read(&mut buf).unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]);
                record
                    .lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or("").to_string());
            }
        });
        Canary { port, seen }
    }

    /// Requests for anything but the browser's own services (its sign-in and update checks to
    /// `*.google.com`, which it sends on start whatever the page): what the page asked for.
    fn page_requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|line| {
                let host = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_start_matches("http://")
                    .split(['/', ':'])
                    .next()
                    .unwrap_or("")
                    .to_string();
                !host.ends_with(".google.com")
            })
            .cloned()
            .collect()
    }
}

/// Chromium with the network off: every name fails to resolve and every request goes to `canary`.
fn browser(canary: &Canary, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-pings",
        "--disable-domain-reliability",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-bypass-list=<-loopback>",
    ])
    .arg(format!("--proxy-server=127.0.0.1:{}", canary.port))
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// Runs a browser command, which must succeed (its stderr is shown when it does not); its stdout.
#[track_caller]
fn succeeded(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn dump_dom(canary: &Canary, profile: &Path, page: &Path) -> String {
    let out = succeeded(
        browser(canary, profile)
            .arg("--dump-dom")
            .arg(file_url(page)),
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn the_canary_sees_a_page_that_loads_something() {
    // Without this, "no request left the page" below could pass because nothing was watching.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(
        &page,
        "<!doctype html><img src=\"http://report.invalid/pixel.png\"><p>x</p>",
    )
    .unwrap();
    let canary = Canary::start();
    dump_dom(&canary, &dir.path().join("profile"), &page);
    let seen = canary.page_requests();
    assert!(
        seen.iter().any(|l| l.contains("report.invalid")),
        "the canary saw {seen:?}"
    );
}

#[test]
fn chromium_renders_the_report_offline_with_hostile_rows_as_text() {
    let server = hostile_server();
    let ws = Workspace::new();
    rate_hostile(&ws, &server, &[]);
    let report = ws.data_dir().join("report.html");
    let canary = Canary::start();
    let profile = ws.path().join("profile");

    let dom = dump_dom(&canary, &profile, &report);
    // No script ran: the hostile rationale would have set the title.
    assert!(
        dom.contains(&format!(
            "<title>Classified report: hostile × {LENS}</title>"
        )),
        "{}",
        &dom[..dom.len().min(600)]
    );
    // The numbers: every bucket share of summary.csv, and the row counts.
    let summary = &ws.summary()[0];
    for bucket in ["Poor", "Low", "Medium", "Good"] {
        assert!(dom.contains(&format!("{}%", summary[bucket])), "{bucket}");
    }
    assert!(dom.contains("<td>9</td><td>7</td><td>1</td><td>1</td>"));
    // Every chart is an svg (one bucket chart, four histograms) and nothing else draws.
    assert_eq!(dom.matches("<svg").count(), 5);
    for element in [
        "<img",
        "<script",
        "<canvas",
        "<iframe",
        "<object",
        "<embed",
        "<textarea",
    ] {
        assert!(
            !dom.contains(element),
            "{element} element in the rendered page"
        );
    }
    // The hostile rows are text nodes (serialized escaped), not elements.
    assert!(dom.contains("&lt;script&gt;alert(\"pwned\")&lt;/script&gt;"));
    assert!(dom.contains("\"&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(dom.contains("&lt;/textarea&gt;&lt;b&gt;bold&lt;/b&gt;"));
    assert!(dom.contains("&lt;a href=\"javascript:alert(1)\"&gt;click&lt;/a&gt;"));
    assert!(!dom.contains("<a href=\"javascript"));

    // A screenshot renders too (the README's is one of these).
    let shot = ws.path().join("report.png");
    succeeded(
        browser(&canary, &profile)
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1100,2600")
            .arg(file_url(&report)),
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("CLASSIFIED_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    // Nothing the page asked for left it.
    assert_eq!(canary.page_requests(), Vec::<String>::new());
}

//! What each component instance's `Store` holds, and the host functions every WIT version offers.

use super::budget::{Budget, OutOfTime};
use super::limits::Limits;
use super::memory::{MemoryLimiter, Total};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::Resource;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamError};
use wasmtime_wasi::{HostMonotonicClock, ResourceTable, WasiCtx, WasiCtxView, WasiView};

/// What every instance of one lens shares.
pub struct Shared {
    /// The lens's config.json, as handed to `lens-config`.
    pub config: String,
    /// The run's tokenizer, behind `count-tokens` and `truncate-tokens`.
    pub bpe: &'static tiktoken_rs::CoreBPE,
    /// The memory all instances of the lens hold together.
    pub memory: Arc<Total>,
}

/// The data of one `Store`: one component instance, used by one worker at a time.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub log: PluginLog,
    pub shared: Arc<Shared>,
    /// Set when the component reached for a file or the network ("a file", "the network").
    pub denied: Option<&'static str>,
    /// The time budget of the call in progress.
    pub budget: Budget,
    /// Zero of the component's monotonic clock, to turn `subscribe-instant` into a duration.
    clock_zero: Instant,
}

impl State {
    /// A deny-by-default sandbox: no preopened directories, environment, arguments or network;
    /// stdout and stderr go to the plugin log.
    pub fn new(shared: Arc<Shared>, limits: &Limits) -> State {
        let log = PluginLog::new(limits.log_kb as usize * 1024);
        let clock_zero = Instant::now();
        let wasi = WasiCtx::builder()
            .stdout(LogPipe(log.clone()))
            .stderr(LogPipe(log.clone()))
            .monotonic_clock(Monotonic(clock_zero))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        State {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_bytes(), shared.memory.clone()),
            log,
            shared,
            denied: None,
            budget: Budget::start(limits.time(true)),
            clock_zero,
        }
    }

    // The host functions of the lens interface, shared by every WIT version's adapter. The dear
    // ones work inside the call's time budget.

    pub fn log_line(&mut self, level: &str, message: &str) {
        self.log.push(&format!("[{level}] {message}\n"));
    }

    pub fn tokens_in(&mut self, text: &str) -> wasmtime::Result<u32> {
        let n = super::tokens::count(self.shared.bpe, text, &mut self.budget)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub fn truncate(&mut self, text: &str, max: u32) -> wasmtime::Result<String> {
        let kept = super::tokens::truncate(self.shared.bpe, text, max as usize, &mut self.budget)?;
        Ok(kept.to_string())
    }

    pub fn config_json(&mut self) -> String {
        self.shared.config.clone()
    }

    // WASI's sleeps (`wasi:clocks/monotonic-clock` subscriptions), charged to the call's budget
    // when asked for; `sandbox.rs` puts these in place of WASI's own.

    /// A pollable that is ready after `duration`, if the call's budget has room for that wait.
    pub fn sleep_for(&mut self, duration: Duration) -> wasmtime::Result<Resource<DynPollable>> {
        self.budget.sleep(duration).map_err(|_| OutOfTime)?;
        let until = tokio::time::Instant::now() + duration;
        let sleep = self.table.push(Sleep(until))?;
        wasmtime_wasi::p2::subscribe(&mut self.table, sleep)
    }

    /// `subscribe-instant`: a sleep until the component's clock reads `when` (nanoseconds).
    pub fn sleep_until(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let now = self.clock_now();
        self.sleep_for(Duration::from_nanos(when.saturating_sub(now)))
    }

    /// The component's monotonic clock, in nanoseconds.
    pub fn clock_now(&self) -> u64 {
        Monotonic(self.clock_zero).now()
    }
}

/// The component's monotonic clock: nanoseconds since its instance was made.
struct Monotonic(Instant);

impl HostMonotonicClock for Monotonic {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A wait the budget has already paid for.
struct Sleep(tokio::time::Instant);

#[wasmtime_wasi::async_trait]
impl Pollable for Sleep {
    async fn ready(&mut self) {
        tokio::time::sleep_until(self.0).await
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The plugin log of one instance: `log` lines, stdout and stderr, up to a cap; emptied per call.
#[derive(Clone)]
pub struct PluginLog(Arc<Mutex<LogBuffer>>);

struct LogBuffer {
    text: String,
    cap: usize,
    dropped: usize,
}

impl PluginLog {
    fn new(cap: usize) -> Self {
        PluginLog(Arc::new(Mutex::new(LogBuffer {
            text: String::new(),
            cap,
            dropped: 0,
        })))
    }

    pub fn push(&self, text: &str) {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let room = buf.cap.saturating_sub(buf.text.len());
        if text.len() <= room {
            buf.text.push_str(text);
        } else {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            buf.text.push_str(&text[..cut]);
            buf.dropped += text.len() - cut;
        }
    }

    /// The log so far (with a note of what the cap dropped), leaving it empty.
    pub fn take(&self) -> String {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = std::mem::take(&mut buf.text);
        if buf.dropped > 0 {
            text.push_str(&format!(
                "\n[log truncated: {} more bytes dropped]",
                buf.dropped
            ));
            buf.dropped = 0;
        }
        text
    }
}

/// stdout or stderr of a component, writing into its [`PluginLog`]. Never refuses a write, so a
/// chatty component is not made to fail by its own printing: what does not fit is dropped.
struct LogPipe(PluginLog);

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LogPipe(self.0.clone()))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LogPipe(self.0.clone()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.0.push(&String::from_utf8_lossy(&bytes));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.push(&String::from_utf8_lossy(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_what_fits_and_says_what_it_dropped() {
        let log = PluginLog::new(8);
        log.push("hello ");
        log.push("world");
        assert_eq!(
            log.take(),
            "hello wo\n[log truncated: 3 more bytes dropped]"
        );
        assert_eq!(log.take(), "");
    }
}

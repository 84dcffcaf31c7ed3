//! State shared by the emulator's handle and its server thread: the published repos, the
//! test-adjustable knobs (faults, clock, paging, ranges) and the request log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::repo::{Published, hex};

/// Which emulated host a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The Hub: `/api/...` and `/datasets/.../resolve/...`.
    Hub,
    /// The CDN that LFS downloads are redirected to.
    Cdn,
}

/// One request, as the emulator saw and answered it.
#[derive(Debug, Clone)]
pub struct HubRequest {
    pub host: Host,
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// Path and query exactly as received (still percent-encoded), e.g.
    /// `/api/datasets/o/n/tree/main?recursive=true`.
    pub path: String,
    /// Whether an `Authorization` header was sent (on the CDN this is a violation).
    pub has_authorization: bool,
    /// The `Authorization` value, recorded for Hub requests only.
    pub authorization: Option<String>,
    /// The `Range` header, if any.
    pub range: Option<String>,
    pub status: u16,
    /// Body bytes actually handed to the connection (0 for HEAD; short when cut).
    pub bytes_sent: u64,
    /// For responses carrying file content: the repo path of that file (e.g. `data/train.parquet`).
    pub file: Option<String>,
}

/// How file responses treat `Range` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeMode {
    /// `206` / `416` as the real hosts do.
    #[default]
    Honour,
    /// Ignore `Range` and answer `200` with the whole file (a server without range support).
    IgnoreRanges,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    pub remaining: usize,
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct Knobs {
    pub range_mode: RangeMode,
    pub page_size: usize,
    pub hub_fault: Option<Fault>,
    pub cdn_fault: Option<Fault>,
    /// (bodies left to cut, bytes to send before each cut)
    pub cut: Option<(usize, u64)>,
    pub clock_offset: Duration,
    pub cdn_ttl: Duration,
}

pub(crate) struct State {
    pub repos: Vec<Arc<Published>>,
    /// The only token the Hub accepts (`None`: any token is accepted, and private repos stay
    /// unreachable).
    pub token: Option<String>,
    pub hub_base: String,
    pub cdn_base: String,
    secret: String,
    pub knobs: Mutex<Knobs>,
    log: Mutex<Vec<HubRequest>>,
    request_ids: AtomicU64,
}

impl State {
    pub fn new(
        repos: Vec<Arc<Published>>,
        token: Option<String>,
        hub_base: String,
        cdn_base: String,
        knobs: Knobs,
    ) -> State {
        // Differs per emulator, so a URL signed by one emulator is not valid on another.
        let secret = hex(&Sha256::digest(format!("{hub_base}{cdn_base}").as_bytes()));
        State {
            repos,
            token,
            hub_base,
            cdn_base,
            secret,
            knobs: Mutex::new(knobs),
            log: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(1),
        }
    }

    pub fn knobs(&self) -> MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap()
    }

    /// The emulator's clock (wall clock plus any [`advance_clock`](super::HubEmulator::advance_clock)).
    pub fn now_unix(&self) -> u64 {
        let now = SystemTime::now() + self.knobs().clock_offset;
        now.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Consumes one injected failure for `host`, if any is pending.
    pub fn take_fault(&self, host: Host) -> Option<Fault> {
        let mut k = self.knobs();
        let slot = match host {
            Host::Hub => &mut k.hub_fault,
            Host::Cdn => &mut k.cdn_fault,
        };
        let f = (*slot)?;
        if f.remaining <= 1 {
            *slot = None;
        } else {
            slot.as_mut().unwrap().remaining -= 1;
        }
        Some(f)
    }

    /// Consumes one pending body cut: how many bytes to send before closing.
    pub fn take_cut(&self) -> Option<u64> {
        let mut k = self.knobs();
        let (left, bytes) = k.cut?;
        k.cut = (left > 1).then_some((left - 1, bytes));
        Some(bytes)
    }

    /// The presigning signature of a CDN URL.
    pub fn sign(&self, key: &str, expires: u64) -> String {
        hex(&Sha256::digest(
            format!("{}\0{key}\0{expires}", self.secret).as_bytes(),
        ))[..32]
            .to_owned()
    }

    pub fn request_id(&self) -> String {
        format!(
            "Root=1-emu-{:08x}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn find_repo(&self, id: &str) -> Option<&Arc<Published>> {
        self.repos.iter().find(|r| r.id == id)
    }

    /// Appends a request to the log; returns its index for [`add_bytes`](Self::add_bytes).
    pub fn record(&self, entry: HubRequest) -> usize {
        let mut log = self.log.lock().unwrap();
        log.push(entry);
        log.len() - 1
    }

    pub fn add_bytes(&self, entry: usize, n: u64) {
        if let Some(e) = self.log.lock().unwrap().get_mut(entry) {
            e.bytes_sent += n;
        }
    }

    pub fn log(&self) -> Vec<HubRequest> {
        self.log.lock().unwrap().clone()
    }
}

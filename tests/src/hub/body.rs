//! The response body both emulated hosts send: bytes from memory or a file region, streamed in
//! chunks, counted into the request log as they go, and optionally cut mid-way (the connection
//! is then closed, as when a download drops).

use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};

use super::repo::Content;
use super::state::State;

/// Chunk size for streamed bodies.
const CHUNK: u64 = 64 * 1024;
/// How long a cut body waits (letting hyper flush what it sent) before it fails.
const CUT_FLUSH_DELAY: Duration = Duration::from_millis(50);

enum Source {
    Memory(Bytes),
    File(File),
}

/// A streamed response body of known length.
pub(crate) struct HubBody {
    source: Source,
    /// Offset of the next byte to send within the source.
    pos: u64,
    remaining: u64,
    /// After this many bytes the body fails, which makes hyper drop the connection.
    cut_after: Option<u64>,
    sent: u64,
    /// Request-log entry to add sent bytes to.
    meter: Option<(Arc<State>, usize)>,
    /// Armed at the cut point: hyper flushes what was sent while this runs, then the body fails.
    cut_delay: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl HubBody {
    pub fn empty() -> HubBody {
        HubBody::bytes(Bytes::new())
    }

    pub fn bytes(b: impl Into<Bytes>) -> HubBody {
        let b = b.into();
        HubBody {
            remaining: b.len() as u64,
            source: Source::Memory(b),
            pos: 0,
            cut_after: None,
            sent: 0,
            meter: None,
            cut_delay: None,
        }
    }

    /// `len` bytes of `content` from `start`.
    pub fn region(content: &Content, start: u64, len: u64) -> std::io::Result<HubBody> {
        let source = match content {
            Content::Memory(b) => Source::Memory(b.clone()),
            Content::Disk(p) => Source::File(File::open(p)?),
        };
        Ok(HubBody {
            source,
            pos: start,
            remaining: len,
            cut_after: None,
            sent: 0,
            meter: None,
            cut_delay: None,
        })
    }

    /// Bytes the body will claim to hold (its Content-Length).
    pub fn len(&self) -> u64 {
        self.remaining
    }

    pub fn cut_after(mut self, bytes: Option<u64>) -> HubBody {
        self.cut_after = bytes;
        self
    }

    pub fn metered(mut self, state: Arc<State>, entry: usize) -> HubBody {
        self.meter = Some((state, entry));
        self
    }

    fn next_chunk(&mut self) -> std::io::Result<Bytes> {
        let mut n = self.remaining.min(CHUNK);
        if let Some(cut) = self.cut_after {
            n = n.min(cut - self.sent);
        }
        let chunk = match &mut self.source {
            Source::Memory(b) => b.slice(self.pos as usize..(self.pos + n) as usize),
            Source::File(f) => {
                f.seek(SeekFrom::Start(self.pos))?;
                let mut buf = vec![0u8; n as usize];
                f.read_exact(&mut buf)?;
                Bytes::from(buf)
            }
        };
        self.pos += n;
        self.remaining -= n;
        self.sent += n;
        if let Some((state, entry)) = &self.meter {
            state.add_bytes(*entry, n);
        }
        Ok(chunk)
    }
}

impl Body for HubBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        if this.cut_after.is_some_and(|cut| this.sent >= cut) {
            // Failing at once would make hyper drop bytes still in its write buffer.
            let delay = this
                .cut_delay
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(CUT_FLUSH_DELAY)));
            if delay.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "connection cut by the hub emulator",
            ))));
        }
        Poll::Ready(Some(this.next_chunk().map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        // The full length, even when the body will be cut: the client must see a short body.
        SizeHint::with_exact(self.remaining)
    }
}

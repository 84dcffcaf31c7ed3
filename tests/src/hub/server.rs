//! The emulator's server thread: one private tokio runtime accepting on the Hub and CDN
//! listeners, turning each request into a route call, logging it, and sending the reply
//! (HEAD gets the GET headers without a body). Dropping the runtime closes every socket.

use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::body::HubBody;
use super::cdn;
use super::reply::{Reply, Req, hub_error};
use super::routes;
use super::state::{Host, HubRequest, State};

/// Largest request body read (only `paths-info` POSTs have one).
const MAX_REQUEST_BODY: usize = 1 << 20;

/// The running server; [`stop`](Self::stop) (or drop) shuts it down and joins the thread.
pub(crate) struct Server {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn spawn(hub: TcpListener, cdn: TcpListener, state: Arc<State>) -> Server {
        let (tx, rx) = oneshot::channel::<()>();
        let port = hub.local_addr().map(|a| a.port()).unwrap_or(0);
        let thread = std::thread::Builder::new()
            .name(format!("hub-emulator-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async move {
                    tokio::spawn(accept_loop(hub, Host::Hub, Arc::clone(&state)));
                    tokio::spawn(accept_loop(cdn, Host::Cdn, state));
                    let _ = rx.await;
                });
                // Dropping the runtime cancels the accept loops and every connection task,
                // which closes the listeners and sockets: later connects are refused.
                drop(rt);
            })
            .expect("spawn hub-emulator thread");
        Server {
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, host: Host, state: Arc<State>) {
    listener.set_nonblocking(true).expect("set_nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // e.g. EMFILE: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(req, host, state).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header(req: &Request<()>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn handle(req: Request<Incoming>, host: Host, state: Arc<State>) -> Response<HubBody> {
    let (parts, incoming) = req.into_parts();
    let body = if parts.method == Method::POST {
        match http_body_util::Limited::new(incoming, MAX_REQUEST_BODY)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        }
    } else {
        Bytes::new()
    };
    let req = Request::from_parts(parts, ());
    let r = Req {
        method: req.method().clone(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        authorization: header(&req, "authorization"),
        range: header(&req, "range"),
        body,
    };
    let reply = match host {
        Host::Hub => match state.take_fault(Host::Hub) {
            Some(f) => hub_fault(f.status, f.retry_after),
            None => routes::route(&state, &r),
        },
        Host::Cdn => cdn::handle(&state, &r),
    };
    let entry = state.record(HubRequest {
        host,
        method: r.method.to_string(),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        has_authorization: r.authorization.is_some(),
        authorization: if host == Host::Hub {
            r.authorization.clone()
        } else {
            None
        },
        range: r.range.clone(),
        status: reply.status,
        bytes_sent: 0,
        file: reply.file.clone(),
    });
    let Reply {
        status,
        headers,
        body,
        ..
    } = reply;
    let (body, head_len) = if r.is_head() {
        (HubBody::empty(), Some(body.len()))
    } else {
        (body.metered(Arc::clone(&state), entry), None)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Some(len) = head_len {
        h.insert("content-length", HeaderValue::from(len));
    }
    if host == Host::Hub
        && let Ok(v) = HeaderValue::from_str(&state.request_id())
    {
        h.insert("x-request-id", v);
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

/// An injected Hub failure, worded like the real Hub's.
fn hub_fault(status: u16, retry_after: Option<u64>) -> Reply {
    let msg = match status {
        429 => {
            "You have been rate-limited; you can retry this action in a few moments. (emulated 429)"
        }
        500 => "Internal Error - We're working hard to fix this as soon as possible!",
        _ => "The service is temporarily unavailable. (emulated)",
    };
    let mut r = hub_error(status, None, msg);
    if let Some(s) = retry_after {
        r = r.header("retry-after", s.to_string());
    }
    r
}

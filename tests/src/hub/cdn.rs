//! The CDN host: `GET|HEAD /{sha256}?expires=…&sig=…` serves an LFS blob (with ranges) behind a
//! presigned, expiring URL. Like S3 behind the real CDN, it refuses requests that also carry
//! an `Authorization` header (a client leaking the Hub token across hosts).

use hyper::Method;

use super::reply::{Reply, Req, file_reply, xml_error};
use super::state::{Host, State};

pub(crate) fn handle(state: &State, req: &Req) -> Reply {
    if req.authorization.is_some() {
        return xml_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        );
    }
    if let Some(f) = state.take_fault(Host::Cdn) {
        let (code, msg) = match f.status {
            503 => ("SlowDown", "Please reduce your request rate."),
            429 => ("SlowDown", "Please reduce your request rate."),
            500 => (
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            _ => ("ServiceUnavailable", "Service is unable to handle request."),
        };
        let mut r = xml_error(f.status, code, msg);
        if let Some(s) = f.retry_after {
            r = r.header("retry-after", s.to_string());
        }
        return r;
    }
    if req.method != Method::GET && req.method != Method::HEAD {
        return xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let key = req.path.trim_start_matches('/');
    let (Some(expires), Some(sig)) = (req.param("expires"), req.param("sig")) else {
        return xml_error(403, "AccessDenied", "Access Denied");
    };
    let Ok(expires) = expires.parse::<u64>() else {
        return xml_error(403, "AccessDenied", "Access Denied");
    };
    if state.sign(key, expires) != sig {
        return xml_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    if state.now_unix() >= expires {
        return xml_error(403, "AccessDenied", "Request has expired");
    }
    let Some(file) = state.repos.iter().find_map(|r| r.lfs_blob(key)) else {
        return xml_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    file_reply(state, req, file)
        .header("etag", format!("\"{key}\""))
        .header("cache-control", "public, max-age=604800, immutable")
}

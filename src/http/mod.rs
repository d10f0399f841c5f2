//! HTTP plumbing shared by the servers (gateway, demo function) and the load generator: the
//! accept loop, the `x-coldbench-*` header names, and plain-text responses.
//!
//! Defined once here so that what the gateway stamps and what the load generator reads cannot
//! drift apart. Nothing here knows about functions, containers or reports.

mod request;
mod server;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

pub use request::{encode_query_component, RequestSet, RequestTemplate, TemplateError, Transport};
pub use server::{serve, Limits};

/// Stamped by the gateway: the instance that served the request.
pub const INSTANCE_HEADER: &str = "x-coldbench-instance";
/// Stamped by the gateway: whether the instance was started for this request.
pub const COLD_HEADER: &str = "x-coldbench-cold";
/// `hit` or `miss`: how the demo function's `cache` work found its key.
pub const CACHE_HEADER: &str = "x-coldbench-cache";
/// Stamped by the gateway: the invocation's duration on its instance until its answer, in
/// milliseconds (a function's invocation may go on after it, until its runtime's next `/next`;
/// its record and REPORT line have the whole).
pub const DURATION_MS_HEADER: &str = "x-coldbench-duration-ms";
/// Stamped by the gateway where billing is known when the answer is (the fake target's): the
/// billed milliseconds. Not on a function's answers: its billing ends at `/next`, later.
pub const BILLED_MS_HEADER: &str = "x-coldbench-billed-ms";
/// Stamped by the gateway on cold starts: the instance's Init duration in milliseconds.
pub const INIT_MS_HEADER: &str = "x-coldbench-init-ms";
/// The `Server` header of the container balancer's own answers (502, 503, 504), which the load
/// generator counts apart from the target's.
pub const BALANCER_SERVER: &str = "coldbench-balancer";
/// The `Server` header of an Application Load Balancer's own answers: a real ALB's 502/503/504
/// are counted as the balancer's too.
pub const ALB_SERVER: &str = "awselb/2.0";
/// Set by coldbench's own platforms when coldbench or the host, not the target, failed the
/// request; the value names the cause.
pub const HOST_ERROR_HEADER: &str = "x-coldbench-host-error";
/// Set by a Lambda-style platform when the function failed.
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";

/// Whether a body passes as text rather than base64 in a function URL's event or response: by its
/// content type — `text/*`, JSON, XML, JavaScript and the `+json` / `+xml` types. Anything else, a
/// form post or a body without a type included, is base64-encoded, as function URLs do (a body
/// that is not UTF-8 is encoded whatever its type says).
pub fn is_text(headers: &http::HeaderMap) -> bool {
    let Some(content_type) = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(mime.as_str(), "application/json" | "application/xml" | "application/javascript")
}

/// A plain-text response with `status`.
pub fn plain(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
}

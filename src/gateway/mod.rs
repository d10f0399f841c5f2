//! The gateway: the local front door every local target is measured through.
//!
//! A hyper server on 127.0.0.1 (port 0) that hands each request to a [`Backend`] (function
//! runtime or container pool) and stamps the `x-coldbench-*` headers from the invocation record,
//! so both deployment models pay the same hop and the load generator learns about cold starts.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One request as a backend receives it, body already read.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the backend says about how it served an invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    /// The instance that served it.
    pub instance: String,
    /// Whether the instance was started for this invocation.
    pub cold: bool,
    /// The instance's Init duration, on cold invocations.
    pub init: Option<Duration>,
    /// Time the backend spent on the invocation.
    pub duration: Duration,
    /// Billed milliseconds, for backends that bill.
    pub billed_ms: Option<u64>,
}

/// A backend's answer: the response for the caller and, when an instance served it, its record.
#[derive(Debug)]
pub struct Served {
    pub response: Response<Bytes>,
    pub record: Option<InvocationRecord>,
}

/// Boxed future returned by [`Backend::invoke`].
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Served> + Send + 'a>>;

/// The largest request body the gateway reads for a backend that sets no limit of its own. ALB
/// sets none for HTTP targets; the gateway holds a body in memory before forwarding it, so it
/// bounds what one request can take (64 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A deployment model behind the gateway.
pub trait Backend: Send + Sync + 'static {
    /// Serves one invocation. Failures are responses (e.g. 502), never panics.
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_>;

    /// The largest request body this backend accepts; the gateway stops reading past it.
    fn body_limit(&self) -> usize {
        DEFAULT_BODY_LIMIT
    }

    /// The answer to a body past [`Backend::body_limit`], sent as soon as the limit passes.
    fn body_too_large(&self) -> Response<Bytes> {
        let mut response =
            Response::new(Bytes::from(format!("request body larger than {} bytes\n", self.body_limit())));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
    }
}

/// A running gateway; dropping it without [`Gateway::stop`] also stops accepting.
pub struct Gateway {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Gateway {
    /// Starts serving `backend` on 127.0.0.1 with a port chosen by the OS.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(backend: Arc<dyn Backend>) -> std::io::Result<Self> {
        Self::start_on(backend, 0).await
    }

    /// Starts serving `backend` on 127.0.0.1:`port` (0: a port chosen by the OS).
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start_on(backend: Arc<dyn Backend>, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(crate::http::serve(
            listener,
            crate::http::Limits::front_door(),
            shutdown.clone(),
            move |request| {
                let backend = Arc::clone(&backend);
                async move { Ok::<_, std::convert::Infallible>(handle(backend.as_ref(), request).await) }
            },
        ));
        Ok(Self { addr, shutdown, task: Some(task) })
    }

    /// The URL the load generator sends to.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn handle(backend: &dyn Backend, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    // Read no further than the backend's limit: an endless or huge body costs at most that much.
    let body = match http_body_util::Limited::new(body, backend.body_limit()).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            let (parts, body) = backend.body_too_large().into_parts();
            let mut response = Response::from_parts(parts, Full::new(body));
            // The rest of the body is never read: the connection cannot carry another request.
            response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        Err(err) => return crate::http::plain(StatusCode::BAD_REQUEST, format!("cannot read the request body: {err}")),
    };
    let invocation = Invocation { method: parts.method, uri: parts.uri, headers: parts.headers, body };
    let served = backend.invoke(invocation).await;
    let (mut parts, body) = served.response.into_parts();
    if let Some(record) = served.record {
        stamp(&mut parts.headers, &record);
    }
    Response::from_parts(parts, Full::new(body))
}

/// Adds the `x-coldbench-*` headers describing how the invocation was served.
fn stamp(headers: &mut HeaderMap, record: &InvocationRecord) {
    let value = |text: String| HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    headers.insert(crate::http::INSTANCE_HEADER, value(record.instance.clone()));
    headers.insert(crate::http::COLD_HEADER, HeaderValue::from_static(if record.cold { "true" } else { "false" }));
    headers.insert(crate::http::DURATION_MS_HEADER, value(format!("{:.3}", record.duration.as_secs_f64() * 1e3)));
    if let Some(billed) = record.billed_ms {
        headers.insert(crate::http::BILLED_MS_HEADER, value(billed.to_string()));
    }
    if let Some(init) = record.init {
        headers.insert(crate::http::INIT_MS_HEADER, value(format!("{:.3}", init.as_secs_f64() * 1e3)));
    }
}

//! The Lambda Runtime API one instance's process talks to (`AWS_LAMBDA_RUNTIME_API`), exactly as
//! `docs/reference/lambda-runtime-api.md` §2 specifies: `/next` long poll, `/response`,
//! `/error`, `/init/error`, with the reference's status codes and JSON bodies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot, watch};

use crate::lambda::MAX_PAYLOAD_BYTES;
const PREFIX: &str = "/2018-06-01/runtime";

/// An invocation handed to the instance.
#[derive(Debug)]
pub struct Event {
    pub request_id: String,
    pub payload: Bytes,
    /// JSON for `Lambda-Runtime-Client-Context`, when the caller gave one.
    pub client_context: Option<String>,
    /// The caller's `X-Amzn-Trace-Id`, passed on as `Lambda-Runtime-Trace-Id`; one is made up
    /// when the caller sent none, as Lambda starts a trace.
    pub trace_id: Option<String>,
    /// The time the invocation has left when the runtime takes it (`Lambda-Runtime-Deadline-Ms`):
    /// the function timeout, less an Init retried inside the invocation.
    pub budget: Duration,
    /// When the instance took it (answered from `/next`).
    pub taken: oneshot::Sender<Instant>,
    /// The runtime's answer.
    pub reply: oneshot::Sender<RuntimeReply>,
}

/// What the runtime posted for an invocation.
#[derive(Debug)]
pub enum RuntimeReply {
    /// `/response`: the payload and its content type.
    Response { body: Bytes, content_type: Option<HeaderValue>, at: Instant },
    /// `/error`: the error document and the error-type header.
    Error { body: Bytes, at: Instant },
    /// `/response` over [`MAX_PAYLOAD_BYTES`]: the runtime got 413.
    TooLarge { size: usize, at: Instant },
}

/// What the instance's lifecycle has reached, published for the runtime's supervisor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// When the first `/next` arrived (Init done).
    pub initialized: Option<Instant>,
    /// How many times the runtime came back to `/next` after finishing an invocation ...
    pub ready_count: u64,
    /// ... and when it last did: the end of that invocation (Duration runs until then).
    pub ready_at: Option<Instant>,
    /// `/init/error`: the error type header and body.
    pub init_error: Option<(Option<String>, Bytes)>,
}

#[derive(Debug)]
enum Phase {
    Started,
    Running { request_id: String, reply: Option<oneshot::Sender<RuntimeReply>> },
    ResponseSent { request_id: String },
    InitError,
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Started => "Started",
            Phase::Running { .. } => "Running",
            Phase::ResponseSent { .. } => "ResponseSent",
            Phase::InitError => "InitError",
        }
    }
}

/// Called when the runtime comes back to `/next` after an invocation, before it waits for the
/// next event: the instance is idle from that moment (returned to the pool there and then, not
/// a task's wake-up later, so that a caller's next request does not find it busy for longer than
/// its runtime was).
pub type ReadyHook = Box<dyn Fn() + Send + Sync>;

/// The Runtime API state of one instance.
///
/// With one invocation per instance (classic Lambda) it follows one lifecycle: an invocation ends
/// when the runtime comes back to `/next`. With several (`AWS_LAMBDA_MAX_CONCURRENCY`, Lambda
/// Managed Instances) the runtime polls `/next` from several workers at once, each taking one
/// invocation; an invocation ends when its answer is posted, since the next `/next` may be any
/// worker's.
pub struct RuntimeApi {
    on_ready: ReadyHook,
    events: tokio::sync::Mutex<mpsc::Receiver<Event>>,
    phase: Mutex<Phase>,
    /// Several invocations at once: those taken and not yet answered, by request id.
    concurrent: Option<Mutex<std::collections::HashMap<String, oneshot::Sender<RuntimeReply>>>>,
    lifecycle: watch::Sender<Lifecycle>,
    function_arn: String,
}

impl RuntimeApi {
    /// A new API and the sender that feeds it invocations.
    pub fn new(
        function_arn: String,
        per_instance: u32,
        on_ready: ReadyHook,
    ) -> (Arc<Self>, mpsc::Sender<Event>, watch::Receiver<Lifecycle>) {
        let (tx, rx) = mpsc::channel(1);
        let (lifecycle, lifecycle_rx) = watch::channel(Lifecycle::default());
        let api = Arc::new(Self {
            on_ready,
            events: tokio::sync::Mutex::new(rx),
            phase: Mutex::new(Phase::Started),
            concurrent: (per_instance > 1).then(Mutex::default),
            lifecycle,
            function_arn,
        });
        (api, tx, lifecycle_rx)
    }

    /// Routes one Runtime API request.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Answer> {
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        let Some(rest) = path.strip_prefix(PREFIX) else { return not_found().map(Answer::from) };
        let answer = match (method, rest) {
            (Method::GET, "/invocation/next") => self.next().await,
            (Method::POST, "/init/error") => {
                let error_type = header_text(&request, "lambda-runtime-function-error-type");
                match read_limited(request.into_body()).await {
                    Ok((body, _)) => self.init_error(error_type, body),
                    Err(response) => response,
                }
            }
            (Method::POST, rest) if rest.starts_with("/invocation/") => {
                let rest = &rest["/invocation/".len()..];
                let (id, kind) = match rest.rsplit_once('/') {
                    Some((id, kind @ ("response" | "error"))) => (id.to_string(), kind),
                    _ => return not_found().map(Answer::from),
                };
                // Lambda-Runtime-Function-Error-Type is not read: the caller sees the error body
                // as posted (its errorType), as Lambda's Invoke API answers.
                let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
                let (body, size) = match read_limited(request.into_body()).await {
                    Ok(read) => read,
                    Err(response) => return response.map(Answer::from),
                };
                return self.post(&id, kind == "response", body, size, content_type);
            }
            _ => not_found(),
        };
        answer.map(Answer::from)
    }

    async fn next(&self) -> Response<Full<Bytes>> {
        if let Some(running) = &self.concurrent {
            return self.next_concurrent(running).await;
        }
        {
            let mut phase = self.phase.lock().expect("phase lock");
            match &*phase {
                Phase::Started => {
                    self.lifecycle.send_if_modified(|l| {
                        let first = l.initialized.is_none();
                        l.initialized.get_or_insert_with(Instant::now);
                        first
                    });
                }
                Phase::ResponseSent { .. } => {
                    // Idle first, then seen to have ended: whoever waits for the end finds the
                    // instance back in the pool.
                    (self.on_ready)();
                    self.lifecycle.send_modify(|l| {
                        l.ready_count += 1;
                        l.ready_at = Some(Instant::now());
                    });
                }
                other => return transition_error(other.name(), "Ready"),
            }
            *phase = Phase::Started;
        }
        let Some(event) = self.events.lock().await.recv().await else {
            // The instance is being stopped: keep the poll open until the process is killed.
            return std::future::pending().await;
        };
        let (request_id, reply) = (event.request_id.clone(), event.reply);
        *self.phase.lock().expect("phase lock") = Phase::Running { request_id, reply: Some(reply) };
        self.hand_over(event.request_id, event.payload, event.budget, event.taken, event.client_context, event.trace_id)
    }

    /// `/next` of one of several workers: the first one ends Init; none ends an invocation.
    async fn next_concurrent(
        &self,
        running: &Mutex<std::collections::HashMap<String, oneshot::Sender<RuntimeReply>>>,
    ) -> Response<Full<Bytes>> {
        if matches!(&*self.phase.lock().expect("phase lock"), Phase::InitError) {
            return transition_error("InitError", "Ready");
        }
        self.lifecycle.send_if_modified(|l| {
            let first = l.initialized.is_none();
            l.initialized.get_or_insert_with(Instant::now);
            first
        });
        let Some(event) = self.events.lock().await.recv().await else {
            return std::future::pending().await;
        };
        running.lock().expect("running lock").insert(event.request_id.clone(), event.reply);
        self.hand_over(event.request_id, event.payload, event.budget, event.taken, event.client_context, event.trace_id)
    }

    /// The `/next` answer that hands an invocation to the runtime.
    fn hand_over(
        &self,
        request_id: String,
        payload: Bytes,
        budget: Duration,
        taken: oneshot::Sender<Instant>,
        client_context: Option<String>,
        trace_id: Option<String>,
    ) -> Response<Full<Bytes>> {
        let deadline_ms = epoch_ms() + budget.as_millis();
        let _ = taken.send(Instant::now());
        let mut response = Response::new(Full::new(payload));
        let headers = response.headers_mut();
        let value = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""));
        headers.insert("lambda-runtime-aws-request-id", value(&request_id));
        headers.insert("lambda-runtime-deadline-ms", value(&deadline_ms.to_string()));
        headers.insert("lambda-runtime-invoked-function-arn", value(&self.function_arn));
        let trace = trace_id.unwrap_or_else(|| make_trace_id(&request_id));
        headers.insert("lambda-runtime-trace-id", value(&trace));
        if let Some(context) = &client_context {
            headers.insert("lambda-runtime-client-context", value(context));
        }
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    fn post(
        &self,
        id: &str,
        is_response: bool,
        body: Bytes,
        size: usize,
        content_type: Option<HeaderValue>,
    ) -> Response<Answer> {
        let target = if is_response { "InvocationResponse" } else { "InvocationErrorResponse" };
        if let Some(running) = &self.concurrent {
            let Some(reply) = running.lock().expect("running lock").remove(id) else {
                return error_json(StatusCode::BAD_REQUEST, "Invalid request ID", "InvalidRequestID").map(Answer::from);
            };
            return answer(Some(reply), body, size, is_response, content_type);
        }
        let mut phase = self.phase.lock().expect("phase lock");
        let reply = match &mut *phase {
            Phase::Running { request_id, reply } if request_id == id => reply.take(),
            Phase::ResponseSent { request_id } if request_id == id => {
                return transition_error("ResponseSent", target).map(Answer::from)
            }
            _ => {
                return error_json(StatusCode::BAD_REQUEST, "Invalid request ID", "InvalidRequestID").map(Answer::from)
            }
        };
        *phase = Phase::ResponseSent { request_id: id.to_string() };
        drop(phase);
        answer(reply, body, size, is_response, content_type)
    }

    fn init_error(&self, error_type: Option<String>, body: Bytes) -> Response<Full<Bytes>> {
        let mut phase = self.phase.lock().expect("phase lock");
        if !matches!(&*phase, Phase::Started) || self.lifecycle.borrow().initialized.is_some() {
            return transition_error(phase.name(), "InitError");
        }
        *phase = Phase::InitError;
        self.lifecycle.send_modify(|l| l.init_error = Some((error_type, body)));
        accepted()
    }
}

/// The answer to `/response` or `/error`, which passes the runtime's reply on to the waiting
/// invocation once the connection has taken it.
fn answer(
    reply: Option<oneshot::Sender<RuntimeReply>>,
    body: Bytes,
    size: usize,
    is_response: bool,
    content_type: Option<HeaderValue>,
) -> Response<Answer> {
    let at = Instant::now();
    let too_large = size > MAX_PAYLOAD_BYTES;
    let message = if too_large {
        RuntimeReply::TooLarge { size, at }
    } else if is_response {
        RuntimeReply::Response { body, content_type, at }
    } else {
        RuntimeReply::Error { body, at }
    };
    let response = if too_large {
        let message = format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).");
        error_json(StatusCode::PAYLOAD_TOO_LARGE, &message, "RequestEntityTooLarge")
    } else {
        accepted()
    };
    // The caller gets the answer once the runtime has been told it was accepted: the
    // runtime's way back to `/next` starts no later than the caller's next request can.
    let (parts, body) = response.into_parts();
    let then = reply.map(|reply| Box::new(move || drop(reply.send(message))) as Box<dyn FnOnce() + Send>);
    Response::from_parts(parts, Answer { body, then })
}

/// A Runtime API response body that, once the connection has taken it (written it out, or
/// failed), runs `then`.
pub struct Answer {
    body: Full<Bytes>,
    then: Option<Box<dyn FnOnce() + Send>>,
}

impl From<Full<Bytes>> for Answer {
    fn from(body: Full<Bytes>) -> Self {
        Self { body, then: None }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some(then) = self.then.take() {
            then();
        }
    }
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Reads a body, keeping at most [`MAX_PAYLOAD_BYTES`] of it, and returns it with its full size.
async fn read_limited(mut body: Incoming) -> Result<(Bytes, usize), Response<Full<Bytes>>> {
    // The declared size, when there is one, is what Lambda reports for a payload that is too large.
    let declared = usize::try_from(hyper::body::Body::size_hint(&body).exact().unwrap_or(0)).unwrap_or(usize::MAX);
    let mut kept = BytesMut::new();
    let mut size = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            error_json(StatusCode::BAD_REQUEST, "HTTP request detected as truncated", "TruncatedHTTPRequest")
        })?;
        // Trailers (streaming error reports) carry no payload bytes.
        if let Ok(data) = frame.into_data() {
            size += data.len();
            if size > MAX_PAYLOAD_BYTES {
                // Past the limit: stop reading (an endless body costs nothing more) and answer.
                return Ok((Bytes::new(), size.max(declared)));
            }
            kept.extend_from_slice(&data);
        }
    }
    Ok((kept.freeze(), size))
}

fn header_text(request: &Request<Incoming>, name: &str) -> Option<String> {
    request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, Bytes::from_static(b"{\"status\":\"OK\"}\n"))
}

fn transition_error(from: &str, to: &str) -> Response<Full<Bytes>> {
    let message =
        format!("State transition from {from} to {to} failed for runtime. Error: State transition is not allowed");
    error_json(StatusCode::FORBIDDEN, &message, "InvalidStateTransition")
}

fn not_found() -> Response<Full<Bytes>> {
    error_json(StatusCode::NOT_FOUND, "Not Found", "NotFound")
}

/// `{"errorMessage":…,"errorType":…}` in the Runtime API's key order.
pub fn error_json(status: StatusCode, message: &str, error_type: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "{{\"errorMessage\":{},\"errorType\":{}}}",
        serde_json::Value::from(message),
        serde_json::Value::from(error_type)
    );
    json(status, Bytes::from(body))
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// An X-Ray style trace header derived from the request id (deterministic, not sampled).
fn make_trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("Root=1-{secs:08x}-{};Parent={};Sampled=0", &hex[..24.min(hex.len())], &hex[hex.len().saturating_sub(16)..])
}

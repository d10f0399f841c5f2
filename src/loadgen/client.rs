//! The HTTP client: keep-alive connections (HTTP/1.1, one exchange at a time; or HTTP/2,
//! multiplexed), classified into outcomes, each request's time split into phases.
//!
//! Built directly on hyper's connection API so every failure can be told apart (could not
//! connect, connection broke, no response in time) and no response body is kept.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::connect::{ConnectError, Dest, Marks, Timed};
use crate::http::RequestTemplate;
use crate::metrics::{Outcome, Phases};

pub use crate::http::{COLD_HEADER, FUNCTION_ERROR_HEADER, INIT_MS_HEADER};

/// What a finished exchange tells the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reply {
    pub outcome: Outcome,
    /// Where its time went, when it reached a connection.
    pub phases: Option<Phases>,
    pub cold: Option<bool>,
    pub init: Option<Duration>,
    /// From `x-coldbench-cache`: the demo's cache work hit (`true`) or missed.
    pub cache: Option<bool>,
}

impl Reply {
    /// A request that ended without a usable response.
    pub fn failed(outcome: Outcome) -> Self {
        Self { outcome, cold: None, init: None, cache: None, phases: None }
    }
}

/// Why an exchange produced no reply.
enum ExchangeError {
    /// The connection was closed before the request was written: safe to retry elsewhere.
    NotSent,
    /// The request may have reached the server; it ends as `other`.
    Broken,
}

/// The request's side of a connection.
enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// One exchange's times, before the connection's are added.
struct Exchanged {
    reply: Reply,
    sending: Option<Duration>,
    waiting: Duration,
    receiving: Duration,
}

/// Sends one request and reads the whole response body (discarding it), timing its phases: on
/// HTTP/1.1 from the connection's marks (the request's last write, the response's first read);
/// on HTTP/2, whose connection carries other streams too, from the response's head.
async fn exchange(sender: &mut Sender, marks: &Marks, template: &RequestTemplate) -> Result<Exchanged, ExchangeError> {
    let ready = match sender {
        Sender::H1(s) => s.ready().await,
        Sender::H2(s) => s.ready().await,
    };
    if ready.is_err() {
        return Err(ExchangeError::NotSent);
    }
    marks.reset();
    let start = Instant::now();
    let sent = match sender {
        Sender::H1(s) => s.try_send_request(template.build()).await,
        Sender::H2(s) => s.try_send_request(template.build_h2()).await,
    };
    let response = match sent {
        Ok(response) => response,
        Err(mut err) => {
            let unsent = err.take_message().is_some();
            return Err(if unsent { ExchangeError::NotSent } else { ExchangeError::Broken });
        }
    };
    let head = Instant::now();
    let reply = classify(&response);
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return Err(ExchangeError::Broken);
        }
    }
    let end = Instant::now();
    if matches!(sender, Sender::H2(_)) {
        return Ok(Exchanged { reply, sending: None, waiting: head - start, receiving: end - head });
    }
    let (wrote, first) = marks.seen();
    let wrote = wrote.unwrap_or(start).clamp(start, head);
    let first = first.unwrap_or(head).clamp(wrote, end);
    Ok(Exchanged { reply, sending: Some(wrote - start), waiting: first - wrote, receiving: end - first })
}

/// Whether the answer is a load balancer's own (coldbench's or an ALB's), by its `Server`.
fn is_balancer(headers: &http::HeaderMap) -> bool {
    headers.get(http::header::SERVER).is_some_and(|v| v == crate::http::BALANCER_SERVER || v == crate::http::ALB_SERVER)
}

/// Maps a response's status and coldbench/Lambda headers to a reply.
fn classify(response: &Response<Incoming>) -> Reply {
    let headers = response.headers();
    let status = response.status().as_u16();
    let outcome = if headers.contains_key(crate::http::HOST_ERROR_HEADER) {
        Outcome::HostError
    } else if status == 429 {
        Outcome::Throttled
    } else if headers.contains_key(FUNCTION_ERROR_HEADER) {
        Outcome::FunctionError
    } else if status >= 500 && is_balancer(headers) {
        Outcome::BalancerError(status)
    } else if status >= 400 {
        Outcome::HttpError(status)
    } else {
        Outcome::Ok
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cold = text(COLD_HEADER).and_then(|v| match v {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    });
    let init = text(INIT_MS_HEADER)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms / 1e3));
    let cache = text(crate::http::CACHE_HEADER).and_then(|v| match v {
        "hit" => Some(true),
        "miss" => Some(false),
        _ => None,
    });
    Reply { outcome, cold, init, cache, phases: None }
}

/// hyper's HTTP/1.1 state machine for one socket, polled by the task using the connection.
type Driver = Pin<Box<http1::Connection<TokioIo<Timed>, Full<Bytes>>>>;

/// A keep-alive connection together with its state machine.
///
/// On HTTP/1.1 whoever sends on it also polls its driver, in the same task, instead of spawning
/// the driver: one task per exchange halves the wake-ups per request. A driver that finished is
/// dropped at once: that is what fails an exchange still waiting on it instead of leaving it
/// pending. An HTTP/2 connection's driver runs on a task of its own (its streams are many), and
/// the connection is shared: [`OwnedConnection::share`].
pub struct OwnedConnection {
    sender: Sender,
    driver: Option<Driver>,
    marks: Arc<Marks>,
    /// What opening it took, for the first request on it.
    opened: Option<(Duration, Option<Duration>)>,
}

impl OwnedConnection {
    /// Opens a connection to `dest`.
    ///
    /// # Errors
    /// When the TCP connection, the TLS handshake or the HTTP handshake fails.
    pub async fn open(dest: &Dest) -> Result<Self, ConnectError> {
        let opened = dest.connect().await?;
        let marks = opened.stream.marks();
        let io = TokioIo::new(opened.stream);
        let times = Some((opened.connecting, opened.tls));
        if opened.http2 {
            let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| ConnectError::Tcp(std::io::Error::other(e)))?;
            tokio::spawn(connection);
            return Ok(Self { sender: Sender::H2(sender), driver: None, marks, opened: times });
        }
        let (sender, driver) = http1::handshake(io).await.map_err(|e| ConnectError::Tcp(std::io::Error::other(e)))?;
        Ok(Self { sender: Sender::H1(sender), driver: Some(Box::pin(driver)), marks, opened: times })
    }

    /// Whether the connection can carry another request.
    fn reusable(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => self.driver.is_some() && !s.is_closed(),
            Sender::H2(s) => !s.is_closed(),
        }
    }

    /// Another handle on a multiplexed (HTTP/2) connection; `None` on HTTP/1.1.
    fn share(&self) -> Option<Self> {
        let Sender::H2(sender) = &self.sender else { return None };
        let sender = Sender::H2(sender.clone());
        Some(Self { sender, driver: None, marks: Arc::clone(&self.marks), opened: None })
    }

    /// Runs one exchange while polling the connection; the reply carries its phases.
    async fn exchange(&mut self, template: &RequestTemplate) -> Result<Reply, ExchangeError> {
        let opened = self.opened.take();
        let http2 = matches!(self.sender, Sender::H2(_));
        let exchange = exchange(&mut self.sender, &self.marks, template);
        tokio::pin!(exchange);
        let driver = &mut self.driver;
        let exchanged = loop {
            let Some(running) = driver.as_mut() else { break exchange.await? };
            tokio::select! {
                biased;
                result = &mut exchange => break result?,
                _ = running.as_mut() => *driver = None,
            }
        };
        let phases = Phases {
            connecting: opened.map(|(connecting, _)| connecting),
            tls: opened.and_then(|(_, tls)| tls),
            sending: exchanged.sending,
            waiting: exchanged.waiting,
            receiving: exchanged.receiving,
            http2,
        };
        Ok(Reply { phases: Some(phases), ..exchanged.reply })
    }
}

/// Sends on `reused` if given, else (or if it closed before the request left) on a new connection.
/// Returns the reply and the connection if it can be reused.
async fn send_on(
    dest: &Dest,
    reused: Option<OwnedConnection>,
    template: &RequestTemplate,
) -> (Reply, Option<OwnedConnection>) {
    if let Some(mut conn) = reused {
        match conn.exchange(template).await {
            Ok(reply) => return (reply, conn.reusable().then_some(conn)),
            Err(ExchangeError::Broken) => return (Reply::failed(Outcome::Other), None),
            Err(ExchangeError::NotSent) => {}
        }
    }
    let started = Instant::now();
    let mut conn = match OwnedConnection::open(dest).await {
        Ok(conn) => conn,
        Err(err) => {
            dest.note_failure(&err);
            // coldbench's own open-file limit is not the target refusing a connection.
            let outcome = match &err {
                ConnectError::Tcp(e) if crate::process::host_limit(e).is_some() => Outcome::HostError,
                _ => Outcome::ConnectError,
            };
            let phases = Phases { connecting: Some(started.elapsed()), ..Phases::default() };
            return (Reply { phases: Some(phases), ..Reply::failed(outcome) }, None);
        }
    };
    match conn.exchange(template).await {
        Ok(reply) => (reply, conn.reusable().then_some(conn)),
        Err(_) => (Reply::failed(Outcome::Other), None),
    }
}

/// Idle keep-alive connections shared by the open-loop request tasks; over HTTP/2, one
/// connection every request shares.
pub struct Pool {
    dest: Arc<Dest>,
    idle: Mutex<Vec<OwnedConnection>>,
    shared: Mutex<Option<OwnedConnection>>,
}

impl Pool {
    /// An empty pool for `dest`.
    pub fn new(dest: Arc<Dest>) -> Self {
        Self { dest, idle: Mutex::new(Vec::new()), shared: Mutex::new(None) }
    }

    fn take_idle(&self) -> Option<OwnedConnection> {
        if let Some(shared) = self.shared.lock().expect("pool lock").as_ref().filter(|c| c.reusable()) {
            return shared.share();
        }
        let mut idle = self.idle.lock().expect("pool lock");
        while let Some(conn) = idle.pop() {
            if conn.reusable() {
                return Some(conn);
            }
        }
        None
    }

    /// Sends one request on an idle connection (or a new one) and returns its reply.
    pub async fn send(&self, template: &RequestTemplate) -> Reply {
        let (reply, conn) = send_on(&self.dest, self.take_idle(), template).await;
        match conn {
            Some(conn) if conn.share().is_some() => {
                let mut shared = self.shared.lock().expect("pool lock");
                if shared.as_ref().is_none_or(|c| !c.reusable()) {
                    *shared = Some(conn);
                }
            }
            Some(conn) => self.idle.lock().expect("pool lock").push(conn),
            None => {}
        }
        reply
    }
}

/// One closed-loop worker's connection, reopened after failures.
pub struct Worker {
    dest: Arc<Dest>,
    conn: Option<OwnedConnection>,
}

impl Worker {
    /// A worker that connects on its first request.
    pub fn new(dest: Arc<Dest>) -> Self {
        Self { dest, conn: None }
    }

    /// Sends one request on this worker's connection, reconnecting when it was closed.
    pub async fn send(&mut self, template: &RequestTemplate) -> Reply {
        let (reply, conn) = send_on(&self.dest, self.conn.take(), template).await;
        self.conn = conn;
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Limits;
    use tokio_util::sync::CancellationToken;

    async fn bounded(send: impl std::future::Future<Output = Reply>) -> Option<Outcome> {
        tokio::time::timeout(Duration::from_secs(10), send).await.ok().map(|reply| reply.outcome)
    }

    /// A server that closes a keep-alive connection idle for 200 ms, as Node (5 s) or an ALB
    /// (60 s) do: the next request must go out on a fresh connection, not fail on the dead one.
    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_not_reused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits { max_connections: 8, header_timeout: Some(Duration::from_millis(200)) };
        let shutdown = CancellationToken::new();
        tokio::spawn(crate::http::serve(listener, limits, shutdown.clone(), |_| async {
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }));
        let template =
            RequestTemplate::new("GET", &format!("http://{addr}/"), &Default::default(), Bytes::new()).unwrap();
        let requests = crate::http::RequestSet::one(template.clone());
        let dest = Arc::new(Dest::new(addr, &requests).unwrap());
        let mut worker = Worker::new(Arc::clone(&dest));
        let pool = Pool::new(dest);
        assert_eq!(bounded(worker.send(&template)).await, Some(Outcome::Ok));
        assert_eq!(bounded(pool.send(&template)).await, Some(Outcome::Ok));
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        assert_eq!(bounded(worker.send(&template)).await, Some(Outcome::Ok));
        assert_eq!(bounded(pool.send(&template)).await, Some(Outcome::Ok));
        shutdown.cancel();
    }
}

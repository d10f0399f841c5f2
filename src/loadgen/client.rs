//! The HTTP/1.1 client: keep-alive connections, one exchange at a time, classified into outcomes.
//!
//! Built directly on hyper's connection API so every failure can be told apart (could not
//! connect, connection broke, no response in time) and no response body is kept.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::http::RequestTemplate;
use crate::metrics::Outcome;

/// One keep-alive HTTP/1.1 connection.
pub type Connection = http1::SendRequest<Full<Bytes>>;

pub use crate::http::{COLD_HEADER, FUNCTION_ERROR_HEADER, INIT_MS_HEADER};

/// What a finished exchange tells the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reply {
    pub outcome: Outcome,
    pub cold: Option<bool>,
    pub init: Option<Duration>,
}

impl Reply {
    /// A request that ended without a usable response.
    pub fn failed(outcome: Outcome) -> Self {
        Self { outcome, cold: None, init: None }
    }
}

/// Why an exchange produced no reply.
enum ExchangeError {
    /// The connection was closed before the request was written: safe to retry elsewhere.
    NotSent,
    /// The request may have reached the server; it ends as `other`.
    Broken,
}

/// Sends one request and reads the whole response body (discarding it).
async fn exchange(conn: &mut Connection, template: &RequestTemplate) -> Result<Reply, ExchangeError> {
    if conn.ready().await.is_err() {
        return Err(ExchangeError::NotSent);
    }
    let response = match conn.try_send_request(template.build()).await {
        Ok(response) => response,
        Err(mut err) => {
            let unsent = err.take_message().is_some();
            return Err(if unsent { ExchangeError::NotSent } else { ExchangeError::Broken });
        }
    };
    let reply = classify(&response);
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return Err(ExchangeError::Broken);
        }
    }
    Ok(reply)
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
    Reply { outcome, cold, init }
}

/// hyper's connection state machine for one socket, polled by the task using the connection.
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

/// A keep-alive connection together with its state machine.
///
/// Whoever sends on it also polls its driver, in the same task, instead of spawning the driver:
/// one task per exchange halves the wake-ups per request.
pub struct OwnedConnection {
    sender: Connection,
    driver: Driver,
    closed: bool,
}

impl OwnedConnection {
    /// Opens a connection to `addr`.
    ///
    /// # Errors
    /// When the TCP connection or the HTTP handshake fails.
    pub async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
        Ok(Self { sender, driver: Box::pin(driver), closed: false })
    }

    /// Whether the connection can carry another request.
    fn reusable(&self) -> bool {
        !self.closed && !self.sender.is_closed()
    }

    /// Runs one exchange while polling the connection.
    async fn exchange(&mut self, template: &RequestTemplate) -> Result<Reply, ExchangeError> {
        let exchange = exchange(&mut self.sender, template);
        tokio::pin!(exchange);
        loop {
            tokio::select! {
                biased;
                result = &mut exchange => return result,
                _ = self.driver.as_mut(), if !self.closed => self.closed = true,
            }
        }
    }
}

/// Sends on `reused` if given, else (or if it closed before the request left) on a new connection.
/// Returns the reply and the connection if it can be reused.
async fn send_on(
    addr: SocketAddr,
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
    let mut conn = match OwnedConnection::open(addr).await {
        Ok(conn) => conn,
        // coldbench's own open-file limit is not the target refusing a connection.
        Err(err) if crate::process::host_limit(&err).is_some() => return (Reply::failed(Outcome::HostError), None),
        Err(_) => return (Reply::failed(Outcome::ConnectError), None),
    };
    match conn.exchange(template).await {
        Ok(reply) => (reply, conn.reusable().then_some(conn)),
        Err(_) => (Reply::failed(Outcome::Other), None),
    }
}

/// Idle keep-alive connections shared by the open-loop request tasks.
pub struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<OwnedConnection>>,
}

impl Pool {
    /// An empty pool for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, idle: Mutex::new(Vec::new()) }
    }

    fn take_idle(&self) -> Option<OwnedConnection> {
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
        let (reply, conn) = send_on(self.addr, self.take_idle(), template).await;
        if let Some(conn) = conn {
            self.idle.lock().expect("pool lock").push(conn);
        }
        reply
    }
}

/// One closed-loop worker's connection, reopened after failures.
pub struct Worker {
    addr: SocketAddr,
    conn: Option<OwnedConnection>,
}

impl Worker {
    /// A worker that connects on its first request.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// Sends one request on this worker's connection, reconnecting when it was closed.
    pub async fn send(&mut self, template: &RequestTemplate) -> Reply {
        let (reply, conn) = send_on(self.addr, self.conn.take(), template).await;
        self.conn = conn;
        reply
    }
}

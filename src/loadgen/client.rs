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

use super::RequestTemplate;
use crate::metrics::Outcome;

/// One keep-alive HTTP/1.1 connection.
pub type Connection = http1::SendRequest<Full<Bytes>>;

/// Header a Lambda-style platform sets when the function failed.
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";
/// Header set by coldbench's gateway: whether the instance was started for this request.
pub const COLD_HEADER: &str = "x-coldbench-cold";
/// Header set by coldbench's gateway: the instance's Init duration in milliseconds.
pub const INIT_MS_HEADER: &str = "x-coldbench-init-ms";

/// What a finished exchange tells the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reply {
    pub outcome: Outcome,
    pub cold: Option<bool>,
    pub init: Option<Duration>,
}

impl Reply {
    fn failed(outcome: Outcome) -> Self {
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

/// Opens a keep-alive connection to `addr`.
///
/// # Errors
/// When the TCP connection or the HTTP handshake fails.
pub async fn connect(addr: SocketAddr) -> std::io::Result<Connection> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        // The connection ends when the server closes it or the sender is dropped; either is normal.
        let _ = connection.await;
    });
    Ok(sender)
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
    let outcome = if status == 429 {
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

/// Idle keep-alive connections shared by the open-loop request tasks.
pub struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    /// An empty pool for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, idle: Mutex::new(Vec::new()) }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().expect("pool lock").pop()
    }

    fn give_back(&self, conn: Connection) {
        if !conn.is_closed() {
            self.idle.lock().expect("pool lock").push(conn);
        }
    }

    /// Sends one request on an idle connection (or a new one) and returns its reply.
    pub async fn send(&self, template: &RequestTemplate) -> Reply {
        while let Some(mut conn) = self.take_idle() {
            match exchange(&mut conn, template).await {
                Ok(reply) => {
                    self.give_back(conn);
                    return reply;
                }
                Err(ExchangeError::NotSent) => continue,
                Err(ExchangeError::Broken) => return Reply::failed(Outcome::Other),
            }
        }
        let mut conn = match connect(self.addr).await {
            Ok(conn) => conn,
            Err(_) => return Reply::failed(Outcome::ConnectError),
        };
        match exchange(&mut conn, template).await {
            Ok(reply) => {
                self.give_back(conn);
                reply
            }
            Err(_) => Reply::failed(Outcome::Other),
        }
    }
}

/// hyper's connection state machine for one socket, polled by the worker that owns it.
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

/// One closed-loop worker's connection, reopened after failures.
///
/// The worker polls its connection's state machine itself, in the same task as the request,
/// instead of spawning it: one task per connection halves the wake-ups per request.
pub struct Worker {
    addr: SocketAddr,
    conn: Option<(Connection, Driver)>,
}

impl Worker {
    /// A worker that connects on its first request.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// Sends one request on this worker's connection, reconnecting when it was closed.
    pub async fn send(&mut self, template: &RequestTemplate) -> Reply {
        if let Some(conn) = self.conn.as_mut() {
            let (result, closed) = drive_exchange(conn, template).await;
            if closed || result.is_err() {
                self.conn = None;
            }
            match result {
                Ok(reply) => return reply,
                Err(ExchangeError::Broken) => return Reply::failed(Outcome::Other),
                Err(ExchangeError::NotSent) => {}
            }
        }
        let mut conn = match connect_owned(self.addr).await {
            Ok(conn) => conn,
            Err(_) => return Reply::failed(Outcome::ConnectError),
        };
        let (result, closed) = drive_exchange(&mut conn, template).await;
        match result {
            Ok(reply) => {
                if !closed {
                    self.conn = Some(conn);
                }
                reply
            }
            Err(_) => Reply::failed(Outcome::Other),
        }
    }
}

/// Opens a connection whose state machine the caller polls.
async fn connect_owned(addr: SocketAddr) -> std::io::Result<(Connection, Driver)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, driver) = http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    Ok((sender, Box::pin(driver)))
}

/// Runs one exchange while polling the connection; also says whether the connection ended.
async fn drive_exchange(
    (sender, driver): &mut (Connection, Driver),
    template: &RequestTemplate,
) -> (Result<Reply, ExchangeError>, bool) {
    let exchange = exchange(sender, template);
    tokio::pin!(exchange);
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            result = &mut exchange => return (result, closed),
            _ = driver.as_mut(), if !closed => closed = true,
        }
    }
}

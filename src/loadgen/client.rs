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
    /// From `x-coldbench-cache`: the demo's cache work hit (`true`) or missed.
    pub cache: Option<bool>,
}

impl Reply {
    /// A request that ended without a usable response.
    pub fn failed(outcome: Outcome) -> Self {
        Self { outcome, cold: None, init: None, cache: None }
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
    Reply { outcome, cold, init, cache }
}

/// hyper's connection state machine for one socket, polled by the task using the connection.
type Driver = Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>;

/// A keep-alive connection together with its state machine.
///
/// Whoever sends on it also polls its driver, in the same task, instead of spawning the driver:
/// one task per exchange halves the wake-ups per request. A driver that finished is dropped at
/// once: that is what fails an exchange still waiting on it instead of leaving it pending.
pub struct OwnedConnection {
    sender: Connection,
    driver: Option<Driver>,
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
        Ok(Self { sender, driver: Some(Box::pin(driver)) })
    }

    /// Whether the connection can carry another request.
    fn reusable(&self) -> bool {
        self.driver.is_some() && !self.sender.is_closed()
    }

    /// Runs one exchange while polling the connection.
    async fn exchange(&mut self, template: &RequestTemplate) -> Result<Reply, ExchangeError> {
        let exchange = exchange(&mut self.sender, template);
        tokio::pin!(exchange);
        let driver = &mut self.driver;
        loop {
            let Some(running) = driver.as_mut() else { return exchange.await };
            tokio::select! {
                biased;
                result = &mut exchange => return result,
                _ = running.as_mut() => *driver = None,
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
        let mut worker = Worker::new(addr);
        let pool = Pool::new(addr);
        assert_eq!(bounded(worker.send(&template)).await, Some(Outcome::Ok));
        assert_eq!(bounded(pool.send(&template)).await, Some(Outcome::Ok));
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        assert_eq!(bounded(worker.send(&template)).await, Some(Outcome::Ok));
        assert_eq!(bounded(pool.send(&template)).await, Some(Outcome::Ok));
        shutdown.cancel();
    }
}

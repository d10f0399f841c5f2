//! The HTTP/1.1 accept loop shared by the gateway, the Runtime API and the demo function's HTTP
//! mode, with the limits a front door needs: a cap on open connections and a deadline for a
//! request's headers.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// What one server lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; past it, new ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive, counted from the first poll for them
    /// (so it also closes a keep-alive connection idle that long). `None`: no deadline.
    pub header_timeout: Option<Duration>,
}

impl Limits {
    /// A front door that untrusted clients reach (the gateway): an ALB closes a connection idle
    /// for its default idle timeout of 60 s (`docs/reference/resources-and-autoscaling.md` §4),
    /// and coldbench keeps at most a quarter of its open-file limit for clients, so slow or idle
    /// clients can neither hold a connection forever nor starve the instances of descriptors.
    pub fn front_door() -> Self {
        Self { max_connections: connection_budget(), header_timeout: Some(Duration::from_secs(60)) }
    }

    /// A server that only its own instance reaches (the Runtime API): a runtime may keep its
    /// connection idle while a handler runs for up to 15 minutes, so there is no header
    /// deadline, and a few connections are plenty.
    pub fn private() -> Self {
        Self { max_connections: 64, header_timeout: None }
    }
}

/// A quarter of the open-file limit, at least 64 and at most 65,536.
fn connection_budget() -> usize {
    // SAFETY: getrlimit writes only the struct we pass.
    let soft = unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur
        } else {
            1024
        }
    };
    usize::try_from(soft / 4).unwrap_or(usize::MAX).clamp(64, 65_536)
}

/// Serves `handler` on every connection accepted from `listener` until `shutdown` fires.
/// Connections already open finish their current exchange on their own tasks.
pub async fn serve<F, Fut, B>(listener: TcpListener, limits: Limits, shutdown: CancellationToken, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes, Error = Infallible> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    loop {
        let (stream, slot) = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            accepted = accept(&listener, &slots) => accepted,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        let connection = builder.serve_connection(TokioIo::new(stream), service_fn(handler));
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit) {
    let slot = Arc::clone(slots).acquire_owned().await.expect("the semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return (stream, slot),
            // Out of file descriptors (counted: the client's wait is coldbench's fault), or a
            // connection reset before accept: keep serving.
            Err(err) => {
                if crate::process::host_limit(&err).is_some() {
                    crate::host::count_refused_accept();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use http_body_util::Full;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn ok(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
    }

    async fn start(limits: Limits) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, limits, shutdown.clone(), ok));
        (addr, shutdown)
    }

    /// Reads until the server closes the connection (0 bytes or an error), for at most `limit`.
    async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
        let mut buf = [0u8; 1024];
        tokio::time::timeout(limit, async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    }

    #[tokio::test]
    async fn slow_headers_are_closed_after_the_timeout() {
        let limits = Limits { max_connections: 8, header_timeout: Some(Duration::from_millis(200)) };
        let (addr, _shutdown) = start(limits).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        // A slowloris client: a request line and one header, and never the blank line.
        slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        assert!(closed_within(&mut slow, Duration::from_secs(10)).await, "slow headers were never closed");

        // A complete request on another connection is still served.
        let mut fine = TcpStream::connect(addr).await.unwrap();
        fine.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        let n = fine.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    }

    #[tokio::test]
    async fn connections_past_the_cap_wait_for_a_free_slot() {
        let limits = Limits { max_connections: 2, header_timeout: None };
        let (addr, _shutdown) = start(limits).await;
        let first = TcpStream::connect(addr).await.unwrap();
        let _second = TcpStream::connect(addr).await.unwrap();
        let mut third = TcpStream::connect(addr).await.unwrap();
        third.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
        assert!(early.is_err(), "a third connection was served while two held both slots");
        drop(first);
        let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf)).await.unwrap().unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    }

    #[test]
    fn the_front_door_keeps_descriptors_for_everything_else() {
        let door = Limits::front_door();
        assert!(door.max_connections >= 64);
        assert_eq!(door.header_timeout, Some(Duration::from_secs(60)));
        assert_eq!(Limits::private().header_timeout, None, "a long handler keeps its Runtime API connection idle");
    }
}

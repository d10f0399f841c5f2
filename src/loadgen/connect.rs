//! Opening a load's connections: TCP, then TLS (rustls; the platform's roots, a CA file, or no
//! certificate checks) with ALPN, then HTTP/1.1 or HTTP/2 — and a stream that notes when a
//! request was written and a response's first byte read, for the k6-style split of every
//! request's time (`metrics::Phases`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::http::{RequestSet, Transport};

/// Where a load's connections go and how they are made.
pub struct Dest {
    pub addr: SocketAddr,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    /// HTTP/2 without asking (cleartext), or the only protocol ALPN offers (TLS).
    http2: bool,
    /// Why the first connection that failed did, in words, for the report.
    first_failure: std::sync::OnceLock<String>,
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connect failed.
    Tcp(io::Error),
    /// The TLS handshake failed (a certificate that is not trusted, a protocol mismatch).
    Tls(io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Tcp(e) => write!(f, "cannot connect: {e}"),
            ConnectError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
        }
    }
}

/// A connection just opened, and what opening it took.
pub struct Opened {
    pub stream: Timed,
    /// The protocol to speak on it: ALPN's choice over TLS.
    pub http2: bool,
    pub connecting: Duration,
    pub tls: Option<Duration>,
}

impl Dest {
    /// The destination of `requests` at `addr`, with their transport's TLS trust and protocol.
    ///
    /// # Errors
    /// When the CA file cannot be read or holds no certificate, or the host is not a valid
    /// server name.
    pub fn new(addr: SocketAddr, requests: &RequestSet) -> anyhow::Result<Self> {
        let first = requests.first();
        let transport = requests.transport();
        let tls = if first.is_tls() {
            let config = client_config(transport)?;
            let name = ServerName::try_from(first.host().trim_matches(['[', ']']).to_string())
                .with_context(|| format!("{:?} is not a valid TLS server name", first.host()))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Self { addr, tls, http2: transport.http2, first_failure: std::sync::OnceLock::new() })
    }

    /// Keeps why a connection failed, if none had failed before.
    pub fn note_failure(&self, error: &ConnectError) {
        self.first_failure.get_or_init(|| match error {
            // "connection refused", "network unreachable": the OS's reason without its number.
            ConnectError::Tcp(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::HostUnreachable
                        | io::ErrorKind::NetworkUnreachable
                        | io::ErrorKind::AddrNotAvailable
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::PermissionDenied
                ) =>
            {
                e.kind().to_string()
            }
            other => other.to_string(),
        });
    }

    /// Why the first failed connection failed, if one did.
    pub fn first_failure(&self) -> Option<&str> {
        self.first_failure.get().map(String::as_str)
    }

    /// Connects, timing the TCP connect and the TLS handshake apart.
    ///
    /// # Errors
    /// When either fails.
    pub async fn connect(&self) -> Result<Opened, ConnectError> {
        let started = Instant::now();
        let tcp = TcpStream::connect(self.addr).await.map_err(ConnectError::Tcp)?;
        tcp.set_nodelay(true).map_err(ConnectError::Tcp)?;
        let connecting = started.elapsed();
        let Some((connector, name)) = &self.tls else {
            return Ok(Opened { stream: Timed::new(Io::Plain(tcp)), http2: self.http2, connecting, tls: None });
        };
        let shaking = Instant::now();
        let tls = connector.connect(name.clone(), tcp).await.map_err(ConnectError::Tls)?;
        let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let stream = Timed::new(Io::Tls(Box::new(tls)));
        Ok(Opened { stream, http2, connecting, tls: Some(shaking.elapsed()) })
    }

    /// Whether connections go over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// rustls's client settings for `transport`: ALPN offers `h2` and `http/1.1` (only `h2` with
/// `--http2`); trust is the platform's roots, the CA file, or (insecure) any certificate.
fn client_config(transport: &Transport) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("rustls has no protocol version")?;
    let mut config = if transport.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))).with_no_client_auth()
    } else {
        builder.with_root_certificates(roots(transport.cacert.as_deref())?).with_no_client_auth()
    };
    config.alpn_protocols =
        if transport.http2 { vec![b"h2".to_vec()] } else { vec![b"h2".to_vec(), b"http/1.1".to_vec()] };
    Ok(config)
}

/// The certificates of `cacert` (PEM), or the platform's roots.
fn roots(cacert: Option<&std::path::Path>) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    match cacert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| anyhow::anyhow!("cannot read the CA file {}: {e}", path.display()))?;
            anyhow::ensure!(!certs.is_empty(), "the CA file {} holds no PEM certificate", path.display());
            for cert in certs {
                roots.add(cert).with_context(|| format!("a certificate of {} is not valid", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            anyhow::ensure!(added > 0, "no trusted root certificate found on this machine: pass --cacert FILE");
        }
    }
    Ok(roots)
}

/// `--insecure`: any certificate is accepted, but the handshake's signatures are still checked
/// (with the provider's algorithms), so the connection is still the one the certificate's key made.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// A connection's stream, noting when bytes were last written and when the first bytes after
/// [`Marks::reset`] were read.
pub struct Timed {
    io: Io,
    marks: Arc<Marks>,
}

/// When a connection last wrote and first read, as nanoseconds after its creation (+1; 0 is
/// "not yet"). Shared between the stream (inside hyper's connection) and the exchange.
#[derive(Debug)]
pub struct Marks {
    base: Instant,
    wrote: AtomicU64,
    first_read: AtomicU64,
}

impl Marks {
    /// Forgets the marks: the next exchange starts.
    pub fn reset(&self) {
        self.wrote.store(0, Ordering::Relaxed);
        self.first_read.store(0, Ordering::Relaxed);
    }

    /// When the request was last written to and the response first read from the connection
    /// since [`Marks::reset`].
    pub fn seen(&self) -> (Option<Instant>, Option<Instant>) {
        let at = |nanos: u64| nanos.checked_sub(1).map(|n| self.base + Duration::from_nanos(n));
        (at(self.wrote.load(Ordering::Relaxed)), at(self.first_read.load(Ordering::Relaxed)))
    }

    /// Notes a write that moved bytes.
    fn wrote_if(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.wrote.store(self.now(), Ordering::Relaxed);
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }
}

impl Timed {
    fn new(io: Io) -> Self {
        let marks = Marks { base: Instant::now(), wrote: AtomicU64::new(0), first_read: AtomicU64::new(0) };
        Self { io, marks: Arc::new(marks) }
    }

    /// The marks an exchange reads.
    pub fn marks(&self) -> Arc<Marks> {
        Arc::clone(&self.marks)
    }
}

impl AsyncRead for Timed {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.marks.now();
            let _ = self.marks.first_read.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Timed {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, data),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        };
        self.marks.wrote_if(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        };
        self.marks.wrote_if(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

//! HTTPS and HTTP/2 for `coldbench load` (and `url` targets): a local TLS server with a
//! certificate made here, trusted with `--cacert`, skipped with `--insecure`, refused without
//! either; the TLS handshake timed apart; HTTP/2 spoken when the server offers it in ALPN.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_util::sync::CancellationToken;

/// A self-signed certificate for 127.0.0.1 and localhost, and its key.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, rustls::ServerConfig) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = dir.join("cert.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
    (pem, config)
}

/// Serves HTTPS on 127.0.0.1 with `alpn` offered (cleartext without a config: HTTP/1.1, or
/// HTTP/2 to a client that starts with its preface); each response says which protocol carried it.
async fn serve_tls(config: Option<rustls::ServerConfig>, alpn: &[&[u8]]) -> (SocketAddr, CancellationToken) {
    let acceptor = config.map(|mut config| {
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                () = token.cancelled() => return,
                accepted = listener.accept() => accepted.unwrap(),
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                    let version = format!("{:?}", request.version());
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(version))))
                });
                let server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let _ = server.serve_connection(TokioIo::new(tls), service).await;
                    }
                    None => {
                        let _ = server.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    (addr, stop)
}

async fn load(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_coldbench")).args(args).output().await.unwrap()
}

fn phases(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_valid_results(&json);
    let m = &json["targets"][0]["measurement"];
    assert_eq!(m["outcomes"]["ok"].as_u64(), Some(40), "{m}");
    m["phases"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate_needs_cacert_or_insecure_and_times_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, config) = certificate(dir.path());
    let (addr, stop) = serve_tls(Some(config), &[b"http/1.1"]).await;
    let url = format!("https://{addr}/");
    let pem = pem.to_str().unwrap();

    let trusted = load(&["load", "-c", "2", "-n", "40", "--quiet", "--json", "--cacert", pem, &url]).await;
    let p = phases(&trusted);
    // Two workers, two connections: each paid a TLS handshake once, then reused its connection.
    assert_eq!((p["connections_new"].as_u64(), p["connections_reused"].as_u64()), (Some(2), Some(38)), "{p}");
    assert_eq!(p["tls_handshaking"]["count"].as_u64(), Some(2), "{p}");
    assert!(p["tls_handshaking"]["min_us"].as_u64().unwrap() > 0, "{p}");
    assert_eq!(p["waiting"]["count"].as_u64(), Some(40));
    assert_eq!(p["http2"].as_u64(), Some(0), "the server offered http/1.1 only");

    let insecure = load(&["load", "-c", "2", "-n", "40", "--quiet", "--json", "--insecure", &url]).await;
    assert_eq!(phases(&insecure)["tls_handshaking"]["count"].as_u64(), Some(2));

    let refused = load(&["load", "-c", "2", "-n", "40", "--quiet", &url]).await;
    stop.cancel();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("TLS handshake with") && stderr.contains("--cacert FILE"), "{stderr}");
    assert!(stderr.contains("certificate"), "names the certificate problem: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_when_the_server_offers_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, config) = certificate(dir.path());
    let (addr, stop) = serve_tls(Some(config), &[b"h2", b"http/1.1"]).await;
    let url = format!("https://{addr}/");
    let pem = pem.to_str().unwrap();
    let output = load(&["load", "--rate", "40", "-d", "1s", "--quiet", "--json", "--cacert", pem, &url]).await;
    let p = phases(&output);
    assert_eq!(p["http2"].as_u64(), Some(40), "every request over HTTP/2: {p}");
    // One multiplexed connection carries the open loop's requests: only requests that arrive
    // while the first is still in its handshake open one of their own (at 40 req/s, one per 25 ms
    // of handshake; a debug build on a busy machine has taken 46 ms), and only one is kept.
    let new = p["connections_new"].as_u64().unwrap();
    let first_handshake_ms = p["waiting"]["max_us"].as_u64().unwrap() / 1_000 + 4;
    assert!(new >= 1 && new <= 2 + first_handshake_ms / 25, "{p}");
    assert_eq!(p["connections_reused"].as_u64(), Some(40 - new), "{p}");
    assert!(p["sending"].is_null(), "HTTP/2 folds sending into waiting: {p}");
    // The table says so too.
    let table = load(&["load", "-c", "1", "-n", "5", "--quiet", "--cacert", pem, "--spectrum", &url]).await;
    stop.cancel();
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(stdout.contains("TLS handshaking p50 / p99") && stdout.contains("HTTP/2 5"), "{stdout}");
    assert!(stdout.contains("# waiting (TTFB)"), "the spectrum of each phase: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_over_cleartext() {
    let (addr, stop) = serve_tls(None, &[]).await;
    let output =
        load(&["load", "-c", "1", "-n", "40", "--quiet", "--json", "--http2", &format!("http://{addr}/")]).await;
    stop.cancel();
    let p = phases(&output);
    assert_eq!((p["http2"].as_u64(), p["tls_handshaking"].is_null()), (Some(40), true), "{p}");
}

//! `--metrics ADDR`: the live metrics served for Prometheus to scrape while a command runs.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use tokio_util::sync::CancellationToken;

use crate::http::{plain, serve, Limits};
use crate::metrics::LiveMetrics;

/// The content type of the exposition `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `metrics` at `http://ADDR/metrics` until `cancel` fires; returns the address bound
/// (port 0 picks one) after saying it on stderr.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<LiveMetrics>,
    cancel: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("--metrics {addr}: cannot listen there"))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        crate::term::warning(format_args!("--metrics {bound}: the metrics are served beyond this machine's loopback"));
    }
    tokio::spawn(serve(listener, Limits::private(), cancel, move |request| {
        let metrics = Arc::clone(&metrics);
        async move {
            Ok::<_, std::convert::Infallible>(match request.uri().path() {
                "/metrics" => {
                    let mut response = http::Response::new(Full::new(Bytes::from(metrics.encode())));
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(OPENMETRICS));
                    response
                }
                path => {
                    plain(http::StatusCode::NOT_FOUND, format!("{path}: coldbench serves its metrics at /metrics\n"))
                }
            })
        }
    }));
    eprintln!("metrics: http://{bound}/metrics");
    Ok(bound)
}

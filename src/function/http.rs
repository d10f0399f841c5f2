//! HTTP mode of the demo function: a hyper server on `127.0.0.1:$PORT` serving many requests at
//! once, as an always-on container would.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::work::perform_blocking;
use crate::http::plain;
use crate::workload::{parse_request, Init, Work};

/// Runs Init, then serves on `127.0.0.1:$PORT` until `shutdown` fires (SIGTERM in the process).
///
/// # Errors
/// When `$PORT` is missing or invalid, the Init settings cannot be read, or the port cannot be bound.
pub async fn serve_http(shutdown: CancellationToken) -> anyhow::Result<()> {
    let port: u16 = std::env::var("PORT")
        .context("PORT is not set: the HTTP mode listens on $PORT")?
        .parse()
        .context("PORT is not a port number")?;
    let init = Init::from_env()?;
    // Init's memory stays allocated for the life of the server, as a loaded dependency would.
    let _kept = tokio::task::spawn_blocking(move || init.perform()).await?;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    crate::http::serve(listener, crate::http::Limits::front_door(), shutdown, handle).await;
    Ok(())
}

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return Ok(plain(StatusCode::BAD_REQUEST, format!("cannot read the body: {err}"))),
    };
    let work = match parse_request(&body) {
        Ok(work) => work,
        Err(message) => return Ok(plain(StatusCode::BAD_REQUEST, message)),
    };
    let output = match work {
        Work::Sleep { duration } => {
            crate::time::timer::sleep_precisely(duration.0).await;
            Bytes::from_static(b"{\"ok\":true}")
        }
        Work::Echo { .. } => body,
        Work::Fail { message } => return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, message)),
        Work::Cache(cache) => {
            let lookup = match cache.serve().await {
                Ok(lookup) => lookup,
                Err(err) => return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, format!("work failed: {err}"))),
            };
            let mut response = Response::new(Full::new(Bytes::from(lookup.body())));
            let headers = response.headers_mut();
            headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            headers.insert(crate::http::CACHE_HEADER, http::HeaderValue::from_static(lookup.verdict()));
            return Ok(response);
        }
        blocking => match tokio::task::spawn_blocking(move || perform_blocking(&blocking, &[])).await {
            Ok(out) => Bytes::from(out),
            Err(err) => return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, format!("work failed: {err}"))),
        },
    };
    let mut response = Response::new(Full::new(output));
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(response)
}

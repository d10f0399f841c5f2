//! A web app as a Lambda function, the way the Lambda Web Adapter runs one
//! (`docs/reference/web-apps-endpoints-and-scale.md` §1): `coldbench function --mode web --
//! <app>` starts the app, and Init ends when its readiness check passes; then each invocation
//! becomes an HTTP request to the app on 127.0.0.1 and the app's response the invocation's
//! result. HTTP events (a function URL's or HTTP API's payload 2.0, REST API / ALB's 1.0) become
//! the request they describe; any other event is POSTed as it is to the pass-through path. LWA's
//! variables and defaults: `AWS_LWA_PORT` (else `PORT`, else 8080), `AWS_LWA_READINESS_CHECK_PORT`,
//! `…_PATH` (`/`), `…_PROTOCOL` (`http` or `tcp`), `…_HEALTHY_STATUS` (`100-499`),
//! `AWS_LWA_PASS_THROUGH_PATH` (`/events`), `AWS_LWA_ERROR_STATUS_CODES` (none).

use std::time::Duration;

use anyhow::Context as _;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Map, Value};

use crate::workload::status_ranges;

/// How often the readiness check is tried, as LWA does.
const READINESS_EVERY: Duration = Duration::from_millis(10);

/// The adapter's settings, from LWA's environment variables.
#[derive(Clone, Debug, PartialEq)]
pub struct WebSettings {
    pub port: u16,
    pub readiness_port: u16,
    pub readiness_path: String,
    /// Only wait for the port to accept (`AWS_LWA_READINESS_CHECK_PROTOCOL=tcp`).
    pub readiness_tcp: bool,
    pub healthy: Vec<(u16, u16)>,
    pub pass_through_path: String,
    /// Statuses that make the invocation a function error.
    pub error_statuses: Vec<(u16, u16)>,
}

impl WebSettings {
    /// Reads the settings through `var` (the environment, in the process).
    ///
    /// # Errors
    /// Names the variable whose value is malformed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let port_of = |name: &str| -> anyhow::Result<Option<u16>> {
            var(name).map(|v| v.trim().parse().with_context(|| format!("{name}: not a port: {v:?}"))).transpose()
        };
        let port = match port_of("AWS_LWA_PORT")? {
            Some(port) => port,
            None => port_of("PORT")?.unwrap_or(8080),
        };
        let ranges = |name: &str, default: &str| -> anyhow::Result<Vec<(u16, u16)>> {
            let text = var(name).unwrap_or_else(|| default.to_string());
            if text.trim().is_empty() {
                return Ok(Vec::new());
            }
            status_ranges(&text, 100..=599, "e.g. \"500,502-504\"").map_err(|m| anyhow::anyhow!("{name}: {m}"))
        };
        let protocol = var("AWS_LWA_READINESS_CHECK_PROTOCOL").unwrap_or_else(|| "http".into());
        let readiness_tcp = match protocol.to_ascii_lowercase().as_str() {
            "http" => false,
            "tcp" => true,
            other => anyhow::bail!("AWS_LWA_READINESS_CHECK_PROTOCOL: \"http\" or \"tcp\", got {other:?}"),
        };
        let path = |name: &str, default: &str| -> anyhow::Result<String> {
            let path = var(name).unwrap_or_else(|| default.to_string());
            anyhow::ensure!(path.starts_with('/'), "{name}: a path from /, got {path:?}");
            Ok(path)
        };
        Ok(Self {
            port,
            readiness_port: port_of("AWS_LWA_READINESS_CHECK_PORT")?.unwrap_or(port),
            readiness_path: path("AWS_LWA_READINESS_CHECK_PATH", "/")?,
            readiness_tcp,
            healthy: ranges("AWS_LWA_READINESS_CHECK_HEALTHY_STATUS", "100-499")?,
            pass_through_path: path("AWS_LWA_PASS_THROUGH_PATH", "/events")?,
            error_statuses: ranges("AWS_LWA_ERROR_STATUS_CODES", "")?,
        })
    }
}

fn within(ranges: &[(u16, u16)], status: u16) -> bool {
    ranges.iter().any(|&(low, high)| (low..=high).contains(&status))
}

/// Starts `app`, waits for its readiness check, then serves invocations from
/// `AWS_LAMBDA_RUNTIME_API` until the process is stopped (the app with it).
///
/// # Errors
/// When the settings are malformed, the app cannot start or exits before it is ready, or the
/// Runtime API fails.
pub async fn serve_web(app: &[String]) -> anyhow::Result<()> {
    let settings = WebSettings::from_vars(|name| std::env::var(name).ok())?;
    let (program, args) = app.split_first().context("--mode web needs the app's command after --")?;
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    if std::env::var_os("PORT").is_none() {
        // Apps read PORT; the adapter's port is where it will look for them.
        command.env("PORT", settings.port.to_string());
    }
    // SAFETY: prctl is async-signal-safe: the app dies with the adapter, as in one environment.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            Ok(())
        });
    }
    let mut child = command.spawn().with_context(|| format!("cannot start the app {program:?}"))?;
    // Kept-alive connections to the app, as LWA's client keeps them.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).build(connector);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the app exited before its readiness check passed ({status})");
        }
        if ready(&settings, &client).await {
            break;
        }
        tokio::time::sleep(READINESS_EVERY).await;
    }
    let adapter = std::sync::Arc::new(Adapter { settings, client });
    // As many requests to the app at once as the environment takes (`AWS_LAMBDA_MAX_CONCURRENCY`).
    let served = lambda_runtime::run_concurrent(service_fn(move |event| {
        let adapter = std::sync::Arc::clone(&adapter);
        async move { adapter.invoke(event).await }
    }));
    tokio::select! {
        result = served => result.map_err(|e| anyhow::anyhow!("lambda runtime: {e}")),
        status = child.wait() => anyhow::bail!("the app exited ({})", status?),
    }
}

/// One readiness check: the path answers a healthy status, or (tcp) the port accepts.
async fn ready(settings: &WebSettings, client: &Client<HttpConnector, Full<Bytes>>) -> bool {
    if settings.readiness_tcp {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], settings.readiness_port));
        return tokio::net::TcpStream::connect(addr).await.is_ok();
    }
    let check = async {
        let url = format!("http://127.0.0.1:{}{}", settings.readiness_port, settings.readiness_path);
        let request = Request::get(url).body(Full::new(Bytes::new())).ok()?;
        let response = client.request(request).await.ok()?;
        let status = response.status().as_u16();
        response.into_body().collect().await.ok()?;
        Some(status)
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), check).await, Ok(Some(status)) if within(&settings.healthy, status))
}

struct Adapter {
    settings: WebSettings,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Which kind of event an invocation carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Payload format 2.0: function URLs, HTTP APIs.
    V2,
    /// Payload format 1.0: REST APIs, ALB.
    V1,
    /// Anything else, posted to the pass-through path.
    PassThrough,
}

impl Adapter {
    async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let (payload, context) = (event.payload, event.context);
        let (shape, mut request) = to_request(&payload, &self.settings)?;
        let headers = request.headers_mut();
        headers.insert("x-amzn-lambda-context", HeaderValue::from_str(&serde_json::to_string(&context)?)?);
        if let Some(request_context) = payload.get("requestContext").filter(|_| shape != Shape::PassThrough) {
            let text = serde_json::to_string(request_context)?;
            headers.insert("x-amzn-request-context", HeaderValue::from_str(&text)?);
        }
        headers.insert(http::header::HOST, HeaderValue::from_str(&format!("127.0.0.1:{}", self.settings.port))?);
        let uri = format!("http://127.0.0.1:{}{}", self.settings.port, request.uri());
        *request.uri_mut() = uri.parse::<Uri>()?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        if within(&self.settings.error_statuses, status) {
            return Err(format!("Request failed with configured error status code: {status}").into());
        }
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(match shape {
            Shape::PassThrough => serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            Shape::V2 | Shape::V1 => to_result(shape, status, &parts.headers, &body),
        })
    }
}

/// The request an event describes (and its shape).
fn to_request(event: &Value, settings: &WebSettings) -> Result<(Shape, Request<Full<Bytes>>), Error> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let shape = if event.pointer("/requestContext/http/method").is_some() {
        Shape::V2
    } else if event.get("httpMethod").is_some() {
        Shape::V1
    } else {
        Shape::PassThrough
    };
    let mut headers = HeaderMap::new();
    let (method, target, body) = match shape {
        Shape::PassThrough => {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            (Method::POST, settings.pass_through_path.clone(), Bytes::from(serde_json::to_vec(event)?))
        }
        Shape::V2 | Shape::V1 => {
            let (method, path, query) = if shape == Shape::V2 {
                let method = event.pointer("/requestContext/http/method").and_then(Value::as_str).unwrap_or("GET");
                (
                    method.to_string(),
                    text(event, "rawPath").unwrap_or_else(|| "/".into()),
                    text(event, "rawQueryString"),
                )
            } else {
                (
                    text(event, "httpMethod").unwrap_or_default(),
                    text(event, "path").unwrap_or_else(|| "/".into()),
                    v1_query(event),
                )
            };
            copy_headers(event, &mut headers)?;
            if let Some(cookies) = event.get("cookies").and_then(Value::as_array).filter(|c| !c.is_empty()) {
                let joined: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
                headers.insert(http::header::COOKIE, HeaderValue::from_str(&joined.join("; "))?);
            }
            let raw = text(event, "body").unwrap_or_default();
            let body = if event.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
                Bytes::from(base64::engine::general_purpose::STANDARD.decode(raw)?)
            } else {
                Bytes::from(raw)
            };
            let target = match query.filter(|q| !q.is_empty()) {
                Some(query) => format!("{path}?{query}"),
                None => path,
            };
            (Method::from_bytes(method.as_bytes())?, target, body)
        }
    };
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = method;
    *request.uri_mut() = target.parse::<Uri>()?;
    *request.headers_mut() = headers;
    Ok((shape, request))
}

/// Payload 1.0's query: every value of `multiValueQueryStringParameters`, else the single ones,
/// encoded again (API Gateway hands them over decoded).
fn v1_query(event: &Value) -> Option<String> {
    let encode = crate::http::encode_query_component;
    let pairs: Vec<String> = match event.get("multiValueQueryStringParameters").and_then(Value::as_object) {
        Some(multi) => multi
            .iter()
            .flat_map(|(k, vs)| {
                vs.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |v| format!("{}={}", encode(k), encode(v)))
            })
            .collect(),
        None => event
            .get("queryStringParameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|v| format!("{}={}", encode(k), encode(v))))
            .collect(),
    };
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

/// The event's headers (and payload 1.0's multi-valued ones) onto the request.
fn copy_headers(event: &Value, headers: &mut HeaderMap) -> Result<(), Error> {
    if let Some(multi) = event.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for value in values.as_array().into_iter().flatten().filter_map(Value::as_str) {
                headers.append(HeaderName::from_bytes(name.as_bytes())?, HeaderValue::from_str(value)?);
            }
        }
    } else if let Some(single) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in single {
            if let Some(value) = value.as_str() {
                headers.insert(HeaderName::from_bytes(name.as_bytes())?, HeaderValue::from_str(value)?);
            }
        }
    }
    Ok(())
}

/// The app's answer as the invocation's result in the event's own format: status, headers
/// (payload 2.0: `set-cookie` as `cookies`; 1.0: `multiValueHeaders`), the body as text when its
/// type is text and it is UTF-8, else base64.
fn to_result(shape: Shape, status: u16, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<String> =
            headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        if shape == Shape::V2 && name == http::header::SET_COOKIE {
            cookies.extend(values);
            continue;
        }
        single.insert(name.as_str().to_string(), Value::String(values.join(",")));
        multi.insert(name.as_str().to_string(), json!(values));
    }
    let text = std::str::from_utf8(body).ok().filter(|_| crate::http::is_text(headers));
    let (body, encoded) = match text {
        Some(text) => (text.to_string(), false),
        None => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut result = json!({ "statusCode": status, "headers": single, "body": body, "isBase64Encoded": encoded });
    match shape {
        Shape::V2 if !cookies.is_empty() => result["cookies"] = json!(cookies),
        Shape::V1 => result["multiValueHeaders"] = Value::Object(multi),
        _ => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<WebSettings> {
        WebSettings::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn settings_follow_lwa_s_variables_and_defaults() {
        let d = settings(&[]).unwrap();
        assert_eq!((d.port, d.readiness_port, d.readiness_path.as_str()), (8080, 8080, "/"));
        assert_eq!(
            (d.healthy.clone(), d.pass_through_path.as_str(), d.error_statuses.is_empty()),
            (vec![(100, 499)], "/events", true)
        );
        let s = settings(&[
            ("PORT", "3000"),
            ("AWS_LWA_READINESS_CHECK_PATH", "/healthz"),
            ("AWS_LWA_READINESS_CHECK_PROTOCOL", "TCP"),
            ("AWS_LWA_ERROR_STATUS_CODES", "500,502-504"),
        ])
        .unwrap();
        assert_eq!((s.port, s.readiness_port, s.readiness_tcp), (3000, 3000, true));
        assert_eq!(s.error_statuses, vec![(500, 500), (502, 504)]);
        assert_eq!(settings(&[("AWS_LWA_PORT", "9000"), ("PORT", "3000")]).unwrap().port, 9000);
        let bad = settings(&[("AWS_LWA_ERROR_STATUS_CODES", "5xx")]).unwrap_err().to_string();
        assert!(bad.starts_with("AWS_LWA_ERROR_STATUS_CODES: "), "{bad}");
        assert!(settings(&[("AWS_LWA_READINESS_CHECK_PROTOCOL", "grpc")]).is_err());
    }

    #[test]
    fn http_events_become_their_requests_and_others_pass_through() {
        let s = settings(&[]).unwrap();
        let v2 = json!({
            "version": "2.0", "rawPath": "/orders/42", "rawQueryString": "a=1&b=%20",
            "cookies": ["s=1", "t=2"], "headers": { "x-team": "blue", "content-type": "text/plain" },
            "requestContext": { "http": { "method": "PUT" } }, "body": "aGk=", "isBase64Encoded": true,
        });
        let (shape, r) = to_request(&v2, &s).unwrap();
        assert_eq!(
            (shape, r.method().as_str(), r.uri().to_string()),
            (Shape::V2, "PUT", "/orders/42?a=1&b=%20".into())
        );
        assert_eq!(
            (r.headers()["x-team"].to_str().unwrap(), r.headers()["cookie"].to_str().unwrap()),
            ("blue", "s=1; t=2")
        );
        let v1 = json!({
            "httpMethod": "GET", "path": "/items", "multiValueQueryStringParameters": { "tag": ["a b", "c"] },
            "multiValueHeaders": { "accept": ["text/html", "application/json"] }, "body": null,
        });
        let (shape, r) = to_request(&v1, &s).unwrap();
        assert_eq!((shape, r.uri().to_string()), (Shape::V1, "/items?tag=a%20b&tag=c".into()));
        assert_eq!(r.headers().get_all("accept").iter().count(), 2);
        let (shape, r) = to_request(&json!({ "Records": [] }), &s).unwrap();
        assert_eq!((shape, r.method().as_str(), r.uri().path()), (Shape::PassThrough, "POST", "/events"));
    }

    #[test]
    fn answers_keep_text_as_text_and_encode_the_rest() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.append(http::header::SET_COOKIE, HeaderValue::from_static("a=1"));
        let r = to_result(Shape::V2, 201, &headers, b"{\"ok\":true}");
        assert_eq!((r["statusCode"].as_u64(), r["body"].as_str()), (Some(201), Some("{\"ok\":true}")));
        assert_eq!((r["isBase64Encoded"].as_bool(), r["cookies"][0].as_str()), (Some(false), Some("a=1")));
        let png = to_result(Shape::V1, 200, &HeaderMap::new(), &[0x89, b'P', b'N', b'G']);
        assert_eq!((png["isBase64Encoded"].as_bool(), png["body"].as_str()), (Some(true), Some("iVBORw==")));
        assert!(png.get("multiValueHeaders").is_some());
    }
}

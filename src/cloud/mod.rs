//! A deployed Lambda function, reached as the SDKs reach it: the Invoke API signed with SigV4
//! (`aws-sigv4`), credentials and region from the environment or the shared profile, every
//! invocation asking for its log's tail so that its REPORT line gives the platform's own cold/warm
//! split, Init Duration, billed duration and memory (`web-apps-endpoints-and-scale.md` §3).
//! `endpoint` overrides where requests go — coldbench's own `runtime` in the tests; AWS otherwise.

mod credentials;

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub use credentials::{Keys, Lookup};

use crate::lambda::{FunctionName, ReportLine};

/// The signing name of the Lambda service.
const SERVICE: &str = "lambda";

/// Where a deployed function is and who calls it.
#[derive(Debug)]
pub struct LambdaFunction {
    /// The name or ARN, as given.
    pub function: String,
    pub qualifier: Option<String>,
    pub region: String,
    /// The Invoke API's base URL: `https://lambda.{region}.amazonaws.com`, or the override.
    pub endpoint: String,
    pub keys: Keys,
}

impl LambdaFunction {
    /// Resolves the region (the ARN's, the given one, the environment's or the profile's) and the
    /// credentials (the environment's, or the profile's) for `function`.
    ///
    /// # Errors
    /// When the name is not a Lambda function name or ARN, or no region or credentials are found.
    pub fn resolve(
        function: &str,
        qualifier: Option<&str>,
        region: Option<&str>,
        endpoint: Option<&str>,
        lookup: &Lookup<'_>,
    ) -> anyhow::Result<Self> {
        let name = FunctionName::parse(function).with_context(|| {
            format!("{function:?} is not a Lambda function name or ARN ({})", crate::lambda::FUNCTION_NAME_PATTERN)
        })?;
        let region = match (name.region, region) {
            (Some(arn), Some(given)) if arn != given => {
                anyhow::bail!("the function's ARN is in {arn}, but the target's region is {given}")
            }
            (Some(arn), _) => arn.to_string(),
            (None, Some(given)) => given.to_string(),
            (None, None) => lookup.region()?.context(
                "no AWS region: set `region` on the target, AWS_REGION, or `region` in the profile's ~/.aws/config",
            )?,
        };
        let endpoint = endpoint
            .map(str::to_string)
            .or_else(|| (lookup.var)("AWS_ENDPOINT_URL_LAMBDA"))
            .or_else(|| (lookup.var)("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        Ok(Self {
            function: function.to_string(),
            qualifier: qualifier.map(str::to_string),
            region,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            keys: lookup.keys()?,
        })
    }

    fn path(&self, action: &str) -> String {
        let name = crate::http::encode_query_component(&self.function);
        let qualifier = self
            .qualifier
            .as_deref()
            .map_or(String::new(), |q| format!("?Qualifier={}", crate::http::encode_query_component(q)));
        format!("{}/2015-03-31/functions/{name}/{action}{qualifier}", self.endpoint)
    }

    /// The signed `Invoke` request for `payload` at `now` (synchronous, with the log's tail), with
    /// the caller's `extra` headers (a client context, a trace id) signed along.
    ///
    /// # Errors
    /// When the request cannot be signed (an invalid header value).
    pub fn invoke_request(
        &self,
        payload: Bytes,
        extra: &HeaderMap,
        now: SystemTime,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut request = Request::post(self.path("invocations"))
            .header("x-amz-invocation-type", "RequestResponse")
            .header("x-amz-log-type", "Tail")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(payload)?;
        request.headers_mut().extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.sign(request, now)
    }

    /// The signed `GetFunctionConfiguration` (no body) or `UpdateFunctionConfiguration` request.
    ///
    /// # Errors
    /// When the request cannot be signed.
    pub fn configuration_request(&self, update: Option<&serde_json::Value>) -> anyhow::Result<Request<Full<Bytes>>> {
        let path = self.path("configuration");
        let request = match update {
            None => Request::get(path).body(Bytes::new())?,
            Some(update) => Request::put(path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Bytes::from(update.to_string()))?,
        };
        self.sign(request, SystemTime::now())
    }

    /// Signs `request` with SigV4 for Lambda in this region at `now`.
    ///
    /// # Errors
    /// When a header is not text or signing fails.
    pub fn sign(&self, request: Request<Bytes>, now: SystemTime) -> anyhow::Result<Request<Full<Bytes>>> {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let (mut parts, body) = request.into_parts();
        let host = parts.uri.authority().context("the endpoint has no host")?.to_string();
        parts.headers.insert(http::header::HOST, HeaderValue::from_str(&host)?);
        let identity = aws_credential_types::Credentials::new(
            &self.keys.access_key_id,
            &self.keys.secret_access_key,
            self.keys.session_token.clone(),
            None,
            "coldbench",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(now)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .map(|(k, v)| Ok((k.as_str(), v.to_str()?)))
            .collect::<Result<_, http::header::ToStrError>>()?;
        let uri = parts.uri.to_string();
        let signable =
            SignableRequest::new(parts.method.as_str(), &uri, headers.into_iter(), SignableBody::Bytes(&body))?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut request = Request::from_parts(parts, Full::new(body));
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

/// What one invocation of a deployed function answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The REPORT line of its log's tail, when it carried one.
    pub report: Option<ReportLine>,
    /// The round trip, request sent to body read.
    pub took: Duration,
}

/// HTTP(S) to the endpoint: rustls with the platform's roots, kept-alive connections.
pub type HttpsClient =
    Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// A client for any endpoint (`http://` for a local one, `https://` for AWS).
///
/// # Errors
/// When the platform's root certificates cannot be loaded.
pub fn https_client() -> anyhow::Result<HttpsClient> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .context("no root certificates on this machine")?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Sends `request` and reads the whole answer; the REPORT line is decoded from
/// `X-Amz-Log-Result` when present.
///
/// # Errors
/// When the endpoint cannot be reached or the exchange breaks.
pub async fn send(client: &HttpsClient, request: Request<Full<Bytes>>) -> anyhow::Result<Answer> {
    let started = Instant::now();
    let response: Response<hyper::body::Incoming> = client.request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    let report = parts
        .headers
        .get("x-amz-log-result")
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.as_bytes()).ok())
        .and_then(|log| ReportLine::find(&String::from_utf8_lossy(&log)));
    Ok(Answer { status: parts.status, headers: parts.headers, body, report, took: started.elapsed() })
}

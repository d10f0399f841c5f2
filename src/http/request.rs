//! What every request of a load looks like: method, URL, headers, body, built once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;

/// A request that is sent again and again; cloning the parts is cheap.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: Method,
    /// The full `http://` or `https://` URL.
    pub url: Uri,
    /// `host:port` to connect to.
    pub authority: String,
    /// The origin-form request target (`/path?query`).
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// Why a request template is invalid, with the field it concerns.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("not a valid URL {0:?}: {1}")]
    Url(String, String),
    #[error("only http:// and https:// URLs are supported, got {0:?}{hint}", hint = scheme_hint(.0))]
    Scheme(String),
    #[error("not an HTTP method: {0:?}")]
    Method(String),
    #[error("invalid header {0:?}: {1}")]
    Header(String, String),
}

/// For a URL written without its scheme ("localhost:8080/"), the one it probably meant.
fn scheme_hint(url: &str) -> String {
    if url.contains("://") {
        String::new()
    } else {
        format!(": did you mean \"http://{url}\"?")
    }
}

impl TemplateError {
    /// The workload field the error concerns.
    pub fn field(&self) -> &'static str {
        match self {
            TemplateError::Url(..) | TemplateError::Scheme(_) => "url",
            TemplateError::Method(_) => "method",
            TemplateError::Header(..) => "headers",
        }
    }
}

impl RequestTemplate {
    /// Builds a template from user input.
    ///
    /// # Errors
    /// When the URL is not `http[s]://host[:port]/...`, the method is malformed, or a header
    /// name or value is not valid HTTP.
    pub fn new(
        method: &str,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: impl Into<Bytes>,
    ) -> Result<Self, TemplateError> {
        let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| match url.contains("://") {
            true => TemplateError::Url(url.to_string(), e.to_string()),
            // "localhost:8080/x" is no URL at all without its scheme.
            false => TemplateError::Scheme(url.to_string()),
        })?;
        let default_port = match uri.scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return Err(TemplateError::Scheme(url.to_string())),
        };
        let authority = uri.authority().ok_or_else(|| TemplateError::Url(url.to_string(), "no host".into()))?;
        let host_port = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(default_port));
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| TemplateError::Method(method.to_string()))?;
        let mut map = HeaderMap::new();
        map.insert(HOST, HeaderValue::from_str(authority.as_str()).expect("an authority is a valid header value"));
        for (name, value) in headers {
            let name_ok = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| TemplateError::Header(name.clone(), e.to_string()))?;
            let value_ok =
                HeaderValue::from_str(value).map_err(|e| TemplateError::Header(name.clone(), e.to_string()))?;
            map.insert(name_ok, value_ok);
        }
        let path = Uri::try_from(uri.path_and_query().map_or("/", |p| p.as_str()))
            .map_err(|e| TemplateError::Url(url.to_string(), e.to_string()))?;
        Ok(Self { method, url: uri, authority: host_port, path, headers: map, body: body.into() })
    }

    /// Parses `Name: value` header lines (the CLI's `--header`).
    ///
    /// # Errors
    /// Names the line without a colon.
    pub fn parse_header_lines(lines: &[String]) -> Result<BTreeMap<String, String>, TemplateError> {
        lines
            .iter()
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| TemplateError::Header(line.clone(), "expected \"Name: value\"".into()))?;
                Ok((name.trim().to_string(), value.trim().to_string()))
            })
            .collect()
    }

    /// A request ready to send on an HTTP/1.1 connection (origin-form target).
    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// The same request for an HTTP/2 connection: the full URL (its scheme and authority become
    /// the `:scheme` and `:authority` pseudo-headers) and no `Host` header.
    pub fn build_h2(&self) -> Request<Full<Bytes>> {
        let mut request = self.build();
        *request.uri_mut() = self.url.clone();
        request.headers_mut().remove(HOST);
        request
    }

    /// Whether it goes over TLS (`https://`).
    pub fn is_tls(&self) -> bool {
        self.url.scheme_str() == Some("https")
    }

    /// The host name, as the server's certificate names it.
    pub fn host(&self) -> &str {
        self.url.host().unwrap_or_default()
    }
}

/// What a query name or value keeps unencoded: RFC 3986's unreserved characters.
const QUERY_COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded as one query name or value (`a b&c` → `a%20b%26c`).
pub fn encode_query_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_COMPONENT).to_string()
}

/// The requests of one load: one template, or several drawn per request by weight or in order
/// (like vegeta's targets file). Every template goes to the same host.
#[derive(Debug)]
pub struct RequestSet {
    templates: Vec<RequestTemplate>,
    transport: Transport,
    /// Running totals of the weights (drawn by weight), or empty (in order).
    cumulative: Vec<u64>,
    seed: u64,
    next: AtomicU64,
}

impl RequestSet {
    /// The same request every time.
    pub fn one(template: RequestTemplate) -> Self {
        Self::in_order(vec![template])
    }

    /// The templates in turn, from the first.
    ///
    /// # Panics
    /// When `templates` is empty.
    pub fn in_order(templates: Vec<RequestTemplate>) -> Self {
        assert!(!templates.is_empty(), "a request set needs a request");
        Self { templates, transport: Transport::default(), cumulative: Vec::new(), seed: 0, next: AtomicU64::new(0) }
    }

    /// Each request drawn at random, seeded, with the chance of its weight over their sum.
    ///
    /// # Panics
    /// When `weighted` is empty or every weight is zero.
    pub fn weighted(weighted: Vec<(RequestTemplate, u32)>, seed: u64) -> Self {
        let mut total = 0;
        let cumulative = weighted
            .iter()
            .map(|(_, w)| {
                total += u64::from(*w);
                total
            })
            .collect();
        assert!(total > 0, "a request set needs a request of positive weight");
        let templates = weighted.into_iter().map(|(t, _)| t).collect();
        Self { templates, transport: Transport::default(), cumulative, seed, next: AtomicU64::new(0) }
    }

    /// The same requests over `transport` (TLS trust, HTTP/2).
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// How connections are made.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The first request (its scheme and host are every request's).
    pub fn first(&self) -> &RequestTemplate {
        &self.templates[0]
    }

    /// The `host:port` every request goes to.
    pub fn authority(&self) -> &str {
        &self.templates[0].authority
    }

    /// The request to send next: the n-th of the load picks by its number alone (a hash of it and
    /// the seed), so drivers on many tasks share no generator and a seed repeats the same draw.
    pub fn pick(&self) -> &RequestTemplate {
        if self.templates.len() == 1 {
            return &self.templates[0];
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(&total) = self.cumulative.last() else {
            return &self.templates[(n % self.templates.len() as u64) as usize];
        };
        let draw = splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % total;
        &self.templates[self.cumulative.partition_point(|&c| c <= draw)]
    }
}

/// How a load's connections are made, beyond the URL: which certificates to trust over TLS and
/// whether to speak HTTP/2 without asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    /// Trust the certificates in this PEM file instead of the platform's roots (curl's
    /// `--cacert`).
    pub cacert: Option<std::path::PathBuf>,
    /// Accept any server certificate (its handshake signatures are still checked; curl's `-k`).
    pub insecure: bool,
    /// HTTP/2 only: over TLS, ALPN offers `h2` alone; in cleartext, HTTP/2 with prior knowledge.
    /// Without it TLS offers `h2` and `http/1.1` and speaks what the server picks; cleartext is
    /// HTTP/1.1.
    pub http2: bool,
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> RequestTemplate {
        RequestTemplate::new("GET", &format!("http://127.0.0.1:1{path}"), &BTreeMap::new(), "").unwrap()
    }

    #[test]
    fn a_set_in_order_cycles_and_a_weighted_one_draws_by_weight_repeatably() {
        let ordered = RequestSet::in_order(vec![get("/a"), get("/b"), get("/c")]);
        let paths: Vec<String> = (0..5).map(|_| ordered.pick().build().uri().to_string()).collect();
        assert_eq!(paths, ["/a", "/b", "/c", "/a", "/b"]);
        let draw = || {
            let set = RequestSet::weighted(vec![(get("/a"), 3), (get("/b"), 1), (get("/never"), 0)], 7);
            (0..10_000).map(|_| set.pick().build().uri().to_string()).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw(), "the same seed, the same draw");
        let a = first.iter().filter(|p| *p == "/a").count();
        assert!((7_200..7_800).contains(&a), "3 in 4 by weight: {a}");
        assert!(!first.iter().any(|p| p == "/never"), "weight 0 is never drawn");
        assert_eq!(RequestSet::one(get("/x")).authority(), "127.0.0.1:1");
    }

    #[test]
    fn builds_origin_form_requests_with_host() {
        let headers = BTreeMap::from([("x-test".to_string(), "1".to_string())]);
        let t = RequestTemplate::new("post", "http://127.0.0.1:8080/a?b=c", &headers, "hi").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        let r = t.build();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/a?b=c");
        assert_eq!(r.headers()["host"], "127.0.0.1:8080");
        assert_eq!(r.headers()["x-test"], "1");
    }

    #[test]
    fn rejects_other_schemes_and_bad_headers_naming_the_field() {
        let none = BTreeMap::new();
        let e = RequestTemplate::new("GET", "ftp://example.com", &none, "").unwrap_err();
        assert_eq!(e.field(), "url");
        let tls = RequestTemplate::new("GET", "https://example.com/a", &none, "").unwrap();
        assert_eq!((tls.authority.as_str(), tls.is_tls(), tls.host()), ("example.com:443", true, "example.com"));
        let h2 = tls.build_h2();
        assert_eq!(h2.uri(), "https://example.com/a");
        assert!(h2.headers().get("host").is_none());
        let bad = BTreeMap::from([("bad header".to_string(), "x".to_string())]);
        assert_eq!(RequestTemplate::new("GET", "http://h/", &bad, "").unwrap_err().field(), "headers");
        assert!(RequestTemplate::parse_header_lines(&["nocolon".into()]).is_err());
    }
}

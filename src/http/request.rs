//! What every request of a load looks like: method, URL, headers, body, built once.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;

/// A request that is sent again and again; cloning the parts is cheap.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: Method,
    /// The full `http://` URL.
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
    #[error("only http:// URLs are supported, got {0:?}")]
    Scheme(String),
    #[error("not an HTTP method: {0:?}")]
    Method(String),
    #[error("invalid header {0:?}: {1}")]
    Header(String, String),
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
    /// When the URL is not `http://host[:port]/...`, the method is malformed, or a header
    /// name or value is not valid HTTP.
    pub fn new(
        method: &str,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: impl Into<Bytes>,
    ) -> Result<Self, TemplateError> {
        let uri: Uri =
            url.parse().map_err(|e: http::uri::InvalidUri| TemplateError::Url(url.to_string(), e.to_string()))?;
        if uri.scheme_str() != Some("http") {
            return Err(TemplateError::Scheme(url.to_string()));
        }
        let authority = uri.authority().ok_or_else(|| TemplateError::Url(url.to_string(), "no host".into()))?;
        let host_port = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80));
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn rejects_https_and_bad_headers_naming_the_field() {
        let none = BTreeMap::new();
        let e = RequestTemplate::new("GET", "https://example.com", &none, "").unwrap_err();
        assert_eq!(e.field(), "url");
        let bad = BTreeMap::from([("bad header".to_string(), "x".to_string())]);
        assert_eq!(RequestTemplate::new("GET", "http://h/", &bad, "").unwrap_err().field(), "headers");
        assert!(RequestTemplate::parse_header_lines(&["nocolon".into()]).is_err());
    }
}

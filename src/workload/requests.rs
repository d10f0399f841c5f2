//! The requests a target receives, as a workload writes them — method, path, query, headers and a
//! body inline or from a file, several drawn by weight or in order, like vegeta's targets file —
//! checked and resolved (files read) when the workload is validated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// One request as written (`[[requests]]`, or a target's `requests = [...]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Default `GET` (a URL target's own `method`); an Invoke API function is always `POST`ed.
    #[serde(default)]
    pub method: Option<String>,
    /// The path, starting with `/`, perhaps with a query; default `/`.
    #[serde(default)]
    pub path: Option<String>,
    /// Query parameters, percent-encoded and appended to the path's own.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The body from a file, relative to the workload file's folder.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// Its share of the draws (`request_order = "weight"`).
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

impl Default for RequestSpec {
    /// `GET /`, no headers, no body, weight 1.
    fn default() -> Self {
        Self {
            method: None,
            path: None,
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            body: None,
            body_file: None,
            weight: 1,
        }
    }
}

/// How each request of a load is chosen from several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestOrder {
    /// At random with the chance of its weight, from the workload's seed.
    #[default]
    Weight,
    /// One after the other, from the first, around again.
    Sequence,
}

/// One request, resolved: what a target turns into its template.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: Option<String>,
    /// The origin-form target: the path and the query, encoded.
    pub target: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Bytes>,
    pub weight: u32,
}

/// A target's requests, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Requests {
    pub list: Vec<Request>,
    pub order: RequestOrder,
}

impl Requests {
    /// Each request in words, for the report: `"PUT /orders/42 (weight 3, body 31 B)"`, with
    /// `method` where the request names none; `to` instead of the path (the Invoke API's).
    pub fn describe(&self, method: &str, to: Option<&str>) -> Vec<String> {
        self.list
            .iter()
            .map(|r| {
                let mut notes = Vec::new();
                if self.order == RequestOrder::Weight && self.list.len() > 1 {
                    notes.push(format!("weight {}", r.weight));
                }
                if let Some(body) = &r.body {
                    notes.push(format!("body {} B", body.len()));
                }
                let method = r.method.as_deref().unwrap_or(method).to_ascii_uppercase();
                let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
                format!("{method} {}{notes}", to.unwrap_or(&r.target))
            })
            .collect()
    }
}

/// Headers the load generator writes itself.
const OWN_HEADERS: [&str; 3] = ["host", "content-length", "transfer-encoding"];

/// Checks `specs` (written at `field`) and reads their body files from `folder`.
///
/// # Errors
/// `(field, message)` naming the request and its field: none at all, a weight of 0, both `body`
/// and `body_file`, an unreadable file, a malformed method, path or header.
pub(super) fn resolve(
    folder: &Path,
    field: &str,
    specs: &[RequestSpec],
    order: RequestOrder,
) -> Result<Requests, (String, String)> {
    if specs.is_empty() {
        return Err((field.to_string(), "needs at least one request, e.g. [{ path = \"/\" }]".into()));
    }
    let list = specs.iter().enumerate().map(|(i, spec)| resolve_one(folder, &format!("{field}[{i}]"), spec));
    Ok(Requests { list: list.collect::<Result<_, _>>()?, order })
}

fn resolve_one(folder: &Path, field: &str, spec: &RequestSpec) -> Result<Request, (String, String)> {
    let at = |f: &str, message: String| (format!("{field}.{f}"), message);
    if spec.weight == 0 {
        return Err(at("weight", "must be at least 1".into()));
    }
    if let Some(method) = &spec.method {
        if http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).is_err() {
            return Err(at("method", format!("not an HTTP method: {method:?}")));
        }
    }
    let path = spec.path.as_deref().unwrap_or("/");
    if !path.starts_with('/') || path.parse::<http::uri::PathAndQuery>().is_err() {
        return Err(at("path", format!("must be a path starting with '/' (encode spaces as %20), got {path:?}")));
    }
    let mut target = path.to_string();
    for (n, (name, value)) in spec.query.iter().enumerate() {
        let separator = if n == 0 && !path.contains('?') { '?' } else { '&' };
        target.push(separator);
        target.push_str(&crate::http::encode_query_component(name));
        target.push('=');
        target.push_str(&crate::http::encode_query_component(value));
    }
    for (name, value) in &spec.headers {
        if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(at("headers", format!("{name:?} is set by coldbench for each request")));
        }
        http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| at("headers", format!("invalid header name {name:?}: {e}")))?;
        http::HeaderValue::from_str(value).map_err(|e| at("headers", format!("invalid value for {name:?}: {e}")))?;
    }
    let body = match (&spec.body, &spec.body_file) {
        (Some(_), Some(_)) => return Err(at("body_file", "give body or body_file, not both".into())),
        (Some(body), None) => Some(Bytes::from(body.clone())),
        (None, Some(file)) => {
            let path = folder.join(file);
            let bytes =
                std::fs::read(&path).map_err(|e| at("body_file", format!("cannot read {}: {e}", path.display())))?;
            Some(Bytes::from(bytes))
        }
        (None, None) => None,
    };
    Ok(Request { method: spec.method.clone(), target, headers: spec.headers.clone(), body, weight: spec.weight })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_queries_and_files_are_resolved_and_mistakes_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.json"), b"{\"x\":1}").unwrap();
        let spec = RequestSpec {
            path: Some("/search?v=1".into()),
            query: BTreeMap::from([("q".into(), "a b&c".into()), ("z".into(), "ü".into())]),
            body_file: Some("b.json".into()),
            ..RequestSpec::default()
        };
        let r = resolve(dir.path(), "requests", std::slice::from_ref(&spec), RequestOrder::Weight).unwrap();
        assert_eq!(r.list[0].target, "/search?v=1&q=a%20b%26c&z=%C3%BC");
        assert_eq!(r.list[0].body.as_deref(), Some(&b"{\"x\":1}"[..]));
        let error = |spec: RequestSpec| resolve(dir.path(), "requests", &[spec], RequestOrder::Sequence).unwrap_err();
        let (field, message) = error(RequestSpec { body_file: Some("missing.json".into()), ..spec.clone() });
        assert_eq!(field, "requests[0].body_file");
        assert!(message.contains("missing.json"), "{message}");
        assert_eq!(error(RequestSpec { body: Some("x".into()), ..spec.clone() }).0, "requests[0].body_file");
        assert_eq!(error(RequestSpec { weight: 0, ..spec.clone() }).0, "requests[0].weight");
        assert_eq!(error(RequestSpec { path: Some("orders".into()), ..spec.clone() }).0, "requests[0].path");
        assert_eq!(error(RequestSpec { method: Some("GE T".into()), ..spec.clone() }).0, "requests[0].method");
        let host = RequestSpec { headers: BTreeMap::from([("Host".into(), "x".into())]), ..spec };
        assert_eq!(error(host).0, "requests[0].headers");
        assert_eq!(resolve(dir.path(), "requests", &[], RequestOrder::Weight).unwrap_err().0, "requests");
        let two = resolve(
            dir.path(),
            "requests",
            &[RequestSpec { weight: 3, ..RequestSpec::default() }, spec_get()],
            RequestOrder::Weight,
        )
        .unwrap();
        assert_eq!(two.describe("GET", None), ["GET / (weight 3)", "DELETE /x (weight 1)"]);
        assert_eq!(two.describe("POST", Some("the Invoke API"))[0], "POST the Invoke API (weight 3)");
    }

    fn spec_get() -> RequestSpec {
        RequestSpec { method: Some("delete".into()), path: Some("/x".into()), ..RequestSpec::default() }
    }
}

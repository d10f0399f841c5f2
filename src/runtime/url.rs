//! The function URL's mapping (payload format 2.0, reference §7): an HTTP request becomes the
//! event a function receives, and the response object it returns becomes the HTTP response.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::front::json_response;
use crate::gateway::Invocation;

/// The payload format 2.0 event for an HTTP request (reference §7).
pub fn url_event(invocation: &Invocation) -> Value {
    let headers = joined_headers(&invocation.headers);
    let cookies: Vec<String> = invocation
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect::<Vec<_>>())
        .collect();
    let query = invocation.uri.query().unwrap_or("");
    let text = std::str::from_utf8(&invocation.body).ok().filter(|_| crate::http::is_text(&invocation.headers));
    let (body, is_base64) = match text {
        Some(text) => (text.to_string(), false),
        None => (base64::engine::general_purpose::STANDARD.encode(&invocation.body), true),
    };
    let now = std::time::SystemTime::now();
    let epoch_ms = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let host = headers.get("host").and_then(Value::as_str).unwrap_or("localhost").to_string();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": invocation.uri.path(),
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::lambda::ACCOUNT_ID,
            "apiId": "coldbench",
            // An `AuthType: NONE` URL: no caller identity, no authorizer.
            "authentication": null,
            "authorizer": null,
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or("localhost"),
            "http": {
                "method": invocation.method.as_str(),
                "path": invocation.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": invocation.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": super::invoke::new_request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": http_time(now),
            "timeEpoch": epoch_ms,
        },
        "body": body,
        "pathParameters": null,
        "isBase64Encoded": is_base64,
        "stageVariables": null,
    });
    if invocation.body.is_empty() {
        // A request without a body (a GET) has no `body` in its event.
        if let Value::Object(map) = &mut event {
            map.remove("body");
        }
        event["isBase64Encoded"] = Value::Bool(false);
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters(query));
    }
    event
}

/// Header names lower-cased, repeated values joined with `,`.
fn joined_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        out.insert(name.as_str().to_string(), Value::from(values.join(",")));
    }
    out
}

fn query_parameters(query: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match out.get_mut(key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                out.insert(key.to_string(), Value::from(value));
            }
        }
    }
    out
}

/// Maps a function URL response object back to HTTP (reference §7).
pub fn url_response(body: &Bytes) -> Response<Bytes> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return json_response(StatusCode::OK, body.clone());
    };
    let Some(object) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        // Valid JSON without statusCode: 200, application/json, the JSON text as the body.
        return json_response(StatusCode::OK, body.clone());
    };
    let status = object
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = object.get("body").and_then(Value::as_str).unwrap_or("");
    let payload = if object.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        base64::engine::general_purpose::STANDARD.decode(text).map(Bytes::from).unwrap_or_default()
    } else {
        Bytes::from(text.to_string())
    };
    let mut response = Response::new(payload);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in object.get("headers").and_then(Value::as_object).into_iter().flatten() {
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&text)) {
            headers.insert(name, value);
        }
    }
    for cookie in object.get("cookies").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    response
}

/// `27/Nov/2025:15:20:21 +0000`
fn http_time(now: std::time::SystemTime) -> String {
    let rfc = humantime::format_rfc3339_seconds(now).to_string(); // 2025-11-27T15:20:21Z
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = rfc[5..7].parse::<usize>().ok().and_then(|m| months.get(m - 1)).copied().unwrap_or("Jan");
    format!("{}/{month}/{}:{} +0000", &rfc[8..10], &rfc[..4], &rfc[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn invocation(uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Invocation {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        Invocation {
            method: http::Method::POST,
            uri: uri.parse().unwrap(),
            headers: map,
            body: Bytes::copy_from_slice(body),
        }
    }

    #[test]
    fn http_request_becomes_a_payload_2_event() {
        let inv = invocation(
            "/orders/42?tag=a&tag=b&limit=5",
            &[
                ("host", "fn.local"),
                ("cookie", "session=xyz; theme=dark"),
                ("accept", "a"),
                ("accept", "b"),
                ("content-type", "application/json; charset=utf-8"),
            ],
            b"{\"qty\":3}",
        );
        let e = url_event(&inv);
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["rawPath"], "/orders/42");
        assert_eq!(e["rawQueryString"], "tag=a&tag=b&limit=5");
        assert_eq!(e["queryStringParameters"]["tag"], "a,b");
        assert_eq!(e["headers"]["accept"], "a,b");
        assert_eq!(e["cookies"], json!(["session=xyz", "theme=dark"]));
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["stage"], "$default");
        assert_eq!(e["body"], "{\"qty\":3}");
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(
            (&e["requestContext"]["authentication"], &e["requestContext"]["authorizer"]),
            (&Value::Null, &Value::Null)
        );
        let binary = url_event(&invocation("/", &[("content-type", "text/plain")], &[0xff, 0x00]));
        assert_eq!((&binary["isBase64Encoded"], &binary["body"]), (&json!(true), &json!("/wA=")));
        let get = url_event(&invocation("/", &[], b""));
        assert_eq!((get.get("body"), &get["isBase64Encoded"]), (None, &json!(false)));
    }

    #[test]
    fn function_url_bodies_are_base64_unless_their_type_is_text() {
        for (content_type, encoded) in [
            (Some("text/html"), false),
            (Some("application/json"), false),
            (Some("application/problem+json"), false),
            (Some("application/xml"), false),
            (Some("application/x-www-form-urlencoded"), true),
            (Some("application/octet-stream"), true),
            (Some("image/png"), true),
            (None, true),
        ] {
            let headers: Vec<(&str, &str)> = content_type.map(|t| ("content-type", t)).into_iter().collect();
            let event = url_event(&invocation("/", &headers, b"a=1"));
            assert_eq!(event["isBase64Encoded"], encoded, "{content_type:?}");
            assert_eq!(event["body"], if encoded { "YT0x" } else { "a=1" }, "{content_type:?}");
        }
    }

    #[test]
    fn response_objects_map_back_to_http() {
        let body = Bytes::from_static(
            br#"{"statusCode":201,"headers":{"x-custom":"1"},"body":"aGk=","isBase64Encoded":true,"cookies":["a=1; Max-Age=1","b=2"]}"#,
        );
        let r = url_response(&body);
        assert_eq!(r.status(), 201);
        assert_eq!(r.body(), &Bytes::from_static(b"hi"));
        assert_eq!(r.headers()["x-custom"], "1");
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn json_without_status_code_is_200_json() {
        let r = url_response(&Bytes::from_static(b"\"Hello\""));
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.body(), &Bytes::from_static(b"\"Hello\""));
    }

    #[test]
    fn http_time_has_the_function_url_layout() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_256_821);
        assert_eq!(http_time(t), "27/Nov/2025:15:20:21 +0000");
    }
}

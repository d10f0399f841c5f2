//! The two front doors of the function runtime on the gateway:
//! the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`, raw event in, raw
//! payload out) and a function-URL-style HTTP front (any other path becomes a payload format 2.0
//! event; the response object is mapped back), per reference §5.2 and §7.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use serde_json::{json, Map, Value};

use super::invoke::{Caller, Invoked};
use super::FunctionRuntime;
use crate::gateway::{Invocation, InvocationRecord, Served};
use crate::lambda::{MAX_ASYNC_REQUEST_BYTES, MAX_REQUEST_BYTES};
use crate::policy::ThrottleReason;

/// Lambda's answer to a request payload past 6 MB.
pub(super) fn request_too_large() -> Response<Bytes> {
    let message = format!("Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation");
    let mut response = refusal(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", &message);
    name_request(&mut response, None);
    response
}

/// `x-amzn-RequestId`: Lambda names every answer's request, refused ones too.
fn name_request(response: &mut Response<Bytes>, request_id: Option<String>) {
    let request_id = request_id.unwrap_or_else(super::invoke::new_request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
}

/// Serves one gateway request through the matching front door.
pub(super) async fn serve(runtime: &FunctionRuntime, invocation: Invocation) -> Served {
    let path = invocation.uri.path();
    let is_invoke_api = path.starts_with("/2015-03-31/functions/") && path.ends_with("/invocations");
    let (mut served, request_id) = if invocation.body.len() > MAX_REQUEST_BYTES {
        (Served { response: request_too_large(), record: None }, None)
    } else if is_invoke_api {
        invoke_api(runtime, invocation).await
    } else {
        function_url(runtime, invocation).await
    };
    name_request(&mut served.response, request_id);
    served
}

/// The answer, and the invocation's request id when it reached the runtime.
async fn invoke_api(runtime: &FunctionRuntime, invocation: Invocation) -> (Served, Option<String>) {
    let refused = |response| (Served { response, record: None }, None);
    let request = match InvokeRequest::parse(runtime, &invocation) {
        Ok(request) => request,
        Err(response) => return refused(*response),
    };
    let client_context = match invocation.headers.get("x-amz-client-context").map(decode_client_context) {
        Some(Ok(context)) => Some(context),
        Some(Err(message)) => {
            return refused(refusal(StatusCode::BAD_REQUEST, "InvalidRequestContentException", &message));
        }
        None => None,
    };
    let caller = Caller { client_context, trace_id: trace_id(&invocation.headers) };
    let (invoked, log) = match request.kind {
        // Validated, and nothing runs (the Invoke API's permission check).
        InvocationType::DryRun => {
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::NO_CONTENT;
            return (Served { response, record: None }, None);
        }
        InvocationType::Event => {
            if invocation.body.len() > MAX_ASYNC_REQUEST_BYTES {
                let message = format!(
                    "{} byte payload is too large for the Event invocation type (limit {MAX_ASYNC_REQUEST_BYTES} bytes)",
                    invocation.body.len()
                );
                return refused(refusal(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", &message));
            }
            let request_id = runtime.enqueue(invocation.body, caller);
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::ACCEPTED;
            return (Served { response, record: None }, Some(request_id));
        }
        InvocationType::RequestResponse if request.tail => {
            let (invoked, log) = runtime.invoke_with_log(invocation.body, caller).await;
            (invoked, Some(log))
        }
        InvocationType::RequestResponse => (runtime.invoke(invocation.body, caller).await, None),
    };
    let record = gateway_record(&invoked);
    let request_id = invoked.record().request_id.clone();
    let mut response = match invoked {
        Invoked::Success { body, content_type, .. } => {
            let mut response = json_response(StatusCode::OK, body);
            if let Some(content_type) = content_type {
                response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
            }
            response.headers_mut().insert("x-amz-executed-version", HeaderValue::from_static(LATEST));
            response
        }
        Invoked::FunctionError { body, .. } => {
            let mut response = json_response(StatusCode::OK, body);
            response.headers_mut().insert(crate::http::FUNCTION_ERROR_HEADER, HeaderValue::from_static("Unhandled"));
            response.headers_mut().insert("x-amz-executed-version", HeaderValue::from_static(LATEST));
            response
        }
        Invoked::Throttled { reason, .. } => throttled(reason),
        Invoked::HostError { cause, .. } => host_error(cause),
    };
    // The last 4 KB of the invocation's log (`Tail::KEEP`).
    if let Some(log) = log {
        let encoded = base64::engine::general_purpose::STANDARD.encode(log);
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            response.headers_mut().insert("x-amz-log-result", value);
        }
    }
    (Served { response, record }, Some(request_id))
}

/// The only version there is until versions are published.
const LATEST: &str = "$LATEST";

/// `X-Amz-Invocation-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// What an Invoke API request asks for, once its function, qualifier and headers are valid.
#[derive(Debug, PartialEq, Eq)]
struct InvokeRequest {
    kind: InvocationType,
    /// `X-Amz-Log-Type: Tail` (synchronous invocations only; ignored for the others, as on Lambda).
    tail: bool,
}

impl InvokeRequest {
    /// Checks the request as Lambda does before anything runs: the function name (plain, with a
    /// qualifier, a partial or a full ARN) must be this function's, the qualifier (in the name or
    /// `?Qualifier=`) `$LATEST`, and the invocation and log types known. `Err` is Lambda's answer.
    fn parse(runtime: &FunctionRuntime, invocation: &Invocation) -> Result<Self, Box<Response<Bytes>>> {
        let config = runtime.config();
        let path = invocation.uri.path();
        let raw = &path["/2015-03-31/functions/".len()..path.len() - "/invocations".len()];
        let named = percent_decode(raw);
        let function = FunctionName::parse(&named).ok_or_else(|| {
            bad_request(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{named}' at 'functionName' failed to satisfy constraint: \
                     Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}"
                ),
            )
        })?;
        let query_qualifier = invocation.uri.query().into_iter().flat_map(|q| q.split('&')).find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == "Qualifier").then(|| percent_decode(value))
        });
        let qualifier = match (function.qualifier, query_qualifier.as_deref()) {
            (Some(derived), Some(given)) if derived != given => {
                return Err(bad_request(
                    "InvalidParameterValueException",
                    "The derived qualifier from the function name does not match the specified qualifier.",
                ));
            }
            (derived, given) => derived.or(given),
        };
        if function.name != config.name || qualifier.is_some_and(|q| q != LATEST) {
            let region = function.region.unwrap_or(&config.region);
            let account = function.account.unwrap_or(crate::lambda::ACCOUNT_ID);
            let suffix = qualifier.map_or(String::new(), |q| format!(":{q}"));
            let arn = format!("arn:aws:lambda:{region}:{account}:function:{}{suffix}", function.name);
            let message = format!("Function not found: {arn}");
            return Err(Box::new(refusal(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message)));
        }
        let kind = match header(invocation, "x-amz-invocation-type") {
            None | Some("RequestResponse") => InvocationType::RequestResponse,
            Some("Event") => InvocationType::Event,
            Some("DryRun") => InvocationType::DryRun,
            Some(other) => {
                return Err(bad_request("ValidationException", &not_in_enum(other, "invocationType", INVOCATION_TYPES)))
            }
        };
        let tail = match header(invocation, "x-amz-log-type") {
            None | Some("None") => false,
            Some("Tail") => kind == InvocationType::RequestResponse,
            Some(other) => {
                return Err(bad_request("ValidationException", &not_in_enum(other, "logType", "[None, Tail]")))
            }
        };
        Ok(Self { kind, tail })
    }
}

/// The Invoke API's pattern for `FunctionName` (its API reference).
const FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

/// A `FunctionName` as the Invoke API takes it: `my-function`, `my-function:1`,
/// `123456789012:function:my-function` or `arn:aws:lambda:us-east-1:123456789012:function:my-function[:1]`.
#[derive(Debug, PartialEq, Eq)]
struct FunctionName<'a> {
    name: &'a str,
    qualifier: Option<&'a str>,
    region: Option<&'a str>,
    account: Option<&'a str>,
}

impl<'a> FunctionName<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let parts: Vec<&str> = text.split(':').collect();
        let (region, account, rest) = match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", rest @ ..] if partition.starts_with("aws") => {
                (Some(*region), Some(*account), rest)
            }
            [account, "function", rest @ ..] => (None, Some(*account), rest),
            rest => (None, None, rest),
        };
        let (name, qualifier) = match rest {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => return None,
        };
        let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let qualifier_ok = qualifier.is_none_or(|q| {
            q == LATEST || (!q.is_empty() && q.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)))
        });
        let account_ok = account.is_none_or(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()));
        (name_ok && qualifier_ok && account_ok).then_some(Self { name, qualifier, region, account })
    }
}

fn header<'a>(invocation: &'a Invocation, name: &str) -> Option<&'a str> {
    invocation.headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

const INVOCATION_TYPES: &str = "[Event, RequestResponse, DryRun]";

/// The message of a `ValidationException` for a value outside an enum.
fn not_in_enum(value: &str, field: &str, set: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy \
         enum value set: {set}"
    )
}

/// A 400 refusal of a request that is not valid.
fn bad_request(error_type: &'static str, message: &str) -> Box<Response<Bytes>> {
    Box::new(refusal(StatusCode::BAD_REQUEST, error_type, message))
}

/// Lambda's shape for a request it refuses: `x-amzn-ErrorType` and `{"Type":"User","message":…}`.
fn refusal(status: StatusCode, error_type: &'static str, message: &str) -> Response<Bytes> {
    let body = json!({ "Type": "User", "message": message }).to_string();
    let mut response = json_response(status, Bytes::from(body));
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    response
}

/// The caller's `X-Amzn-Trace-Id`, which Lambda hands on to the runtime.
fn trace_id(headers: &HeaderMap) -> Option<String> {
    headers.get("x-amzn-trace-id")?.to_str().ok().map(str::to_string)
}

/// coldbench's own failure, marked so that no one blames the function.
fn host_error(cause: &'static str) -> Response<Bytes> {
    let body = serde_json::json!({ "errorType": "Coldbench.HostError", "errorMessage": cause }).to_string();
    let mut response = json_response(StatusCode::INTERNAL_SERVER_ERROR, Bytes::from(body));
    response.headers_mut().insert(crate::http::HOST_ERROR_HEADER, HeaderValue::from_static(cause));
    response
}

async fn function_url(runtime: &FunctionRuntime, invocation: Invocation) -> (Served, Option<String>) {
    let event = url_event(&invocation);
    let caller = Caller { client_context: None, trace_id: trace_id(&invocation.headers) };
    let invoked = runtime.invoke(Bytes::from(event.to_string()), caller).await;
    let record = gateway_record(&invoked);
    let request_id = invoked.record().request_id.clone();
    let response = match invoked {
        Invoked::Success { body, .. } => url_response(&body),
        Invoked::FunctionError { .. } => {
            json_response(StatusCode::BAD_GATEWAY, Bytes::from_static(b"{\"Message\":\"Internal Server Error\"}"))
        }
        Invoked::Throttled { reason, .. } => throttled(reason),
        Invoked::HostError { cause, .. } => host_error(cause),
    };
    (Served { response, record }, Some(request_id))
}

/// The `x-coldbench-*` facts the gateway stamps on the response.
fn gateway_record(invoked: &Invoked) -> Option<InvocationRecord> {
    let record = invoked.record();
    Some(InvocationRecord {
        instance: record.instance.clone()?,
        cold: record.cold,
        init: record.init_ms.map(|ms| Duration::from_secs_f64(ms / 1e3)),
        duration: Duration::from_secs_f64(record.duration_ms / 1e3),
        // Billing runs on to the runtime's next `/next`, after this answer.
        billed_ms: None,
    })
}

/// 429 with the `TooManyRequestsException` shape (lambda-and-container-model.md §1).
fn throttled(reason: ThrottleReason) -> Response<Bytes> {
    let reason = match reason {
        ThrottleReason::ConcurrencyLimit => "ConcurrentInvocationLimitExceeded",
        ThrottleReason::ScalingRate => "FunctionInvocationRateLimitExceeded",
    };
    let body = format!("{{\"Reason\":\"{reason}\",\"Type\":\"User\",\"message\":\"Rate Exceeded.\"}}");
    let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, Bytes::from(body));
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static("TooManyRequestsException"));
    headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn decode_client_context(value: &HeaderValue) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.as_bytes())
        .map_err(|_| "X-Amz-Client-Context must be base64".to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "X-Amz-Client-Context must be UTF-8 JSON".to_string())?;
    serde_json::from_str::<Value>(&text).map_err(|_| "X-Amz-Client-Context must be base64 of JSON".to_string())?;
    Ok(text)
}

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
    let text = std::str::from_utf8(&invocation.body).ok().filter(|_| is_text(&invocation.headers));
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

/// Whether a function URL passes the request body as text: by its content type — `text/*`,
/// JSON, XML, JavaScript and the `+json` / `+xml` types. Anything else, a form post or a body
/// without a type included, arrives base64-encoded, as function URLs do (a body that is not
/// UTF-8 is encoded whatever its type says).
fn is_text(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(mime.as_str(), "application/json" | "application/xml" | "application/javascript")
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

fn json_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
    fn function_names_are_read_in_every_form_the_invoke_api_takes() {
        let parse = FunctionName::parse;
        let plain = FunctionName { name: "f", qualifier: None, region: None, account: None };
        assert_eq!(parse("f"), Some(plain));
        assert_eq!(parse("f:$LATEST").unwrap().qualifier, Some("$LATEST"));
        let partial = parse("123456789012:function:f:7").unwrap();
        assert_eq!((partial.name, partial.qualifier, partial.account), ("f", Some("7"), Some("123456789012")));
        let arn = parse("arn:aws:lambda:eu-west-1:123456789012:function:my-fn").unwrap();
        assert_eq!((arn.name, arn.region, arn.qualifier), ("my-fn", Some("eu-west-1"), None));
        for bad in ["", "a b", "f:1:2", "arn:aws:s3:eu-west-1:123456789012:function:f", "12:function:f", "f:"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_time_has_the_function_url_layout() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_764_256_821);
        assert_eq!(http_time(t), "27/Nov/2025:15:20:21 +0000");
    }
}

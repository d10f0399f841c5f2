//! The two front doors of the function runtime on the gateway:
//! the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`, raw event in, raw
//! payload out) and a function-URL-style HTTP front (any other path becomes a payload format 2.0
//! event; the response object is mapped back), per reference §5.2 and §7.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use serde_json::{json, Value};

use super::invoke::{Caller, Invoked};
use super::FunctionRuntime;
use crate::gateway::{Invocation, InvocationRecord, Served};
use crate::lambda::{FunctionName, FUNCTION_NAME_PATTERN, LATEST, MAX_ASYNC_REQUEST_BYTES, MAX_REQUEST_BYTES};
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
    let is_configuration = path.starts_with("/2015-03-31/functions/") && path.ends_with("/configuration");
    let (mut served, request_id) = if invocation.body.len() > MAX_REQUEST_BYTES {
        (Served { response: request_too_large(), record: None }, None)
    } else if is_configuration {
        (Served { response: configuration(runtime, &invocation), record: None }, None)
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

/// `GetFunctionConfiguration` (GET) and `UpdateFunctionConfiguration` (PUT) of
/// `/2015-03-31/functions/{name}/configuration`, as far as they concern a benchmark: the
/// function's settings, and new environment variables — the update lambda-perf makes to force
/// the next invocation into a new environment (it publishes a new version: see
/// [`FunctionRuntime::update_environment`]). Other settings in an update are refused, not ignored.
fn configuration(runtime: &FunctionRuntime, invocation: &Invocation) -> Response<Bytes> {
    let config = runtime.config();
    let path = invocation.uri.path();
    let named = percent_decode(&path["/2015-03-31/functions/".len()..path.len() - "/configuration".len()]);
    if FunctionName::parse(&named).is_none_or(|f| f.name != config.name || f.qualifier.is_some_and(|q| q != LATEST)) {
        let message = format!(
            "Function not found: arn:aws:lambda:{}:{}:function:{named}",
            config.region,
            crate::lambda::ACCOUNT_ID
        );
        return refusal(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    }
    match invocation.method {
        http::Method::GET => {}
        http::Method::PUT => {
            let update: Value = match serde_json::from_slice(&invocation.body) {
                Ok(Value::Object(update)) => Value::Object(update),
                _ => return *bad_request("InvalidRequestContentException", "Could not parse request body into json"),
            };
            if let Some(other) = update.as_object().into_iter().flat_map(|o| o.keys()).find(|k| *k != "Environment") {
                let message = format!("coldbench's runtime updates only Environment, not {other}");
                return *bad_request("InvalidParameterValueException", &message);
            }
            let variables = update.pointer("/Environment/Variables").and_then(Value::as_object);
            let Some(variables) = variables else {
                return *bad_request("InvalidParameterValueException", "Environment.Variables must be an object");
            };
            let mut env = Vec::new();
            for (name, value) in variables {
                let Some(value) = value.as_str() else {
                    return *bad_request("InvalidParameterValueException", &format!("{name}: must be a string"));
                };
                env.push((name.clone(), value.to_string()));
            }
            runtime.update_environment(env);
        }
        _ => return refusal(StatusCode::METHOD_NOT_ALLOWED, "InvalidRequestContentException", "GET or PUT"),
    }
    let variables: serde_json::Map<String, Value> =
        runtime.environment().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let body = json!({
        "FunctionName": config.name,
        "FunctionArn": config.function_arn(),
        "Runtime": "provided.al2023",
        "Handler": config.handler,
        "MemorySize": config.memory_mb,
        "Timeout": config.timeout.as_secs(),
        "Environment": { "Variables": variables },
        "Version": LATEST,
        "State": "Active",
        "LastUpdateStatus": "Successful",
    });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

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
    let event = super::url::url_event(&invocation);
    let caller = Caller { client_context: None, trace_id: trace_id(&invocation.headers) };
    let invoked = runtime.invoke(Bytes::from(event.to_string()), caller).await;
    let record = gateway_record(&invoked);
    let request_id = invoked.record().request_id.clone();
    let response = match invoked {
        Invoked::Success { body, .. } => super::url::url_response(&body),
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

pub(super) fn json_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

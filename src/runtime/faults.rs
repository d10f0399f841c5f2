//! What an invocation's failure says: the error documents Lambda returns to the caller, how a
//! runtime's end is described, and the diagnosis of a failed Init for the person running
//! coldbench.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;

use bytes::Bytes;

use super::instance::{FunctionInstance, InitEnd};
use super::Inner;

/// What a failed Init tells the person running coldbench: which instance, what it did, and
/// the end of its output — a program that is not a Lambda runtime exits or hangs before `/next`.
pub(super) fn diagnose(inner: &Arc<Inner>, instance: &FunctionInstance, end: &InitEnd) -> String {
    let what = match end {
        InitEnd::Exited(status) => format!("exited with {} before calling /next", describe_exit(*status)),
        InitEnd::TimedOut | InitEnd::Ready(_) if instance.provisioned => format!(
            "did not call /next within the provisioned Init limit of {} s",
            inner.init_limit(true).as_secs_f64()
        ),
        InitEnd::TimedOut | InitEnd::Ready(_) => format!(
            "did not call /next within its init_timeout of {} s, nor when Init was retried in the first invocation \
             under the function timeout of {} s",
            inner.config.init_timeout.as_secs_f64(),
            inner.config.timeout.as_secs_f64()
        ),
        InitEnd::Failed { error_type, body } => {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            let field = |key: &str| parsed.as_ref().and_then(|v| v.get(key)?.as_str().map(str::to_string));
            let kind = field("errorType").or_else(|| error_type.clone()).unwrap_or_else(|| "Runtime.Unknown".into());
            format!("reported an Init error, {kind}: {}", field("errorMessage").unwrap_or_default())
        }
    };
    let tail = instance.tail();
    let lines: Vec<&str> = tail.lines().collect();
    let last = lines[lines.len().saturating_sub(10)..].join("\n");
    format!("instance {} {what}; its output ends with:\n{last}", instance.name)
}

/// `exit status 3`, `signal: killed`: how Lambda describes a runtime's end.
pub(super) fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => {
            let name = match signal {
                libc::SIGKILL => "killed",
                libc::SIGTERM => "terminated",
                libc::SIGABRT => "aborted",
                libc::SIGSEGV => "segmentation fault",
                libc::SIGINT => "interrupt",
                other => return format!("signal: {other}"),
            };
            format!("signal: {name}")
        }
        (None, None) => "unknown".to_string(),
    }
}

/// `{"errorType":…,"errorMessage":…}`: the platform's own error document (reference §2.3 order).
pub fn error_body(error_type: &str, message: &str) -> Bytes {
    Bytes::from(format!(
        "{{\"errorType\":{},\"errorMessage\":{}}}",
        serde_json::Value::from(error_type),
        serde_json::Value::from(message)
    ))
}

/// Lambda strips `errorCause` from an error document before returning it to the caller.
pub(super) fn strip_error_cause(body: Bytes) -> Bytes {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut map)) if map.contains_key("errorCause") => {
            map.remove("errorCause");
            serde_json::to_vec(&map).map(Bytes::from).unwrap_or(body)
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_as_lambda_does() {
        assert_eq!(describe_exit(ExitStatus::from_raw(3 << 8)), "exit status 3");
        assert_eq!(describe_exit(ExitStatus::from_raw(libc::SIGKILL)), "signal: killed");
    }

    #[test]
    fn error_cause_is_stripped() {
        let body = Bytes::from_static(br#"{"errorMessage":"x","errorType":"E","errorCause":{"a":1}}"#);
        assert_eq!(strip_error_cause(body), Bytes::from_static(br#"{"errorMessage":"x","errorType":"E"}"#));
    }
}

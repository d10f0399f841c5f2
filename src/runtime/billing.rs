//! Billing records: one per invocation, with Lambda's rounding rules, and the START / END /
//! REPORT log lines in Lambda's exact format (`docs/reference/lambda-runtime-api.md` §5.3).

use std::sync::{Arc, Mutex};

use crate::metrics::BillingRecord;

/// One invocation's log as it is written — its START line, what the function prints while it
/// runs, END, REPORT — for `X-Amz-Log-Type: Tail`. It keeps the last [`Tail::KEEP`] bytes.
#[derive(Clone, Debug, Default)]
pub struct Tail(Arc<Mutex<Vec<u8>>>);

impl Tail {
    /// Lambda returns the last 4 KB; a little more is kept, so that trimming is rare.
    pub const KEEP: usize = 4096;

    pub fn push(&self, line: &str) {
        let mut log = self.0.lock().expect("tail lock");
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
        if log.len() > 2 * Self::KEEP {
            let cut = log.len() - Self::KEEP;
            log.drain(..cut);
        }
    }

    /// Its last [`Tail::KEEP`] bytes.
    pub fn last(&self) -> Vec<u8> {
        let log = self.0.lock().expect("tail lock");
        log[log.len().saturating_sub(Self::KEEP)..].to_vec()
    }

    pub fn same(&self, other: &Tail) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// `INIT_START Runtime Version: …`: the first line of every execution environment's log. Lambda
/// names its managed runtime's version there; coldbench, which runs the function's own runtime
/// program, names itself.
pub fn init_start_line(region: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "INIT_START Runtime Version: coldbench:{version}\tRuntime Version ARN: arn:aws:lambda:{region}::runtime:coldbench-{version}"
    )
}

/// `INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout`, as Lambda writes it when
/// an Init does not end in an invocation's REPORT line: when it failed (`Status: timeout`, or
/// `Status: error` with its `Error Type`) or ran ahead of traffic (provisioned, pre-warmed).
/// `phase` is `invoke` for an Init retried inside the first invocation.
pub fn init_report_line(init: std::time::Duration, phase: &str, failure: Option<(&str, Option<&str>)>) -> String {
    let mut line = format!("INIT_REPORT Init Duration: {:.2} ms\tPhase: {phase}", init.as_secs_f64() * 1e3);
    if let Some((status, error_type)) = failure {
        line.push_str(&format!("\tStatus: {status}"));
        if let Some(error_type) = error_type {
            line.push_str(&format!("\tError Type: {error_type}"));
        }
    }
    line
}

/// `START RequestId: <id> Version: $LATEST`
pub fn start_line(request_id: &str) -> String {
    format!("START RequestId: {request_id} Version: {}", crate::lambda::LATEST)
}

/// `END RequestId: <id>`
pub fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// The REPORT line in real Lambda's field order (Init Duration last, cold starts only).
pub fn report_line(record: &BillingRecord) -> String {
    let mut line = format!(
        "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        record.request_id, record.duration_ms, record.billed_ms, record.memory_mb, record.max_memory_used_mb
    );
    if let Some(init) = record.init_ms {
        line.push_str(&format!("Init Duration: {init:.2} ms\t"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_keeps_the_last_4_kb_of_lines() {
        let tail = Tail::default();
        tail.push("START");
        assert_eq!(tail.last(), b"START\n");
        for i in 0..2_000 {
            tail.push(&format!("line {i}"));
        }
        tail.push("REPORT");
        let last = tail.last();
        assert_eq!(last.len(), Tail::KEEP);
        assert!(last.ends_with(b"line 1999\nREPORT\n"));
    }

    #[test]
    fn init_lines_have_lambdas_layout() {
        assert!(init_start_line("eu-west-1").starts_with("INIT_START Runtime Version: coldbench:"));
        let ms = std::time::Duration::from_micros(1_000_004);
        assert_eq!(init_report_line(ms, "init", None), "INIT_REPORT Init Duration: 1000.00 ms\tPhase: init");
        assert_eq!(
            init_report_line(ms, "init", Some(("error", Some("Runtime.ExitError")))),
            "INIT_REPORT Init Duration: 1000.00 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"
        );
    }
    use crate::lambda::{billed_ms, BillingMode};
    use crate::metrics::InvocationOutcome;
    use std::time::Duration;

    #[test]
    fn billing_rounds_up_to_the_millisecond_and_includes_init_when_standard() {
        let d = Duration::from_micros(12_001);
        let init = Some(Duration::from_micros(150_500));
        assert_eq!(billed_ms(d, None, BillingMode::Standard), 13);
        assert_eq!(billed_ms(Duration::from_millis(12), None, BillingMode::Standard), 12);
        assert_eq!(billed_ms(d, init, BillingMode::Standard), 163);
        assert_eq!(billed_ms(d, init, BillingMode::Legacy), 13);
    }

    #[test]
    fn report_line_matches_lambdas_layout() {
        let mut record = BillingRecord {
            request_id: "8f5a4c1e-0000-4000-8000-000000000001".into(),
            instance: Some("fn-0".into()),
            cold: true,
            provisioned: false,
            init_ms: Some(151.237),
            duration_ms: 12.004,
            billed_ms: 164,
            memory_mb: 128,
            max_memory_used_mb: 19,
            outcome: InvocationOutcome::Success,
            cpu_ms: None,
            throttled_ms: None,
        };
        assert_eq!(
            report_line(&record),
            "REPORT RequestId: 8f5a4c1e-0000-4000-8000-000000000001\tDuration: 12.00 ms\tBilled Duration: 164 ms\t\
             Memory Size: 128 MB\tMax Memory Used: 19 MB\tInit Duration: 151.24 ms\t"
        );
        record.init_ms = None;
        assert!(report_line(&record).ends_with("Max Memory Used: 19 MB\t"));
    }
}

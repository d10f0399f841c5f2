//! Billing records: one per invocation, with Lambda's rounding rules, and the START / END /
//! REPORT log lines in Lambda's exact format (`shared/reference/lambda-runtime-api.md` §5.3).

use crate::metrics::BillingRecord;

/// `START RequestId: <id> Version: $LATEST`
pub fn start_line(request_id: &str) -> String {
    format!("START RequestId: {request_id} Version: $LATEST")
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

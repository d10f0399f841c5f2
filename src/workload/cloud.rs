//! A `lambda` target: a function deployed on AWS, reached through the Invoke API.

use serde::{Deserialize, Serialize};

/// A deployed Lambda function, invoked synchronously through the Invoke API with SigV4 (see
/// `crate::cloud`). Credentials come from the environment or the shared profile, never from
/// the workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSpec {
    pub name: String,
    /// The function's name, partial ARN or ARN (`arn:aws:lambda:us-east-1:123456789012:function:f`).
    pub function: String,
    /// A version or alias (`?Qualifier=`); default: `$LATEST` (or the ARN's).
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Default: the ARN's, then `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's.
    #[serde(default)]
    pub region: Option<String>,
    /// The shared profile to read credentials and region from (default: the environment's
    /// keys, else `AWS_PROFILE`, else `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Where the Invoke API is (default: `https://lambda.{region}.amazonaws.com`, or
    /// `AWS_ENDPOINT_URL_LAMBDA`): e.g. `coldbench runtime`'s address.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Force a cold start before every invocation, as lambda-perf does: an
    /// `UpdateFunctionConfiguration` that changes one environment variable after each
    /// invocation, so that the next one meets a new environment. It changes the deployed
    /// function: only when asked.
    #[serde(default)]
    pub force_cold_starts: bool,
    /// What each invocation sends (bodies and headers; the Invoke API's method and path are
    /// fixed); default: the workload's `[[requests]]`, else the demo function's work.
    #[serde(default)]
    pub requests: Option<Vec<super::RequestSpec>>,
    #[serde(default)]
    pub request_order: Option<super::RequestOrder>,
}

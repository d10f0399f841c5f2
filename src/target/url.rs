//! A URL target: any HTTP endpoint, measured as it is; nothing to start or stop.

use super::{Endpoint, Part, Run, StartError, Target};
use crate::http::{RequestTemplate, Transport};
use crate::metrics::TargetKind;
use crate::workload::UrlSpec;

/// An endpoint somewhere else.
pub struct UrlTarget<'a> {
    spec: &'a UrlSpec,
}

impl<'a> UrlTarget<'a> {
    pub fn new(spec: &'a UrlSpec) -> Self {
        Self { spec }
    }
}

impl Target for UrlTarget<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Url
    }

    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError> {
        let s = self.spec;
        let default = RequestTemplate::new(&s.method, &s.url, &s.headers, s.body.clone().unwrap_or_default())
            .map_err(|e| StartError::Failed(e.to_string()))?;
        // A request's path replaces the URL's; the URL's method, headers and body are its defaults.
        let origin = default.url.scheme_str().zip(default.url.authority()).map(|(s, a)| format!("{s}://{a}"));
        let origin = origin.unwrap_or_default();
        let requests = super::request_set(run.workload, &s.name, default, |r| {
            let method = r.method.as_deref().unwrap_or(&s.method);
            let body = r.body.clone().or_else(|| s.body.clone().map(bytes::Bytes::from)).unwrap_or_default();
            RequestTemplate::new(method, &format!("{origin}{}", r.target), &super::merged(&s.headers, &r.headers), body)
        });
        let transport = Transport { cacert: s.cacert.clone(), insecure: s.insecure, http2: s.http2 };
        let requests = requests.with_transport(transport);
        Ok(Endpoint { url: s.url.clone(), requests })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        Part::default()
    }
}

//! A URL target: any HTTP endpoint, measured as it is; nothing to start or stop.

use super::{Endpoint, Part, Run, StartError, Target};
use crate::http::RequestTemplate;
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

    async fn start(&mut self, _run: &Run<'_>) -> Result<Endpoint, StartError> {
        let s = self.spec;
        let template = RequestTemplate::new(&s.method, &s.url, &s.headers, s.body.clone().unwrap_or_default())
            .map_err(|e| StartError::Failed(e.to_string()))?;
        Ok(Endpoint { url: s.url.clone(), template })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        Part::default()
    }
}

//! The workload's `[thresholds]`: `metric = "< value"` for every target, `[thresholds.<target>]`
//! for one, parsed into `metrics::Threshold`.

use super::{TargetSpec, WorkloadSpec};

type FieldError = (String, String);

/// `[thresholds]`: `metric = "< value"` for every target, `[thresholds.<target>]` for one (a
/// target of the workload).
pub(super) fn thresholds(spec: &WorkloadSpec) -> Result<Vec<crate::metrics::Threshold>, FieldError> {
    let one = |target: Option<&str>, metric: &str, value: &toml::Value, field: String| {
        let condition = value
            .as_str()
            .ok_or_else(|| (field.clone(), "must be a condition in quotes, such as \"< 500ms\"".to_string()))?;
        let text = format!("{metric} {condition}");
        let mut threshold = crate::metrics::Threshold::parse(&text).map_err(|e| (field.clone(), e))?;
        threshold.target = target.map(str::to_string);
        Ok::<_, FieldError>(threshold)
    };
    let mut all = Vec::new();
    for (key, value) in &spec.thresholds {
        match value.as_table() {
            Some(table) => {
                if !spec.targets.iter().any(|t| t.name() == key) {
                    let names: Vec<&str> = spec.targets.iter().map(TargetSpec::name).collect();
                    return Err((
                        format!("thresholds.{key}"),
                        format!("names no target of this workload (it has: {})", names.join(", ")),
                    ));
                }
                for (metric, value) in table {
                    all.push(one(Some(key), metric, value, format!("thresholds.{key}.{metric}"))?);
                }
            }
            None => all.push(one(None, key, value, format!("thresholds.{key}"))?),
        }
    }
    Ok(all)
}

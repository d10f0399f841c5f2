//! Parse errors people can act on: serde's messages in words ("a number", not "f64"), and the
//! field they concern even inside an internally tagged table (`targets[0].command`, where serde
//! stops at `targets[0]`: a tagged enum is buffered before its variant is chosen, and the path
//! is lost inside it).

/// The field `message` concerns under `path` in `root`, found by the value or the field name
/// the message quotes; `None` when the message quotes neither or no field matches.
pub(super) fn locate(root: &toml::Value, path: &str, message: &str) -> Option<String> {
    let table = lookup(root, path)?;
    if let Some(name) = quoted_after(message, "missing field `") {
        return Some(join(path, &name));
    }
    if let Some(name) = quoted_after(message, "unknown field `") {
        return find(table, path, &|key, _| key == name);
    }
    let wanted = offending_value(message)?;
    find(table, path, &|_, value| *value == wanted)
}

/// serde's type names in words a workload's author uses.
pub(super) fn in_words(message: &str) -> String {
    const WORDS: [(&str, &str); 16] = [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number, 0 or more"),
        ("expected u8", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected a sequence", "expected a list, such as [\"a\", \"b\"]"),
        ("expected a map", "expected a table"),
        ("expected a boolean", "expected true or false"),
        ("invalid type: floating point", "invalid type: the number"),
        ("invalid type: integer", "invalid type: the number"),
        ("invalid value: integer", "invalid value: the number"),
        ("invalid type: string", "invalid type: the text"),
    ];
    let mut text = message.to_string();
    for (from, to) in WORDS {
        text = text.replace(from, to);
    }
    text
}

/// The value `root` holds at `path` (`targets[0]`, `traffic`, `.` for the whole file).
fn lookup<'a>(root: &'a toml::Value, path: &str) -> Option<&'a toml::Value> {
    let mut value = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            value = value.get(key)?;
        }
        if let Some(i) = index {
            value = value.get(i)?;
        }
    }
    Some(value)
}

/// The first field under `value` (depth first) for which `matches` holds, as a path.
fn find(value: &toml::Value, path: &str, matches: &dyn Fn(&str, &toml::Value) -> bool) -> Option<String> {
    match value {
        toml::Value::Table(table) => table.iter().find_map(|(key, v)| {
            let here = join(path, key);
            if matches(key, v) {
                Some(here)
            } else {
                find(v, &here, matches)
            }
        }),
        toml::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| find(v, &format!("{path}[{i}]"), matches))
        }
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path == "." {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The name between backquotes after `prefix`.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// The value an `invalid type: …` or `invalid value: …` message quotes, as TOML would hold it.
fn offending_value(message: &str) -> Option<toml::Value> {
    let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "))?;
    let shown = &rest[..rest.find(", expected")?];
    if let Some(text) = shown.strip_prefix("string ") {
        return serde_json::from_str::<String>(text).ok().map(toml::Value::String);
    }
    let inner = shown.split('`').nth(1)?;
    if shown.starts_with("integer") {
        inner.parse().ok().map(toml::Value::Integer)
    } else if shown.starts_with("floating point") {
        inner.parse().ok().map(toml::Value::Float)
    } else if shown.starts_with("boolean") {
        inner.parse().ok().map(toml::Value::Boolean)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> toml::Value {
        toml::from_str(
            r#"
[traffic]
pattern = "constant"
rate = "fast"
[[targets]]
name = "a"
kind = "container"
[[targets]]
name = "b"
kind = "container"
command = 5
scaling = { min = -1 }
"#,
        )
        .unwrap()
    }

    #[test]
    fn fields_inside_tagged_tables_are_found_by_their_value_or_name() {
        let root = root();
        let at = |path: &str, message: &str| locate(&root, path, message);
        assert_eq!(at("traffic", "invalid type: string \"fast\", expected f64").as_deref(), Some("traffic.rate"));
        assert_eq!(
            at("targets[1]", "invalid type: integer `5`, expected a sequence").as_deref(),
            Some("targets[1].command")
        );
        assert_eq!(
            at("targets[1]", "invalid value: integer `-1`, expected u32").as_deref(),
            Some("targets[1].scaling.min")
        );
        assert_eq!(at("targets[0]", "missing field `command`").as_deref(), Some("targets[0].command"));
        assert_eq!(at("targets[0]", "unknown field `nme`, expected one of `name`").as_deref(), None);
        assert_eq!(at("targets[1]", "something else"), None);
    }

    #[test]
    fn types_are_said_in_words() {
        assert_eq!(
            in_words("invalid type: string \"fast\", expected f64"),
            "invalid type: the text \"fast\", expected a number"
        );
        assert_eq!(
            in_words("invalid value: integer `-1`, expected usize"),
            "invalid value: the number `-1`, expected a whole number, 0 or more"
        );
    }
}

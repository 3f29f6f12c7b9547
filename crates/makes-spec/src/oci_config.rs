//! The `config` of `makeContainerImage` as the OCI image config object, each field checked
//! against its type in the OCI image spec (`config.md`, "Properties") before it is written into
//! an image: a runtime that meets `Healthcheck = "x"` or `ExposedPorts = { http = { }; }`
//! refuses the whole image, far from the attribute that caused it.
//!
//! Every mistake is reported at its attribute (`config.Healthcheck.Interval`), and values are
//! quoted with `{:?}` so control characters show escaped.

use crate::error::SpecError;
use crate::reduce::Fields;
use makes_eval::{Context, Value};
use makes_syntax::Span;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Keys of the OCI image config object.
pub(crate) const CONFIG_KEYS: &[&str] = &[
    "ArgsEscaped",
    "Cmd",
    "Entrypoint",
    "Env",
    "ExposedPorts",
    "Healthcheck",
    "Labels",
    "OnBuild",
    "Shell",
    "StopSignal",
    "User",
    "Volumes",
    "WorkingDir",
];

/// Keys of `Healthcheck` (Docker's `HealthConfig`, which the OCI config carries as is).
const HEALTHCHECK_KEYS: &[&str] = &[
    "Interval",
    "Retries",
    "StartInterval",
    "StartPeriod",
    "Test",
    "Timeout",
];

/// The `config` set as OCI JSON, every key checked; string contexts go into `context`.
pub(crate) fn reduce_config(
    image: &Fields,
    value: &Value,
    context: &mut Context,
) -> Result<BTreeMap<String, Json>, SpecError> {
    let f = Fields::new(image.ev, value, "config", image.span_of("config"))?;
    f.reject_unknown("config", CONFIG_KEYS)?;
    let mut out = BTreeMap::new();
    for name in f.attrs.names() {
        let v = f.get(name)?.unwrap_or(Value::Null);
        let json = makes_eval::to_json(f.ev, &v, context)?;
        let attr = format!("config.{name}");
        let span = f.span_of(name);
        if &**name == "Healthcheck" {
            check_healthcheck(&f, &v, &json, span)?;
        } else {
            check_field(&attr, &json, &v, span)?;
        }
        out.insert(name.to_string(), json);
    }
    Ok(out)
}

fn wrong_type(attr: &str, expected: &'static str, v: &Value, span: Option<Span>) -> SpecError {
    SpecError::WrongType {
        attr: attr.to_owned(),
        expected,
        found: v.describe().to_owned(),
        span,
    }
}

fn invalid(attr: &str, message: String, span: Option<Span>) -> SpecError {
    SpecError::Invalid {
        attr: attr.to_owned(),
        message,
        span,
    }
}

fn is_string_list(json: &Json) -> bool {
    json.as_array()
        .is_some_and(|a| a.iter().all(Json::is_string))
}

fn is_set_of_empty_sets(json: &Json) -> bool {
    json.as_object().is_some_and(|m| {
        m.values()
            .all(|x| x.as_object().is_some_and(|o| o.is_empty()))
    })
}

/// One field other than `Healthcheck`.
fn check_field(attr: &str, json: &Json, v: &Value, span: Option<Span>) -> Result<(), SpecError> {
    let key = attr.trim_start_matches("config.");
    match key {
        "Cmd" | "Entrypoint" | "Shell" | "OnBuild" if !is_string_list(json) => {
            Err(wrong_type(attr, "a list of strings", v, span))
        }
        "Env" => {
            if !is_string_list(json) {
                return Err(wrong_type(attr, "a list of strings", v, span));
            }
            for item in json.as_array().into_iter().flatten() {
                let s = item.as_str().unwrap_or_default();
                if !s.contains('=') || s.starts_with('=') {
                    return Err(invalid(
                        attr,
                        format!("'{}' is not of the form NAME=value", s.escape_debug()),
                        span,
                    ));
                }
            }
            Ok(())
        }
        "ExposedPorts" => {
            if !is_set_of_empty_sets(json) {
                return Err(wrong_type(
                    attr,
                    "a set of empty sets named PORT/tcp, PORT/udp or PORT",
                    v,
                    span,
                ));
            }
            let keys = json.as_object().into_iter().flat_map(|m| m.keys());
            match keys.into_iter().find(|k| !valid_port_key(k)) {
                Some(k) => Err(invalid(
                    attr,
                    format!("{k:?} is not a port: write PORT/tcp, PORT/udp, PORT/sctp or PORT (1 to 65535)"),
                    span,
                )),
                None => Ok(()),
            }
        }
        "Volumes" => {
            if !is_set_of_empty_sets(json) {
                return Err(wrong_type(
                    attr,
                    "a set of empty sets named by paths",
                    v,
                    span,
                ));
            }
            let keys = json.as_object().into_iter().flat_map(|m| m.keys());
            match keys.into_iter().find(|k| !k.starts_with('/')) {
                Some(k) => Err(invalid(
                    attr,
                    format!("{k:?} is not an absolute path"),
                    span,
                )),
                None => Ok(()),
            }
        }
        "Labels"
            if !json
                .as_object()
                .is_some_and(|m| m.values().all(Json::is_string)) =>
        {
            Err(wrong_type(attr, "a set of strings", v, span))
        }
        "User" | "WorkingDir" | "StopSignal" if !json.is_string() => {
            Err(wrong_type(attr, "a string", v, span))
        }
        "ArgsEscaped" if !json.is_boolean() => Err(wrong_type(attr, "a Boolean", v, span)),
        _ => Ok(()),
    }
}

/// `PORT/tcp`, `PORT/udp`, `PORT/sctp` or `PORT` (tcp), as the OCI spec and Docker read them.
fn valid_port_key(key: &str) -> bool {
    let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
    matches!(protocol, "tcp" | "udp" | "sctp")
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// `Healthcheck`: a set with `Test` (a list of strings starting with `NONE`, `CMD` or
/// `CMD-SHELL`), durations in nanoseconds and `Retries`, each a non-negative integer.
fn check_healthcheck(
    config: &Fields,
    v: &Value,
    json: &Json,
    span: Option<Span>,
) -> Result<(), SpecError> {
    let attr = "config.Healthcheck";
    if !json.is_object() {
        return Err(wrong_type(
            attr,
            "a set (Test, Interval, Timeout, ...)",
            v,
            span,
        ));
    }
    let h = Fields::new(config.ev, v, attr, span)?;
    h.reject_unknown("config.Healthcheck", HEALTHCHECK_KEYS)?;
    for name in h.attrs.names() {
        let sub = format!("{attr}.{name}");
        let sub_span = h.span_of(name);
        let value = h.get(name)?.unwrap_or(Value::Null);
        let field = json.get(&**name).unwrap_or(&Json::Null);
        if &**name == "Test" {
            if !is_string_list(field) {
                return Err(wrong_type(&sub, "a list of strings", &value, sub_span));
            }
            let first = field
                .as_array()
                .and_then(|a| a.first())
                .and_then(Json::as_str);
            if let Some(first) = first.filter(|f| !matches!(*f, "NONE" | "CMD" | "CMD-SHELL")) {
                return Err(invalid(
                    &sub,
                    format!("starts with {first:?}; the first element must be \"NONE\", \"CMD\" or \"CMD-SHELL\""),
                    sub_span,
                ));
            }
        } else if field.as_i64().is_none_or(|n| n < 0) {
            let expected = if &**name == "Retries" {
                "a non-negative integer"
            } else {
                "a non-negative integer (nanoseconds)"
            };
            return Err(wrong_type(&sub, expected, &value, sub_span));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_keys() {
        for ok in ["80/tcp", "53/udp", "8080", "1/sctp", "65535/tcp"] {
            assert!(valid_port_key(ok), "{ok}");
        }
        for bad in [
            "http", "80/xyz", "0/tcp", "65536", "/tcp", "80/", "+80", "8 0",
        ] {
            assert!(!valid_port_key(bad), "{bad}");
        }
    }

    #[test]
    fn fields_are_checked_against_their_types() {
        let check = |attr: &str, json: Json| check_field(attr, &json, &Value::Null, None);
        assert!(check("config.Env", serde_json::json!(["A=1"])).is_ok());
        assert!(check("config.Env", serde_json::json!(["=1"])).is_err());
        assert!(check("config.Env", serde_json::json!("A=1")).is_err());
        assert!(check("config.ExposedPorts", serde_json::json!({"80/tcp": {}})).is_ok());
        assert!(check("config.ExposedPorts", serde_json::json!({"http": {}})).is_err());
        assert!(check("config.ExposedPorts", serde_json::json!({"80/tcp": 1})).is_err());
        assert!(check("config.Volumes", serde_json::json!({"/data": {}})).is_ok());
        assert!(check("config.Volumes", serde_json::json!({"data": {}})).is_err());
        assert!(check("config.ArgsEscaped", serde_json::json!(true)).is_ok());
        assert!(check("config.ArgsEscaped", serde_json::json!("yes")).is_err());
        assert!(check("config.Labels", serde_json::json!({"a": 1})).is_err());
        assert!(check("config.StopSignal", serde_json::json!(9)).is_err());
        assert!(check("config.OnBuild", serde_json::json!([1])).is_err());
    }
}

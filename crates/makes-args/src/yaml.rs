//! makes' `fromYaml`: YAML read as makes reads it (converted to JSON, then `fromJSON`):
//! mappings become sets (keys as strings), sequences lists, scalars what YAML 1.2 makes of
//! them. One document; an empty one is `null`.

use makes_eval::{from_json, EvalError, Value};
use yaml_rust2::{Yaml, YamlLoader};

pub(crate) fn from_yaml(text: &str) -> Result<Value, EvalError> {
    let docs = YamlLoader::load_from_str(text)
        .map_err(|e| EvalError::other(format!("fromYaml: invalid YAML: {e}"), None))?;
    let json = match docs.as_slice() {
        [] => serde_json::Value::Null,
        [doc] => to_json(doc)?,
        more => {
            return Err(EvalError::other(
                format!(
                    "fromYaml: the text holds {} YAML documents, not one",
                    more.len()
                ),
                None,
            ))
        }
    };
    Ok(from_json(&json))
}

fn to_json(y: &Yaml) -> Result<serde_json::Value, EvalError> {
    use serde_json::Value as J;
    Ok(match y {
        Yaml::Null => J::Null,
        Yaml::Boolean(b) => J::Bool(*b),
        Yaml::Integer(i) => J::from(*i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(J::Number)
            .unwrap_or_else(|| J::String(r.clone())),
        Yaml::String(s) => J::String(s.clone()),
        Yaml::Array(items) => J::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(map) => {
            let mut object = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Null => "null".to_owned(),
                    _ => {
                        return Err(EvalError::other(
                            "fromYaml: a mapping key that is not a scalar",
                            None,
                        ))
                    }
                };
                object.insert(key, to_json(v)?);
            }
            J::Object(object)
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(EvalError::other(
                "fromYaml: YAML aliases are not supported",
                None,
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_becomes_json_shaped_values() {
        let v = from_yaml("a: 1\nb: [x, 2.5, true, null]\nc:\n  d: \"text\"\n").expect("valid");
        let Value::Attrs(a) = v else { panic!("a set") };
        assert!(matches!(
            a.get("a").and_then(|x| x.value.peek()),
            Some(Value::Int(1))
        ));
        assert!(
            matches!(a.get("b").and_then(|x| x.value.peek()), Some(Value::List(l)) if l.len() == 4)
        );
        assert!(from_yaml("a: [").is_err());
        assert!(from_yaml("a: 1\n---\nb: 2\n").is_err());
        assert!(matches!(from_yaml(""), Ok(Value::Null)));
    }
}

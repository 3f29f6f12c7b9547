//! `LayeringPipeline`: dockerTools' `layeringPipeline` as plain data.
//!
//! nixpkgs hands the pipeline to its layering program as JSON (a list of steps, each a list
//! whose head names an operation and whose tail holds its arguments), so that form is both what
//! a Nix value is read through and how the pipeline is stored and shown. The operations are
//! those of nixpkgs' `flatten_references_graph`; what they do is the image builder's business.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// Nesting of `pipe`, `over` and `map` beyond this is refused: the pipeline is read and run
/// recursively, and a hostile one must not exhaust the stack.
pub const MAX_NESTING: usize = 64;

/// A `layeringPipeline`: steps applied in order to the image's store-path graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayeringPipeline {
    pub steps: Vec<LayeringStep>,
}

/// One operation of the pipeline. Paths are compared as strings with the graph's store paths
/// (`/nix/store/<hash>-<name>`), so one naming nothing in the graph matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayeringStep {
    /// A graph to one single-path graph per path, most depended-upon first.
    PopularityContest,
    /// A list: its first `n - 1` items, then the rest merged into one graph.
    LimitLayers(u64),
    /// A graph to graphs of `n` consecutive paths.
    SplitEvery(u64),
    /// Nested lists and results to one flat list of graphs.
    Flatten,
    /// A list, last item first.
    Reverse,
    /// A graph without these paths (they leave the image).
    RemovePaths(Vec<String>),
    /// A graph to `main` (these paths and every path depending on them) and `rest`.
    SubcomponentIn(Vec<String>),
    /// A graph to `main` (these paths and their dependencies) and `rest`.
    SubcomponentOut(Vec<String>),
    /// A graph to `main` (these paths and the dependencies only they reach), `common`
    /// (dependencies the rest reaches too) and `rest`.
    SplitPaths(Vec<SplitPath>),
    /// A result with its `key` replaced by `step` applied to it.
    Over {
        key: String,
        step: Box<LayeringStep>,
    },
    /// Steps in order.
    Pipe(Vec<LayeringStep>),
    /// `step` applied to every item of a list.
    Map(Box<LayeringStep>),
}

/// What `split_paths` splits at: a path, or the direct dependencies of paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitPath {
    Path(String),
    ChildrenOf(Vec<String>),
}

/// Why a JSON value is not a pipeline: where (`step 2 > over > pipe step 1`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineSyntaxError {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for PipelineSyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// The operation names, as errors list them.
const OPERATIONS: &str = "popularity_contest, limit_layers, split_every, flatten, reverse, \
                          remove_paths, subcomponent_in, subcomponent_out, split_paths, over, \
                          pipe, map";

impl LayeringPipeline {
    /// Reads the JSON form (`[["popularity_contest"], ["limit_layers", 10]]`).
    pub fn from_json(value: &Value) -> Result<Self, PipelineSyntaxError> {
        let steps = read_steps(value, "", 0)?;
        Ok(LayeringPipeline { steps })
    }

    /// The JSON form nixpkgs reads.
    pub fn to_json(&self) -> Value {
        Value::Array(self.steps.iter().map(LayeringStep::to_json).collect())
    }
}

impl LayeringStep {
    fn to_json(&self) -> Value {
        match self {
            LayeringStep::PopularityContest => json!(["popularity_contest"]),
            LayeringStep::LimitLayers(n) => json!(["limit_layers", n]),
            LayeringStep::SplitEvery(n) => json!(["split_every", n]),
            LayeringStep::Flatten => json!(["flatten"]),
            LayeringStep::Reverse => json!(["reverse"]),
            LayeringStep::RemovePaths(p) => json!(["remove_paths", p]),
            LayeringStep::SubcomponentIn(p) => json!(["subcomponent_in", p]),
            LayeringStep::SubcomponentOut(p) => json!(["subcomponent_out", p]),
            LayeringStep::SplitPaths(specs) => {
                let specs: Vec<Value> = specs
                    .iter()
                    .map(|s| match s {
                        SplitPath::Path(p) => json!(p),
                        SplitPath::ChildrenOf(p) => json!({ "children_of": p }),
                    })
                    .collect();
                json!(["split_paths", specs])
            }
            LayeringStep::Over { key, step } => json!(["over", key, step.to_json()]),
            LayeringStep::Pipe(steps) => {
                let steps: Vec<Value> = steps.iter().map(LayeringStep::to_json).collect();
                json!(["pipe", steps])
            }
            LayeringStep::Map(step) => json!(["map", step.to_json()]),
        }
    }
}

fn error(at: &str, message: impl Into<String>) -> PipelineSyntaxError {
    PipelineSyntaxError {
        at: at.to_owned(),
        message: message.into(),
    }
}

fn nested(at: &str, more: &str) -> String {
    if at.is_empty() {
        more.to_owned()
    } else {
        format!("{at} > {more}")
    }
}

fn read_steps(
    value: &Value,
    at: &str,
    depth: usize,
) -> Result<Vec<LayeringStep>, PipelineSyntaxError> {
    let Value::Array(items) = value else {
        return Err(error(
            at,
            format!("expected a list of steps, found {}", describe(value)),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| read_step(item, &nested(at, &format!("step {}", i + 1)), depth))
        .collect()
}

fn read_step(value: &Value, at: &str, depth: usize) -> Result<LayeringStep, PipelineSyntaxError> {
    if depth >= MAX_NESTING {
        return Err(error(at, format!("nested more than {MAX_NESTING} deep")));
    }
    let Value::Array(items) = value else {
        return Err(error(
            at,
            format!(
                "a step is a list whose first item names an operation, found {}",
                describe(value)
            ),
        ));
    };
    let Some(Value::String(name)) = items.first() else {
        return Err(error(at, "a step's first item is the name of an operation"));
    };
    let args = &items[1..];
    let at = nested(at, name);
    let arity = |n: usize| -> Result<(), PipelineSyntaxError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(error(
                &at,
                format!("takes {n} argument(s), given {}", args.len()),
            ))
        }
    };
    Ok(match name.as_str() {
        "popularity_contest" => {
            arity(0)?;
            LayeringStep::PopularityContest
        }
        "flatten" => {
            arity(0)?;
            LayeringStep::Flatten
        }
        "reverse" => {
            arity(0)?;
            LayeringStep::Reverse
        }
        "limit_layers" => {
            arity(1)?;
            LayeringStep::LimitLayers(read_count(&args[0], &at)?)
        }
        "split_every" => {
            arity(1)?;
            LayeringStep::SplitEvery(read_count(&args[0], &at)?)
        }
        "remove_paths" => {
            arity(1)?;
            // nixpkgs takes a single path here too.
            match &args[0] {
                Value::String(p) => LayeringStep::RemovePaths(vec![p.clone()]),
                other => LayeringStep::RemovePaths(read_paths(other, &at)?),
            }
        }
        "subcomponent_in" => {
            arity(1)?;
            LayeringStep::SubcomponentIn(read_paths(&args[0], &at)?)
        }
        "subcomponent_out" => {
            arity(1)?;
            LayeringStep::SubcomponentOut(read_paths(&args[0], &at)?)
        }
        "split_paths" => {
            arity(1)?;
            LayeringStep::SplitPaths(read_split_paths(&args[0], &at)?)
        }
        "over" => {
            arity(2)?;
            let Value::String(key) = &args[0] else {
                return Err(error(
                    &at,
                    format!(
                        "the first argument is the name of a result ('main', 'common', 'rest'), found {}",
                        describe(&args[0])
                    ),
                ));
            };
            LayeringStep::Over {
                key: key.clone(),
                step: Box::new(read_step(&args[1], &at, depth + 1)?),
            }
        }
        "pipe" => {
            arity(1)?;
            LayeringStep::Pipe(read_steps(&args[0], &at, depth + 1)?)
        }
        "map" => {
            arity(1)?;
            LayeringStep::Map(Box::new(read_step(&args[0], &at, depth + 1)?))
        }
        other => {
            return Err(error(
                &at,
                format!("unknown operation '{other}'; the operations are {OPERATIONS}"),
            ))
        }
    })
}

/// A count of `limit_layers` or `split_every`: nixpkgs refuses 0 and anything not an integer.
fn read_count(value: &Value, at: &str) -> Result<u64, PipelineSyntaxError> {
    match value.as_u64() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(error(
            at,
            format!("expected a positive integer, found {}", describe(value)),
        )),
    }
}

fn read_paths(value: &Value, at: &str) -> Result<Vec<String>, PipelineSyntaxError> {
    let Value::Array(items) = value else {
        return Err(error(
            at,
            format!("expected a list of store paths, found {}", describe(value)),
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(p) => Ok(p.clone()),
            other => Err(error(
                at,
                format!("expected a store path, found {}", describe(other)),
            )),
        })
        .collect()
}

fn read_split_paths(value: &Value, at: &str) -> Result<Vec<SplitPath>, PipelineSyntaxError> {
    let Value::Array(items) = value else {
        return Err(error(
            at,
            format!("expected a list of store paths, found {}", describe(value)),
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(p) => Ok(SplitPath::Path(p.clone())),
            Value::Object(o) => match (o.get("children_of"), o.len()) {
                (Some(Value::String(p)), 1) => Ok(SplitPath::ChildrenOf(vec![p.clone()])),
                (Some(paths), 1) => Ok(SplitPath::ChildrenOf(read_paths(paths, at)?)),
                _ => Err(error(
                    at,
                    "a set given to split_paths has exactly one attribute, 'children_of'",
                )),
            },
            other => Err(error(
                at,
                format!(
                    "expected a store path or {{ children_of = ...; }}, found {}",
                    describe(other)
                ),
            )),
        })
        .collect()
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a Boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a set",
    }
}

impl Serialize for LayeringPipeline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LayeringPipeline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        LayeringPipeline::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: &Value) -> Result<LayeringPipeline, String> {
        LayeringPipeline::from_json(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_operation_reads_and_writes_back_the_same_json() {
        let v = json!([
            ["subcomponent_out", ["/nix/store/a-python3"]],
            ["over", "rest", ["pipe", [
                ["split_paths", ["/nix/store/b-app", {"children_of": ["/nix/store/c-lib"]}]],
                ["over", "main", ["pipe", [
                    ["subcomponent_in", ["/nix/store/b-app"]],
                    ["over", "rest", ["pipe", [["popularity_contest"], ["reverse"], ["limit_layers", 110]]]]
                ]]],
                ["over", "rest", ["split_every", 3]]
            ]]],
            ["flatten"],
            ["map", ["remove_paths", ["/nix/store/d-x"]]],
            ["limit_layers", 5]
        ]);
        let p = read(&v).expect("a pipeline");
        assert_eq!(p.to_json(), v);
        let back: LayeringPipeline =
            serde_json::from_str(&serde_json::to_string(&p).expect("json")).expect("reads back");
        assert_eq!(back, p);
    }

    #[test]
    fn single_path_forms_read_as_lists() {
        let p = read(&json!([
            ["remove_paths", "/nix/store/a-x"],
            ["split_paths", [{"children_of": "/nix/store/b-y"}]]
        ]))
        .expect("a pipeline");
        assert_eq!(
            p.steps,
            vec![
                LayeringStep::RemovePaths(vec!["/nix/store/a-x".into()]),
                LayeringStep::SplitPaths(vec![SplitPath::ChildrenOf(
                    vec!["/nix/store/b-y".into()]
                )]),
            ]
        );
    }

    #[test]
    fn mistakes_say_where_and_what() {
        let cases = [
            (json!({}), "expected a list of steps, found a set"),
            (
                json!([["popularity"]]),
                "step 1 > popularity: unknown operation 'popularity'",
            ),
            (
                json!([["limit_layers", 0]]),
                "positive integer, found a number",
            ),
            (json!([["limit_layers", -3]]), "positive integer"),
            (json!([["limit_layers", 2.5]]), "positive integer"),
            (json!([["split_every"]]), "takes 1 argument(s), given 0"),
            (json!([["flatten", 1]]), "takes 0 argument(s), given 1"),
            (
                json!([["subcomponent_in", "/nix/store/a-x"]]),
                "expected a list of store paths",
            ),
            (
                json!([["split_paths", [{"children": "x"}]]]),
                "exactly one attribute, 'children_of'",
            ),
            (json!([["over", 1, ["flatten"]]]), "name of a result"),
            (
                json!([["flatten"], ["pipe", [["map", "x"]]]]),
                "step 2 > pipe > step 1 > map",
            ),
            (json!([[]]), "first item is the name of an operation"),
            (json!(["flatten"]), "a step is a list"),
        ];
        for (v, want) in cases {
            let got = read(&v).expect_err("refused");
            assert!(got.contains(want), "{v}: {got}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Built by hand: `json!` would serialise (recursively) the value it is given.
        let mut step = json!(["flatten"]);
        for _ in 0..100_000 {
            step = Value::Array(vec![Value::String("map".into()), step]);
        }
        let pipeline = Value::Array(vec![step]);
        let got = read(&pipeline).expect_err("refused");
        assert!(got.contains("nested more than 64 deep"), "{got}");
        // serde_json's own drop of the deep value recurses: unwind it by hand.
        let mut v = pipeline;
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }
}

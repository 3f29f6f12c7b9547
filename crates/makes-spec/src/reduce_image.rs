//! `reduce_image_spec`: a `makeContainerImage` argument set to an `ImageSpec`, with the seed's
//! defaults, dockerTools' defaults for the rest, and an error for every attribute that has no
//! meaning in the chosen mode. `reduce_image_spec_of` reads the argument sets of nixpkgs'
//! `dockerTools.buildImage`, `buildLayeredImage` and `streamLayeredImage` with the same code,
//! under those functions' own attributes and defaults.

use crate::error::InvalidOciValue;
use crate::error::SpecError;
use crate::image::{host_architecture, Compressor, Created, ImageSpec, DEFAULT_CREATED};
use crate::layering_pipeline::{LayeringPipeline, MAX_NESTING};
use crate::oci_config::reduce_config;
use crate::oci_names::{validate_image_name, validate_tag};
use crate::reduce::Fields;
use makes_eval::{CoercionMode, Context, Evaluator, Value};
use makes_store_path::StorePath;
use makes_syntax::Span;
use std::collections::BTreeMap;

/// `buildLayeredImage`'s inputs (layered = true), plus makes' `layered` and `layers`.
const LAYERED_ATTRS: &[&str] = &[
    "architecture",
    "compressor",
    "config",
    "contents",
    "created",
    "enableFakechroot",
    "extraCommands",
    "fakeRootCommands",
    "fromImage",
    "gid",
    "gname",
    "includeNixDB",
    "includeStorePaths",
    "layered",
    "layers",
    "maxLayers",
    "meta",
    "mtime",
    "name",
    "passthru",
    "tag",
    "uid",
    "uname",
];

/// `buildImage`'s inputs (layered = false), plus makes' `layered` and `layers`, and the
/// attributes with a natural meaning in both modes.
const SINGLE_ATTRS: &[&str] = &[
    "architecture",
    "buildVMMemorySize",
    "compressor",
    "config",
    "contents",
    "copyToRoot",
    "created",
    "diskSize",
    "extraCommands",
    "fromImage",
    "fromImageName",
    "fromImageTag",
    "gid",
    "gname",
    "includeNixDB",
    "includeStorePaths",
    "keepContentsDirlinks",
    "layered",
    "layers",
    "meta",
    "mtime",
    "name",
    "passthru",
    "runAsRoot",
    "tag",
    "uid",
    "uname",
];

/// nixpkgs' `dockerTools.buildImage` arguments (`contents` is `copyToRoot`'s deprecated name).
const BUILD_IMAGE_ATTRS: &[&str] = &[
    "architecture",
    "buildVMMemorySize",
    "compressor",
    "config",
    "contents",
    "copyToRoot",
    "created",
    "diskSize",
    "extraCommands",
    "fromImage",
    "fromImageName",
    "fromImageTag",
    "gid",
    "gname",
    "includeNixDB",
    "keepContentsDirlinks",
    "meta",
    "name",
    "runAsRoot",
    "tag",
    "uid",
    "uname",
];

/// nixpkgs' `dockerTools.buildLayeredImage` and `streamLayeredImage` arguments.
const BUILD_LAYERED_IMAGE_ATTRS: &[&str] = &[
    "architecture",
    "compressor",
    "config",
    "contents",
    "created",
    "debug",
    "enableFakechroot",
    "extraCommands",
    "fakeRootCommands",
    "fromImage",
    "gid",
    "gname",
    "includeNixDB",
    "includeStorePaths",
    "layeringPipeline",
    "maxLayers",
    "meta",
    "mtime",
    "name",
    "passthru",
    "tag",
    "uid",
    "uname",
];

/// The function whose argument set is being read: its attributes and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFunction {
    /// makes' `makeContainerImage` (`layered ? true`, `name ? "container-image"`,
    /// `tag ? "latest"`).
    MakeContainerImage,
    /// `dockerTools.buildImage`: one layer; `name` required; `tag ? null`.
    BuildImage,
    /// `dockerTools.buildLayeredImage`: layered; `name` required; `tag ? null`.
    BuildLayeredImage,
    /// `dockerTools.streamLayeredImage`: as `buildLayeredImage`, written as an executable
    /// that streams the archive (uncompressed layers by default).
    StreamLayeredImage,
}

impl ImageFunction {
    /// The name errors give.
    pub fn name(self) -> &'static str {
        match self {
            ImageFunction::MakeContainerImage => "makeContainerImage",
            ImageFunction::BuildImage => "dockerTools.buildImage",
            ImageFunction::BuildLayeredImage => "dockerTools.buildLayeredImage",
            ImageFunction::StreamLayeredImage => "dockerTools.streamLayeredImage",
        }
    }

    fn is_docker_tools(self) -> bool {
        self != ImageFunction::MakeContainerImage
    }
}

/// Attributes accepted by the contract whose behaviour the image builder does not have yet,
/// with what nixpkgs does with them: an error when used, never silently ignored.
const NOT_YET: &[(&str, &str)] = &[
    (
        "fromImageName",
        "the name of the base image's repository to take",
    ),
    ("fromImageTag", "the tag of the base image to take"),
];

/// `buildImage` attributes that size nixpkgs' build VM: makes runs `runAsRoot` in namespaces,
/// so they are accepted and reported as having no effect.
const NO_EFFECT: &[&str] = &["diskSize", "buildVMMemorySize"];

/// Collects the error of one attribute and goes on with `fallback`, so that every mistake of
/// a spec is reported at once.
fn checked<T>(errors: &mut Vec<SpecError>, result: Result<T, SpecError>, fallback: T) -> T {
    result.unwrap_or_else(|e| {
        errors.push(e);
        fallback
    })
}

/// A `makeContainerImage` argument set as an `ImageSpec`.
pub fn reduce_image_spec(
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<ImageSpec, SpecError> {
    reduce_image_spec_of(ImageFunction::MakeContainerImage, ev, args, span)
}

/// The argument set of `function` as an `ImageSpec`. For dockerTools' functions a missing or
/// null `tag` gives an empty `tag`: the caller derives it from the output path, as nixpkgs
/// does.
///
/// Every attribute is read by a step of its own; a step's error is collected and the reading
/// goes on with a fallback, so that every mistake of a spec is reported at once.
pub fn reduce_image_spec_of(
    function: ImageFunction,
    ev: &Evaluator,
    args: &Value,
    span: Option<Span>,
) -> Result<ImageSpec, SpecError> {
    let what = format!("{}'s argument", function.name());
    let f = Fields::new(ev, args, &what, span)?;
    let mut errors = Vec::new();
    let e = &mut errors;
    let layered = reduce_layered(function, &f, e);
    check_attribute_names(function, layered, &f, e);
    check_not_yet(function, layered, &f, e);
    let no_effect = reduce_no_effect(&f, e);
    let contents = checked(e, reduce_contents(function, layered, &f), Vec::new());
    let max_layers = checked(e, reduce_max_layers(&f), 100);
    let created = checked(
        e,
        reduce_created(&f),
        Created::At(DEFAULT_CREATED.to_owned()),
    );
    let mtime = checked(e, reduce_mtime(&f), DEFAULT_CREATED.to_owned());
    let script_inputs = reduce_script_inputs(&f, e);
    let (config, config_context) = checked(e, reduce_image_config(&f), Default::default());
    let compressor = checked(e, reduce_compressor(function, &f), Compressor::Gz);
    let uid = checked(e, reduce_id(&f, "uid"), 0);
    let gid = checked(e, reduce_id(&f, "gid"), 0);
    let name = checked(e, reduce_name(function, &f), String::new());
    let tag = checked(e, reduce_tag(function, &f), String::new());
    let extra_commands = string_or(&f, e, "extraCommands", "");
    let architecture = string_or(&f, e, "architecture", host_architecture());
    let uname = string_or(&f, e, "uname", "root");
    let gname = string_or(&f, e, "gname", "root");
    let fake_root_commands = string_or(&f, e, "fakeRootCommands", "");
    let run_as_root = string_or(&f, e, "runAsRoot", "");
    let include_store_paths = bool_or(&f, e, "includeStorePaths", true);
    // `debug` only makes nixpkgs' stream script verbose: checked, then without effect.
    checked(e, f.bool("debug"), None);
    let enable_fakechroot = bool_or(&f, e, "enableFakechroot", false);
    let from_image = checked(e, reduce_from_image(&f), None);
    let include_nix_db = bool_or(&f, e, "includeNixDB", false);
    let layering_pipeline = checked(e, reduce_layering_pipeline(&f), None);
    let keep_contents_dirlinks = bool_or(&f, e, "keepContentsDirlinks", false);
    let config_references = checked(
        e,
        crate::input_paths(f.ev, &config_context, "config", f.span_of("config")),
        Vec::new(),
    );

    match errors.len() {
        0 => Ok(ImageSpec {
            name,
            tag,
            created,
            layered,
            max_layers,
            contents,
            config,
            config_references,
            extra_commands,
            architecture,
            mtime,
            uid,
            gid,
            uname,
            gname,
            compressor,
            include_store_paths,
            fake_root_commands,
            enable_fakechroot,
            run_as_root,
            script_inputs,
            from_image,
            no_effect,
            stream: function == ImageFunction::StreamLayeredImage,
            keep_contents_dirlinks,
            include_nix_db,
            layering_pipeline,
        }),
        1 => Err(errors.remove(0)),
        _ => Err(SpecError::Many {
            function: function.name(),
            errors,
        }),
    }
}

/// Whether the image is layered: makes' `layered ? true`, fixed by dockerTools' functions.
fn reduce_layered(function: ImageFunction, f: &Fields, errors: &mut Vec<SpecError>) -> bool {
    match function {
        ImageFunction::MakeContainerImage => {
            checked(errors, f.bool("layered").map(|b| b.unwrap_or(true)), true)
        }
        ImageFunction::BuildImage => false,
        ImageFunction::BuildLayeredImage | ImageFunction::StreamLayeredImage => true,
    }
}

/// An error for each attribute `function` does not take, or takes only in the other mode.
fn check_attribute_names(
    function: ImageFunction,
    layered: bool,
    f: &Fields,
    errors: &mut Vec<SpecError>,
) {
    let (known, other) = attribute_names(function, layered);
    for name in f.attrs.names() {
        if known.contains(&&**name) {
            continue;
        }
        errors.push(if other.contains(&&**name) {
            SpecError::WrongMode {
                attr: name.to_string(),
                needs: !layered,
                span: f.span_of(name),
            }
        } else {
            SpecError::UnknownAttribute {
                function: function.name(),
                attr: name.to_string(),
                known: known.join(", "),
                span: f.span_of(name),
            }
        });
    }
}

/// The attributes `function` takes in the chosen mode, and those it takes only in the other.
fn attribute_names(
    function: ImageFunction,
    layered: bool,
) -> (&'static [&'static str], &'static [&'static str]) {
    match function {
        ImageFunction::MakeContainerImage if layered => (LAYERED_ATTRS, SINGLE_ATTRS),
        ImageFunction::MakeContainerImage => (SINGLE_ATTRS, LAYERED_ATTRS),
        ImageFunction::BuildImage => (BUILD_IMAGE_ATTRS, &[]),
        ImageFunction::BuildLayeredImage | ImageFunction::StreamLayeredImage => {
            (BUILD_LAYERED_IMAGE_ATTRS, &[])
        }
    }
}

/// An error for each attribute of [`NOT_YET`] that asks for something. (An attribute of the
/// other mode was reported by [`check_attribute_names`], not again here.)
fn check_not_yet(function: ImageFunction, layered: bool, f: &Fields, errors: &mut Vec<SpecError>) {
    let (known, _) = attribute_names(function, layered);
    // buildImage's `fromImageName`/`fromImageTag` name the base image, which its caller
    // checks (`makeContainerImage` has no base to check them against yet).
    let checked_by_caller: &[&str] = match function {
        ImageFunction::BuildImage => &["fromImageName", "fromImageTag"],
        _ => &[],
    };
    for (name, meaning) in NOT_YET
        .iter()
        .filter(|(n, _)| known.contains(n) && !checked_by_caller.contains(n))
    {
        // `false`/`null`/empty values ask for nothing, so they are accepted.
        let asked = f.get(name).map(|v| match v {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        });
        if checked(errors, asked, false) {
            errors.push(SpecError::NotSupported {
                what: format!("{}'s '{name}' ({meaning})", function.name()),
                span: f.span_of(name),
            });
        }
    }
}

/// The [`NO_EFFECT`] attributes given (integers or null), to be reported to the user.
fn reduce_no_effect(f: &Fields, errors: &mut Vec<SpecError>) -> Vec<String> {
    let mut no_effect = Vec::new();
    for name in NO_EFFECT {
        let given = f.get(name).and_then(|v| match v {
            None => Ok(false),
            Some(Value::Int(_) | Value::Null) => Ok(true),
            Some(other) => Err(SpecError::WrongType {
                attr: name.to_string(),
                expected: "an integer",
                found: other.describe().to_owned(),
                span: f.span_of(name),
            }),
        });
        if checked(errors, given, false) {
            no_effect.push(name.to_string());
        }
    }
    no_effect
}

/// `contents` or its alias `layers` (not both); in single-layer mode `copyToRoot` too.
fn reduce_contents(
    function: ImageFunction,
    layered: bool,
    f: &Fields,
) -> Result<Vec<StorePath>, SpecError> {
    let mut contents = match (f.store_paths("layers")?, f.store_paths("contents")?) {
        (Some(_), Some(_)) => {
            return Err(SpecError::Invalid {
                attr: "contents".into(),
                message: "'layers' is an alias of 'contents': give only one of them".into(),
                span: f.span_of("contents"),
            })
        }
        (Some(l), None) | (None, Some(l)) => l,
        (None, None) => Vec::new(),
    };
    if !layered {
        // buildImage's `copyToRoot` and makes' `layers` both go into the image root.
        if let Some(root) = f.store_paths("copyToRoot")? {
            // dockerTools.buildImage reads its deprecated `contents` only without
            // `copyToRoot`.
            if function == ImageFunction::BuildImage {
                contents.clear();
            }
            contents.extend(root);
        }
    }
    Ok(contents)
}

/// `maxLayers`: dockerTools' 100 unless given, between 2 and 125.
fn reduce_max_layers(f: &Fields) -> Result<u32, SpecError> {
    match f.int("maxLayers")? {
        None => Ok(100),
        Some(n) if n > 1 && n <= 125 => Ok(n as u32),
        Some(n) => Err(SpecError::Invalid {
            attr: "maxLayers".into(),
            message: format!("must be an integer greater than 1 and at most 125, got {n}"),
            span: f.span_of("maxLayers"),
        }),
    }
}

/// A date attribute: an ISO-8601 date, `"now"`, or absent.
fn reduce_date(f: &Fields, name: &str) -> Result<Option<String>, SpecError> {
    match f.string(name)? {
        Some(s) if s != "now" => {
            validate_date(&s).map_err(|e| SpecError::Invalid {
                attr: name.into(),
                message: e.to_string(),
                span: f.span_of(name),
            })?;
            Ok(Some(s))
        }
        other => Ok(other),
    }
}

/// `created`: makes' and dockerTools' fixed date unless given; `"now"` is the build time.
fn reduce_created(f: &Fields) -> Result<Created, SpecError> {
    Ok(match reduce_date(f, "created")?.as_deref() {
        None => Created::At(DEFAULT_CREATED.to_owned()),
        Some("now") => Created::Now,
        Some(s) => Created::At(s.to_owned()),
    })
}

/// `mtime`: the fixed date unless given; `"now"` is not supported.
fn reduce_mtime(f: &Fields) -> Result<String, SpecError> {
    match reduce_date(f, "mtime")?.as_deref() {
        None => Ok(DEFAULT_CREATED.to_owned()),
        Some("now") => Err(SpecError::NotSupported {
            what: "mtime = \"now\"".into(),
            span: f.span_of("mtime"),
        }),
        Some(s) => Ok(s.to_owned()),
    }
}

/// The store paths the scripts (`extraCommands`, `fakeRootCommands`, `runAsRoot`) refer to,
/// sorted and deduplicated.
fn reduce_script_inputs(f: &Fields, errors: &mut Vec<SpecError>) -> Vec<StorePath> {
    let mut script_inputs = std::collections::BTreeSet::new();
    for name in ["extraCommands", "fakeRootCommands", "runAsRoot"] {
        if let Some(Value::String(s)) = checked(errors, f.get(name), None) {
            let mut context = Context::default();
            s.merge_context_into(&mut context);
            let paths = crate::input_paths(f.ev, &context, name, f.span_of(name));
            script_inputs.extend(checked(errors, paths, Vec::new()));
        }
    }
    script_inputs.into_iter().collect()
}

/// `config`, validated, and the string context of its strings.
fn reduce_image_config(
    f: &Fields,
) -> Result<(BTreeMap<String, serde_json::Value>, Context), SpecError> {
    let mut context = Context::default();
    let config = match f.get("config")? {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(v) => reduce_config(f, &v, &mut context)?,
    };
    Ok((config, context))
}

/// `compressor`: `none`, `gz` or `zstd`; nixpkgs' stream writes the layers as they are, the
/// other functions gzip them.
fn reduce_compressor(function: ImageFunction, f: &Fields) -> Result<Compressor, SpecError> {
    let default_compressor = match function {
        ImageFunction::StreamLayeredImage => Compressor::None,
        _ => Compressor::Gz,
    };
    match f.string("compressor")?.as_deref() {
        None => Ok(default_compressor),
        Some("gz") => Ok(Compressor::Gz),
        Some("none") => Ok(Compressor::None),
        Some("zstd") => Ok(Compressor::Zstd),
        Some(other) => Err(SpecError::Invalid {
            attr: "compressor".into(),
            message: format!("unknown compressor '{other}'; use \"none\", \"gz\" or \"zstd\""),
            span: f.span_of("compressor"),
        }),
    }
}

/// `uid` or `gid`: 0 unless given.
fn reduce_id(f: &Fields, name: &str) -> Result<u32, SpecError> {
    match f.int(name)? {
        None => Ok(0),
        Some(n) => u32::try_from(n).map_err(|_| SpecError::Invalid {
            attr: name.into(),
            message: format!("must be between 0 and {}, got {n}", u32::MAX),
            span: f.span_of(name),
        }),
    }
}

/// `name`: makes' `container-image` unless given; required by dockerTools, which lowercases
/// it.
fn reduce_name(function: ImageFunction, f: &Fields) -> Result<String, SpecError> {
    let name = match f.string("name")? {
        None if function.is_docker_tools() => {
            return Err(SpecError::MissingAttribute {
                function: function.name(),
                attr: "name".into(),
                span: f.span,
            })
        }
        None => return Ok("container-image".to_owned()),
        // dockerTools names the image `lib.toLower name`.
        Some(n) if function.is_docker_tools() => n.to_ascii_lowercase(),
        Some(n) => n,
    };
    validate_image_name(&name)
        .map(|()| name)
        .map_err(|e| SpecError::Invalid {
            attr: "name".into(),
            message: e.to_string(),
            span: f.span_of("name"),
        })
}

/// `tag`: makes' `latest` unless given; for dockerTools a missing or null tag is empty (the
/// caller derives it from the output path).
fn reduce_tag(function: ImageFunction, f: &Fields) -> Result<String, SpecError> {
    let given = match f.get("tag")? {
        Some(Value::Null) if function.is_docker_tools() => None,
        _ => f.string("tag")?,
    };
    let tag = match given {
        None if function.is_docker_tools() => return Ok(String::new()),
        None => "latest".to_owned(),
        Some(t) => t,
    };
    validate_tag(&tag).map_err(|e| SpecError::Invalid {
        attr: "tag".into(),
        message: e.to_string(),
        span: f.span_of("tag"),
    })?;
    Ok(tag)
}

/// A string attribute, `default` unless given.
fn string_or(f: &Fields, errors: &mut Vec<SpecError>, name: &str, default: &str) -> String {
    let value = f
        .string(name)
        .map(|s| s.unwrap_or_else(|| default.to_owned()));
    checked(errors, value, String::new())
}

/// A Boolean attribute, `default` unless given.
fn bool_or(f: &Fields, errors: &mut Vec<SpecError>, name: &str, default: bool) -> bool {
    checked(errors, f.bool(name).map(|b| b.unwrap_or(default)), default)
}

/// `fromImage`: a pulled image (`dockerTools.pullImage { ... }`), another image job, or a
/// path to an image archive (docker or OCI), as a store path. `null` means none.
fn reduce_from_image(f: &Fields) -> Result<Option<StorePath>, SpecError> {
    match f.get("fromImage")? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            // enableFakechroot over a base image chroots into the customisation root as
            // nixpkgs does: the contents and the store, not the base's files.
            Ok(Some(f.store_path_of("fromImage", &v)?))
        }
    }
}

/// `layeringPipeline`: a list of nixpkgs' layering steps, read through the JSON nixpkgs hands
/// its layering program (packages become their store paths). `null` means makes' own plan.
fn reduce_layering_pipeline(f: &Fields) -> Result<Option<LayeringPipeline>, SpecError> {
    let name = "layeringPipeline";
    let value = match f.get(name)? {
        None | Some(Value::Null) => return Ok(None),
        Some(v @ Value::List(_)) => v,
        // nixpkgs also takes a file holding the JSON, written by a derivation at build time;
        // the plan is made before anything is built here.
        Some(Value::String(_) | Value::Path(_)) => {
            return Err(SpecError::NotSupported {
                what: "a layeringPipeline given as a JSON file (give the list itself)".into(),
                span: f.span_of(name),
            })
        }
        Some(other) => {
            return Err(SpecError::WrongType {
                attr: name.into(),
                expected: "a list of layering steps",
                found: other.describe().to_owned(),
                span: f.span_of(name),
            })
        }
    };
    let json = pipeline_json(f, &value, 0)?;
    LayeringPipeline::from_json(&json)
        .map(Some)
        .map_err(|e| SpecError::Invalid {
            attr: name.into(),
            message: e.to_string(),
            span: f.span_of(name),
        })
}

/// `value` as `builtins.toJSON` would give it (packages and paths as store paths; their
/// context is dropped, as the paths only name vertices of the image's graph), refusing nesting
/// deeper than any pipeline needs before it can exhaust the stack.
fn pipeline_json(f: &Fields, value: &Value, depth: usize) -> Result<serde_json::Value, SpecError> {
    let name = "layeringPipeline";
    // Each level of a pipeline's nesting is at most two levels of lists (`[ "pipe" [ ... ] ]`).
    if depth > 2 * MAX_NESTING + 4 {
        return Err(SpecError::Invalid {
            attr: name.into(),
            message: format!("nested more than {MAX_NESTING} deep"),
            span: f.span_of(name),
        });
    }
    let eval_error = |e: makes_eval::EvalError| {
        SpecError::Eval(e.note(f.span_of(name), format!("while evaluating '{name}'")))
    };
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.utf8()?.to_owned()),
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                let item = item.force(f.ev).map_err(eval_error)?;
                out.push(pipeline_json(f, &item, depth + 1)?);
            }
            serde_json::Value::Array(out)
        }
        Value::Attrs(attrs) if !attrs.contains("outPath") && !attrs.contains("__toString") => {
            let mut out = serde_json::Map::new();
            for (key, attr) in attrs.iter() {
                let item = attr.value.force(f.ev).map_err(eval_error)?;
                out.insert(key.to_string(), pipeline_json(f, &item, depth + 1)?);
            }
            serde_json::Value::Object(out)
        }
        // A package or a path: its store path.
        other => {
            let s =
                f.ev.coerce_to_string(other, CoercionMode::INTERPOLATION, Span::none())
                    .map_err(eval_error)?;
            serde_json::Value::String(s.utf8()?.to_owned())
        }
    })
}

/// Accepts `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, the ISO-8601 form OCI configs use.
pub fn validate_date(s: &str) -> Result<(), InvalidOciValue> {
    let bad = || InvalidOciValue::Date { date: s.to_owned() };
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err(bad());
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let zone_ok = rest == "Z" || rest == "z" || {
        let z = rest.as_bytes();
        z.len() == 6
            && (z[0] == b'+' || z[0] == b'-')
            && z[1..3].iter().all(u8::is_ascii_digit)
            && z[3] == b':'
            && z[4..6].iter().all(u8::is_ascii_digit)
    };
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    let ranges_ok = (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 61;
    if zone_ok && ranges_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(function: ImageFunction, src: &str) -> Result<ImageSpec, String> {
        let ev = Evaluator::new(
            std::rc::Rc::new(makes_eval::DiskIo),
            makes_eval::EvalOptions::default(),
        );
        let v = ev
            .eval_source("test.nix", src, std::path::Path::new("/"))
            .map_err(|e| e.to_string())?;
        reduce_image_spec_of(function, &ev, &v, None).map_err(|e| e.to_string())
    }

    #[test]
    fn docker_tools_defaults() {
        let spec = reduce(ImageFunction::BuildImage, r#"{ name = "App"; }"#).expect("reduces");
        assert!(!spec.layered);
        assert_eq!(spec.name, "app", "nixpkgs lowercases the name");
        assert_eq!(spec.tag, "", "left to the output path");
        assert_eq!(spec.compressor, Compressor::Gz);
        let spec = reduce(
            ImageFunction::BuildLayeredImage,
            r#"{ name = "a"; tag = null; }"#,
        )
        .expect("reduces");
        assert!(spec.layered && !spec.stream && spec.tag.is_empty());
        let spec = reduce(
            ImageFunction::StreamLayeredImage,
            r#"{ name = "a"; tag = "1"; }"#,
        )
        .expect("reduces");
        assert!(spec.layered && spec.stream);
        assert_eq!(
            (spec.tag.as_str(), spec.compressor),
            ("1", Compressor::None)
        );
        let (a, b) = (
            "/nix/store/00000000000000000000000000000000-a",
            "/nix/store/00000000000000000000000000000000-b",
        );
        let both = format!(r#"{{ name = "a"; contents = [ "{a}" ]; copyToRoot = [ "{b}" ]; }}"#);
        let spec = reduce(ImageFunction::BuildImage, &both).expect("reduces");
        let absolute = |spec: &ImageSpec| -> Vec<String> {
            spec.contents.iter().map(StorePath::to_absolute).collect()
        };
        assert_eq!(
            absolute(&spec),
            [b],
            "copyToRoot wins over the deprecated contents"
        );
        let spec = reduce(
            ImageFunction::MakeContainerImage,
            &both.replace("name", "layered = false; name"),
        )
        .expect("reduces");
        assert_eq!(absolute(&spec), [a, b], "makeContainerImage keeps both");
        let spec = reduce(ImageFunction::MakeContainerImage, "{ }").expect("reduces");
        assert_eq!(
            (spec.name.as_str(), spec.tag.as_str()),
            ("container-image", "latest")
        );
    }

    #[test]
    fn layering_pipeline_is_read_as_the_json_nixpkgs_hands_its_program() {
        let spec = reduce(
            ImageFunction::StreamLayeredImage,
            r#"let app = { type = "derivation"; outPath = "/nix/store/00000000000000000000000000000000-app"; };
               in { name = "a"; layeringPipeline = [
                 [ "subcomponent_out" [ app ] ]
                 [ "over" "rest" [ "pipe" [ [ "popularity_contest" ] [ "limit_layers" 3 ] ] ] ]
               ]; }"#,
        )
        .expect("reduces");
        let pipeline = spec.layering_pipeline.expect("a pipeline").to_json();
        assert_eq!(
            pipeline[0],
            serde_json::json!([
                "subcomponent_out",
                ["/nix/store/00000000000000000000000000000000-app"]
            ])
        );
        assert_eq!(
            pipeline[1],
            serde_json::json!([
                "over",
                "rest",
                ["pipe", [["popularity_contest"], ["limit_layers", 3]]]
            ])
        );
        let spec = reduce(
            ImageFunction::BuildLayeredImage,
            r#"{ name = "a"; layeringPipeline = null; }"#,
        )
        .expect("reduces");
        assert_eq!(spec.layering_pipeline, None);
        for (pipeline, want) in [
            (
                r#"[ [ "limit_layers" 0 ] ]"#,
                "step 1 > limit_layers: expected a positive integer",
            ),
            (r#"[ [ "sort" ] ]"#, "unknown operation 'sort'"),
            (
                r#"{ }"#,
                "must be a list of layering steps, but it is a set",
            ),
            (
                r#""/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-p.json""#,
                "as a JSON file",
            ),
            // A step nested 1,000 deep: an error before it can exhaust the stack.
            (
                r#"[ (builtins.foldl' (acc: _: [ "map" acc ]) [ "flatten" ] (builtins.genList (x: x) 1000)) ]"#,
                "nested more than 64 deep",
            ),
        ] {
            let err = reduce(
                ImageFunction::BuildLayeredImage,
                &format!(r#"{{ name = "a"; layeringPipeline = {pipeline}; }}"#),
            )
            .expect_err("refused");
            assert!(err.contains(want), "{pipeline}: {err}");
        }
    }

    #[test]
    fn docker_tools_attributes_are_each_functions_own() {
        let err = reduce(
            ImageFunction::BuildImage,
            r#"{ name = "a"; layered = true; }"#,
        )
        .expect_err("not buildImage's");
        assert!(
            err.contains("dockerTools.buildImage got an unknown attribute 'layered'"),
            "{err}"
        );
        let err = reduce(
            ImageFunction::BuildLayeredImage,
            r#"{ name = "a"; copyToRoot = [ ]; }"#,
        )
        .expect_err("not buildLayeredImage's");
        assert!(err.contains("unknown attribute 'copyToRoot'"), "{err}");
        let err = reduce(ImageFunction::StreamLayeredImage, "{ }").expect_err("name is required");
        assert!(err.contains("requires the attribute 'name'"), "{err}");
        let err = reduce(
            ImageFunction::BuildImage,
            r#"{ name = "a"; layeringPipeline = [ ]; }"#,
        )
        .expect_err("not buildImage's");
        assert!(
            err.contains("unknown attribute 'layeringPipeline'"),
            "{err}"
        );
        assert!(reduce(
            ImageFunction::BuildLayeredImage,
            r#"{ name = "a"; debug = true; }"#
        )
        .is_ok());
        let spec = reduce(
            ImageFunction::BuildImage,
            r#"{ name = "a"; keepContentsDirlinks = true; includeNixDB = true; }"#,
        )
        .expect("reduces");
        assert!(spec.keep_contents_dirlinks && spec.include_nix_db);
        let spec = reduce(
            ImageFunction::StreamLayeredImage,
            r#"{ name = "a"; includeNixDB = true; }"#,
        )
        .expect("reduces");
        assert!(spec.include_nix_db && !spec.keep_contents_dirlinks);
    }

    #[test]
    fn dates() {
        assert!(validate_date("1970-01-01T00:00:01Z").is_ok());
        assert!(validate_date("2026-01-19T10:30:00+02:00").is_ok());
        assert!(validate_date("2026-01-19T10:30:00.123Z").is_ok());
        assert!(validate_date("2026-13-19T10:30:00Z").is_err());
        assert!(validate_date("yesterday").is_err());
    }
}

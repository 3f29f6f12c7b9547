//! nixpkgs' `dockerTools` as every package set offers it here, built natively: `pullImage`
//! with makes' registry client, and `buildImage`, `buildLayeredImage` and
//! `streamLayeredImage` with makes' image builder, their argument sets read by the very
//! reducer of `makeContainerImage` (`reduce_image_spec_of`) under each function's attributes
//! and defaults. Their results carry nixpkgs' passthru: `imageName`, `imageTag`, the
//! caller's own `passthru` attributes, and `stream` (`buildLayeredImage`'s stream, tagged
//! alike) or `isExe` (`streamLayeredImage`).

use crate::store_functions::package_value;
use makes_eval::{make_primop, Attrs, EvalError, EvalErrorKind, Evaluator, PrimOpFn, Thunk, Value};
use makes_spec::{reduce_image_spec_of, reduce_pull_spec, ImageFunction};
use makes_store::{image_output_path, pull_output_path, Recipe, Recipes, StorePath};
use std::rc::Rc;

/// The `dockerTools` set of a package set.
pub(crate) fn docker_tools_set(recipes: &Recipes) -> Attrs {
    let mut set = Attrs::new();
    let r = recipes.clone();
    let pull_image: PrimOpFn = Rc::new(move |ev, args| {
        let arg = args[0].force(ev)?;
        let spec = reduce_pull_spec(ev, &arg, None)?;
        let out = pull_output_path(&spec);
        r.insert(out.clone(), Recipe::Pull(spec));
        Ok(package_value(&out.name, &out))
    });
    set.insert(
        "pullImage",
        Thunk::value(make_primop("pullImage", 1, pull_image)),
        None,
    );
    for (name, function) in [
        ("buildImage", ImageFunction::BuildImage),
        ("buildLayeredImage", ImageFunction::BuildLayeredImage),
        ("streamLayeredImage", ImageFunction::StreamLayeredImage),
    ] {
        let r = recipes.clone();
        let build: PrimOpFn = Rc::new(move |ev, args| {
            image_value(ev, &r, function, &args[0].force(ev)?)
                .map_err(|e| e.note(None, format!("while calling dockerTools.{name}")))
        });
        set.insert(name, Thunk::value(make_primop(name, 1, build)), None);
    }
    set
}

/// Reduces `arg` as `function` reads it, records the image's recipe, and returns the result
/// as nixpkgs' would look: a derivation with `imageName`, `imageTag` and `passthru`.
fn image_value(
    ev: &Evaluator,
    recipes: &Recipes,
    function: ImageFunction,
    arg: &Value,
) -> makes_eval::Result<Value> {
    let mut spec = reduce_image_spec_of(function, ev, arg, None)?;
    let passthru = match arg {
        Value::Attrs(a) => match a.get("passthru") {
            Some(attr) => match attr.value.force(ev)? {
                Value::Attrs(p) => Some(p),
                Value::Null => None,
                other => return Err(EvalError::type_error("a set", &other, attr.span)),
            },
            None => None,
        },
        _ => None,
    };
    if function == ImageFunction::BuildImage {
        check_base_names(ev, recipes, arg, spec.from_image.as_ref())?;
    }
    let out = image_output_path(&spec, &build_time())
        .map_err(|e| EvalError::other(e.to_string(), None))?;
    // `tag = null`: the hash part of the output path, as nixpkgs tags it. The path is that of
    // the spec without a tag (no other spec has an empty tag), so the tag cannot change it.
    if spec.tag.is_empty() {
        spec.tag = out.hash.clone();
    }
    let (image_name, image_tag) = (spec.name.clone(), spec.tag.clone());
    recipes.insert(out.clone(), Recipe::Image(spec));
    let Value::Attrs(result) = package_value(&out.name, &out) else {
        unreachable!("package_value gives a set")
    };
    // nixpkgs' `passthru // { imageTag; ... }`: the function's own attributes win.
    let mut attrs = match passthru {
        Some(p) => p.to_attrs(),
        None => Attrs::new(),
    };
    for (name, attr) in result.iter() {
        attrs.insert(name.clone(), attr.value.clone(), attr.span);
    }
    attrs.insert("imageName", Thunk::value(Value::string(image_name)), None);
    attrs.insert(
        "imageTag",
        Thunk::value(Value::string(image_tag.as_str())),
        None,
    );
    match function {
        ImageFunction::StreamLayeredImage => {
            attrs.insert("isExe", Thunk::value(Value::Bool(true)), None);
        }
        // nixpkgs builds a layered image from its stream, which the result carries along.
        ImageFunction::BuildLayeredImage => {
            if let Value::Attrs(given) = arg {
                let mut stream_arg = given.to_attrs();
                stream_arg.remove("compressor");
                stream_arg.insert("tag", Thunk::value(Value::string(image_tag)), None);
                let stream_arg = Value::attrs(stream_arg);
                let recipes = recipes.clone();
                attrs.insert(
                    "stream",
                    Thunk::deferred(move |ev| {
                        image_value(ev, &recipes, ImageFunction::StreamLayeredImage, &stream_arg)
                    }),
                    None,
                );
            }
        }
        _ => {}
    }
    Ok(Value::attrs(attrs))
}

/// buildImage's `fromImageName` and `fromImageTag`: nixpkgs takes the base image of that
/// name and tag from the `fromImage` archive, and fails when it has none. A base here holds
/// one image, so they must name it: a `pullImage` (`finalImageName`, `finalImageTag`) or an
/// image built by this evaluation. Without `fromImage` they are unused, as in nixpkgs.
fn check_base_names(
    ev: &Evaluator,
    recipes: &Recipes,
    arg: &Value,
    from_image: Option<&StorePath>,
) -> makes_eval::Result<()> {
    let Value::Attrs(a) = arg else {
        return Ok(());
    };
    let mut asked = Vec::new();
    for attr in ["fromImageName", "fromImageTag"] {
        if let Some(given) = a.get(attr) {
            match given.value.force(ev)? {
                Value::Null => {}
                Value::String(s) => asked.push((attr, s.utf8()?.to_owned(), given.span)),
                other => return Err(EvalError::type_error("a string", &other, given.span)),
            }
        }
    }
    let Some(from_image) = from_image else {
        return Ok(());
    };
    if asked.is_empty() {
        return Ok(());
    }
    let base = recipes.get(from_image).and_then(|recipe| match recipe {
        Recipe::Pull(pull) => Some((pull.final_image_name, pull.final_image_tag)),
        Recipe::Image(image) => Some((image.name, image.tag)),
        _ => None,
    });
    let Some((name, tag)) = base else {
        return Err(EvalError::new(
            EvalErrorKind::NotSupported(format!(
                "dockerTools.buildImage's '{}' with a fromImage that is neither a pullImage nor an image of this project ({from_image})",
                asked[0].0
            )),
            asked[0].2,
        ));
    };
    for (attr, value, span) in asked {
        let (what, actual) = if attr == "fromImageName" {
            ("name", &name)
        } else {
            ("tag", &tag)
        };
        if &value != actual {
            return Err(EvalError::other(
                format!(
                    "dockerTools.buildImage: {attr} is '{value}', but the base image's {what} is '{actual}'"
                ),
                span,
            ));
        }
    }
    Ok(())
}

/// What makes a `created = "now"` image's output path new on each build: the time, in
/// seconds (the image builder writes its own clock's time into the image).
fn build_time() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default()
}

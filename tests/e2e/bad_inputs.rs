//! A table of mistakes in makes.nix files: each must exit 1 with a message that says what is
//! wrong and a report that points at the right line of makes.nix.

use crate::common::{write_project, Sandbox};

/// A makeContainerImage job whose body (one line) is line 4 of makes.nix.
fn image(body: &str) -> String {
    format!("{{ makeContainerImage, makeDerivation, ... }}:\n{{\n  jobs.\"/x\" = makeContainerImage {{\n    {body}\n  }};\n}}\n")
}

/// A makeDerivation (arguments on line 4) inside an image's layers.
fn derivation(args: &str) -> String {
    image(&format!("layers = [ (makeDerivation {{ {args} }}) ];"))
}

struct Case {
    file: String,
    message: &'static str,
    line: usize,
}

fn case(file: String, message: &'static str, line: usize) -> Case {
    Case {
        file,
        message,
        line,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Typos, with "did you mean".
        case(image("maxLayer = 3;"), "did you mean 'maxLayers'?", 4),
        case(image("tagg = \"1.0\";"), "did you mean 'tag'?", 4),
        case(image("Name = \"x\";"), "did you mean 'name'?", 4),
        case(image("config.Usr = \"x\";"), "did you mean 'User'?", 4),
        case(image("config.Entrypont = [ ];"), "did you mean 'Entrypoint'?", 4),
        case(image("someThing = 1;"), "unknown attribute 'someThing'", 4),
        // Wrong types, with the expected and the given type.
        case(image("name = 1;"), "'name' must be a string, but it is an integer", 4),
        case(image("tag = true;"), "'tag' must be a string, but it is a Boolean", 4),
        case(image("layered = \"yes\";"), "'layered' must be a Boolean, but it is a string", 4),
        case(image("maxLayers = \"100\";"), "'maxLayers' must be an integer, but it is a string", 4),
        case(image("created = 5;"), "'created' must be a string, but it is an integer", 4),
        case(image("config = \"x\";"), "'config' must be a set, but it is a string", 4),
        case(image("layers = \"x\";"), "'layers' must be a list of packages, but it is a string", 4),
        case(image("layers = [ 1 ];"), "'layers' must be a list of packages, but it is an integer", 4),
        case(image("layers = [ \"/tmp/x\" ];"), "'/tmp/x' is not a store path", 4),
        case(image("config.Env = \"A=1\";"), "'config.Env' must be a list of strings", 4),
        case(image("config.Cmd = \"echo\";"), "'config.Cmd' must be a list of strings", 4),
        case(image("config.Entrypoint = [ 1 ];"), "'config.Entrypoint' must be a list of strings", 4),
        case(image("config.ExposedPorts = [ \"80\" ];"), "'config.ExposedPorts' must be a set of empty sets", 4),
        case(image("config.ExposedPorts.\"80/tcp\" = 1;"), "'config.ExposedPorts' must be a set of empty sets", 4),
        case(image("config.Labels.a = 1;"), "'config.Labels' must be a set of strings", 4),
        case(image("config.WorkingDir = 1;"), "'config.WorkingDir' must be a string", 4),
        // Wrong mode.
        case(image("runAsRoot = \"true\";"), "'runAsRoot' is only available when layered = false", 4),
        case(image("diskSize = 1024;"), "'diskSize' is only available when layered = false", 4),
        case(image("buildVMMemorySize = 512;"), "'buildVMMemorySize' is only available when layered = false", 4),
        case(image("fromImageName = \"x\";"), "'fromImageName' is only available when layered = false", 4),
        case(image("fromImageTag = \"x\";"), "'fromImageTag' is only available when layered = false", 4),
        case(image("keepContentsDirlinks = true;"), "'keepContentsDirlinks' is only available when layered = false", 4),
        case(image("copyToRoot = [ ];"), "'copyToRoot' is only available when layered = false", 4),
        case(image("layered = false; maxLayers = 2;"), "'maxLayers' is only available when layered = true", 4),
        case(image("layered = false; fakeRootCommands = \"\";"), "'fakeRootCommands' is only available when layered = true", 4),
        case(image("layered = false; enableFakechroot = false;"), "'enableFakechroot' is only available when layered = true", 4),
        // Bad values.
        case(image("maxLayers = 1;"), "must be an integer greater than 1", 4),
        case(image("maxLayers = 0;"), "must be an integer greater than 1", 4),
        case(image("created = \"yesterday\";"), "is not an ISO-8601 date", 4),
        case(image("created = \"2024-13-01T00:00:00Z\";"), "is not an ISO-8601 date", 4),
        case(image("mtime = \"1970-01-01\";"), "is not an ISO-8601 date", 4),
        case(image("layers = [ ]; contents = [ ];"), "give only one of them", 4),
        case(image("config.Env = [ \"NOEQUALS\" ];"), "'NOEQUALS' is not of the form NAME=value", 4),
        case(image("compressor = \"lz4\";"), "unknown compressor 'lz4'", 4),
        case(image("uid = -1;"), "'uid': must be between 0", 4),
        case(image("tag = \"a/b\";"), "is not a valid image tag", 4),
        case(image("name = \"\";"), "is not a valid image name: it is empty", 4),
        // Names, tags and config fields against the OCI grammar and image spec.
        case(image("name = \"../../etc/x\";"), "\"../../etc/x\" is not a valid image name", 4),
        case(image("name = \"app\\nx\";"), "\"app\\nx\" is not a valid image name", 4),
        case(image("name = \"App\";"), "is not a valid image name", 4),
        case(image("tag = \"-x\";"), "is not a valid image tag", 4),
        case(image("config.Healthcheck = \"x\";"), "'config.Healthcheck' must be a set", 4),
        case(image("config.Healthcheck.Interval = \"30s\";"), "'config.Healthcheck.Interval' must be a non-negative integer (nanoseconds)", 4),
        case(image("config.Healthcheck.Retries = -1;"), "'config.Healthcheck.Retries' must be a non-negative integer", 4),
        case(image("config.Healthcheck.Test = [ \"curl\" ];"), "the first element must be \"NONE\", \"CMD\" or \"CMD-SHELL\"", 4),
        case(image("config.Healthcheck.Tset = [ ];"), "did you mean 'Test'?", 4),
        case(image("config.ExposedPorts.http = { };"), "\"http\" is not a port", 4),
        case(image("config.Volumes.data = { };"), "\"data\" is not an absolute path", 4),
        case(image("config.ArgsEscaped = \"yes\";"), "'config.ArgsEscaped' must be a Boolean", 4),
        case(image("config.StopSignal = 9;"), "'config.StopSignal' must be a string", 4),
        case(image("config.OnBuild = [ 1 ];"), "'config.OnBuild' must be a list of strings", 4),
        // makeDerivation's rules.
        case(derivation("name = \"d\"; env.FOO = \"1\"; builder = \"touch $out\";"), "Invalid argument: FOO, must start with: env", 4),
        case(derivation("name = \"d\"; envFiles.BAR = \"1\"; builder = \"touch $out\";"), "Invalid argument: BAR, must start with: env", 4),
        case(derivation("name = \"d\";"), "makeDerivation requires the attribute 'builder'", 4),
        case(derivation("name = \"d\"; bulder = \"x\";"), "did you mean 'builder'?", 4),
        case(derivation("name = \"d\"; builder = \"x\"; searchPaths.bni = [ ];"), "did you mean 'bin'?", 4),
        case(derivation("name = 1; builder = \"x\";"), "'name' must be a string, but it is an integer", 4),
        // The project's shape.
        case("{\n  jobs = { };\n  job.\"/x\" = { };\n}\n".into(), "the option 'job' does not exist", 3),
        case("{\n  jobs = { };\n  job.\"/x\" = { };\n}\n".into(), "did you mean 'jobs'?", 3),
        case("{\n  jobs.x = { };\n}\n".into(), "The job \"x\" must begin with a slash. Rename it to \"/x\".", 2),
        case("{\n  imports = \"x\";\n}\n".into(), "'imports' must be a list of paths", 2),
        case("{\n  jobs.\"/x\" = {\n}\n".into(), "syntax error", 4),
        case("{ makeContainerImage, ... }:\n{\n  jobs.\"/x\" = makeContainerImage { name = nam; };\n}\n".into(), "undefined variable 'nam'", 3),
        case("{ fetchUrl, ... }:\n{\n  jobs.\"/x\" = fetchUrl { };\n}\n".into(), "fetchUrl requires the attribute 'url'", 3),
        case("{ makeNodeJsModules, ... }:\n{\n  jobs.\"/x\" = makeNodeJsModules { };\n}\n".into(), "called without required argument 'name'", 3),
        case("{ fromYaml, makeContainerImage, ... }:\n{\n  jobs.\"/x\" = makeContainerImage {\n    config = fromYaml \"Env: [\";\n  };\n}\n".into(), "fromYaml: invalid YAML", 4),
    ]
}

#[test]
fn every_bad_input_is_reported_at_its_line_with_exit_code_1() {
    let sandbox = Sandbox::new();
    let table = cases();
    assert!(table.len() >= 40, "the issue asks for at least 40 cases");
    let mut failures = Vec::new();
    for (i, c) in table.iter().enumerate() {
        let project = sandbox.dir.path().join(format!("case{i}"));
        write_project(&project, &c.file);
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .arg("/x")
            .output()
            .expect("makes runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let at_line = format!("makes.nix:{}:", c.line);
        if out.status.code() != Some(1)
            || !stderr.contains(c.message)
            || !stderr.contains(&at_line)
            || !out.stdout.is_empty()
        {
            failures.push(format!(
                "case {i} ({:?}):\n  want exit 1, {:?} at {at_line}\n  got {:?}:\n{stderr}",
                c.file.lines().nth(c.line.saturating_sub(1)).unwrap_or(""),
                c.message,
                out.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

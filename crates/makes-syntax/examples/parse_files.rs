//! Parses and lowers the `.nix` files named on the command line (`-n N`: N rounds), for
//! profiling the parser; `--dump` prints each file's IR or error (to compare two builds).

use std::io::Write;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::rc::Rc;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 1;
    let mut dump = false;
    if let Some(i) = args.iter().position(|a| a == "--dump") {
        args.remove(i);
        dump = true;
    }
    // `--globals FILE`: the base frame's names, one a line, in slot order (the evaluator's are
    // `true`, `false`, `null`, the global functions, then `__` and each builtin's name).
    let mut globals_file = None;
    if let Some(i) = args.iter().position(|a| a == "--globals") {
        args.remove(i);
        globals_file = Some(args.remove(i));
    }
    if let Some(i) = args.iter().position(|a| a == "-n") {
        args.remove(i);
        rounds = args.remove(i).parse().unwrap_or(1);
    }
    let globals: Vec<Rc<str>> = [
        "builtins",
        "true",
        "false",
        "null",
        "import",
        "toString",
        "map",
        "throw",
        "abort",
        "baseNameOf",
        "derivation",
        "dirOf",
        "isNull",
        "removeAttrs",
        "scopedImport",
        "fetchTarball",
        "__findFile",
        "__nixPath",
        "__currentSystem",
    ]
    .iter()
    .map(|s| Rc::from(*s))
    .collect();
    let globals: Vec<Rc<str>> = match globals_file.and_then(|f| std::fs::read_to_string(f).ok()) {
        Some(text) => text.lines().map(Rc::from).collect(),
        None => globals,
    };
    let sources = makes_syntax::SourceMap::new();
    let files: Vec<_> = args
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let path = std::path::Path::new(p);
            Some(sources.add_bytes(p.clone(), Some(path), &bytes))
        })
        .collect();
    let out = std::io::stdout();
    let mut out = out.lock();
    for _ in 0..rounds {
        for (name, &file) in args.iter().zip(&files) {
            let result = makes_syntax::parse_file(&sources, file, &globals);
            if dump {
                let _ = writeln!(out, "== {name}\n{result:?}");
            }
        }
    }
}

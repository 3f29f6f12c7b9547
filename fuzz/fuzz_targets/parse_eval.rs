//! Parse and evaluate arbitrary input strictly, then print it: any panic or stack overflow is a
//! bug (errors are fine). Files are read through an empty in-memory `EvalIo`, so the fuzzer
//! never touches the disk. Run: `cargo +nightly fuzz run parse_eval` in `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use makes_eval::{print_value, EvalIo, EvalOptions, Evaluator, FileKind};
use std::io;
use std::path::Path;
use std::rc::Rc;

struct NoFiles;

impl EvalIo for NoFiles {
    fn read_file(&self, _: &Path) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn file_kind(&self, _: &Path) -> io::Result<Option<FileKind>> {
        Ok(None)
    }
    fn read_dir(&self, _: &Path) -> io::Result<Vec<(String, FileKind)>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn add_to_store(&self, _: &Path, _: &str) -> io::Result<String> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn is_dir(&self, _: &Path) -> bool {
        false
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.to_owned();
    makes_eval::run_with_stack(move || {
        let ev = Evaluator::new(Rc::new(NoFiles), EvalOptions::default());
        if let Ok(v) = ev.eval_source("«fuzz»", &text, Path::new("/")) {
            if ev.force_deep(&v).is_ok() {
                let _ = print_value(&ev, &v, true);
            }
        }
    });
});

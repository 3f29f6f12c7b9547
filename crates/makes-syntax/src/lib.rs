//! Reads Nix source for makes: parsing with rnix, Nix's static checks, and lowering to the
//! compact expression tree (`ir`) that the evaluator walks. Errors are `SyntaxError`s with
//! spans, rendered by miette through `SourceDiagnostic`.

pub mod byte_text;
mod diagnostic;
mod error;
mod indented;
pub mod ir;
mod lower;
mod nesting;
mod parse;
mod path_literals;
mod show;
mod source;

pub use diagnostic::SourceDiagnostic;
pub use error::SyntaxError;
pub use lower::{absolute_path, canonical_path};
pub use parse::{parse_file, parse_file_in_scope};
pub use path_literals::path_literals;
pub use show::show_expression;
pub use source::{FileId, SourceFile, SourceMap, Span};

//! keepalived.conf: load (includes, `@` lines, `$` definitions, `~SEQ`), lex, parse against the
//! keyword tables, decode into the model, validate. Every step reports [`diag::Diagnostic`]s.

pub mod diag;
pub mod host;
pub mod lexer;
pub mod render;
pub mod source;

use diag::{Diagnostic, SourceMap};
use std::path::{Path, PathBuf};

/// What a load needs to know beyond the file itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-i/--config-id`; `None` means the host name up to the first dot.
    pub config_id: Option<String>,
    /// `-e/--all-config`: missing or unreadable config/include files are errors.
    pub all_config: bool,
}

/// The result of loading a configuration: the model (always, possibly partial), every
/// diagnostic in source order, and the files that were read (for rendering).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub model: crate::model::Config,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// The main config file as given.
    pub path: PathBuf,
}

impl Loaded {
    /// keepalived 2.2.7 `-t` exit status for this load.
    pub fn exit_status(&self) -> u8 {
        diag::exit_status(&self.diagnostics)
    }
}

/// Loads, parses and validates `path`.
pub fn load(path: &Path, _opts: &LoadOptions) -> Loaded {
    Loaded {
        path: path.to_path_buf(),
        ..Default::default()
    }
}

//! Diagnostics: what the config pipeline reports, where, and how bad it is.
//!
//! Severity follows keepalived 2.2.7's `config_err_t` so that `--check` can return exactly the
//! exit status keepalived's `-t` returns (see `exit_status`).

use serde::Serialize;
use std::path::PathBuf;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FileId(pub u32);

/// A location in a source file. Lines and columns are 1-based; `len` is in bytes (0 = a point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

/// How bad a diagnostic is, ordered from harmless to parse-stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Our own remark (e.g. a keyword parsed but not implemented yet); keepalived has no such
    /// message. Never changes the exit status.
    Note,
    /// A message keepalived prints without changing its status (`CONFIG_OK` class, e.g.
    /// "Config files missing" for an unchecked include).
    Info,
    /// keepalived would still run the config (its `CONFIG_WARNING`/`CONFIG_DEPRECATED` and every
    /// ordinary error class: unknown keyword, invalid number, ...). `-t` exit 5.
    Warning,
    /// An ordinary configuration error keepalived reports but survives. `-t` exit 5.
    Error,
    /// keepalived cannot run this config (missing file with `-e`, fatal). `-t` exit 4 when it is
    /// the only diagnostic, otherwise 5 (keepalived's aggregation quirk).
    Fatal,
    /// Scripts configured without `enable_script_security`, or a checked include missing.
    /// `-t` exit 6.
    Security,
    /// The parser stopped (a keyword missing its parameter). `-t` exit 2.
    Abort,
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine name of the diagnostic class, e.g. `unknown-keyword`.
    pub code: &'static str,
    /// The message, worded as keepalived 2.2.7 words it where keepalived has such a message.
    pub message: String,
    pub span: Option<Span>,
    /// Our own explanation or suggestion (shown in pretty/JSON output, never in keepalived format).
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span: None,
            help: None,
        }
    }
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One file that took part in a load (the main config, each include, and `-e`-checked misses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    /// The path as keepalived would print it (as given / as the glob produced it).
    pub path: PathBuf,
    pub text: String,
}

/// All files read by one load, indexed by [`FileId`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile { path, text });
        FileId((self.files.len() - 1) as u32)
    }
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
    /// The text of line `line` (1-based) of file `id`, without its line terminator.
    pub fn line_text(&self, id: FileId, line: u32) -> Option<&str> {
        let f = self.get(id)?;
        f.text
            .split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

/// The exit status keepalived 2.2.7's `-t` returns for this set of diagnostics:
/// 2 parser abort, 6 security violation, 4 fatal-only, 5 any other error or warning, 0 clean.
pub fn exit_status(diags: &[Diagnostic]) -> u8 {
    let worst = diags.iter().map(|d| d.severity).max();
    match worst {
        None | Some(Severity::Note) | Some(Severity::Info) => 0,
        Some(Severity::Abort) => 2,
        Some(Severity::Security) => 6,
        Some(Severity::Fatal) => {
            // keepalived keeps the numerically largest config_err_t, and its enum lists the fatal
            // classes first: any ordinary error or warning beside a fatal one yields 5.
            if diags
                .iter()
                .any(|d| matches!(d.severity, Severity::Warning | Severity::Error))
            {
                5
            } else {
                4
            }
        }
        Some(Severity::Warning) | Some(Severity::Error) => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: Severity) -> Diagnostic {
        Diagnostic::new(s, "t", "m")
    }

    #[test]
    fn exit_status_follows_keepalived_aggregation() {
        assert_eq!(exit_status(&[]), 0);
        assert_eq!(exit_status(&[d(Severity::Note)]), 0);
        assert_eq!(exit_status(&[d(Severity::Warning)]), 5);
        assert_eq!(exit_status(&[d(Severity::Fatal)]), 4);
        assert_eq!(exit_status(&[d(Severity::Fatal), d(Severity::Warning)]), 5);
        assert_eq!(
            exit_status(&[d(Severity::Warning), d(Severity::Security)]),
            6
        );
        assert_eq!(exit_status(&[d(Severity::Security), d(Severity::Abort)]), 2);
    }

    #[test]
    fn line_text_strips_cr() {
        let mut m = SourceMap::default();
        let id = m.add("f".into(), "a\r\nb\n".into());
        assert_eq!(m.line_text(id, 1), Some("a"));
        assert_eq!(m.line_text(id, 2), Some("b"));
        assert_eq!(m.line_text(id, 9), None);
    }
}

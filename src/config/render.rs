//! Renderers for the result of a load: keepalived's own `-t` line format (what tools grep), a
//! human format with source excerpts, and JSON for CI pipelines and editors.
//!
//! All three are pure: they take a [`Loaded`] and return the text to print.

use super::diag::{Diagnostic, Severity, SourceMap, Span};
use super::Loaded;
use serde::Serialize;
use std::fmt::Write as _;

/// Output format of `-t`/`--check` (`--format=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// keepalived 2.2.7's `(FILE: Line N) message`, one line per diagnostic.
    #[default]
    Keepalived,
    /// Source excerpts with carets and help, plus a summary line.
    Pretty,
    /// One JSON object (see [`render_json`]).
    Json,
}

impl Format {
    /// The value accepted by `--format=NAME`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "keepalived" => Some(Format::Keepalived),
            "pretty" => Some(Format::Pretty),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Renders `loaded` in `format`; `color` only affects [`Format::Pretty`].
pub fn render(loaded: &Loaded, format: Format, color: bool) -> String {
    match format {
        Format::Keepalived => render_keepalived(loaded),
        Format::Pretty => render_pretty(loaded, color),
        Format::Json => render_json(loaded),
    }
}

fn file_name(sources: &SourceMap, span: &Span) -> Option<String> {
    sources
        .get(span.file)
        .map(|f| f.path.to_string_lossy().into_owned())
}

/// keepalived's `-t` output: `(FILE: Line N) message`, or just `message` when the diagnostic
/// has no location. Our notes ([`Severity::Note`]) and `help` texts are left out: this format
/// is for tools that grep keepalived's messages (its status-neutral `Info` messages included). Unlike keepalived, which repeats messages once per parse pass,
/// each diagnostic is printed once.
pub fn render_keepalived(loaded: &Loaded) -> String {
    let mut out = String::new();
    for d in &loaded.diagnostics {
        if d.severity == Severity::Note {
            continue;
        }
        match d
            .span
            .as_ref()
            .and_then(|s| Some((file_name(&loaded.sources, s)?, s.line)))
        {
            Some((file, line)) => {
                let _ = writeln!(out, "({file}: Line {line}) {}", d.message);
            }
            None => {
                let _ = writeln!(out, "{}", d.message);
            }
        }
    }
    out
}

/// Lower-case name of a severity, as used in pretty and JSON output.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Note => "note",
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Fatal => "fatal",
        Severity::Security => "security",
        Severity::Abort => "abort",
    }
}

/// The heading word of the pretty format: rustc's vocabulary, keeping the classes that change
/// keepalived's exit status apart.
fn pretty_label(s: Severity) -> &'static str {
    match s {
        Severity::Note => "note",
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Fatal => "fatal error",
        Severity::Security => "security error",
        Severity::Abort => "parse error",
    }
}

/// ANSI styling for the pretty renderer; all empty when colour is off.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn severity(&self, s: Severity, text: &str) -> String {
        let code = match s {
            Severity::Note | Severity::Info => "1;32",
            Severity::Warning => "1;33",
            _ => "1;31",
        };
        self.paint(code, text)
    }
    fn gutter(&self, text: &str) -> String {
        self.paint("1;34", text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// rustc-like output: `severity[code]: message`, ` --> file:line:col`, the source line with a
/// caret under the span, `= help: ...`, and a final summary line with the exit status keepalived
/// `-t` would give.
pub fn render_pretty(loaded: &Loaded, color: bool) -> String {
    let st = Style { on: color };
    let mut out = String::new();
    for d in &loaded.diagnostics {
        pretty_one(&mut out, &loaded.sources, d, &st);
        out.push('\n');
    }
    out.push_str(&st.bold(&summary(loaded)));
    out.push('\n');
    out
}

fn pretty_one(out: &mut String, sources: &SourceMap, d: &Diagnostic, st: &Style) {
    let head = format!("{}[{}]", pretty_label(d.severity), d.code);
    let _ = writeln!(
        out,
        "{}{}",
        st.severity(d.severity, &head),
        st.bold(&format!(": {}", d.message))
    );
    let located = d
        .span
        .as_ref()
        .and_then(|s| Some((s, file_name(sources, s)?)));
    let mut pad = String::from(" ");
    if let Some((span, file)) = located {
        let line_no = span.line.to_string();
        pad = " ".repeat(line_no.len() + 1);
        let _ = writeln!(
            out,
            "{}{} {file}:{}:{}",
            &pad[1..],
            st.gutter("-->"),
            span.line,
            span.col
        );
        if let Some(text) = sources.line_text(span.file, span.line) {
            let (lead, width) = caret_geometry(text, span);
            let bar = st.gutter("|");
            let _ = writeln!(out, "{pad}{bar}");
            let _ = writeln!(out, "{} {bar} {text}", st.gutter(&line_no));
            let carets = st.severity(d.severity, &"^".repeat(width));
            let _ = writeln!(out, "{pad}{bar} {lead}{carets}");
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad}{} help: {help}", st.gutter("="));
    }
}

/// What to print before the carets (the line's own tabs kept, so they align) and how many.
fn caret_geometry(text: &str, span: &Span) -> (String, usize) {
    let start = (span.col.max(1) as usize - 1).min(text.len());
    let start = floor_char_boundary(text, start);
    let end = floor_char_boundary(text, (start + span.len as usize).min(text.len()));
    let lead = text[..start]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    (lead, text[start..end].chars().count().max(1))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `2 warnings, 1 error; keepalived -t would exit 5`.
pub fn summary(loaded: &Loaded) -> String {
    let count =
        |f: fn(Severity) -> bool| loaded.diagnostics.iter().filter(|d| f(d.severity)).count();
    let errors = count(|s| s > Severity::Warning);
    let warnings = count(|s| s == Severity::Warning);
    let notes = count(|s| s == Severity::Note);
    let infos = count(|s| s == Severity::Info);
    let mut parts = Vec::new();
    if warnings > 0 {
        parts.push(plural(warnings, "warning"));
    }
    if errors > 0 {
        parts.push(plural(errors, "error"));
    }
    if infos > 0 {
        parts.push(plural(infos, "message"));
    }
    if notes > 0 {
        parts.push(plural(notes, "note"));
    }
    let what = if parts.is_empty() {
        "no problems found".to_string()
    } else {
        parts.join(", ")
    };
    format!("{what}; keepalived -t would exit {}", loaded.exit_status())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    exit_status: u8,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    /// Exclusive: `column + len` (equal to `column` for a point).
    end_column: Option<u32>,
    help: Option<&'a str>,
}

/// One JSON object: `{file, exit_status, diagnostics: [{severity, code, message, file, line,
/// column, end_column, help}]}`. Location fields are `null` for diagnostics without a span;
/// `end_column` is exclusive. Ends with a newline.
pub fn render_json(loaded: &Loaded) -> String {
    let diagnostics = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.span.as_ref();
            JsonDiagnostic {
                severity: severity_name(d.severity),
                code: d.code,
                message: &d.message,
                file: span.and_then(|s| file_name(&loaded.sources, s)),
                line: span.map(|s| s.line),
                column: span.map(|s| s.col),
                end_column: span.map(|s| s.col + s.len),
                help: d.help.as_deref(),
            }
        })
        .collect();
    let report = JsonReport {
        file: loaded.path.to_string_lossy().into_owned(),
        exit_status: loaded.exit_status(),
        diagnostics,
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::FileId;

    fn sample() -> Loaded {
        let mut sources = SourceMap::default();
        let main = sources.add(
            "/etc/keepalived/keepalived.conf".into(),
            "global_defs {\n    router_id LVS_1\n}\nvrrp_instance VI_1 {\n\tpriorty 100\n    virtual_router_id 300\n}\ninclude conf.d/*.conf\n".into(),
        );
        let inc = sources.add(
            "conf.d/extra.conf".into(),
            "vrrp_script chk {\n  script \"/bin/true\"\n}\n".into(),
        );
        let span = |file: FileId, line, col, len| Span {
            file,
            line,
            col,
            len,
        };
        Loaded {
            missing_net_namespace: None,
            path: "/etc/keepalived/keepalived.conf".into(),
            sources,
            diagnostics: vec![
                Diagnostic::new(Severity::Warning, "unknown-keyword", "Unknown keyword 'priorty'")
                    .at(span(main, 5, 2, 7))
                    .help("did you mean `priority`?"),
                Diagnostic::new(
                    Severity::Error,
                    "invalid-number",
                    "VI_1: virtual_router_id '300' must be between 1 & 255",
                )
                .at(span(main, 6, 23, 3)),
                Diagnostic::new(
                    Severity::Security,
                    "script-security",
                    "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
                )
                .help("add `enable_script_security` to global_defs"),
                Diagnostic::new(
                    Severity::Info,
                    "config-missing",
                    "Config files missing 'conf.d/*.conf'.",
                )
                .at(span(main, 8, 1, 21)),
                Diagnostic::new(Severity::Note, "note", "script chk runs as root")
                    .at(span(inc, 2, 3, 0)),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn keepalived_format() {
        insta::assert_snapshot!(render_keepalived(&sample()));
    }

    #[test]
    fn keepalived_format_without_span_or_unknown_file() {
        let mut l = Loaded::default();
        l.diagnostics.push(Diagnostic::new(
            Severity::Fatal,
            "config-missing",
            "Config files missing '/nonexist'.",
        ));
        l.diagnostics.push(
            Diagnostic::new(Severity::Error, "x", "no such file").at(Span {
                file: FileId(9),
                line: 1,
                col: 1,
                len: 0,
            }),
        );
        assert_eq!(
            render_keepalived(&l),
            "Config files missing '/nonexist'.\nno such file\n"
        );
    }

    #[test]
    fn pretty_format() {
        insta::assert_snapshot!(render_pretty(&sample(), false));
    }

    #[test]
    fn pretty_clean_config() {
        assert_eq!(
            render_pretty(&Loaded::default(), false),
            "no problems found; keepalived -t would exit 0\n"
        );
    }

    #[test]
    fn pretty_color_wraps_in_ansi() {
        let s = render_pretty(&sample(), true);
        assert!(s.contains("\x1b[1;33mwarning[unknown-keyword]\x1b[0m"));
    }

    #[test]
    fn caret_clamps_to_line_and_char_boundaries() {
        let sp = |col, len| Span {
            file: FileId(0),
            line: 1,
            col,
            len,
        };
        assert_eq!(caret_geometry("ab", &sp(9, 4)), (" ".repeat(2), 1));
        assert_eq!(caret_geometry("\tx é", &sp(2, 4)), ("\t".into(), 3));
        assert_eq!(caret_geometry("", &sp(0, 0)), (String::new(), 1));
    }

    #[test]
    fn json_format() {
        let text = render_json(&sample());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["exit_status"], 6);
        assert_eq!(v["diagnostics"][0]["end_column"], 9);
        assert!(v["diagnostics"][2]["line"].is_null());
        insta::assert_snapshot!(text);
    }
}

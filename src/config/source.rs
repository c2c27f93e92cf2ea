//! From files to logical lines, as keepalived 2.2.7's `read_line()` produces them.
//!
//! Order of work on every physical line: strip the line end, `decomment` (leading/trailing
//! blanks, `#`/`!` comments outside double quotes, `\#` `\!` escapes), collect multi-line
//! `$NAME=` definitions, then repeatedly: `@id` / `@^id` conditionals, `$NAME=` definitions,
//! `~SEQ`/`~LST` generators, `$NAME`/`${NAME}` expansion (re-decommented and re-checked). Then
//! `include` lines open files, and what is left is cut at the first `{` or `}` outside double
//! quotes so every brace ends up on a logical line of its own.
//!
//! Each logical line keeps the span it came from, through includes and expansion. Where
//! keepalived hangs (self-referencing definitions, include cycles) we stop with an error.

use super::diag::{Diagnostic, FileId, Severity, SourceMap, Span};
use super::host::Host;
use std::path::{Path, PathBuf};

/// keepalived reads with a 1024-byte buffer: `fgets` returns at most 1023 bytes at a time.
const MAXBUF: usize = 1024;
/// Expansion steps allowed on one line before we call it a loop (keepalived loops forever).
const MAX_EXPANSIONS: usize = 10_000;
/// Nested includes allowed (keepalived has no limit and eventually runs out of descriptors).
const MAX_INCLUDE_DEPTH: usize = 64;
/// Lines a `~SEQ`/`~LST` set may generate in total.
const MAX_GENERATED: usize = 1_000_000;
/// Residues (text after a brace) one line may produce; a 1024-byte line has fewer braces.
const MAX_RESIDUES: usize = 1024;
/// How deeply multi-line definitions and `~SEQ`/`~LST` may nest inside each other.
const MAX_GEN_DEPTH: usize = 64;

/// One logical line, ready for tokenising. Its text is `start..start+len` of [`Read::text`]
/// (every line of a big config stays alive for all passes: one buffer instead of an
/// allocation per line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub len: u32,
    /// Where the line came from; `col` is the column of `text`'s first byte when `verbatim`.
    pub span: Span,
    /// `text` is an unmodified slice of the physical line at `span.col` (no expansion/escape).
    pub verbatim: bool,
}

impl Line {
    /// The line's text in `buf` (the [`Read::text`] it was read into).
    pub fn text<'a>(&self, buf: &'a str) -> &'a str {
        buf.get(self.start..self.start + self.len as usize)
            .unwrap_or("")
    }

    /// Span of `len` bytes at byte offset `off` of `text`.
    pub fn span_at(&self, off: usize, len: usize) -> Span {
        if self.verbatim {
            Span {
                col: self.span.col + off as u32,
                len: len as u32,
                ..self.span
            }
        } else {
            self.span
        }
    }
}

/// Include checking flags (`include_check`, `-e`, `includer/m/w/b/a`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncludeCheck {
    pub readable: bool,
    pub matched: bool,
    pub wildcard: bool,
    pub brace: bool,
}

impl IncludeCheck {
    pub const ALL: IncludeCheck = IncludeCheck {
        readable: true,
        matched: true,
        wildcard: true,
        brace: true,
    };
    fn or(self, o: IncludeCheck) -> IncludeCheck {
        IncludeCheck {
            readable: self.readable || o.readable,
            matched: self.matched || o.matched,
            wildcard: self.wildcard || o.wildcard,
            brace: self.brace || o.brace,
        }
    }
}

/// Settings of one read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The `@id` to compare with (`-i`, default host name up to the first dot).
    pub config_id: String,
    /// `-e`: every include error is fatal.
    pub all_config: bool,
    /// Seed for `${_RANDOM}`.
    pub random_seed: u64,
}

/// Everything a read produced.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub lines: Vec<Line>,
    /// The text of all lines, one after the other.
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// Main config file could not be used.
    pub main_missing: bool,
}

#[derive(Debug, Clone)]
struct Def {
    name: String,
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Pwd,
    Instance,
    Random,
}

/// An open file on the include stack.
struct OpenFile {
    id: FileId,
    /// Physical chunks as split like fgets would: byte range in the file's text (kept in
    /// the source map) and line number. Ranges, not strings: a 26,000-line file was 26,000
    /// allocations before a single line was parsed.
    chunks: Vec<Chunk>,
    next: usize,
    dir: PathBuf,
    /// Remaining glob matches of the include that opened this file.
    rest: Vec<String>,
    check: IncludeCheck,
    saved_check: IncludeCheck,
    canonical: PathBuf,
}

/// One `fgets` piece of a file: `start..end` of its text, on line `line`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: u32,
    end: u32,
    line: u32,
}

/// A source of generated lines (`~SEQ`, `~LST`, multi-line definitions).
enum Gen {
    Seq {
        var: String,
        next: i64,
        step: i64,
        last: i64,
        hex: bool,
        text: String,
        span: Span,
    },
    Lst {
        vars: Vec<String>,
        sets: Vec<Vec<String>>,
        next: usize,
        text: String,
        span: Span,
    },
    Multi {
        lines: Vec<String>,
        next: usize,
        span: Span,
        /// Index into `defs` of the definition being replayed (recursion detection).
        def: usize,
    },
}

/// Reads `path` and everything it includes into logical lines.
pub fn read(path: &Path, opts: &ReadOptions, host: &dyn Host) -> Read {
    let mut r = Reader {
        host,
        opts,
        out: Read::default(),
        files: Vec::new(),
        gens: Vec::new(),
        defs: Vec::new(),
        residue: None,
        residue_expansions: 0,
        multiline_def: None,
        block_depth: 0,
        generated: 0,
        include_check: if opts.all_config {
            IncludeCheck::ALL
        } else {
            IncludeCheck::default()
        },
        rng: opts.random_seed | 1,
        spare: Vec::new(),
        cur_span: Span {
            file: FileId(0),
            line: 0,
            col: 1,
            len: 0,
        },
    };
    for (name, value, builtin) in [
        ("_PWD", "", Some(Builtin::Pwd)),
        ("_INSTANCE", "", Some(Builtin::Instance)),
        ("_RANDOM", "", Some(Builtin::Random)),
        ("_HASH", "#", None),
        ("_BANG", "!", None),
    ] {
        r.defs.push(Def {
            name: name.into(),
            value: value.into(),
            multiline: false,
            builtin,
        });
    }
    let pattern = path.to_string_lossy().into_owned();
    if !r.open_glob(&pattern, IncludeCheck::default(), true) {
        r.out.main_missing = true;
    }
    while let Some((text, span, verbatim)) = r.next_line() {
        let start = r.out.text.len();
        r.out.text.push_str(&text);
        r.out.lines.push(Line {
            start,
            len: (r.out.text.len() - start) as u32,
            span,
            verbatim,
        });
        r.give_buf(text);
    }
    // keepalived reports unclosed blocks once the whole file is read, without a line.
    if r.block_depth > 0 {
        r.out.diagnostics.push(Diagnostic::new(
            Severity::Error,
            "missing-close-brace",
            format!("There are {} missing '}}'s or extra '{{'s", r.block_depth),
        ));
    }
    // The lines live through every parse pass; drop push's spare capacity (up to half).
    r.out.lines.shrink_to_fit();
    r.out.text.shrink_to_fit();
    r.out
}

struct Reader<'a> {
    host: &'a dyn Host,
    opts: &'a ReadOptions,
    out: Read,
    files: Vec<OpenFile>,
    gens: Vec<Gen>,
    defs: Vec<Def>,
    residue: Option<(String, Span, bool)>,
    /// Expansions done on the residues of one line: a definition whose value holds a brace
    /// and itself (`$A=x { $A`) re-queues a residue that expands again, forever.
    residue_expansions: usize,
    /// Index into `defs` of a multi-line definition being collected.
    multiline_def: Option<usize>,
    block_depth: i64,
    generated: usize,
    include_check: IncludeCheck,
    rng: u64,
    /// Line buffers to reuse (a line's text is copied into [`Read::text`] once it is done).
    spare: Vec<String>,
    /// Span of the physical line currently being processed (for messages).
    cur_span: Span,
}

/// keepalived's `decomment()`, into `out` (cleared first). Returns the number of bytes
/// removed from the front, whether the text was modified other than by trimming/truncation,
/// and whether a quote was left open. Copies runs of unchanged text: a line without quotes,
/// escapes or comments is one copy.
fn decomment_into(s: &str, out: &mut String) -> (usize, bool, bool) {
    out.clear();
    let lead = s.len() - s.trim_start_matches([' ', '\t']).len();
    let t = &s[lead..];
    let b = t.as_bytes();
    let mut quote = false;
    // where in `out` a comment starts
    let mut skip: Option<usize> = None;
    let mut cont = false;
    let mut escaped = false;
    // start of the run of `t` not yet copied into `out`
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                if skip.is_none() {
                    quote = !quote;
                }
                i += 1;
            }
            b'\\' => {
                if i + 1 < b.len() {
                    let n = b[i + 1];
                    if !quote && (n == b'#' || n == b'!') {
                        // `\#` and `\!` lose their backslash
                        out.push_str(&t[run..i]);
                        run = i + 1;
                        escaped = true;
                    }
                    i += 2;
                } else {
                    // a trailing backslash continues the line: put back after trimming
                    out.push_str(&t[run..i]);
                    run = b.len();
                    cont = true;
                    break;
                }
            }
            b'#' | b'!' if !quote && skip.is_none() => {
                skip = Some(out.len() + (i - run));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push_str(&t[run..]);
    if let Some(k) = skip {
        out.truncate(k);
    }
    let kept = out.trim_end_matches([' ', '\t']).len();
    out.truncate(kept);
    if cont {
        out.push('\\');
    }
    (lead, escaped, quote)
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}
fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Reader<'a> {
    fn diag(&mut self, sev: Severity, code: &'static str, msg: String, span: Option<Span>) {
        self.out
            .diagnostics
            .push(Diagnostic::new(sev, code, msg).at_opt(span));
    }

    fn current_dir(&self) -> PathBuf {
        self.files
            .last()
            .map(|f| f.dir.clone())
            .unwrap_or_else(|| self.host.cwd())
    }

    fn effective_check(&self, own: IncludeCheck) -> IncludeCheck {
        self.include_check.or(own)
    }

    /// keepalived's `file_config_error`: a message whose class depends on whether this kind of
    /// include problem is being checked.
    fn file_error(
        &mut self,
        checked: bool,
        main: bool,
        code: &'static str,
        msg: String,
        span: Option<Span>,
    ) {
        let sev = if !checked {
            Severity::Info
        } else if main {
            Severity::Fatal
        } else {
            // A checked include that fails aborts keepalived's start-up; -t exits 6.
            Severity::Security
        };
        self.diag(sev, code, msg, span);
    }

    /// Expands `{a,b}` alternatives (GLOB_BRACE), keeping their order.
    fn expand_braces(pattern: &str) -> Vec<String> {
        let b = pattern.as_bytes();
        let mut depth = 0;
        let mut open = None;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'{' => {
                    if depth == 0 {
                        open = Some(i);
                    }
                    depth += 1;
                }
                b'}' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        let Some(o) = open else { break };
                        let inner = &pattern[o + 1..i];
                        // Split inner on top-level commas.
                        let mut parts = Vec::new();
                        let (mut d, mut start) = (0, 0);
                        for (j, c) in inner.bytes().enumerate() {
                            match c {
                                b'{' => d += 1,
                                b'}' => d -= 1,
                                b',' if d == 0 => {
                                    parts.push(&inner[start..j]);
                                    start = j + 1;
                                }
                                _ => {}
                            }
                        }
                        parts.push(&inner[start..]);
                        if parts.len() == 1 {
                            // "{x}" without a comma is literal for glob; keep scanning after it.
                            i += 1;
                            continue;
                        }
                        let pre = &pattern[..o];
                        let post = &pattern[i + 1..];
                        return parts
                            .into_iter()
                            .flat_map(|p| Self::expand_braces(&format!("{pre}{p}{post}")))
                            .collect();
                    }
                }
                _ => {}
            }
            i += 1;
        }
        vec![pattern.to_string()]
    }

    /// Opens the files matching an include pattern; returns false if nothing was opened.
    fn open_glob(&mut self, pattern: &str, own: IncludeCheck, main: bool) -> bool {
        let span = if main { None } else { Some(self.cur_span) };
        let check = self.effective_check(own);
        let dir = self.current_dir();
        let has_wild = pattern.contains(['*', '?', '[']);
        let has_brace = pattern.contains('{');
        let mut matches: Vec<String> = Vec::new();
        let mut missing = false;
        for alt in Self::expand_braces(pattern) {
            let abs = if Path::new(&alt).is_absolute() {
                alt.clone()
            } else {
                normalize(&dir.join(&alt)).to_string_lossy().into_owned()
            };
            if alt.contains(['*', '?', '[']) {
                let found = self.host.glob(&abs);
                missing = missing || glob_misses(self.host, &abs);
                matches.extend(found.into_iter().map(|f| {
                    if Path::new(&alt).is_absolute() {
                        f
                    } else {
                        // Show relative matches as keepalived does: relative to the directory.
                        f.strip_prefix(&format!("{}/", dir.to_string_lossy()))
                            .map(str::to_string)
                            .unwrap_or(f)
                    }
                }));
            } else if let Some(st) = self.host.stat(Path::new(&abs)) {
                let mut shown = alt.clone();
                if st.is_dir {
                    shown.push('/');
                }
                matches.push(shown);
            } else {
                missing = true;
            }
        }
        if matches.is_empty() {
            if missing {
                let kind = if has_brace {
                    check.brace
                } else {
                    check.matched
                };
                self.file_error(
                    kind,
                    main,
                    "include-missing",
                    format!("Config files missing '{pattern}'."),
                    span,
                );
            } else if has_wild && check.wildcard {
                self.file_error(
                    true,
                    main,
                    "include-no-match",
                    format!("No config files matched '{pattern}'."),
                    span,
                );
            }
            return false;
        }
        if missing {
            self.file_error(
                check.brace,
                main,
                "include-missing",
                format!("Some config files missing: \"{pattern}\"."),
                span,
            );
            if check.brace {
                return false;
            }
        }
        let saved = self.include_check;
        let opened = self.open_next(matches, own, saved, main, span);
        if !opened {
            self.include_check = saved;
        }
        opened
    }

    /// Opens the first usable file of `paths`; the rest stay queued on it.
    fn open_next(
        &mut self,
        mut paths: Vec<String>,
        own: IncludeCheck,
        saved: IncludeCheck,
        main: bool,
        span: Option<Span>,
    ) -> bool {
        paths.reverse();
        let dir = self.current_dir();
        while let Some(p) = paths.pop() {
            let check = self.effective_check(own);
            if p.ends_with('/') {
                self.file_error(
                    check.readable,
                    main,
                    "include-directory",
                    format!("Configuration file '{p}' is a directory - skipping"),
                    span,
                );
                continue;
            }
            let abs = if Path::new(&p).is_absolute() {
                PathBuf::from(&p)
            } else {
                normalize(&dir.join(&p))
            };
            match self.host.stat(&abs) {
                Some(st) if st.is_file && st.mode & 0o111 == 0 => {}
                _ => {
                    self.file_error(
                        check.readable,
                        main,
                        "include-not-regular",
                        format!(
                            "Configuration file '{p}' is not a regular non-executable file - skipping"
                        ),
                        span,
                    );
                    continue;
                }
            }
            let canonical = self.host.canonical(&abs);
            if self.files.iter().any(|f| f.canonical == canonical) {
                self.diag(
                    Severity::Error,
                    "include-cycle",
                    format!("Configuration file '{p}' includes itself - skipping"),
                    span,
                );
                continue;
            }
            if self.files.len() >= MAX_INCLUDE_DEPTH {
                self.diag(
                    Severity::Error,
                    "include-depth",
                    format!(
                        "Configuration file '{p}' is nested more than {MAX_INCLUDE_DEPTH} includes deep - skipping"
                    ),
                    span,
                );
                continue;
            }
            let bytes = match self.host.read_file(&abs) {
                Ok(b) => b,
                Err(e) => {
                    self.file_error(
                        check.readable,
                        main,
                        "include-unreadable",
                        format!("Configuration file '{p}' open problem ({e}) - skipping"),
                        span,
                    );
                    continue;
                }
            };
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let Some(chunks) = split_physical(&text) else {
                self.file_error(
                    check.readable,
                    main,
                    "include-unreadable",
                    format!("Configuration file '{p}' is too big (4 GiB or more) - skipping"),
                    span,
                );
                continue;
            };
            // What this file adds, at least: its text less comments, and a logical line per
            // physical one (more with braces). Reserved once instead of grown by doubling.
            self.out.text.reserve(text.len());
            self.out.lines.reserve(chunks.len() + chunks.len() / 2);
            let id = self.out.sources.add(PathBuf::from(&p), text);
            let fdir = abs.parent().map(Path::to_path_buf).unwrap_or(dir.clone());
            let mut rest = paths;
            rest.reverse();
            self.files.push(OpenFile {
                id,
                chunks,
                next: 0,
                dir: fdir,
                rest,
                check: own,
                saved_check: saved,
                canonical,
            });
            return true;
        }
        false
    }

    /// Closes the current file and opens the next match of its glob, if any.
    fn end_file(&mut self) {
        let Some(f) = self.files.pop() else { return };
        self.include_check = f.saved_check;
        if !f.rest.is_empty() {
            let saved = self.include_check;
            self.open_next(f.rest, f.check, saved, false, None);
        }
    }

    fn random(&mut self, min: i64, max: i64) -> i64 {
        // xorshift64*: deterministic for a given seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let v = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
        if max < min {
            return min;
        }
        let range = (max - min + 1) as u64;
        min + (v % range) as i64
    }

    /// keepalived's `find_definition` for a reference starting right after `$`.
    /// Returns (index, bytes of the reference after `$`, params).
    fn find_reference(&self, s: &[u8]) -> Option<(usize, usize, Vec<i64>)> {
        let braces = s.first() == Some(&b'{');
        let name_start = usize::from(braces);
        if !s.get(name_start).copied().is_some_and(is_name_start) {
            return None;
        }
        let mut p = name_start + 1;
        while s.get(p).copied().is_some_and(is_name_char) {
            p += 1;
        }
        let name = &s[name_start..p];
        let mut params = Vec::new();
        let consumed;
        if braces {
            let mut q = p;
            let mut param_text_end = None;
            while let Some(&c) = s.get(q) {
                if c == b' ' || c.is_ascii_digit() {
                    if c != b' ' {
                        param_text_end = Some(q);
                    }
                    q += 1;
                } else {
                    break;
                }
            }
            if let Some(e) = param_text_end {
                if e + 1 != q {
                    return None;
                }
                let text = std::str::from_utf8(&s[p..q]).ok()?;
                params = text
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
            }
            if s.get(q) != Some(&b'}') {
                return None;
            }
            consumed = q + 1;
        } else {
            match s.get(p) {
                None | Some(b' ' | b'\t' | b',' | b')') => {}
                _ => return None,
            }
            consumed = p;
        }
        let at_end = consumed == s.len();
        let idx = self
            .defs
            .iter()
            .position(|d| d.name.as_bytes() == name && (at_end || !d.multiline))?;
        if !params.is_empty() && self.defs[idx].builtin != Some(Builtin::Random) {
            return None;
        }
        Some((idx, consumed, params))
    }

    /// keepalived's `replace_param`: expands definitions in place, rescanning replaced text.
    /// Returns whether anything was replaced; multi-line values queue their other lines.
    fn replace_params(&mut self, buf: &mut String, span: Span) -> bool {
        let mut found = false;
        let mut pos = 0;
        let mut steps = 0;
        while let Some(rel) = buf[pos..].find('$') {
            let at = pos + rel;
            if at + 1 >= buf.len() {
                break;
            }
            let Some((idx, consumed, params)) = self.find_reference(&buf.as_bytes()[at + 1..])
            else {
                pos = at + 1;
                continue;
            };
            steps += 1;
            if steps > MAX_EXPANSIONS {
                let name = self.defs[idx].name.clone();
                self.diag(
                    Severity::Error,
                    "definition-loop",
                    format!(
                        "Definition ${name} keeps expanding (it refers to itself) - line ignored"
                    ),
                    Some(span),
                );
                buf.clear();
                return true;
            }
            found = true;
            let def = &self.defs[idx];
            let value = match def.builtin {
                Some(Builtin::Pwd) => self.current_dir().to_string_lossy().into_owned(),
                Some(Builtin::Instance) => self.opts.config_id.clone(),
                Some(Builtin::Random) => {
                    let (min, max) = match params.as_slice() {
                        [] => (0, 32767),
                        [max] => (0, *max),
                        [min, max, ..] => (*min, *max),
                    };
                    self.random(min, max).to_string()
                }
                None => def.value.clone(),
            };
            let recursive = self.defs[idx].multiline
                && self
                    .gens
                    .iter()
                    .any(|g| matches!(g, Gen::Multi { def, .. } if *def == idx));
            if self.defs[idx].multiline && (recursive || self.gens.len() >= MAX_GEN_DEPTH) {
                // A multi-line definition used on one of its own lines (directly or through
                // another one) would queue its lines forever, or, used on several of its lines,
                // grow a tree of a million lines (both found by fuzzing): stop like a
                // self-referencing single-line definition. Generated lines are only read
                // while their generator is on the stack, so a `Multi` of this definition
                // there means the line came from it.
                let name = self.defs[idx].name.clone();
                self.diag(
                    Severity::Error,
                    "definition-loop",
                    format!(
                        "Definition ${name} keeps expanding (it refers to itself) - line ignored"
                    ),
                    Some(span),
                );
                buf.clear();
                return true;
            }
            let replacement = if self.defs[idx].multiline {
                let mut parts = value.split('\n');
                let first = parts.next().unwrap_or("").to_string();
                let rest: Vec<String> = parts.map(str::to_string).collect();
                if !rest.is_empty() {
                    self.gens.push(Gen::Multi {
                        lines: rest,
                        next: 0,
                        span,
                        def: idx,
                    });
                }
                first
            } else {
                value
            };
            if buf.len() - consumed - 1 + replacement.len() >= MAXBUF {
                self.diag(
                    Severity::Error,
                    "definition-too-long",
                    "Parameter substitution would exceed maximum line length".to_string(),
                    Some(span),
                );
                // keepalived's replace_param returns NULL here, which its caller reads as
                // "nothing changed": the line is used as it is. Returning `found` made the
                // caller expand a growing self-reference (`$IF=x${IF}`) 10,000 more times
                // (a 12 s fuzz input).
                return false;
            }
            let starts_tilde = replacement.trim_start_matches([' ', '\t']).starts_with('~');
            buf.replace_range(at..at + 1 + consumed, &replacement);
            if starts_tilde {
                break;
            }
            pos = at;
        }
        found
    }

    /// keepalived's `check_definition`: `$NAME=value` (no blank before `=`).
    fn check_definition(&mut self, buf: &str) -> bool {
        let b = buf.as_bytes();
        if b.first() != Some(&b'$') || !b.get(1).copied().is_some_and(is_name_start) {
            return false;
        }
        let mut p = 2;
        while p < b.len() && b[p] != b'=' {
            if !is_name_char(b[p]) {
                return false;
            }
            p += 1;
        }
        if p >= b.len() {
            return false;
        }
        let name = &buf[1..p];
        let mut value = buf[p + 1..].trim_start_matches([' ', '\t']).to_string();
        let multiline = value.ends_with('\\');
        if multiline {
            value.pop();
            let trimmed = value.trim_end_matches([' ', '\t']).len();
            value.truncate(trimmed);
            if !value.is_empty() {
                value.push('\n');
            }
        }
        let idx = match self.defs.iter().position(|d| d.name == name) {
            Some(i) => {
                self.defs[i].value = value;
                self.defs[i].builtin = None;
                self.defs[i].multiline = multiline;
                i
            }
            None => {
                self.defs.push(Def {
                    name: name.to_string(),
                    value,
                    multiline,
                    builtin: None,
                });
                self.defs.len() - 1
            }
        };
        if multiline {
            self.multiline_def = Some(idx);
        }
        true
    }

    fn parse_seq(&mut self, buf: &str, span: Span) -> bool {
        let rest = &buf[4..];
        let (hex, rest) = match rest.strip_prefix('x') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let Some(rest) = rest.strip_prefix('(') else {
            return false;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let var_len = rest.find([' ', '\t', ',', ')']).unwrap_or(rest.len());
        let var = &rest[..var_len];
        let after = rest[var_len..].trim_start_matches([' ', '\t']);
        if var.is_empty() || after.is_empty() || after.starts_with(')') {
            self.diag(
                Severity::Error,
                "seq-invalid",
                format!("Invalid ~SEQ definition '{buf}'"),
                Some(span),
            );
            return false;
        }
        let after = &after[1..];
        let Some(close) = after.find(')') else {
            return false;
        };
        let mut params = after[..=close].to_string();
        self.replace_params(&mut params, span);
        let nums: Vec<&str> = params
            .trim_end_matches([' ', '\t'])
            .trim_end_matches(')')
            .split(',')
            .collect();
        let parse = |s: &str| -> Option<i64> {
            let s = s.trim();
            if s.is_empty() {
                return Some(0);
            }
            if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return i64::from_str_radix(h, 16).ok();
            }
            if s.len() > 1 && s.starts_with('0') {
                return i64::from_str_radix(&s[1..], 8).ok();
            }
            s.parse().ok()
        };
        let vals: Option<Vec<i64>> = nums.iter().map(|s| parse(s)).collect();
        let invalid = |r: &mut Self| {
            r.diag(
                Severity::Error,
                "seq-invalid",
                format!("Invalid ~SEQ definition '{buf}'"),
                Some(span),
            );
            false
        };
        let Some(vals) = vals else {
            return invalid(self);
        };
        let (start, step, end) = match vals.as_slice() {
            [end] => (
                if *end < 0 { -1 } else { 1 },
                if *end < 1 { -1 } else { 1 },
                *end,
            ),
            [s, e] => (*s, if s <= e { 1 } else { -1 }, *e),
            [s, st, e] => {
                if *st == 0 || (s < e && *st < 0) || (s > e && *st > 0) {
                    self.diag(
                        Severity::Error,
                        "seq-invalid",
                        format!("Invalid ~SEQ values '{buf}'"),
                        Some(span),
                    );
                    return false;
                }
                (*s, *st, *e)
            }
            _ => return invalid(self),
        };
        if hex && (start < 0 || end < 0) {
            self.diag(
                Severity::Error,
                "seq-invalid",
                format!("~SEQx is only valid for positive numbers '{buf}'"),
                Some(span),
            );
            return false;
        }
        let text = after[close + 1..]
            .trim_start_matches([' ', '\t'])
            .to_string();
        self.gens.push(Gen::Seq {
            var: var.to_string(),
            next: start,
            step,
            last: end,
            hex,
            text,
            span,
        });
        true
    }

    fn parse_lst(&mut self, buf: &str, span: Span) -> bool {
        let p = buf[4..].trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return false;
        };
        let mut p = p.trim_start_matches([' ', '\t']);
        let mut vars = Vec::new();
        if let Some(r) = p.strip_prefix('{') {
            let Some(close) = r.find('}') else {
                return false;
            };
            vars = r[..close]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
            p = r[close + 1..].trim_start_matches([' ', '\t']);
        } else {
            let e = p.find(',').unwrap_or(p.len());
            vars.push(p[..e].trim().to_string());
            p = &p[e..];
        }
        let Some(mut p) = p.strip_prefix(',') else {
            return false;
        };
        let mut sets: Vec<Vec<String>> = Vec::new();
        loop {
            p = p.trim_start_matches([' ', '\t']);
            let mut set: Vec<String>;
            if let Some(r) = p.strip_prefix('{') {
                let Some(close) = r.find('}') else {
                    return false;
                };
                set = r[..close]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
                p = r[close + 1..].trim_start_matches([' ', '\t']);
            } else {
                let e = p.find([',', ')']).unwrap_or(p.len());
                set = vec![p[..e].trim().to_string()];
                p = &p[e..];
            }
            if set.len() > vars.len() {
                self.diag(
                    Severity::Error,
                    "lst-invalid",
                    format!("~LST specification has too many values '{buf}'"),
                    Some(span),
                );
                return false;
            }
            set.resize(vars.len(), String::new());
            sets.push(set);
            if let Some(r) = p.strip_prefix(')') {
                p = r;
                break;
            }
            match p.strip_prefix(',') {
                Some(r) => p = r,
                None => return false,
            }
        }
        if vars.is_empty() || sets.is_empty() {
            return false;
        }
        self.gens.push(Gen::Lst {
            vars,
            sets,
            next: 0,
            text: p.trim_start_matches([' ', '\t']).to_string(),
            span,
        });
        true
    }

    fn set_plain_def(&mut self, name: &str, value: String) {
        match self.defs.iter().position(|d| d.name == name) {
            Some(i) => {
                self.defs[i].value = value;
                self.defs[i].builtin = None;
                self.defs[i].multiline = false;
            }
            None => self.defs.push(Def {
                name: name.to_string(),
                value,
                multiline: false,
                builtin: None,
            }),
        }
    }

    /// The next raw line from generators; None when no generator has one.
    fn next_generated(&mut self) -> Option<(String, Span)> {
        loop {
            let top = self.gens.last_mut()?;
            self.generated += 1;
            if self.generated > MAX_GENERATED {
                self.gens.clear();
                self.diag(
                    Severity::Error,
                    "seq-too-many",
                    format!("~SEQ/~LST generated more than {MAX_GENERATED} lines - stopping"),
                    None,
                );
                return None;
            }
            match top {
                Gen::Seq {
                    var,
                    next,
                    step,
                    last,
                    hex,
                    text,
                    span,
                } => {
                    let done = (*step > 0 && *next > *last) || (*step < 0 && *next < *last);
                    if done {
                        self.gens.pop();
                        continue;
                    }
                    let v = if *hex {
                        format!("{:x}", *next)
                    } else {
                        next.to_string()
                    };
                    *next += *step;
                    let (var, text, span) = (var.clone(), text.clone(), *span);
                    self.set_plain_def(&var, v);
                    return Some((text, span));
                }
                Gen::Lst {
                    vars,
                    sets,
                    next,
                    text,
                    span,
                } => {
                    if *next >= sets.len() {
                        self.gens.pop();
                        continue;
                    }
                    let set = sets[*next].clone();
                    *next += 1;
                    let (vars, text, span) = (vars.clone(), text.clone(), *span);
                    for (n, v) in vars.iter().zip(set) {
                        self.set_plain_def(n, v);
                    }
                    return Some((text, span));
                }
                Gen::Multi {
                    lines, next, span, ..
                } => {
                    if *next >= lines.len() {
                        self.gens.pop();
                        continue;
                    }
                    let l = lines[*next].clone();
                    *next += 1;
                    return Some((l, *span));
                }
            }
        }
    }

    /// A cleared buffer for a line.
    fn take_buf(&mut self) -> String {
        self.spare.pop().unwrap_or_default()
    }

    /// Returns a line buffer for reuse.
    fn give_buf(&mut self, mut s: String) {
        if self.spare.len() < 4 && s.capacity() <= MAXBUF * 4 {
            s.clear();
            self.spare.push(s);
        }
    }

    /// Next physical chunk from the include stack: (text as decommented, span, verbatim).
    fn next_physical(&mut self) -> Option<(String, Span, bool)> {
        let mut clean = self.take_buf();
        loop {
            let Some(f) = self.files.last_mut() else {
                self.give_buf(clean);
                return None;
            };
            if f.next >= f.chunks.len() {
                self.end_file();
                continue;
            }
            let Chunk { start, end, line } = f.chunks[f.next];
            f.next += 1;
            let id = f.id;
            let Some(src) = self.out.sources.files.get(id.0 as usize) else {
                continue;
            };
            let text = src.text[start as usize..end as usize].trim_end_matches(['\n', '\r']);
            self.cur_span = Span {
                file: id,
                line,
                col: 1,
                len: 0,
            };
            if text.is_empty() {
                if let Some(i) = self.multiline_def.take() {
                    if self.defs[i].value.is_empty() {
                        self.defs[i].multiline = false;
                    }
                }
                continue;
            }
            let (lead, escaped, open_quote) = decomment_into(text, &mut clean);
            let span = Span {
                file: id,
                line,
                col: lead as u32 + 1,
                len: clean.len() as u32,
            };
            if open_quote {
                let msg = format!("Unterminated quote '{}'", &text[lead..]);
                self.diag(Severity::Error, "unterminated-quote", msg, Some(span));
            }
            if clean.is_empty() {
                continue;
            }
            return Some((clean, span, !escaped));
        }
    }

    /// keepalived's `read_line`: the next logical line.
    /// The next logical line: its text, span and whether it is verbatim (see [`Line`]).
    fn next_line(&mut self) -> Option<(String, Span, bool)> {
        let (mut buf, mut span, verbatim) = loop {
            let (mut buf, mut span, mut verbatim, from_file) =
                if let Some((t, s, v)) = self.residue.take() {
                    self.residue_expansions += 1;
                    (t, s, v, false)
                } else if let Some((t, s)) = self.next_generated() {
                    self.residue_expansions = 0;
                    (t, s, false, false)
                } else {
                    self.residue_expansions = 0;
                    let (t, s, v) = self.next_physical()?;
                    (t, s, v, true)
                };
            if self.residue_expansions > MAX_RESIDUES {
                // Found by fuzzing: the residues of one line kept expanding into new residues
                // (memory grew until the machine swapped). keepalived loops forever here too.
                self.residue_expansions = 0;
                self.diag(
                    Severity::Error,
                    "definition-loop",
                    "Definition keeps expanding into new blocks (it refers to itself) - line ignored"
                        .to_string(),
                    Some(span),
                );
                continue;
            }
            if from_file {
                if let Some(i) = self.multiline_def {
                    // Continuation of a multi-line definition.
                    let mut piece = buf.clone();
                    let more = piece.ends_with('\\');
                    if more {
                        piece.pop();
                        let t = piece.trim_end_matches([' ', '\t']).len();
                        piece.truncate(t);
                        piece.push('\n');
                    } else {
                        self.multiline_def = None;
                        if self.defs[i].value.is_empty() {
                            self.defs[i].multiline = false;
                        }
                    }
                    if piece.len() >= 2 || (!piece.is_empty() && !more) {
                        self.defs[i].value.push_str(&piece);
                    }
                    continue;
                }
            }
            // Conditionals, definitions, generators and expansion, until stable.
            let mut steps = 0;
            loop {
                steps += 1;
                if steps > MAX_EXPANSIONS {
                    buf.clear();
                    break;
                }
                let mut recheck = false;
                if buf.starts_with('@') {
                    let (rev, ofs) = if buf[1..].starts_with('^') {
                        (true, 2)
                    } else {
                        (false, 1)
                    };
                    let Some(sp) = buf[ofs..].find([' ', '\t']) else {
                        buf.clear();
                        break;
                    };
                    let id = &buf[ofs..ofs + sp];
                    if (id != self.opts.config_id) != rev {
                        buf.clear();
                        break;
                    }
                    let rest_at = ofs + sp;
                    let rest = buf[rest_at..].trim_start_matches([' ', '\t']);
                    let cut = buf.len() - rest.len();
                    if verbatim {
                        span.col += cut as u32;
                        span.len = span.len.saturating_sub(cut as u32);
                    }
                    buf = rest.to_string();
                }
                if buf.starts_with('$') && self.check_definition(&buf.clone()) {
                    buf.clear();
                    break;
                }
                if buf.starts_with("~SEQ") || buf.starts_with("~LST") {
                    let b = buf.clone();
                    let ok = if b.as_bytes()[1] == b'S' {
                        self.parse_seq(&b, span)
                    } else {
                        self.parse_lst(&b, span)
                    };
                    if !ok {
                        let what = if b.as_bytes()[1] == b'S' {
                            "SEQ"
                        } else {
                            "LST"
                        };
                        self.diag(
                            Severity::Error,
                            "seq-invalid",
                            format!("Invalid ~{what} specification '{b}'"),
                            Some(span),
                        );
                    }
                    buf.clear();
                    break;
                }
                if buf.starts_with('~') {
                    break;
                }
                if buf.contains('$') {
                    if !self.replace_params(&mut buf, span) {
                        break;
                    }
                    verbatim = false;
                    let mut clean = self.take_buf();
                    let (_, _, open) = decomment_into(&buf, &mut clean);
                    if open {
                        self.diag(
                            Severity::Error,
                            "unterminated-quote",
                            format!("Unterminated quote '{buf}'"),
                            Some(span),
                        );
                    }
                    let old = std::mem::replace(&mut buf, clean);
                    self.give_buf(old);
                    if buf.starts_with('@') || buf.contains('$') {
                        recheck = true;
                    }
                }
                if !recheck {
                    break;
                }
            }
            if buf.is_empty() {
                continue;
            }
            if self.check_include(&buf, span) {
                continue;
            }
            break (buf, span, verbatim);
        };

        // Cut at the first brace outside double quotes.
        let b = buf.as_bytes();
        let mut cut: Option<usize> = None;
        if b[0] == b'{' || b[0] == b'}' {
            cut = Some(0);
        } else {
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'"' => match buf[i + 1..].find('"') {
                        Some(e) => i += e + 2,
                        None => break,
                    },
                    b'{' | b'}' => {
                        cut = Some(i);
                        break;
                    }
                    _ => i += 1,
                }
            }
        }
        if let Some(p) = cut {
            let skip = if p == 0 {
                1 + buf[1..].len() - buf[1..].trim_start_matches([' ', '\t']).len()
            } else {
                0
            };
            let rest = buf[p + skip..].trim_end_matches([' ', '\t']);
            if !rest.is_empty() {
                let mut rs = span;
                if verbatim {
                    rs.col += (p + skip) as u32;
                    rs.len = rest.len() as u32;
                }
                let mut r = self.take_buf();
                r.push_str(rest);
                self.residue = Some((r, rs, verbatim));
            }
            buf.truncate(p + skip);
        }
        let t = buf.trim_end_matches([' ', '\t']).len();
        buf.truncate(t);
        if verbatim {
            span.len = buf.len() as u32;
        }
        if buf == "{" {
            self.block_depth += 1;
        } else if buf == "}" {
            self.block_depth -= 1;
            if self.block_depth < 0 {
                self.diag(
                    Severity::Error,
                    "extra-close-brace",
                    "Extra '}' found".to_string(),
                    Some(span),
                );
                self.block_depth = 0;
            }
        }
        Some((buf, span, verbatim))
    }

    /// `include`, `includer`, `includem`, `includew`, `includeb`, `includea` lines.
    fn check_include(&mut self, buf: &str, span: Span) -> bool {
        let b = buf.as_bytes();
        if !buf.starts_with("include") || b.len() < 8 {
            return false;
        }
        let (own, rest) = if b[7].is_ascii_whitespace() {
            (IncludeCheck::default(), &buf[8..])
        } else if b"rmwba".contains(&b[7]) && b.len() > 8 && b[8].is_ascii_whitespace() {
            let c = match b[7] {
                b'r' => IncludeCheck {
                    readable: true,
                    ..Default::default()
                },
                b'a' => IncludeCheck::ALL,
                b'w' => IncludeCheck {
                    readable: true,
                    matched: true,
                    wildcard: true,
                    brace: false,
                },
                b'm' => IncludeCheck {
                    readable: true,
                    matched: true,
                    ..Default::default()
                },
                _ => IncludeCheck {
                    readable: true,
                    brace: true,
                    ..Default::default()
                },
            };
            (c, &buf[9..])
        } else {
            return false;
        };
        let pattern = rest.trim_start_matches([' ', '\t']).to_string();
        self.cur_span = span;
        self.open_glob(&pattern, own, false);
        true
    }
}

/// Splits file text into the pieces `fgets(buf, 1024)` returns, with their line numbers.
/// `a/b/../c` -> `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn split_physical(text: &str) -> Option<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut line_no = 0u32;
    u32::try_from(text.len()).ok()?;
    let mut base = 0usize;
    for raw in text.split_inclusive('\n') {
        let has_nl = raw.ends_with('\n');
        // keepalived counts a line when the chunk read ends with '\n'; an over-long line is
        // returned in several chunks that all belong to the same line.
        let bytes = raw.as_bytes();
        let mut start = 0;
        let current = line_no + 1;
        while start < bytes.len() {
            let mut end = (start + MAXBUF - 1).min(bytes.len());
            while !raw.is_char_boundary(end) {
                end -= 1;
            }
            if end == start {
                end = bytes.len();
            }
            out.push(Chunk {
                start: (base + start) as u32,
                end: (base + end) as u32,
                line: current,
            });
            start = end;
        }
        base += raw.len();
        if has_nl || !raw.is_empty() {
            line_no = current;
        }
    }
    Some(out)
}

/// Whether glibc's glob, run by keepalived with GLOB_ALTDIRFUNC hooks that count failures,
/// would count a missing directory or file for the absolute wildcard pattern `abs`: a
/// directory it must read (the fixed part before a wildcard, or a match of a wildcard
/// directory part) that cannot be opened, or a fixed name after a wildcard part that does not
/// exist. keepalived then reports "Config files missing" rather than staying silent, so
/// `/missing/dir/*.conf` is reported while `/tmp/none*/x.conf` is not.
fn glob_misses(host: &dyn Host, abs: &str) -> bool {
    let wild = |c: &str| c.contains(['*', '?', '[']);
    let comps: Vec<&str> = abs.split('/').filter(|c| !c.is_empty()).collect();
    let Some(first_wild) = comps.iter().position(|c| wild(c)) else {
        return host.lstat(Path::new(abs)).is_none();
    };
    let mut bases = vec![format!("/{}", comps[..first_wild].join("/"))];
    let mut missing = false;
    for (n, comp) in comps.iter().enumerate().skip(first_wild) {
        let last = n + 1 == comps.len();
        let mut next = Vec::new();
        for base in &bases {
            let joined = format!("{}/{comp}", base.trim_end_matches('/'));
            if wild(comp) {
                if !host.stat(Path::new(base)).is_some_and(|st| st.is_dir) {
                    missing = true;
                    continue;
                }
                if !last {
                    next.extend(
                        host.glob(&joined)
                            .into_iter()
                            .filter(|m| m.ends_with('/'))
                            .map(|m| m.trim_end_matches('/').to_string()),
                    );
                }
            } else if host.lstat(Path::new(&joined)).is_none() {
                missing = true;
            } else {
                next.push(joined);
            }
        }
        bases = next;
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::host::MemHost;

    fn run(files: &[(&str, &str)], id: &str) -> Read {
        let host = MemHost::new(files, &[]);
        read(
            Path::new(files[0].0),
            &ReadOptions {
                config_id: id.into(),
                all_config: false,
                random_seed: 1,
            },
            &host,
        )
    }

    fn texts(r: &Read) -> Vec<String> {
        r.lines
            .iter()
            .map(|l| l.text(&r.text).to_string())
            .collect()
    }

    #[test]
    fn braces_become_their_own_lines() {
        let r = run(
            &[(
                "/c/k.conf",
                "vrrp_instance VI_1 { state BACKUP\n  x \"a{b}\" }\n",
            )],
            "vm",
        );
        assert_eq!(
            texts(&r),
            ["vrrp_instance VI_1", "{", "state BACKUP", "x \"a{b}\"", "}"]
        );
        assert_eq!(r.lines[2].span.col, 22);
        assert_eq!(r.lines[4].span.line, 2);
    }

    #[test]
    fn comments_and_escapes() {
        let r = run(
            &[(
                "/c/k.conf",
                "a b # c\n  inhibit ! x\nesc\\#aped!bang\n\"q # s\" t # u\n",
            )],
            "vm",
        );
        assert_eq!(texts(&r), ["a b", "inhibit", "esc#aped", "\"q # s\" t"]);
    }

    #[test]
    fn conditional_lines() {
        let r = run(
            &[("/c/k.conf", "@vm a\n@other b\n@^other c\n@^vm d\n@vm\n")],
            "vm",
        );
        assert_eq!(texts(&r), ["a", "c"]);
    }

    #[test]
    fn definitions_expand_recursively_and_at_use_time() {
        let r = run(
            &[(
                "/c/k.conf",
                "$A=1\n$B=${A}0\nx $B 10.0.0.$A/24 ${B}\n$A=2\ny $B,$A)\n",
            )],
            "vm",
        );
        assert_eq!(texts(&r), ["x 10 10.0.0.$A/24 10", "y 20,2)"]);
    }

    #[test]
    fn multiline_definition() {
        let r = run(
            &[(
                "/c/k.conf",
                "$VIPS=\\\n 10.0.0.1 \\\n 10.0.0.2\nvirtual_ipaddress {\n$VIPS\n}\n",
            )],
            "vm",
        );
        assert_eq!(
            texts(&r),
            ["virtual_ipaddress", "{", "10.0.0.1", "10.0.0.2", "}"]
        );
    }

    #[test]
    fn self_reference_ends_with_error() {
        let r = run(&[("/c/k.conf", "$IF=${IF}\nx $IF\ny\n")], "vm");
        assert_eq!(texts(&r), ["y"]);
        assert!(r.diagnostics.iter().any(|d| d.code == "definition-loop"));
    }

    /// Found by the config_pipeline fuzz target: a multi-line definition whose last line uses
    /// the definition again queued its lines forever (1M lines, then a very slow parse).
    #[test]
    fn multiline_self_reference_ends_with_error() {
        let r = run(&[("/c/k.conf", "$A=\\\nx { \\\n} $A\n$A\ny\n")], "vm");
        assert!(r.diagnostics.iter().any(|d| d.code == "definition-loop"));
        assert!(texts(&r).len() < 200, "{}", texts(&r).len());
        assert_eq!(texts(&r).last().map(String::as_str), Some("y"));
    }

    /// Found by the config_pipeline fuzz target: a multi-line definition using itself on two of
    /// its lines grew a binary tree of lines up to the 1,000,000-line cap.
    #[test]
    fn multiline_self_reference_on_several_lines_ends_with_error() {
        let r = run(&[("/c/k.conf", "$A=\\\nx $A\\\ny $A\n$A\nz\n")], "vm");
        assert!(r.diagnostics.iter().any(|d| d.code == "definition-loop"));
        assert!(!r.diagnostics.iter().any(|d| d.code == "seq-too-many"));
        assert!(texts(&r).len() < 20, "{}", texts(&r).len());
        assert_eq!(texts(&r).last().map(String::as_str), Some("z"));
    }

    /// Found by the config_pipeline fuzz target: a definition whose value holds a brace and
    /// itself re-queued the text after the brace, which expanded again, forever.
    #[test]
    fn definition_expanding_into_new_residues_ends_with_error() {
        let r = run(
            &[("/c/k.conf", "$A=\\\nq { a $A\n~LST(X, a, b) $A\nz\n")],
            "vm",
        );
        assert!(r.diagnostics.iter().any(|d| d.code == "definition-loop"));
        assert!(texts(&r).len() < 5000, "{}", texts(&r).len());
        assert_eq!(texts(&r).last().map(String::as_str), Some("z"));
    }

    /// Found by the config_pipeline fuzz target: a definition that grows each time it is
    /// expanded hits the line-length limit; the line is then used as it is, once.
    #[test]
    fn growing_self_reference_stops_at_line_limit() {
        let r = run(&[("/c/k.conf", "$IF=abc${IF}\nx $IF\ny\n")], "vm");
        let long = r
            .diagnostics
            .iter()
            .filter(|d| d.code == "definition-too-long")
            .count();
        assert_eq!(long, 1, "{:?}", r.diagnostics);
        assert_eq!(texts(&r).last().map(String::as_str), Some("y"));
    }

    #[test]
    fn seq_and_lst() {
        let r = run(
            &[(
                "/c/k.conf",
                "~SEQ(N,1,3) ip 10.0.0.${N}\n~LST({A,B},{x,1},{y,2}) v ${A}=$B\n~SEQx(H,9,11) h${H}\n",
            )],
            "vm",
        );
        assert_eq!(
            texts(&r),
            [
                "ip 10.0.0.1",
                "ip 10.0.0.2",
                "ip 10.0.0.3",
                "v x=1",
                "v y=2",
                "h9",
                "ha",
                "hb"
            ]
        );
    }

    #[test]
    fn includes_relative_to_including_file_and_cycles_stop() {
        let r = run(
            &[
                ("/c/k.conf", "a\ninclude sub/*.conf\nb\ninclude /c/k.conf\n"),
                ("/c/sub/1.conf", "one\n"),
                ("/c/sub/2.conf", "two\ninclude ../sub/2.conf\n"),
            ],
            "vm",
        );
        assert_eq!(texts(&r), ["a", "one", "two", "b"]);
        assert_eq!(
            r.diagnostics
                .iter()
                .filter(|d| d.code == "include-cycle")
                .count(),
            2
        );
        assert_eq!(r.sources.files.len(), 3);
    }

    #[test]
    fn missing_include_is_reported_but_not_counted() {
        let r = run(
            &[("/c/k.conf", "include nope.conf\ninclude x*.conf\n")],
            "vm",
        );
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.diagnostics[0].severity, Severity::Info);
        assert_eq!(
            r.diagnostics[0].message,
            "Config files missing 'nope.conf'."
        );
    }

    /// Corpus 160 under keepalived 2.2.7: an unclosed block is reported without a line (exit 5).
    #[test]
    fn missing_close_brace() {
        let r = run(&[("/c/k.conf", "a {\nb {\n}\n")], "vm");
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(
            r.diagnostics[0].message,
            "There are 1 missing '}'s or extra '{'s"
        );
        assert_eq!(r.diagnostics[0].span, None);
    }

    #[test]
    fn extra_close_brace() {
        let r = run(&[("/c/k.conf", "a {\n}\n}\n")], "vm");
        assert_eq!(r.diagnostics[0].message, "Extra '}' found");
        assert_eq!(r.diagnostics[0].span.unwrap().line, 3);
    }

    #[test]
    fn unterminated_quote() {
        let r = run(&[("/c/k.conf", "a \"b\n")], "vm");
        assert_eq!(r.diagnostics[0].message, "Unterminated quote 'a \"b'");
    }

    #[test]
    fn builtins() {
        let r = run(
            &[("/c/k.conf", "${_INSTANCE} ${_PWD} ${_HASH}${_BANG}\n")],
            "vm",
        );
        assert_eq!(texts(&r), ["vm /c"]);
    }

    /// Checked against keepalived 2.2.7 -t on the same tree: a wildcard whose fixed directory
    /// part is missing, or a fixed name after a wildcard directory that some match lacks,
    /// counts as missing; a wildcard directory part matching nothing stays silent.
    #[test]
    fn glob_into_missing_directories_is_reported() {
        let root = std::env::temp_dir().join(format!("corpus2-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("d1")).unwrap();
        std::fs::create_dir_all(root.join("dx")).unwrap();
        std::fs::write(root.join("d1/a.conf"), "").unwrap();
        let r = root.display();
        let main = format!(
            "include {r}/nodir/*.conf\ninclude {r}/no*/*.conf\ninclude {r}/d*/a.conf\ninclude {r}/d1/*.cnf\ninclude {r}/{{d1,nodir}}/*.conf\ninclude {r}/nofile.conf\ninclude {r}/d*/x/*.conf\n"
        );
        std::fs::write(root.join("main.conf"), main).unwrap();
        let l = crate::config::load_with(
            &root.join("main.conf"),
            &crate::config::LoadOptions::default(),
            &crate::config::host::SystemHost,
        );
        let _ = std::fs::remove_dir_all(&root);
        let got: Vec<(u32, String)> = l
            .diagnostics
            .iter()
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (1, format!("Config files missing '{r}/nodir/*.conf'.")),
                (3, format!("Some config files missing: \"{r}/d*/a.conf\".")),
                (
                    5,
                    format!("Some config files missing: \"{r}/{{d1,nodir}}/*.conf\".")
                ),
                (6, format!("Config files missing '{r}/nofile.conf'.")),
                (7, format!("Config files missing '{r}/d*/x/*.conf'.")),
            ]
        );
        assert_eq!(l.exit_status(), 0);
    }
}

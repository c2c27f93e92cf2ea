//! The table-driven parse, as keepalived 2.2.7's `process_stream()` runs it.
//!
//! keepalived's `-t` parses the same lines several times: once in the parent (global keywords
//! active, everything else skipped by counting braces), then with the checker's, the VRRP
//! process's and the BFD process's tables. Error recovery differs between those passes (an
//! unknown keyword's `}` closes a block early in one and is merely counted in another), so to
//! flag exactly the lines keepalived flags we run the same passes and merge what they report.

use super::diag::{Diagnostic, Severity, Span};
use super::keywords::{section_of, Kind, Kw, Section, ROOT};
use super::lexer::{words, words_into, Tok};
use super::source::Line;

/// A parse pass: which of keepalived's processes is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Parent,
    Checker,
    Vrrp,
    Bfd,
}

impl Pass {
    pub const ALL: [Pass; 4] = [Pass::Parent, Pass::Checker, Pass::Vrrp, Pass::Bfd];

    /// Whether root keywords of `section` are active in this pass.
    pub fn active(self, section: Section) -> bool {
        use Section::*;
        match self {
            Pass::Parent => section == Global,
            Pass::Checker => matches!(section, Check | Bfd | TrackFile),
            Pass::Vrrp => matches!(section, Vrrp | Bfd | TrackFile),
            Pass::Bfd => section == Bfd,
        }
    }
}

/// The parse stopped: keepalived exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort;

/// A tokenised line.
#[derive(Clone, Copy)]
pub struct Lexed<'a> {
    pub line: &'a Line,
    /// The line's text.
    pub text: &'a str,
    pub toks: &'a [Tok<'a>],
}

/// The words of every line, in one vector (a vector per line cost an allocation and 24 bytes
/// per line on top of its words).
pub struct Tokens<'a> {
    lines: &'a [Line],
    text: &'a str,
    toks: Vec<Tok<'a>>,
    /// End index in `toks` of each line's words.
    ends: Vec<u32>,
}

impl<'a> Tokens<'a> {
    /// Line `i` with its words.
    pub fn get(&self, i: usize) -> Option<Lexed<'_>> {
        let line = self.lines.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        Some(Lexed {
            line,
            text: line.text(self.text),
            toks: &self.toks[start..self.ends[i] as usize],
        })
    }
}

/// Tokenises every line once (`text` is the buffer the lines point into); reports unmatched
/// quotes.
pub fn tokenize<'a>(lines: &'a [Line], text: &'a str) -> (Tokens<'a>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    // about two words a line in configurations of any size
    let mut toks = Vec::with_capacity(lines.len() * 2);
    let mut ends = Vec::with_capacity(lines.len());
    for line in lines {
        let t = line.text(text);
        if words_into(t, &mut toks) {
            diags.push(
                Diagnostic::new(
                    Severity::Error,
                    "unmatched-quote",
                    format!("Unmatched quote: '{t}'"),
                )
                .at(line.span),
            );
        }
        ends.push(toks.len() as u32);
    }
    toks.shrink_to_fit();
    (
        Tokens {
            lines,
            text,
            toks,
            ends,
        },
        diags,
    )
}

/// The arguments of one keyword line.
pub struct Args<'a> {
    pub lexed: Lexed<'a>,
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.lexed.toks.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lexed.toks.is_empty()
    }
    /// Word `i` (0 = the keyword) if present.
    pub fn opt(&self, i: usize) -> Option<&'a str> {
        self.lexed.toks.get(i).map(|t| t.text)
    }
    /// All words from `i` on.
    pub fn from(&self, i: usize) -> Vec<String> {
        self.lexed
            .toks
            .iter()
            .skip(i)
            .map(|t| t.text.to_string())
            .collect()
    }
    pub fn span(&self) -> Span {
        self.lexed.line.span
    }
    /// Span of word `i` (the line when absent).
    pub fn span_of(&self, i: usize) -> Span {
        // Offsets are not kept per word: split the line again (diagnostics only).
        match words(self.lexed.text).toks.get(i) {
            Some(w) => self.lexed.line.span_at(w.off, w.len),
            None => self.lexed.line.span,
        }
    }
    /// The raw text of the line after word `i-1` (for command strings).
    pub fn rest_text(&self, i: usize) -> Option<&'a str> {
        let w = *words(self.lexed.text).toks.get(i)?;
        Some(&self.lexed.text[w.off..])
    }
}

/// Parse state shared by the engine and the keyword handlers.
pub struct Ctx<'a, B> {
    lexed: &'a Tokens<'a>,
    pos: usize,
    /// Index of the line most recently read (keepalived reports at the current line).
    cur: usize,
    pub pass: Pass,
    pub diags: Vec<Diagnostic>,
    skip_sublevel: i32,
    kw_level: u32,
    /// What the handlers build.
    pub b: B,
}

/// Keyword behaviour, supplied by `decode`.
pub trait Handlers: Sized {
    /// Called for an active keyword line.
    fn keyword(ctx: &mut Ctx<'_, Self>, kw: &'static Kw, args: &Args<'_>) -> Result<(), Abort>;
    /// Called when an active keyword block closes normally.
    fn close(ctx: &mut Ctx<'_, Self>, kw: &'static Kw);
}

impl<'a, B: Handlers> Ctx<'a, B> {
    pub fn new(lexed: &'a Tokens<'a>, pass: Pass, b: B) -> Self {
        Ctx {
            lexed,
            pos: 0,
            cur: 0,
            pass,
            diags: Vec::new(),
            skip_sublevel: 0,
            kw_level: 0,
            b,
        }
    }

    /// Runs the pass over all lines.
    pub fn run(&mut self) -> Result<(), Abort> {
        self.process_stream(ROOT, false).map(|_| ())
    }

    fn next(&mut self) -> Option<Lexed<'a>> {
        let l = self.lexed.get(self.pos)?;
        self.cur = self.pos;
        self.pos += 1;
        Some(l)
    }

    /// The span of the current line.
    pub fn here(&self) -> Option<Span> {
        self.lexed.get(self.cur).map(|l| l.line.span)
    }

    /// Reports at the current line, as keepalived's `report_config_error` does.
    pub fn report(&mut self, sev: Severity, code: &'static str, msg: impl Into<String>) {
        let span = self.here();
        self.diags
            .push(Diagnostic::new(sev, code, msg).at_opt(span));
    }

    /// Reports with a precise span (the line number keepalived would print stays the same).
    pub fn report_at(
        &mut self,
        span: Span,
        sev: Severity,
        code: &'static str,
        msg: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::new(sev, code, msg).at(span));
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// keepalived's "missing a parameter" abort for word `i` of `args`.
    pub fn missing(&mut self, args: &Args<'_>, i: usize) -> Abort {
        let first = args.opt(0).unwrap_or("***MISSING ***");
        let msg = match i.checked_sub(1).and_then(|p| args.opt(p)) {
            Some(prev) => format!(
                "*** Configuration line starting `{first}` is missing a parameter after keyword `{prev}` at word position {}",
                i + 1
            ),
            None => format!(
                "*** Configuration line starting `{first}` is missing a parameter at word position {}",
                i + 1
            ),
        };
        self.report_at(args.span(), Severity::Abort, "missing-parameter", msg);
        Abort
    }

    /// Word `i`, or keepalived's abort.
    pub fn arg<'b>(&mut self, args: &Args<'b>, i: usize) -> Result<&'b str, Abort> {
        match args.opt(i) {
            Some(s) => Ok(s),
            None => Err(self.missing(args, i)),
        }
    }

    /// Reads a value block (keepalived's `alloc_value_block`), calling `f` once per data line.
    /// `args` is the keyword line.
    pub fn value_block(
        &mut self,
        args: &Args<'_>,
        f: impl FnMut(&mut Self, &[Tok<'a>], Lexed<'a>) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        self.value_block_at(args, 1, f)
    }

    /// A value block whose `{` is expected at word `first` of the keyword line (2 for
    /// `virtual_server_group NAME {`, where keepalived drops the name before reading the block).
    pub fn value_block_at(
        &mut self,
        args: &Args<'_>,
        first: usize,
        mut f: impl FnMut(&mut Self, &[Tok<'a>], Lexed<'a>) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let mut need_bob = true;
        if args.len() > first {
            if args.opt(first) == Some("{") {
                need_bob = false;
            } else {
                let msg = format!(
                    "Block {} has extra parameters {} ...",
                    args.opt(0).unwrap_or(""),
                    args.opt(first).unwrap_or("")
                );
                self.report_at(
                    args.span_of(first),
                    Severity::Error,
                    "block-extra-parameters",
                    msg,
                );
            }
        }
        while let Some(l) = self.next() {
            if l.toks.is_empty() {
                continue;
            }
            let mut toks: &[Tok<'a>] = l.toks;
            if need_bob {
                need_bob = false;
                if toks[0].text == "{" {
                    if toks.len() == 1 {
                        continue;
                    }
                    toks = &toks[1..];
                }
                // keepalived only logs a missing '{' here (not a config error).
            }
            let mut had_eob = false;
            if toks.last().is_some_and(|t| t.text == "}") {
                if toks.len() == 1 {
                    break;
                }
                had_eob = true;
                toks = &toks[..toks.len() - 1];
            }
            if !toks.is_empty() {
                f(self, toks, l)?;
            }
            if had_eob {
                break;
            }
        }
        Ok(())
    }

    /// How many lines at the top level of the block that follows the current line start
    /// with `word` (a capacity hint: a list sized once is not copied as it grows). Counts
    /// braces word by word; 0 when the next line does not open the block. Looks at most
    /// 65,536 lines ahead, so that nested unclosed blocks cannot make this quadratic.
    pub fn count_in_block(&self, word: &str) -> usize {
        let opens = self
            .lexed
            .get(self.pos)
            .and_then(|l| l.toks.first())
            .is_some_and(|t| t.text == "{");
        if !opens {
            return 0;
        }
        let mut depth = 0i32;
        let mut n = 0;
        for i in self.pos..self.pos.saturating_add(65_536) {
            let Some(l) = self.lexed.get(i) else { break };
            if depth == 1 && l.toks.first().is_some_and(|t| t.text == word) {
                n += 1;
            }
            for t in l.toks {
                match t.text {
                    "{" => depth += 1,
                    "}" => depth -= 1,
                    _ => {}
                }
            }
            if depth <= 0 && l.toks.iter().any(|t| t.text == "}") {
                break;
            }
        }
        n
    }

    /// Skips the rest of the current block (keepalived's `skip_block`).
    pub fn skip_block(&mut self, need_block_start: bool) {
        self.skip_sublevel = if need_block_start { -1 } else { 1 };
    }

    fn process_stream(&mut self, table: &'static [Kw], mut need_bob: bool) -> Result<bool, Abort> {
        let mut ret_err = false;
        while let Some(l) = self.next() {
            let Some(first) = l.toks.first() else {
                continue;
            };
            let s = first.text;
            if self.skip_sublevel == -1 {
                if s == "{" {
                    self.skip_sublevel = 1;
                    need_bob = false;
                    continue;
                }
                self.skip_sublevel = 0;
            }
            if self.skip_sublevel != 0 {
                let mut last = s;
                for t in l.toks {
                    last = t.text;
                    if last == "{" {
                        self.skip_sublevel += 1;
                    } else if last == "}" {
                        self.skip_sublevel -= 1;
                        if self.skip_sublevel == 0 {
                            break;
                        }
                    }
                }
                if last == "}" && self.skip_sublevel == 0 && self.kw_level > 0 {
                    ret_err = true;
                    break;
                }
                continue;
            }
            if need_bob {
                need_bob = false;
                if s == "{" && self.kw_level > 0 {
                    continue;
                }
                self.report(
                    Severity::Error,
                    "missing-open-brace",
                    "Missing '{' at beginning of configuration block",
                );
            } else if s == "{" {
                self.report(
                    Severity::Error,
                    "unexpected-open-brace",
                    "Unexpected '{' - ignoring",
                );
                continue;
            }
            if s == "}" && self.kw_level > 0 {
                break;
            }
            let Some(kw) = table.iter().find(|k| k.name == s) else {
                self.report_at(
                    Args { lexed: l }.span_of(0),
                    Severity::Error,
                    "unknown-keyword",
                    format!("Unknown keyword '{s}'"),
                );
                continue;
            };
            let active = self.kw_level > 0 || self.pass.active(section_of(kw.name));
            let last_is_bob = l.toks.last().is_some_and(|t| t.text == "{");
            if !active {
                self.skip_sublevel = if last_is_bob { 1 } else { -1 };
                continue;
            }
            let args = Args { lexed: l };
            B::keyword(self, kw, &args)?;
            if kw.kind == Kind::Block {
                self.kw_level += 1;
                let r = self.process_stream(kw.sub, !last_is_bob);
                self.kw_level -= 1;
                if !r? {
                    B::close(self, kw);
                }
            }
        }
        Ok(ret_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::FileId;

    #[derive(Default)]
    struct Trace(Vec<String>);
    impl Handlers for Trace {
        fn keyword(ctx: &mut Ctx<'_, Self>, kw: &'static Kw, args: &Args<'_>) -> Result<(), Abort> {
            if kw.kind == Kind::ValueBlock {
                let mut seen = Vec::new();
                ctx.value_block(args, |_, toks, _| {
                    seen.push(toks.iter().map(|t| t.text).collect::<Vec<_>>().join(" "));
                    Ok(())
                })?;
                ctx.b.0.push(format!("{}[{}]", kw.path, seen.join("|")));
            } else {
                ctx.b.0.push(kw.path.to_string());
            }
            Ok(())
        }
        fn close(ctx: &mut Ctx<'_, Self>, kw: &'static Kw) {
            ctx.b.0.push(format!("/{}", kw.path));
        }
    }

    fn lines(src: &[&str]) -> (Vec<Line>, String) {
        let mut text = String::new();
        let lines = src
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let start = text.len();
                text.push_str(t);
                Line {
                    start,
                    len: t.len() as u32,
                    span: Span {
                        file: FileId(0),
                        line: i as u32 + 1,
                        col: 1,
                        len: t.len() as u32,
                    },
                    verbatim: true,
                }
            })
            .collect();
        (lines, text)
    }

    fn run(src: &[&str], pass: Pass) -> (Vec<String>, Vec<(u32, String)>) {
        let (ls, text) = lines(src);
        let (tk, _) = tokenize(&ls, &text);
        let mut c = Ctx::new(&tk, pass, Trace::default());
        let _ = c.run();
        (
            c.b.0,
            c.diags
                .iter()
                .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
                .collect(),
        )
    }

    #[test]
    fn count_in_block_counts_top_level_lines_of_the_next_block_only() {
        let src = [
            "virtual_server 10.0.0.1 80",
            "{",
            "real_server 10.0.1.1 80",
            "{",
            "real_server inside a checker is not counted",
            "}",
            "delay_loop 3",
            "real_server 10.0.1.2 80",
            "}",
            "virtual_server 10.0.0.2 80",
            "{",
            "real_server 10.0.1.3 80",
            "}",
        ];
        let (ls, text) = lines(&src);
        let (tk, _) = tokenize(&ls, &text);
        let mut c = Ctx::new(&tk, Pass::Checker, Trace::default());
        c.next();
        assert_eq!(c.count_in_block("real_server"), 2);
        // not at a block: nothing to count
        c.next();
        assert_eq!(c.count_in_block("real_server"), 0);
        // an unclosed block counts to the end
        let (ls, text) = lines(&src[9..12]);
        let (tk, _) = tokenize(&ls, &text);
        let mut c = Ctx::new(&tk, Pass::Checker, Trace::default());
        c.next();
        assert_eq!(c.count_in_block("real_server"), 1);
    }

    #[test]
    fn unknown_keyword_block_closes_parent_early() {
        let src = [
            "vrrp_instance VI_1",
            "{",
            "bogus",
            "{",
            "state MASTER",
            "}",
            "priority 100",
            "}",
        ];
        let (t, d) = run(&src, Pass::Vrrp);
        assert_eq!(
            t,
            [
                "vrrp_instance",
                "vrrp_instance/state",
                "/vrrp_instance",
                // priority is now at the root: unknown there
            ]
        );
        assert_eq!(
            d,
            [
                (3, "Unknown keyword 'bogus'".to_string()),
                (4, "Unexpected '{' - ignoring".to_string()),
                (7, "Unknown keyword 'priority'".to_string()),
                (8, "Unknown keyword '}'".to_string()),
            ]
        );
    }

    #[test]
    fn inactive_blocks_are_skipped_by_counting_braces() {
        let src = [
            "vrrp_instance VI_1",
            "{",
            "bogus",
            "{",
            "}",
            "}",
            "global_defs",
            "{",
            "router_id x",
            "}",
        ];
        let (t, d) = run(&src, Pass::Parent);
        assert_eq!(t, ["global_defs", "global_defs/router_id", "/global_defs"]);
        assert!(d.is_empty());
    }

    #[test]
    fn missing_open_brace() {
        let src = ["virtual_server 10.0.0.1 80", "delay_loop 10", "}"];
        let (t, d) = run(&src, Pass::Checker);
        assert_eq!(
            t,
            [
                "virtual_server",
                "virtual_server/delay_loop",
                "/virtual_server"
            ]
        );
        assert_eq!(
            d,
            [(
                2,
                "Missing '{' at beginning of configuration block".to_string()
            )]
        );
        // In the parent pass the inactive block without '{' stops being skipped at once.
        let (_, d) = run(&src, Pass::Parent);
        assert_eq!(
            d,
            [
                (2, "Unknown keyword 'delay_loop'".to_string()),
                (3, "Unknown keyword '}'".to_string())
            ]
        );
    }

    #[test]
    fn value_blocks() {
        let src = [
            "vrrp_instance VI_1",
            "{",
            "virtual_ipaddress",
            "{",
            "10.0.0.1/24 dev eth0",
            "10.0.0.2",
            "}",
            "}",
        ];
        let (t, _) = run(&src, Pass::Vrrp);
        assert_eq!(
            t,
            [
                "vrrp_instance",
                "vrrp_instance/virtual_ipaddress[10.0.0.1/24 dev eth0|10.0.0.2]",
                "/vrrp_instance"
            ]
        );
    }
}

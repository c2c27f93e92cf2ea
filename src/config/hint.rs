//! Hints: our own explanations added on top of keepalived's messages, for mistakes whose
//! keepalived message points somewhere else than the cause. They only add `help` texts and
//! [`Severity::Note`] diagnostics, so keepalived's own lines (and the exit status) are unchanged.

use super::diag::{Diagnostic, FileId, Severity, SourceMap, Span};
use super::keywords::{walk, Kind};
use std::collections::HashSet;
use std::sync::OnceLock;

/// Names of every keyword that opens a block (keyword block or value block), at any level.
fn block_keywords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut s = HashSet::new();
        walk(&mut |k| {
            if k.kind != Kind::Plain {
                s.insert(k.name);
            }
        });
        s
    })
}

/// A physical line split keepalived's way (`decomment()`): the code before the first `#` or `!`
/// outside double quotes (`\#`, `\!` escape them), and the byte offset of that comment
/// character, if any.
fn split_comment(line: &str) -> (&str, Option<usize>) {
    let b = line.as_bytes();
    let mut quote = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => quote = !quote,
            b'\\' => i += 1,
            b'#' | b'!' if !quote => return (&line[..i], Some(i)),
            _ => {}
        }
        i += 1;
    }
    (line, None)
}

/// Whether `code` has a `{` outside double quotes.
fn has_open_brace(code: &str) -> bool {
    let mut quote = false;
    for c in code.chars() {
        match c {
            '"' => quote = !quote,
            '{' if !quote => return true,
            _ => {}
        }
    }
    false
}

/// A block keyword whose `{` ended up inside a trailing comment (a config pasted from a web
/// page, `authentication # {`), while the next line does not supply the brace either.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Swallowed {
    keyword: String,
    /// The `{` inside the comment.
    brace: Span,
    /// `#` or `!`.
    comment_char: char,
    /// The next line with code on it (where keepalived reports the missing brace).
    next_line: Option<u32>,
}

fn find_swallowed(file: FileId, text: &str) -> Vec<Swallowed> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    // Only a line with a `{` can have one inside its comment: jump from brace to brace (a
    // reload of a big configuration reads this whole text again) and count lines only up to
    // a line that also has a comment character.
    let (mut line_no, mut counted_to) = (0usize, 0usize);
    let mut pos = 0;
    while let Some(off) = memchr::memchr(b'{', &b[pos..]) {
        let brace = pos + off;
        let start = memchr::memrchr(b'\n', &b[..brace]).map_or(0, |n| n + 1);
        let end = memchr::memchr(b'\n', &b[brace..]).map_or(b.len(), |n| brace + n);
        pos = end;
        let raw = &text[start..end];
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if memchr::memchr2(b'#', b'!', raw.as_bytes()).is_none() {
            continue;
        }
        line_no += memchr::memchr_iter(b'\n', &b[counted_to..start]).count();
        counted_to = start;
        let after = text.get(end + 1..).unwrap_or("");
        out.extend(swallowed_on(
            file,
            line_no,
            raw,
            numbered_lines(after, line_no + 1),
        ));
    }
    out
}

/// The lines of `text`, CR stripped, numbered (0-based) from `first`.
fn numbered_lines(text: &str, first: usize) -> impl Iterator<Item = (usize, &str)> + Clone {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(move |(j, l)| (first + j, l))
}

/// Line `i` (0-based) of a file, `raw`, followed by the numbered lines `after` it: its
/// swallowed brace, if it has one.
fn swallowed_on<'t>(
    file: FileId,
    i: usize,
    raw: &str,
    mut after: impl Iterator<Item = (usize, &'t str)>,
) -> Option<Swallowed> {
    let (code, comment) = split_comment(raw);
    let c = comment?;
    let brace_off = raw[c..].find('{').map(|o| c + o)?;
    if has_open_brace(code) {
        return None;
    }
    let mut words = code.split_whitespace();
    let mut first = words.next();
    // A conditional line `@id keyword ...` is about its second word.
    if first.is_some_and(|w| w.starts_with('@')) {
        first = words.next();
    }
    let keyword = first.filter(|w| block_keywords().contains(w))?;
    // The brace may legitimately come on the next line with code.
    let next = after.find_map(|(j, l)| {
        let code = split_comment(l).0.trim();
        (!code.is_empty()).then_some((j, code))
    });
    if next.is_some_and(|(_, code)| code.starts_with('{')) {
        return None;
    }
    Some(Swallowed {
        keyword: keyword.to_string(),
        brace: Span {
            file,
            line: i as u32 + 1,
            col: brace_off as u32 + 1,
            len: 1,
        },
        comment_char: raw[c..].chars().next().unwrap_or('#'),
        next_line: next.map(|(n, _)| n as u32 + 1),
    })
}

/// Explains a `{` swallowed by a trailing comment: the "Missing '{'" diagnostic keepalived
/// reports on the following line gets a `help` naming the cause and the brace's
/// `file:line:column`, and a note pointing at the brace itself follows it (also when keepalived
/// reports nothing there, as for a value block such as `virtual_ipaddress # {`).
pub fn brace_in_comment(diags: &mut Vec<Diagnostic>, sources: &SourceMap) {
    for (idx, f) in sources.files.iter().enumerate() {
        let file = FileId(idx as u32);
        for s in find_swallowed(file, &f.text) {
            let at = format!(
                "{}:{}:{}",
                f.path.to_string_lossy(),
                s.brace.line,
                s.brace.col
            );
            let help = format!(
                "the `{{` after `{}` is inside a comment (`{}` starts a comment); put the brace before the comment ({at})",
                s.keyword, s.comment_char
            );
            let note = Diagnostic::new(
                Severity::Note,
                "brace-in-comment",
                format!(
                    "this `{{` is inside a comment, so `{}` opens no block",
                    s.keyword
                ),
            )
            .at(s.brace)
            .help(format!(
                "write `{} {{` before the `{}`",
                s.keyword, s.comment_char
            ));
            let related = s.next_line.and_then(|line| {
                diags.iter().position(|d| {
                    d.code == "missing-open-brace"
                        && d.span.is_some_and(|sp| sp.file == file && sp.line == line)
                })
            });
            match related {
                Some(i) => {
                    if diags[i].help.is_none() {
                        diags[i].help = Some(help);
                    }
                    diags.insert(i + 1, note);
                }
                None => {
                    let mut note = note;
                    note.help = Some(help);
                    diags.push(note);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line looked at, as before the brace jumps.
    fn find_swallowed_by_lines(file: FileId, text: &str) -> Vec<Swallowed> {
        let mut lines = numbered_lines(text, 0);
        let mut out = Vec::new();
        while let Some((i, raw)) = lines.next() {
            out.extend(swallowed_on(file, i, raw, lines.clone()));
        }
        out
    }

    proptest! {
        /// Jumping from brace to brace finds exactly what scanning every line finds.
        #[test]
        fn brace_jumps_find_what_the_line_scan_finds(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("vrrp_instance"), Just("virtual_server"), Just("authentication"),
                    Just("@a"), Just("x"), Just(" "), Just("{"), Just("}"), Just("#"),
                    Just("!"), Just("\""), Just("\\"), Just("\n"), Just("\r\n"), Just("é"),
                ],
                0..40,
            )
        ) {
            let text: String = parts.concat();
            prop_assert_eq!(
                find_swallowed(FileId(0), &text),
                find_swallowed_by_lines(FileId(0), &text)
            );
        }
    }

    fn run(text: &str, diags: &mut Vec<Diagnostic>) {
        let mut m = SourceMap::default();
        m.add("/c/k.conf".into(), text.into());
        brace_in_comment(diags, &m);
    }

    fn missing(line: u32) -> Diagnostic {
        Diagnostic::new(
            Severity::Error,
            "missing-open-brace",
            "Missing '{' at beginning of configuration block",
        )
        .at(Span {
            file: FileId(0),
            line,
            col: 9,
            len: 14,
        })
    }

    #[test]
    fn swallowed_brace_gets_help_and_note() {
        let text = "vrrp_instance VI_1 {\n    authentication # {\n\n    # pasted\n        auth_type PASS\n    }\n}\n";
        let mut d = vec![missing(5)];
        run(text, &mut d);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].help.as_deref(),
            Some("the `{` after `authentication` is inside a comment (`#` starts a comment); put the brace before the comment (/c/k.conf:2:22)")
        );
        assert_eq!(d[1].severity, Severity::Note);
        assert_eq!(
            d[1].span,
            Some(Span {
                file: FileId(0),
                line: 2,
                col: 22,
                len: 1
            })
        );
    }

    #[test]
    fn no_hint_when_the_brace_is_real() {
        for text in [
            "authentication { # {\n auth_type PASS\n}\n",
            "authentication # {\n{\n auth_type PASS\n}\n",
            "authentication \"# {\"\n",
            "state MASTER # {\n",
            "authentication \\# {\n",
        ] {
            let mut d = vec![];
            run(text, &mut d);
            assert!(d.is_empty(), "{text:?}: {d:?}");
        }
    }

    #[test]
    fn bang_comment_and_value_block_without_keepalived_message() {
        let mut d = vec![];
        run("@vm virtual_ipaddress ! {\n 10.0.0.1\n}\n", &mut d);
        assert_eq!(d.len(), 1);
        let h = d[0].help.as_deref().unwrap_or("");
        assert!(
            h.starts_with("the `{` after `virtual_ipaddress` is inside a comment (`!` starts"),
            "{h}"
        );
    }
}

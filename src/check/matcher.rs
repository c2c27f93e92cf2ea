//! HTTP_GET/SSL_GET `url { regex ... }`: keepalived 2.2.7 searches the response with PCRE2
//! (`check_http.c`); keepalived-rs uses the `regex` crate and maps what maps.
//!
//! What keepalived does, and what this module reproduces:
//! - The subject is the response as read from the socket: status line, headers and body (the
//!   first buffer keepalived searches is the one in which the header ends, headers included;
//!   offsets count from the first byte of the response). keepalived only skips the headers
//!   when they arrive in a read of their own, before any body byte; keepalived-rs always
//!   searches the whole response.
//! - PCRE2 runs without UTF mode (bytes, ASCII `\d \w \s`) unless `utf`/`ucp` is given.
//! - It matches with `PCRE2_PARTIAL_HARD`: a match that would need to look past the data read
//!   so far (a `$`, `\b` or greedy quantifier at the end of the response, or an earlier start
//!   that runs into the end) is "partial", and the end of the response never completes it:
//!   the url does not match. [`BodyRegex::is_match`] reproduces that by also searching the
//!   response extended by a few probe bytes: when that changes the leftmost match, keepalived
//!   would have stopped at a partial match.
//! - `regex_min_offset N`: the match starts at byte N or later; `regex_max_offset N`: the
//!   leftmost match must start at byte N or earlier.
//! - `regex_stack` sizes PCRE2's JIT stack; the `regex` crate does not backtrack and needs none.
//!
//! PCRE syntax the `regex` crate reads differently is rewritten (`\<`, `\>`, a `{` that does not
//! start a quantifier, `\e`, `\h`, `\v`, `\R`, `\Z`, `\Q...\E`); what it cannot run
//! (look-around, back-references, atomic groups, possessive quantifiers, ...) is reported at
//! load time and the url is checked without its regex.

use regex::bytes::{Regex, RegexBuilder};

/// The `regex_options` names keepalived 2.2.7 knows (any other word is silently ignored).
pub const OPTION_NAMES: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// PCRE2 options that change what a pattern matches in ways the `regex` crate cannot follow.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("allow_empty_class", "an empty class [] cannot be written"),
    (
        "alt_bsux",
        "JavaScript-style \\U \\u \\x escapes are not available",
    ),
    (
        "alt_circumflex",
        "^ cannot also match after a newline at the end of the response",
    ),
];

/// A compiled `regex` with keepalived's options.
#[derive(Debug, Clone)]
pub struct BodyRegex {
    pattern: String,
    options: Vec<String>,
    re: Regex,
    firstline: bool,
}

impl PartialEq for BodyRegex {
    fn eq(&self, o: &Self) -> bool {
        self.pattern == o.pattern && self.options == o.options
    }
}
impl Eq for BodyRegex {}

/// Bytes appended to the response to find out whether PCRE2 would have needed more data.
const PROBES: &[&[u8]] = &[
    b"a", b"Z", b"0", b"_", b" ", b"\t", b"\n", b"\r", b"-", b".", b"<", b"/", b"\x00", b"\xff",
];

impl BodyRegex {
    /// Compiles `pattern` with keepalived's option names. `Ok` carries warnings about options
    /// that cannot be honoured; `Err` is why the pattern cannot be run at all.
    pub fn new(pattern: &str, options: &[String]) -> Result<(BodyRegex, Vec<String>), String> {
        let mut warnings = Vec::new();
        let has = |n: &str| options.iter().any(|o| o == n);
        for (name, why) in UNSUPPORTED {
            if has(name) {
                warnings.push(format!(
                    "regex_options {name} is not supported by keepalived-rs ({why}) - regex '{pattern}' is used without it"
                ));
            }
        }
        let unicode = has("utf") || has("ucp");
        let translated = translate(pattern, unicode)?;
        let re = RegexBuilder::new(&translated)
            .unicode(unicode)
            .case_insensitive(has("caseless"))
            .dot_matches_new_line(has("dotall"))
            .ignore_whitespace(has("extended"))
            .multi_line(has("multiline"))
            .swap_greed(has("ungreedy"))
            .build()
            .map_err(|e| {
                let why = e.to_string();
                let why = why
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string();
                why
            })?;
        Ok((
            BodyRegex {
                pattern: pattern.to_string(),
                options: options.to_vec(),
                re,
                firstline: has("firstline"),
            },
            warnings,
        ))
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    fn leftmost(&self, subject: &[u8], min: usize) -> Option<(usize, usize)> {
        if min > subject.len() {
            return None;
        }
        self.re.find_at(subject, min).map(|m| (m.start(), m.end()))
    }

    /// Does the response match as keepalived decides it: a complete (not partial) leftmost
    /// match starting in `min_offset..=max_start`, and with `firstline` at or before the first
    /// newline?
    pub fn is_match(&self, subject: &[u8], min_offset: usize, max_start: Option<usize>) -> bool {
        let Some(m) = self.leftmost(subject, min_offset) else {
            return false;
        };
        let mut extended = Vec::with_capacity(subject.len() + 1);
        for p in PROBES {
            extended.clear();
            extended.extend_from_slice(subject);
            extended.extend_from_slice(p);
            if self.leftmost(&extended, min_offset) != Some(m) {
                // keepalived got PCRE2_ERROR_PARTIAL and the response ended there
                return false;
            }
        }
        if max_start.is_some_and(|max| m.0 > max) {
            return false;
        }
        if self.firstline {
            let nl = subject.iter().position(|&b| b == b'\n');
            if nl.is_some_and(|nl| m.0 > nl) {
                return false;
            }
        }
        true
    }
}

/// Is `s` (after a `{`) a PCRE2 10.42 quantifier body: `n}`, `n,}` or `n,m}`?
fn quantifier_body(s: &[char]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > st
    };
    if !digits(&mut i) {
        return false;
    }
    if i < s.len() && s[i] == ',' {
        i += 1;
        digits(&mut i);
    }
    i < s.len() && s[i] == '}'
}

/// Rewrites PCRE syntax that the `regex` crate reads differently.
fn translate(p: &str, unicode: bool) -> Result<String, String> {
    let c: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let hspace = if unicode {
        "\\t \\xA0\\x{1680}\\x{180E}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}"
    } else {
        "\\t \\xA0"
    };
    let vspace = if unicode {
        "\\n\\x0B\\x0C\\r\\x{85}\\x{2028}\\x{2029}"
    } else {
        "\\n\\x0B\\x0C\\r\\x85"
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' {
            let Some(&n) = c.get(i + 1) else {
                return Err("a \\ at the end of the pattern".into());
            };
            i += 2;
            match n {
                // `\<` `\>` are word boundaries to the regex crate (and rejected in a class);
                // to PCRE they are the literal characters
                '<' | '>' => out.push(n),
                'e' => out.push_str("\\x1B"),
                'h' if in_class => out.push_str(hspace),
                'v' if in_class => out.push_str(vspace),
                'h' => out.push_str(&format!("[{hspace}]")),
                'H' if !in_class => out.push_str(&format!("[^{hspace}]")),
                'v' => out.push_str(&format!("[{vspace}]")),
                'V' if !in_class => out.push_str(&format!("[^{vspace}]")),
                'R' if !in_class => out.push_str(&format!("(?:\\r\\n|[{vspace}])")),
                'Z' if !in_class => out.push_str("\\z"),
                'Q' => {
                    // literal text up to \E (or the end)
                    while i < c.len() {
                        if c[i] == '\\' && c.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        let lit = c[i].to_string();
                        out.push_str(&regex::escape(&lit));
                        i += 1;
                    }
                }
                'E' => {}
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if in_class {
            if ch == ']' {
                in_class = false;
            } else if ch == '[' && c.get(i + 1) == Some(&':') {
                // POSIX class [:name:] inside a class
                if let Some(end) =
                    (i + 2..c.len().saturating_sub(1)).find(|&j| c[j] == ':' && c[j + 1] == ']')
                {
                    out.extend(&c[i..end + 2]);
                    i = end + 2;
                    continue;
                }
                out.push_str("\\[");
                i += 1;
                continue;
            } else if ch == '['
                || ch == '&'
                || ch == '~'
                || (ch == '-' && c.get(i + 1) == Some(&'-'))
            {
                // set operators to the regex crate, literals to PCRE
                out.push('\\');
            }
            out.push(ch);
            i += 1;
            continue;
        }
        match ch {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                // `[]...]` and `[^]...]`: a leading ] is a literal in PCRE
                if c.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if c.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' if !quantifier_body(&c[i + 1..]) => out.push_str("\\{"),
            _ => out.push(ch),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, opts: &[&str], s: &str) -> bool {
        let o: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        BodyRegex::new(p, &o)
            .unwrap()
            .0
            .is_match(s.as_bytes(), 0, None)
    }

    #[test]
    fn pcre_literals_the_regex_crate_reads_otherwise() {
        assert!(m(r"\<b\>", &[], "a <b> c"));
        assert!(m(r"[\<]x", &[], "<x"));
        assert!(m(r"a{,3}", &[], "a{,3} "));
        assert!(m(r"a{", &[], "a{ "));
        assert!(m(r"a{2}", &[], "aa "));
        assert!(m(r"\Qa.b\E", &[], "a.b "));
        assert!(!m(r"\Qa.b\E", &[], "axb "));
        assert!(m(r"x\hy", &[], "x\ty "));
        assert!(m(r"[]a]", &[], "] "));
    }

    #[test]
    fn partial_at_the_end_is_no_match() {
        // keepalived's PCRE2_PARTIAL_HARD: anything that looks past the end never matches
        assert!(!m("world$", &[], "hello world"));
        assert!(!m("world$", &[], "hello world\n"));
        assert!(m("world\n", &[], "hello world\n"));
        assert!(!m(r"wor\w*", &[], "hello world"));
        assert!(m(r"wor\w*", &[], "hello world "));
        assert!(m("world$", &["multiline"], "hello world\n"));
        // an earlier start running into the end hides a later complete match
        assert!(!m("a.*Z|b", &[], "xaxxbxx"));
    }

    #[test]
    fn options_map() {
        assert!(m("HELLO", &["caseless"], "hello "));
        assert!(!m("HELLO", &[], "hello "));
        assert!(m("a.b", &["dotall"], "a\nb "));
        assert!(m("a b", &[], "a b "));
        assert!(!m("a b", &["extended"], "a b "));
        assert!(m("^b", &["multiline"], "a\nb "));
        assert!(!m("^b", &[], "a\nb "));
        assert!(!m("b", &["firstline"], "a\nb "));
        assert!(m("a", &["firstline"], "xa\nb "));
    }

    #[test]
    fn unsupported_constructs_are_errors_and_options_warnings() {
        assert!(BodyRegex::new("(?<=a)b", &[]).is_err());
        assert!(BodyRegex::new(r"(a)\1", &[]).is_err());
        let (_, w) = BodyRegex::new("a", &["alt_bsux".to_string()]).unwrap();
        assert!(
            w[0].contains("regex_options alt_bsux is not supported"),
            "{w:?}"
        );
    }

    #[test]
    fn offsets() {
        let (r, _) = BodyRegex::new("hello", &[]).unwrap();
        assert!(r.is_match(b"xx hello ", 3, None));
        assert!(!r.is_match(b"xx hello ", 4, None));
        assert!(r.is_match(b"xx hello ", 0, Some(3)));
        assert!(!r.is_match(b"xx hello ", 0, Some(2)));
        assert!(!r.is_match(b"xx", 10, None));
    }
}

//! Tokenisers for logical lines, as keepalived 2.2.7 splits them.
//!
//! * [`words`]: ordinary lines. Words split on blanks; a word that starts with `"` runs to the
//!   next `"` (quotes removed, blanks kept); an unquoted word also ends at a `"`. Single quotes are
//!   ordinary characters and there is no escape processing.
//! * [`command_words`]: script command strings (`script`, `notify*`, `misc_path`, ...): shell-like,
//!   `"` and `'` group and are removed, backslash escapes are decoded. No shell is involved.

use nom::bytes::complete::{take_till, take_while1};
use nom::combinator::opt;
use nom::sequence::preceded;
use nom::{IResult, Parser};
use nom_locate::LocatedSpan;

type In<'a> = LocatedSpan<&'a str>;

/// A word of a logical line, as the parse passes keep it: only its text (without quotes),
/// borrowed from the line. Every word of a big config stays alive for all passes, so this is
/// kept to 16 bytes; [`words`] gives the offsets when a diagnostic needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok<'a> {
    pub text: &'a str,
}

/// A word of a logical line with its place in that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word without its quotes.
    pub text: &'a str,
    /// Byte offset of the word's first character (the opening quote for quoted words).
    pub off: usize,
    /// Byte length of the word as written (including quotes).
    pub len: usize,
    pub quoted: bool,
}

/// keepalived's whitespace set for splitting words.
pub fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r' | '\x0b')
}

fn blanks(i: In) -> IResult<In, Option<In>> {
    opt(take_while1(is_white)).parse(i)
}

trait Sub<'a> {
    fn take_from(&self, n: usize) -> In<'a>;
}
impl<'a> Sub<'a> for In<'a> {
    fn take_from(&self, n: usize) -> In<'a> {
        nom::Input::take_from(self, n)
    }
}

/// The result of splitting an ordinary line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Words<'a> {
    pub toks: Vec<Word<'a>>,
    /// Set when a `"` had no partner: keepalived reports "Unmatched quote" and drops the rest.
    pub unmatched_quote: bool,
}

/// Splits an ordinary line into words (keepalived's `alloc_strvec_r`).
pub fn words(line: &str) -> Words<'_> {
    let mut out = Words::default();
    out.unmatched_quote = scan(line, |w| out.toks.push(w));
    out
}

/// [`words`] appending only the texts to `toks`; returns whether a `"` had no partner.
pub fn words_into<'a>(line: &'a str, toks: &mut Vec<Tok<'a>>) -> bool {
    scan(line, |w| toks.push(Tok { text: w.text }))
}

/// Calls `f` for each word of `line`; returns true when it stopped at an unmatched quote.
///
/// Every blank is ASCII, so scanning bytes splits exactly where the character rules do.
fn scan<'a>(line: &'a str, mut f: impl FnMut(Word<'a>)) -> bool {
    let b = line.as_bytes();
    let white = |c: u8| matches!(c, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'\x0b');
    let mut i = 0;
    while i < b.len() {
        if white(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (text, quoted) = if b[i] == b'"' {
            let Some(n) = b[i + 1..].iter().position(|&c| c == b'"') else {
                // Only an opening quote without its partner gets here.
                return true;
            };
            i += n + 2;
            (&line[start + 1..i - 1], true)
        } else {
            while i < b.len() && !white(b[i]) && b[i] != b'"' {
                i += 1;
            }
            (&line[start..i], false)
        };
        f(Word {
            text,
            off: start,
            len: i - start,
            quoted,
        });
    }
    false
}

/// Why a command string could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// A quote had no closing partner (keepalived: "String '...': missing terminating X").
    MissingQuote(char),
    /// A backslash ended the string.
    TrailingEscape,
}

/// Splits a script command string shell-like (keepalived's `alloc_strvec_quoted_escaped`).
pub fn command_words(src: &str) -> Result<Vec<String>, CommandError> {
    let mut out = Vec::new();
    let mut rest: In = LocatedSpan::new(src);
    loop {
        let (r, _) = blanks(rest).map_err(|_| CommandError::TrailingEscape)?;
        rest = r;
        if rest.fragment().is_empty() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<char> = None;
        loop {
            let frag = *rest.fragment();
            if frag.is_empty() {
                if let Some(q) = quote {
                    return Err(CommandError::MissingQuote(q));
                }
                break;
            }
            // Plain text up to the next character that means something in this quote state.
            let stop = |c: char| match quote {
                Some('"') => c == '"' || c == '\\',
                Some(_) => c == '\'' || c == '\\',
                None => is_white(c) || c == '\'' || c == '"' || c == '\\',
            };
            let (r, text): (In, In) = take_till::<_, _, nom::error::Error<In>>(stop)
                .parse(rest)
                .map_err(|_| CommandError::TrailingEscape)?;
            word.extend_from_slice(text.fragment().as_bytes());
            rest = r;
            let Some(c) = rest.fragment().chars().next() else {
                continue;
            };
            if c == '\\' {
                let (r, b) = escape(rest)?;
                word.push(b);
                rest = r;
                continue;
            }
            if quote.is_some() {
                quote = None;
                rest = rest.take_from(1);
                continue;
            }
            if c == '"' || c == '\'' {
                quote = Some(c);
                rest = rest.take_from(1);
                continue;
            }
            break; // whitespace ends the word
        }
        out.push(String::from_utf8_lossy(&word).into_owned());
    }
    Ok(out)
}

/// Decodes one backslash escape at the start of `i` (which starts with `\`).
fn escape(i: In) -> Result<(In, u8), CommandError> {
    let body = i.take_from(1);
    let s = *body.fragment();
    let mut chars = s.chars();
    let Some(c) = chars.next() else {
        return Err(CommandError::TrailingEscape);
    };
    let hex = |s: &str| s.chars().take_while(|c| c.is_ascii_hexdigit()).count();
    if c == 'x' && s[1..].starts_with(|c: char| c.is_ascii_hexdigit()) {
        let n = hex(&s[1..]);
        let v = s[1..1 + n].bytes().fold(0u8, |acc, d| {
            (acc << 4) | (d as char).to_digit(16).unwrap_or(0) as u8
        });
        return Ok((body.take_from(1 + n), v));
    }
    if c == 'c' {
        if let Some(n) = chars.next() {
            return Ok((body.take_from(1 + n.len_utf8()), (n as u32 & 0x1f) as u8));
        }
    }
    if ('0'..='7').contains(&c) {
        let n = s
            .chars()
            .take(3)
            .take_while(|c| ('0'..='7').contains(c))
            .count();
        let v = s[..n]
            .bytes()
            .fold(0u8, |acc, d| acc.wrapping_shl(3).wrapping_add(d - b'0'));
        return Ok((body.take_from(n), v));
    }
    let v = match c {
        'a' => 0x07,
        'b' => 0x08,
        'E' => 0x1b,
        'f' => 0x0c,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 0x0b,
        other if other.is_ascii() => other as u8,
        other => {
            // A multi-byte character after a backslash stands for itself; keep its first byte
            // sequence intact by returning it through the text path instead.
            let _ = other;
            return Ok((body, b'\\'));
        }
    };
    Ok((body.take_from(c.len_utf8()), v))
}

/// Parses `name` up to the first blank, for callers that need a nom parser over a single word.
pub fn word_prefix(i: &str) -> IResult<&str, &str> {
    preceded(
        opt(take_while1(|c: char| c == ' ' || c == '\t')),
        take_while1(|c: char| !is_white(c)),
    )
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
            .toks
            .into_iter()
            .map(|t| t.text.to_string())
            .collect()
    }

    #[test]
    fn splits_on_blanks_and_keeps_quoted_spaces() {
        assert_eq!(w("  a\tb  c "), ["a", "b", "c"]);
        assert_eq!(w(r#"script "/bin/x y" z"#), ["script", "/bin/x y", "z"]);
        assert_eq!(w(r#"a"b c""#), ["a", "b c"]);
        assert_eq!(
            w("notification_email_from 'a b'"),
            ["notification_email_from", "'a", "b'"]
        );
        assert_eq!(w(r#"x """#), ["x", ""]);
    }

    #[test]
    fn offsets_point_at_words() {
        let t = words(r#"ab  "c d" e"#).toks;
        assert_eq!((t[0].off, t[0].len), (0, 2));
        assert_eq!((t[1].off, t[1].len), (4, 5));
        assert_eq!((t[2].off, t[2].len), (10, 1));
    }

    #[test]
    fn unmatched_quote_is_reported() {
        let r = words(r#"a "b c"#);
        assert!(r.unmatched_quote);
        assert_eq!(r.toks.len(), 1);
    }

    #[test]
    fn command_words_are_shell_like() {
        assert_eq!(
            command_words(r#"/bin/sh -c 'echo "hi there"' x\x41\101\t"#).unwrap(),
            ["/bin/sh", "-c", "echo \"hi there\"", "xAA\t"]
        );
        assert_eq!(command_words(r#"a" b"c d"#).unwrap(), ["a bc", "d"]);
        assert_eq!(
            command_words("'a").unwrap_err(),
            CommandError::MissingQuote('\'')
        );
        assert_eq!(
            command_words(r"a\").unwrap_err(),
            CommandError::TrailingEscape
        );
        assert_eq!(command_words(r"\cA").unwrap(), ["\x01"]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in ["\"", "\\", "\\x", "\\c", "é\\é", "'\"'", "\\777"] {
            let _ = words(s);
            let _ = command_words(s);
        }
    }
}

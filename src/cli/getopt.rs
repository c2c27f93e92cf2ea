//! A GNU `getopt_long` tokenizer, so that command lines keepalived accepts mean the same here:
//! argument permutation, `--` terminator, short-option clusters (`-nlD`, `-fFILE`), unique
//! prefixes of long names (`--vers`, `--sig=STOP`), required values taken from the next argument
//! even when it starts with `-`, optional values only attached (`-tFILE`, `--config-test=FILE`).
//!
//! The option table comes from the clap definition ([`super::args`]), so there is one list of
//! options. The tokens are handed back in order; `mod.rs` reacts to them like keepalived's
//! `parse_cmdline()` and rebuilds a canonical command line for clap.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    None,
    Required,
    /// Only an attached value: `-tFILE`, `--config-test=FILE`.
    Optional,
}

/// One option of the table.
#[derive(Debug, Clone)]
pub struct OptSpec {
    pub id: String,
    pub short: Option<u8>,
    pub long: Option<String>,
    pub value: ValueKind,
}

/// One token of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A recognised option. `spelled` is how it was written (`-T`, `--genhash`).
    Opt {
        id: String,
        value: Option<OsString>,
        spelled: String,
    },
    /// Not an option we know, or a value given to an option that takes none. The text is what
    /// keepalived puts after "Unknown option ".
    Unknown(String),
    /// A required value is missing; the text names the option (`-f`, `--use-file`).
    Missing(String),
    /// A non-option argument.
    Positional(OsString),
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Tokenizes `args` (without argv\[0\]).
pub fn scan(specs: &[OptSpec], args: &[OsString]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        i += 1;
        if arg == b"--" {
            events.extend(args[i..].iter().cloned().map(Event::Positional));
            break;
        }
        if let Some(body) = arg.strip_prefix(b"--") {
            events.push(long(specs, arg, body, args, &mut i));
        } else if arg.len() > 1 && arg[0] == b'-' {
            short_cluster(specs, &arg[1..], args, &mut i, &mut events);
        } else {
            events.push(Event::Positional(args[i - 1].clone()));
        }
    }
    events
}

fn long(specs: &[OptSpec], arg: &[u8], body: &[u8], args: &[OsString], i: &mut usize) -> Event {
    let (name, attached) = match body.iter().position(|&b| b == b'=') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let name = lossy(name);
    let named = |s: &&OptSpec| s.long.as_deref() == Some(name.as_str());
    let spec = match specs.iter().find(named) {
        Some(s) => s,
        None => {
            let mut prefixed = specs
                .iter()
                .filter(|s| s.long.as_deref().is_some_and(|l| l.starts_with(&name)));
            match (prefixed.next(), prefixed.next()) {
                (Some(s), None) if !name.is_empty() => s,
                _ => return Event::Unknown(lossy(arg)),
            }
        }
    };
    let full = spec.long.clone().unwrap_or_default();
    let spelled = format!("--{full}");
    let value = match (spec.value, attached) {
        (ValueKind::None, Some(_)) => return Event::Unknown(lossy(arg)),
        (ValueKind::None, None) | (ValueKind::Optional, None) => None,
        (ValueKind::Optional, Some(v)) => Some(v),
        // keepalived turns an empty `--opt=` into a missing parameter.
        (ValueKind::Required, Some([])) => return Event::Missing(spelled),
        (ValueKind::Required, Some(v)) => Some(v),
        (ValueKind::Required, None) => match args.get(*i) {
            Some(v) => {
                *i += 1;
                Some(v.as_bytes())
            }
            None => return Event::Missing(spelled),
        },
    };
    Event::Opt {
        id: spec.id.clone(),
        value: value.map(|v| OsString::from_vec(v.to_vec())),
        spelled,
    }
}

fn short_cluster(
    specs: &[OptSpec],
    cluster: &[u8],
    args: &[OsString],
    i: &mut usize,
    events: &mut Vec<Event>,
) {
    for (k, &c) in cluster.iter().enumerate() {
        let Some(spec) = specs.iter().find(|s| s.short == Some(c)) else {
            events.push(Event::Unknown(format!("-{}", lossy(&[c]))));
            continue;
        };
        let spelled = format!("-{}", c as char);
        let rest = &cluster[k + 1..];
        let value = match spec.value {
            ValueKind::None => None,
            ValueKind::Optional => (!rest.is_empty()).then(|| OsStr::from_bytes(rest).to_owned()),
            ValueKind::Required if !rest.is_empty() => Some(OsStr::from_bytes(rest).to_owned()),
            ValueKind::Required => match args.get(*i) {
                Some(v) => {
                    *i += 1;
                    Some(v.clone())
                }
                None => {
                    events.push(Event::Missing(spelled));
                    return;
                }
            },
        };
        let ends_cluster = value.is_some() || spec.value != ValueKind::None;
        events.push(Event::Opt {
            id: spec.id.clone(),
            value,
            spelled,
        });
        if ends_cluster {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<OptSpec> {
        let s = |id: &str, short: Option<u8>, long: Option<&str>, value| OptSpec {
            id: id.into(),
            short,
            long: long.map(Into::into),
            value,
        };
        vec![
            s(
                "use_file",
                Some(b'f'),
                Some("use-file"),
                ValueKind::Required,
            ),
            s("dont_fork", Some(b'n'), Some("dont-fork"), ValueKind::None),
            s(
                "log_detail",
                Some(b'D'),
                Some("log-detail"),
                ValueKind::None,
            ),
            s(
                "config_test",
                Some(b't'),
                Some("config-test"),
                ValueKind::Optional,
            ),
            s(
                "checkers_pid",
                Some(b'c'),
                Some("checkers_pid"),
                ValueKind::Required,
            ),
            s("check", None, Some("check"), ValueKind::Optional),
            s("version", Some(b'v'), Some("version"), ValueKind::None),
        ]
    }

    fn run(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(Into::into).collect();
        scan(&specs(), &args)
            .into_iter()
            .map(|e| match e {
                Event::Opt { id, value, .. } => match value {
                    Some(v) => format!("{id}={}", v.to_string_lossy()),
                    None => id,
                },
                Event::Unknown(s) => format!("unknown {s}"),
                Event::Missing(s) => format!("missing {s}"),
                Event::Positional(p) => format!("pos {}", p.to_string_lossy()),
            })
            .collect()
    }

    #[test]
    fn clusters_and_attached_values() {
        assert_eq!(run(&["-nD"]), ["dont_fork", "log_detail"]);
        assert_eq!(run(&["-nfx.conf"]), ["dont_fork", "use_file=x.conf"]);
        assert_eq!(run(&["-f", "-n"]), ["use_file=-n"]);
        assert_eq!(
            run(&["-tlog", "-t", "x"]),
            ["config_test=log", "config_test", "pos x"]
        );
        assert_eq!(run(&["-nZv"]), ["dont_fork", "unknown -Z", "version"]);
        assert_eq!(run(&["-f"]), ["missing -f"]);
    }

    #[test]
    fn long_options_like_getopt_long() {
        assert_eq!(run(&["--use-file", "a"]), ["use_file=a"]);
        assert_eq!(run(&["--use-file=a=b"]), ["use_file=a=b"]);
        assert_eq!(run(&["--use-file="]), ["missing --use-file"]);
        assert_eq!(run(&["--use-file"]), ["missing --use-file"]);
        assert_eq!(run(&["--vers"]), ["version"]);
        assert_eq!(run(&["--dont-fork=1"]), ["unknown --dont-fork=1"]);
        // exact match wins over a longer name with the same prefix
        assert_eq!(run(&["--check"]), ["check"]);
        assert_eq!(run(&["--che"]), ["unknown --che"]);
        assert_eq!(run(&["--config-test", "x"]), ["config_test", "pos x"]);
        assert_eq!(run(&["--"]), Vec::<String>::new());
        assert_eq!(run(&["--", "-n"]), ["pos -n"]);
        assert_eq!(run(&["-", "x", "-n"]), ["pos -", "pos x", "dont_fork"]);
    }
}

//! The manual pages document every option of the command line and every keyword path of the
//! parser, with the keyword's status, and are lint-clean.
//!
//! man/keepalived.conf.5's keyword reference is rendered from grammar/keywords.tsv (paths and
//! status, maintained with the parser) and man/keyword-docs.tsv (arguments, defaults and
//! descriptions, written by hand). When either changes, rerun with `UPDATE_MAN_PAGES=1` to
//! rewrite the generated part; the other checks below read the page itself, not the generator.

use clap::CommandFactory;
use keepalived_rs::cli::args::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = ".\\\" BEGIN GENERATED KEYWORDS";
const END: &str = ".\\\" END GENERATED KEYWORDS";
const PARSED_MARK: &str = "\\fI[parsed only]\\fR";

/// Order of the root keywords in the reference: as a configuration is usually written.
/// Roots missing from this list follow in keywords.tsv order.
const ROOT_ORDER: &[&str] = &[
    "global_defs",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
    "linkbeat_interfaces",
    "interface_up_down_delays",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_group",
    "garp_group",
    "vrrp_script",
    "track_file",
    "vrrp_track_file",
    "vrrp_track_process",
    "bfd_instance",
    "vrrp_sync_group",
    "vrrp_instance",
    "SSL",
    "virtual_server_group",
    "virtual_server",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

struct Keyword {
    path: String,
    kind: String,
    parsed_only: bool,
}

/// grammar/keywords.tsv: path, kind, section, status.
fn keywords() -> Vec<Keyword> {
    read("grammar/keywords.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("path\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "grammar/keywords.tsv: bad line {l:?}");
            assert!(
                f[3] == "implemented" || f[3] == "parsed",
                "grammar/keywords.tsv: unknown status in {l:?}"
            );
            Keyword {
                path: f[0].to_string(),
                kind: f[1].to_string(),
                parsed_only: f[3] == "parsed",
            }
        })
        .collect()
}

struct Doc {
    args: String,
    default: String,
    text: String,
}

/// man/keyword-docs.tsv: path, arguments, default, description.
fn docs() -> BTreeMap<String, Doc> {
    let mut out = BTreeMap::new();
    for l in read("man/keyword-docs.tsv").lines() {
        if l.starts_with('#') || l.starts_with("path\t") || l.is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "man/keyword-docs.tsv: bad line {l:?}");
        let doc = Doc {
            args: f[1].to_string(),
            default: f[2].to_string(),
            text: f[3].to_string(),
        };
        assert!(
            out.insert(f[0].to_string(), doc).is_none(),
            "man/keyword-docs.tsv: {} twice",
            f[0]
        );
    }
    out
}

/// Escapes plain text for a roff text line.
fn roff(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c if c.is_ascii() => out.push(c),
            c => panic!("non-ASCII {c:?} in man/keyword-docs.tsv: write it in ASCII"),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// mandoc's style limit for input lines is 80 bytes.
const MAX_LINE: usize = 79;

/// Breaks roff text into input lines: a new line after each sentence (roff convention) and
/// before MAX_LINE bytes; no line may start with a control character.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > MAX_LINE {
            push_line(&mut out, &line);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        if word.ends_with('.') {
            push_line(&mut out, &line);
            line.clear();
        }
    }
    if !line.is_empty() {
        push_line(&mut out, &line);
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    if line.starts_with('.') || line.starts_with('\'') {
        out.push_str("\\&");
    }
    out.push_str(line);
    out.push('\n');
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn leaf(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, l)| l)
}

fn section_title(block: &str) -> String {
    if block.is_empty() {
        "Top level".to_string()
    } else {
        block.replace('/', " / ")
    }
}

/// The generated keyword reference (between the BEGIN and END markers).
fn generate(kws: &[Keyword], docs: &BTreeMap<String, Doc>) -> Result<String, String> {
    let missing: Vec<&str> = kws
        .iter()
        .filter(|k| !docs.contains_key(&k.path))
        .map(|k| k.path.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "man/keyword-docs.tsv has no row for {missing:?}: add one (arguments, default, description)"
        ));
    }
    let known: BTreeSet<&str> = kws.iter().map(|k| k.path.as_str()).collect();
    let stale: Vec<&String> = docs
        .keys()
        .filter(|p| !known.contains(p.as_str()))
        .collect();
    if !stale.is_empty() {
        return Err(format!(
            "man/keyword-docs.tsv documents paths the parser does not have: {stale:?}"
        ));
    }

    let mut children: BTreeMap<&str, Vec<&Keyword>> = BTreeMap::new();
    for k in kws {
        children.entry(parent(&k.path)).or_default().push(k);
    }
    let rank = |p: &str| {
        ROOT_ORDER
            .iter()
            .position(|r| *r == p)
            .unwrap_or(usize::MAX)
    };
    if let Some(roots) = children.get_mut("") {
        roots.sort_by_key(|k| rank(&k.path)); // stable: unlisted roots keep tsv order
    }

    let mut out = String::new();
    out.push_str(BEGIN);
    out.push_str(" from grammar/keywords.tsv and man/keyword-docs.tsv: do not edit here,\n");
    out.push_str(".\\\" rerun UPDATE_MAN_PAGES=1 cargo test --test man_pages\n");
    let mut stack = vec![""];
    while let Some(block) = stack.pop() {
        let Some(entries) = children.get(block) else {
            continue;
        };
        out.push_str(&format!(".SS \"{}\"\n", section_title(block)));
        for k in entries {
            let d = &docs[&k.path];
            out.push_str(".TP\n");
            let mut tag = format!("\\fB{}\\fR", roff(leaf(&k.path)));
            let mut body = String::new();
            if k.parsed_only {
                body.push_str(PARSED_MARK);
                body.push(' ');
            }
            if !d.args.is_empty() && d.args != "(none)" {
                let args = roff(&d.args);
                if tag.len() + 1 + args.len() <= MAX_LINE {
                    tag.push(' ');
                    tag.push_str(&args);
                } else {
                    // A tag is one input line: long argument lists go to the body.
                    body.push_str(&format!("Arguments: {args}. "));
                }
            }
            out.push_str(&tag);
            out.push('\n');
            body.push_str(&roff(&d.text));
            match d.default.as_str() {
                "" | "(none)" => {}
                "required" => body.push_str(" Required."),
                def => body.push_str(&format!(" Default: {}.", roff(def))),
            }
            if k.kind == "block" {
                body.push_str(&format!(
                    " Its keywords are under \\fB{}\\fR below.",
                    roff(&section_title(&k.path))
                ));
            }
            out.push_str(&wrap(&body));
        }
        // Depth first, in the order the blocks were listed.
        for k in entries.iter().rev() {
            if children.contains_key(k.path.as_str()) {
                stack.push(&k.path);
            }
        }
    }
    out.push_str(END);
    out.push('\n');
    Ok(out)
}

fn split_generated(page: &str) -> (usize, usize) {
    let b = page
        .find(BEGIN)
        .expect("man/keepalived.conf.5 lacks the BEGIN GENERATED KEYWORDS marker");
    let e = page
        .find(END)
        .expect("man/keepalived.conf.5 lacks the END GENERATED KEYWORDS marker");
    let e = e + page[e..].find('\n').map_or(page.len() - e, |n| n + 1);
    (b, e)
}

#[test]
fn keyword_reference_is_up_to_date() {
    let generated = generate(&keywords(), &docs()).unwrap_or_else(|e| panic!("{e}"));
    let page = read("man/keepalived.conf.5");
    let (b, e) = split_generated(&page);
    if std::env::var_os("UPDATE_MAN_PAGES").is_some() {
        let new = format!("{}{}{}", &page[..b], generated, &page[e..]);
        std::fs::write(root().join("man/keepalived.conf.5"), new).expect("write page");
        return;
    }
    assert!(
        page[b..e] == generated,
        "man/keepalived.conf.5's keyword reference is stale (grammar/keywords.tsv or \
         man/keyword-docs.tsv changed): rerun with UPDATE_MAN_PAGES=1 and review the diff"
    );
}

/// Undoes the roff escapes the pages use, for searching.
fn plain(s: &str) -> String {
    let mut s = s.to_string();
    for (from, to) in [
        ("\\fB", ""),
        ("\\fI", ""),
        ("\\fR", ""),
        ("\\fP", ""),
        ("\\-", "-"),
        ("\\e", "\\"),
        ("\\&", ""),
        ("\\c", ""),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Reads keepalived.conf.5 the way a reader does: every `.TP` entry under a `.SS` section
/// documents the keyword `SECTION/LEAF`. Returns path -> marked "parsed only".
fn documented_keywords(page: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut section: Option<String> = None;
    let lines: Vec<&str> = page.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(t) = l.strip_prefix(".SH ") {
            let _ = t;
            section = None;
        } else if let Some(t) = l.strip_prefix(".SS ") {
            let t = t.trim_matches('"');
            section = Some(if t == "Top level" {
                String::new()
            } else {
                t.replace(" / ", "/")
            });
        } else if *l == ".TP" {
            let (Some(sec), Some(tag), Some(body)) = (&section, lines.get(i + 1), lines.get(i + 2))
            else {
                continue;
            };
            let Some(rest) = tag.strip_prefix("\\fB") else {
                continue;
            };
            let Some((name, _)) = rest.split_once("\\fR") else {
                continue;
            };
            let name = plain(name);
            let path = if sec.is_empty() {
                name
            } else {
                format!("{sec}/{name}")
            };
            out.insert(path, body.starts_with(PARSED_MARK));
        }
    }
    out
}

#[test]
fn every_keyword_path_is_documented_with_its_status() {
    let page = read("man/keepalived.conf.5");
    let documented = documented_keywords(&page);
    let mut missing = Vec::new();
    let mut wrong_status = Vec::new();
    for k in keywords() {
        match documented.get(&k.path) {
            None => missing.push(k.path),
            Some(&marked) if marked != k.parsed_only => wrong_status.push(k.path),
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "keepalived.conf.5 does not document {} keyword paths: {missing:?}",
        missing.len()
    );
    assert!(
        wrong_status.is_empty(),
        "keepalived.conf.5 shows the wrong implemented/parsed-only status for {wrong_status:?}"
    );
    let known: BTreeSet<String> = keywords().into_iter().map(|k| k.path).collect();
    let extra: Vec<&String> = documented.keys().filter(|p| !known.contains(*p)).collect();
    assert!(
        extra.is_empty(),
        "keepalived.conf.5 documents keywords the parser does not know: {extra:?}"
    );
}

/// The option names of the CLI (clap's definition, the same one `-h` prints).
fn cli_options() -> Vec<String> {
    let mut out = Vec::new();
    for a in Args::command().get_arguments() {
        if a.is_hide_set() {
            continue;
        }
        if let Some(s) = a.get_short() {
            out.push(format!("-{s}"));
        }
        if let Some(l) = a.get_long() {
            out.push(format!("--{l}"));
        }
    }
    out
}

/// Options named in the tag lines of the OPTIONS section of keepalived.8.
fn documented_options(page: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_options = false;
    let lines: Vec<&str> = page.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(t) = l.strip_prefix(".SH ") {
            in_options = t.trim_matches('"') == "OPTIONS";
        } else if in_options && *l == ".TP" {
            let Some(tag) = lines.get(i + 1) else {
                continue;
            };
            let tag = plain(tag);
            let tag = tag
                .trim_start_matches(".BR ")
                .trim_start_matches(".B ")
                .replace('"', " ")
                .replace(['[', ']', '=', ','], " ");
            for word in tag.split_whitespace() {
                if word.starts_with('-') && word.len() > 1 {
                    out.insert(word.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn every_cli_option_is_documented_in_keepalived_8() {
    let page = read("man/keepalived.8");
    let documented = documented_options(&page);
    let options = cli_options();
    assert!(
        options.len() > 60,
        "clap lists too few options: {options:?}"
    );
    let missing: Vec<&String> = options
        .iter()
        .filter(|o| !documented.contains(*o))
        .collect();
    assert!(
        missing.is_empty(),
        "keepalived.8 has no OPTIONS entry for {missing:?}"
    );
    let stale: Vec<&String> = documented.iter().filter(|o| !options.contains(o)).collect();
    assert!(
        stale.is_empty(),
        "keepalived.8 documents options the CLI does not have: {stale:?}"
    );
}

#[test]
fn keepalived_8_documents_signals_and_exit_codes() {
    let page = plain(&read("man/keepalived.8"));
    for name in ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"] {
        assert!(page.contains(name), "--signum {name} is not documented");
    }
    for sig in [
        "SIGHUP",
        "SIGTERM",
        "SIGINT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGRTMAX-1",
    ] {
        assert!(page.contains(sig), "{sig} is not documented");
    }
    let exit_status = page
        .split(".SH EXIT STATUS")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .expect("an EXIT STATUS section");
    for code in ["0", "1", "2", "4", "5", "6"] {
        assert!(
            exit_status.contains(&format!(".TP\n.B {code}\n")),
            "exit status {code} of -t/--check is not documented"
        );
    }
}

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn lint_with(tool_path: &Path, args: &[&str], page: &Path) -> String {
    let out = Command::new(tool_path)
        .args(args)
        .arg(page)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool_path.display()));
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() && report.is_empty() {
        report = format!("exited with {}", out.status);
    }
    report
}

#[test]
fn man_pages_are_lint_clean() {
    let pages = [
        root().join("man/keepalived.8"),
        root().join("man/keepalived.conf.5"),
    ];
    let mut ran = false;
    if let Some(mandoc) = tool("mandoc") {
        ran = true;
        for p in &pages {
            let report = lint_with(&mandoc, &["-Tlint", "-Wall"], p);
            assert!(
                report.is_empty(),
                "mandoc -Tlint {}:\n{report}",
                p.display()
            );
        }
    }
    if let Some(groff) = tool("groff") {
        ran = true;
        for p in &pages {
            let report = lint_with(&groff, &["-ww", "-z", "-man"], p);
            assert!(report.is_empty(), "groff -ww {}:\n{report}", p.display());
        }
    }
    if !ran {
        eprintln!("SKIP man_pages_are_lint_clean: neither mandoc nor groff is installed");
    }
}

#[test]
fn lint_catches_a_broken_page() {
    // The lint test above must be able to fail: a page with an unknown macro and a bad
    // section must be reported.
    let Some(mandoc) = tool("mandoc") else {
        eprintln!("SKIP lint_catches_a_broken_page: mandoc is not installed");
        return;
    };
    let dir = std::env::temp_dir().join(format!("ops-man-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.8");
    std::fs::write(&bad, ".TH BAD 8\n.SH NAME\nbad\n.XX oops\n").expect("write");
    let report = lint_with(&mandoc, &["-Tlint", "-Wall"], &bad);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !report.is_empty(),
        "mandoc reported nothing for a broken page"
    );
}

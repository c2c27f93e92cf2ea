//! The body of the `config_pipeline` fuzz target, shared with the regression test that replays
//! saved inputs (tests/fuzz_regressions.rs), so the two cannot drift apart.
//!
//! One input is several virtual files separated by a line `=====`: the first is
//! `/etc/keepalived/keepalived.conf`, file N (N >= 1) is `/etc/keepalived/dN%2/fN.conf`, so
//! `include`s with globs (`d0/*.conf`), relative paths (`../d1/f3.conf`) and cycles are reachable.
//! The whole pipeline runs (preprocess, lex, the four parse passes, decode, validate, hints)
//! on an in-memory machine, then every renderer.

use super::host::MemHost;
use super::render::{render, Format};
use super::{load_with, LoadOptions};
use std::path::Path;

/// The line that separates the virtual files of one input.
pub const FILE_SEPARATOR: &str = "\n=====\n";

/// The virtual files of one fuzz input, as (absolute path, text).
pub fn files(data: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(data);
    text.split(FILE_SEPARATOR)
        .enumerate()
        .map(|(i, t)| {
            let path = if i == 0 {
                "/etc/keepalived/keepalived.conf".to_string()
            } else {
                format!("/etc/keepalived/d{}/f{i}.conf", i % 2)
            };
            (path, t.to_string())
        })
        .collect()
}

/// Loads `data` and renders the result in every format. Any panic is a bug; so is an exit
/// status keepalived never returns, or a render that loses a diagnostic.
pub fn check_pipeline(data: &[u8]) {
    let files = files(data);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let host = MemHost::new(&refs, &["lo", "eth0", "eth1"]);
    let opts = LoadOptions {
        config_id: Some("lb1".into()),
        all_config: data.first().is_some_and(|b| b & 1 == 1),
        random_seed: 1,
    };
    let loaded = load_with(Path::new("/etc/keepalived/keepalived.conf"), &opts, &host);
    assert!(matches!(loaded.exit_status(), 0 | 2 | 4 | 5 | 6));
    let ka = render(&loaded, Format::Keepalived, false);
    let shown = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != super::diag::Severity::Note)
        .count();
    assert!(ka.lines().count() >= shown, "keepalived format lost lines");
    let _ = render(&loaded, Format::Pretty, true);
    let json = render(&loaded, Format::Json, false);
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(
        v["diagnostics"].as_array().map(Vec::len),
        Some(loaded.diagnostics.len())
    );
}

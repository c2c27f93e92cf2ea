//! The fuzzers' saved inputs, replayed through the same checks their targets run
//! (`*::fuzz::check_*`), so a finding stays fixed. Each directory's README.md says what each
//! input found.
//!
//! - tests/fixtures/config/fuzz-regressions/ → `config_pipeline`: no panic, no hang, sane
//!   exit status, every diagnostic rendered;
//! - tests/fixtures/wire/fuzz-regressions/ → `vrrp_decode`: no panic, and whatever parses
//!   re-encodes to the same advert;
//! - tests/fixtures/ipvs-fuzz-regressions/ → `ipvs_reply`: no panic in framing, reply
//!   decoding or the client's sequence matching, and decoded services/dests re-encode.

use std::path::PathBuf;

/// Feeds every file of `dir` (not its README.md), in name order, to `check`; there must be
/// at least `min` (the seed inputs).
fn replay(dir: &str, min: usize, check: impl Fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("regression dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension() != Some("md".as_ref()))
        .collect();
    paths.sort();
    for path in &paths {
        eprintln!("{}", path.display());
        check(&std::fs::read(path).expect("readable"));
    }
    assert!(
        paths.len() >= min,
        "expected the seed inputs at least, found {}",
        paths.len()
    );
}

#[test]
fn config_fuzz_regressions_do_not_panic() {
    replay(
        "tests/fixtures/config/fuzz-regressions",
        2,
        keepalived_rs::config::fuzz::check_pipeline,
    );
}

#[test]
fn wire_fuzz_regressions_do_not_panic() {
    replay(
        "tests/fixtures/wire/fuzz-regressions",
        3,
        keepalived_rs::wire::fuzz::check_decode,
    );
}

#[test]
fn ipvs_fuzz_regressions_do_not_panic() {
    replay(
        "tests/fixtures/ipvs-fuzz-regressions",
        4,
        keepalived_rs::ipvs::fuzz::check_replies,
    );
}

//! Every input in tests/fixtures/ipvs-fuzz-regressions/ goes through the checks of the
//! `ipvs_reply` fuzz target (`ipvs::fuzz::check_replies`): no panic in framing, reply
//! decoding or the client's sequence matching, and decoded services/dests re-encode.

use keepalived_rs::ipvs::fuzz::check_replies as check;
use std::path::PathBuf;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipvs-fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("regression dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("readable");
        check(&data);
        n += 1;
    }
    assert!(n >= 4, "expected the seed inputs at least, found {n}");
}

//! Every input in tests/fixtures/wire/fuzz-regressions/ goes through the checks of the
//! `vrrp_decode` fuzz target (`wire::fuzz::check_decode`): no panic, and whatever parses
//! re-encodes to the same advert.

use keepalived_rs::wire::fuzz::check_decode as check;
use std::path::PathBuf;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire/fuzz-regressions");
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
    assert!(n >= 3, "expected the seed inputs at least, found {n}");
}

//! Every input in tests/fixtures/config/fuzz-regressions/ goes through the checks of the
//! `config_pipeline` fuzz target (`config::fuzz::check_pipeline`): no panic, no hang, sane exit
//! status, every diagnostic rendered. README.md there says what each input found.

use keepalived_rs::config::fuzz::check_pipeline as check;
use std::path::PathBuf;

#[test]
fn config_fuzz_regressions_do_not_panic() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/fuzz-regressions");
    let mut n = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("regression dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    paths.sort();
    for path in paths {
        let data = std::fs::read(&path).expect("readable");
        eprintln!("{}", path.display());
        check(&data);
        n += 1;
    }
    assert!(n >= 2, "expected the seed inputs at least, found {n}");
}

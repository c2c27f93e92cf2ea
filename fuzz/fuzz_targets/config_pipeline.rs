//! Fuzz the whole config pipeline: several virtual files (split on a `=====` line) on an
//! in-memory machine, through include/@/$/~SEQ preprocessing, the parse passes, decode,
//! validate and every renderer. The checks live in `keepalived_rs::config::fuzz` so the
//! regression test replays exactly the same ones.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keepalived_rs::config::fuzz::check_pipeline(data));

//! Fuzz the VRRP decoder: the IPv4 raw-socket entry point, the IPv6 one (first 33 bytes pick
//! src, dst and hop limit), and the zero-copy view. Any panic is a bug; anything that parses
//! must re-encode to bytes that parse to the same advert. The checks live in
//! `keepalived_rs::wire::fuzz` so the regression test replays exactly the same ones.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keepalived_rs::wire::fuzz::check_decode(data));

//! Fuzz the IPVS netlink reply handling: framing, every reply decoder (services, dests,
//! daemons, timeouts, info, the controller's family id), errors/ACKs/DONE and multipart
//! datagrams through the client's sequence-number matching. Any panic is a bug. The checks
//! live in `keepalived_rs::ipvs::fuzz` so the regression test replays exactly the same ones.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keepalived_rs::ipvs::fuzz::check_replies(data));

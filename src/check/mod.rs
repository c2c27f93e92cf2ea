//! Real-server health checkers: the pure core ([`core::Lvs`]: timers, retries, alive state,
//! quorum, sorry server, log lines), the resolved checker options ([`spec`]), and the probe
//! drivers on tokio ([`probe`]: TCP, HTTP_GET, SSL_GET, MISC), plus `genhash`.

pub mod core;
pub mod files;
pub mod genhash;
pub mod matcher;
pub mod probe;
pub mod spec;

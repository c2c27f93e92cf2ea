//! IPVS: generic-netlink messages (pure), `plan(desired, actual)`, and the netlink driver.
//!
//! - [`types`]: services, dests, sync daemon, timeouts: plain values.
//! - [`msg`]: requests to attribute bytes and kernel replies back (pure, golden-byte tested
//!   against ipvsadm captures in `tests/fixtures/ipvs`).
//! - [`plan`]: `plan(desired, actual, owned) -> Vec<Op>` (pure, property tested).
//! - [`client`]: the blocking netlink client that resolves the family and executes ops.

pub mod client;
pub mod desired;
pub mod error;
pub mod fuzz;
pub mod msg;
pub mod plan;
pub mod types;

pub use client::Client;
pub use error::Error;
pub use msg::{Reply, Request};
pub use plan::{plan, Op, Table, VirtualService};
pub use types::*;

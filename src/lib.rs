//! keepalived-rs: a keepalived-compatible high-availability daemon.
//!
//! Pure cores (`config`, `wire`, `vrrp`, `check` scheduler, `ipvs` plan) decide; thin drivers
//! (`sys`, `daemon`, probes, netlink) act. See DESIGN.md in the shared notes for the map.

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod exec;
pub mod ipvs;
pub mod model;
pub mod notify;
pub mod sys;
pub mod vrrp;
pub mod wire;

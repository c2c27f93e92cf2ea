//! Thin system drivers: the one clock read, host facts, rtnetlink, raw sockets.

pub mod addr;
pub mod clock;
pub mod monitor;
pub mod socket;
pub mod timer;

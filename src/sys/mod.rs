//! Thin system drivers: the one clock read, host facts, rtnetlink, raw sockets.

pub mod clock;

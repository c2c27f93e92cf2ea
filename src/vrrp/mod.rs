//! The VRRP core: per-instance `Router` state machines, sync groups and effective-priority
//! tracking. Pure: `now` is an argument, effects are returned as actions.
pub mod track;

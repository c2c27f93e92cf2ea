//! The VRRP core: per-instance `Router` state machines, sync groups and effective-priority
//! tracking. Pure: `now` is an argument, effects are returned as actions.

pub mod config;
pub mod dump;
pub mod from_model;
pub mod group;
pub mod router;
pub mod sim;
pub mod syncd;
pub mod track;

pub use config::{
    Family, InitialState, InstanceConfig, SyncGroupConfig, UnicastPeer, VirtualAddress,
    VirtualRoute, VirtualRule,
};
pub use group::{GroupId, InstanceId, Output, Removed, Source, SyncGroup, Vrrp};
pub use router::{
    Action, Destination, Event, FaultCause, LogLine, Notify, NotifyEvent, NotifyKind, Reason,
    Router, State, Stats,
};

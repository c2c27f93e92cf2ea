//! Reconciliation: `plan(desired, actual, owned)` lists the IPVS operations that turn the
//! kernel's table into the one the configuration wants. Pure; the driver executes the ops.
//!
//! Rules (keepalived's behaviour, and what keeps traffic flowing across a reload):
//! - a desired service that exists is edited in place (SET), never deleted and re-added, so its
//!   connections and counters survive; the same for dests (a weight change is a SET dest);
//! - a desired service owns all of its dests: dests the configuration does not list are removed;
//! - a service that is not desired is removed only if it is in `owned` (we created it); other
//!   services (an operator's, another daemon's) are left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::types::{Dest, DestKey, Service, ServiceKey};

/// One change to the IPVS table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {}", s.key),
            Op::EditService(s) => write!(f, "edit service {}", s.key),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::AddDest(k, d) => write!(f, "add dest {} to {k}", d.key()),
            Op::EditDest(k, d) => write!(f, "edit dest {} of {k}", d.key()),
            Op::DelDest(k, d) => write!(f, "delete dest {d} from {k}"),
        }
    }
}

/// A service and its dests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualService {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Dest>,
}

/// An IPVS table (desired, or as dumped from the kernel), ordered for deterministic plans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub services: BTreeMap<ServiceKey, VirtualService>,
}

/// Why the in-memory model refused an op (the kernel's EEXIST / ENOENT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    Exists(String),
    NotFound(String),
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    /// Adds (or replaces) a service, keeping its dests if it was there.
    pub fn insert_service(&mut self, service: Service) {
        match self.services.get_mut(&service.key) {
            Some(vs) => vs.service = service,
            None => {
                self.services.insert(
                    service.key,
                    VirtualService {
                        service,
                        dests: BTreeMap::new(),
                    },
                );
            }
        }
    }

    /// Adds (or replaces) a dest; false if the service is absent.
    pub fn insert_dest(&mut self, key: &ServiceKey, dest: Dest) -> bool {
        match self.services.get_mut(key) {
            Some(vs) => {
                vs.dests.insert(dest.key(), dest);
                true
            }
            None => false,
        }
    }

    /// Applies an op with the kernel's semantics; used as the model in tests and by callers
    /// that keep a shadow of what they programmed.
    pub fn apply(&mut self, op: &Op) -> Result<(), ApplyError> {
        match op {
            Op::AddService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err(ApplyError::Exists(op.to_string()));
                }
                self.insert_service(s.clone());
            }
            Op::EditService(s) => {
                let vs = self
                    .services
                    .get_mut(&s.key)
                    .ok_or_else(|| ApplyError::NotFound(op.to_string()))?;
                vs.service = s.clone();
            }
            Op::DelService(k) => {
                self.services
                    .remove(k)
                    .ok_or_else(|| ApplyError::NotFound(op.to_string()))?;
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                let vs = self
                    .services
                    .get_mut(k)
                    .ok_or_else(|| ApplyError::NotFound(op.to_string()))?;
                let present = vs.dests.contains_key(&d.key());
                match (op, present) {
                    (Op::AddDest(..), true) => return Err(ApplyError::Exists(op.to_string())),
                    (Op::EditDest(..), false) => return Err(ApplyError::NotFound(op.to_string())),
                    _ => {}
                }
                vs.dests.insert(d.key(), *d);
            }
            Op::DelDest(k, dk) => {
                self.services
                    .get_mut(k)
                    .and_then(|vs| vs.dests.remove(dk))
                    .ok_or_else(|| ApplyError::NotFound(op.to_string()))?;
            }
        }
        Ok(())
    }
}

/// The ops that make `actual` equal to `desired` on every desired service, and remove the
/// services in `owned` that are no longer desired. Order: removals first (frees addresses and
/// avoids transient over-capacity), then each desired service with its dests.
pub fn plan(desired: &Table, actual: &Table, owned: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let mut ops = Vec::new();
    for key in actual.services.keys() {
        if !desired.services.contains_key(key) && owned.contains(key) {
            ops.push(Op::DelService(*key));
        }
    }
    for (key, want) in &desired.services {
        match actual.services.get(key) {
            None => {
                ops.push(Op::AddService(want.service.clone()));
                ops.extend(want.dests.values().map(|d| Op::AddDest(*key, *d)));
            }
            Some(have) => {
                if !want.service.same_settings(&have.service) {
                    ops.push(Op::EditService(want.service.clone()));
                }
                for dk in have.dests.keys() {
                    if !want.dests.contains_key(dk) {
                        ops.push(Op::DelDest(*key, *dk));
                    }
                }
                for (dk, d) in &want.dests {
                    match have.dests.get(dk) {
                        None => ops.push(Op::AddDest(*key, *d)),
                        Some(h) if h != d => ops.push(Op::EditDest(*key, *d)),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    ops
}

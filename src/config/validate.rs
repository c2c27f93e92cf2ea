//! Checks keepalived makes once a whole configuration has been read (its `*_complete_*` and
//! `validate_config` steps). Their messages carry no line number in keepalived's output.

use super::diag::{Diagnostic, Severity};
use super::host::Host;
use crate::model::{Config, InitialState};

fn e(msg: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Severity::Error, "invalid-config", msg)
}

/// Post-parse checks of the VRRP and checker parts.
pub fn validate(cfg: &Config, host: &dyn Host) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let g = &cfg.global;
    let mut missing_if = false;
    for i in &cfg.vrrp_instances {
        let name = &i.name;
        if i.virtual_router_id.is_none() {
            out.push(e(format!("({name}) the virtual router id must be set")));
            continue;
        }
        if let Some(ifn) = &i.interface {
            if !host.interface_exists(ifn) && !g.dynamic_interfaces {
                missing_if = true;
            }
        }
        let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
        let prio = i
            .priority
            .unwrap_or(if i.state == Some(InitialState::Master) {
                255
            } else {
                100
            });
        if i.nopreempt && i.state == Some(InitialState::Master) {
            out.push(e(format!(
                "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
            )));
        }
        if strict {
            if i.virtual_ipaddress.is_empty() {
                out.push(e(format!(
                    "({name}) No VIP specified; at least one is required"
                )));
            }
            if i.state == Some(InitialState::Master) && prio != 255 {
                out.push(e(format!(
                    "({name}) State MASTER must match being address owner"
                )));
            }
            if i.authentication.is_some() {
                out.push(e(format!(
                    "({name}) Strict mode does not support authentication. Ignoring."
                )));
            }
        } else if i.virtual_ipaddress.is_empty() {
            out.push(Diagnostic::new(
                Severity::Warning,
                "no-vip",
                format!("({name}) No VIP specified; at least one is sensible"),
            ));
        }
        for t in &i.track_script {
            if !cfg.vrrp_scripts.iter().any(|s| s.name == t.name) {
                out.push(e(format!(
                    "({name}) track script {} not found, ignoring...",
                    t.name
                )));
            }
        }
    }
    for sg in &cfg.vrrp_sync_groups {
        for t in &sg.track_script {
            if !cfg.vrrp_scripts.iter().any(|s| s.name == t.name) {
                out.push(e(format!(
                    "({}) track script {} not found, ignoring...",
                    sg.name, t.name
                )));
            }
        }
    }
    if missing_if {
        out.push(Diagnostic::new(
            Severity::Fatal,
            "interface-missing",
            "Non-existent interface specified in configuration",
        ));
    }
    out
}

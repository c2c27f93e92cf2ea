//! The typed configuration model: keepalived's keyword names, keepalived's defaults, values with
//! units in their types. Built by `config`, consumed by every core.

use serde::Serialize;

/// A whole keepalived.conf.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {}

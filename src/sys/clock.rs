//! The only place the process reads the clock. Pure cores receive `now` from their driver.

use std::time::{Instant, SystemTime};

/// Monotonic now, for timers.
#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

/// Wall-clock now, for log and mail time stamps only.
#[allow(clippy::disallowed_methods)]
pub fn wall_now() -> SystemTime {
    SystemTime::now()
}

//! Real-server health checkers: a pure scheduler and the probe drivers (TCP, HTTP, SSL, MISC, ...).

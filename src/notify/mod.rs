//! Notifications: notify scripts, FIFO lines and SMTP alerts, in keepalived's formats.
pub mod smtp;

//! The running daemon: supervisor, signals, reload diff, pid file, dumps, logging.

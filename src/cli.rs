//! Command line: keepalived's flags, plus `--check[=FILE]`.

/// Runs the program with the given arguments and returns the process exit status.
pub fn run<I: IntoIterator<Item = std::ffi::OsString>>(_args: I) -> u8 {
    0
}

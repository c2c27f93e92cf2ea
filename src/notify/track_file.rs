//! `track_file` / `vrrp_track_file` values, read as keepalived 2.2.7 reads them
//! (trackers/track_file.c `process_track_file()`): at most the first 127 bytes, parsed like C's
//! `strtol(buf, NULL, 0)` (leading blanks, optional sign, `0x` hex / leading-`0` octal /
//! decimal, stops at the first other character, no digits = 0). A missing, unreadable or empty
//! file (or one deleted or moved away) is 0. A number outside `INT32_MIN..=INT32_MAX + 1` (or
//! overflowing a long) is logged `Invalid number N read from PATH - ignoring` and the previous
//! value is kept.
//!
//! keepalived watches the files with inotify; [`TrackFileWatcher`] polls instead (every
//! `period`), reading each file and reporting values that changed.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes keepalived reads from a track file.
pub const READ_MAX: usize = 127;

/// A value keepalived refuses (kept for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidNumber(pub i64);

/// Parses a track file's contents (see the module docs).
pub fn parse_value(contents: &[u8]) -> Result<i64, InvalidNumber> {
    let b = &contents[..contents.len().min(READ_MAX)];
    // C strtol stops at a NUL too.
    let b = match b.iter().position(|&c| c == 0) {
        Some(p) => &b[..p],
        None => b,
    };
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut radix = 10u32;
    if i + 1 < b.len() && b[i] == b'0' && (b[i + 1] | 0x20) == b'x' {
        if i + 2 < b.len() && (b[i + 2] as char).is_ascii_hexdigit() {
            radix = 16;
            i += 2;
        }
        // "0x" without hex digits: strtol parses the "0".
    } else if i < b.len() && b[i] == b'0' {
        radix = 8;
    }
    let mut v: i128 = 0;
    let mut overflow = false;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(radix) else {
            break;
        };
        v = v * radix as i128 + d as i128;
        if v > i64::MAX as i128 + 1 {
            overflow = true;
            v = i64::MAX as i128 + 1;
        }
        i += 1;
    }
    let v = if neg { -v } else { v };
    // strtol clamps to LONG_MIN/LONG_MAX and sets ERANGE.
    let clamped = v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    if overflow || v != clamped as i128 {
        return Err(InvalidNumber(clamped));
    }
    if clamped < i32::MIN as i64 || clamped > i32::MAX as i64 + 1 {
        return Err(InvalidNumber(clamped));
    }
    Ok(clamped)
}

/// Reads a track file now: `Ok(0)` when it is missing or empty.
pub fn read_value(path: &Path) -> Result<i64, InvalidNumber> {
    use std::io::Read;
    let mut buf = [0u8; READ_MAX];
    let n = match std::fs::File::open(path) {
        Ok(mut f) => f.read(&mut buf).unwrap_or(0),
        Err(_) => 0,
    };
    parse_value(&buf[..n])
}

/// One tracked file to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    pub name: String,
    pub path: PathBuf,
}

/// Polls track files and sends `(name, value)` when a value changes (and once at start).
pub struct TrackFileWatcher {
    task: JoinHandle<()>,
}

impl TrackFileWatcher {
    /// Starts polling on the current tokio runtime. The task ends when the receiver is dropped
    /// or the watcher is stopped.
    pub fn start(
        files: Vec<WatchedFile>,
        period: Duration,
        tx: mpsc::Sender<(String, i64)>,
    ) -> TrackFileWatcher {
        let task = tokio::spawn(async move {
            let mut last: Vec<Option<i64>> = vec![None; files.len()];
            let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for (f, prev) in files.iter().zip(last.iter_mut()) {
                    match read_value(&f.path) {
                        Ok(v) if *prev != Some(v) => {
                            *prev = Some(v);
                            if tx.send((f.name.clone(), v)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(InvalidNumber(n)) => {
                            if prev.is_none() {
                                // keepalived starts from 0 and keeps it.
                                *prev = Some(0);
                                if tx.send((f.name.clone(), 0)).await.is_err() {
                                    return;
                                }
                            }
                            tracing::info!(
                                "Invalid number {n} read from {} - ignoring",
                                f.path.display()
                            );
                        }
                    }
                }
            }
        });
        TrackFileWatcher { task }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for TrackFileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_strtol_base_0() {
        assert_eq!(parse_value(b"42\n"), Ok(42));
        assert_eq!(parse_value(b"  -7 apples"), Ok(-7));
        assert_eq!(parse_value(b"+3"), Ok(3));
        assert_eq!(parse_value(b"0x1F"), Ok(31));
        assert_eq!(parse_value(b"010"), Ok(8));
        assert_eq!(parse_value(b"09"), Ok(0));
        assert_eq!(parse_value(b"0x"), Ok(0));
        assert_eq!(parse_value(b""), Ok(0));
        assert_eq!(parse_value(b"abc"), Ok(0));
        assert_eq!(parse_value(b"\n\t 5"), Ok(5));
    }

    #[test]
    fn range_is_int32_with_keepalived_off_by_one_top() {
        assert_eq!(parse_value(b"2147483648"), Ok(2147483648));
        assert_eq!(parse_value(b"2147483649"), Err(InvalidNumber(2147483649)));
        assert_eq!(parse_value(b"-2147483648"), Ok(-2147483648));
        assert_eq!(parse_value(b"-2147483649"), Err(InvalidNumber(-2147483649)));
        assert_eq!(
            parse_value(b"99999999999999999999999"),
            Err(InvalidNumber(i64::MAX))
        );
    }

    #[test]
    fn only_the_first_127_bytes_count() {
        let mut v = vec![b' '; 126];
        v.extend_from_slice(b"12");
        assert_eq!(parse_value(&v), Ok(1));
    }

    #[test]
    fn missing_file_is_zero() {
        assert_eq!(read_value(Path::new("/nonexistent/ka-rs/track")), Ok(0));
    }
}

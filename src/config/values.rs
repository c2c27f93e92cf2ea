//! Value readers with keepalived 2.2.7's acceptance rules and messages (`read_int`,
//! `read_unsigned`, `read_decimal_unsigned`, `read_timer`, `check_true_false`).

use std::net::IpAddr;
use std::time::Duration;

/// C `strtol`/`strtoul` on base 10: leading blanks, optional sign, digits. Returns the value and
/// whether the whole string was consumed (and at least one digit seen).
fn strtol(s: &str) -> (i128, bool) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return (0, false);
    }
    let v: i128 = digits[..n].bytes().fold(0i128, |a, d| {
        a.saturating_mul(10).saturating_add((d - b'0') as i128)
    });
    (if neg { -v } else { v }, n == digits.len())
}

/// keepalived's `read_int`: errors are its messages.
pub fn read_int(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let (v, whole) = strtol(s);
    if !whole {
        Err(format!("invalid number '{s}'"))
    } else if v < i32::MIN as i128 || v > i32::MAX as i128 {
        Err(format!("number '{s}' outside integer range"))
    } else if v < min as i128 || v > max as i128 {
        Err(format!("number '{s}' outside range [{min}, {max}]"))
    } else {
        Ok(v as i64)
    }
}

/// keepalived's `read_unsigned`.
pub fn read_unsigned(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    let (v, whole) = strtol(t);
    if !whole {
        Err(format!("invalid number '{s}'"))
    } else if v > u32::MAX as i128 {
        Err(format!("number '{s}' outside unsigned integer range"))
    } else if v < min as i128 || v > max as i128 {
        Err(format!("number '{s}' outside range [{min}, {max}]"))
    } else {
        Ok(v as u64)
    }
}

/// keepalived's `read_decimal_unsigned`: a decimal with up to `shift` places, returned scaled
/// by 10^shift. `min`/`max` are in scaled units. Too many places is an error but the value is
/// still used (rounded), as keepalived does.
pub fn read_decimal(s: &str, min: u64, max: u64, shift: u32) -> (Option<u64>, Option<String>) {
    if s.starts_with('-') {
        return (None, Some(format!("negative number '{s}'")));
    }
    let mut err = None;
    let (int_part, frac) = match s.find('.') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, ""),
    };
    if !frac.is_ascii() {
        // Not a number anyway; and truncating at `shift` bytes could split a character
        // (a fuzz-found panic).
        return (None, Some(format!("invalid number '{s}'")));
    }
    let mut frac = frac.to_string();
    let mut round_up = false;
    if frac.len() > shift as usize {
        err = Some(format!("number '{s}' has too many decimal places"));
        round_up = frac.as_bytes()[shift as usize] >= b'5';
        frac.truncate(shift as usize);
    }
    while frac.len() < shift as usize {
        frac.push('0');
    }
    let joined = format!("{int_part}{frac}");
    let valid = !joined.is_empty()
        && joined.bytes().all(|b| b.is_ascii_digit())
        && !int_part.starts_with(['+', ' ']);
    let scale = 10u64.pow(shift);
    if !valid {
        return (None, Some(format!("invalid number '{s}'")));
    }
    let Ok(mut v) = joined.parse::<u64>() else {
        return (
            None,
            Some(format!("number '{s}' outside unsigned decimal range")),
        );
    };
    if round_up {
        v += 1;
    }
    if v < min || v > max {
        let w = shift as usize;
        let fmt = |x: u64| {
            if shift == 0 {
                format!("{x}.")
            } else {
                format!("{}.{:0w$}", x / scale, x % scale)
            }
        };
        return (
            None,
            Some(format!(
                "number '{s}' outside range [{}, {}]",
                fmt(min),
                fmt(max)
            )),
        );
    }
    (Some(v), err)
}

/// keepalived's `read_timer`: seconds with microsecond resolution. `min`/`max` in µs.
pub fn read_timer(s: &str, min_us: u64, max_us: u64) -> (Option<Duration>, Option<String>) {
    let max = if max_us == 0 { u64::MAX - 1 } else { max_us };
    // keepalived reads timers with strtoull, which skips leading blanks (`warmup "  64"` is
    // 64 s without a message); the messages still quote the value as written.
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (v, e) = read_decimal(t, min_us, max, 6);
    let e = e.map(|m| {
        if t.len() == s.len() {
            m
        } else {
            m.replacen(&format!("'{t}'"), &format!("'{s}'"), 1)
        }
    });
    (v.map(Duration::from_micros), e)
}

/// keepalived's `check_true_false`.
pub fn true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// An address with optional `/prefix`, as keepalived's `inet_stor`-style parsing accepts it.
pub fn addr_prefix(s: &str) -> Option<(IpAddr, Option<u8>)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let prefix = match p {
        None => None,
        Some(p) => {
            let v: u8 = p.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if v > max {
                return None;
            }
            Some(v)
        }
    };
    Some((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the config_pipeline fuzz target: a multi-byte character across the truncation
    /// point of the decimal places panicked.
    #[test]
    fn non_ascii_fraction_is_an_invalid_number() {
        let (v, e) = read_decimal("1.12345\u{e9}9", 0, u64::MAX, 6);
        assert_eq!(v, None);
        assert_eq!(e.as_deref(), Some("invalid number '1.12345\u{e9}9'"));
    }

    #[test]
    fn ints_like_keepalived() {
        assert_eq!(
            read_unsigned("0x20", 1, 255).unwrap_err(),
            "invalid number '0x20'"
        );
        assert_eq!(
            read_unsigned("0", 1, 255).unwrap_err(),
            "number '0' outside range [1, 255]"
        );
        assert_eq!(
            read_unsigned("-1", 1, 255).unwrap_err(),
            "negative number '-1'"
        );
        assert_eq!(read_unsigned("150", 1, 255), Ok(150));
        assert_eq!(read_int("-60", -253, 253), Ok(-60));
        assert_eq!(read_int("1x", 0, 9).unwrap_err(), "invalid number '1x'");
    }

    #[test]
    fn decimals_and_timers() {
        assert_eq!(read_timer("1.5", 0, 0).0, Some(Duration::from_millis(1500)));
        assert_eq!(
            read_timer("0", 1, 4_294_967_295).1.unwrap(),
            "number '0' outside range [0.000001, 4294.967295]"
        );
        let (v, e) = read_decimal("1.23456789", 0, u64::MAX, 6);
        assert_eq!(v, Some(1_234_568));
        assert!(e.unwrap().contains("too many decimal places"));
        assert_eq!(
            read_decimal("abc", 0, 9, 6).1.unwrap(),
            "invalid number 'abc'"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            addr_prefix("10.0.0.1/24"),
            Some(("10.0.0.1".parse().unwrap(), Some(24)))
        );
        assert_eq!(addr_prefix("10.0.0./24"), None);
        assert_eq!(addr_prefix("fe80::1/64").map(|a| a.1), Some(Some(64)));
        assert_eq!(addr_prefix("10.0.0.1/33"), None);
    }
}

#[cfg(test)]
mod timer_blank_tests {
    use super::*;

    /// Corpus file 169 (`warmup "  64"`): keepalived 2.2.7 says nothing and uses 64 s.
    #[test]
    fn timers_skip_leading_blanks_like_strtoull() {
        assert_eq!(
            read_timer("  64", 0, 0),
            (Some(Duration::from_secs(64)), None)
        );
        let (v, e) = read_timer("  6x", 0, 0);
        assert_eq!(v, None);
        assert_eq!(e.as_deref(), Some("invalid number '  6x'"));
    }
}

//! Giving start-up memory back once the daemon runs.
//!
//! Start-up touches code that a running daemon does not use again (CLI, config lexer/parser,
//! model checks, config rendering: several MB of our text) and leaves freed heap behind. The
//! text pages are clean and file-backed: once VRRP runs we unmap them (`madvise(MADV_DONTNEED)`; they stay in the page cache): what the running loop
//! needs is mapped back at once by minor faults, anything else (the parser, on a reload) when
//! used. Freed heap goes back with `malloc_trim(0)`. Both are hints: errors are ignored.

/// When the supervisor releases start-up memory: after the instances' first transition
/// (3 x advert_int + skew with the default 1 s) and the second GARP burst
/// (`garp_master_delay`, 5 s, later), so the pages that one-off work touched go too.
pub const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(12);

/// Our executable's read-only mappings with no private (copy-on-write) page, as (`start`,
/// `len`), from `/proc/self/smaps`. Those hold exactly the file's bytes, so dropping their
/// pages is safe; the RELRO mapping, written by the dynamic linker before it was made
/// read-only, has private pages and is left alone.
pub fn own_text_mappings() -> Vec<(usize, usize)> {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    let exe = exe.to_string_lossy().into_owned();
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    for l in smaps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let Some(first) = f.first() else { continue };
        if !first.ends_with(':') && first.contains('-') {
            cur = None;
            let (Some(perms), Some(path)) = (f.get(1), f.get(5)) else {
                continue;
            };
            if *path != exe || perms.contains('w') || !perms.starts_with('r') {
                continue;
            }
            let Some((a, b)) = first.split_once('-') else {
                continue;
            };
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                if b > a {
                    cur = Some((a, b - a));
                }
            }
        } else if *first == "Anonymous:" {
            if let Some(m) = cur.take() {
                if f.get(1) == Some(&"0") {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// Releases start-up pages: our executable's clean text/rodata pages, and free heap.
pub fn release_startup_memory() {
    for (start, len) in own_text_mappings() {
        // SAFETY: the range is one of our own read-only file mappings with no private page
        // (see `own_text_mappings`), page aligned as the kernel reports it: MADV_DONTNEED
        // only unmaps its pages, and any later access maps the same bytes again from the page
        // cache (a minor fault, no I/O while the file is cached).
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_our_text_and_survives_releasing_it() {
        let m = super::own_text_mappings();
        assert!(!m.is_empty(), "no read-only mapping of our executable");
        super::release_startup_memory();
        // Code still runs after its pages were released (they fault back in).
        assert_eq!(super::own_text_mappings(), m);
    }
}

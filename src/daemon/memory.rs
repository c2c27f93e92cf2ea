//! Giving start-up memory back once the daemon runs.
//!
//! Start-up touches code that a running daemon does not use again (CLI, config lexer/parser,
//! model checks, config rendering: several MB of our text) and leaves freed heap behind. The
//! text pages are clean and file-backed: once VRRP runs we ask the kernel to reclaim the ones
//! only we map (`madvise(MADV_PAGEOUT)`, Linux 5.4+); what the running loop needs is faulted
//! back from the page cache at once, anything else (the parser, on a reload) when used. Freed
//! heap goes back with `malloc_trim(0)`. Both are hints: errors (older kernels) are ignored.

/// `MADV_PAGEOUT` (Linux 5.4), not in every libc crate version.
const MADV_PAGEOUT: libc::c_int = 21;

/// Our executable's read-only mappings (`start`, `len`) from `/proc/self/maps`.
pub fn own_text_mappings() -> Vec<(usize, usize)> {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    let exe = exe.to_string_lossy().into_owned();
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let path = f.nth(3)?;
            if path != exe || perms.contains('w') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let a = usize::from_str_radix(a, 16).ok()?;
            let b = usize::from_str_radix(b, 16).ok()?;
            (b > a).then_some((a, b - a))
        })
        .collect()
}

/// Releases start-up pages: our executable's clean text/rodata pages, and free heap.
pub fn release_startup_memory() {
    for (start, len) in own_text_mappings() {
        // SAFETY: the range is one of our own read-only file mappings, page aligned as the
        // kernel reports it; MADV_PAGEOUT only drops clean pages, which fault back in on use.
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, MADV_PAGEOUT);
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

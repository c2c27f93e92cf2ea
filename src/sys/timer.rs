//! A precise one-shot timer (timerfd on CLOCK_MONOTONIC) for the VRRP loop. tokio's timers
//! round up to the millisecond and drift by that much per advert; keepalived's adverts and
//! master-down timers are accurate to well under a millisecond, and so must ours be.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::clock;

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

pub struct Timer {
    fd: AsyncFd<Fd>,
}

impl Timer {
    /// Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Timer> {
        let t = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // SAFETY: the TimerFd owns its descriptor and the AsyncFd owns the TimerFd.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(t), Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Timer { fd })
    }

    /// Completes at `deadline` (at once if it has passed). Cancel safe: a later call re-arms.
    pub async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        loop {
            let left = deadline.saturating_duration_since(clock::now());
            if left.is_zero() {
                return Ok(());
            }
            self.fd
                .get_ref()
                .0
                .set(
                    Expiration::OneShot(TimeSpec::from_duration(left)),
                    TimerSetTimeFlags::empty(),
                )
                .map_err(io::Error::from)?;
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            // SAFETY: read(2) into a local 8-byte buffer from a descriptor we own.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            // A read drains the timerfd (or finds it empty): either way it is not readable
            // now, so forget the readiness; otherwise the next sleep would see it, read
            // EAGAIN and arm the timer a second time (two wasted syscalls per advert).
            let _ = n;
            guard.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_on_time() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let t = Timer::new().expect("timerfd");
            let start = clock::now();
            t.sleep_until(start + Duration::from_millis(30))
                .await
                .expect("sleep");
            let late = clock::now() - start;
            assert!(late >= Duration::from_millis(30), "{late:?}");
            assert!(late < Duration::from_millis(60), "{late:?}");
            // a past deadline returns at once
            t.sleep_until(start).await.expect("sleep");
        });
    }
}

//! timerfds: every deadline of a sandbox is one of these in its epoll set.

use super::{check, own, SysResult};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// A non-blocking, close-on-exec monotonic timerfd, disarmed.
pub fn create() -> SysResult<OwnedFd> {
    // SAFETY: plain call.
    let fd = check(unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
        )
    } as libc::c_long)?;
    // SAFETY: just created, ours.
    Ok(unsafe { own(fd as i32) })
}

/// Fires once, `after` from now (never "disarmed": at least 1 ns). Also
/// clears an expiry not read yet.
pub fn arm(timer: &OwnedFd, after: Duration) -> SysResult<()> {
    let after = after.max(Duration::from_nanos(1));
    set(
        timer,
        libc::timespec {
            tv_sec: after.as_secs().min(i64::MAX as u64 / 2) as libc::time_t,
            tv_nsec: after.subsec_nanos() as libc::c_long,
        },
    )
}

/// Stops `timer` (and clears an expiry not read yet).
pub fn disarm(timer: &OwnedFd) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let _ = set(timer, zero);
}

fn set(timer: &OwnedFd, value: libc::timespec) -> SysResult<()> {
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: value,
    };
    // SAFETY: spec is valid.
    check(
        unsafe { libc::timerfd_settime(timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
            as libc::c_long,
    )
    .map(drop)
}

/// A timer that fires when the host's wall clock reaches `seconds` and
/// `nanos` (CLOCK_REALTIME, absolute: it follows changes to the clock).
pub fn at_wall_clock(seconds: i64, nanos: i64) -> SysResult<OwnedFd> {
    // SAFETY: plain call.
    let fd = check(unsafe {
        libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK)
    } as libc::c_long)?;
    // SAFETY: just created, ours.
    let timer = unsafe { own(fd as i32) };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: seconds as libc::time_t,
            tv_nsec: nanos as libc::c_long,
        },
    };
    // SAFETY: spec is valid.
    check(unsafe {
        libc::timerfd_settime(
            timer.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME,
            &spec,
            std::ptr::null_mut(),
        )
    } as libc::c_long)?;
    Ok(timer)
}

/// A timer armed `after` from now.
pub fn after(after: Duration) -> SysResult<OwnedFd> {
    let timer = create()?;
    arm(&timer, after)?;
    Ok(timer)
}

/// Takes an expiry off `timer` (non-blocking): a level-triggered timer left
/// expired keeps the sandbox fd readable and would spin the host.
/// A timer that fires every `period`, the first time one period from now.
pub fn every(period: Duration) -> SysResult<OwnedFd> {
    let timer = create()?;
    let tick = libc::timespec {
        tv_sec: period.as_secs() as libc::time_t,
        tv_nsec: period.subsec_nanos() as libc::c_long,
    };
    let spec = libc::itimerspec {
        it_interval: tick,
        it_value: tick,
    };
    // SAFETY: spec is valid.
    check(
        unsafe { libc::timerfd_settime(timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
            as libc::c_long,
    )?;
    Ok(timer)
}

/// Whether `timer` fired since it was last read (and reads it).
pub fn fired(timer: &OwnedFd) -> bool {
    let mut ticks = 0u64;
    // SAFETY: reading the timer's 8-byte tick count into a u64.
    let n = unsafe {
        libc::read(
            timer.as_raw_fd(),
            &mut ticks as *mut u64 as *mut libc::c_void,
            8,
        )
    };
    n == 8
}

pub fn consume(timer: &OwnedFd) {
    let mut ticks = 0u64;
    // SAFETY: reading the timer's 8-byte tick count into a u64.
    unsafe {
        libc::read(
            timer.as_raw_fd(),
            &mut ticks as *mut u64 as *mut libc::c_void,
            8,
        )
    };
}

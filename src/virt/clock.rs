//! The sandbox's wall clock (time_start): it shows the configured instant
//! when the sandbox is spawned and advances with the host's.
//!
//! With the vDSO hidden from every new program (virt/auxv.rs), the calls that
//! tell the time of day are syscalls: clock_gettime on the wall clocks,
//! gettimeofday and time are trapped and answered here, the host's clock
//! plus a fixed offset, written into the caller's buffer. Every other
//! clock (monotonic, boottime, CPU time) runs as made, so sleeps and
//! timers measured on them are untouched. A clock_nanosleep until a time
//! of the wall clock (TIMER_ABSTIME) is parked on a timer at the host's
//! equivalent instead: the sandbox's deadline, not the host's.

use crate::net::handler::{Outcome, Pending, PendingCall};
use crate::seccomp::notify::{Answer, Notification};
use crate::sys::{memory, timer};

/// The clocks that tell the time of day, moved by the offset (CLOCK_TAI
/// too, keeping its distance from UTC).
pub const WALL_CLOCKS: [libc::clockid_t; 4] = [
    libc::CLOCK_REALTIME,
    libc::CLOCK_REALTIME_COARSE,
    libc::CLOCK_REALTIME_ALARM,
    libc::CLOCK_TAI,
];

const NANOS: i128 = 1_000_000_000;

pub struct WallClock {
    /// What to add to the host's time, in nanoseconds.
    offset: i128,
}

impl WallClock {
    /// A clock that reads `seconds` (Unix time) now.
    pub fn starting_at(seconds: i64) -> WallClock {
        let now = host_nanos(libc::CLOCK_REALTIME).unwrap_or(0);
        WallClock {
            offset: seconds as i128 * NANOS - now,
        }
    }

    /// The answer to a trapped clock_gettime, gettimeofday or time.
    pub fn answer(&self, n: &Notification) -> Answer {
        let tid = n.tid();
        let result = match n.nr {
            libc::SYS_clock_gettime => self.clock_gettime(tid, n.int(0), n.args[1]),
            libc::SYS_gettimeofday => self.gettimeofday(tid, n.args[0], n.args[1]),
            libc::SYS_time => self.time(tid, n.args[0]),
            _ => Err(libc::ENOSYS),
        };
        match result {
            Ok(value) => Answer::Value(value),
            Err(errno) => Answer::Errno(errno),
        }
    }

    /// clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, request, _): the
    /// request is the sandbox's time; the call waits (parked, the step
    /// goes on) until the host's clock reaches the same instant.
    pub fn sleep_until(&self, n: &Notification) -> Outcome {
        let tid = n.tid();
        let request = match memory::read(tid, n.args[2], 16) {
            Ok(bytes) => bytes,
            Err(errno) => return Outcome::Answer(Answer::Errno(errno)),
        };
        let seconds = i64::from_ne_bytes(request[..8].try_into().expect("8 bytes"));
        let nanos = i64::from_ne_bytes(request[8..].try_into().expect("8 bytes"));
        if !(0..NANOS as i64).contains(&nanos) || seconds < 0 {
            return Outcome::Answer(Answer::Errno(libc::EINVAL));
        }
        let (seconds, nanos) = host_instant(seconds, nanos, self.offset);
        let fires = timer::at_wall_clock(seconds, nanos);
        match fires {
            Ok(fd) => Outcome::Pending(Pending {
                id: n.id,
                tid,
                fd,
                events: libc::EPOLLIN as u32,
                what: PendingCall::WallClockSleep,
            }),
            Err(errno) => Outcome::Answer(Answer::Errno(errno)),
        }
    }

    fn now(&self, clock: libc::clockid_t) -> Result<(i64, i64), i32> {
        Ok(split(host_nanos(clock)? + self.offset))
    }

    fn clock_gettime(&self, tid: libc::pid_t, clock: i32, out: u64) -> Result<i64, i32> {
        if !WALL_CLOCKS.contains(&clock) {
            return Err(libc::EINVAL);
        }
        let (seconds, nanos) = self.now(clock)?;
        write_pair(tid, out, seconds, nanos)?;
        Ok(0)
    }

    fn gettimeofday(&self, tid: libc::pid_t, tv: u64, tz: u64) -> Result<i64, i32> {
        if tv != 0 {
            let (seconds, nanos) = self.now(libc::CLOCK_REALTIME)?;
            write_pair(tid, tv, seconds, nanos / 1000)?;
        }
        if tz != 0 {
            // The host's time zone, as the kernel would give it.
            let zone = crate::sys::time_zone()?;
            let bytes: Vec<u8> = zone.iter().flat_map(|v| v.to_ne_bytes()).collect();
            memory::write(tid, tz, &bytes)?;
        }
        Ok(0)
    }

    fn time(&self, tid: libc::pid_t, out: u64) -> Result<i64, i32> {
        let (seconds, _) = self.now(libc::CLOCK_REALTIME)?;
        if out != 0 {
            memory::write(tid, out, &seconds.to_ne_bytes())?;
        }
        Ok(seconds)
    }
}

/// Nanoseconds as (seconds, nanoseconds) with the nanoseconds in
/// 0..1e9, as every timespec must have them: a read just before the
/// epoch (time_start 0 and the coarse clock, a tick behind the one the
/// offset was taken from) is -1 s and most of a second, not 0 s and a
/// negative part.
fn split(nanos: i128) -> (i64, i64) {
    (
        nanos.div_euclid(NANOS) as i64,
        nanos.rem_euclid(NANOS) as i64,
    )
}

/// The host's instant for the sandbox's `seconds` and `nanos` (both
/// valid): never before the epoch (a time past is due at once), never
/// past the seconds a timespec holds (as far as a sleep can wait: the
/// kernel takes that as forever too, rather than the EINVAL a wrapped,
/// negative value would get).
fn host_instant(seconds: i64, nanos: i64, offset: i128) -> (i64, i64) {
    let most = i64::MAX as i128 * NANOS + (NANOS - 1);
    split((seconds as i128 * NANOS + nanos as i128 - offset).clamp(0, most))
}

fn host_nanos(clock: libc::clockid_t) -> Result<i128, i32> {
    let now = crate::sys::clock_now(clock)?;
    Ok(now.tv_sec as i128 * NANOS + now.tv_nsec as i128)
}

/// A timespec or timeval (two 64-bit fields) into the caller's memory.
fn write_pair(tid: libc::pid_t, at: u64, first: i64, second: i64) -> Result<(), i32> {
    let mut bytes = first.to_ne_bytes().to_vec();
    bytes.extend_from_slice(&second.to_ne_bytes());
    memory::write(tid, at, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_valid_timespecs() {
        assert_eq!(split(-3_000_000), (-1, 997_000_000));
        assert_eq!(split(1_500_000_000), (1, 500_000_000));
        // A sleep until the end of time, on a clock behind the host's.
        let behind = -(1_700_000_000 * NANOS);
        assert_eq!(
            host_instant(i64::MAX, 999_999_999, behind),
            (i64::MAX, 999_999_999)
        );
        assert_eq!(host_instant(5, 0, 10 * NANOS), (0, 0));
        assert_eq!(host_instant(5, 7, -NANOS), (6, 7));
    }

    #[test]
    fn the_clock_starts_where_asked_and_advances() {
        let clock = WallClock::starting_at(1_000_000_000);
        let (first, _) = clock.now(libc::CLOCK_REALTIME).unwrap();
        assert!((1_000_000_000..1_000_000_005).contains(&first));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let later = host_nanos(libc::CLOCK_REALTIME).unwrap() + clock.offset;
        assert!(later >= first as i128 * NANOS + 20_000_000);
    }
}

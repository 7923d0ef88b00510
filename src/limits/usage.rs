//! max_memory and max_cpu, enforced from timerfds in the sandbox's fd:
//! each fires, the step samples the sandbox's processes and decides, and
//! the timer is re-armed. Nothing runs between steps, and a program that
//! allocates or computes pays no supervisor round trip for it.

use crate::limits::processes::Processes;
use crate::sys::{timer, SysResult};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Sampling period while the sandbox is far below its budget...
const MEMORY_PERIOD_RELAXED: Duration = Duration::from_millis(50);
/// ...and once it has used half of it.
const MEMORY_PERIOD_CLOSE: Duration = Duration::from_millis(10);
/// How many processes one step reads (each a /proc read of tens of
/// microseconds): a sandbox of thousands is sampled over several steps...
const MEMORY_PROCESSES_PER_STEP: usize = 64;
/// ...that many apart.
const MEMORY_SLICE_PERIOD: Duration = Duration::from_micros(500);

/// The sum of resident anonymous and shared memory over the sandbox's
/// processes, sampled; over the budget the sandbox is killed.
pub struct MemoryLimit {
    pub timer: OwnedFd,
}

impl MemoryLimit {
    pub fn new() -> SysResult<MemoryLimit> {
        Ok(MemoryLimit {
            timer: timer::after(MEMORY_PERIOD_CLOSE)?,
        })
    }

    /// Samples the sandbox and re-arms the timer; true when over budget,
    /// or when the sandbox could not be measured (fail closed).
    /// The budget is the live one (the host may change it); `None` only
    /// keeps the timer going.
    pub fn over_budget(&mut self, processes: &mut Processes, budget: Option<u64>) -> bool {
        let Some(budget) = budget else {
            return timer::arm(&self.timer, MEMORY_PERIOD_RELAXED).is_err();
        };
        let used = match processes.resident_bytes_slice(MEMORY_PROCESSES_PER_STEP) {
            Ok(Some(used)) => used,
            Ok(None) => return timer::arm(&self.timer, MEMORY_SLICE_PERIOD).is_err(),
            Err(_) => return true,
        };
        if used > budget {
            return true;
        }
        let period = if used >= budget / 2 {
            MEMORY_PERIOD_CLOSE
        } else {
            MEMORY_PERIOD_RELAXED
        };
        // A timer that cannot be re-armed would stop the checks: fail closed.
        timer::arm(&self.timer, period).is_err()
    }
}

/// Longest stretch the sandbox runs between two samples...
const CPU_RUN_LONGEST: Duration = Duration::from_millis(100);
/// ...and the shortest, so stopping and continuing stay a few dozen
/// signals a second.
const CPU_RUN_SHORTEST: Duration = Duration::from_millis(20);

/// While the sandbox is held stopped, how often the supervisor checks that
/// it stays so...
const CPU_HOLD_RECHECK: Duration = Duration::from_millis(10);
/// ...and how much CPU time it may still use over one stop before the
/// throttle counts as broken. A stopped process runs nothing; the slack is
/// for tasks that were deep in a syscall when stopped (they stop on their
/// way out of the kernel) and for a `SIGCONT` the kernel itself sends (to
/// an orphaned process group, say), which the next recheck undoes.
const CPU_MOST_WHILE_STOPPED: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Stop,
    Continue,
    Unchanged,
    /// Held stopped, but something of it ran since the last tick (a
    /// `SIGCONT` continued it): stop it again.
    Restop,
    /// It ran more than CPU_MOST_WHILE_STOPPED while held stopped: it
    /// continues itself (a timer of its own sending `SIGCONT`, which no
    /// filter sees), and a stop cannot hold it.
    Broken,
}

/// A share of one CPU, as a budget that grows with wall time and shrinks
/// with the CPU time the sandbox uses. In debt the sandbox is stopped
/// (SIGSTOP) until the debt is paid; with credit it runs until about the
/// time the credit would be spent by one busy thread.
///
/// A stop is a signal, and a job can arrange a `SIGCONT` the supervisor
/// never sees (a POSIX timer's signal lives in memory; the kernel continues
/// an orphaned process group itself), which continues it at once. Without
/// cgroups (the freezer) nothing stops a process for good, so the stop is
/// checked instead: while held, every CPU_HOLD_RECHECK the time its
/// processes ran is read (their CPU clocks); any is charged and the
/// sandbox stopped again, and past CPU_MOST_WHILE_STOPPED in one stop the
/// throttle is broken and the sandbox is killed (fail closed). Measured
/// with a timer sending `SIGCONT` every millisecond under max_cpu(20):
/// 100% of a CPU before, killed within ~0.1 s of its first stop now.
pub struct CpuThrottle {
    percent: u32,
    pub timer: OwnedFd,
    /// CPU time the sandbox may still use (negative: owes).
    credit_ns: i64,
    last: Instant,
    stopped: bool,
    /// CPU time the sandbox ran while held stopped, this stop.
    ran_while_stopped_ns: u64,
}

impl CpuThrottle {
    pub fn new(percent: u32) -> SysResult<CpuThrottle> {
        let share = Self::share_of(percent, CPU_RUN_LONGEST);
        Ok(CpuThrottle {
            percent,
            timer: timer::after(Duration::from_nanos(share as u64).max(CPU_RUN_SHORTEST))?,
            credit_ns: share,
            last: Instant::now(),
            stopped: false,
            ran_while_stopped_ns: 0,
        })
    }

    /// Is the sandbox stopped by the throttle now?
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    fn share_of(percent: u32, wall: Duration) -> i64 {
        (wall.as_nanos() * percent as u128 / 100).min(i64::MAX as u128) as i64
    }

    /// Accounts the time since the last tick, re-arms the timer, and says
    /// whether the sandbox must now stop or continue.
    pub fn tick(&mut self, processes: &mut Processes) -> SysResult<Throttle> {
        let now = Instant::now();
        let earned = Self::share_of(self.percent, now - self.last);
        self.last = now;
        let sample = processes.cpu_used_since_last();
        let used = sample.total_ns.min(i64::MAX as u64) as i64;
        let ran_held = self.stopped && sample.ran_ns > 0;
        if ran_held {
            self.ran_while_stopped_ns = self.ran_while_stopped_ns.saturating_add(sample.ran_ns);
        }
        // Unused credit does not pile up past one full run.
        let cap = Self::share_of(self.percent, CPU_RUN_LONGEST);
        self.credit_ns = (self.credit_ns.saturating_add(earned))
            .saturating_sub(used)
            .min(cap);
        let (next, stop) = if self.credit_ns < 0 {
            // Paid back at `percent` of wall time.
            let wall = (-self.credit_ns) as u128 * 100 / self.percent as u128;
            (
                Duration::from_nanos(wall.min(u64::MAX as u128) as u64).min(CPU_HOLD_RECHECK),
                true,
            )
        } else {
            let run = Duration::from_nanos(self.credit_ns as u64);
            (run.clamp(CPU_RUN_SHORTEST, CPU_RUN_LONGEST), false)
        };
        timer::arm(&self.timer, next)?;
        if self.ran_while_stopped_ns > CPU_MOST_WHILE_STOPPED.as_nanos() as u64 {
            return Ok(Throttle::Broken);
        }
        Ok(match (stop, self.stopped) {
            (true, false) => {
                self.stopped = true;
                self.ran_while_stopped_ns = 0;
                Throttle::Stop
            }
            (false, true) => {
                self.stopped = false;
                Throttle::Continue
            }
            (true, true) if ran_held => Throttle::Restop,
            _ => Throttle::Unchanged,
        })
    }
}

//! max_memory and max_cpu, enforced from timerfds in the sandbox's fd:
//! each fires, the step samples the sandbox's processes and decides, and
//! the timer is re-armed. Nothing runs between steps, and a program that
//! allocates or computes pays no supervisor round trip for it.

use crate::limits::processes::{CpuUsed, Processes};
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
        match next_memory_sample(used, budget) {
            None => true,
            // A timer that cannot be re-armed would stop the checks: fail
            // closed.
            Some(period) => timer::arm(&self.timer, period).is_err(),
        }
    }
}

/// When to sample again after a whole sample found `used` bytes: `None`
/// when that is over `budget`, sooner once half of it is used.
fn next_memory_sample(used: u64, budget: u64) -> Option<Duration> {
    if used > budget {
        return None;
    }
    Some(if used >= budget / 2 {
        MEMORY_PERIOD_CLOSE
    } else {
        MEMORY_PERIOD_RELAXED
    })
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
        let elapsed = now - self.last;
        self.last = now;
        let sample = processes.cpu_used_since_last();
        let (next, throttle) = self.account(elapsed, &sample);
        timer::arm(&self.timer, next)?;
        Ok(throttle)
    }

    /// Charges `sample` against the credit `elapsed` wall time earned:
    /// how long until the next tick, and what the sandbox must do now.
    fn account(&mut self, elapsed: Duration, sample: &CpuUsed) -> (Duration, Throttle) {
        let earned = Self::share_of(self.percent, elapsed);
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
            // Paid back at `percent` of wall time, rounded up: the credit
            // that wait earns (rounded down) must cover the whole debt, or
            // the next tick would find a few ns still owed.
            let wall = ((-self.credit_ns) as u128 * 100).div_ceil(self.percent as u128);
            (
                Duration::from_nanos(wall.min(u64::MAX as u128) as u64).min(CPU_HOLD_RECHECK),
                true,
            )
        } else {
            let run = Duration::from_nanos(self.credit_ns as u64);
            (run.clamp(CPU_RUN_SHORTEST, CPU_RUN_LONGEST), false)
        };
        if self.ran_while_stopped_ns > CPU_MOST_WHILE_STOPPED.as_nanos() as u64 {
            return (next, Throttle::Broken);
        }
        let throttle = match (stop, self.stopped) {
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
        };
        (next, throttle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    /// A child of the test that sleeps until killed.
    fn sleeper() -> Child {
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn end(mut child: Child) {
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The sandbox of a sleeping child.
    fn sandbox_of(child: &Child) -> Processes {
        Processes::new(child.id() as libc::pid_t, [-1, -1], false, -1, 0)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A sample of `ns` CPU time, all of it run by processes known before.
    fn ran(ns: u64) -> CpuUsed {
        CpuUsed {
            total_ns: ns,
            ran_ns: ns,
        }
    }

    const IDLE: CpuUsed = CpuUsed {
        total_ns: 0,
        ran_ns: 0,
    };

    #[test]
    fn memory_is_sampled_sooner_from_half_the_budget_and_over_it_is_over() {
        let relaxed = next_memory_sample(0, 1000).unwrap();
        assert_eq!(next_memory_sample(499, 1000), Some(relaxed));
        let close = next_memory_sample(500, 1000).unwrap();
        assert!(close < relaxed);
        // At the budget is not over it.
        assert_eq!(next_memory_sample(1000, 1000), Some(close));
        assert_eq!(next_memory_sample(1001, 1000), None);
        assert_eq!(next_memory_sample(1, 0), None);
        assert_eq!(next_memory_sample(u64::MAX, u64::MAX), Some(close));
    }

    #[test]
    fn a_sandbox_is_over_a_budget_below_what_its_process_holds() {
        let child = sleeper();
        let mut processes = sandbox_of(&child);
        let mut limit = MemoryLimit::new().unwrap();
        // A running `sleep` holds more than one byte, and less than all.
        assert!(limit.over_budget(&mut processes, Some(1)));
        assert!(!limit.over_budget(&mut processes, Some(u64::MAX)));
        // No budget (the host lifted it): never over.
        assert!(!limit.over_budget(&mut processes, None));
        end(child);
    }

    #[test]
    fn a_sandbox_that_cannot_be_measured_counts_as_over_its_budget() {
        // A thread's id is no process's: no pidfd holds it, so it is known
        // by number only and its memory cannot be told.
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // "pid/task/tid"
            let link = std::fs::read_link("/proc/thread-self").unwrap();
            let tid: libc::pid_t = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
            tid_tx.send(tid).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        let mut processes = Processes::new(tid, [-1, -1], false, -1, 0);
        assert_eq!(processes.count(), 1);
        let mut limit = MemoryLimit::new().unwrap();
        assert!(limit.over_budget(&mut processes, Some(u64::MAX)));
        stop_tx.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn a_sandbox_over_its_share_is_stopped_until_the_debt_is_paid_at_its_percent() {
        let mut throttle = CpuThrottle::new(25).unwrap();
        // 100 ms of wall time, all of it busy: 25 ms earned, 75 owed
        // past the initial credit of one run (25 ms).
        let (mut next, verdict) = throttle.account(ms(100), &ran(ms(100).as_nanos() as u64));
        assert_eq!(verdict, Throttle::Stop);
        assert!(throttle.stopped());
        assert!(next <= CPU_HOLD_RECHECK);
        // Held stopped, it runs nothing: the debt (50 ms) is paid back at
        // 25% of the wall time, 200 ms.
        let mut held = Duration::ZERO;
        loop {
            held += next;
            let (after, verdict) = throttle.account(next, &IDLE);
            next = after;
            match verdict {
                Throttle::Unchanged => assert!(held < ms(1000), "never continued"),
                Throttle::Continue => break,
                other => panic!("{other:?} while held and idle"),
            }
        }
        assert!(
            held >= ms(200) && held <= ms(200) + CPU_HOLD_RECHECK,
            "{held:?}"
        );
        assert!(!throttle.stopped());
        // Running again, until about when its credit runs out.
        assert!((CPU_RUN_SHORTEST..=CPU_RUN_LONGEST).contains(&next));
    }

    #[test]
    fn unused_credit_does_not_pile_up_past_one_run() {
        let mut throttle = CpuThrottle::new(50).unwrap();
        // Idle for a minute: still only one run's worth (50 ms) to spend.
        let (next, verdict) = throttle.account(Duration::from_secs(60), &IDLE);
        assert_eq!(verdict, Throttle::Unchanged);
        assert_eq!(next, ms(50));
        let (_, verdict) = throttle.account(Duration::ZERO, &ran(ms(60).as_nanos() as u64));
        assert_eq!(verdict, Throttle::Stop);
    }

    /// How late a timer's tick comes (a wake-up, a step): never on time.
    const LATE: Duration = Duration::from_micros(50);

    /// The share of wall time a thread that is always busy gets under
    /// `percent`, over `wall` of simulated ticks, each [`LATE`].
    fn busy_share(percent: u32, wall: Duration) -> f64 {
        let mut throttle = CpuThrottle::new(percent).unwrap();
        let (mut now, mut used) = (Duration::ZERO, Duration::ZERO);
        let mut next = Duration::from_nanos(throttle.credit_ns as u64).max(CPU_RUN_SHORTEST);
        while now < wall {
            // Busy while running; stopped, nothing runs.
            let elapsed = next + LATE;
            let this = if throttle.stopped() {
                IDLE
            } else {
                ran(elapsed.as_nanos() as u64)
            };
            used += Duration::from_nanos(this.total_ns);
            now += elapsed;
            let (after, verdict) = throttle.account(elapsed, &this);
            assert_ne!(verdict, Throttle::Broken);
            next = after;
        }
        used.as_secs_f64() / now.as_secs_f64()
    }

    #[test]
    fn a_busy_thread_gets_its_percent_of_the_wall_time_in_the_long_run() {
        for percent in [1, 10, 25, 50, 75, 99] {
            let share = busy_share(percent, Duration::from_secs(600));
            let wanted = f64::from(percent) / 100.0;
            assert!(
                (share - wanted).abs() < 0.01,
                "max_cpu({percent}): a busy thread got {:.1}%",
                share * 100.0
            );
        }
    }

    #[test]
    fn running_while_held_is_stopped_again_and_past_the_slack_the_throttle_is_broken() {
        let mut throttle = CpuThrottle::new(10).unwrap();
        // What ran before the stop is no running while held.
        let (_, verdict) = throttle.account(ms(100), &ran(ms(100).as_nanos() as u64));
        assert_eq!(verdict, Throttle::Stop);
        assert_eq!(throttle.account(ms(10), &IDLE).1, Throttle::Unchanged);
        // Something continues it (a SIGCONT of its own): 5 ms a tick.
        let step = ms(5);
        let mut ran_held = Duration::ZERO;
        loop {
            ran_held += step;
            let (_, verdict) = throttle.account(ms(10), &ran(step.as_nanos() as u64));
            if ran_held <= CPU_MOST_WHILE_STOPPED {
                assert_eq!(verdict, Throttle::Restop, "after {ran_held:?}");
            } else {
                assert_eq!(verdict, Throttle::Broken, "after {ran_held:?}");
                break;
            }
        }
    }

    #[test]
    fn the_slack_for_running_while_held_is_counted_anew_for_each_stop() {
        let mut throttle = CpuThrottle::new(50).unwrap();
        let slack = CPU_MOST_WHILE_STOPPED.as_nanos() as u64;
        for _ in 0..3 {
            let (_, verdict) = throttle.account(ms(100), &ran(ms(200).as_nanos() as u64));
            assert_eq!(verdict, Throttle::Stop);
            // Most of the slack, once in each stop.
            let (_, verdict) = throttle.account(Duration::ZERO, &ran(slack * 4 / 5));
            assert_eq!(verdict, Throttle::Restop);
            // Then held idle until paid.
            let mut verdict = Throttle::Unchanged;
            for _ in 0..1000 {
                verdict = throttle.account(CPU_HOLD_RECHECK, &IDLE).1;
                if verdict != Throttle::Unchanged {
                    break;
                }
            }
            assert_eq!(verdict, Throttle::Continue);
        }
    }

    #[test]
    fn a_tick_of_a_sleeping_sandbox_lets_it_run() {
        let child = sleeper();
        let mut processes = sandbox_of(&child);
        let mut throttle = CpuThrottle::new(50).unwrap();
        // A sleeping process uses next to no CPU: far below a run's credit.
        assert_eq!(throttle.tick(&mut processes), Ok(Throttle::Unchanged));
        assert!(!throttle.stopped());
        end(child);
    }

    /// A wait rounded down left a few ns owed, and the next tick was armed
    /// ~1 ns ahead: one more wake-up (a CPU sample of every process) each
    /// stop.
    #[test]
    fn waiting_out_the_pay_back_time_pays_the_whole_debt() {
        for percent in [3, 7, 33, 99] {
            let mut throttle = CpuThrottle::new(percent).unwrap();
            // Just past its credit: a debt paid within one recheck.
            let credit = throttle.credit_ns as u64;
            let (wait, verdict) = throttle.account(Duration::ZERO, &ran(credit + 1_234));
            assert_eq!(verdict, Throttle::Stop);
            assert!(wait < CPU_HOLD_RECHECK);
            let (next, verdict) = throttle.account(wait, &IDLE);
            assert_eq!(
                verdict,
                Throttle::Continue,
                "max_cpu({percent}): still held after the wait it was given, next tick in {next:?}"
            );
        }
    }
}

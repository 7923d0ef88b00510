//! Stopping the whole sandbox while a call is shown to the observer.
//!
//! exec and open cannot be made on the child's behalf (not exec at all;
//! open not without widening Landlock's grants, issue #6), so the kernel
//! must run them itself, re-reading their path and argv from the child's
//! memory. For what the observer is shown to be what runs, nothing may
//! change that memory in between: the supervisor SIGSTOPs every process
//! group of the sandbox, waits (on a timer in the sandbox fd, never in a
//! step) until every other task is seen stopped, reads the arguments,
//! decides, answers, and continues the sandbox.
//!
//! Every thread is sent its own SIGSTOP besides the group's: a
//! process-wide stop is handed to one thread, and if the kernel picks the
//! trapped caller (its wait ignores all but fatal signals) or a parent
//! blocked in vfork, no thread ever acts on it.
//!
//! A task counts as quiet when it is stopped or dead, is a caller waiting
//! on the supervisor, or waits for a vfork child (it runs no code until
//! that child execs or exits). A task in any other state may still return
//! from a syscall that writes its memory, so it is waited for; past
//! [`DEADLINE`] the waiting calls fail with EAGAIN (fail closed).
//!
//! The kernel reads the arguments again only when the allowed caller runs
//! its call, after the answer: so the sandbox stays stopped until each
//! allowed caller is past that read. An exec is past it once the caller
//! stops on its way back (the stop is pending for it too) or is gone
//! (watched by exec_watch.rs, which says when each is settled); an open
//! once the caller is seen anywhere but running (the path is copied first
//! thing, and an open may block for good, on a FIFO say, while every other
//! process is stopped). A call not past it within [`EXEC_DEADLINE`] kills
//! the sandbox.

use crate::limits::processes::Processes;
use crate::seccomp::notify::Notification;
use crate::supervisor::exec_watch::{self, Ending, Settled};
use crate::sys::procfs::{self, gone};
use crate::sys::{timer, SysResult};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// How long stopping may take before the calls are refused.
pub const DEADLINE: Duration = Duration::from_secs(1);
/// How long an allowed call may take to read its arguments.
pub use exec_watch::EXEC_DEADLINE;

pub struct Freeze {
    /// The calls to show once the sandbox is quiet, oldest first.
    pub waiting: VecDeque<Notification>,
    /// Allowed open callers whose call has not read its path yet
    /// (process, thread), and when the first was answered.
    pub answered: Vec<(libc::pid_t, libc::pid_t)>,
    answered_at: Option<Instant>,
    /// Processes stopped past an allowed exec (a new image, or back after
    /// a failure): the supervisor checks what each really runs, and
    /// rewrites its new image, before the sandbox goes on.
    pub settled_execs: Vec<libc::pid_t>,
    /// An allowed exec's program ran without its stop.
    exec_ran: bool,
    /// An allowed exec did not stop within EXEC_DEADLINE.
    exec_late: bool,
    /// Tasks of the sandbox the last quiet check saw, callers included.
    tasks: usize,
    /// The tasks the quiet check saw stopped, to check they stay so.
    held: Vec<Held>,
    pub timer: OwnedFd,
    since: Instant,
    /// Rechecks so far in the current wait (for the stop, then for the
    /// answered callers).
    rounds: u32,
}

/// Where the allowed callers are.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    Yes,
    NotYet,
    /// An exec did not get past its arguments in time.
    Stuck,
    /// A task seen stopped ran meanwhile (see `Freeze::still_held`).
    Broken,
}

/// A task the quiet check saw unable to run.
struct Held {
    pid: libc::pid_t,
    tid: libc::pid_t,
    /// Its context switches then.
    switches: u64,
    /// Blocked in vfork: it wakes when its child execs, and stops (its
    /// SIGSTOP is pending) before running any of its own code; it may be
    /// seen running in the kernel on the way (R), which cannot be told
    /// from running its own code: a narrower check for these.
    in_vfork: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Quiet {
    Yes,
    NotYet,
    /// The deadline passed: refuse the calls.
    TooLong,
}

impl Freeze {
    pub fn new(first: Notification) -> SysResult<Freeze> {
        Ok(Freeze {
            waiting: VecDeque::from([first]),
            answered: Vec::new(),
            answered_at: None,
            settled_execs: Vec::new(),
            exec_ran: false,
            exec_late: false,
            tasks: usize::MAX,
            held: Vec::new(),
            timer: timer::after(exec_watch::recheck_delay(0))?,
            since: Instant::now(),
            rounds: 1,
        })
    }

    /// Is every task of the sandbox, apart from `exempt` (the callers the
    /// supervisor holds), unable to run? Re-arms the timer when not yet.
    /// `groups`: the sandbox's process groups, to find its processes when
    /// forks are not counted.
    pub fn check(
        &mut self,
        processes: &mut Processes,
        exempt: &[libc::pid_t],
        groups: &[libc::pid_t],
    ) -> Quiet {
        if !processes.counts_forks() && !processes.discover(groups) {
            return self.not_yet();
        }
        if let Some((tasks, held)) = all_quiet(processes, exempt) {
            self.tasks = tasks;
            self.held = held;
            return Quiet::Yes;
        }
        self.not_yet()
    }

    fn next_recheck(&mut self) -> Duration {
        let delay = exec_watch::recheck_delay(self.rounds);
        self.rounds += 1;
        delay
    }

    fn not_yet(&mut self) -> Quiet {
        let delay = self.next_recheck();
        if self.since.elapsed() > DEADLINE || timer::arm(&self.timer, delay).is_err() {
            return Quiet::TooLong;
        }
        Quiet::NotYet
    }

    /// Notes an allowed open: the sandbox stays stopped until its call is
    /// past reading its path. (Allowed execs are watched by exec_watch.rs,
    /// and their ends handed over by `exec_settled`.)
    pub fn answered_open(&mut self, pid: libc::pid_t, tid: libc::pid_t) {
        // The caller alone in the sandbox: nobody can change its memory.
        if self.tasks <= 1 {
            return;
        }
        self.answered.push((pid, tid));
        self.answered_at.get_or_insert_with(Instant::now);
        self.rounds = 0;
    }

    /// An exec let through during this freeze is done waiting for.
    pub fn exec_settled(&mut self, settled: &Settled) {
        match settled.how {
            Ending::Stopped => self.settled_execs.push(settled.pid),
            Ending::Ran => self.exec_ran = true,
            Ending::Late => self.exec_late = true,
        }
    }

    /// Has every task the quiet check saw stopped stayed so? A SIGCONT
    /// the job arranged beforehand (a POSIX timer's signal, say, which no
    /// filter can see in memory) or the kernel's own to an orphaned
    /// process group continues a stopped process and drops its pending
    /// stops: then what the supervisor read may have changed before the
    /// kernel read it again. Unreadable counts as ran (fail closed).
    pub fn still_held(&self) -> bool {
        self.held
            .iter()
            .all(|h| match procfs::task_activity(h.pid, h.tid) {
                Ok(('T' | 't', n)) => h.in_vfork || n == h.switches,
                Ok(('Z' | 'X', _)) => true,
                // Woken by its child's exec, on its way to the stop
                // pending for it (still in the kernel: R).
                Ok(('D' | 'R', _)) => h.in_vfork,
                Ok(_) => false,
                Err(e) => gone(e),
            })
    }

    /// Are the allowed callers past their arguments? Re-arms the timer
    /// when opens are not yet; `execs_watched`: an exec let through is
    /// still unsettled (its watch's timer comes back here).
    pub fn drained(&mut self, execs_watched: bool) -> Drained {
        if !self.still_held() || self.exec_ran {
            return Drained::Broken;
        }
        if self.exec_late {
            return Drained::Stuck;
        }
        self.answered
            .retain(|&(pid, tid)| match procfs::task_state(pid, tid) {
                Ok('R') => true,
                Ok(_) => false,
                Err(e) => !gone(e),
            });
        if self.answered.is_empty() {
            return match execs_watched {
                true => Drained::NotYet,
                false => Drained::Yes,
            };
        }
        let late = self
            .answered_at
            .is_some_and(|at| at.elapsed() > EXEC_DEADLINE);
        let delay = self.next_recheck();
        if late || timer::arm(&self.timer, delay).is_err() {
            return Drained::Stuck;
        }
        Drained::NotYet
    }
}

/// Sends SIGSTOP to every thread of every known process (the caller of
/// [`Freeze`] also signals every process group).
pub fn stop_every_thread(processes: &mut Processes, groups: &[libc::pid_t]) {
    if !processes.counts_forks() {
        processes.discover(groups);
    }
    for pid in processes.pids() {
        for tid in procfs::threads_of(pid).unwrap_or_default() {
            let _ = crate::sys::tgkill(pid, tid, libc::SIGSTOP);
        }
    }
}

/// When every task is quiet: how many there are, and the stopped ones
/// with their context switches (see `Freeze::still_held`). None when not
/// (yet).
fn all_quiet(processes: &mut Processes, exempt: &[libc::pid_t]) -> Option<(usize, Vec<Held>)> {
    if !processes.settle_stopped() {
        return None;
    }
    let mut tasks = 0;
    let mut held = Vec::new();
    for pid in processes.pids() {
        let tids = match procfs::threads_of(pid) {
            Ok(tids) => tids,
            Err(e) if gone(e) => continue,
            Err(_) => return None,
        };
        tasks += tids.len();
        for tid in tids.into_iter().filter(|t| !exempt.contains(t)) {
            let (in_vfork, switches) = match procfs::task_activity(pid, tid) {
                // A task shows T from the moment it sets the state, while it
                // is still switching off its CPU (which counts a switch):
                // reading its `syscall` file waits until it is off.
                Ok(('T' | 't', _)) => match settled_activity(pid, tid) {
                    Ok(('T' | 't', n)) => (false, n),
                    Ok(_) => return None,
                    Err(e) if gone(e) => continue,
                    Err(_) => return None,
                },
                Ok(('Z' | 'X', _)) => continue,
                Ok(('D', n)) if waits_for_vfork_child(pid, tid) => (true, n),
                Ok(_) => return None,
                Err(e) if gone(e) => continue,
                Err(_) => return None,
            };
            held.push(Held {
                pid,
                tid,
                switches,
                in_vfork,
            });
        }
    }
    Some((tasks, held))
}

/// `task_activity` once the task is off its CPU: the kernel makes a read
/// of its `syscall` file wait for that (EBUSY: it runs again).
fn settled_activity(pid: libc::pid_t, tid: libc::pid_t) -> procfs::Read<(char, u64)> {
    match procfs::current_syscall(pid, tid) {
        Ok(_) | Err(libc::EBUSY) => procfs::task_activity(pid, tid),
        Err(e) => Err(e),
    }
}

/// Is `tid` blocked in vfork (or a clone with CLONE_VFORK, as
/// posix_spawn makes), waiting for the child that shares its memory?
fn waits_for_vfork_child(pid: libc::pid_t, tid: libc::pid_t) -> bool {
    matches!(
        procfs::current_syscall(pid, tid),
        Ok(nr) if nr == libc::SYS_vfork || nr == libc::SYS_clone || nr == libc::SYS_clone3
    )
}

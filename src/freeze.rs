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
//! A task counts as quiet when it is stopped or dead, is a caller waiting
//! on the supervisor, or waits for a vfork child (it runs no code until
//! that child execs or exits). A task in any other state may still return
//! from a syscall that writes its memory, so it is waited for; past
//! [`DEADLINE`] the waiting calls fail with EAGAIN (fail closed).

use crate::procfs::{self, gone};
use crate::processes::Processes;
use crate::seccomp::notify::Notification;
use crate::sys::{timer, SysResult};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// How long stopping may take before the calls are refused.
pub const DEADLINE: Duration = Duration::from_secs(1);
/// How often the stop is checked meanwhile.
const RECHECK: Duration = Duration::from_micros(200);

pub struct Freeze {
    /// The calls to show once the sandbox is quiet, oldest first.
    pub waiting: VecDeque<Notification>,
    pub timer: OwnedFd,
    since: Instant,
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
            timer: timer::after(RECHECK)?,
            since: Instant::now(),
        })
    }

    /// Is every task of the sandbox, apart from `exempt` (the callers the
    /// supervisor holds), unable to run? Re-arms the timer when not yet.
    pub fn check(&self, processes: &mut Processes, exempt: &[libc::pid_t]) -> Quiet {
        if all_quiet(processes, exempt) {
            return Quiet::Yes;
        }
        if self.since.elapsed() > DEADLINE || timer::arm(&self.timer, RECHECK).is_err() {
            return Quiet::TooLong;
        }
        Quiet::NotYet
    }
}

fn all_quiet(processes: &mut Processes, exempt: &[libc::pid_t]) -> bool {
    if !processes.settle_stopped() {
        return false;
    }
    for pid in processes.pids() {
        let tids = match procfs::threads_of(pid) {
            Ok(tids) => tids,
            Err(e) if gone(e) => continue,
            Err(_) => return false,
        };
        for tid in tids.into_iter().filter(|t| !exempt.contains(t)) {
            match procfs::task_state(pid, tid) {
                Ok('T' | 't' | 'Z' | 'X') => {}
                Ok('D') if waits_for_vfork_child(pid, tid) => {}
                Ok(_) => return false,
                Err(e) if gone(e) => {}
                Err(_) => return false,
            }
        }
    }
    true
}

/// Is `tid` blocked in vfork (or a clone with CLONE_VFORK, as
/// posix_spawn makes), waiting for the child that shares its memory?
fn waits_for_vfork_child(pid: libc::pid_t, tid: libc::pid_t) -> bool {
    matches!(
        procfs::current_syscall(pid, tid),
        Ok(nr) if nr == libc::SYS_vfork || nr == libc::SYS_clone || nr == libc::SYS_clone3
    )
}

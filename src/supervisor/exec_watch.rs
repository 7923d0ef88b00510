//! Execs that must stop before their new program's first instruction.
//!
//! A new image is rewritten (virt/auxv.rs: random_seed, time_start) or
//! checked (fs_deny: what it really runs) before it runs, so an allowed
//! exec is answered with a SIGSTOP pending for its caller: the kernel
//! acts on it once the exec is done, on the way to the first instruction
//! of the new program (or back into the old one, when the exec failed).
//! Three kinds of exec get there:
//!
//! - the command's own, at spawn: the handshake (spawn/mod.rs) sends the
//!   stop and waits on the pidfd of our own child, before any other
//!   process of the sandbox exists; [`first_image`] takes it from there;
//! - an exec let through during a freeze (freeze.rs), the whole sandbox
//!   stopped: watched here, and the freeze ends once each is settled;
//! - an exec stopped alone, when nothing else stops the sandbox: only the
//!   caller gets a SIGSTOP (another process of the sandbox could still
//!   SIGCONT it early: that is caught below, and the sandbox killed).
//!
//! The last two are processes we cannot wait for (not our children), so
//! [`ExecWatch`] rechecks them on a timer in the sandbox fd (never in a
//! step), soon at first, and gives each [`EXEC_DEADLINE`].

use crate::error::{Error, Result};
use crate::sys::procfs::{self, gone};
use crate::sys::{process, timer, SysResult};
use crate::virt::auxv::Rewriter;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long an allowed exec may take to stop past its call.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(10);
/// Rechecks: soon at first (an exec usually lands within tens of
/// microseconds, and its caller, or the sandbox, waits stopped
/// meanwhile), then at most this often.
const FIRST_RECHECK: Duration = Duration::from_micros(25);
const RECHECK: Duration = Duration::from_micros(200);

/// The execs answered with a stop pending, until each is settled.
pub struct ExecWatch {
    execs: Vec<Watched>,
    /// The next recheck, in the sandbox fd.
    pub timer: OwnedFd,
    rounds: u32,
}

/// An allowed exec being watched.
struct Watched {
    pid: libc::pid_t,
    tid: libc::pid_t,
    /// Its process's auxiliary vector before the exec (see `exec_state`).
    image_before: Vec<u8>,
    /// Let through during a freeze (else stopped alone).
    during_freeze: bool,
    answered_at: Instant,
}

/// A watched exec done waiting for.
#[derive(Debug, PartialEq, Eq)]
pub struct Settled {
    pub pid: libc::pid_t,
    pub during_freeze: bool,
    pub how: Ending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Stopped past its exec (a new image, or back after a failure): to
    /// rewrite and continue.
    Stopped,
    /// Its new program ran without the stop (`ExecState::Unstopped`).
    Ran,
    /// Not stopped within EXEC_DEADLINE.
    Late,
}

/// Where a watched exec stands.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecState {
    /// Stopped past its exec (a new image, or back after a failure).
    Stopped,
    /// Killed (SIGKILL) before it got there.
    Killed,
    /// Not seen stopped yet: still in its exec (or, when its new image
    /// cannot be told from the old, running unstopped: that ends as
    /// `Ending::Late` at EXEC_DEADLINE).
    Running,
    /// Its new program ran without the stop that was pending for it
    /// (someone continued it): it ended other than by SIGKILL, or it
    /// sleeps (S) in a new image, which only its own code can have asked
    /// for (the exec itself waits uninterruptibly, D, and a task on its
    /// way out of the kernel is R).
    Unstopped,
}

impl ExecWatch {
    pub fn new() -> SysResult<ExecWatch> {
        Ok(ExecWatch {
            execs: Vec::new(),
            timer: timer::create()?,
            rounds: 0,
        })
    }

    /// Notes an exec about to be answered with a stop pending for thread
    /// `tid` of process `pid`, and checks soon. `image_before`: the
    /// process's auxiliary vector now.
    pub fn watch(
        &mut self,
        pid: libc::pid_t,
        tid: libc::pid_t,
        image_before: Vec<u8>,
        during_freeze: bool,
    ) -> SysResult<()> {
        self.execs.push(Watched {
            pid,
            tid,
            image_before,
            during_freeze,
            answered_at: Instant::now(),
        });
        self.rounds = 0;
        self.rearm()
    }

    /// Stops watching thread `tid`'s exec (never let through).
    pub fn forget(&mut self, tid: libc::pid_t) {
        self.execs.retain(|e| e.tid != tid);
    }

    /// Is an exec let through during a freeze still unsettled?
    pub fn watches_frozen(&self) -> bool {
        self.execs.iter().any(|e| e.during_freeze)
    }

    /// The execs done waiting for (a SIGKILLed one just leaves); re-arms
    /// the timer for the rest.
    pub fn settle(&mut self) -> SysResult<Vec<Settled>> {
        timer::consume(&self.timer);
        let mut done = Vec::new();
        self.execs.retain(|e| {
            let how = match exec_state(e.pid, e.tid, &e.image_before) {
                ExecState::Stopped => Ending::Stopped,
                ExecState::Killed => return false,
                ExecState::Unstopped => Ending::Ran,
                ExecState::Running if e.answered_at.elapsed() > EXEC_DEADLINE => Ending::Late,
                ExecState::Running => return true,
            };
            done.push(Settled {
                pid: e.pid,
                during_freeze: e.during_freeze,
                how,
            });
            false
        });
        if !self.execs.is_empty() {
            self.rearm()?;
        }
        Ok(done)
    }

    fn rearm(&mut self) -> SysResult<()> {
        timer::arm(&self.timer, recheck_delay(self.rounds))?;
        self.rounds += 1;
        Ok(())
    }
}

/// The delay before recheck number `round` (from 0): doubling from
/// FIRST_RECHECK up to RECHECK. The freeze's own waits use it too.
pub fn recheck_delay(round: u32) -> Duration {
    (FIRST_RECHECK * 2u32.pow(round.min(8))).min(RECHECK)
}

/// Rewrites the new image of stopped process `pid`, if any: Ok(false)
/// when `pid` stands back in its old program (its exec failed). An error:
/// a new image whose vector could not be rewritten, which must not run.
/// With no rewriter there is nothing to change.
pub fn rewrite(rewriter: Option<&mut Rewriter>, pid: libc::pid_t) -> SysResult<bool> {
    match rewriter {
        Some(rewriter) => rewriter.fix(pid),
        None => Ok(true),
    }
}

/// The command's own image, stopped by the spawn's handshake on its way
/// to its first instruction: rewritten, then continued. Waiting on the
/// pidfd is exact here (our own child, alone in the sandbox) and consumes
/// the stop, so the host's own waits never report it. A failure kills the
/// child (the spawn fails).
pub fn first_image(
    pidfd: &OwnedFd,
    pid: libc::pid_t,
    rewriter: &mut Rewriter,
    exe: &str,
) -> Result<()> {
    let pidfd = pidfd.as_raw_fd();
    let fixed = match process::wait_stopped(pidfd) {
        Ok(true) => rewrite(Some(rewriter), pid).and_then(|new| match new {
            true => process::pidfd_send_signal(pidfd, libc::SIGCONT),
            false => Err(libc::EIO),
        }),
        // Killed before it ran: its end is the supervisor's to report.
        Ok(false) => Ok(()),
        Err(errno) => Err(errno),
    };
    fixed.map_err(|errno| {
        process::kill_and_reap(pidfd);
        Error::new(
            errno,
            format!(
                "spawn: rewriting the auxiliary vector of \"{}\" (random_seed, time_start): {}",
                exe,
                crate::error::strerror(errno)
            ),
        )
    })
}

/// Where a watched exec stands (see `ExecState`).
pub fn exec_state(pid: libc::pid_t, tid: libc::pid_t, image_before: &[u8]) -> ExecState {
    match exec_settled(pid, tid) {
        Some(true) => ExecState::Stopped,
        Some(false) => match procfs::killed_zombie(pid) {
            Ok(true) => ExecState::Killed,
            // Reaped already, or ended some other way: it ran.
            _ => ExecState::Unstopped,
        },
        None => {
            let sleeping = matches!(procfs::task_state(pid, pid), Ok('S'));
            let new_image = procfs::read_bytes(format!("/proc/{pid}/auxv"))
                .is_ok_and(|image| image != image_before);
            match sleeping && new_image {
                true => ExecState::Unstopped,
                false => ExecState::Running,
            }
        }
    }
}

/// Where thread `tid` of process `pid`, answered for an exec, stands:
/// Some(true) when the process is stopped past the exec (whether it made a
/// new image or failed), Some(false) when it is gone, None while the exec
/// still runs. A thread other than the first takes the process's pid when
/// its exec succeeds: until its own tid is gone, the first thread may be
/// the old one, stopped or being killed.
fn exec_settled(pid: libc::pid_t, tid: libc::pid_t) -> Option<bool> {
    let state = |pid, tid| match procfs::task_state(pid, tid) {
        Ok('T' | 't') => Some(true),
        Ok('Z' | 'X') => Some(false),
        Ok(_) => None,
        Err(e) if gone(e) => Some(false),
        // Unreadable: still counted as running, until the deadline.
        Err(_) => None,
    };
    if tid != pid {
        match state(pid, tid) {
            // Stopped with its own tid: its exec failed.
            Some(true) => return Some(true),
            None => return None,
            Some(false) => {}
        }
    }
    state(pid, pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rechecks_double_up_to_their_bound() {
        assert_eq!(recheck_delay(0), FIRST_RECHECK);
        assert_eq!(recheck_delay(1), FIRST_RECHECK * 2);
        assert_eq!(recheck_delay(3), RECHECK);
        assert_eq!(recheck_delay(u32::MAX), RECHECK);
    }

    #[test]
    fn forgotten_and_frozen_execs() {
        let mut watch = ExecWatch::new().unwrap();
        assert!(!watch.watches_frozen());
        // Our own process, its image unchanged: an exec still under way.
        let me = crate::sys::getpid();
        let image = procfs::read_bytes(format!("/proc/{me}/auxv")).unwrap();
        watch.watch(me, me, image, true).unwrap();
        assert!(watch.watches_frozen());
        assert_eq!(watch.settle().unwrap(), Vec::new());
        assert!(watch.watches_frozen());
        watch.forget(me);
        assert!(!watch.watches_frozen());
    }

    #[test]
    fn a_process_gone_unkilled_ran() {
        // A child that exits by itself: an exec whose program ran.
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let mut child = child;
        child.wait().unwrap();
        assert_eq!(exec_state(pid, pid, &[]), ExecState::Unstopped);
        let mut watch = ExecWatch::new().unwrap();
        watch.watch(pid, pid, Vec::new(), false).unwrap();
        let settled = watch.settle().unwrap();
        assert_eq!(
            settled,
            vec![Settled {
                pid,
                during_freeze: false,
                how: Ending::Ran
            }]
        );
    }
}

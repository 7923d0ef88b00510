//! The sandbox's process groups: the one the child starts, and every one a
//! sandbox process makes later with setsid() or setpgid(). A process can
//! leave a group but not the set, so signalling every group reaches every
//! process, daemons that double-forked into a session of their own
//! included.
//!
//! setsid and setpgid are trapped. Their arguments are registers, so the
//! decision needs no child memory and the call is let through as made.
//! Each group is kept with a pidfd of its leader: a pidfd holds the pid, so
//! the group id cannot be reused by someone else while we may signal it.
//! setpgid into a group that is not the sandbox's (the host's, say) is
//! refused: a group signal would otherwise reach the host, and the process
//! would hide there.

use crate::procfs::{parent_of, process_of};
use crate::seccomp::notify::{Answer, Notification};
use crate::sys::{self, process};
use std::os::fd::{AsRawFd, OwnedFd};

/// Most groups kept; past it (after dropping the empty ones) setsid and
/// setpgid fail with EAGAIN rather than let a group go untracked.
const MAX_GROUPS: usize = 4096;

#[derive(Default)]
pub struct Groups {
    /// (group id, pidfd of its leader).
    made: Vec<(libc::pid_t, OwnedFd)>,
}

/// Is any process left in group `pgid`?
fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks.
    unsafe { libc::kill(-pgid, 0) == 0 || sys::errno() == libc::EPERM }
}

impl Groups {
    /// Is `pgid` the sandbox's first group or one it made?
    pub fn has(&self, main_group: libc::pid_t, pgid: libc::pid_t) -> bool {
        self.contains(main_group, pgid)
    }

    fn contains(&self, main_group: libc::pid_t, pgid: libc::pid_t) -> bool {
        pgid == main_group || self.made.iter().any(|(g, _)| *g == pgid)
    }

    /// Keeps the group process `leader` is about to lead. `leader` must be
    /// the caller or the caller's child (as the kernel itself requires):
    /// checked here too, on the process the pidfd pins, because a group id
    /// we keep is one we will signal. `still_waiting` (the notification is
    /// live) is asked after the pidfd pins the process and before anything
    /// is kept: only then is `caller`, read from /proc, the real caller.
    fn keep(
        &mut self,
        leader: libc::pid_t,
        caller: libc::pid_t,
        still_waiting: impl Fn() -> bool,
    ) -> Result<(), i32> {
        if self.made.iter().any(|(g, _)| *g == leader) {
            return Ok(());
        }
        if self.made.len() >= MAX_GROUPS {
            self.made.retain(|(g, _)| group_alive(*g));
            if self.made.len() >= MAX_GROUPS {
                return Err(libc::EAGAIN);
            }
        }
        let pidfd = process::pidfd_open(leader, 0)?;
        // SAFETY: a new fd we own.
        let pidfd = unsafe { sys::own(pidfd) };
        if leader != caller && parent_of(leader) != Ok(caller) {
            return Err(libc::ESRCH);
        }
        if !still_waiting() {
            return Err(libc::EINTR);
        }
        self.made.push((leader, pidfd));
        Ok(())
    }

    /// setsid(): the caller leads a new group (and session).
    pub fn setsid(&mut self, n: &Notification, is_live: impl Fn(u64) -> bool) -> Answer {
        let Ok(caller) = process_of(n.pid as libc::pid_t) else {
            return Answer::Errno(libc::ESRCH);
        };
        if let Err(e) = self.keep(caller, caller, || is_live(n.id)) {
            return Answer::Errno(e);
        }
        if !is_live(n.id) {
            return Answer::Errno(libc::EINTR);
        }
        Answer::ContinueOnRegisters
    }

    /// setpgid(pid, pgid): a new group led by `pid` (pgid 0 or pgid == pid),
    /// or a move into an existing group, which must be the sandbox's.
    pub fn setpgid(
        &mut self,
        n: &Notification,
        main_group: libc::pid_t,
        is_live: impl Fn(u64) -> bool,
    ) -> Answer {
        let (pid, pgid) = (n.args[0] as u32 as i32, n.args[1] as u32 as i32);
        if pid < 0 || pgid < 0 {
            return Answer::Errno(libc::EINVAL);
        }
        let Ok(caller) = process_of(n.pid as libc::pid_t) else {
            return Answer::Errno(libc::ESRCH);
        };
        let target = if pid == 0 { caller } else { pid };
        let group = if pgid == 0 { target } else { pgid };
        if group == target {
            if let Err(e) = self.keep(group, caller, || is_live(n.id)) {
                return Answer::Errno(e);
            }
        } else if !self.contains(main_group, group) {
            return Answer::Errno(libc::EPERM);
        }
        if !is_live(n.id) {
            return Answer::Errno(libc::EINTR);
        }
        Answer::ContinueOnRegisters
    }

    /// The id of every group the sandbox has, its first one included.
    pub fn ids(&self, main_group: libc::pid_t) -> Vec<libc::pid_t> {
        std::iter::once(main_group)
            .chain(self.made.iter().map(|(g, _)| *g))
            .collect()
    }

    /// Signals every group the sandbox made.
    pub fn signal_all(&self, sig: i32) {
        for (pgid, leader) in &self.made {
            // SAFETY: plain kill of a group whose id our pidfd reserves.
            unsafe { libc::kill(-*pgid, sig) };
            let _ = process::pidfd_send_signal(leader.as_raw_fd(), sig);
        }
    }
}

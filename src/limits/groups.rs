//! The sandbox's process groups: the one the child starts, and every one a
//! sandbox process makes later with setsid() or setpgid(). A process can
//! leave a group but not the set, so signalling every group reaches every
//! process, daemons that double-forked into a session of their own
//! included.
//!
//! setsid and setpgid are trapped. Their arguments are registers, so the
//! decision needs no child memory and the call is let through as made.
//!
//! A group id is only a number: once the group's last member is gone the
//! kernel may give it to any new process (pid_max is 32768 here: a job
//! cycles it in a second), and `kill(-pgid)` would then reach a host's
//! group. So no group the sandbox made is ever signalled by its number.
//! Each is kept with a pidfd of its leader, taken when the group is made.
//! The pidfd pins the kernel's `struct pid` of that number, which is the
//! group's own: every member hangs on it until it leaves or dies, leader
//! included or not. `pidfd_send_signal(leader, sig, PIDFD_SIGNAL_PROCESS_GROUP)`
//! (Linux 6.9) signals exactly the members of that `struct pid`; a process
//! that later takes the number gets a new one, which the pidfd does not
//! name. So a double-forked daemon left in its dead session leader's group
//! is reached, and a host group of a reused number never is. The same call
//! with signal 0 tells whether the group has members left: one without is
//! dropped and its pidfd closed.
//!
//! At most MAX_GROUPS groups are kept (after dropping the empty ones):
//! past it setsid and setpgid fail with EAGAIN, so the host's fd table does
//! not fill with a job's groups. setpgid into a group that is not the
//! sandbox's (the host's, say) is refused with EPERM: a group signal would
//! otherwise miss the process, which would hide there.

use crate::seccomp::notify::{Answer, Notification};
use crate::sys::process;
use crate::sys::procfs::{parent_of, process_of};
use std::os::fd::{AsRawFd, OwnedFd};

/// Most groups kept; past it (after dropping the empty ones) setsid and
/// setpgid fail with EAGAIN rather than let a group go untracked. Each
/// holds one pidfd of the host's.
pub const MAX_GROUPS: usize = 256;
/// The empty groups are dropped when this many are kept, and then when
/// twice as many as were left are (amortised: a check per group is a
/// syscall).
const FIRST_PRUNE: usize = 32;

struct Group {
    id: libc::pid_t,
    /// The leader's pidfd: the group's `struct pid`.
    leader: OwnedFd,
    /// The group was seen with members. Before, its call may not have run
    /// yet (it is answered, then made): the group counts while its leader
    /// lives.
    seen: std::cell::Cell<bool>,
}

impl Group {
    /// Has the group members left (the leader or any other), or may its
    /// leader still make it?
    fn alive(&self) -> bool {
        if process::pidfd_signal_group(self.leader.as_raw_fd(), 0).is_ok() {
            self.seen.set(true);
            return true;
        }
        !self.seen.get() && process::pidfd_send_signal(self.leader.as_raw_fd(), 0).is_ok()
    }

    /// Signals the group's members, and the leader itself (which may be
    /// on its way into the group); false when nothing is left of it.
    fn signal(&self, sig: i32) -> bool {
        let group = process::pidfd_signal_group(self.leader.as_raw_fd(), sig);
        let leader = process::pidfd_send_signal(self.leader.as_raw_fd(), sig);
        match group {
            Ok(()) => self.seen.set(true),
            Err(_) if self.seen.get() => return false,
            Err(_) => {}
        }
        group.is_ok() || leader.is_ok()
    }
}

pub struct Groups {
    made: Vec<Group>,
    /// Prune when `made` reaches this many.
    prune_at: usize,
}

impl Default for Groups {
    fn default() -> Groups {
        Groups {
            made: Vec::new(),
            prune_at: FIRST_PRUNE,
        }
    }
}

impl Groups {
    /// Is `pgid` the sandbox's first group or one it made (still with
    /// members)?
    pub fn has(&self, main_group: libc::pid_t, pgid: libc::pid_t) -> bool {
        self.contains(main_group, pgid)
    }

    /// Is `pgid` the sandbox's first group, or one it made that has
    /// members (so its number is still that group's)?
    fn contains(&self, main_group: libc::pid_t, pgid: libc::pid_t) -> bool {
        pgid == main_group || self.made.iter().any(|g| g.id == pgid && g.alive())
    }

    /// Drops the groups without members, closing their pidfds.
    pub fn prune(&mut self) {
        self.made.retain(Group::alive);
        self.prune_at = (2 * self.made.len()).clamp(FIRST_PRUNE, MAX_GROUPS);
    }

    /// Keeps the group process `leader` is about to lead. `leader` must be
    /// the caller or the caller's child (as the kernel itself requires):
    /// checked here too, on the process the pidfd pins, because a group we
    /// keep is one we will signal. `still_waiting` (the notification is
    /// live) is asked after the pidfd pins the process and before anything
    /// is kept: only then is `caller`, read from /proc, the real caller.
    fn keep(
        &mut self,
        leader: libc::pid_t,
        caller: libc::pid_t,
        still_waiting: impl Fn() -> bool,
    ) -> Result<(), i32> {
        // A group of that number without members was another process's.
        if let Some(at) = self.made.iter().position(|g| g.id == leader) {
            if self.made[at].alive() {
                return Ok(());
            }
            self.made.swap_remove(at);
        }
        if self.made.len() >= self.prune_at {
            self.prune();
            if self.made.len() >= MAX_GROUPS {
                return Err(libc::EAGAIN);
            }
        }
        let pidfd = process::pidfd(leader, 0)?;
        if leader != caller && parent_of(leader) != Ok(caller) {
            return Err(libc::ESRCH);
        }
        if !still_waiting() {
            return Err(libc::EINTR);
        }
        self.made.push(Group {
            id: leader,
            leader: pidfd,
            seen: std::cell::Cell::new(false),
        });
        Ok(())
    }

    /// setsid(): the caller leads a new group (and session).
    pub fn setsid(&mut self, n: &Notification, is_live: impl Fn(u64) -> bool) -> Answer {
        let Ok(caller) = process_of(n.tid()) else {
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
        let (pid, pgid) = (n.uint(0) as i32, n.uint(1) as i32);
        if pid < 0 || pgid < 0 {
            return Answer::Errno(libc::EINVAL);
        }
        let Ok(caller) = process_of(n.tid()) else {
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

    /// The id of every group the sandbox has (with members), its first one
    /// included.
    pub fn ids(&self, main_group: libc::pid_t) -> Vec<libc::pid_t> {
        std::iter::once(main_group)
            .chain(self.made.iter().filter(|g| g.alive()).map(|g| g.id))
            .collect()
    }

    /// Signals every group the sandbox made, each through its leader's
    /// pidfd (never by number), and the leaders themselves; drops the
    /// groups with nothing left.
    pub fn signal_all(&mut self, sig: i32) {
        self.made.retain(|g| g.signal(sig));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};

    /// The sandbox's first group: only ever compared, never signalled.
    const MAIN: libc::pid_t = 999_999_999;

    fn me() -> libc::pid_t {
        std::process::id() as libc::pid_t
    }

    /// A trapped call of the test itself.
    fn call(nr: i64, args: [u64; 6]) -> Notification {
        Notification {
            id: 1,
            pid: std::process::id(),
            nr,
            args,
        }
    }

    fn setpgid_call(pid: u64, pgid: u64) -> Notification {
        call(libc::SYS_setpgid, [pid, pgid, 0, 0, 0, 0])
    }

    fn waiting(_: u64) -> bool {
        true
    }

    fn gone(_: u64) -> bool {
        false
    }

    /// A child of the test that sleeps until killed, leading a group of
    /// its own (so that a group signal never reaches the test's).
    fn leader() -> Child {
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    }

    fn end(child: &mut Child) {
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn setsid_keeps_the_callers_new_group() {
        let mut groups = Groups::default();
        assert_eq!(
            groups.setsid(&call(libc::SYS_setsid, [0; 6]), waiting),
            Answer::ContinueOnRegisters
        );
        assert!(groups.has(MAIN, me()));
        assert_eq!(groups.ids(MAIN), [MAIN, me()]);
        // Made again (a second setsid): kept once.
        groups.setsid(&call(libc::SYS_setsid, [0; 6]), waiting);
        assert_eq!(groups.ids(MAIN), [MAIN, me()]);
    }

    #[test]
    fn a_group_call_whose_caller_stopped_waiting_keeps_nothing() {
        let mut groups = Groups::default();
        assert_eq!(
            groups.setsid(&call(libc::SYS_setsid, [0; 6]), gone),
            Answer::Errno(libc::EINTR)
        );
        assert_eq!(
            groups.setpgid(&setpgid_call(0, 0), MAIN, gone),
            Answer::Errno(libc::EINTR)
        );
        assert_eq!(groups.ids(MAIN), [MAIN]);
        assert!(!groups.has(MAIN, me()));
    }

    #[test]
    fn setpgid_refuses_negative_ids_and_reads_only_their_low_32_bits() {
        let mut groups = Groups::default();
        let minus_one = u64::MAX;
        assert_eq!(
            groups.setpgid(&setpgid_call(minus_one, 0), MAIN, waiting),
            Answer::Errno(libc::EINVAL)
        );
        assert_eq!(
            groups.setpgid(&setpgid_call(0, (-5i32) as u32 as u64), MAIN, waiting),
            Answer::Errno(libc::EINVAL)
        );
        assert_eq!(groups.ids(MAIN), [MAIN]);
        // pid 0 and pgid 0 with junk above: the caller's own new group.
        let high = 0xffff_ffff_0000_0000;
        assert_eq!(
            groups.setpgid(&setpgid_call(high, high), MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        assert_eq!(groups.ids(MAIN), [MAIN, me()]);
    }

    #[test]
    fn a_move_into_a_group_not_the_sandboxes_is_eperm() {
        let mut groups = Groups::default();
        let host_group = std::os::unix::process::parent_id() as u64;
        assert_eq!(
            groups.setpgid(&setpgid_call(0, host_group), MAIN, waiting),
            Answer::Errno(libc::EPERM)
        );
        assert_eq!(
            groups.setpgid(&setpgid_call(0, MAIN as u64), MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        assert_eq!(groups.ids(MAIN), [MAIN]);
    }

    #[test]
    fn a_group_led_by_neither_the_caller_nor_its_child_is_refused() {
        let mut groups = Groups::default();
        // The test's parent: alive, but not the caller's to lead a group.
        let parent = std::os::unix::process::parent_id() as u64;
        assert_eq!(
            groups.setpgid(&setpgid_call(parent, 0), MAIN, waiting),
            Answer::Errno(libc::ESRCH)
        );
        assert_eq!(groups.ids(MAIN), [MAIN]);
    }

    #[test]
    fn a_childs_group_counts_while_it_has_members_and_not_once_they_are_gone() {
        let mut groups = Groups::default();
        let mut child = leader();
        let pid = child.id() as libc::pid_t;
        assert_eq!(
            groups.setpgid(&setpgid_call(pid as u64, 0), MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        assert!(groups.has(MAIN, pid));
        // Others of the sandbox may join it.
        assert_eq!(
            groups.setpgid(&setpgid_call(0, pid as u64), MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        end(&mut child);
        // Its number may be anybody's now: no longer the sandbox's.
        assert!(!groups.has(MAIN, pid));
        assert_eq!(
            groups.setpgid(&setpgid_call(0, pid as u64), MAIN, waiting),
            Answer::Errno(libc::EPERM)
        );
        assert_eq!(groups.ids(MAIN), [MAIN]);
    }

    /// The state letter of process `pid` in /proc, None once it is gone.
    fn state(pid: libc::pid_t) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.chars().next()
    }

    /// Waits (bounded) for `pid` to be dead: a zombie or gone.
    fn wait_dead(pid: libc::pid_t) -> Option<char> {
        for _ in 0..1000 {
            match state(pid) {
                None => return None,
                Some('Z') | Some('X') => return Some('Z'),
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        panic!("process {pid} still runs");
    }

    /// A grandchild of the test, killed if a failed test left it running.
    struct Member(libc::pid_t);

    impl Drop for Member {
        fn drop(&mut self) {
            if matches!(state(self.0), Some(s) if s != 'Z' && s != 'X') {
                let _ = crate::sys::kill(self.0, libc::SIGKILL);
            }
        }
    }

    #[test]
    fn a_member_its_leader_left_behind_is_still_reached_through_the_leaders_pidfd() {
        // A double-forked daemon: the leader starts a member of its group
        // and exits.
        let mut leader = Command::new("sh")
            .args(["-c", "sleep 1000 >/dev/null 2>&1 & echo $!; read x"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = leader.id() as libc::pid_t;
        let mut groups = Groups::default();
        assert_eq!(
            groups.setpgid(&setpgid_call(pid as u64, 0), MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        let mut line = String::new();
        BufReader::new(leader.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let member = Member(line.trim().parse().unwrap());
        drop(leader.stdin.take());
        leader.wait().unwrap();
        // The leader is gone; its group is not.
        assert!(groups.has(MAIN, pid));
        assert_eq!(groups.ids(MAIN), [MAIN, pid]);
        groups.signal_all(libc::SIGKILL);
        if wait_dead(member.0).is_none() {
            // Reaped by its new parent: nothing of the group is left.
            assert!(!groups.has(MAIN, pid));
        }
    }

    #[test]
    fn signal_all_reaches_every_made_groups_leader_and_drops_what_is_gone() {
        let mut groups = Groups::default();
        let mut children = [leader(), leader()];
        for child in &children {
            let pid = child.id() as u64;
            assert_eq!(
                groups.setpgid(&setpgid_call(pid, 0), MAIN, waiting),
                Answer::ContinueOnRegisters
            );
        }
        groups.signal_all(libc::SIGKILL);
        for child in &mut children {
            let status = child.wait().unwrap();
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(libc::SIGKILL));
        }
        groups.signal_all(0);
        assert_eq!(groups.ids(MAIN), [MAIN]);
    }

    #[test]
    fn past_the_most_groups_a_new_one_is_eagain_until_one_is_gone() {
        let mut groups = Groups::default();
        let mut children: Vec<Child> = (0..MAX_GROUPS).map(|_| leader()).collect();
        for child in &children {
            assert_eq!(
                groups.setpgid(&setpgid_call(child.id() as u64, 0), MAIN, waiting),
                Answer::ContinueOnRegisters
            );
        }
        let mut one_more = leader();
        let call = setpgid_call(one_more.id() as u64, 0);
        assert_eq!(
            groups.setpgid(&call, MAIN, waiting),
            Answer::Errno(libc::EAGAIN)
        );
        // Not kept: it is no group of the sandbox's.
        assert!(!groups.has(MAIN, one_more.id() as libc::pid_t));
        end(&mut children[0]);
        assert_eq!(
            groups.setpgid(&call, MAIN, waiting),
            Answer::ContinueOnRegisters
        );
        assert_eq!(groups.ids(MAIN).len(), 1 + MAX_GROUPS);
        for child in children.iter_mut().chain(std::iter::once(&mut one_more)) {
            end(child);
        }
    }
}

//! The sandbox's processes, known one by one, for the limits that count or
//! measure them (max_processes, max_memory, max_cpu).
//!
//! The kernel keeps no list of "the tasks under this filter", so the
//! supervisor keeps one. Every new process comes from a trapped fork, vfork
//! or clone (clone3 is ENOSYS; threads are not trapped, and CLONE_PARENT is
//! refused, so the new process is always the forking thread's child). The
//! call returns without telling us the new pid: an admitted fork stays *in
//! flight*, and counts, until its child shows up in the forking thread's
//! `/proc/<tid>/task/<tid>/children`, or until that thread is known to be
//! done with the call (it traps again, or it is gone).
//!
//! A child whose parent exits before we find it would be lost to init,
//! so the main process adopts orphans (`PR_SET_CHILD_SUBREAPER`, kept
//! across exec and locked on by the filter): a walk of the tree under the
//! main process finds it. Once the main process has exited that no longer
//! holds; an in-flight fork whose thread vanished then counts as *lost*
//! until a scan of /proc by process group (rate-limited: it costs time in
//! proportion to every process on the machine) finds the truth.
//!
//! Each known process is held by a pidfd and counts until it is reaped
//! (the pidfd reports POLLHUP): a zombie still holds a pid. The main
//! process is the exception: it is the host's zombie, kept unreaped until
//! the end, and stops counting when it exits.

use crate::seccomp::notify::{Answer, Notification};
use crate::sys::procfs::{
    self, children_of_thread, gone, group_of, process_of, resident_private_bytes, thread_ended,
    threads_of,
};
use crate::sys::{self, epoll, process};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How often, at most, /proc is scanned for processes we lost track of.
const SCAN_INTERVAL: Duration = Duration::from_millis(100);

struct Known {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    /// CPU time seen at the last [`Processes::cpu_used_since_last`]: the
    /// process's own, and its reaped children's.
    cpu_seen_ns: u64,
    children_cpu_seen_ns: u64,
    /// Has a CPU sample seen it yet? (Its first one charges its whole
    /// life so far.)
    sampled: bool,
}

/// What the sandbox used between two CPU samples.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CpuUsed {
    /// Everything to charge: every process's own time since the last
    /// sample (a new one's since it started), and its reaped children's.
    pub total_ns: u64,
    /// Of that, the time processes known at the last sample ran since:
    /// what ran between the two samples for sure (a process found late
    /// brings its past, and a reap its children's).
    pub ran_ns: u64,
}

/// How many processes' children time one CPU sample reads.
const CHILDREN_PER_SAMPLE: usize = 128;

/// The sandbox's memory could not be read (fail closed).
#[derive(Debug)]
pub struct Unmeasured;

/// A memory sample spread over steps: the pids still to read, and the sum
/// of those read.
struct MemoryRound {
    left: Vec<libc::pid_t>,
    sum: u64,
}

/// A fork we let through whose child we have not found yet.
struct InFlight {
    tid: libc::pid_t,
    /// The thread's children when it asked.
    before: Vec<libc::pid_t>,
}

pub struct Processes {
    main: libc::pid_t,
    main_exited: bool,
    /// The watchdog and the opener are the main process's children, but not
    /// the job's: each held by a pidfd, so that once one has ended, a job
    /// process that takes its number is counted like any other.
    helpers: Vec<(libc::pid_t, OwnedFd)>,
    known: Vec<Known>,
    in_flight: Vec<InFlight>,
    lost: u32,
    /// Processes we know of but could not hold by a pidfd.
    untracked: Vec<libc::pid_t>,
    last_scan: Option<Instant>,
    /// CPU time already charged for processes reaped since the last CPU
    /// sample: their reaper's children time will count it again.
    reaped_charged_ns: u64,
    /// The memory sample in progress, and the last whole one.
    memory_round: Option<MemoryRound>,
    last_resident: Option<u64>,
    /// Where the next CPU sample starts reading children time.
    children_cursor: usize,
    /// For exit events: the sandbox's epoll set, where each known
    /// process's pidfd is added under `exit_tag + pid` once asked.
    epoll: RawFd,
    exit_tag: u64,
    watch_exits: bool,
    /// Forks are trapped: every birth is seen. Otherwise processes are
    /// found on demand (`discover`).
    counts_forks: bool,
}

/// CPU time of the whole process `pid` (all its threads, live and dead),
/// through its process CPU clock: one syscall, nanosecond resolution.
fn process_cpu_ns(pid: libc::pid_t) -> Option<u64> {
    const CPUCLOCK_SCHED: libc::clockid_t = 2;
    let clock = (!(pid as libc::clockid_t) << 3) | CPUCLOCK_SCHED;
    let t = sys::clock_now(clock).ok()?;
    Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64)
}

/// CPU time of the reaped children of `pid` (its `cutime + cstime`, in
/// clock ticks: the kernel keeps nanoseconds and rounds only what it shows).
fn children_cpu_ns(pid: libc::pid_t) -> Option<u64> {
    let ticks_per_second = sys::clock_ticks_per_second();
    let ticks = procfs::children_cpu_ticks(pid).ok()?;
    Some(ticks.saturating_mul(1_000_000_000 / ticks_per_second))
}

impl Processes {
    pub fn new(
        main: libc::pid_t,
        helpers: [libc::pid_t; 2],
        counts_forks: bool,
        epoll: RawFd,
        exit_tag: u64,
    ) -> Processes {
        let mut processes = Processes {
            main,
            main_exited: false,
            helpers: helpers
                .into_iter()
                .filter(|&pid| pid > 0)
                .filter_map(|pid| Some((pid, process::pidfd(pid, 0).ok()?)))
                .collect(),
            known: Vec::new(),
            in_flight: Vec::new(),
            lost: 0,
            untracked: Vec::new(),
            last_scan: None,
            reaped_charged_ns: 0,
            memory_round: None,
            last_resident: None,
            children_cursor: 0,
            counts_forks,
            epoll,
            exit_tag,
            watch_exits: false,
        };
        processes.learn(main);
        processes
    }

    /// Live processes, as counted against the limit.
    pub fn count(&self) -> usize {
        self.known.len() + self.untracked.len() + self.in_flight.len() + self.lost as usize
    }

    pub fn main_exited(&mut self) {
        self.main_exited = true;
        self.known.retain(|k| k.pid != self.main);
    }

    /// Is `pid` a helper still running (its pidfd not yet readable)?
    fn is_helper(&self, pid: libc::pid_t) -> bool {
        self.helpers.iter().any(|(helper, pidfd)| {
            *helper == pid && sys::poll_now(pidfd.as_raw_fd(), libc::POLLIN) == 0
        })
    }

    fn learn(&mut self, pid: libc::pid_t) {
        if self.is_helper(pid) || self.known.iter().any(|k| k.pid == pid) {
            return;
        }
        if pid == self.main && self.main_exited {
            return;
        }
        match process::pidfd(pid, 0) {
            Ok(pidfd) => {
                self.untracked.retain(|&p| p != pid);
                if self.watch_exits {
                    self.watch_exit(pid, pidfd.as_raw_fd());
                }
                self.known.push(Known {
                    pid,
                    pidfd,
                    cpu_seen_ns: 0,
                    children_cpu_seen_ns: children_cpu_ns(pid).unwrap_or(0),
                    sampled: false,
                });
            }
            // Already reaped: nothing to count.
            Err(libc::ESRCH) => {}
            // Out of fds, say: the process exists all the same, so it
            // counts, by pid, until it is gone or a pidfd can be had.
            Err(_) => {
                if !self.untracked.contains(&pid) {
                    self.untracked.push(pid);
                }
            }
        }
    }

    /// From now on every known process's exit wakes the epoll set.
    pub fn watch_exits(&mut self) {
        self.watch_exits = true;
        let known: Vec<_> = self
            .known
            .iter()
            .map(|k| (k.pid, k.pidfd.as_raw_fd()))
            .collect();
        for (pid, fd) in known {
            self.watch_exit(pid, fd);
        }
    }

    fn watch_exit(&self, pid: libc::pid_t, pidfd: RawFd) {
        // The main process's exit comes through its own pidfd.
        if pid == self.main {
            return;
        }
        // A failure only loses the exit event, not the count.
        let _ = epoll::watch_readable(self.epoll, pidfd, self.exit_tag + pid as u64);
    }

    /// A watched process exited: stop watching it (its pidfd stays
    /// readable), and say who its parent was.
    pub fn exited(&mut self, pid: libc::pid_t) -> libc::pid_t {
        if let Some(known) = self.known.iter().find(|k| k.pid == pid) {
            epoll::unwatch(self.epoll, known.pidfd.as_raw_fd());
        }
        procfs::parent_of(pid).unwrap_or(0)
    }

    /// Forgets the processes that were reaped.
    fn prune(&mut self) {
        if !self.untracked.is_empty() {
            let untracked = std::mem::take(&mut self.untracked);
            for pid in untracked {
                // Signal 0 only checks that the pid exists.
                if matches!(sys::kill(pid, 0), Ok(()) | Err(libc::EPERM)) {
                    self.learn(pid);
                }
            }
        }
        if self.known.is_empty() {
            return;
        }
        let mut fds: Vec<libc::pollfd> = self
            .known
            .iter()
            .map(|k| libc::pollfd {
                fd: k.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if !matches!(sys::poll(&mut fds, 0), Ok(ready) if ready > 0) {
            return;
        }
        let mut ready = fds.iter().map(|f| f.revents);
        let mut reaped_charged = 0;
        self.known.retain(|known| {
            let revents = ready.next().unwrap_or(0);
            let reaped = revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
            if reaped {
                reaped_charged += known.cpu_seen_ns;
            }
            !reaped
        });
        self.reaped_charged_ns += reaped_charged;
    }

    /// Every thread of every known process, for children we do not know:
    /// the orphans the main process adopted, and the children of threads
    /// that exited (a sibling thread inherits them). False when some of
    /// /proc could not be read.
    fn walk(&mut self) -> bool {
        let mut complete = true;
        let mut next = 0;
        while next < self.known.len() {
            let pid = self.known[next].pid;
            next += 1;
            let tids = match threads_of(pid) {
                Ok(tids) => tids,
                Err(e) => {
                    complete &= gone(e);
                    continue;
                }
            };
            for tid in tids {
                match children_of_thread(tid) {
                    Ok(children) => children.into_iter().for_each(|c| self.learn(c)),
                    Err(e) => complete &= gone(e),
                }
            }
        }
        complete
    }

    /// Settles the forks in flight that have returned. `caller` is
    /// trapped now, so a fork of its in flight has finished. A fork whose
    /// thread ended has its child (if any) with a sibling thread or the
    /// main process, where a walk finds it; if the main process has exited
    /// (orphans go to init) or the walk could not read everything, the
    /// fork counts as lost until a scan.
    fn settle(&mut self, caller: libc::pid_t) {
        let mut ended = 0;
        let mut in_flight = std::mem::take(&mut self.in_flight);
        in_flight.retain(|fork| {
            match children_of_thread(fork.tid) {
                Ok(now) => {
                    let mut found = false;
                    for pid in now.into_iter().filter(|p| !fork.before.contains(p)) {
                        self.learn(pid);
                        found = true;
                    }
                    if found || fork.tid == caller {
                        return false;
                    }
                    // Unreadable: it keeps counting.
                    if thread_ended(fork.tid) != Ok(true) {
                        return true;
                    }
                }
                Err(e) if !gone(e) => return true,
                Err(_) => {}
            }
            ended += 1;
            false
        });
        self.in_flight = in_flight;
        if ended > 0 && (!self.walk() || self.main_exited) {
            self.lost += ended;
        }
    }

    /// With the sandbox stopped: settles what it can, and drops the forks
    /// in flight whose thread is now stopped without a new child (a stop
    /// interrupts a fork, which the kernel restarts, trapped again, once
    /// continued). True when every process is known.
    pub fn settle_stopped(&mut self) -> bool {
        self.prune();
        self.settle(0);
        let mut in_flight = std::mem::take(&mut self.in_flight);
        in_flight.retain(|fork| {
            // Stopped first, then its children: read in this order, the
            // list is final.
            if !matches!(procfs::task_state(fork.tid, fork.tid), Ok('T' | 't')) {
                return true;
            }
            match children_of_thread(fork.tid) {
                Ok(now) => {
                    for pid in now.into_iter().filter(|p| !fork.before.contains(p)) {
                        self.learn(pid);
                    }
                    false
                }
                Err(_) => true,
            }
        });
        self.in_flight = in_flight;
        self.in_flight.is_empty() && self.lost == 0 && self.untracked.is_empty()
    }

    pub fn counts_forks(&self) -> bool {
        self.counts_forks
    }

    /// The processes known now.
    pub fn pids(&self) -> Vec<libc::pid_t> {
        self.known.iter().map(|k| k.pid).collect()
    }

    /// Brings the list up to date: forks settled (when counted), or
    /// processes found (when not).
    pub fn refresh(&mut self, groups: &[libc::pid_t]) {
        if self.counts_forks {
            self.prune();
            self.settle(0);
        } else {
            self.discover(groups);
        }
    }

    /// Finds every process of the sandbox when forks are not trapped (a
    /// freeze needs them all, but counting forks would make them fail
    /// with EINTR more often, see README): the tree under the main process,
    /// which adopts orphans; once it has exited, a scan of /proc by process
    /// group. False when not everything could be read.
    pub fn discover(&mut self, groups: &[libc::pid_t]) -> bool {
        self.prune();
        if self.main_exited {
            return self.scan_now(groups);
        }
        self.walk()
    }

    /// Finds every process in one of `groups` by reading all of /proc, at
    /// most every SCAN_INTERVAL.
    fn scan(&mut self, groups: &[libc::pid_t]) {
        if self
            .last_scan
            .is_some_and(|at| at.elapsed() < SCAN_INTERVAL)
        {
            return;
        }
        self.scan_now(groups);
    }

    fn scan_now(&mut self, groups: &[libc::pid_t]) -> bool {
        self.last_scan = Some(Instant::now());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return false;
        };
        for entry in entries {
            // A partial scan proves nothing: what is lost stays counted.
            let Ok(entry) = entry else { return false };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(pid) = name.parse::<libc::pid_t>() else {
                continue;
            };
            match group_of(name) {
                Ok(group) if groups.contains(&group) => self.learn(pid),
                Ok(_) => {}
                Err(e) if gone(e) => {}
                Err(_) => return false,
            }
        }
        self.lost = 0;
        true
    }

    /// A trapped fork, vfork or clone: admitted (and counted from now on)
    /// while the sandbox is under its limit, else EAGAIN, as the kernel
    /// answers at its own process limits. The call's arguments are
    /// registers, so an admitted call goes on as made.
    pub fn admit_fork(
        &mut self,
        n: &Notification,
        limit: Option<u32>,
        groups: &[libc::pid_t],
        is_live: impl Fn(u64) -> bool,
    ) -> Answer {
        let tid = n.tid();
        self.prune();
        // A fork bomb at its limit costs one poll per attempt: settling
        // could only lower the count through forks in flight.
        if let Some(limit) = limit {
            if self.in_flight.is_empty() && self.lost == 0 && self.known.len() >= limit as usize {
                return Answer::Errno(libc::EAGAIN);
            }
        }
        self.settle(tid);
        if self.lost > 0 {
            self.scan(groups);
        }
        // The caller may be a child whose fork we have not settled yet.
        if !self.known.iter().any(|k| k.pid == tid) {
            match process_of(tid) {
                Ok(pid) => self.learn(pid),
                Err(e) if gone(e) => return Answer::Errno(libc::ESRCH),
                // Uncounted, it must not fork.
                Err(_) => return Answer::Errno(libc::EAGAIN),
            }
        }
        if let Some(limit) = limit {
            if self.count() >= limit as usize {
                return Answer::Errno(libc::EAGAIN);
            }
        }
        let before = match children_of_thread(tid) {
            Ok(children) => children,
            Err(e) if gone(e) => return Answer::Errno(libc::ESRCH),
            Err(_) => return Answer::Errno(libc::EAGAIN),
        };
        // Read while the caller waits: only now is `before` its own list.
        if !is_live(n.id) {
            return Answer::Errno(libc::EINTR);
        }
        self.in_flight.push(InFlight { tid, before });
        Answer::ContinueOnRegisters
    }

    /// Takes back the fork just admitted for thread `tid` (an observer
    /// refused it).
    pub fn cancel_fork(&mut self, tid: libc::pid_t) {
        if let Some(at) = self.in_flight.iter().rposition(|f| f.tid == tid) {
            self.in_flight.remove(at);
        }
    }

    /// Resident anonymous and shared memory of the whole sandbox.
    /// None when a process that exists could not be measured (the host
    /// is out of fds, say), or is not held by a pidfd: the caller cannot
    /// know the sandbox is under its budget.
    /// Reads at most `most` of the sandbox's processes' memory; the sum
    /// once a whole round is read (every process known when it began),
    /// else None and the next call goes on. Err when a process could not
    /// be read (fail closed) or some are known only by pid.
    pub fn resident_bytes_slice(&mut self, most: usize) -> Result<Option<u64>, Unmeasured> {
        if self.memory_round.is_none() {
            self.prune();
            self.settle(0);
            if !self.untracked.is_empty() {
                return Err(Unmeasured);
            }
            self.memory_round = Some(MemoryRound {
                left: self.known.iter().map(|k| k.pid).collect(),
                sum: 0,
            });
        }
        let Some(round) = self.memory_round.as_mut() else {
            return Err(Unmeasured);
        };
        for _ in 0..most {
            let Some(pid) = round.left.pop() else {
                break;
            };
            match resident_private_bytes(pid) {
                Ok(bytes) => round.sum = round.sum.saturating_add(bytes),
                // Gone since the round began.
                Err(libc::ENOENT) | Err(libc::ESRCH) => {}
                Err(_) => {
                    self.memory_round = None;
                    return Err(Unmeasured);
                }
            }
        }
        if !round.left.is_empty() {
            return Ok(None);
        }
        let sum = round.sum;
        self.memory_round = None;
        self.last_resident = Some(sum);
        Ok(Some(sum))
    }

    /// The last whole round's sum (resident_bytes_slice), if any.
    pub fn last_resident_bytes(&self) -> Option<u64> {
        self.last_resident
    }

    /// CPU time the sandbox's processes used since the last call (a new
    /// process's since it started). A process that lived and was reaped
    /// between two calls is seen through its parent's children time, less
    /// what was charged already for the reaped processes we knew.
    pub fn cpu_used_since_last(&mut self) -> CpuUsed {
        self.prune();
        self.settle(0);
        let (mut own, mut children, mut ran) = (0u64, 0u64, 0u64);
        // Children time costs a /proc read per process: with many, a
        // rotating share of them per sample, so one step stays short. What
        // is read later is charged later (seen values are cumulative); a
        // reaped process's time its parent shows late may be charged
        // twice, never missed.
        let count = self.known.len();
        let first = self.children_cursor % count.max(1);
        self.children_cursor = first + CHILDREN_PER_SAMPLE;
        for (index, known) in self.known.iter_mut().enumerate() {
            let turn = (index + count - first) % count.max(1) < CHILDREN_PER_SAMPLE;
            if let Some(now) = process_cpu_ns(known.pid) {
                let delta = now.saturating_sub(known.cpu_seen_ns);
                own += delta;
                if known.sampled {
                    ran += delta;
                }
                known.cpu_seen_ns = now;
                known.sampled = true;
            }
            if !turn {
                continue;
            }
            if let Some(now) = children_cpu_ns(known.pid) {
                children += now.saturating_sub(known.children_cpu_seen_ns);
                known.children_cpu_seen_ns = now;
            }
        }
        let already = std::mem::take(&mut self.reaped_charged_ns);
        CpuUsed {
            total_ns: own + children.saturating_sub(already),
            ran_ns: ran,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child of the test that sleeps until killed.
    fn sleeper() -> std::process::Child {
        std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .expect("sleep")
    }

    fn end(mut child: std::process::Child) {
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn a_helper_is_known_by_its_pidfd_not_its_number() {
        let child = sleeper();
        let helper = child.id() as libc::pid_t;
        let processes = Processes::new(
            std::process::id() as libc::pid_t,
            [helper, -1],
            false,
            -1,
            0,
        );
        assert!(processes.is_helper(helper));
        end(child);
        // Gone (and reaped): its number is anybody's now.
        assert!(!processes.is_helper(helper));
    }

    #[test]
    fn a_memory_sample_is_read_in_slices() {
        let (a, b) = (sleeper(), sleeper());
        let mut processes =
            Processes::new(std::process::id() as libc::pid_t, [-1, -1], false, -1, 0);
        processes.learn(a.id() as libc::pid_t);
        processes.learn(b.id() as libc::pid_t);
        // Three processes, one per call: two calls say "not yet".
        assert!(matches!(processes.resident_bytes_slice(1), Ok(None)));
        assert!(matches!(processes.resident_bytes_slice(1), Ok(None)));
        let sum = processes.resident_bytes_slice(1).unwrap().unwrap();
        assert!(sum > 0);
        assert_eq!(processes.last_resident_bytes(), Some(sum));
        // A whole round at once.
        assert!(matches!(processes.resident_bytes_slice(64), Ok(Some(_))));
        end(a);
        end(b);
    }

    /// This test's own thread: the forking thread the supervisor sees.
    fn this_thread() -> libc::pid_t {
        crate::sys::gettid()
    }

    fn fork_call(tid: libc::pid_t) -> Notification {
        Notification {
            id: 7,
            pid: tid as u32,
            nr: libc::SYS_fork,
            args: [0; 6],
        }
    }

    /// Counting the forks of this test's thread, as the sandbox's main
    /// process.
    fn counting() -> (Processes, libc::pid_t) {
        let me = std::process::id() as libc::pid_t;
        (Processes::new(me, [-1, -1], true, -1, 0), this_thread())
    }

    #[test]
    fn a_fork_at_the_limit_is_refused_and_not_counted() {
        let (mut processes, tid) = counting();
        assert_eq!(processes.count(), 1);
        let answer = processes.admit_fork(&fork_call(tid), Some(1), &[], |_| true);
        assert_eq!(answer, Answer::Errno(libc::EAGAIN));
        assert_eq!(processes.count(), 1);
        // No limit: the same call goes on, and counts while in flight.
        let answer = processes.admit_fork(&fork_call(tid), None, &[], |_| true);
        assert_eq!(answer, Answer::ContinueOnRegisters);
        assert_eq!(processes.count(), 2);
    }

    #[test]
    fn an_admitted_fork_counts_until_its_child_is_found_and_reaped() {
        let (mut processes, tid) = counting();
        let answer = processes.admit_fork(&fork_call(tid), Some(2), &[], |_| true);
        assert_eq!(answer, Answer::ContinueOnRegisters);
        // The fork in flight holds the second place: another thread's is
        // refused.
        assert_eq!(processes.count(), 2);
        let (to_thread, parked) = std::sync::mpsc::channel::<()>();
        let (tell, told) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            tell.send(this_thread()).unwrap();
            let _ = parked.recv();
        });
        let other_tid = told.recv().unwrap();
        let refused = processes.admit_fork(&fork_call(other_tid), Some(2), &[], |_| true);
        drop(to_thread);
        other.join().unwrap();
        assert_eq!(refused, Answer::Errno(libc::EAGAIN));
        // The fork lands: this thread's new child.
        let child = sleeper();
        let pid = child.id() as libc::pid_t;
        processes.refresh(&[]);
        assert!(processes.pids().contains(&pid));
        assert_eq!(
            processes.count(),
            2,
            "the child replaces its fork in flight"
        );
        end(child);
        processes.refresh(&[]);
        assert!(!processes.pids().contains(&pid));
        assert_eq!(processes.count(), 1, "a reaped child no longer counts");
    }

    #[test]
    fn a_fork_whose_caller_stopped_waiting_is_interrupted() {
        let (mut processes, tid) = counting();
        let answer = processes.admit_fork(&fork_call(tid), None, &[], |_| false);
        assert_eq!(answer, Answer::Errno(libc::EINTR));
        assert_eq!(processes.count(), 1);
    }

    #[test]
    fn a_thread_trapped_again_is_done_with_its_last_fork() {
        let (mut processes, tid) = counting();
        processes.admit_fork(&fork_call(tid), None, &[], |_| true);
        // No child came of the first: only the second is in flight.
        processes.admit_fork(&fork_call(tid), None, &[], |_| true);
        assert_eq!(processes.count(), 2);
    }

    #[test]
    fn a_cancelled_fork_stops_counting() {
        let (mut processes, tid) = counting();
        processes.admit_fork(&fork_call(tid), None, &[], |_| true);
        assert_eq!(processes.count(), 2);
        // Another thread's cancel takes nothing back.
        processes.cancel_fork(tid + 1_000_000);
        assert_eq!(processes.count(), 2);
        processes.cancel_fork(tid);
        assert_eq!(processes.count(), 1);
    }

    #[test]
    fn a_fork_by_a_thread_that_is_gone_is_refused() {
        let (mut processes, _) = counting();
        // A thread id that cannot exist (above the kernel's pid_max).
        let answer = processes.admit_fork(&fork_call(1 << 30), None, &[], |_| true);
        assert_eq!(answer, Answer::Errno(libc::ESRCH));
        assert_eq!(processes.count(), 1);
    }
}

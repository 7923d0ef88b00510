//! Calls that act on another process's resources by its pid: its limits
//! (`prlimit64`), its scheduling (`sched_setaffinity`, `sched_setscheduler`,
//! `sched_setparam`, `sched_setattr`), its priorities (`setpriority`,
//! `ioprio_set`). The kernel checks only that the caller's uid owns the
//! target, so a job running as the host's uid reaches every process of
//! that uid: `prlimit64(host, RLIMIT_CPU, 1s)` kills the host with SIGXCPU.
//! Landlock's ptrace hook covers the calls that check ptrace access
//! (`process_vm_*`, `process_madvise`, `migrate_pages`, `move_pages`,
//! `get_robust_list`, `/proc/<pid>/mem`) and its signal scope covers
//! signals; these it does not see.
//!
//! The filter lets the caller's own process (pid 0) through untrapped and
//! refuses "every process of a uid" (`PRIO_USER`, `IOPRIO_WHO_USER`)
//! outright; any other target comes here and is allowed only when it is a
//! process or thread of this sandbox: a thread of the caller's own process,
//! or a process whose chain of parents reaches the sandbox's main process
//! without passing through one of the library's helpers. A process group
//! must be one the sandbox made (limits/groups.rs). Anything else, a pid that does
//! not exist included, is EPERM (so the answer says nothing of the host's
//! processes) and a logged denial.
//!
//! An allowed call is let through as made (`ContinueOnRegisters`): its
//! target is a register, and the kernel checks the same uid as before.
//! Between the check and the kernel's own lookup of the pid the target
//! could exit, be reaped, and its number be given to a host process; pids
//! are handed out in a cycle, so that takes allocating every other free
//! pid (`pid_max`, 4 million here) within the microseconds the caller
//! waits for the answer. That window is accepted, and narrowed by checking
//! the notification is still live after the /proc reads.
//!
//! With `num_cpus`, every `sched_setaffinity` comes here (its own process
//! too): the mask is copied (bounded as the kernel bounds it), intersected
//! with the sandbox's CPUs, and set by the supervisor on the target, so the
//! job can move between its CPUs but never widen them.

use crate::seccomp::notify::{Answer, Notification};
use crate::sys::cpus;
use crate::sys::procfs::{self, gone};

/// Longest chain of parents walked to find the main process: a deeper
/// descendant is refused (a step must stay short: each link is a read).
const MOST_ANCESTORS: usize = 256;

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;
const IOPRIO_WHO_PROCESS: i32 = 1;
const IOPRIO_WHO_PGRP: i32 = 2;
const IOPRIO_WHO_USER: i32 = 3;

/// What the supervisor knows of the sandbox for these checks.
pub struct Sandbox<'a> {
    /// The main process, the root of the sandbox's tree (it adopts the
    /// sandbox's orphans).
    pub main: libc::pid_t,
    /// The library's helpers (watchdog, opener): children of the main
    /// process, but not the job's.
    pub helpers: [libc::pid_t; 2],
    /// Is this process group one the sandbox has?
    pub has_group: &'a dyn Fn(libc::pid_t) -> bool,
    /// num_cpus: the CPUs the sandbox may run on.
    pub cpus: Option<&'a libc::cpu_set_t>,
}

/// Why a call was refused, for the denial event.
pub struct Refused {
    pub errno: i32,
    pub detail: &'static str,
}

fn refused(detail: &'static str) -> Refused {
    Refused {
        errno: libc::EPERM,
        detail,
    }
}

/// Is thread or process `target` one of the sandbox's? `caller` is the
/// trapped thread. Err when /proc could not say (fail closed).
pub fn belongs(sandbox: &Sandbox, caller: libc::pid_t, target: libc::pid_t) -> Result<bool, i32> {
    if target == caller {
        return Ok(true);
    }
    let process = match procfs::process_of(target) {
        Ok(p) => p,
        Err(e) if gone(e) => return Ok(false),
        Err(e) => return Err(e),
    };
    if sandbox.helpers.contains(&process) {
        return Ok(false);
    }
    if procfs::process_of(caller) == Ok(process) {
        return Ok(true);
    }
    let mut at = process;
    for _ in 0..MOST_ANCESTORS {
        if at == sandbox.main {
            return Ok(true);
        }
        if at <= 1 || sandbox.helpers.contains(&at) {
            return Ok(false);
        }
        at = match procfs::parent_of(at) {
            Ok(parent) => parent,
            Err(e) if gone(e) => return Ok(false),
            Err(e) => return Err(e),
        };
    }
    Ok(false)
}

/// A pid argument: 0 is the caller, negative the kernel refuses itself
/// (no process has it), anything else must be the sandbox's.
fn check_pid(sandbox: &Sandbox, caller: libc::pid_t, pid: libc::pid_t) -> Result<(), Refused> {
    if pid <= 0 {
        return Ok(());
    }
    match belongs(sandbox, caller, pid) {
        Ok(true) => Ok(()),
        Ok(false) => Err(refused("not a process of the sandbox")),
        Err(_) => Err(refused("its target could not be checked")),
    }
}

/// A process group argument (`who` of PRIO_PGRP, IOPRIO_WHO_PGRP): 0 is
/// the caller's own, which is always the sandbox's (setpgid into another
/// group is refused), else one the sandbox has.
fn check_group(sandbox: &Sandbox, group: libc::pid_t) -> Result<(), Refused> {
    if group <= 0 || (sandbox.has_group)(group) {
        return Ok(());
    }
    Err(refused("not a process group of the sandbox"))
}

/// The verdict on a trapped pid call. `is_live`: the notification is
/// still pending (asked after the /proc reads, which a reused pid would
/// have misled).
pub fn decide(
    sandbox: &Sandbox,
    n: &Notification,
    is_live: impl Fn(u64) -> bool,
) -> Result<Answer, Refused> {
    let caller = n.tid();
    let first = n.uint(0) as i32;
    let second = n.uint(1) as i32;
    let checked = match n.nr {
        libc::SYS_sched_setaffinity if sandbox.cpus.is_some() => {
            return set_affinity(sandbox, n, is_live);
        }
        libc::SYS_prlimit64
        | libc::SYS_sched_setaffinity
        | libc::SYS_sched_setscheduler
        | libc::SYS_sched_setparam
        | libc::SYS_sched_setattr => check_pid(sandbox, caller, first),
        libc::SYS_setpriority => match first {
            PRIO_PROCESS => check_pid(sandbox, caller, second),
            PRIO_PGRP => check_group(sandbox, second),
            // PRIO_USER never comes here (the filter refuses it); anything
            // else the kernel refuses with EINVAL.
            PRIO_USER => Err(refused("every process of a user")),
            _ => Ok(()),
        },
        libc::SYS_ioprio_set => match first {
            IOPRIO_WHO_PROCESS => check_pid(sandbox, caller, second),
            IOPRIO_WHO_PGRP => check_group(sandbox, second),
            IOPRIO_WHO_USER => Err(refused("every process of a user")),
            _ => Ok(()),
        },
        _ => Err(refused("not a pid call")),
    };
    checked?;
    if !is_live(n.id) {
        return Ok(Answer::Errno(libc::EINTR));
    }
    Ok(Answer::ContinueOnRegisters)
}

/// The mask a `sched_setaffinity(pid, len, mask)` asks for, read as the
/// kernel reads it: at most cpus::SET_BYTES (`cpu_set_t`, 1024 CPUs),
/// and a shorter mask is the low CPUs only. EFAULT when it cannot be read.
fn read_mask(tid: libc::pid_t, len: u64, addr: u64) -> Result<libc::cpu_set_t, i32> {
    let len = (len.min(cpus::SET_BYTES as u64)) as usize;
    let bytes = crate::sys::memory::read(tid, addr, len)?;
    Ok(cpus::from_bytes(&bytes))
}

/// sched_setaffinity under num_cpus: the target checked as any pid call,
/// the mask copied, narrowed to the sandbox's CPUs (EINVAL if nothing is
/// left, as the kernel answers a mask with no usable CPU), and set by the
/// supervisor. The job could set the narrowed mask itself (same uid, its
/// own process), so doing it with the supervisor's rights grants nothing.
fn set_affinity(
    sandbox: &Sandbox,
    n: &Notification,
    is_live: impl Fn(u64) -> bool,
) -> Result<Answer, Refused> {
    let caller = n.tid();
    let pid = n.uint(0) as i32;
    if pid < 0 {
        // The kernel's answer to a pid no process has.
        return Ok(Answer::Errno(libc::ESRCH));
    }
    check_pid(sandbox, caller, pid)?;
    let Some(allowed) = sandbox.cpus else {
        return Ok(Answer::Errno(libc::EPERM));
    };
    let asked = match read_mask(caller, n.uint(1) as u64, n.args[2]) {
        Ok(mask) => mask,
        Err(libc::ESRCH) => return Ok(Answer::Errno(libc::ESRCH)),
        Err(_) => return Ok(Answer::Errno(libc::EFAULT)),
    };
    let narrowed = cpus::intersect(&asked, allowed);
    if cpus::count(&narrowed) == 0 {
        return Ok(Answer::Errno(libc::EINVAL));
    }
    // Read and checked while the caller waits: `caller` (and a pid the
    // walk found) was the caller's.
    if !is_live(n.id) {
        return Ok(Answer::Errno(libc::EINTR));
    }
    let target = if pid == 0 { caller } else { pid };
    Ok(match cpus::set_affinity(target, &narrowed) {
        Ok(()) => Answer::Value(0),
        Err(errno) => Answer::Errno(errno),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(members: &[usize]) -> libc::cpu_set_t {
        let mut s = cpus::empty();
        for &c in members {
            cpus::add(&mut s, c);
        }
        s
    }

    #[test]
    fn narrowing_keeps_only_allowed_cpus() {
        let both = cpus::intersect(&set(&[0, 1, 5, 1000]), &set(&[1, 2, 1000]));
        for cpu in 0..libc::CPU_SETSIZE as usize {
            let expected = cpu == 1 || cpu == 1000;
            assert_eq!(cpus::has(&both, cpu), expected, "{cpu}");
        }
        assert_eq!(cpus::count(&cpus::intersect(&set(&[3]), &set(&[0, 1]))), 0);
    }

    #[test]
    fn membership_follows_threads_and_parents() {
        let me = std::process::id() as libc::pid_t;
        let no_groups = |_| false;
        // The test process as "main": itself, its threads and its children
        // belong; its parent and init do not.
        let sandbox = Sandbox {
            main: me,
            helpers: [-1, -1],
            has_group: &no_groups,
            cpus: None,
        };
        let tid = crate::sys::gettid();
        assert_eq!(belongs(&sandbox, tid, me), Ok(true));
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let child_pid = child.id() as libc::pid_t;
        assert_eq!(belongs(&sandbox, tid, child_pid), Ok(true));
        let parent = crate::sys::getppid();
        assert_eq!(belongs(&sandbox, tid, parent), Ok(false));
        assert_eq!(belongs(&sandbox, tid, 1), Ok(false));
        // A helper and what is under it: not the job's.
        let helper = Sandbox {
            helpers: [child_pid, -1],
            ..sandbox
        };
        assert_eq!(belongs(&helper, tid, child_pid), Ok(false));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(belongs(&sandbox, tid, child_pid), Ok(false));
    }
}

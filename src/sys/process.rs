//! clone3, pidfds and waitid.

use super::{check, SysResult};
use std::os::fd::RawFd;

pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
pub const P_PIDFD: libc::idtype_t = 3;

/// `struct clone_args` (the fields up to `cgroup`, Linux 5.7).
#[repr(C)]
#[derive(Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// `clone3(args)` without `CLONE_VM`: returns 0 in the child (which then
/// runs on a copy of the caller's memory), the child's pid in the parent.
///
/// # Safety
/// In a multithreaded caller the child may only run async-signal-safe code.
pub unsafe fn clone3(args: &mut CloneArgs) -> SysResult<libc::pid_t> {
    // SAFETY: args is a valid clone_args of its size; what the child may run is our caller's contract.
    unsafe {
        check(libc::syscall(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        ))
        .map(|pid| pid as libc::pid_t)
    }
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: RawFd, sig: i32) -> SysResult<()> {
    pidfd_send_signal_flags(pidfd, sig, 0)
}

/// `PIDFD_SIGNAL_PROCESS_GROUP` (Linux 6.9): the signal goes to the
/// members of the process group whose `struct pid` the pidfd pins (the
/// group its process leads or led), whoever holds that number now.
pub const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;

/// `pidfd_send_signal(pidfd, sig, NULL, PIDFD_SIGNAL_PROCESS_GROUP)`.
pub fn pidfd_signal_group(pidfd: RawFd, sig: i32) -> SysResult<()> {
    pidfd_send_signal_flags(pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP)
}

fn pidfd_send_signal_flags(pidfd: RawFd, sig: i32, flags: u32) -> SysResult<()> {
    // SAFETY: integer arguments and a NULL siginfo.
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            flags,
        )
    })
    .map(drop)
}

/// How a reaped child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

/// `waitid(P_PIDFD, pidfd, flags | __WALL)` and what it filled in.
fn waitid_info(pidfd: RawFd, flags: i32) -> SysResult<libc::siginfo_t> {
    // SAFETY: siginfo_t is plain data; zeroed is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: info is a valid out pointer.
    let ret = unsafe {
        libc::waitid(
            P_PIDFD,
            pidfd as libc::id_t,
            &mut info,
            flags | libc::__WALL,
        )
    };
    check(ret as libc::c_long)?;
    Ok(info)
}

/// `waitid(P_PIDFD, pidfd, WEXITED | __WALL | flags)`: `Ok(None)` while the
/// child still runs (with `WNOHANG`).
pub fn waitid_pidfd(pidfd: RawFd, flags: i32) -> SysResult<Option<ChildStatus>> {
    let info = waitid_info(pidfd, libc::WEXITED | flags)?;
    // SAFETY: waitid filled info (si_pid stays 0 when nothing was reaped).
    let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(match code {
        libc::CLD_EXITED => ChildStatus::Exited(status),
        _ => ChildStatus::Signaled(status),
    }))
}

/// Waits until child `pidfd` stops (true) or ends (false), leaving
/// either to a later wait.
pub fn wait_stop_or_end(pidfd: RawFd) -> SysResult<bool> {
    loop {
        match waitid_info(pidfd, libc::WSTOPPED | libc::WEXITED | libc::WNOWAIT) {
            Err(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(info) => return Ok(info.si_code == libc::CLD_STOPPED),
        }
    }
}

/// Waits until child `pidfd` stops (true; the stop is then consumed, so
/// the host's own waits do not report it) or ends (false; left to reap).
pub fn wait_stopped(pidfd: RawFd) -> SysResult<bool> {
    if !wait_stop_or_end(pidfd)? {
        return Ok(false);
    }
    // WNOHANG: the stop is already there.
    let _ = waitid_info(pidfd, libc::WSTOPPED | libc::WNOHANG);
    Ok(true)
}

/// `PIDFD_THREAD` (Linux 6.9): a pidfd for a thread rather than a process.
pub const PIDFD_THREAD: u32 = libc::O_EXCL as u32;

/// `pidfd_open(pid, flags)`.
pub fn pidfd_open(pid: libc::pid_t, flags: u32) -> SysResult<RawFd> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) }).map(|fd| fd as RawFd)
}

/// `pidfd_open(pid, flags)`, owned.
pub fn pidfd(pid: libc::pid_t, flags: u32) -> SysResult<std::os::fd::OwnedFd> {
    // SAFETY: a new fd we own.
    pidfd_open(pid, flags).map(|fd| unsafe { super::own(fd) })
}

/// SIGKILL the process of `pidfd` and reap it: a child that must not
/// live on (its setup failed).
pub fn kill_and_reap(pidfd: RawFd) {
    let _ = pidfd_send_signal(pidfd, libc::SIGKILL);
    while let Err(libc::EINTR) = waitid_pidfd(pidfd, 0) {}
}

/// [`pidfd_getfd`], owned.
pub fn dup_from(pidfd: RawFd, target_fd: RawFd) -> SysResult<std::os::fd::OwnedFd> {
    // SAFETY: a new fd we own.
    pidfd_getfd(pidfd, target_fd).map(|fd| unsafe { super::own(fd) })
}

/// `pidfd_getfd(pidfd, targetfd, 0)`: a duplicate of another process's fd
/// (the same open file description).
pub fn pidfd_getfd(pidfd: RawFd, target_fd: RawFd) -> SysResult<RawFd> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target_fd, 0) })
        .map(|fd| fd as RawFd)
}

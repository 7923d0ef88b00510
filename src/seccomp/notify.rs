//! The listener side of seccomp user notification: receive one request,
//! check it is still live, answer it. Every answer goes through
//! [`Listener::respond`]; a vanished target is not an error.

use crate::sys::seccomp::{self as raw, seccomp_notif, seccomp_notif_resp};
use crate::sys::SysResult;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// One trapped syscall, copied out of the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Notification {
    pub id: u64,
    /// The calling thread's id (in the supervisor's pid namespace).
    pub pid: u32,
    pub nr: i64,
    pub args: [u64; 6],
}

impl Notification {
    /// The calling thread.
    pub fn tid(&self) -> libc::pid_t {
        self.pid as libc::pid_t
    }

    /// Argument `i` as the kernel reads an `int` (an fd, a pid, flags):
    /// its low 32 bits, so nothing can hide in the high half.
    pub fn int(&self, i: usize) -> i32 {
        self.args[i] as i32
    }

    /// Argument `i` as an `unsigned int` (a count, flags).
    pub fn uint(&self, i: usize) -> u32 {
        self.args[i] as u32
    }

    /// Argument `i` as a pointer into the caller's memory (all 64 bits).
    pub fn pointer(&self, i: usize) -> u64 {
        self.args[i]
    }
}

/// How the supervisor answers a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The syscall "returns" this value.
    Value(i64),
    /// The syscall fails with this errno.
    Errno(i32),
    /// The kernel runs the syscall as the caller made it. Only for
    /// decisions made on the register arguments alone: the kernel re-reads
    /// any memory argument, which a sibling thread may have changed.
    ContinueOnRegisters,
    /// The same for a call decided on its memory arguments while every
    /// other task of the sandbox is stopped (`freeze`): nothing can change
    /// that memory before the kernel reads it again.
    ContinueFrozen,
    /// The same for an O_PATH open whose path was checked: the kernel
    /// resolves it again, but an O_PATH fd gives metadata only, and every
    /// use of it that reaches contents is checked anew.
    ContinueChecked,
}

const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;

pub struct Listener {
    fd: OwnedFd,
    sync_wake_up: bool,
}

impl Listener {
    /// Takes the listener and asks the kernel to wake the supervisor on the
    /// trapped task's CPU (Linux 6.6), which turns a ~35 us cross-CPU round
    /// trip into ~5 us on these machines. Older kernels keep working.
    pub fn new(fd: OwnedFd) -> Self {
        // (The notification layout was checked against the kernel's at spawn:
        // see `check_layout`.)
        let sync_wake_up =
            raw::notif_set_flags(fd.as_raw_fd(), raw::SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP).is_ok();
        Listener { fd, sync_wake_up }
    }

    /// Refuses a kernel whose notification structures are larger than
    /// ours: RECV would write past our buffer.
    pub fn check_layout() -> Result<(), String> {
        static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        CHECKED
            .get_or_init(|| match raw::notif_sizes() {
                Ok(sizes)
                    if usize::from(sizes.seccomp_notif) <= std::mem::size_of::<seccomp_notif>()
                        && usize::from(sizes.seccomp_notif_resp)
                            <= std::mem::size_of::<seccomp_notif_resp>() =>
                {
                    Ok(())
                }
                Ok(sizes) => Err(format!(
                    "seccomp: the kernel's notification is {} bytes, this library knows {}",
                    sizes.seccomp_notif,
                    std::mem::size_of::<seccomp_notif>()
                )),
                Err(errno) => Err(format!(
                    "seccomp(SECCOMP_GET_NOTIF_SIZES): {}",
                    crate::error::strerror(errno)
                )),
            })
            .clone()
    }

    pub fn sync_wake_up(&self) -> bool {
        self.sync_wake_up
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one pending notification. Call only when the fd polled
    /// readable: RECV blocks otherwise. `Ok(None)` when the request vanished
    /// between the wake-up and the receive (the task was killed or its call
    /// interrupted).
    pub fn receive(&self) -> SysResult<Option<Notification>> {
        match raw::notif_recv(self.raw()) {
            Ok(seccomp_notif { id, pid, data, .. }) => Ok(Some(Notification {
                id,
                pid,
                nr: i64::from(data.nr),
                args: data.args,
            })),
            Err(libc::ENOENT) | Err(libc::EINTR) => Ok(None),
            Err(errno) => Err(errno),
        }
    }

    /// Is the task still blocked in the notified call? Check after every
    /// look at its memory or /proc entries: its pid may have been reused.
    pub fn is_live(&self, id: u64) -> bool {
        raw::notif_id_valid(self.raw(), id)
    }

    /// Answers a notification. A target that died or was interrupted
    /// meanwhile (ENOENT) is fine: with SA_RESTART it comes back under a new
    /// id and is decided again.
    pub fn respond(&self, id: u64, answer: Answer) -> SysResult<()> {
        let resp = match answer {
            Answer::Value(val) => seccomp_notif_resp {
                id,
                val,
                error: 0,
                flags: 0,
            },
            Answer::Errno(errno) => seccomp_notif_resp {
                id,
                val: 0,
                error: -errno.abs().max(1),
                flags: 0,
            },
            Answer::ContinueOnRegisters | Answer::ContinueFrozen | Answer::ContinueChecked => {
                seccomp_notif_resp {
                    id,
                    val: 0,
                    error: 0,
                    flags: SECCOMP_USER_NOTIF_FLAG_CONTINUE,
                }
            }
        };
        match raw::notif_send(self.raw(), &resp) {
            Ok(()) | Err(libc::ENOENT) => Ok(()),
            Err(errno) => Err(errno),
        }
    }
}

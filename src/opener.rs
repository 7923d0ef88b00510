//! The opener: a process per sandbox, in its Landlock domain and with its
//! credentials (capabilities dropped), outside its seccomp filter, that
//! opens files for the supervisor. Routing a sandbox's opens through it
//! (for `fs_deny`) never widens what the sandbox may open: Landlock and the
//! file permissions judge each open exactly as they would the child's.
//!
//! Its program is ours, hand-written (`src/opener.s`, assembled here as
//! bytes) and exec'd from a sealed memfd, like the watchdog's: no copy of
//! the host's memory. fd 3 is a SOCK_SEQPACKET socket to the supervisor.
//! A request is a sequence number, a `struct open_how` and a NUL-terminated
//! path, with the fd the path is resolved from (SCM_RIGHTS), which the
//! opener moves to fd 4: so `/proc/self/fd/4` reopens it. The reply is the
//! sequence number and an 8-byte result (an fd number or -errno), with the
//! opened fd itself. It exits when the supervisor's end closes. It makes
//! itself non-dumpable, so the job cannot reach its memory through /proc.
//! The job can still stop or kill it (same domain), so the supervisor never
//! waits for it: a request is sent ([`Opener::request`]), the call that
//! needs it waits parked (onbehalf.rs, `Opens` in supervisor.rs), and the
//! reply is taken ([`Opener::reply`]) when the socket is readable, in a
//! later step. Requests are answered in order, so several may be out at
//! once (at most [`MOST_IN_FLIGHT`], well under what the socket queues);
//! a reply that is late (REPLY_TIMEOUT_MS since the last one, timed by a
//! timerfd in the sandbox's epoll set), missing or out of sequence breaks
//! the opener for good, and every open fails with EIO from then on.

use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// `src/opener.s`, assembled (`make opener-check` compares).
pub const PROGRAM_CODE: [u8; 590] = [
    0xb8, 0x9d, 0x00, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0x0f, 0x05, 0xb8, 0x5f,
    0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05, 0x48, 0x81, 0xec, 0x00, 0x20, 0x00, 0x00, 0x48, 0x8d,
    0x04, 0x24, 0x48, 0x89, 0x84, 0x24, 0x40, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x48, 0x10,
    0x00, 0x00, 0x20, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x80, 0x10, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x88, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8d,
    0x84, 0x24, 0x40, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x90, 0x10, 0x00, 0x00, 0x48, 0xc7,
    0x84, 0x24, 0x98, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0x60, 0x10,
    0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0xa0, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xa8, 0x10,
    0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xb0, 0x10, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc6, 0x84, 0x24, 0x20, 0x10, 0x00, 0x00, 0x00, 0xb8, 0x2f, 0x00, 0x00, 0x00, 0xbf,
    0x03, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xb4, 0x24, 0x80, 0x10, 0x00, 0x00, 0xba, 0x00, 0x00, 0x00,
    0x40, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0xfc, 0x0f, 0x84, 0x61, 0xff, 0xff, 0xff, 0x48, 0x85, 0xc0,
    0x0f, 0x8e, 0x7f, 0x01, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xea, 0xff, 0xff, 0xff, 0x48, 0x83, 0xf8,
    0x21, 0x7c, 0x6e, 0x49, 0xc7, 0xc5, 0xf7, 0xff, 0xff, 0xff, 0x48, 0x83, 0xbc, 0x24, 0xa8, 0x10,
    0x00, 0x00, 0x14, 0x7c, 0x5c, 0x49, 0xc7, 0xc4, 0x04, 0x00, 0x00, 0x00, 0x8b, 0xbc, 0x24, 0x70,
    0x10, 0x00, 0x00, 0x83, 0xff, 0x04, 0x74, 0x22, 0xb8, 0x24, 0x01, 0x00, 0x00, 0xbe, 0x04, 0x00,
    0x00, 0x00, 0xba, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc4, 0xb8, 0x03, 0x00, 0x00,
    0x00, 0x8b, 0xbc, 0x24, 0x70, 0x10, 0x00, 0x00, 0x0f, 0x05, 0x4d, 0x89, 0xe5, 0x4d, 0x85, 0xe4,
    0x78, 0x1f, 0xb8, 0xb5, 0x01, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x74, 0x24,
    0x20, 0x48, 0x8d, 0x54, 0x24, 0x08, 0x41, 0xba, 0x18, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89,
    0xc5, 0x48, 0x8b, 0x04, 0x24, 0x48, 0x89, 0x84, 0x24, 0xb8, 0x10, 0x00, 0x00, 0x4c, 0x89, 0xac,
    0x24, 0xc0, 0x10, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xb8, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84,
    0x24, 0xd0, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xd8, 0x10, 0x00, 0x00, 0x10, 0x00, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x08, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xd0, 0x10, 0x00,
    0x00, 0x48, 0x89, 0x84, 0x24, 0x10, 0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x18, 0x11, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x20, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x28, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x30, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x85, 0xed, 0x78, 0x46, 0x48, 0xc7,
    0x84, 0x24, 0xe0, 0x10, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xe8, 0x10, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xec, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x44, 0x89, 0xac, 0x24, 0xf0, 0x10, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xe0, 0x10, 0x00, 0x00,
    0x48, 0x89, 0x84, 0x24, 0x20, 0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x28, 0x11, 0x00, 0x00,
    0x18, 0x00, 0x00, 0x00, 0xb8, 0x2e, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x8d,
    0xb4, 0x24, 0x00, 0x11, 0x00, 0x00, 0xba, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x05, 0x4d, 0x85, 0xed,
    0x0f, 0x88, 0xe8, 0xfd, 0xff, 0xff, 0xb8, 0x03, 0x00, 0x00, 0x00, 0x44, 0x89, 0xef, 0x0f, 0x05,
    0xe9, 0xd9, 0xfd, 0xff, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05,
];

/// How long the opener may go without answering an outstanding request
/// before it counts as hung.
pub const REPLY_TIMEOUT_MS: u64 = 500;
/// Most requests out at once: a SOCK_SEQPACKET pair queues about 10
/// (net.unix.max_dgram_qlen) before a send would block.
pub const MOST_IN_FLIGHT: usize = 8;

/// What a spawn prepares for its opener: the socket pair and the program.
pub struct Prepared {
    pub host_end: OwnedFd,
    pub child_end: OwnedFd,
    pub program: OwnedFd,
}

pub fn prepare() -> Result<Prepared, i32> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid out array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(sys::errno());
    }
    // SAFETY: both are new fds we own.
    let (host_end, child_end) = unsafe { (sys::own(fds[0]), sys::own(fds[1])) };
    let image = crate::watchdog::elf_image(&PROGRAM_CODE);
    let program = crate::watchdog::sealed_memfd(c"sandlock-opener", &image)?;
    Ok(Prepared {
        host_end,
        child_end,
        program,
    })
}

/// The supervisor's side.
pub struct Opener {
    sock: OwnedFd,
    /// The opener process, so the supervisor can tell it is gone.
    _process: Option<OwnedFd>,
    /// The last request's sequence number.
    sequence: std::cell::Cell<u64>,
    /// A reply went missing or came out of order: no more requests.
    broken: std::cell::Cell<bool>,
}

#[repr(C)]
struct Request {
    sequence: u64,
    flags: u64,
    mode: u64,
    resolve: u64,
    path: [u8; 4096],
}

/// Space for one fd's SCM_RIGHTS message (CMSG_SPACE(4)).
#[repr(C, align(8))]
struct OneFd([u8; 24]);

impl Opener {
    pub fn new(sock: OwnedFd, process: Option<OwnedFd>) -> Opener {
        Opener {
            sock,
            _process: process,
            sequence: std::cell::Cell::new(0),
            broken: std::cell::Cell::new(false),
        }
    }

    /// The socket, to watch for replies (readable) and the opener's end
    /// (hang-up).
    pub fn socket(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// From now on every request fails with EIO.
    pub fn set_broken(&self) {
        self.broken.set(true);
    }

    /// Sends openat2(`dir`, `path`, {flags, mode, resolve}) as the sandbox
    /// would make it, without waiting: its sequence number, whose reply
    /// [`Opener::reply`] gives later. `path` may not hold a NUL.
    pub fn request(
        &self,
        dir: RawFd,
        path: &[u8],
        flags: u64,
        mode: u64,
        resolve: u64,
    ) -> Result<u64, i32> {
        if path.len() >= 4096 {
            return Err(libc::ENAMETOOLONG);
        }
        if path.contains(&0) {
            return Err(libc::EINVAL);
        }
        if self.broken.get() {
            return Err(libc::EIO);
        }
        let sequence = self.sequence.get() + 1;
        self.sequence.set(sequence);
        let mut request = Request {
            sequence,
            flags,
            mode,
            resolve,
            path: [0; 4096],
        };
        request.path[..path.len()].copy_from_slice(path);
        if let Err(e) = self.send(&request, 32 + path.len() + 1, dir) {
            self.broken.set(true);
            return Err(e);
        }
        Ok(sequence)
    }

    /// openat2 through the opener, waiting for its reply (tests only: the
    /// supervisor never waits on the opener).
    #[cfg(test)]
    pub fn open(
        &self,
        dir: RawFd,
        path: &[u8],
        flags: u64,
        mode: u64,
        resolve: u64,
    ) -> Result<OwnedFd, i32> {
        let sequence = self.request(dir, path, flags, mode, resolve)?;
        let mut ready = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut ready, 1, REPLY_TIMEOUT_MS as i32) };
        match self.reply() {
            Some((s, result)) if s == sequence => result,
            _ => Err(libc::EIO),
        }
    }

    fn send(&self, request: &Request, len: usize, dir: RawFd) -> Result<(), i32> {
        let mut iov = libc::iovec {
            iov_base: request as *const Request as *mut libc::c_void,
            iov_len: len,
        };
        let mut control = OneFd([0; 24]);
        let msg = message(&mut iov, &mut control);
        // SAFETY: the control buffer holds one cmsghdr with an int.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut i32, dir);
        }
        // SAFETY: msg is valid for the call. Never blocks: a full queue
        // (which MOST_IN_FLIGHT keeps from happening) is a broken opener.
        let sent = unsafe {
            libc::sendmsg(
                self.sock.as_raw_fd(),
                &msg,
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if sent != len as isize {
            return Err(libc::EIO);
        }
        Ok(())
    }

    /// The next reply, if one has come: its sequence number and the
    /// result (the opened fd, or the errno). None when nothing is there
    /// yet. A malformed reply, or the opener's end closed, breaks the
    /// opener: `(0, Err(EIO))`.
    pub fn reply(&self) -> Option<(u64, Result<OwnedFd, i32>)> {
        let mut reply = [0i64; 2];
        let mut iov = libc::iovec {
            iov_base: reply.as_mut_ptr() as *mut libc::c_void,
            iov_len: 16,
        };
        let mut control = OneFd([0; 24]);
        let mut msg = message(&mut iov, &mut control);
        // SAFETY: msg is valid for the call.
        let n = unsafe {
            libc::recvmsg(
                self.sock.as_raw_fd(),
                &mut msg,
                libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 && matches!(sys::errno(), libc::EAGAIN | libc::EINTR) {
            return None;
        }
        // SAFETY: recvmsg filled msg (or left our zeroed control buffer).
        let fd = unsafe { received_fd(&msg) };
        if n != 16 {
            self.broken.set(true);
            return Some((0, Err(libc::EIO)));
        }
        let result = match (reply[1], fd) {
            (r, Some(fd)) if r >= 0 => Ok(fd),
            (r, None) if r < 0 && r > -4096 => Err(-r as i32),
            _ => {
                self.broken.set(true);
                Err(libc::EIO)
            }
        };
        Some((reply[0] as u64, result))
    }
}

/// A msghdr of one iovec and room for one fd; both must outlive its use.
fn message(iov: &mut libc::iovec, control: &mut OneFd) -> libc::msghdr {
    // SAFETY: msghdr is plain data; zero is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = control.0.len();
    msg
}

/// The fd an SCM_RIGHTS message brought, owned (so closed if unused).
///
/// # Safety
/// `msg` must be a message recvmsg filled.
unsafe fn received_fd(msg: &libc::msghdr) -> Option<OwnedFd> {
    let cmsg = libc::CMSG_FIRSTHDR(msg);
    if cmsg.is_null()
        || (*cmsg).cmsg_level != libc::SOL_SOCKET
        || (*cmsg).cmsg_type != libc::SCM_RIGHTS
    {
        return None;
    }
    Some(sys::own(std::ptr::read_unaligned(
        libc::CMSG_DATA(cmsg) as *const i32
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opener run as a plain child of the test (no sandbox): it opens,
    /// reports errors, and reopens through /proc/self/fd/4.
    #[test]
    fn the_program_serves_opens() {
        let prepared = prepare().unwrap();
        // SAFETY: fork in a test; the child only dup2s, execveats, exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::dup2(prepared.child_end.as_raw_fd(), 3);
                let argv = [c"opener".as_ptr(), std::ptr::null()];
                let envp = [std::ptr::null::<libc::c_char>()];
                libc::syscall(
                    libc::SYS_execveat,
                    prepared.program.as_raw_fd(),
                    c"".as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                    libc::AT_EMPTY_PATH,
                );
                libc::_exit(127);
            }
        }
        drop(prepared.child_end);
        let opener = Opener::new(prepared.host_end, None);
        let root = std::fs::File::open("/").unwrap();
        let fd = opener
            .open(
                root.as_raw_fd(),
                b"proc/self/status",
                libc::O_RDONLY as u64,
                0,
                0,
            )
            .unwrap();
        let text = std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        // The opener opened it: its own status, not ours.
        assert!(
            text.contains("Name:\tsandlock-opener") || text.contains("Name:\tmemfd"),
            "{text}"
        );
        assert_eq!(
            opener
                .open(
                    root.as_raw_fd(),
                    b"no/such/file",
                    libc::O_RDONLY as u64,
                    0,
                    0
                )
                .err(),
            Some(libc::ENOENT)
        );
        let path = opener
            .open(
                root.as_raw_fd(),
                b"etc",
                (libc::O_PATH | libc::O_DIRECTORY) as u64,
                0,
                0,
            )
            .unwrap();
        let again = opener
            .open(
                path.as_raw_fd(),
                b"/proc/self/fd/4",
                libc::O_RDONLY as u64,
                0,
                0,
            )
            .unwrap();
        let (a, b) = (
            crate::paths::identity(path.as_raw_fd()).unwrap(),
            crate::paths::identity(again.as_raw_fd()).unwrap(),
        );
        assert_eq!(a, b);
        drop(opener);
        let mut status = 0;
        // SAFETY: our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}

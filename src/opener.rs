//! The opener: a process per sandbox, in its Landlock domain and with its
//! credentials (capabilities dropped), outside its seccomp filter, that
//! opens files for the supervisor. Routing a sandbox's opens through it
//! (for `fs_deny`) never widens what the sandbox may open: Landlock and the
//! file permissions judge each open exactly as they would the child's.
//!
//! Its program is ours, hand-written (`src/opener.s`, assembled here as
//! bytes) and exec'd from a sealed memfd, like the watchdog's: no copy of
//! the host's memory. fd 3 is a SOCK_SEQPACKET socket to the supervisor.
//! A request is a `struct open_how` and a NUL-terminated path, with the fd
//! the path is resolved from (SCM_RIGHTS), which the opener moves to fd 4:
//! so `/proc/self/fd/4` reopens it. The reply is an 8-byte result (an fd
//! number or -errno) with the opened fd itself. It exits when the
//! supervisor's end closes. The job can kill it (same domain): then every
//! open fails (EIO), closed.

use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// `src/opener.s`, assembled (`make opener-check` compares).
pub const PROGRAM_CODE: [u8; 554] = [
    0x48, 0x81, 0xec, 0x00, 0x20, 0x00, 0x00, 0x48, 0x8d, 0x04, 0x24, 0x48,
    0x89, 0x84, 0x24, 0x40, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x48,
    0x10, 0x00, 0x00, 0x18, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x80,
    0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x88,
    0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0x40,
    0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x90, 0x10, 0x00, 0x00, 0x48,
    0xc7, 0x84, 0x24, 0x98, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x48,
    0x8d, 0x84, 0x24, 0x60, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0xa0,
    0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xa8, 0x10, 0x00, 0x00, 0x18,
    0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xb0, 0x10, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xc6, 0x84, 0x24, 0x18, 0x10, 0x00, 0x00, 0x00, 0xb8,
    0x2f, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xb4,
    0x24, 0x80, 0x10, 0x00, 0x00, 0xba, 0x00, 0x00, 0x00, 0x40, 0x0f, 0x05,
    0x48, 0x83, 0xf8, 0xfc, 0x0f, 0x84, 0x61, 0xff, 0xff, 0xff, 0x48, 0x85,
    0xc0, 0x0f, 0x8e, 0x72, 0x01, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xea, 0xff,
    0xff, 0xff, 0x48, 0x83, 0xf8, 0x19, 0x7c, 0x6d, 0x49, 0xc7, 0xc5, 0xf7,
    0xff, 0xff, 0xff, 0x48, 0x83, 0xbc, 0x24, 0xa8, 0x10, 0x00, 0x00, 0x14,
    0x7c, 0x5b, 0x49, 0xc7, 0xc4, 0x04, 0x00, 0x00, 0x00, 0x8b, 0xbc, 0x24,
    0x70, 0x10, 0x00, 0x00, 0x83, 0xff, 0x04, 0x74, 0x22, 0xb8, 0x24, 0x01,
    0x00, 0x00, 0xbe, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00, 0x00, 0x08, 0x00,
    0x0f, 0x05, 0x49, 0x89, 0xc4, 0xb8, 0x03, 0x00, 0x00, 0x00, 0x8b, 0xbc,
    0x24, 0x70, 0x10, 0x00, 0x00, 0x0f, 0x05, 0x4d, 0x89, 0xe5, 0x4d, 0x85,
    0xe4, 0x78, 0x1e, 0xb8, 0xb5, 0x01, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00,
    0x00, 0x48, 0x8d, 0x74, 0x24, 0x18, 0x48, 0x8d, 0x14, 0x24, 0x41, 0xba,
    0x18, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0x4c, 0x89, 0xac,
    0x24, 0xc0, 0x10, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xc0, 0x10, 0x00,
    0x00, 0x48, 0x89, 0x84, 0x24, 0xd0, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0xd8, 0x10, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x08, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84,
    0x24, 0xd0, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x10, 0x11, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x18, 0x11, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x20, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x28, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x30, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x4d, 0x85, 0xed, 0x78, 0x46, 0x48, 0xc7, 0x84, 0x24, 0xe0, 0x10,
    0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xe8, 0x10, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xec, 0x10, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x44, 0x89, 0xac, 0x24, 0xf0, 0x10, 0x00, 0x00,
    0x48, 0x8d, 0x84, 0x24, 0xe0, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24,
    0x20, 0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x28, 0x11, 0x00, 0x00,
    0x18, 0x00, 0x00, 0x00, 0xb8, 0x2e, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00,
    0x00, 0x00, 0x48, 0x8d, 0xb4, 0x24, 0x00, 0x11, 0x00, 0x00, 0xba, 0x00,
    0x40, 0x00, 0x00, 0x0f, 0x05, 0x4d, 0x85, 0xed, 0x0f, 0x88, 0xf5, 0xfd,
    0xff, 0xff, 0xb8, 0x03, 0x00, 0x00, 0x00, 0x44, 0x89, 0xef, 0x0f, 0x05,
    0xe9, 0xe6, 0xfd, 0xff, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x31, 0xff,
    0x0f, 0x05,
];

/// How long one request may take before the opener counts as hung.
const REPLY_TIMEOUT_MS: i32 = 2000;

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
}

#[repr(C)]
struct Request {
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
        }
    }

    /// openat2(`dir`, `path`, {flags, mode, resolve}) as the sandbox would
    /// make it. `path` may not hold a NUL.
    pub fn open(
        &self,
        dir: RawFd,
        path: &[u8],
        flags: u64,
        mode: u64,
        resolve: u64,
    ) -> Result<OwnedFd, i32> {
        if path.len() >= 4096 {
            return Err(libc::ENAMETOOLONG);
        }
        if path.contains(&0) {
            return Err(libc::EINVAL);
        }
        let mut request = Request {
            flags,
            mode,
            resolve,
            path: [0; 4096],
        };
        request.path[..path.len()].copy_from_slice(path);
        self.send(&request, 24 + path.len() + 1, dir)?;
        self.receive()
    }

    fn send(&self, request: &Request, len: usize, dir: RawFd) -> Result<(), i32> {
        let mut iov = libc::iovec {
            iov_base: request as *const Request as *mut libc::c_void,
            iov_len: len,
        };
        let mut control = OneFd([0; 24]);
        // SAFETY: msghdr is plain data; the pointers set below outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.0.len();
        // SAFETY: the control buffer holds one cmsghdr with an int.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut i32, dir);
        }
        // SAFETY: msg is valid for the call.
        let sent = unsafe { libc::sendmsg(self.sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if sent != len as isize {
            return Err(libc::EIO);
        }
        Ok(())
    }

    fn receive(&self) -> Result<OwnedFd, i32> {
        let mut ready = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut ready, 1, REPLY_TIMEOUT_MS) } != 1 {
            return Err(libc::EIO);
        }
        let mut result: i64 = 0;
        let mut iov = libc::iovec {
            iov_base: &mut result as *mut i64 as *mut libc::c_void,
            iov_len: 8,
        };
        let mut control = OneFd([0; 24]);
        // SAFETY: as in send.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.0.len();
        // SAFETY: msg is valid for the call.
        let n = unsafe {
            libc::recvmsg(
                self.sock.as_raw_fd(),
                &mut msg,
                libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
            )
        };
        if n != 8 {
            return Err(libc::EIO);
        }
        // SAFETY: the kernel filled the control buffer it was given.
        let fd = unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if cmsg.is_null()
                || (*cmsg).cmsg_level != libc::SOL_SOCKET
                || (*cmsg).cmsg_type != libc::SCM_RIGHTS
            {
                None
            } else {
                Some(std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const i32))
            }
        };
        match (result, fd) {
            (r, Some(fd)) if r >= 0 => Ok(unsafe { sys::own(fd) }),
            (r, None) if r < 0 && r > -4096 => Err(-r as i32),
            // SAFETY: an fd the kernel gave us is ours to close.
            (_, Some(fd)) => {
                drop(unsafe { sys::own(fd) });
                Err(libc::EIO)
            }
            _ => Err(libc::EIO),
        }
    }
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
            .open(root.as_raw_fd(), b"proc/self/status", libc::O_RDONLY as u64, 0, 0)
            .unwrap();
        let text = std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        // The opener opened it: its own status, not ours.
        assert!(text.contains("Name:\tsandlock-opener") || text.contains("Name:\tmemfd"), "{text}");
        assert_eq!(
            opener
                .open(root.as_raw_fd(), b"no/such/file", libc::O_RDONLY as u64, 0, 0)
                .err(),
            Some(libc::ENOENT)
        );
        let path = opener
            .open(root.as_raw_fd(), b"etc", (libc::O_PATH | libc::O_DIRECTORY) as u64, 0, 0)
            .unwrap();
        let again = opener
            .open(path.as_raw_fd(), b"/proc/self/fd/4", libc::O_RDONLY as u64, 0, 0)
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

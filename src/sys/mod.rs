//! Raw kernel interfaces the libc crate does not wrap: clone3 and pidfds,
//! the seccomp user-notification ioctls, capabilities and Landlock's
//! restrict call. Each wrapper is one system call; the child side of
//! `spawn` uses them between clone and exec, so none of them allocates.

#![allow(non_camel_case_types)]

pub mod cpus;
pub mod creds;
pub mod epoll;
pub mod file;
pub mod memory;
pub mod process;
pub mod procfs;
pub mod seccomp;
pub mod timer;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Result of a raw call: the value, or the errno it failed with.
pub type SysResult<T> = Result<T, i32>;

/// Turns a `-1 and errno` return into a `SysResult`. Safe in the child: it
/// reads the thread's errno and allocates nothing.
#[inline]
pub fn check(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

#[inline]
/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`:
/// the Landlock ABI the kernel offers (0 without Landlock).
pub fn landlock_abi() -> i32 {
    // SAFETY: the VERSION query takes a NULL attr and size 0.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if ret < 0 {
        0
    } else {
        ret as i32
    }
}

/// `poll` of one fd without waiting: its revents (0: nothing yet).
pub fn poll_now(fd: RawFd, events: i16) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    match unsafe { libc::poll(&mut p, 1, 0) } {
        1 => p.revents,
        _ => 0,
    }
}

/// `fstat(fd)`.
pub fn fstat(fd: RawFd) -> SysResult<libc::stat> {
    // SAFETY: stat is plain data, filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer.
    check(unsafe { libc::fstat(fd, &mut st) } as libc::c_long)?;
    Ok(st)
}

/// `stat(path)`.
pub fn stat(path: &std::ffi::CStr) -> SysResult<libc::stat> {
    // SAFETY: stat is plain data, filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out pointer.
    check(unsafe { libc::stat(path.as_ptr(), &mut st) } as libc::c_long)?;
    Ok(st)
}

/// `open(path, flags)`, owned.
pub fn open(path: &std::ffi::CStr, flags: i32) -> SysResult<OwnedFd> {
    // SAFETY: a NUL-terminated path.
    let fd = check(unsafe { libc::open(path.as_ptr(), flags) } as libc::c_long)?;
    // SAFETY: a new fd we own.
    Ok(unsafe { own(fd as RawFd) })
}

/// `clock_gettime(clock)`.
pub fn clock_now(clock: libc::clockid_t) -> SysResult<libc::timespec> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out pointer.
    check(unsafe { libc::clock_gettime(clock, &mut now) } as libc::c_long)?;
    Ok(now)
}

/// The clock ticks per second that /proc's CPU times count in (at least 1).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: a plain query, no pointers.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64
}

/// The host's time zone (`struct timezone`, two ints), as gettimeofday
/// gives it.
pub fn time_zone() -> SysResult<[i32; 2]> {
    let mut zone = [0i32; 2];
    // SAFETY: a NULL timeval and a buffer the size of struct timezone.
    check(unsafe {
        libc::syscall(
            libc::SYS_gettimeofday,
            std::ptr::null_mut::<libc::timeval>(),
            zone.as_mut_ptr(),
        )
    })?;
    Ok(zone)
}

/// `readlinkat(dir, name)`: what the symlink holds (at most 4095 bytes).
pub fn readlinkat(dir: RawFd, name: &std::ffi::CStr) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: name is NUL-terminated, buf a valid buffer of its length.
    let n = check(unsafe {
        libc::readlinkat(
            dir,
            name.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    } as libc::c_long)? as usize;
    if n >= buf.len() {
        return Err(libc::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// Clears `flags` from the fd's status flags (F_SETFL).
pub fn clear_status_flags(fd: RawFd, flags: i32) -> SysResult<()> {
    // SAFETY: plain fcntl calls on an fd.
    let now = check(unsafe { libc::fcntl(fd, libc::F_GETFL) } as libc::c_long)? as i32;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, now & !flags) } as libc::c_long).map(drop)
}

/// `lseek(fd, 0, SEEK_SET)`.
pub fn rewind(fd: RawFd) -> SysResult<()> {
    // SAFETY: plain lseek on an fd.
    check(unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } as libc::c_long).map(drop)
}

/// What a test's recvmsg brought: the length, the fds passed (owned),
/// and the sender's credentials if they came.
#[cfg(test)]
pub struct Received {
    pub len: isize,
    pub fds: Vec<OwnedFd>,
    pub sender: Option<libc::ucred>,
}

/// recvmsg of one message into `data`, with room for 255 fds and
/// credentials (tests only).
#[cfg(test)]
pub fn receive(fd: RawFd, data: &mut [u8], flags: i32) -> Received {
    let mut control = [0u64; 160];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; the buffers outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: as above.
    let len = unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_CMSG_CLOEXEC) };
    let mut received = Received {
        len,
        fds: Vec::new(),
        sender: None,
    };
    if len < 0 {
        return received;
    }
    // SAFETY: walking the control messages recvmsg filled.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let at = libc::CMSG_DATA(cmsg);
            match (*cmsg).cmsg_type {
                libc::SCM_CREDENTIALS => {
                    received.sender = Some(std::ptr::read_unaligned(at as *const libc::ucred))
                }
                libc::SCM_RIGHTS => {
                    let count = ((*cmsg).cmsg_len - libc::CMSG_LEN(0) as usize) / 4;
                    for i in 0..count {
                        let fd = std::ptr::read_unaligned((at as *const i32).add(i));
                        received.fds.push(own(fd));
                    }
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    received
}

/// The fd's status flags (F_GETFL).
pub fn status_flags(fd: RawFd) -> SysResult<i32> {
    // SAFETY: a plain fcntl on an fd.
    check(unsafe { libc::fcntl(fd, libc::F_GETFL) } as libc::c_long).map(|f| f as i32)
}

/// Sets the fd's status flags (F_SETFL).
pub fn set_status_flags(fd: RawFd, flags: i32) -> SysResult<()> {
    // SAFETY: a plain fcntl on an fd.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } as libc::c_long).map(drop)
}

/// `connect(fd, address)`, `address` a sockaddr of its length.
pub fn connect(fd: RawFd, address: &[u8]) -> SysResult<()> {
    let len = address.len() as libc::socklen_t;
    // SAFETY: address holds a sockaddr of its length.
    check(
        unsafe { libc::connect(fd, address.as_ptr() as *const libc::sockaddr, len) }
            as libc::c_long,
    )
    .map(drop)
}

/// `bind(fd, address)`, `address` a sockaddr of its length.
pub fn bind(fd: RawFd, address: &[u8]) -> SysResult<()> {
    let len = address.len() as libc::socklen_t;
    // SAFETY: address holds a sockaddr of its length.
    check(unsafe { libc::bind(fd, address.as_ptr() as *const libc::sockaddr, len) } as libc::c_long)
        .map(drop)
}

/// `sendmsg(fd, {name, one buffer, control}, flags)`: the bytes sent.
pub fn send_message(
    fd: RawFd,
    name: Option<&[u8]>,
    data: &[u8],
    control: &[u8],
    flags: i32,
) -> SysResult<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; zero is an empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(name) = name {
        msg.msg_name = name.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = name.len() as libc::socklen_t;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !control.is_empty() {
        msg.msg_control = control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.len();
    }
    // SAFETY: every pointer in msg outlives the call; the kernel only
    // reads them.
    check(unsafe { libc::sendmsg(fd, &msg, flags) } as libc::c_long).map(|n| n as usize)
}

/// Room for one SCM_RIGHTS message of up to 253 fds, aligned as a
/// cmsghdr.
const RIGHTS_ROOM: usize = 130;

/// `sendmsg(fd, parts gathered, SCM_RIGHTS of fds, flags)`: the bytes
/// sent. At most four parts and 253 fds (EINVAL past that).
pub fn send_with_fds(fd: RawFd, parts: &[&[u8]], fds: &[RawFd], flags: i32) -> SysResult<usize> {
    let mut control = [0u64; RIGHTS_ROOM];
    // SAFETY: a size computation only.
    let room = unsafe { libc::CMSG_SPACE(4 * fds.len() as u32) } as usize;
    if parts.len() > 4 || fds.is_empty() || room > std::mem::size_of_val(&control) {
        return Err(libc::EINVAL);
    }
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 4];
    for (slot, part) in iov.iter_mut().zip(parts) {
        slot.iov_base = part.as_ptr() as *mut libc::c_void;
        slot.iov_len = part.len();
    }
    // SAFETY: msghdr is plain data; zero is an empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = parts.len();
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = room;
    // SAFETY: the control buffer holds `room` bytes (checked above), so
    // its first header and the fds' slots lie inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4 * fds.len() as u32) as usize;
        let slots = libc::CMSG_DATA(cmsg) as *mut i32;
        for (i, fd) in fds.iter().enumerate() {
            std::ptr::write_unaligned(slots.add(i), *fd);
        }
    }
    // SAFETY: every pointer in msg outlives the call; the kernel only
    // reads them.
    check(unsafe { libc::sendmsg(fd, &msg, flags) } as libc::c_long).map(|n| n as usize)
}

/// `recvmsg(fd, data, flags | MSG_CMSG_CLOEXEC)` of one message that may
/// pass one fd: the bytes received and that fd, owned (so closed if
/// unused). Fds past the first are closed.
pub fn receive_with_fd(
    fd: RawFd,
    data: &mut [u8],
    flags: i32,
) -> SysResult<(usize, Option<OwnedFd>)> {
    let mut control = [0u64; RIGHTS_ROOM];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; zero is an empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: the buffers outlive the call.
    let received = check(
        unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_CMSG_CLOEXEC) } as libc::c_long,
    )?;
    let mut first = None;
    // SAFETY: walking the control messages recvmsg filled: each header it
    // finds is whole, its data the fds it counts.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let at = libc::CMSG_DATA(cmsg) as *const i32;
                let count = ((*cmsg).cmsg_len - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    let passed = own(std::ptr::read_unaligned(at.add(i)));
                    first.get_or_insert(passed);
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((received as usize, first))
}

/// `tgkill(pid, tid, sig)`.
pub fn tgkill(pid: libc::pid_t, tid: libc::pid_t, sig: i32) -> SysResult<()> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) }).map(drop)
}

/// `socketpair(AF_UNIX, kind | SOCK_CLOEXEC)`: two connected ends.
pub fn unix_pair(kind: i32) -> SysResult<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid out array of two ints.
    check(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            kind | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } as libc::c_long)?;
    // SAFETY: both fds were just created and are ours.
    Ok(unsafe { (own(fds[0]), own(fds[1])) })
}

/// setsockopt of an int option.
pub fn set_socket_option(fd: RawFd, level: i32, name: i32, value: i32) -> SysResult<()> {
    let len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value is a valid int of that length.
    check(
        unsafe { libc::setsockopt(fd, level, name, &value as *const i32 as *const _, len) }
            as libc::c_long,
    )
    .map(drop)
}

/// getsockopt of an int option.
pub fn socket_option(fd: RawFd, level: i32, name: i32) -> Result<i32, i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value and len are valid out pointers.
    let r =
        unsafe { libc::getsockopt(fd, level, name, &mut value as *mut i32 as *mut _, &mut len) };
    if r != 0 {
        return Err(errno());
    }
    Ok(value)
}

/// The calling thread's errno (of the last failed libc call).
pub fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Takes ownership of a descriptor a raw call returned.
///
/// # Safety
/// `fd` must be open and owned by nobody else.
pub unsafe fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: open and ownerless by our contract.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> SysResult<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for the two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)?;
    // SAFETY: both were just created and belong to nobody else.
    Ok(unsafe { (own(fds[0]), own(fds[1])) })
}

/// `read(fd, buf)`: the count read (0 at EOF).
pub fn read(fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: buf is valid for its length.
    check(
        unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) } as libc::c_long,
    )
    .map(|n| n as usize)
}

/// `poll(fds, timeout_ms)` (negative: no timeout): how many are ready;
/// entries with a negative fd are skipped by the kernel.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> SysResult<usize> {
    // SAFETY: fds is a valid array of its length.
    check(
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }
            as libc::c_long,
    )
    .map(|n| n as usize)
}

/// `kill(pid, sig)` (a negative pid: the process group).
pub fn kill(pid: libc::pid_t, sig: i32) -> SysResult<()> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::kill(pid, sig) } as libc::c_long).map(drop)
}

/// `gettid()`: the calling thread's id (tests stand in for a caller).
#[cfg(test)]
pub fn gettid() -> libc::pid_t {
    // SAFETY: plain call, cannot fail.
    unsafe { libc::gettid() }
}

/// `getppid()`.
pub fn getppid() -> libc::pid_t {
    // SAFETY: plain call, cannot fail.
    unsafe { libc::getppid() }
}

/// `getpid()`.
pub fn getpid() -> libc::pid_t {
    // SAFETY: plain call, cannot fail.
    unsafe { libc::getpid() }
}

/// `uname()`: the host's names.
pub fn uname() -> SysResult<libc::utsname> {
    // SAFETY: utsname is plain data; uname fills it.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer.
    check(unsafe { libc::uname(&mut names) } as libc::c_long)?;
    Ok(names)
}

/// `uname`'s struct as the bytes a caller's buffer receives.
pub fn utsname_bytes(names: &libc::utsname) -> &[u8] {
    // SAFETY: utsname is plain data (arrays of c_char), viewed whole.
    unsafe {
        std::slice::from_raw_parts(
            names as *const libc::utsname as *const u8,
            std::mem::size_of::<libc::utsname>(),
        )
    }
}

/// One directory-listing call (`getdents` or `getdents64`, by `nr`) on
/// `dir` into `buf`: the bytes of records it wrote (0 at the end).
pub fn list_directory(nr: libc::c_long, dir: RawFd, buf: &mut [u8]) -> SysResult<usize> {
    if nr != libc::SYS_getdents64 && nr != libc::SYS_getdents {
        return Err(libc::ENOSYS);
    }
    // SAFETY: buf is a valid buffer of its length.
    check(unsafe { libc::syscall(nr, dir, buf.as_mut_ptr(), buf.len()) }).map(|n| n as usize)
}

/// `close_range(first, last, flags)`.
pub fn close_range(first: u32, last: u32, flags: u32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) }).map(drop)
}

pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// `landlock_restrict_self(ruleset_fd, flags)`.
pub fn landlock_restrict_self(ruleset_fd: RawFd, flags: u32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset_fd, flags) }).map(drop)
}

/// `struct k_sigaction` of the raw rt_sigaction syscall.
#[repr(C)]
pub struct kernel_sigaction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

/// Sets the disposition of every signal but SIGKILL and SIGSTOP to
/// `handler` (SIG_DFL or SIG_IGN). Raw syscalls only.
pub fn set_all_dispositions(handler: usize) {
    let action = kernel_sigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: raw syscall with a valid kernel sigaction.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &action as *const kernel_sigaction,
                0usize,
                8usize,
            )
        };
    }
}

/// `write(fd, buf)` to a pipe whose reader may be gone, without SIGPIPE
/// reaching the process (EPIPE comes back instead) and without touching
/// the host's signal dispositions: SIGPIPE is blocked in this thread
/// around the write, and the one the write raised is taken back with a
/// zero-timeout sigtimedwait. One that was pending already is left for
/// its owner.
pub fn write_without_sigpipe(fd: RawFd, buf: &[u8]) -> SysResult<usize> {
    // SAFETY: sigset_t is plain data, filled by the calls; every pointer
    // is valid for its call; buf is valid for buf.len() bytes.
    unsafe {
        let mut pipe_only: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let ret = libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len());
        let err = errno();
        if ret < 0 && err == libc::EPIPE && !was_pending {
            let now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            while libc::sigtimedwait(&pipe_only, std::ptr::null_mut(), &now) < 0
                && errno() == libc::EINTR
            {}
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if ret < 0 {
            Err(err)
        } else {
            Ok(ret as usize)
        }
    }
}

#[repr(C)]
pub struct cap_user_header {
    pub version: u32,
    pub pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct cap_user_data {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}

pub const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `capset()` with every set (effective, permitted, inheritable) empty.
pub fn capset_clear_all() -> SysResult<()> {
    let header = cap_user_header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [cap_user_data::default(); 2];
    // SAFETY: header and data are valid for the v3 layout (two data words).
    check(unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) }).map(drop)
}

/// `capget()` of the calling thread: the effective set as one 64-bit mask.
pub fn capget_effective() -> SysResult<u64> {
    let header = cap_user_header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [cap_user_data::default(); 2];
    // SAFETY: header and data are valid for the v3 layout (two data words).
    check(unsafe { libc::syscall(libc::SYS_capget, &header, data.as_mut_ptr()) })?;
    Ok(u64::from(data[0].effective) | (u64::from(data[1].effective) << 32))
}

/// `prctl(option, arg2, 0, 0, 0)`.
pub fn prctl(option: i32, arg2: libc::c_ulong) -> SysResult<libc::c_long> {
    // SAFETY: every option we pass takes integers only.
    check(unsafe { libc::syscall(libc::SYS_prctl, option, arg2, 0, 0, 0) })
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
pub fn clear_ambient_caps() -> SysResult<()> {
    // SAFETY: integer arguments only.
    check(unsafe {
        libc::syscall(
            libc::SYS_prctl,
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })
    .map(drop)
}

pub const SECBIT_NOROOT: u64 = 1 << 0;
pub const SECBIT_NOROOT_LOCKED: u64 = 1 << 1;
pub const SECBIT_NO_SETUID_FIXUP: u64 = 1 << 2;
pub const SECBIT_NO_SETUID_FIXUP_LOCKED: u64 = 1 << 3;
pub const SECBIT_KEEP_CAPS_LOCKED: u64 = 1 << 5;
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u64 = 1 << 6;
pub const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: u64 = 1 << 7;

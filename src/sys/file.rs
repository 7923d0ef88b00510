//! Metadata calls on a pinned object: by fd, or through its
//! `/proc/self/fd/N` link (`path`), which names the object itself. Each is
//! one system call; errors are errnos.

use super::{check, SysResult};
use std::ffi::CStr;
use std::os::fd::RawFd;

fn done(ret: libc::c_int) -> SysResult<()> {
    check(ret as libc::c_long).map(drop)
}

pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: integer arguments only.
    done(unsafe { libc::fchmod(fd, mode) })
}

pub fn chmod(path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated path.
    done(unsafe { libc::chmod(path.as_ptr(), mode) })
}

pub fn fchown(fd: RawFd, uid: libc::uid_t, gid: libc::gid_t) -> SysResult<()> {
    // SAFETY: integer arguments only.
    done(unsafe { libc::fchown(fd, uid, gid) })
}

/// fchownat(fd, "", ..., AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): the object
/// the (O_PATH) fd is, a symlink itself included.
pub fn chown_object(fd: RawFd, uid: libc::uid_t, gid: libc::gid_t) -> SysResult<()> {
    let flags = libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: an empty NUL-terminated path.
    done(unsafe { libc::fchownat(fd, c"".as_ptr(), uid, gid, flags) })
}

/// utimensat(fd, NULL, times, 0), the raw call (glibc's refuses a NULL
/// path): the times of what the fd is open on. `times` None: now.
pub fn futimens(fd: RawFd, times: Option<&[libc::timespec; 2]>) -> SysResult<()> {
    let times = times.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: a NULL path and NULL or two timespecs.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_utimensat,
            fd,
            std::ptr::null::<libc::c_char>(),
            times,
            0,
        )
    };
    check(ret).map(drop)
}

/// utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW).
pub fn utime_object(fd: RawFd, times: Option<&[libc::timespec; 2]>) -> SysResult<()> {
    let times = times.map_or(std::ptr::null(), |t| t.as_ptr());
    let flags = libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: an empty NUL-terminated path and NULL or two timespecs.
    done(unsafe { libc::utimensat(fd, c"".as_ptr(), times, flags) })
}

pub fn fsetxattr(fd: RawFd, name: &CStr, value: &[u8], flags: i32) -> SysResult<()> {
    let data = value.as_ptr() as *const libc::c_void;
    // SAFETY: a NUL-terminated name and a buffer of its length.
    done(unsafe { libc::fsetxattr(fd, name.as_ptr(), data, value.len(), flags) })
}

pub fn setxattr(path: &CStr, name: &CStr, value: &[u8], flags: i32) -> SysResult<()> {
    let data = value.as_ptr() as *const libc::c_void;
    // SAFETY: NUL-terminated strings and a buffer of its length.
    done(unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), data, value.len(), flags) })
}

pub fn fremovexattr(fd: RawFd, name: &CStr) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::fremovexattr(fd, name.as_ptr()) })
}

pub fn removexattr(path: &CStr, name: &CStr) -> SysResult<()> {
    // SAFETY: NUL-terminated strings.
    done(unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) })
}

/// fchmodat(dir, name, mode, 0).
pub fn chmod_at(dir: RawFd, name: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::fchmodat(dir, name.as_ptr(), mode, 0) })
}

/// inotify_add_watch(inotify, path, mask): the watch descriptor.
pub fn inotify_add_watch(inotify: RawFd, path: &CStr, mask: u32) -> SysResult<i32> {
    // SAFETY: a NUL-terminated path.
    check(unsafe { libc::inotify_add_watch(inotify, path.as_ptr(), mask) } as libc::c_long)
        .map(|wd| wd as i32)
}

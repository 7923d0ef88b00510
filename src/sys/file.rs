//! Metadata calls on a pinned object: by fd, or through its
//! `/proc/self/fd/N` link (`path`), which names the object itself; the
//! calls that change names in a pinned directory; and the opening and
//! reading of files the supervisor judges. Each is one system call; errors
//! are errnos.

use super::{check, own, SysResult};
use std::ffi::CStr;
use std::os::fd::{OwnedFd, RawFd};

fn done(ret: libc::c_int) -> SysResult<()> {
    check(ret as libc::c_long).map(drop)
}

/// fchmod(fd, mode).
pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: integer arguments only.
    done(unsafe { libc::fchmod(fd, mode) })
}

/// chmod(path, mode) (a `/proc/self/fd/N` link: the object itself).
pub fn chmod(path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated path.
    done(unsafe { libc::chmod(path.as_ptr(), mode) })
}

/// fchown(fd, uid, gid).
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

/// fsetxattr(fd, name, value, flags).
pub fn fsetxattr(fd: RawFd, name: &CStr, value: &[u8], flags: i32) -> SysResult<()> {
    let data = value.as_ptr() as *const libc::c_void;
    // SAFETY: a NUL-terminated name and a buffer of its length.
    done(unsafe { libc::fsetxattr(fd, name.as_ptr(), data, value.len(), flags) })
}

/// setxattr(path, name, value, flags).
pub fn setxattr(path: &CStr, name: &CStr, value: &[u8], flags: i32) -> SysResult<()> {
    let data = value.as_ptr() as *const libc::c_void;
    // SAFETY: NUL-terminated strings and a buffer of its length.
    done(unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), data, value.len(), flags) })
}

/// fremovexattr(fd, name).
pub fn fremovexattr(fd: RawFd, name: &CStr) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::fremovexattr(fd, name.as_ptr()) })
}

/// removexattr(path, name).
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

/// `struct open_how` of openat2.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(dir, path, {flags, mode, resolve}), owned.
pub fn openat2(dir: RawFd, path: &CStr, flags: u64, mode: u64, resolve: u64) -> SysResult<OwnedFd> {
    let how = OpenHow {
        flags,
        mode,
        resolve,
    };
    // SAFETY: a NUL-terminated path and an open_how of the size passed.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    // SAFETY: a new fd we own.
    Ok(unsafe { own(fd as RawFd) })
}

/// pread(fd, buf, offset): the count read (0 at EOF).
pub fn pread(fd: RawFd, buf: &mut [u8], offset: libc::off_t) -> SysResult<usize> {
    let data = buf.as_mut_ptr() as *mut libc::c_void;
    // SAFETY: buf is valid for its length.
    check(unsafe { libc::pread(fd, data, buf.len(), offset) } as libc::c_long).map(|n| n as usize)
}

/// truncate(path, length).
pub fn truncate(path: &CStr, length: libc::off_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated path.
    done(unsafe { libc::truncate(path.as_ptr(), length) })
}

/// unlinkat(dir, name, flags).
pub fn unlinkat(dir: RawFd, name: &CStr, flags: i32) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) })
}

/// mkdirat(dir, name, mode).
pub fn mkdirat(dir: RawFd, name: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) })
}

/// mknodat(dir, name, mode, dev).
pub fn mknodat(dir: RawFd, name: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> SysResult<()> {
    // SAFETY: a NUL-terminated name.
    done(unsafe { libc::mknodat(dir, name.as_ptr(), mode, dev) })
}

/// symlinkat(target, dir, name): a symlink `name` in `dir` holding `target`.
pub fn symlinkat(target: &CStr, dir: RawFd, name: &CStr) -> SysResult<()> {
    // SAFETY: NUL-terminated strings.
    done(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) })
}

/// linkat(old_dir, old_name, new_dir, new_name, flags).
pub fn linkat(
    old_dir: RawFd,
    old_name: &CStr,
    new_dir: RawFd,
    new_name: &CStr,
    flags: i32,
) -> SysResult<()> {
    // SAFETY: NUL-terminated names.
    done(unsafe {
        libc::linkat(
            old_dir,
            old_name.as_ptr(),
            new_dir,
            new_name.as_ptr(),
            flags,
        )
    })
}

/// renameat2(old_dir, old_name, new_dir, new_name, flags).
pub fn renameat2(
    old_dir: RawFd,
    old_name: &CStr,
    new_dir: RawFd,
    new_name: &CStr,
    flags: u32,
) -> SysResult<()> {
    // SAFETY: NUL-terminated names, integers otherwise.
    check(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            old_dir,
            old_name.as_ptr(),
            new_dir,
            new_name.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

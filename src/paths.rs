//! Resolving a sandboxed process's path the way it would: from its cwd or
//! one of its directory fds, following symlinks but never /proc's magic
//! links (which would resolve in the supervisor, not in the child). And
//! what a resolved object is: its identity and its ancestors'.

use crate::sys::{self, process};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2 with RESOLVE_NO_MAGICLINKS, close-on-exec.
pub fn openat2(dir: RawFd, path: &[u8], flags: i32) -> Result<OwnedFd, i32> {
    let path = CString::new(path).map_err(|_| libc::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: path and how are valid for the call.
    let fd = sys::check(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    // SAFETY: a new fd we own.
    Ok(unsafe { sys::own(fd as RawFd) })
}

pub fn open_plain(path: &str, flags: i32) -> Result<OwnedFd, i32> {
    let path = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(sys::errno());
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { sys::own(fd) })
}

/// The directory task `tid` resolves `path` from: `/` for an absolute
/// path, else its cwd (`dirfd` AT_FDCWD or None) or a duplicate of its
/// `dirfd`.
pub fn base(tid: libc::pid_t, dirfd: Option<i32>, path: &[u8]) -> Result<OwnedFd, i32> {
    if path.first() == Some(&b'/') {
        return open_plain("/", libc::O_PATH | libc::O_DIRECTORY);
    }
    match dirfd {
        None | Some(libc::AT_FDCWD) => open_plain(
            &format!("/proc/{tid}/cwd"),
            libc::O_PATH | libc::O_DIRECTORY,
        ),
        Some(fd) => {
            let pidfd = process::pidfd_open(tid, process::PIDFD_THREAD)?;
            // SAFETY: a new fd we own.
            let pidfd = unsafe { sys::own(pidfd) };
            let dup = process::pidfd_getfd(pidfd.as_raw_fd(), fd)?;
            // SAFETY: a new fd we own.
            Ok(unsafe { sys::own(dup) })
        }
    }
}

/// `path` cut at its last slash: the directory part (".", "/" or the
/// prefix) and the final name (maybe empty, ".", "..").
pub fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], &path[1..]),
        Some(cut) => (&path[..cut], &path[cut + 1..]),
        None => (&b"."[..], path),
    }
}

/// Device and inode: what a file is, whatever its name.
pub type FileId = (u64, u64);

pub fn identity(fd: RawFd) -> Result<FileId, i32> {
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(sys::errno());
    }
    Ok((st.st_dev, st.st_ino))
}

/// The identities of directory `dir` and of each directory above it, up
/// to the root.
pub fn ancestry(dir: OwnedFd) -> Result<Vec<FileId>, i32> {
    let mut ids = vec![identity(dir.as_raw_fd())?];
    let mut current = dir;
    // Deeper than any real tree: a loop guard.
    for _ in 0..4096 {
        let parent = openat2(current.as_raw_fd(), b"..", libc::O_PATH | libc::O_DIRECTORY)?;
        let id = identity(parent.as_raw_fd())?;
        if ids.last() == Some(&id) {
            return Ok(ids);
        }
        ids.push(id);
        current = parent;
    }
    Err(libc::ELOOP)
}

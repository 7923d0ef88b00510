//! Calls that change a file's metadata: mode, owner, times, extended
//! attributes. Landlock governs none of them, so a job could `chmod 4777`
//! any file it can name, in no tree of its policy, and with a root host
//! own root's files. They are trapped always and made here, on the job's
//! behalf: the path (or fd) is copied out of the caller once and resolved
//! as the caller would to an fd that pins the object; the object must lie
//! in an `fs_write` tree (it, or a directory above it, is a tree's root,
//! compared by identity, so no spelling of the path matters) and in no
//! `fs_deny` one; then the change is made on that fd with the job's
//! credentials (sys::creds), so the kernel's own permission checks judge
//! it as they would have judged the job. Nothing is re-read from the
//! caller's memory after the check.
//!
//! Objects with no name in any tree (a pipe, a socket, a memfd, an
//! unlinked file with no other link) can be changed freely: no host file
//! is behind them.
//!
//! `inotify_add_watch` is made here the same way, on a duplicate of the
//! caller's inotify fd, for an object of any of the policy's trees (read
//! or write): a watch outside them would tell the names and times of the
//! host's changes there.
//!
//! The newer calls (`setxattrat` and the rest of the `*xattrat` family,
//! `file_getattr`, `file_setattr`) fail with ENOSYS in the filter: C
//! libraries fall back to the older calls, which are handled here. The
//! inode-flag ioctls (chattr) are denied in the filter too.

use crate::fs::deny::read_caller_path as path_at;
use crate::fs::paths::{self, FileId};
use crate::seccomp::notify::Notification;
use crate::supervisor::live_policy::Denied;
use crate::sys::creds::{self, JobCredentials};
use crate::sys::memory;
use std::collections::HashSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

/// Every call this module makes on behalf.
pub const CALLS: &[&str] = &[
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
];

/// Calls refused with ENOSYS: the same changes through newer entry points
/// that have an older equivalent here.
pub const UNSUPPORTED: &[&str] = &[
    "setxattrat",
    "getxattrat",
    "listxattrat",
    "removexattrat",
    "file_getattr",
    "file_setattr",
];

/// ioctl requests that change inode flags or project ids (chattr +i, +a,
/// FS_IOC_FSSETXATTR, the inode generation): refused with EPERM. They
/// work on any fd, even one opened for reading.
pub const INODE_FLAG_IOCTLS: &[u64] = &[
    0x4008_6602, // FS_IOC_SETFLAGS
    0x4004_6602, // FS_IOC32_SETFLAGS
    0x401c_5820, // FS_IOC_FSSETXATTR
    0x4008_7602, // FS_IOC_SETVERSION
    0x4004_7602, // FS_IOC32_SETVERSION
];

const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: usize = 65536;
const AT_FLAGS: u64 = (libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) as u64;

/// What the call changes, copied out of the caller.
enum Change {
    Mode(libc::mode_t),
    Owner(libc::uid_t, libc::gid_t),
    /// None: both to the current time.
    Times(Option<[libc::timespec; 2]>),
    SetXattr {
        name: CString,
        value: Vec<u8>,
        flags: i32,
    },
    RemoveXattr(CString),
}

/// Which file: one of the caller's fds, or a path from its cwd or a
/// directory fd.
enum Object {
    Fd(i32),
    Path {
        dirfd: Option<i32>,
        path: Vec<u8>,
        follow: bool,
        empty_path: bool,
    },
}

struct Call {
    object: Object,
    change: Change,
}

/// What a call made on the job's behalf may reach, and as whom: the roots
/// of the writable trees and of every tree, the denied files, what a
/// private /proc shows (also for fs/names.rs).
pub struct Rights<'a> {
    pub writable: &'a HashSet<FileId>,
    pub readable: &'a HashSet<FileId>,
    pub denied: &'a Denied,
    pub view: Option<&'a crate::virt::private_proc::ProcView>,
    pub job: &'a JobCredentials,
}

/// Why a call was refused before the kernel saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The object lies outside every writable tree.
    OutsideWritable,
    /// The object is, or lies under, an fs_deny path.
    Denied,
    /// (A watch) the object lies outside every tree of the policy.
    OutsideTrees,
}

/// The outcome: the call's result (0 or -errno), or a refusal.
pub type Outcome = Result<i64, Refusal>;

fn nofollow(flags: u64) -> bool {
    flags & libc::AT_SYMLINK_NOFOLLOW as u64 != 0
}

fn xattr_name(tid: libc::pid_t, addr: u64) -> Result<CString, i32> {
    let name = memory::read_c_string(tid, addr, XATTR_NAME_MAX + 1)?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(libc::ERANGE);
    }
    CString::new(name).map_err(|_| libc::EINVAL)
}

fn xattr_value(tid: libc::pid_t, addr: u64, size: u64) -> Result<Vec<u8>, i32> {
    if size as usize > XATTR_SIZE_MAX {
        return Err(libc::E2BIG);
    }
    if size == 0 {
        return Ok(Vec::new());
    }
    memory::read(tid, addr, size as usize)
}

fn timespec(tv_sec: i64, tv_nsec: i64) -> libc::timespec {
    libc::timespec { tv_sec, tv_nsec }
}

fn timespecs(tid: libc::pid_t, addr: u64) -> Result<Option<[libc::timespec; 2]>, i32> {
    if addr == 0 {
        return Ok(None);
    }
    let [a_sec, a_nsec, m_sec, m_nsec] = memory::read_value::<[i64; 4]>(tid, addr)?;
    Ok(Some([timespec(a_sec, a_nsec), timespec(m_sec, m_nsec)]))
}

/// utimes' microseconds, as the kernel checks and converts them.
fn timevals(tid: libc::pid_t, addr: u64) -> Result<Option<[libc::timespec; 2]>, i32> {
    if addr == 0 {
        return Ok(None);
    }
    let [a_sec, a_usec, m_sec, m_usec] = memory::read_value::<[i64; 4]>(tid, addr)?;
    if !(0..1_000_000).contains(&a_usec) || !(0..1_000_000).contains(&m_usec) {
        return Err(libc::EINVAL);
    }
    Ok(Some([
        timespec(a_sec, a_usec * 1000),
        timespec(m_sec, m_usec * 1000),
    ]))
}

fn utimbuf(tid: libc::pid_t, addr: u64) -> Result<Option<[libc::timespec; 2]>, i32> {
    if addr == 0 {
        return Ok(None);
    }
    let [actime, modtime] = memory::read_value::<[libc::time_t; 2]>(tid, addr)?;
    Ok(Some([timespec(actime, 0), timespec(modtime, 0)]))
}

/// Copies the call out of the caller: everything the check and the change
/// use, read once.
fn read_call(n: &Notification) -> Result<Call, i32> {
    let tid = n.tid();
    let a = n.args;
    let fd = |i: usize| a[i] as i32;
    let path = |dirfd: Option<i32>, at: usize, follow: bool, empty_path: bool| {
        Ok::<_, i32>(Object::Path {
            dirfd,
            path: path_at(tid, a[at])?,
            follow,
            empty_path,
        })
    };
    let at_flags = |flags: u64| -> Result<u64, i32> {
        match flags & !AT_FLAGS {
            0 => Ok(flags),
            _ => Err(libc::EINVAL),
        }
    };
    let (object, change) = match n.nr {
        libc::SYS_chmod => (path(None, 0, true, false)?, Change::Mode(a[1] as _)),
        libc::SYS_fchmod => (Object::Fd(fd(0)), Change::Mode(a[1] as _)),
        libc::SYS_fchmodat => (path(Some(fd(0)), 1, true, false)?, Change::Mode(a[2] as _)),
        libc::SYS_fchmodat2 => {
            let flags = at_flags(a[3])?;
            let empty = flags & libc::AT_EMPTY_PATH as u64 != 0;
            let object = path(Some(fd(0)), 1, !nofollow(flags), empty)?;
            (object, Change::Mode(a[2] as _))
        }
        libc::SYS_chown | libc::SYS_lchown => {
            let follow = n.nr == libc::SYS_chown;
            let owner = Change::Owner(a[1] as _, a[2] as _);
            (path(None, 0, follow, false)?, owner)
        }
        libc::SYS_fchown => (Object::Fd(fd(0)), Change::Owner(a[1] as _, a[2] as _)),
        libc::SYS_fchownat => {
            let flags = at_flags(a[4])?;
            let empty = flags & libc::AT_EMPTY_PATH as u64 != 0;
            let object = path(Some(fd(0)), 1, !nofollow(flags), empty)?;
            (object, Change::Owner(a[2] as _, a[3] as _))
        }
        libc::SYS_utime => (
            path(None, 0, true, false)?,
            Change::Times(utimbuf(tid, a[1])?),
        ),
        libc::SYS_utimes => (
            path(None, 0, true, false)?,
            Change::Times(timevals(tid, a[1])?),
        ),
        libc::SYS_futimesat | libc::SYS_utimensat => {
            let (flags, times) = match n.nr {
                libc::SYS_utimensat => (at_flags(a[3])?, timespecs(tid, a[2])?),
                _ => (0, timevals(tid, a[2])?),
            };
            // A NULL path names the dirfd's own file, as the kernel has it.
            let object = match (a[1], fd(0)) {
                (0, libc::AT_FDCWD) => return Err(libc::EFAULT),
                (0, _) if flags != 0 => return Err(libc::EINVAL),
                (0, dirfd) => Object::Fd(dirfd),
                _ => {
                    let empty = flags & libc::AT_EMPTY_PATH as u64 != 0;
                    path(Some(fd(0)), 1, !nofollow(flags), empty)?
                }
            };
            (object, Change::Times(times))
        }
        libc::SYS_setxattr | libc::SYS_lsetxattr | libc::SYS_fsetxattr => {
            let change = Change::SetXattr {
                name: xattr_name(tid, a[1])?,
                value: xattr_value(tid, a[2], a[3])?,
                flags: a[4] as i32,
            };
            let object = match n.nr {
                libc::SYS_fsetxattr => Object::Fd(fd(0)),
                nr => path(None, 0, nr == libc::SYS_setxattr, false)?,
            };
            (object, change)
        }
        libc::SYS_removexattr | libc::SYS_lremovexattr | libc::SYS_fremovexattr => {
            let change = Change::RemoveXattr(xattr_name(tid, a[1])?);
            let object = match n.nr {
                libc::SYS_fremovexattr => Object::Fd(fd(0)),
                nr => path(None, 0, nr == libc::SYS_removexattr, false)?,
            };
            (object, change)
        }
        _ => return Err(libc::ENOSYS),
    };
    Ok(Call { object, change })
}

/// An fd that pins the object the call names, resolved as the caller
/// would: an O_PATH fd for a path, a duplicate of the caller's own fd for
/// an fd (the same open file, so the fd calls keep their semantics).
fn resolve(tid: libc::pid_t, object: &Object) -> Result<OwnedFd, i32> {
    let magic = paths::refuse_magic;
    match object {
        // fchmod(AT_FDCWD, ...) is EBADF, not the cwd.
        Object::Fd(fd) if *fd < 0 => Err(libc::EBADF),
        Object::Fd(fd) => paths::base(tid, Some(*fd), b"", true),
        Object::Path {
            dirfd,
            path,
            follow,
            empty_path,
        } => {
            if path.is_empty() {
                return match empty_path {
                    true => paths::base(tid, *dirfd, b"", true),
                    false => Err(libc::ENOENT),
                };
            }
            let flags = libc::O_PATH | if *follow { 0 } else { libc::O_NOFOLLOW };
            if let Some((owner, fd, rest)) = paths::own_fd_link(tid, path) {
                let object = paths::base(owner, Some(fd), b"", true)?;
                return match (rest.is_empty(), *follow) {
                    (false, _) => paths::openat2(object.as_raw_fd(), rest, flags).map_err(magic),
                    (true, true) => Ok(object),
                    // The link itself, a file of /proc: nothing to change.
                    (true, false) => Err(libc::EACCES),
                };
            }
            let base = paths::base(tid, *dirfd, path, false).map_err(magic)?;
            paths::openat2(base.as_raw_fd(), path, flags).map_err(magic)
        }
    }
}

/// May the job change this object's metadata at all?
fn judge(object: &OwnedFd, rights: &Rights) -> Result<(), Refusal> {
    let writable = match rights.denied.is_empty() {
        // Without fs_deny the walk up may stop at the first writable root.
        true => paths::reaches(object, |id| rights.writable.contains(id))
            .map_err(|_| Refusal::OutsideWritable)?,
        false => {
            let ids = paths::identities(object).map_err(|_| Refusal::OutsideWritable)?;
            if ids.iter().any(|id| rights.denied.contains(id)) {
                return Err(Refusal::Denied);
            }
            ids.iter().any(|id| rights.writable.contains(id))
        }
    };
    if writable || nameless(object) {
        return Ok(());
    }
    Err(Refusal::OutsideWritable)
}

/// An object no path of the host names: a pipe, a socket, a memfd, an
/// unlinked file with no other link.
pub fn nameless(object: &OwnedFd) -> bool {
    let Ok(st) = crate::sys::fstat(object.as_raw_fd()) else {
        return false;
    };
    let named = paths::location(object.as_raw_fd()).is_none_or(|at| at.first() == Some(&b'/'));
    st.st_nlink == 0 || !named
}

/// A call's outcome as the notification's answer: 0, or -errno.
pub fn result(done: crate::sys::SysResult<()>) -> i64 {
    match done {
        Ok(()) => 0,
        Err(errno) => -i64::from(errno),
    }
}

/// The change itself, on the pinned object; 0 or -errno.
fn apply(object: &OwnedFd, call: &Call) -> i64 {
    use crate::sys::file;
    let fd = object.as_raw_fd();
    let by_fd = matches!(call.object, Object::Fd(_));
    // The object itself, not what it points to: /proc/self/fd/N of an
    // O_PATH fd of a symlink is the symlink.
    let proc_path = paths::fd_link(fd);
    let done = match &call.change {
        Change::Mode(mode) if by_fd => file::fchmod(fd, *mode),
        Change::Mode(_)
            if crate::sys::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK) =>
        {
            Err(libc::EOPNOTSUPP)
        }
        Change::Mode(mode) => file::chmod(&proc_path, *mode),
        Change::Owner(uid, gid) if by_fd => file::fchown(fd, *uid, *gid),
        Change::Owner(uid, gid) => file::chown_object(fd, *uid, *gid),
        Change::Times(times) if by_fd => file::futimens(fd, times.as_ref()),
        Change::Times(times) => file::utime_object(fd, times.as_ref()),
        Change::SetXattr { name, value, flags } if by_fd => {
            file::fsetxattr(fd, name, value, *flags)
        }
        Change::SetXattr { name, value, flags } => file::setxattr(&proc_path, name, value, *flags),
        Change::RemoveXattr(name) if by_fd => file::fremovexattr(fd, name),
        Change::RemoveXattr(name) => file::removexattr(&proc_path, name),
    };
    result(done)
}

/// The whole call: copy, resolve, judge, then change with the job's
/// credentials. `still_waiting` says whether the caller is still in the
/// call (checked after its memory was read and before anything changes).
pub fn change(
    n: &Notification,
    rights: &Rights,
    still_waiting: &dyn Fn() -> bool,
) -> Result<Outcome, i32> {
    let call = read_call(n)?;
    if !still_waiting() {
        return Err(libc::EINTR);
    }
    let object = resolve(n.tid(), &call.object)?;
    if let Err(refusal) = judge(&object, rights) {
        return Ok(Err(refusal));
    }
    creds::as_job(rights.job, || apply(&object, &call)).map(Ok)
}

const IN_DONT_FOLLOW: u32 = 0x0200_0000;

/// inotify_add_watch(fd, path, mask) made here: the watch descriptor, or
/// -errno, or a refusal.
pub fn add_watch(
    n: &Notification,
    rights: &Rights,
    still_waiting: &dyn Fn() -> bool,
) -> Result<Outcome, i32> {
    let tid = n.tid();
    let mask = n.uint(2);
    let object = Object::Path {
        dirfd: None,
        path: path_at(tid, n.args[1])?,
        follow: mask & IN_DONT_FOLLOW == 0,
        empty_path: false,
    };
    if !still_waiting() {
        return Err(libc::EINTR);
    }
    let target = resolve(tid, &object)?;
    if rights
        .view
        .is_some_and(|view| crate::virt::private_proc::foreign(&target, view))
    {
        return Err(libc::ENOENT);
    }
    let ids = paths::identities(&target).map_err(|_| libc::EACCES)?;
    if ids.iter().any(|id| rights.denied.contains(id)) {
        return Ok(Err(Refusal::Denied));
    }
    if !ids.iter().any(|id| rights.readable.contains(id)) {
        return Ok(Err(Refusal::OutsideTrees));
    }
    let inotify = match n.int(0) {
        fd if fd < 0 => return Err(libc::EBADF),
        fd => paths::base(tid, Some(fd), b"", true)?,
    };
    let proc_path = paths::fd_link(target.as_raw_fd());
    // The object is resolved already (a symlink itself, with
    // IN_DONT_FOLLOW): its /proc/self/fd link leads to it, and must be
    // followed.
    creds::as_job(rights.job, || {
        match crate::sys::file::inotify_add_watch(
            inotify.as_raw_fd(),
            &proc_path,
            mask & !IN_DONT_FOLLOW,
        ) {
            Ok(wd) => i64::from(wd),
            Err(errno) => -i64::from(errno),
        }
    })
    .map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_listed_is_handled_and_in_the_table() {
        use crate::seccomp::trapped::{Dispatch, Handler};
        let dispatch = Dispatch::new(&Default::default(), &[]);
        for name in CALLS {
            let nr = crate::seccomp::syscall_table::number(name).unwrap();
            assert_eq!(dispatch.handler(nr), Some(Handler::Metadata), "{name}");
        }
        for name in UNSUPPORTED {
            assert!(
                crate::seccomp::syscall_table::number(name).is_some(),
                "{name}"
            );
        }
    }
}

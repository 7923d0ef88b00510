//! Calls that change a directory's names (unlink, rmdir, mkdir, mknod,
//! symlink, link, rename and their `*at` forms) and truncate, when paths
//! are checked (fs_deny, a private /proc): made here, on the job's behalf.
//!
//! Checking such a call and then letting the kernel run it would have the
//! kernel read its path again; the sandbox is stopped meanwhile, but a
//! process outside it that shares the page holding the path (another
//! sandbox, through a shared file) is not, and could swap in a denied
//! name. So the paths are copied once, each resolved as the caller would
//! to a pinned directory (or object) and a final name, and the call is
//! made on those with the job's credentials.
//!
//! Landlock does not judge a call the supervisor makes, so its rule is
//! applied here: every directory whose names change must lie in an
//! fs_write tree (it, or a directory above it, is a tree's root, by
//! identity), as a truncated file must; fs_write trees hold every right
//! and fs_read trees none of these, so that is Landlock's answer. Then
//! fs_deny: no object reached, renamed over, linked or removed, and no
//! directory changed, may be denied.
//!
//! A final name is looked up again by the kernel inside its pinned
//! directory. Only the job could move a denied object there in between,
//! and every move it can make is one of these calls, checked.

use crate::fs::deny::read_caller_path as path_at;
use crate::fs::metadata::result;
use crate::fs::paths;
use crate::fs::paths::refuse_magic as magic;
use crate::seccomp::notify::Notification;
use crate::sys::creds;
use crate::sys::file;
use crate::sys::memory;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

pub fn is_name_call(nr: i64) -> bool {
    matches!(
        nr,
        libc::SYS_unlink
            | libc::SYS_unlinkat
            | libc::SYS_rmdir
            | libc::SYS_mkdir
            | libc::SYS_mkdirat
            | libc::SYS_mknod
            | libc::SYS_mknodat
            | libc::SYS_symlink
            | libc::SYS_symlinkat
            | libc::SYS_link
            | libc::SYS_linkat
            | libc::SYS_rename
            | libc::SYS_renameat
            | libc::SYS_renameat2
            | libc::SYS_truncate
    )
}

const PATH_MAX: usize = 4096;

pub use crate::fs::metadata::{Outcome, Refusal, Rights};

/// A name in a pinned directory.
struct Entry {
    dir: OwnedFd,
    name: CString,
    /// The path ended in '/': it must name a directory.
    slash: bool,
}

fn dirfd_arg(v: u64) -> Option<i32> {
    match v as i32 {
        libc::AT_FDCWD => None,
        fd => Some(fd),
    }
}

/// The directory `path` names its last component in, pinned, and that
/// component. Trailing slashes are dropped (the kernel allows them on
/// directories); "." and ".." as the last component are the caller's
/// error to report.
fn entry(tid: libc::pid_t, dirfd: Option<i32>, path: &[u8]) -> Result<Entry, i32> {
    let mut path = path;
    let slash = path.len() > 1 && path.ends_with(b"/");
    while path.len() > 1 && path.ends_with(b"/") {
        path = &path[..path.len() - 1];
    }
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    let (dir, name) = paths::split(path);
    let base = paths::base(tid, dirfd, path, false).map_err(magic)?;
    let dir =
        paths::openat2(base.as_raw_fd(), dir, libc::O_PATH | libc::O_DIRECTORY).map_err(magic)?;
    let name = CString::new(name).map_err(|_| libc::EINVAL)?;
    Ok(Entry { dir, name, slash })
}

/// What the kernel answers a trailing '/' on a name that exists and is
/// not a directory: ENOTDIR (EISDIR is the caller's for a directory it
/// may not remove this way).
fn not_a_directory(entry: &Entry) -> bool {
    if !entry.slash {
        return false;
    }
    let Some(found) = object(entry) else {
        return false;
    };
    crate::sys::fstat(found.as_raw_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT != libc::S_IFDIR)
}

fn is_dot(entry: &Entry) -> bool {
    matches!(entry.name.as_bytes(), b"" | b"." | b"..")
}

/// The object at `entry`, if any (never following a final symlink).
fn object(entry: &Entry) -> Option<OwnedFd> {
    paths::openat2(
        entry.dir.as_raw_fd(),
        entry.name.as_bytes(),
        libc::O_PATH | libc::O_NOFOLLOW,
    )
    .ok()
}

fn denied(fd: &OwnedFd, rights: &Rights) -> Result<(), Refusal> {
    match paths::identities(fd) {
        Ok(ids) if !ids.iter().any(|id| rights.denied.contains(id)) => Ok(()),
        _ => Err(Refusal::Denied),
    }
}

/// May `entry`'s directory have its names changed?
fn changeable(entry: &Entry, rights: &Rights) -> Result<(), Refusal> {
    let ids = paths::identities(&entry.dir).map_err(|_| Refusal::OutsideWritable)?;
    if ids.iter().any(|id| rights.denied.contains(id)) {
        return Err(Refusal::Denied);
    }
    match ids.iter().any(|id| rights.writable.contains(id)) {
        true => Ok(()),
        false => Err(Refusal::OutsideWritable),
    }
}

/// `entry` may change, and what it names now (if anything) is not denied.
fn replaceable(entry: &Entry, rights: &Rights) -> Result<(), Refusal> {
    changeable(entry, rights)?;
    match object(entry) {
        Some(found) => denied(&found, rights),
        None => Ok(()),
    }
}

fn foreign(entry: &Entry, rights: &Rights) -> bool {
    rights
        .view
        .is_some_and(|view| crate::virt::private_proc::foreign(&entry.dir, view))
}

/// A new file or directory gets the mode the job's umask gives: the
/// kernel applied the host's.
fn apply_umask(entry: &Entry, mode: u32, umask: u32) {
    let _ = file::chmod_at(entry.dir.as_raw_fd(), &entry.name, mode & !umask);
}

/// The whole call: copy, resolve, judge, then make it with the job's
/// credentials.
pub fn change(
    n: &Notification,
    rights: &Rights,
    still_waiting: &dyn Fn() -> bool,
) -> Result<Outcome, i32> {
    let tid = n.tid();
    let a = n.args;
    // (dirfd, path) of the first and second paths, by call.
    type PathArg = (Option<i32>, u64);
    let (first, second): (PathArg, Option<PathArg>) = match n.nr {
        libc::SYS_unlink | libc::SYS_rmdir | libc::SYS_mkdir | libc::SYS_mknod => {
            ((None, a[0]), None)
        }
        libc::SYS_truncate => ((None, a[0]), None),
        libc::SYS_unlinkat | libc::SYS_mkdirat | libc::SYS_mknodat => {
            ((dirfd_arg(a[0]), a[1]), None)
        }
        libc::SYS_symlink => ((None, a[1]), None),
        libc::SYS_symlinkat => ((dirfd_arg(a[1]), a[2]), None),
        libc::SYS_link | libc::SYS_rename => ((None, a[0]), Some((None, a[1]))),
        libc::SYS_linkat | libc::SYS_renameat | libc::SYS_renameat2 => {
            ((dirfd_arg(a[0]), a[1]), Some((dirfd_arg(a[2]), a[3])))
        }
        _ => return Err(libc::ENOSYS),
    };
    let first_path = path_at(tid, first.1)?;
    let second_path = match second {
        Some((_, at)) => Some(path_at(tid, at)?),
        None => None,
    };
    let target = match n.nr {
        libc::SYS_symlink | libc::SYS_symlinkat => {
            let target = memory::read_c_string(tid, a[0], PATH_MAX)?;
            if target.is_empty() {
                return Err(libc::ENOENT);
            }
            Some(CString::new(target).map_err(|_| libc::EINVAL)?)
        }
        _ => None,
    };
    if !still_waiting() {
        return Err(libc::EINTR);
    }
    let umask = crate::sys::procfs::umask_of(tid).unwrap_or(0o077);
    let host_umask = crate::sys::procfs::umask_of(std::process::id() as libc::pid_t).unwrap_or(0);
    let fix_umask = umask != host_umask;
    let here = entry(tid, first.0, &first_path)?;
    if foreign(&here, rights) {
        return Err(libc::ENOENT);
    }
    let job = rights.job;
    let dir = here.dir.as_raw_fd();
    let name = here.name.as_c_str();
    match n.nr {
        libc::SYS_truncate => {
            let follow = paths::base(tid, None, &first_path, false)
                .and_then(|base| paths::openat2(base.as_raw_fd(), &first_path, libc::O_PATH))
                .map_err(magic)?;
            let ids = paths::identities(&follow).map_err(|_| libc::EACCES)?;
            if ids.iter().any(|id| rights.denied.contains(id)) {
                return Ok(Err(Refusal::Denied));
            }
            if !ids.iter().any(|id| rights.writable.contains(id)) {
                return Ok(Err(Refusal::OutsideWritable));
            }
            let proc_path = paths::fd_link(follow.as_raw_fd());
            creds::as_job(job, || result(file::truncate(&proc_path, a[1] as i64))).map(Ok)
        }
        libc::SYS_unlink | libc::SYS_rmdir | libc::SYS_unlinkat => {
            let remove_dir = n.nr == libc::SYS_rmdir
                || (n.nr == libc::SYS_unlinkat && a[2] as i32 & libc::AT_REMOVEDIR != 0);
            if n.nr == libc::SYS_unlinkat && a[2] as i32 & !libc::AT_REMOVEDIR != 0 {
                return Err(libc::EINVAL);
            }
            if is_dot(&here) {
                return Err(match (remove_dir, here.name.as_bytes()) {
                    (true, b"..") => libc::ENOTEMPTY,
                    (true, _) => libc::EINVAL,
                    (false, _) => libc::EISDIR,
                });
            }
            if not_a_directory(&here) {
                return Err(libc::ENOTDIR);
            }
            if let Err(refusal) = replaceable(&here, rights) {
                return Ok(Err(refusal));
            }
            let flags = if remove_dir { libc::AT_REMOVEDIR } else { 0 };
            creds::as_job(job, || result(file::unlinkat(dir, name, flags))).map(Ok)
        }
        libc::SYS_mkdir | libc::SYS_mkdirat => {
            let mode = (if n.nr == libc::SYS_mkdir { a[1] } else { a[2] }) as u32 & 0o7777;
            if is_dot(&here) {
                return Err(libc::EEXIST);
            }
            if let Err(refusal) = changeable(&here, rights) {
                return Ok(Err(refusal));
            }
            creds::as_job(job, || {
                let r = result(file::mkdirat(dir, name, mode));
                if r == 0 && fix_umask {
                    apply_umask(&here, mode, umask);
                }
                r
            })
            .map(Ok)
        }
        libc::SYS_mknod | libc::SYS_mknodat => {
            let (mode, dev) = match n.nr {
                libc::SYS_mknod => (a[1] as u32, a[2]),
                _ => (a[2] as u32, a[3]),
            };
            if is_dot(&here) {
                return Err(libc::EEXIST);
            }
            if let Err(refusal) = changeable(&here, rights) {
                return Ok(Err(refusal));
            }
            creds::as_job(job, || {
                let r = result(file::mknodat(dir, name, mode, dev as libc::dev_t));
                if r == 0 && fix_umask {
                    apply_umask(&here, mode & 0o7777, umask);
                }
                r
            })
            .map(Ok)
        }
        libc::SYS_symlink | libc::SYS_symlinkat => {
            let Some(target) = target else {
                return Err(libc::EINVAL);
            };
            if is_dot(&here) {
                return Err(libc::EEXIST);
            }
            if let Err(refusal) = changeable(&here, rights) {
                return Ok(Err(refusal));
            }
            creds::as_job(job, || result(file::symlinkat(&target, dir, name))).map(Ok)
        }
        libc::SYS_link
        | libc::SYS_linkat
        | libc::SYS_rename
        | libc::SYS_renameat
        | libc::SYS_renameat2 => {
            let (Some(second), Some(second_path)) = (second, second_path) else {
                return Err(libc::EINVAL);
            };
            let there = entry(tid, second.0, &second_path)?;
            if foreign(&there, rights) {
                return Err(libc::ENOENT);
            }
            if is_dot(&here) || is_dot(&there) {
                return Err(match n.nr {
                    libc::SYS_link | libc::SYS_linkat => libc::EEXIST,
                    _ => libc::EBUSY,
                });
            }
            if not_a_directory(&here) || not_a_directory(&there) {
                return Err(libc::ENOTDIR);
            }
            let linking = matches!(n.nr, libc::SYS_link | libc::SYS_linkat);
            if linking {
                let flags = if n.nr == libc::SYS_linkat {
                    a[4] as i32
                } else {
                    0
                };
                if flags & !libc::AT_SYMLINK_FOLLOW != 0 {
                    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which the
                    // job does not have.
                    return Err(if flags & libc::AT_EMPTY_PATH != 0 {
                        libc::ENOENT
                    } else {
                        libc::EINVAL
                    });
                }
                // The source, pinned (followed with AT_SYMLINK_FOLLOW): its
                // directory must be writable as for Landlock's refer, and
                // it must not be denied.
                let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
                // linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW): the caller's
                // own fd (an O_TMPFILE file given a name), taken directly.
                let own_fd = match paths::own_fd_link(tid, &first_path) {
                    Some((owner, fd, b"")) if follow => {
                        Some(paths::base(owner, Some(fd), b"", true)?)
                    }
                    _ => None,
                };
                let source = match (&own_fd, follow) {
                    (Some(fd), _) => fd.try_clone().map_err(|_| libc::EMFILE)?,
                    (None, false) => object(&here).ok_or(libc::ENOENT)?,
                    (None, true) => {
                        paths::openat2(here.dir.as_raw_fd(), here.name.as_bytes(), libc::O_PATH)
                            .map_err(magic)?
                    }
                };
                if let Err(refusal) =
                    changeable(&there, rights).and_then(|()| denied(&source, rights))
                {
                    return Ok(Err(refusal));
                }
                // A source directory without Landlock's refer right: the
                // kernel says EXDEV, so that a program copies instead. For
                // an fd, the directory it is in now; a file with no name
                // yet (O_TMPFILE) was made where the job may write.
                let refer = match own_fd {
                    Some(_) if crate::fs::metadata::nameless(&source) => Ok(()),
                    Some(_) => match paths::reaches(&source, |id| rights.writable.contains(id)) {
                        Ok(true) => Ok(()),
                        _ => Err(Refusal::OutsideWritable),
                    },
                    None => changeable(&here, rights),
                };
                match refer {
                    Err(Refusal::OutsideWritable) => return Err(libc::EXDEV),
                    Err(refusal) => return Ok(Err(refusal)),
                    Ok(()) => {}
                }
                let proc_path = paths::fd_link(source.as_raw_fd());
                // Through the pinned source: /proc/self/fd/N followed once
                // is that very object, a symlink included.
                return creds::as_job(job, || {
                    result(file::linkat(
                        libc::AT_FDCWD,
                        &proc_path,
                        there.dir.as_raw_fd(),
                        &there.name,
                        libc::AT_SYMLINK_FOLLOW,
                    ))
                })
                .map(Ok);
            }
            let flags = if n.nr == libc::SYS_renameat2 {
                a[4] as u32
            } else {
                0
            };
            if object(&here).is_none() {
                return Err(libc::ENOENT);
            }
            if let Err(refusal) =
                replaceable(&here, rights).and_then(|()| replaceable(&there, rights))
            {
                return Ok(Err(refusal));
            }
            creds::as_job(job, || {
                result(file::renameat2(
                    dir,
                    name,
                    there.dir.as_raw_fd(),
                    &there.name,
                    flags,
                ))
            })
            .map(Ok)
        }
        _ => Err(libc::ENOSYS),
    }
}

//! Opens made on the child's behalf, for `fs_deny`: the supervisor copies
//! the call's path once, resolves it as the child would (from a duplicate
//! of its dirfd or cwd), decides on the object it reaches (its identity
//! and its directories'), opens that same object through the opener (in
//! the sandbox's Landlock domain, with its credentials: Landlock and the
//! file permissions judge it as they would the child), and hands the fd to
//! the child with SECCOMP_IOCTL_NOTIF_ADDFD. The kernel never re-reads the
//! path: nothing the child changes afterwards matters.
//!
//! 1. Where it leads: `O_PATH` (no side effect, no wait on a FIFO) with
//!    the child's `O_NOFOLLOW`/`O_DIRECTORY` and openat2 resolve flags.
//! 2. The check: the target's identity, and every directory above where it
//!    really is (a symlink may lead elsewhere).
//! 3. The open: the opener reopens that very inode through
//!    `/proc/self/fd/4` with the child's flags. A file to be created is made
//!    with `O_EXCL` in the directory checked in step 2 (a name that appears
//!    meanwhile starts again from step 1).

use crate::live::Denied;
use crate::opener::Opener;
use crate::paths;
use crate::procview::{self, ProcView};
use crate::seccomp::notify::Notification;
use crate::sys::memory;
use std::os::fd::{AsRawFd, OwnedFd};

const PATH_MAX: usize = 4096;

/// An open call, copied out of the child.
#[derive(Debug, Clone)]
pub struct OpenCall {
    /// None: the cwd (AT_FDCWD, or open/creat).
    pub dirfd: Option<i32>,
    pub path: Vec<u8>,
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

impl OpenCall {
    pub fn cloexec(&self) -> bool {
        self.flags & libc::O_CLOEXEC as u64 != 0
    }
}

/// Copies the arguments of a trapped open, openat, openat2 or creat.
pub fn read_call(n: &Notification) -> Result<OpenCall, i32> {
    let tid = n.pid as libc::pid_t;
    let a = n.args;
    let int = |v: u64| v as u32 as u64;
    let dirfd = |v: u64| match v as i32 {
        libc::AT_FDCWD => None,
        fd => Some(fd),
    };
    let (dir, path_at, flags, mode, resolve) = match n.nr {
        libc::SYS_open => (None, a[0], int(a[1]), int(a[2]), 0),
        libc::SYS_openat => (dirfd(a[0]), a[1], int(a[2]), int(a[3]), 0),
        libc::SYS_creat => (
            None,
            a[0],
            (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
            int(a[1]),
            0,
        ),
        libc::SYS_openat2 => {
            // struct open_how: flags, mode, resolve; a larger struct must
            // be zero past what we know (the kernel's own rule).
            let size = a[3] as usize;
            if size < 24 {
                return Err(libc::EINVAL);
            }
            if size > 4096 {
                return Err(libc::E2BIG);
            }
            let how = memory::read(tid, a[2], size)?;
            if how[24..].iter().any(|&b| b != 0) {
                return Err(libc::E2BIG);
            }
            let word =
                |i: usize| u64::from_ne_bytes(how[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            (dirfd(a[0]), a[1], word(0), word(1), word(2))
        }
        _ => return Err(libc::ENOSYS),
    };
    let path = memory::read_c_string(tid, path_at, PATH_MAX)?;
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    Ok(OpenCall {
        dirfd: dir,
        path,
        flags,
        mode,
        resolve,
    })
}

fn denied_object(target: &OwnedFd, denied: &Denied) -> Result<bool, i32> {
    Ok(paths::identities(target)?
        .iter()
        .any(|id| denied.contains(id)))
}

fn is_fifo(fd: &OwnedFd) -> bool {
    // SAFETY: stat is plain data; a valid fd and out pointer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    unsafe {
        libc::fstat(fd.as_raw_fd(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFIFO
    }
}

/// openat2's resolve flags that scope even an absolute path to the dirfd.
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
/// O_TMPFILE without its O_DIRECTORY part.
const O_TMPFILE_BIT: u64 = 0x40_0000;

/// What an open will do, decided: reopen an existing object, or create
/// a name in a directory.
pub enum Plan {
    Existing(OwnedFd),
    Create {
        parent: OwnedFd,
        name: Vec<u8>,
    },
    /// A file of ours in place of the real one (a private /proc's meminfo).
    Virtual(OwnedFd),
}

/// Resolves `call` for thread `tid` of process `pid` as it would, and
/// refuses (EACCES) what reaches a denied file. No side effect yet.
pub fn plan(
    opener: &Opener,
    pid: libc::pid_t,
    tid: libc::pid_t,
    call: &OpenCall,
    denied: &Denied,
    view: Option<&ProcView>,
    helpers: &[libc::pid_t],
) -> Result<Plan, i32> {
    let mut path = crate::observed::as_caller(&call.path, pid, tid);
    let scoped = call.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
    let base = paths::base(tid, call.dirfd, &path, scoped)?;
    // "self" below /proc would be the opener's own: spelled with the
    // caller's pid instead, as an absolute /proc/self already is.
    if path.first() != Some(&b'/') && procview::is_proc_root(&base) {
        let spelled = crate::observed::as_caller(&[b"/proc/", &path[..]].concat(), pid, tid);
        path = spelled[b"/proc/".len()..].to_vec();
    }
    let o_path = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    let follow_bits = (libc::O_NOFOLLOW | libc::O_DIRECTORY) as u64;
    let creating = call.flags & (libc::O_CREAT as u64) != 0;
    let found = opener.open(
        base.as_raw_fd(),
        &path,
        o_path | (call.flags & follow_bits),
        0,
        call.resolve,
    );
    match found {
        Ok(target) => {
            if creating && call.flags & libc::O_EXCL as u64 != 0 {
                return Err(libc::EEXIST);
            }
            if denied_object(&target, denied)? {
                return Err(libc::EACCES);
            }
            // The helpers' own /proc entries (their memory, their fds):
            // never, whatever path led there.
            if procview::of_any(&target, helpers) {
                return Err(libc::EACCES);
            }
            if let Some(view) = view {
                if procview::foreign(&target, view) {
                    return Err(libc::ENOENT);
                }
                if let (Some((budget, used)), true) = (view.memory, procview::is_meminfo(&target)) {
                    if call.flags & libc::O_ACCMODE as u64 != libc::O_RDONLY as u64 {
                        return Err(libc::EACCES);
                    }
                    return procview::meminfo(budget, used).map(Plan::Virtual);
                }
            }
            Ok(Plan::Existing(target))
        }
        Err(libc::ENOENT) if creating => {
            let (dir, name) = paths::split(&path);
            if name.is_empty() || name == b"." || name == b".." {
                return Err(libc::EISDIR);
            }
            let parent = opener.open(
                base.as_raw_fd(),
                dir,
                o_path | libc::O_DIRECTORY as u64,
                0,
                call.resolve,
            )?;
            if denied_object(&parent, denied)? {
                return Err(libc::EACCES);
            }
            if view.is_some_and(|view| procview::foreign(&parent, view)) {
                return Err(libc::ENOENT);
            }
            Ok(Plan::Create {
                parent,
                name: name.to_vec(),
            })
        }
        Err(e) => Err(e),
    }
}

/// What carrying out a plan gave.
pub enum Outcome {
    Opened(OwnedFd),
    /// A name appeared between the plan and the create: plan again.
    Again,
    /// The name to create is a dangling symlink: the kernel would create
    /// its target, so plan again for this path.
    Follow(Vec<u8>),
    Failed(i32),
}

/// Opens what `plan` decided, with the child's flags; a mode as the child's
/// `umask` makes it (the opener's own umask is 0).
pub fn carry_out(opener: &Opener, plan: Plan, call: &OpenCall, umask: u32) -> Outcome {
    let mode = call.mode & !u64::from(umask) & 0o7777;
    let result = match plan {
        Plan::Virtual(file) => Ok(file),
        Plan::Existing(target) => reopen(opener, &target, call.flags, mode),
        Plan::Create { parent, name } => {
            let flags = (call.flags | libc::O_EXCL as u64) & !(libc::O_NOFOLLOW as u64);
            match opener.open(parent.as_raw_fd(), &name, flags, mode, 0) {
                Err(libc::EEXIST) if call.flags & libc::O_EXCL as u64 == 0 => {
                    return match symlink_target(&parent, &name) {
                        Some(target) => Outcome::Follow(target),
                        None => Outcome::Again,
                    };
                }
                other => other,
            }
        }
    };
    match result {
        Ok(fd) => Outcome::Opened(fd),
        Err(e) => Outcome::Failed(e),
    }
}

/// What the symlink `name` in `parent` holds, if it is one.
fn symlink_target(parent: &OwnedFd, name: &[u8]) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: name is NUL-terminated, buf a valid buffer of its length.
    let n = unsafe {
        libc::readlinkat(
            parent.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    };
    if n <= 0 || n as usize >= buf.len() {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

/// The path a dangling symlink at `path` leads to (relative to the
/// symlink's directory when its target is relative).
pub fn followed(path: &[u8], target: &[u8]) -> Vec<u8> {
    if target.first() == Some(&b'/') {
        return target.to_vec();
    }
    let (dir, _) = paths::split(path);
    let mut joined = dir.to_vec();
    if !joined.ends_with(b"/") {
        joined.push(b'/');
    }
    joined.extend_from_slice(target);
    joined
}

/// Does `call` change something before it hands out an fd (a create, a
/// truncation)? The kernel fails those with EMFILE first when the table is
/// full, so the supervisor checks the table first too.
pub fn has_side_effects(call: &OpenCall) -> bool {
    call.flags & (libc::O_CREAT | libc::O_TRUNC) as u64 != 0 || call.flags & O_TMPFILE_BIT != 0
}

/// O_PATH opens cannot be handed over (ADDFD takes no O_PATH file).
pub fn wants_path_only(call: &OpenCall) -> bool {
    call.flags & libc::O_PATH as u64 != 0
}

/// The checked object itself, opened with the child's flags. A FIFO is
/// opened without waiting for its other end (the supervisor must not
/// wait), then given back its blocking mode.
fn reopen(opener: &Opener, target: &OwnedFd, flags: u64, mode: u64) -> Result<OwnedFd, i32> {
    let dropped = (libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW) as u64;
    let mut flags = flags & !dropped;
    let fifo = is_fifo(target);
    let blocking = flags & libc::O_NONBLOCK as u64 == 0;
    if fifo {
        flags |= libc::O_NONBLOCK as u64;
    }
    // O_TMPFILE makes a file in the directory: it takes the mode.
    let mode = if flags & O_TMPFILE_BIT != 0 { mode } else { 0 };
    let fd = opener.open(target.as_raw_fd(), b"/proc/self/fd/4", flags, mode, 0)?;
    if fifo && blocking {
        // SAFETY: plain fcntl on our copy (it shares the file description
        // the child gets).
        unsafe {
            let now = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, now & !libc::O_NONBLOCK);
        }
    }
    Ok(fd)
}

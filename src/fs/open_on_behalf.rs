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
//!
//! Steps 1 and 3 are requests to the opener, which the job can stop: the
//! supervisor never waits for one. An open is a [`Task`] that says what to
//! ask the opener next ([`Next::Ask`]) and is given the reply in a later
//! step ([`Task::answer`]), until it is [`Next::Done`].

use crate::fs::paths;
use crate::seccomp::notify::Notification;
use crate::supervisor::events::{kind, Event, Events, Verdict};
use crate::supervisor::live_policy::Denied;
use crate::sys::memory;
use crate::virt::private_proc::{self, ProcView};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

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
    let tid = n.tid();
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
    crate::sys::fstat(fd.as_raw_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

/// openat2's resolve flags that scope even an absolute path to the dirfd.
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
/// O_TMPFILE without its O_DIRECTORY part.
const O_TMPFILE_BIT: u64 = 0x40_0000;

/// What the symlink `name` in `parent` holds, if it is one.
fn symlink_target(parent: &OwnedFd, name: &[u8]) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(name).ok()?;
    crate::sys::readlinkat(parent.as_raw_fd(), &name)
        .ok()
        .filter(|target| !target.is_empty())
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

/// What an open hands the caller.
pub enum Opened {
    /// The fd, and whether it is close-on-exec.
    Fd(OwnedFd, bool),
    /// An O_PATH open, checked: the kernel makes it (ADDFD takes no O_PATH
    /// file). What it can reach through a swapped path is metadata only:
    /// a reopen or an exec through the fd is checked again.
    PathOnly,
}

/// A request for the opener: openat2(`dir`, `path`, {flags, mode,
/// resolve}). `dir` is the task's own, open until the task moves on.
pub struct Ask {
    pub dir: RawFd,
    pub path: Vec<u8>,
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// What a task needs next.
pub enum Next {
    /// This asked of the opener; then [`Task::answer`] with its reply.
    Ask(Ask),
    /// The call's answer.
    Done(Result<Opened, i32>),
}

/// Where a task is: what the outstanding request was for.
enum Stage {
    /// The O_PATH lookup of the path, from `base`.
    Lookup {
        base: OwnedFd,
    },
    /// The lookup of the directory a new file goes in (from `base`, kept
    /// open until the request is made).
    Parent {
        _base: OwnedFd,
        name: Vec<u8>,
    },
    /// The reopen of the checked object (`_target`, kept open until the
    /// request is made) with the child's flags.
    Reopen {
        _target: OwnedFd,
        fifo: bool,
        blocking: bool,
    },
    /// The O_EXCL create of `name` in the checked `parent`.
    Create {
        parent: OwnedFd,
        name: Vec<u8>,
    },
    Over,
}

/// What resolving the call gave: reopen an existing object, create a
/// name in a directory, or a file of ours (a private /proc's meminfo).
enum Plan {
    Existing(OwnedFd),
    Create { parent: OwnedFd, name: Vec<u8> },
    Virtual(OwnedFd),
}

/// One open made on the child's behalf, from its copied call to the fd.
pub struct Task {
    pub n: Notification,
    call: OpenCall,
    pub pid: libc::pid_t,
    pub tid: libc::pid_t,
    denied: Denied,
    view: Option<ProcView>,
    /// The watchdog's and the opener's pids: their /proc entries are never
    /// handed out.
    helpers: [libc::pid_t; 2],
    /// Symlinks a create goes through, and names that appear meanwhile,
    /// start again: at most 8 times.
    attempt: u32,
    stage: Stage,
}

const O_PATH: u64 = (libc::O_PATH | libc::O_CLOEXEC) as u64;

impl Task {
    /// A task for the open `n` (`call`: its arguments, as `read_call`
    /// copied them), and its first step. `denied` and `view` are copies: the opener takes its time, and a callback may change
    /// the live policy meanwhile.
    pub fn start(
        n: Notification,
        call: Result<OpenCall, i32>,
        denied: Denied,
        view: Option<ProcView>,
        helpers: [libc::pid_t; 2],
        events: &mut Events,
    ) -> (Task, Next) {
        let tid = n.tid();
        let pid = crate::sys::procfs::process_of(tid).unwrap_or(tid);
        let mut task = Task {
            n,
            call: OpenCall {
                dirfd: None,
                path: Vec::new(),
                flags: 0,
                mode: 0,
                resolve: 0,
            },
            pid,
            tid,
            denied,
            view,
            helpers,
            attempt: 0,
            stage: Stage::Over,
        };
        let next = match call {
            Ok(call) => {
                task.call = call;
                task.lookup(events)
            }
            Err(e) => Next::Done(Err(e)),
        };
        (task, next)
    }

    /// Step 1: where the path leads.
    fn lookup(&mut self, events: &mut Events) -> Next {
        let mut path = crate::fs::deny::as_caller(&self.call.path, self.pid, self.tid);
        let scoped = self.call.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
        let base = match paths::base(self.tid, self.call.dirfd, &path, scoped) {
            Ok(base) => base,
            Err(e) => return self.planned(Err(e), events),
        };
        // "self" below /proc would be the opener's own: spelled with the
        // caller's pid instead, as an absolute /proc/self already is.
        if path.first() != Some(&b'/') && private_proc::is_proc_root(&base) {
            let absolute = [b"/proc/", &path[..]].concat();
            let spelled = crate::fs::deny::as_caller(&absolute, self.pid, self.tid);
            path = spelled[b"/proc/".len()..].to_vec();
        }
        let follow_bits = (libc::O_NOFOLLOW | libc::O_DIRECTORY) as u64;
        let ask = Ask {
            dir: base.as_raw_fd(),
            path,
            flags: O_PATH | (self.call.flags & follow_bits),
            mode: 0,
            resolve: self.call.resolve,
        };
        self.stage = Stage::Lookup { base };
        Next::Ask(ask)
    }

    fn creating(&self) -> bool {
        self.call.flags & (libc::O_CREAT as u64) != 0
    }

    /// The opener's reply to the last request.
    pub fn answer(&mut self, reply: Result<OwnedFd, i32>, events: &mut Events) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Over) {
            Stage::Lookup { base } => match reply {
                Ok(target) => {
                    let plan = self.check_existing(target);
                    self.planned(plan, events)
                }
                Err(libc::ENOENT) if self.creating() => {
                    let path = crate::fs::deny::as_caller(&self.call.path, self.pid, self.tid);
                    let (dir, name) = paths::split(&path);
                    if name.is_empty() || name == b"." || name == b".." {
                        return self.planned(Err(libc::EISDIR), events);
                    }
                    let ask = Ask {
                        dir: base.as_raw_fd(),
                        path: dir.to_vec(),
                        flags: O_PATH | libc::O_DIRECTORY as u64,
                        mode: 0,
                        resolve: self.call.resolve,
                    };
                    self.stage = Stage::Parent {
                        _base: base,
                        name: name.to_vec(),
                    };
                    Next::Ask(ask)
                }
                Err(e) => self.planned(Err(e), events),
            },
            Stage::Parent { name, .. } => {
                let plan = reply.and_then(|parent| {
                    if denied_object(&parent, &self.denied)? {
                        return Err(libc::EACCES);
                    }
                    if self
                        .view
                        .as_ref()
                        .is_some_and(|view| private_proc::foreign(&parent, view))
                    {
                        return Err(libc::ENOENT);
                    }
                    Ok(Plan::Create { parent, name })
                });
                self.planned(plan, events)
            }
            Stage::Reopen { fifo, blocking, .. } => Next::Done(reply.map(|fd| {
                if fifo && blocking {
                    // On our copy, which shares the file description the
                    // child gets.
                    let _ = crate::sys::clear_status_flags(fd.as_raw_fd(), libc::O_NONBLOCK);
                }
                Opened::Fd(fd, self.call.cloexec())
            })),
            Stage::Create { parent, name } => match reply {
                Err(libc::EEXIST) if self.call.flags & libc::O_EXCL as u64 == 0 => {
                    // A name appeared, or it is a dangling symlink whose
                    // target the kernel would create: plan again.
                    if let Some(target) = symlink_target(&parent, &name) {
                        self.call.path = followed(&self.call.path, &target);
                    }
                    self.again(events)
                }
                reply => Next::Done(reply.map(|fd| Opened::Fd(fd, self.call.cloexec()))),
            },
            Stage::Over => Next::Done(Err(libc::EIO)),
        }
    }

    fn again(&mut self, events: &mut Events) -> Next {
        self.attempt += 1;
        if self.attempt >= 8 {
            return Next::Done(Err(libc::ELOOP));
        }
        self.lookup(events)
    }

    /// Step 2 on an object that exists.
    fn check_existing(&self, target: OwnedFd) -> Result<Plan, i32> {
        if self.creating() && self.call.flags & libc::O_EXCL as u64 != 0 {
            return Err(libc::EEXIST);
        }
        if denied_object(&target, &self.denied)? {
            return Err(libc::EACCES);
        }
        // The helpers' own /proc entries (their memory, their fds): never,
        // whatever path led there.
        if private_proc::of_any(&target, &self.helpers) {
            return Err(libc::EACCES);
        }
        if let Some(view) = &self.view {
            if private_proc::foreign(&target, view) {
                return Err(libc::ENOENT);
            }
            if let (Some((budget, used)), true) = (view.memory, private_proc::is_meminfo(&target)) {
                if self.call.flags & libc::O_ACCMODE as u64 != libc::O_RDONLY as u64 {
                    return Err(libc::EACCES);
                }
                return private_proc::meminfo(budget, used).map(Plan::Virtual);
            }
        }
        Ok(Plan::Existing(target))
    }

    /// The plan is made: shown to the observer (the first time; a denial
    /// is logged), then carried out (step 3).
    fn planned(&mut self, plan: Result<Plan, i32>, events: &mut Events) -> Next {
        if self.attempt == 0 {
            let denied = match &plan {
                Err(libc::EACCES) => libc::EACCES,
                _ => 0,
            };
            if denied != 0 || events.wants(kind::OPEN) {
                let event = Event {
                    kind: kind::OPEN,
                    nr: self.n.nr,
                    pid: self.pid,
                    tid: self.tid,
                    ppid: crate::sys::procfs::parent_of(self.pid).unwrap_or(0),
                    denied,
                    path: Some(self.call.path.clone()),
                    flags: self.call.flags as i64,
                    detail: if denied != 0 { "fs_deny" } else { "" },
                    ..Event::default()
                };
                match events.decide(event) {
                    Verdict::Allow | Verdict::Audit => {}
                    Verdict::Deny(errno) => return Next::Done(Err(errno)),
                    Verdict::Kill => return Next::Done(Err(libc::EPERM)),
                }
            }
        }
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => return Next::Done(Err(e)),
        };
        if wants_path_only(&self.call) {
            return Next::Done(Ok(Opened::PathOnly));
        }
        let umask = if has_side_effects(&self.call) {
            if crate::sys::procfs::fd_table_full(self.pid).unwrap_or(false) {
                return Next::Done(Err(libc::EMFILE));
            }
            crate::sys::procfs::umask_of(self.pid).unwrap_or(0o077)
        } else {
            0
        };
        // A mode as the child's umask makes it (the opener's own is 0).
        let mode = self.call.mode & !u64::from(umask) & 0o7777;
        match plan {
            Plan::Virtual(file) => Next::Done(Ok(Opened::Fd(file, self.call.cloexec()))),
            Plan::Existing(target) => {
                // A FIFO is opened without waiting for its other end (the
                // opener must not wait), then given back its blocking mode.
                let dropped = (libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW) as u64;
                let mut flags = self.call.flags & !dropped;
                let fifo = is_fifo(&target);
                let blocking = flags & libc::O_NONBLOCK as u64 == 0;
                if fifo {
                    flags |= libc::O_NONBLOCK as u64;
                }
                // O_TMPFILE makes a file in the directory: it takes the mode.
                let mode = if flags & O_TMPFILE_BIT != 0 { mode } else { 0 };
                let ask = Ask {
                    dir: target.as_raw_fd(),
                    path: b"/proc/self/fd/4".to_vec(),
                    flags,
                    mode,
                    resolve: 0,
                };
                self.stage = Stage::Reopen {
                    _target: target,
                    fifo,
                    blocking,
                };
                Next::Ask(ask)
            }
            Plan::Create { parent, name } => {
                let flags = (self.call.flags | libc::O_EXCL as u64) & !(libc::O_NOFOLLOW as u64);
                let ask = Ask {
                    dir: parent.as_raw_fd(),
                    path: name.clone(),
                    flags,
                    mode,
                    resolve: 0,
                };
                self.stage = Stage::Create { parent, name };
                Next::Ask(ask)
            }
        }
    }
}

//! fs_deny and a private /proc for the calls the kernel makes from the
//! caller's own memory (exec, open, and every other call that names a
//! file): the caller's path read and spelled as it means it, resolved as
//! it would be, and refused when it reaches a denied file; and the new
//! image of an allowed exec checked before its first instruction.

use crate::fs::paths;
use crate::seccomp::notify::Notification;
use crate::supervisor::events::{kind, Event};
use crate::sys::memory;
use crate::sys::procfs;
use std::os::fd::AsRawFd;

/// The longest path read from a caller.
pub const PATH_MAX: usize = 4096;

/// With `/proc/self`, `/proc/thread-self` and the /dev links into them
/// spelled for the caller: the supervisor (or the opener) would otherwise
/// resolve them to itself.
/// The path at `addr` in task `tid`, spelled as `as_caller` has it (the
/// process is looked up only when the spelling needs it).
pub fn read_caller_path(tid: libc::pid_t, addr: u64) -> Result<Vec<u8>, i32> {
    let given = memory::read_c_string(tid, addr, PATH_MAX)?;
    if !given.starts_with(b"/proc/") && !given.starts_with(b"/dev/") {
        return Ok(given);
    }
    let pid = procfs::process_of(tid)?;
    Ok(as_caller(&given, pid, tid))
}

pub fn as_caller(path: &[u8], pid: libc::pid_t, tid: libc::pid_t) -> Vec<u8> {
    for (prefix, own) in [
        (&b"/proc/self"[..], format!("/proc/{pid}")),
        (&b"/proc/thread-self"[..], format!("/proc/{pid}/task/{tid}")),
        (&b"/dev/fd"[..], format!("/proc/{pid}/fd")),
        (&b"/dev/stdin"[..], format!("/proc/{pid}/fd/0")),
        (&b"/dev/stdout"[..], format!("/proc/{pid}/fd/1")),
        (&b"/dev/stderr"[..], format!("/proc/{pid}/fd/2")),
    ] {
        if path.starts_with(prefix) && matches!(path.get(prefix.len()), None | Some(b'/')) {
            let mut spelled = own.into_bytes();
            spelled.extend_from_slice(&path[prefix.len()..]);
            return spelled;
        }
    }
    path.to_vec()
}

/// Where task `tid` resolves `path` from, and what is left of it to
/// resolve there. A path through a magic link to one of its own fds
/// (`/proc/<pid>/fd/N`, `/dev/fd/N`, `/dev/stdin`...) starts at a
/// duplicate of that fd, which is what the kernel's lookup reaches through
/// the link: a pipe, a socket, a file or directory judged by what it is.
/// (Such links cannot be resolved here through /proc, which would follow
/// them in the supervisor.) Any other path starts at `paths::base`.
fn start_of(
    tid: libc::pid_t,
    dirfd: Option<i32>,
    path: &[u8],
) -> Result<(std::os::fd::OwnedFd, Vec<u8>, bool), i32> {
    if let Some((owner, fd, rest)) = paths::own_fd_link(tid, path) {
        let own = paths::base(owner, Some(fd), b"", false)?;
        return Ok((own, rest.to_vec(), true));
    }
    let base = paths::base(tid, dirfd, path, false).map_err(paths::refuse_magic)?;
    Ok((base, path.to_vec(), false))
}

/// Does the exec or open `n` (already read into `event`) reach a denied
/// file: the object itself, a directory above it, or (an exec) the
/// interpreter the kernel would open for it? Resolved here as the caller
/// would, while the sandbox is stopped; a path that cannot be resolved the
/// same way (through a /proc magic link) fails with EACCES, another lookup
/// error with its own errno (the kernel would fail too).
pub fn reaches_denied(
    n: &Notification,
    event: &Event,
    denied: &crate::supervisor::live_policy::Denied,
) -> Result<bool, i32> {
    let tid = n.tid();
    let path = as_caller(event.path.as_deref().unwrap_or_default(), event.pid, tid);
    let nofollow = match n.nr {
        libc::SYS_execveat => n.int(4) & libc::AT_SYMLINK_NOFOLLOW != 0,
        libc::SYS_execve => false,
        _ => event.flags as i32 & libc::O_NOFOLLOW != 0,
    };
    let creating = event.kind == kind::OPEN
        && event.flags as i32 & libc::O_CREAT != 0
        && event.flags as i32 & libc::O_EXCL == 0;
    let dirfd = match n.nr {
        libc::SYS_openat | libc::SYS_openat2 | libc::SYS_execveat => Some(n.int(0)),
        _ => None,
    };
    let magic = paths::refuse_magic;
    let (base, path, _) = start_of(tid, dirfd, &path)?;
    let mut ids = Vec::new();
    let target = if path.is_empty() {
        // execveat(fd, "", AT_EMPTY_PATH), or one of the caller's own fds
        // through its link: the fd itself.
        Some(base)
    } else {
        let (dir, name) = paths::split(&path);
        let parent = paths::openat2(base.as_raw_fd(), dir, libc::O_PATH | libc::O_DIRECTORY)
            .map_err(magic)?;
        let flags = libc::O_PATH | if nofollow { libc::O_NOFOLLOW } else { 0 };
        let target = match paths::openat2(parent.as_raw_fd(), name, flags) {
            Ok(fd) => Some(fd),
            Err(libc::ENOENT) if creating => {
                // A dangling symlink: the kernel would create its target,
                // wherever it points. Refused.
                if paths::openat2(parent.as_raw_fd(), name, libc::O_PATH | libc::O_NOFOLLOW).is_ok()
                {
                    return Ok(true);
                }
                None
            }
            // Nothing there: its directory decides (a create), or the
            // kernel fails alike.
            Err(libc::ENOENT) => None,
            Err(e) => return Err(magic(e)),
        };
        ids.extend(paths::ancestry(parent).map_err(|_| libc::EACCES)?);
        target
    };
    if let Some(target) = &target {
        ids.extend(paths::identities(target)?);
    }
    if ids.iter().any(|id| denied.contains(id)) {
        return Ok(true);
    }
    // The interpreters the kernel opens itself, up to its own nesting limit.
    let (mut current, mut depth) = (target, 0);
    while let (Some(program), true) = (current.take(), event.kind == kind::EXEC) {
        let Some(interpreter) = paths::interpreter(&program)? else {
            break;
        };
        depth += 1;
        if depth > 5 {
            return Err(libc::ELOOP);
        }
        let base = paths::base(tid, None, &interpreter, false).map_err(magic)?;
        let found = paths::openat2(base.as_raw_fd(), &interpreter, libc::O_PATH).map_err(magic)?;
        if paths::identities(&found)?
            .iter()
            .any(|id| denied.contains(id))
        {
            return Ok(true);
        }
        current = Some(found);
    }
    Ok(false)
}

/// Whether a path argument's final symlink is followed.
#[derive(Clone, Copy)]
enum Follow {
    Yes,
    No,
    /// Unless this bit is set in argument `.0` (AT_SYMLINK_NOFOLLOW).
    UnlessFlag(usize, u64),
    /// Only if this bit is set in argument `.0` (AT_SYMLINK_FOLLOW).
    IfFlag(usize, u64),
}

/// One path argument of a call that names files: where its dirfd and path
/// are, and what must not be denied: the object it names, the directory
/// the name is in, or both.
#[derive(Clone, Copy)]
struct PathArg {
    dirfd: Option<usize>,
    path: usize,
    follow: Follow,
    object: bool,
    parent: bool,
}

const fn arg(
    dirfd: Option<usize>,
    path: usize,
    follow: Follow,
    object: bool,
    parent: bool,
) -> PathArg {
    PathArg {
        dirfd,
        path,
        follow,
        object,
        parent,
    }
}

const NOFOLLOW_AT: u64 = libc::AT_SYMLINK_NOFOLLOW as u64;
const FOLLOW_AT: u64 = libc::AT_SYMLINK_FOLLOW as u64;

/// Calls other than open and exec that reach a file by its path: probes of
/// its metadata, and changes to it or to the directory it is named in.
/// With fs_deny they are checked (with the sandbox stopped, then made by
/// the kernel): a denied file can be neither looked at, nor renamed, linked
/// or unlinked out of its tree, nor can anything be moved or made into it.
fn path_args(nr: i64) -> Option<&'static [PathArg]> {
    use Follow::*;
    const CWD: Option<usize> = None;
    const OBJECT: &[PathArg] = &[arg(CWD, 0, Yes, true, false)];
    const OBJECT_NOFOLLOW: &[PathArg] = &[arg(CWD, 0, No, true, false)];
    const AT_OBJECT: &[PathArg] = &[arg(Some(0), 1, Yes, true, false)];
    const AT_OBJECT_NOFOLLOW: &[PathArg] = &[arg(Some(0), 1, No, true, false)];
    const AT_OBJECT_FLAG3: &[PathArg] = &[arg(Some(0), 1, UnlessFlag(3, NOFOLLOW_AT), true, false)];
    const AT_OBJECT_FLAG2: &[PathArg] = &[arg(Some(0), 1, UnlessFlag(2, NOFOLLOW_AT), true, false)];
    const AT_HANDLE: &[PathArg] = &[arg(Some(0), 1, IfFlag(4, FOLLOW_AT), true, false)];
    const REMOVE: &[PathArg] = &[arg(CWD, 0, No, true, true)];
    const AT_REMOVE: &[PathArg] = &[arg(Some(0), 1, No, true, true)];
    const RENAME: &[PathArg] = &[arg(CWD, 0, No, true, true), arg(CWD, 1, No, true, true)];
    const AT_RENAME: &[PathArg] = &[
        arg(Some(0), 1, No, true, true),
        arg(Some(2), 3, No, true, true),
    ];
    const LINK: &[PathArg] = &[arg(CWD, 0, No, true, false), arg(CWD, 1, No, false, true)];
    const AT_LINK: &[PathArg] = &[
        arg(Some(0), 1, IfFlag(4, FOLLOW_AT), true, false),
        arg(Some(2), 3, No, false, true),
    ];
    const SYMLINK: &[PathArg] = &[arg(CWD, 1, No, false, true)];
    const AT_SYMLINK: &[PathArg] = &[arg(Some(1), 2, No, false, true)];
    const MAKE: &[PathArg] = &[arg(CWD, 0, No, false, true)];
    const AT_MAKE: &[PathArg] = &[arg(Some(0), 1, No, false, true)];
    Some(match nr {
        libc::SYS_stat
        | libc::SYS_access
        | libc::SYS_chdir
        | libc::SYS_statfs
        | libc::SYS_truncate
        | libc::SYS_getxattr
        | libc::SYS_listxattr => OBJECT,
        libc::SYS_lstat | libc::SYS_readlink | libc::SYS_lgetxattr | libc::SYS_llistxattr => {
            OBJECT_NOFOLLOW
        }
        libc::SYS_newfstatat | libc::SYS_faccessat2 => AT_OBJECT_FLAG3,
        libc::SYS_statx => AT_OBJECT_FLAG2,
        libc::SYS_faccessat => AT_OBJECT,
        libc::SYS_name_to_handle_at => AT_HANDLE,
        libc::SYS_readlinkat => AT_OBJECT_NOFOLLOW,
        libc::SYS_unlink | libc::SYS_rmdir => REMOVE,
        libc::SYS_unlinkat => AT_REMOVE,
        libc::SYS_rename => RENAME,
        libc::SYS_renameat | libc::SYS_renameat2 => AT_RENAME,
        libc::SYS_link => LINK,
        libc::SYS_linkat => AT_LINK,
        libc::SYS_symlink => SYMLINK,
        libc::SYS_symlinkat => AT_SYMLINK,
        libc::SYS_mkdir | libc::SYS_mknod => MAKE,
        libc::SYS_mkdirat | libc::SYS_mknodat => AT_MAKE,
        _ => return None,
    })
}

/// The syscalls `path_args` covers, for the filter.
pub const PATH_CALLS: &[&str] = &[
    "stat",
    "chdir",
    "statfs",
    "name_to_handle_at",
    "access",
    "truncate",
    "getxattr",
    "listxattr",
    "lstat",
    "readlink",
    "lgetxattr",
    "llistxattr",
    "newfstatat",
    "statx",
    "faccessat",
    "faccessat2",
    "readlinkat",
    "unlink",
    "rmdir",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "mkdir",
    "mknod",
    "mkdirat",
    "mknodat",
];

pub fn is_path_call(nr: i64) -> bool {
    path_args(nr).is_some()
}

/// Path calls that only read metadata (stat, access, readlink): checked,
/// then made by the kernel without stopping the sandbox. A path swapped
/// in between could show a denied file's metadata, never its contents;
/// stopping the sandbox for every stat would make `ls -l` and `find`
/// crawl.
pub fn reads_metadata_only(nr: i64) -> bool {
    matches!(
        nr,
        libc::SYS_stat
            | libc::SYS_lstat
            | libc::SYS_newfstatat
            | libc::SYS_statx
            | libc::SYS_access
            | libc::SYS_faccessat
            | libc::SYS_faccessat2
            | libc::SYS_readlink
            | libc::SYS_readlinkat
            | libc::SYS_chdir
            | libc::SYS_statfs
            | libc::SYS_name_to_handle_at
    )
}

/// What the path call `n` must be refused with (see `path_args`): EACCES
/// when it reaches a denied file or directory, ENOENT when it names a
/// process outside the sandbox in a private /proc. Resolved as the caller
/// would, with the sandbox stopped.
pub fn path_call_refusal(
    n: &Notification,
    denied: &crate::supervisor::live_policy::Denied,
    view: Option<&crate::virt::private_proc::ProcView>,
) -> Result<Option<i32>, i32> {
    let Some(args) = path_args(n.nr) else {
        return Ok(None);
    };
    let tid = n.tid();
    let pid = procfs::process_of(tid)?;
    let magic = paths::refuse_magic;
    for a in args {
        // utimensat(fd, NULL, ...) names the fd's file, not a path.
        if n.args[a.path] == 0 {
            continue;
        }
        let given = memory::read_c_string(tid, n.args[a.path], PATH_MAX)?;
        let path = as_caller(&given, pid, tid);
        let follow = match a.follow {
            Follow::Yes => true,
            Follow::No => false,
            Follow::UnlessFlag(at, bit) => n.args[at] & bit == 0,
            Follow::IfFlag(at, bit) => n.args[at] & bit != 0,
        };
        let dirfd = a.dirfd.map(|at| n.args[at] as i32);
        let (base, path, own_fd) = start_of(tid, dirfd, &path)?;
        let mut ids = Vec::new();
        if path.is_empty() {
            // AT_EMPTY_PATH: the dirfd's own file; or one of the caller's
            // own fds through its link (a call on the link's name itself,
            // an unlink say, fails in /proc as it would unsandboxed).
            if a.object || own_fd {
                ids.extend(paths::identities(&base)?);
            }
        } else {
            let (dir, name) = paths::split(&path);
            let parent =
                match paths::openat2(base.as_raw_fd(), dir, libc::O_PATH | libc::O_DIRECTORY) {
                    Ok(parent) => parent,
                    Err(libc::ENOENT) | Err(libc::ENOTDIR) => continue,
                    Err(e) => return Err(magic(e)),
                };
            if view.is_some_and(|view| crate::virt::private_proc::foreign(&parent, view)) {
                return Ok(Some(libc::ENOENT));
            }
            if a.object {
                let flags = libc::O_PATH | if follow { 0 } else { libc::O_NOFOLLOW };
                match paths::openat2(parent.as_raw_fd(), name, flags) {
                    Ok(target) => {
                        if view
                            .is_some_and(|view| crate::virt::private_proc::foreign(&target, view))
                        {
                            return Ok(Some(libc::ENOENT));
                        }
                        ids.extend(paths::identities(&target)?)
                    }
                    Err(libc::ENOENT) => {}
                    Err(e) => return Err(magic(e)),
                }
            }
            if a.parent || a.object {
                ids.extend(paths::ancestry(parent).map_err(|_| libc::EACCES)?);
            }
        }
        if ids.iter().any(|id| denied.contains(id)) {
            return Ok(Some(libc::EACCES));
        }
    }
    Ok(None)
}

/// Does the program process `pid` runs now (stopped right after an exec)
/// come from a denied file: its executable, or any file it has mapped (the
/// ELF interpreter)? A file that cannot be checked counts as denied.
pub fn image_reaches_denied(
    pid: libc::pid_t,
    denied: &crate::supervisor::live_policy::Denied,
) -> bool {
    let reaches = |fd: &std::os::fd::OwnedFd| match paths::identities(fd) {
        Ok(ids) => ids.iter().any(|id| denied.contains(id)),
        Err(_) => true,
    };
    match paths::open_plain(&format!("/proc/{pid}/exe"), libc::O_PATH) {
        Ok(exe) if reaches(&exe) => return true,
        Ok(_) => {}
        // Gone meanwhile: nothing of it runs.
        Err(e) if procfs::gone(e) => return false,
        Err(_) => return true,
    }
    let Ok(maps) = procfs::read_bytes(format!("/proc/{pid}/maps")) else {
        return !procfs::thread_ended(pid).unwrap_or(false);
    };
    let mut seen: Vec<&[u8]> = Vec::new();
    for line in maps.split(|&b| b == b'\n') {
        let mapped = match MappedFile::of(line) {
            Ok(Some(mapped)) => mapped,
            Ok(None) => continue,
            Err(()) => return true,
        };
        if seen.contains(&mapped.path) {
            continue;
        }
        seen.push(mapped.path);
        // The file mapped, by the numbers the kernel gives (an unlinked
        // one has no other name)...
        if denied.contains(&(mapped.dev, mapped.ino)) {
            return true;
        }
        if mapped.path.ends_with(b" (deleted)") {
            continue;
        }
        // ...and by its name, for the directories above it: the same file
        // only (a name swapped since the mapping is not it).
        match paths::openat2(libc::AT_FDCWD, mapped.path, libc::O_PATH) {
            Ok(file) if paths::identity(file.as_raw_fd()).map(|(_, ino)| ino) != Ok(mapped.ino) => {
                return true
            }
            Ok(file) if reaches(&file) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}

/// A file-backed line of /proc/<pid>/maps: "range perms offset MM:mm inode
/// path".
struct MappedFile<'a> {
    dev: u64,
    ino: u64,
    path: &'a [u8],
}

impl<'a> MappedFile<'a> {
    /// None for a mapping of no file ([stack], [vdso], anonymous); Err
    /// for a line that cannot be read (then nothing is known: denied).
    fn of(line: &'a [u8]) -> Result<Option<MappedFile<'a>>, ()> {
        let mut rest = line;
        let mut fields = [&b""[..]; 5];
        for field in &mut fields {
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            rest = &rest[start..];
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            *field = &rest[..end];
            rest = &rest[end..];
        }
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        let path = &rest[start..];
        if path.first() != Some(&b'/') {
            return Ok(None);
        }
        let number = |b: &[u8], radix: u32| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|t| u64::from_str_radix(t, radix).ok())
                .ok_or(())
        };
        let colon = fields[3].iter().position(|&b| b == b':').ok_or(())?;
        let major = number(&fields[3][..colon], 16)?;
        let minor = number(&fields[3][colon + 1..], 16)?;
        Ok(Some(MappedFile {
            dev: libc::makedev(major as u32, minor as u32),
            ino: number(fields[4], 10)?,
            path,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::supervisor::live_policy::{identities_beneath, Denied};
    use std::ffi::CString;

    /// A scratch tree: `denied/` (with a file), `open/` (with a file).
    fn tree(name: &str) -> std::path::PathBuf {
        let root =
            std::env::temp_dir().join(format!("sandlock-deny-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["denied", "open"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join("file"), b"x").unwrap();
        }
        root
    }

    fn denied(root: &std::path::Path) -> Denied {
        let ids = identities_beneath("test", &root.join("denied")).unwrap();
        Denied {
            base: std::sync::Arc::new(ids.into_iter().collect()),
            added: Default::default(),
        }
    }

    /// A call as this thread would make it, its paths in our memory.
    fn call(nr: i64, paths: &[(usize, &CString)], rest: &[(usize, u64)]) -> Notification {
        let mut args = [0u64; 6];
        for (at, path) in paths {
            args[*at] = path.as_ptr() as u64;
        }
        for (at, value) in rest {
            args[*at] = *value;
        }
        Notification {
            id: 1,
            // SAFETY: gettid has no arguments.
            pid: crate::sys::gettid() as u32,
            nr,
            args,
        }
    }

    fn c(path: &std::path::Path) -> CString {
        CString::new(path.as_os_str().as_encoded_bytes()).unwrap()
    }

    /// The decisions fs_deny makes for the calls that name files, on the
    /// test's own thread (no child needed): the object, a directory above
    /// it, either side of a rename or link, `..` and symlinks that lead
    /// in, and what stays allowed.
    #[test]
    fn calls_that_name_a_denied_file_are_refused() {
        let root = tree("calls");
        let denied = denied(&root);
        std::os::unix::fs::symlink(root.join("denied/file"), root.join("open/link")).unwrap();
        let at_cwd = libc::AT_FDCWD as u32 as u64;
        let inside = c(&root.join("denied/file"));
        let dir = c(&root.join("denied"));
        let dotdot = c(&root.join("open/../denied/file"));
        let link = c(&root.join("open/link"));
        let outside = c(&root.join("open/file"));
        let new_outside = c(&root.join("open/new"));
        let missing = c(&root.join("denied/missing"));
        let refusal = |n: &Notification| path_call_refusal(n, &denied, None);
        let eacces = Ok(Some(libc::EACCES));
        assert_eq!(refusal(&call(libc::SYS_stat, &[(0, &inside)], &[])), eacces);
        assert_eq!(refusal(&call(libc::SYS_stat, &[(0, &dir)], &[])), eacces);
        assert_eq!(refusal(&call(libc::SYS_stat, &[(0, &dotdot)], &[])), eacces);
        // stat follows the link into the tree; lstat sees the link.
        assert_eq!(refusal(&call(libc::SYS_stat, &[(0, &link)], &[])), eacces);
        assert_eq!(
            refusal(&call(libc::SYS_lstat, &[(0, &link)], &[])),
            Ok(None)
        );
        assert_eq!(
            refusal(&call(
                libc::SYS_newfstatat,
                &[(1, &link)],
                &[(0, at_cwd), (3, libc::AT_SYMLINK_NOFOLLOW as u64)]
            )),
            Ok(None)
        );
        assert_eq!(
            refusal(&call(libc::SYS_newfstatat, &[(1, &link)], &[(0, at_cwd)])),
            eacces
        );
        // A name not there yet, in a denied directory: its parent decides.
        assert_eq!(
            refusal(&call(libc::SYS_mkdir, &[(0, &missing)], &[])),
            eacces
        );
        assert_eq!(
            refusal(&call(
                libc::SYS_rename,
                &[(0, &inside), (1, &new_outside)],
                &[]
            )),
            eacces
        );
        assert_eq!(
            refusal(&call(
                libc::SYS_rename,
                &[(0, &outside), (1, &missing)],
                &[]
            )),
            eacces
        );
        assert_eq!(
            refusal(&call(
                libc::SYS_link,
                &[(0, &inside), (1, &new_outside)],
                &[]
            )),
            eacces
        );
        assert_eq!(
            refusal(&call(libc::SYS_stat, &[(0, &outside)], &[])),
            Ok(None)
        );
        assert_eq!(
            refusal(&call(
                libc::SYS_rename,
                &[(0, &outside), (1, &new_outside)],
                &[]
            )),
            Ok(None)
        );
        // Not a call that names files.
        assert_eq!(refusal(&call(libc::SYS_getpid, &[], &[])), Ok(None));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn every_path_call_is_described_and_trapped_for_opens() {
        for name in PATH_CALLS {
            let nr = crate::seccomp::syscall_table::number(name).unwrap();
            assert!(is_path_call(nr), "{name}");
        }
        let features = crate::policy::Features {
            traps_opens: true,
            ..Default::default()
        };
        let dispatch = crate::seccomp::trapped::Dispatch::new(&features, &[]);
        for name in PATH_CALLS {
            let nr = crate::seccomp::syscall_table::number(name).unwrap();
            assert_eq!(
                dispatch.handler(nr),
                Some(crate::seccomp::trapped::Handler::PathCall),
                "{name}"
            );
        }
    }

    use super::*;

    #[test]
    fn a_maps_line_names_its_file_by_numbers() {
        let maps = std::fs::read("/proc/self/maps").unwrap();
        let exe = std::fs::canonicalize("/proc/self/exe").unwrap();
        let exe = exe.as_os_str().as_encoded_bytes();
        let line = maps
            .split(|&b| b == b'\n')
            .find(|l| l.ends_with(exe))
            .unwrap();
        let mapped = MappedFile::of(line).unwrap().unwrap();
        let fd = paths::openat2(libc::AT_FDCWD, mapped.path, libc::O_PATH).unwrap();
        assert_eq!(paths::identity(fd.as_raw_fd()).unwrap().1, mapped.ino);
        let stack = b"7ffd0000-7ffd1000 rw-p 00000000 00:00 0                          [stack]";
        assert!(MappedFile::of(stack).unwrap().is_none());
        assert!(MappedFile::of(b"").unwrap().is_none());
        assert!(MappedFile::of(b"0-1 r--p 0 zz 12 /usr/lib/x").is_err());
    }
}

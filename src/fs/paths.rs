//! Resolving a sandboxed process's path the way it would: from its cwd or
//! one of its directory fds, following symlinks but never /proc's magic
//! links (which would resolve in the supervisor, not in the child). And
//! what a resolved object is: its identity and its ancestors'.

use crate::sys::{self, process};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

/// What a lookup through a /proc magic link answers (openat2 gives
/// ELOOP): EACCES, as Landlock refuses what it cannot check; the link
/// would resolve in the supervisor, not in the caller.
pub fn refuse_magic(errno: i32) -> i32 {
    if errno == libc::ELOOP {
        libc::EACCES
    } else {
        errno
    }
}

/// "/proc/self/fd/N" for an fd of ours: a path that reaches the very
/// object the fd holds (a symlink itself, for an O_PATH fd of one).
pub fn fd_link(fd: RawFd) -> CString {
    CString::new(format!("/proc/self/fd/{fd}")).unwrap_or_default()
}

/// Where an fd of ours is, as the kernel names it now ("/path",
/// "/path (deleted)", "pipe:[..]", ...).
pub fn location(fd: RawFd) -> Option<Vec<u8>> {
    let at = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    Some(at.into_os_string().into_vec())
}

/// openat2 with RESOLVE_NO_MAGICLINKS, close-on-exec.
pub fn openat2(dir: RawFd, path: &[u8], flags: i32) -> Result<OwnedFd, i32> {
    let path = CString::new(path).map_err(|_| libc::EINVAL)?;
    let flags = (flags | libc::O_CLOEXEC) as u64;
    sys::file::openat2(dir, &path, flags, 0, RESOLVE_NO_MAGICLINKS)
}

pub fn open_plain(path: &str, flags: i32) -> Result<OwnedFd, i32> {
    let path = CString::new(path).map_err(|_| libc::EINVAL)?;
    sys::open(&path, flags | libc::O_CLOEXEC)
}

/// The directory task `tid` resolves `path` from: `/` for an absolute
/// path (unless `scoped`: openat2's RESOLVE_IN_ROOT and RESOLVE_BENEATH
/// resolve even those from the dirfd), else its cwd (`dirfd` AT_FDCWD or
/// None) or a duplicate of its `dirfd`.
pub fn base(
    tid: libc::pid_t,
    dirfd: Option<i32>,
    path: &[u8],
    scoped: bool,
) -> Result<OwnedFd, i32> {
    if path.first() == Some(&b'/') && !scoped {
        return open_plain("/", libc::O_PATH | libc::O_DIRECTORY);
    }
    match dirfd {
        None | Some(libc::AT_FDCWD) => open_plain(
            &format!("/proc/{tid}/cwd"),
            libc::O_PATH | libc::O_DIRECTORY,
        ),
        Some(fd) => {
            let pidfd = process::pidfd(tid, process::PIDFD_THREAD)?;
            process::dup_from(pidfd.as_raw_fd(), fd)
        }
    }
}

/// `path`, spelled with the caller's pid (`deny::as_caller`), as a
/// magic link to one of task `tid`'s own fds, "/proc/<pid>/fd/<n>" or
/// "/proc/<pid>/task/<tid>/fd/<n>", and what follows it: (the task whose
/// table holds it, n, the rest). glibc itself goes through such links (its
/// fchmodat with AT_SYMLINK_NOFOLLOW, O_TMPFILE's linkat): they are
/// resolved here on a duplicate of that fd, never through /proc.
pub fn own_fd_link(tid: libc::pid_t, path: &[u8]) -> Option<(libc::pid_t, i32, &[u8])> {
    let number = |s: &[u8]| -> Option<i32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let rest = path.strip_prefix(b"/proc/")?;
    let mut parts = rest.splitn(2, |&b| b == b'/');
    let pid = number(parts.next()?)?;
    let mut rest = parts.next()?;
    let mut owner = tid;
    if let Some(after) = rest.strip_prefix(b"task/") {
        let mut parts = after.splitn(2, |&b| b == b'/');
        owner = number(parts.next()?)?;
        rest = parts.next()?;
    }
    let after = rest.strip_prefix(b"fd/")?;
    let end = after.iter().position(|&b| b == b'/').unwrap_or(after.len());
    let fd = number(&after[..end])?;
    let tail = after[end..].strip_prefix(b"/").unwrap_or(&after[end..]);
    let caller = crate::sys::procfs::process_of(tid).ok()?;
    if pid != caller || crate::sys::procfs::process_of(owner).ok()? != caller {
        return None;
    }
    Some((owner, fd, tail))
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
    let st = sys::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// The identities of directory `dir` and of each directory above it, up
/// to the root.
pub fn ancestry(dir: OwnedFd) -> Result<Vec<FileId>, i32> {
    let mut ids = Vec::new();
    walk_up(dir, |id| {
        ids.push(id);
        true
    })?;
    Ok(ids)
}

/// Shows `visit` the identity of directory `dir`, then of each directory
/// above it up to the root, while it answers true.
fn walk_up(dir: OwnedFd, mut visit: impl FnMut(FileId) -> bool) -> Result<(), i32> {
    let mut last = identity(dir.as_raw_fd())?;
    if !visit(last) {
        return Ok(());
    }
    let mut current = dir;
    // Deeper than any real tree: a loop guard.
    for _ in 0..4096 {
        let parent = openat2(current.as_raw_fd(), b"..", libc::O_PATH | libc::O_DIRECTORY)?;
        let id = identity(parent.as_raw_fd())?;
        if id == last || !visit(id) {
            return Ok(());
        }
        last = id;
        current = parent;
    }
    Err(libc::ELOOP)
}

/// Does `target`, or a directory above where it really is, satisfy
/// `found`? Stops at the first that does (cheaper than `identities` when
/// the answer is near). Err as `identities`.
pub fn reaches(target: &OwnedFd, found: impl Fn(&FileId) -> bool) -> Result<bool, i32> {
    let (own, dir) = object_and_directory(target)?;
    if found(&own) {
        return Ok(true);
    }
    let Some(dir) = dir else {
        return Ok(false);
    };
    let mut hit = false;
    walk_up(dir, |id| {
        hit = found(&id);
        !hit
    })
    .map_err(|_| libc::EACCES)?;
    Ok(hit)
}

/// The identity of `target` and the directory it is in (itself for a
/// directory), or None for an object in no directory (a pipe, a socket,
/// an unlinked file).
fn object_and_directory(target: &OwnedFd) -> Result<(FileId, Option<OwnedFd>), i32> {
    let st = sys::fstat(target.as_raw_fd()).map_err(|_| libc::EACCES)?;
    let own = (st.st_dev, st.st_ino);
    let dir = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        openat2(target.as_raw_fd(), b".", libc::O_PATH | libc::O_DIRECTORY)
    } else {
        let at = location(target.as_raw_fd()).ok_or(libc::EACCES)?;
        let at = at.as_slice();
        if at.first() != Some(&b'/') || at.ends_with(b" (deleted)") {
            return Ok((own, None));
        }
        let (dir, _) = split(at);
        openat2(libc::AT_FDCWD, dir, libc::O_PATH | libc::O_DIRECTORY)
    };
    Ok((own, Some(dir.map_err(|_| libc::EACCES)?)))
}

/// The identities an object stands for: its own, and those of every
/// directory above where it really is (the name the kernel gives it now,
/// which a symlink or a rename may have made differ from the path used).
/// Where that cannot be found out, EACCES: a check that could not be made
/// must not pass.
pub fn identities(target: &OwnedFd) -> Result<Vec<FileId>, i32> {
    let (own, dir) = object_and_directory(target)?;
    let mut ids = vec![own];
    if let Some(dir) = dir {
        ids.extend(ancestry(dir).map_err(|_| libc::EACCES)?);
    }
    Ok(ids)
}

/// The interpreter an exec of `target` makes the kernel open: a `#!`
/// line's, or an ELF's PT_INTERP. None for a plain static program.
pub fn interpreter(target: &OwnedFd) -> Result<Option<Vec<u8>>, i32> {
    let file = open_plain(
        &format!("/proc/self/fd/{}", target.as_raw_fd()),
        libc::O_RDONLY,
    )
    .map_err(|_| libc::EACCES)?;
    let mut head = vec![0u8; 256];
    let n = sys::file::pread(file.as_raw_fd(), &mut head, 0).map_err(|_| libc::EACCES)?;
    head.truncate(n);
    if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let path: Vec<u8> = line
            .iter()
            .copied()
            .skip_while(|b| *b == b' ' || *b == b'\t')
            .take_while(|b| *b != b' ' && *b != b'\t')
            .collect();
        return Ok((!path.is_empty()).then_some(path));
    }
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 {
        return Ok(None);
    }
    let word =
        |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let half =
        |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap_or_default());
    let (phoff, phentsize, phnum) = (
        word(&head, 32),
        half(&head, 54) as u64,
        half(&head, 56) as u64,
    );
    // The kernel execs only 64-bit program headers of exactly 56 bytes
    // (anything else fails the exec): so at most 256 x 56 bytes are read
    // here, whatever the file says.
    const PHDR_SIZE: u64 = 56;
    if phentsize != PHDR_SIZE || phnum > 256 {
        return Ok(None);
    }
    let mut headers = vec![0u8; (phentsize * phnum) as usize];
    if sys::file::pread(file.as_raw_fd(), &mut headers, phoff as i64) != Ok(headers.len()) {
        return Err(libc::EACCES);
    }
    for h in headers.chunks_exact(phentsize as usize) {
        const PT_INTERP: u32 = 3;
        if u32::from_le_bytes(h[0..4].try_into().unwrap_or_default()) == PT_INTERP {
            let (offset, size) = (word(h, 8), word(h, 32).min(4096));
            let mut path = vec![0u8; size as usize];
            if sys::file::pread(file.as_raw_fd(), &mut path, offset as i64) != Ok(path.len()) {
                return Err(libc::EACCES);
            }
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            path.truncate(end);
            return Ok(Some(path));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpreter_of(name: &str, contents: &[u8]) -> Result<Option<Vec<u8>>, i32> {
        let path = std::env::temp_dir().join(format!("sandlock-{name}-{}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        let fd = open_plain(path.to_str().unwrap(), libc::O_PATH).unwrap();
        let found = interpreter(&fd);
        std::fs::remove_file(&path).unwrap();
        found
    }

    #[test]
    fn a_script_names_its_interpreter() {
        assert_eq!(
            interpreter_of("script", b"#!  /bin/sh -e\necho\n"),
            Ok(Some(b"/bin/sh".to_vec()))
        );
    }

    /// A crafted header cannot make the host read (and allocate) more than
    /// the kernel itself would accept: 65535-byte entries are no ELF the
    /// kernel runs.
    #[test]
    fn oversized_program_headers_are_not_read() {
        let mut elf = vec![0u8; 64];
        elf[..5].copy_from_slice(b"\x7fELF\x02");
        elf[32..40].copy_from_slice(&64u64.to_le_bytes());
        elf[54..56].copy_from_slice(&u16::MAX.to_le_bytes());
        elf[56..58].copy_from_slice(&256u16.to_le_bytes());
        assert_eq!(interpreter_of("elf", &elf), Ok(None));
    }
}

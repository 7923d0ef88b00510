//! Pathname unix sockets. Landlock does not mediate connect() to an
//! existing socket, so a sandbox could reach any host service whose socket
//! it can name (a container engine's, the session bus). The supervisor
//! resolves the path itself, as the child would (from the child's cwd,
//! following symlinks but no /proc magic links), and allows only a socket
//! that lies beneath an `fs_write` tree. It then connects to the inode it
//! checked, through `/proc/self/fd/N`, so a later rename changes nothing.

use crate::sys;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn openat2(dir: RawFd, path: &[u8], flags: i32) -> Result<OwnedFd, i32> {
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

fn open_plain(path: &str, flags: i32) -> Result<OwnedFd, i32> {
    let path = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(sys::errno());
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { sys::own(fd) })
}

/// Where an fd points now, as the kernel names it.
fn canonical(fd: &OwnedFd) -> Option<Vec<u8>> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let bytes = link.as_os_str().as_bytes().to_vec();
    if bytes.first() != Some(&b'/') || bytes.ends_with(b" (deleted)") {
        return None;
    }
    Some(bytes)
}

/// The `/proc/self/fd/N` path of an fd of ours, as sockaddr bytes.
pub fn proc_path(fd: &OwnedFd, name: Option<&[u8]>) -> Vec<u8> {
    let mut path = format!("/proc/self/fd/{}", fd.as_raw_fd()).into_bytes();
    if let Some(name) = name {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    path
}

/// The trees beneath which a sandbox may use pathname sockets.
#[derive(Debug, Clone, Default)]
pub struct UnixGate {
    roots: Vec<Vec<u8>>,
}

impl UnixGate {
    pub fn new(fs_write: &[PathBuf]) -> Self {
        let roots = fs_write
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .collect();
        UnixGate { roots }
    }

    fn beneath(&self, path: &[u8]) -> bool {
        self.roots.iter().any(|root| {
            root.as_slice() == b"/"
                || path == root.as_slice()
                || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
        })
    }

    /// The directory `path` is resolved from in task `tid`.
    fn base(tid: libc::pid_t, path: &[u8]) -> Result<OwnedFd, i32> {
        if path.first() == Some(&b'/') {
            open_plain("/", libc::O_PATH | libc::O_DIRECTORY)
        } else {
            open_plain(
                &format!("/proc/{tid}/cwd"),
                libc::O_PATH | libc::O_DIRECTORY,
            )
        }
    }

    /// Opens the existing socket at `path` (O_PATH) if it lies beneath an
    /// `fs_write` tree: EACCES otherwise, the lookup's errno if it fails.
    pub fn open_socket(&self, tid: libc::pid_t, path: &[u8]) -> Result<OwnedFd, i32> {
        let base = Self::base(tid, path)?;
        let fd = openat2(base.as_raw_fd(), path, libc::O_PATH)?;
        // SAFETY: stat is plain data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and out pointer.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(libc::EACCES);
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            return Err(libc::ECONNREFUSED);
        }
        match canonical(&fd) {
            Some(at) if self.beneath(&at) => Ok(fd),
            _ => Err(libc::EACCES),
        }
    }

    /// For bind: opens the directory a new socket at `path` would be made
    /// in, if it lies beneath an `fs_write` tree, with the final name.
    pub fn open_parent(&self, tid: libc::pid_t, path: &[u8]) -> Result<(OwnedFd, Vec<u8>), i32> {
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => (&b"/"[..], &path[1..]),
            Some(cut) => (&path[..cut], &path[cut + 1..]),
            None => (&b"."[..], path),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return Err(libc::EINVAL);
        }
        let base = Self::base(tid, path)?;
        let fd = openat2(base.as_raw_fd(), dir, libc::O_PATH | libc::O_DIRECTORY)?;
        match canonical(&fd) {
            Some(at) if self.beneath(&at) => Ok((fd, name.to_vec())),
            _ => Err(libc::EACCES),
        }
    }
}

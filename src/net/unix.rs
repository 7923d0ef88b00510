//! Pathname unix sockets. Landlock does not mediate connect() to an
//! existing socket, so a sandbox could reach any host service whose socket
//! it can name (a container engine's, the session bus). The supervisor
//! resolves the path itself, as the child would (from the child's cwd,
//! following symlinks but no /proc magic links), and allows only a socket
//! that lies beneath an `fs_write` tree. It then connects to the inode it
//! checked, through `/proc/self/fd/N`, so a later rename changes nothing.

use crate::fs::paths::{self, openat2};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

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

    /// Opens the existing socket at `path` (O_PATH) if it lies beneath an
    /// `fs_write` tree: EACCES otherwise, the lookup's errno if it fails.
    pub fn open_socket(&self, tid: libc::pid_t, path: &[u8]) -> Result<OwnedFd, i32> {
        let base = paths::base(tid, None, path, false)?;
        let fd = openat2(base.as_raw_fd(), path, libc::O_PATH)?;
        let st = crate::sys::fstat(fd.as_raw_fd()).map_err(|_| libc::EACCES)?;
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
        let (dir, name) = paths::split(path);
        if name.is_empty() || name == b"." || name == b".." {
            return Err(libc::EINVAL);
        }
        let base = paths::base(tid, None, path, false)?;
        let fd = openat2(base.as_raw_fd(), dir, libc::O_PATH | libc::O_DIRECTORY)?;
        match canonical(&fd) {
            Some(at) if self.beneath(&at) => Ok((fd, name.to_vec())),
            _ => Err(libc::EACCES),
        }
    }
}

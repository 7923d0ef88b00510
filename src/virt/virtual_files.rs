//! Files whose contents the sandbox sees as the policy says (issue #7):
//! /etc/hostname and /proc/sys/kernel/hostname with `hostname`,
//! /proc/cpuinfo and /sys/devices/system/cpu/online with `num_cpus`,
//! /dev/urandom and /dev/random with `random_seed`. An open that reaches
//! one of these files is answered with a sealed memfd of ours (ADDFD); the
//! child cannot write it back.
//!
//! The match is on the object: the copied path is resolved here as the
//! caller would (its cwd or dirfd, symlinks, `.` and `//`) and compared by
//! identity with the real file (device and inode; for the random devices,
//! the device number, so another node of the same device matches too).
//! Only a racing thread that rewrites the path after the copy, so that the
//! kernel opens another file than the one resolved here, reaches the real
//! one: an escape from the virtualization, not from a confinement, as
//! these files hold nothing the sandbox may not read.

use crate::seccomp::notify::Notification;
use crate::sys::memory;
use std::os::fd::{AsRawFd, OwnedFd};

/// What a virtual file stands for: an inode, or any node of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Inode(u64, u64),
    Device(u64),
}

fn identity_of(st: &libc::stat) -> Identity {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFCHR => Identity::Device(st.st_rdev),
        _ => Identity::Inode(st.st_dev, st.st_ino),
    }
}

/// (path, contents, the real file's identity if it exists).
pub type Files = Vec<(&'static [u8], Vec<u8>, Option<Identity>)>;

fn identified(files: Vec<(&'static [u8], Vec<u8>)>) -> Files {
    files
        .into_iter()
        .map(|(path, contents)| {
            let id = std::ffi::CString::new(path)
                .ok()
                .and_then(|c| crate::sys::stat(&c).ok())
                .map(|st| identity_of(&st));
            (path, contents, id)
        })
        .collect()
}

/// The virtual files of a policy's options.
pub fn of(hostname: Option<&str>, num_cpus: Option<u32>, seed: Option<u64>) -> Files {
    let mut files: Vec<(&'static [u8], Vec<u8>)> = Vec::new();
    if let Some(seed) = seed {
        // A fixed length of seeded bytes: a read past it ends the file
        // (the real ones never end).
        let bytes =
            crate::virt::seeded_random::Stream::new(seed, crate::virt::seeded_random::DEV_RANDOM)
                .bytes(URANDOM_BYTES);
        files.push((b"/dev/urandom", bytes.clone()));
        files.push((b"/dev/random", bytes));
    }
    if let Some(name) = hostname {
        let text = format!("{name}\n").into_bytes();
        files.push((b"/etc/hostname", text.clone()));
        files.push((b"/proc/sys/kernel/hostname", text));
    }
    if let Some(n) = num_cpus {
        files.push((b"/proc/cpuinfo", cpuinfo(n)));
        let online = match n {
            1 => "0\n".to_string(),
            n => format!("0-{}\n", n - 1),
        };
        files.push((b"/sys/devices/system/cpu/online", online.into_bytes()));
    }
    identified(files)
}

/// How much of the seeded stream /dev/urandom and /dev/random hold.
pub const URANDOM_BYTES: usize = 1 << 20;

/// The host's /proc/cpuinfo cut to its first `n` processors.
fn cpuinfo(n: u32) -> Vec<u8> {
    let real = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let blocks: Vec<&str> = real
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let mut text = String::new();
    for block in blocks.iter().take(n as usize) {
        text.push_str(block.trim_end_matches('\n'));
        text.push_str("\n\n");
    }
    text.into_bytes()
}

/// One sealed memfd per virtual file, made at its first open; every open
/// gets a new open file (its own offset) of that same memfd, so what a
/// job's opens cost the host does not grow with their number (a 1 MiB
/// /dev/urandom opened a thousand times is still one 1 MiB file).
#[derive(Default)]
pub struct Memfds(Vec<Option<OwnedFd>>);

impl Memfds {
    fn reopen(&mut self, index: usize, contents: &[u8]) -> Result<OwnedFd, i32> {
        if self.0.len() <= index {
            self.0.resize_with(index + 1, || None);
        }
        if self.0[index].is_none() {
            self.0[index] = Some(memfd(contents)?);
        }
        let file = self.0[index].as_ref().ok_or(libc::EIO)?;
        let path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map_err(|_| libc::EIO)?;
        crate::sys::open(&path, libc::O_RDONLY | libc::O_CLOEXEC)
    }
}

/// The memfd for a trapped open of a virtual file, if it is one; EACCES
/// for one opened to write.
pub fn open(n: &Notification, files: &Files, memfds: &mut Memfds) -> Option<Result<OwnedFd, i32>> {
    let (dirfd, path_at, flags) = match n.nr {
        libc::SYS_open => (libc::AT_FDCWD, n.args[0], n.args[1]),
        libc::SYS_openat | libc::SYS_openat2 => (n.int(0), n.args[1], n.args[2]),
        _ => return None,
    };
    let tid = n.tid();
    let path = memory::read_c_string(tid, path_at, 4096).ok()?;
    let index = match files.iter().position(|(p, _, _)| *p == path.as_slice()) {
        Some(index) => index,
        None => {
            let found = reached(tid, dirfd, &path)?;
            files.iter().position(|(_, _, id)| *id == Some(found))?
        }
    };
    let contents = &files[index].1;
    // openat2's flags are in memory: refuse to guess, and refuse writes.
    if n.nr == libc::SYS_openat2 {
        let how: u64 = memory::read_value(n.tid(), flags).ok()?;
        if how as i32 & libc::O_ACCMODE != libc::O_RDONLY {
            return Some(Err(libc::EACCES));
        }
    } else if flags as i32 & libc::O_ACCMODE != libc::O_RDONLY {
        return Some(Err(libc::EACCES));
    }
    Some(memfds.reopen(index, contents))
}

/// The identity of what `path` reaches for task `tid`, resolved as it
/// would (following symlinks; a trailing one too, as the files here are
/// never opened for what a symlink itself is).
fn reached(tid: libc::pid_t, dirfd: i32, path: &[u8]) -> Option<Identity> {
    let pid = crate::sys::procfs::process_of(tid).ok()?;
    let path = crate::fs::deny::as_caller(path, pid, tid);
    let base = crate::fs::paths::base(tid, Some(dirfd), &path, false).ok()?;
    let target = crate::fs::paths::openat2(base.as_raw_fd(), &path, libc::O_PATH).ok()?;
    crate::sys::fstat(target.as_raw_fd())
        .ok()
        .map(|st| identity_of(&st))
}

fn memfd(contents: &[u8]) -> Result<OwnedFd, i32> {
    let file = crate::spawn::watchdog::sealed_memfd(c"sandlock-virtual", contents)?;
    crate::sys::rewind(file.as_raw_fd()).map_err(|_| libc::EIO)?;
    Ok(file)
}

/// O_CLOEXEC of a trapped open (openat2's is in memory: read once more,
/// harmless: it only decides the flag on the child's own fd).
pub fn cloexec(n: &Notification) -> bool {
    let flags = match n.nr {
        libc::SYS_open => n.args[1],
        libc::SYS_openat => n.args[2],
        _ => memory::read_value::<u64>(n.tid(), n.args[2]).unwrap_or(0),
    };
    flags as i32 & libc::O_CLOEXEC != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_say_what_the_policy_says() {
        let files = of(Some("box"), Some(1), None);
        let get = |p: &[u8]| {
            files
                .iter()
                .find(|(q, _, _)| *q == p)
                .map(|(_, c, _)| c.clone())
        };
        assert_eq!(get(b"/etc/hostname"), Some(b"box\n".to_vec()));
        assert_eq!(
            get(b"/sys/devices/system/cpu/online"),
            Some(b"0\n".to_vec())
        );
        let cpus = String::from_utf8(get(b"/proc/cpuinfo").unwrap()).unwrap();
        assert_eq!(cpus.matches("processor").count(), 1, "{cpus}");
        assert!(of(None, None, None).is_empty());
        let seeded = of(None, None, Some(3));
        assert_eq!(seeded.len(), 2);
        assert_eq!(seeded[0].1, of(None, None, Some(3))[0].1);
    }
}

//! A private /proc (`sandlock_policy_private_proc`): the sandbox sees its
//! own processes only. Every open and every call that names a file is
//! decided by the supervisor already (fs_deny's machinery); with this on,
//! one that reaches /proc/<pid> of a process outside the sandbox fails as
//! if the pid did not exist (ENOENT), directory listings are made by the
//! supervisor and leave those pids out of /proc, and /proc/meminfo says
//! the memory budget is the machine's.

use crate::sys::procfs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

/// What the sandbox may see of /proc now.
pub struct ProcView {
    /// Its processes.
    pub pids: Vec<libc::pid_t>,
    /// max_memory, and what its processes use: (budget, used) in bytes.
    pub memory: Option<(u64, u64)>,
}

/// The device /proc is on (procfs), as mounted where the supervisor runs.
fn proc_dev() -> Option<u64> {
    static DEV: OnceLock<Option<u64>> = OnceLock::new();
    *DEV.get_or_init(|| std::fs::metadata("/proc").ok().map(|m| m.dev()))
}

/// The procfs root's inode number.
const PROC_ROOT_INO: u64 = 1;

fn stat(fd: &OwnedFd) -> Option<libc::stat> {
    crate::sys::fstat(fd.as_raw_fd()).ok()
}

/// Where in /proc an fd of procfs is (its path below /proc), if it is.
fn proc_path(fd: &OwnedFd) -> Option<Vec<u8>> {
    if stat(fd)?.st_dev != proc_dev()? {
        return None;
    }
    let at = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let at = at.as_os_str().as_bytes();
    Some(at.strip_prefix(b"/proc")?.to_vec())
}

/// Is a numeric /proc entry `n` one of the sandbox's processes (or a
/// thread of one)?
fn visible(view: &ProcView, n: libc::pid_t) -> bool {
    view.pids.contains(&n) || procfs::process_of(n).is_ok_and(|pid| view.pids.contains(&pid))
}

/// The pid a /proc path below the root names, if it starts with one.
fn leading_pid(below: &[u8]) -> Option<libc::pid_t> {
    let name = below.strip_prefix(b"/")?;
    let end = name.iter().position(|&b| b == b'/').unwrap_or(name.len());
    std::str::from_utf8(&name[..end]).ok()?.parse().ok()
}

/// Does `fd` lie in /proc/<pid> of a process outside the sandbox?
pub fn foreign(fd: &OwnedFd, view: &ProcView) -> bool {
    match proc_path(fd).as_deref().and_then(leading_pid) {
        Some(pid) => !visible(view, pid),
        None => false,
    }
}

/// Does `fd` lie in /proc/<pid> of one of `pids` (or of a thread of one,
/// through /proc/<pid>/task)?
pub fn of_any(fd: &OwnedFd, pids: &[libc::pid_t]) -> bool {
    proc_path(fd)
        .as_deref()
        .and_then(leading_pid)
        .is_some_and(|pid| pids.contains(&pid))
}

/// Is `fd` /proc/meminfo?
pub fn is_meminfo(fd: &OwnedFd) -> bool {
    proc_path(fd).as_deref() == Some(b"/meminfo")
}

/// Is `fd` the /proc directory itself?
pub fn is_proc_root(fd: &OwnedFd) -> bool {
    stat(fd).is_some_and(|st| Some(st.st_dev) == proc_dev() && st.st_ino == PROC_ROOT_INO)
}

/// /proc/meminfo with the budget as the total: a sealed memfd of it.
pub fn meminfo(budget: u64, used: u64) -> Result<OwnedFd, i32> {
    let real = std::fs::read_to_string("/proc/meminfo").map_err(|_| libc::EIO)?;
    let kib = |bytes: u64| bytes / 1024;
    let free = budget.saturating_sub(used);
    let text: String = real
        .lines()
        .map(|line| {
            let key = line.split(':').next().unwrap_or("");
            match key {
                "MemTotal" => format!("MemTotal:       {:>8} kB\n", kib(budget)),
                "MemFree" => format!("MemFree:        {:>8} kB\n", kib(free)),
                "MemAvailable" => format!("MemAvailable:   {:>8} kB\n", kib(free)),
                _ => format!("{line}\n"),
            }
        })
        .collect();
    let file = crate::spawn::watchdog::sealed_memfd(c"meminfo", text.as_bytes())?;
    // Read from the start, like the real one.
    crate::sys::rewind(file.as_raw_fd()).map_err(|_| libc::EIO)?;
    Ok(file)
}

/// Keeps, of the linux_dirent64 records in `records`, those that are not
/// a pid outside the sandbox.
pub fn filter_listing(records: &[u8], view: &ProcView) -> Vec<u8> {
    let mut kept = Vec::with_capacity(records.len());
    let mut at = 0;
    while at + 19 <= records.len() {
        let reclen = u16::from_ne_bytes([records[at + 16], records[at + 17]]) as usize;
        if reclen < 19 || at + reclen > records.len() {
            break;
        }
        let record = &records[at..at + reclen];
        let name = &record[19..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let pid = std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse::<libc::pid_t>().ok());
        if pid.is_none_or(|pid| visible(view, pid)) {
            kept.extend_from_slice(record);
        }
        at += reclen;
    }
    kept
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_keeps_the_sandbox_and_the_rest() {
        let own = std::process::id() as libc::pid_t;
        let view = ProcView {
            pids: vec![own],
            memory: None,
        };
        let dir = std::fs::File::open("/proc").unwrap();
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: buf is a valid buffer of its length.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        assert!(n > 0);
        let kept = filter_listing(&buf[..n as usize], &view);
        let mut names = Vec::new();
        let mut at = 0;
        while at + 19 <= kept.len() {
            let reclen = u16::from_ne_bytes([kept[at + 16], kept[at + 17]]) as usize;
            let name = &kept[at + 19..at + reclen];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            names.push(String::from_utf8_lossy(&name[..end]).into_owned());
            at += reclen;
        }
        assert!(names.iter().any(|n| n == "meminfo" || n == "self"));
        assert!(
            !names.iter().any(|n| n == "1"),
            "pid 1 is not ours: {names:?}"
        );
        let root = OwnedFd::from(std::fs::File::open("/proc").unwrap());
        assert!(is_proc_root(&root));
        let mem = OwnedFd::from(std::fs::File::open("/proc/meminfo").unwrap());
        assert!(is_meminfo(&mem));
        let init = OwnedFd::from(std::fs::File::open("/proc/1/stat").unwrap());
        assert!(foreign(&init, &view));
        let mine = OwnedFd::from(std::fs::File::open(format!("/proc/{own}/stat")).unwrap());
        assert!(!foreign(&mine, &view));
    }
}

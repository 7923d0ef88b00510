//! Calls trapped only to be shown to an observer: exec and open. Their
//! arguments are read here, once the whole sandbox is stopped (`freeze`),
//! into the event the observer sees; the kernel then runs the call on the
//! same, unchanged memory.

use crate::events::{kind, Event};
use crate::procfs;
use crate::seccomp::notify::Notification;
use crate::sys::memory;

const PATH_MAX: usize = 4096;
/// The kernel's own limits on an exec's arguments.
const MAX_ARGS: usize = 0x7fff_ffff / 8;
const MAX_ARG_BYTES: usize = 32 * 4096;
/// Past this, an argv is refused rather than shown in part.
const MAX_ARGV_TOTAL: usize = 2 * 1024 * 1024;

/// Is `nr` a call this module reads, and of which event kind?
pub fn kind_of(nr: i64) -> Option<u32> {
    match nr {
        libc::SYS_execve | libc::SYS_execveat => Some(kind::EXEC),
        libc::SYS_open | libc::SYS_openat | libc::SYS_openat2 | libc::SYS_creat => {
            Some(kind::OPEN)
        }
        _ => None,
    }
}

/// The pointers of a NULL-terminated array at `addr`, read a page at a time.
fn read_pointers(tid: libc::pid_t, mut addr: u64) -> Result<Vec<u64>, i32> {
    let mut pointers = Vec::new();
    loop {
        let chunk = (4096 - addr % 4096) as usize;
        let bytes = memory::read(tid, addr, chunk - chunk % 8)?;
        for word in bytes.chunks_exact(8) {
            let p = u64::from_ne_bytes(word.try_into().unwrap_or_default());
            if p == 0 {
                return Ok(pointers);
            }
            pointers.push(p);
            if pointers.len() > MAX_ARGS {
                return Err(libc::E2BIG);
            }
        }
        addr += (chunk - chunk % 8) as u64;
        if chunk < 8 {
            // A pointer across a page boundary: read it whole.
            let p: u64 = memory::read_value(tid, addr)?;
            if p == 0 {
                return Ok(pointers);
            }
            pointers.push(p);
            addr += 8;
        }
    }
}

fn read_argv(tid: libc::pid_t, addr: u64) -> Result<Vec<Vec<u8>>, i32> {
    if addr == 0 {
        return Ok(Vec::new());
    }
    let mut total = 0;
    let mut argv = Vec::new();
    for p in read_pointers(tid, addr)? {
        let arg = memory::read_c_string(tid, p, MAX_ARG_BYTES).map_err(|e| match e {
            libc::ENAMETOOLONG => libc::E2BIG,
            e => e,
        })?;
        total += arg.len() + 1;
        if total > MAX_ARGV_TOTAL {
            return Err(libc::E2BIG);
        }
        argv.push(arg);
    }
    Ok(argv)
}

/// The event for a trapped exec or open, read from the (stopped) caller.
/// An argument that cannot be read fails the call with that errno.
pub fn read_event(n: &Notification) -> Result<Event, i32> {
    let tid = n.pid as libc::pid_t;
    let a = n.args;
    let (kind, path_at, argv_at, flags) = match n.nr {
        libc::SYS_execve => (kind::EXEC, a[0], a[1], 0),
        libc::SYS_execveat => (kind::EXEC, a[1], a[2], a[4] as i64),
        libc::SYS_open => (kind::OPEN, a[0], 0, a[1] as u32 as i64),
        libc::SYS_openat => (kind::OPEN, a[1], 0, a[2] as u32 as i64),
        libc::SYS_openat2 => {
            // struct open_how starts with the u64 flags.
            let flags: u64 = memory::read_value(tid, a[2])?;
            (kind::OPEN, a[1], 0, flags as i64)
        }
        libc::SYS_creat => (
            kind::OPEN,
            a[0],
            0,
            i64::from(libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC),
        ),
        _ => return Err(libc::ENOSYS),
    };
    let path = memory::read_c_string(tid, path_at, PATH_MAX)?;
    let argv = if kind == kind::EXEC {
        read_argv(tid, argv_at)?
    } else {
        Vec::new()
    };
    let pid = procfs::process_of(tid)?;
    Ok(Event {
        kind,
        nr: n.nr,
        pid,
        tid,
        ppid: procfs::parent_of(pid).unwrap_or(0),
        path: Some(path),
        argv,
        flags,
        ..Event::default()
    })
}

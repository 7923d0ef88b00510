//! Calls trapped to be shown to an observer: exec and open. Their
//! arguments are read here, once the whole sandbox is stopped (`freeze`),
//! into the event the observer sees; the kernel then runs the call on the
//! same, unchanged memory.

use crate::fs::deny::PATH_MAX;
use crate::seccomp::notify::Notification;
use crate::supervisor::events::{kind, Event};
use crate::sys::memory;
use crate::sys::procfs;

/// The kernel's own limit on one exec argument.
const MAX_ARG_BYTES: usize = 32 * 4096;
/// Past this, an argv is refused rather than shown in part.
const MAX_ARGV_TOTAL: usize = 2 * 1024 * 1024;

/// Is `nr` a call this module reads, and of which event kind?
pub fn kind_of(nr: i64) -> Option<u32> {
    match nr {
        libc::SYS_execve | libc::SYS_execveat => Some(kind::EXEC),
        libc::SYS_open | libc::SYS_openat | libc::SYS_openat2 | libc::SYS_creat => Some(kind::OPEN),
        _ => None,
    }
}

/// The pointers of a NULL-terminated array at `addr`, read a page at a
/// time, at most `max` of them (E2BIG past it).
fn read_pointers(tid: libc::pid_t, mut addr: u64, max: usize) -> Result<Vec<u64>, i32> {
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
            if pointers.len() > max {
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
            if pointers.len() > max {
                return Err(libc::E2BIG);
            }
            addr += 8;
        }
    }
}

/// The first arguments, up to `most` bytes in all with their NULs (the
/// log's bound): what a logged exec keeps, read without copying the rest.
/// Where the bound cuts, the last argument is `events::TRUNCATED`.
fn read_argv_prefix(tid: libc::pid_t, addr: u64, most: usize) -> Result<Vec<Vec<u8>>, i32> {
    let marker = crate::supervisor::events::TRUNCATED;
    let mut room = most.saturating_sub(marker.len() + 1);
    let mut argv = Vec::new();
    if addr == 0 {
        return Ok(argv);
    }
    let mut at = addr;
    loop {
        let p: u64 = memory::read_value(tid, at)?;
        if p == 0 {
            return Ok(argv);
        }
        let arg = match memory::read_c_string(tid, p, room.saturating_sub(1)) {
            Ok(arg) if arg.len() < room => arg,
            Ok(_) | Err(libc::ENAMETOOLONG) => break,
            Err(e) => return Err(e),
        };
        room -= arg.len() + 1;
        argv.push(arg);
        at += 8;
    }
    argv.push(marker.to_vec());
    Ok(argv)
}

fn read_argv(tid: libc::pid_t, addr: u64) -> Result<Vec<Vec<u8>>, i32> {
    if addr == 0 {
        return Ok(Vec::new());
    }
    // Each argument costs its pointer too, as on the kernel's stack: the
    // total bounds both what is read and what is kept.
    let pointers = read_pointers(tid, addr, MAX_ARGV_TOTAL / 8)?;
    let mut total = pointers.len() * 8;
    let mut argv = Vec::new();
    for p in pointers {
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
/// An argument that cannot be read fails the call with that errno. With
/// `whole_argv` (an observer is shown execs), an exec's arguments are read
/// whole (up to MAX_ARGV_TOTAL); without, only what the log keeps
/// (`events::LOG_ARGV_BYTES`), so a job's huge argv costs the host no copy.
pub fn read_event(n: &Notification, whole_argv: bool) -> Result<Event, i32> {
    let tid = n.tid();
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
    let argv = if kind == kind::EXEC && whole_argv {
        read_argv(tid, argv_at)?
    } else if kind == kind::EXEC {
        read_argv_prefix(tid, argv_at, crate::supervisor::events::LOG_ARGV_BYTES)?
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

//! What /proc says about a process: the few fields the supervisor reads.
//! Each read is a snapshot; callers pin the process with a pidfd and check
//! the notification is still live before they trust one.

/// A read of /proc: the value, or the errno of the failure.
pub type Read<T> = Result<T, i32>;

/// The errors that only say the process or thread is gone. Anything else
/// (out of fds, out of memory) says nothing about it, and callers fail
/// closed on it.
pub fn gone(errno: i32) -> bool {
    errno == libc::ENOENT || errno == libc::ESRCH
}

fn read(path: String) -> Read<String> {
    String::from_utf8(read_bytes(path)?).map_err(|_| libc::EIO)
}

/// A whole /proc file: open, reads into a page-sized buffer, close. (The
/// standard library's read asks for the size first, which /proc files do
/// not have, then reads in growing pieces: three times the syscalls, on
/// the path of every freeze and every exec rewrite.)
pub fn read_bytes(path: String) -> Read<Vec<u8>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    let mut bytes = Vec::with_capacity(4096);
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.capacity());
        }
        let spare = bytes.capacity() - bytes.len();
        let start = bytes.len();
        bytes.resize(start + spare, 0);
        match file.read(&mut bytes[start..]) {
            Ok(0) => {
                bytes.truncate(start);
                return Ok(bytes);
            }
            Ok(n) => bytes.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => bytes.truncate(start),
            Err(e) => return Err(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}

/// What follows the command name of a `stat` file (the name is in
/// parentheses and may itself hold some: cut at the last one). Field 0 is
/// the state, 1 the parent, 2 the process group, 13 and 14 the reaped
/// children's user and system time.
fn stat_fields(stat: &str) -> Read<std::str::SplitAsciiWhitespace<'_>> {
    let at = stat.rfind(')').ok_or(libc::EIO)?;
    Ok(stat[at + 1..].split_ascii_whitespace())
}

fn stat_number<T: std::str::FromStr>(stat: &str, index: usize) -> Read<T> {
    stat_fields(stat)?
        .nth(index)
        .and_then(|v| v.parse().ok())
        .ok_or(libc::EIO)
}

/// `struct pidfd_info` (Linux 6.13), the part every version has.
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    creds: [u32; 8],
    spare: u32,
}

/// `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)`.
const PIDFD_GET_INFO: libc::c_ulong = 0xC040_FF0B;

/// (thread group, parent) of task `id` from its pidfd, without /proc:
/// three syscalls against a /proc file the kernel formats whole (~10x
/// slower, and on the path of every logged denial). None when the kernel
/// lacks PIDFD_THREAD (6.9) or PIDFD_GET_INFO (6.13), or any other error
/// than the task being gone: the caller reads /proc then.
fn pidfd_ids(id: libc::pid_t) -> Option<Read<(libc::pid_t, libc::pid_t)>> {
    let fd = match crate::sys::process::pidfd_open(id, crate::sys::process::PIDFD_THREAD) {
        Ok(fd) => fd,
        Err(libc::ESRCH) => return Some(Err(libc::ESRCH)),
        Err(_) => return None,
    };
    // SAFETY: a new fd we own.
    let fd = unsafe { crate::sys::own(fd) };
    let mut info = PidfdInfo::default();
    // SAFETY: info has the kernel's layout and size (64 bytes).
    let ret = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            PIDFD_GET_INFO,
            &mut info,
        )
    };
    match ret {
        0 => Some(Ok((info.tgid as libc::pid_t, info.ppid as libc::pid_t))),
        _ if crate::sys::errno() == libc::ESRCH => Some(Err(libc::ESRCH)),
        _ => None,
    }
}

/// The process (thread group) of thread `tid`.
pub fn process_of(tid: libc::pid_t) -> Read<libc::pid_t> {
    if let Some(ids) = pidfd_ids(tid) {
        return ids.map(|(tgid, _)| tgid);
    }
    read(format!("/proc/{tid}/status"))?
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(libc::EIO)
}

/// Has thread `tid` exited (a zombie, or gone)? A process's first thread
/// stays listed as a zombie while its siblings run on.
pub fn thread_ended(tid: libc::pid_t) -> Read<bool> {
    match read(format!("/proc/{tid}/task/{tid}/stat")) {
        Ok(stat) => Ok(matches!(stat_fields(&stat)?.next(), Some("Z") | Some("X"))),
        Err(e) if gone(e) => Ok(true),
        Err(e) => Err(e),
    }
}

/// The umask of process `pid`.
pub fn umask_of(pid: libc::pid_t) -> Read<u32> {
    let status = read(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .ok_or(libc::EIO)
}

/// Is the fd table of process `pid` full (as many fds open as its
/// RLIMIT_NOFILE allows)? Then the kernel fails an open with EMFILE before
/// it does anything.
pub fn fd_table_full(pid: libc::pid_t) -> Read<bool> {
    let mut limit = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reading a limit into a valid struct.
    if unsafe { libc::prlimit64(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut limit) } != 0 {
        return Err(crate::sys::errno());
    }
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?
        .count() as u64;
    Ok(open >= limit.rlim_cur)
}

/// The state letter of thread `tid` of process `pid` (R, S, D, T, t, Z...).
pub fn task_state(pid: libc::pid_t, tid: libc::pid_t) -> Read<char> {
    let stat = read(format!("/proc/{pid}/task/{tid}/stat"))?;
    let state = stat_fields(&stat)?.next().ok_or(libc::EIO)?;
    state.chars().next().ok_or(libc::EIO)
}

/// The state letter of thread `tid` of process `pid` and how many times
/// it has been switched off a CPU (voluntary and not): a task that stays
/// stopped keeps both; one that ran at all changes one of them.
pub fn task_activity(pid: libc::pid_t, tid: libc::pid_t) -> Read<(char, u64)> {
    let status = read(format!("/proc/{pid}/task/{tid}/status"))?;
    let mut state = None;
    let mut switches = None::<u64>;
    for line in status.lines() {
        if let Some(v) = line.strip_prefix("State:") {
            state = v.trim_start().chars().next();
        } else if let Some(v) = line
            .strip_prefix("voluntary_ctxt_switches:")
            .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        {
            let n: u64 = v.trim().parse().map_err(|_| libc::EIO)?;
            switches = Some(switches.unwrap_or(0) + n);
        }
    }
    state.zip(switches).ok_or(libc::EIO)
}

/// Is process `pid` a zombie that SIGKILL ended? (Its wait status is the
/// 52nd field of its stat file.)
pub fn killed_zombie(pid: libc::pid_t) -> Read<bool> {
    let stat = read(format!("/proc/{pid}/stat"))?;
    let state = stat_fields(&stat)?.next().ok_or(libc::EIO)?;
    let status: i32 = stat_number(&stat, 49)?;
    Ok(state == "Z" && libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL)
}

/// The syscall thread `tid` is blocked in (EBUSY while it runs).
pub fn current_syscall(pid: libc::pid_t, tid: libc::pid_t) -> Read<i64> {
    let text = read(format!("/proc/{pid}/task/{tid}/syscall"))?;
    text.split_ascii_whitespace()
        .next()
        .and_then(|nr| nr.parse().ok())
        .ok_or(libc::EBUSY)
}

/// Where the stack of process `pid`'s program started (its argc), as the
/// kernel recorded at exec; 0 when /proc does not say.
pub fn stack_start(pid: libc::pid_t) -> Read<u64> {
    stat_number(&read(format!("/proc/{pid}/stat"))?, 25)
}

/// The user stack and instruction pointers of stopped process `pid` (the
/// last two fields of its `syscall` file, in or out of a syscall; EBUSY
/// while it runs).
pub fn stack_and_instruction_pointers(pid: libc::pid_t) -> Read<(u64, u64)> {
    let text = read(format!("/proc/{pid}/syscall"))?;
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    match fields.as_slice() {
        [_, .., sp, ip] if fields.len() >= 3 => hex(sp).zip(hex(ip)).ok_or(libc::EIO),
        _ => Err(libc::EBUSY),
    }
}

/// `cutime + cstime`: the CPU time of the children `pid` reaped, in clock
/// ticks.
pub fn children_cpu_ticks(pid: libc::pid_t) -> Read<u64> {
    let stat = read(format!("/proc/{pid}/stat"))?;
    Ok(stat_number::<u64>(&stat, 13)? + stat_number::<u64>(&stat, 14)?)
}

pub fn parent_of(pid: libc::pid_t) -> Read<libc::pid_t> {
    if let Some(ids) = pidfd_ids(pid) {
        return ids.map(|(_, ppid)| ppid);
    }
    stat_number(&read(format!("/proc/{pid}/stat"))?, 1)
}

/// The process group of the process named `pid` (a /proc entry's name).
pub fn group_of(pid: &str) -> Read<libc::pid_t> {
    stat_number(&read(format!("/proc/{pid}/stat"))?, 2)
}

/// The children of thread `tid` (a child belongs to the thread that forked
/// it, or to a sibling thread once that one exits).
pub fn children_of_thread(tid: libc::pid_t) -> Read<Vec<libc::pid_t>> {
    Ok(read(format!("/proc/{tid}/task/{tid}/children"))?
        .split_ascii_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

pub fn threads_of(pid: libc::pid_t) -> Read<Vec<libc::pid_t>> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    let mut tids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        if let Some(tid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            tids.push(tid);
        }
    }
    Ok(tids)
}

/// Resident anonymous and shared-memory bytes of `pid`. File-backed pages
/// are left out: the kernel can drop them, and most are shared libraries
/// every process maps.
pub fn resident_private_bytes(pid: libc::pid_t) -> Read<u64> {
    let status = read(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok((kib("RssAnon:") + kib("RssShmem:")) * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        // SAFETY: plain calls.
        let (pid, ppid, pgrp) = unsafe { (libc::getpid(), libc::getppid(), libc::getpgrp()) };
        assert_eq!(process_of(pid), Ok(pid));
        assert_eq!(parent_of(pid), Ok(ppid));
        assert_eq!(group_of(&pid.to_string()), Ok(pgrp));
        assert!(threads_of(pid).unwrap().contains(&pid));
        assert!(resident_private_bytes(pid).unwrap() > 0);
        assert!(children_of_thread(pid).is_ok());
        assert!(children_cpu_ticks(pid).is_ok());
        assert_eq!(thread_ended(pid), Ok(false));
        assert!(umask_of(pid).is_ok());
        assert_eq!(fd_table_full(pid), Ok(false));
        assert!(task_state(pid, pid).is_ok());
        assert!(matches!(task_activity(pid, pid), Ok((_, n)) if n > 0));
        // Read by this thread itself: it is in the read() of that file.
        // SAFETY: plain call.
        let tid = unsafe { libc::gettid() };
        assert_eq!(current_syscall(pid, tid), Ok(libc::SYS_read));
    }

    #[test]
    fn a_missing_process_is_gone_not_an_error() {
        assert!(process_of(-5).is_err_and(gone));
        assert!(children_of_thread(-5).is_err_and(gone));
        assert_eq!(thread_ended(-5), Ok(true));
        assert!(!gone(libc::EMFILE));
    }

    /// The pidfd answer (where the kernel has it) agrees with /proc's.
    #[test]
    fn ids_agree_with_proc() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: plain call.
            tx.send(unsafe { libc::gettid() }).unwrap();
            done_rx.recv().unwrap();
        });
        let tid = rx.recv().unwrap();
        // SAFETY: plain calls.
        let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
        assert_eq!(process_of(tid), Ok(pid));
        assert_eq!(parent_of(pid), Ok(ppid));
        if let Some(ids) = pidfd_ids(tid) {
            assert_eq!(ids, Ok((pid, ppid)));
        }
        done_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(process_of(tid), Err(libc::ESRCH));
    }
}

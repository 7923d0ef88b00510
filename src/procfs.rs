//! What /proc says about a process: the few fields the supervisor reads.
//! Each read is a snapshot; callers pin the process with a pidfd and check
//! the notification is still live before they trust one.

/// The process (thread group) of thread `tid`.
pub fn process_of(tid: libc::pid_t) -> Option<libc::pid_t> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Field `index` after the command name of /proc/<pid>/stat (the name is
/// in parentheses and may itself hold some: cut at the last one).
/// Index 0 is the state, 1 the parent, 2 the process group.
fn stat_field(pid: &str, index: usize) -> Option<libc::pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_ascii_whitespace().nth(index)?.parse().ok()
}

/// Has thread `tid` exited (a zombie, or gone)? A process's first thread
/// stays listed as a zombie while its siblings run on.
pub fn thread_ended(tid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/stat")) else {
        return true;
    };
    let state = stat
        .rfind(')')
        .and_then(|at| stat[at + 1..].split_ascii_whitespace().next());
    matches!(state, None | Some("Z") | Some("X"))
}

/// `cutime + cstime` of /proc/<pid>/stat: the CPU time of the children
/// `pid` reaped, in clock ticks.
pub fn children_cpu_ticks(pid: libc::pid_t) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..]
        .split_ascii_whitespace()
        .skip(13);
    let cutime: u64 = fields.next()?.parse().ok()?;
    let cstime: u64 = fields.next()?.parse().ok()?;
    Some(cutime + cstime)
}

pub fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    stat_field(&pid.to_string(), 1)
}

/// The process group of the process named `pid` (a /proc entry's name).
pub fn group_of(pid: &str) -> Option<libc::pid_t> {
    stat_field(pid, 2)
}

/// The children of thread `tid` (a child belongs to the thread that forked
/// it, or to a sibling thread once that one exits).
pub fn children_of_thread(tid: libc::pid_t) -> Option<Vec<libc::pid_t>> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/children")).ok()?;
    Some(
        text.split_ascii_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
    )
}

pub fn threads_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Resident anonymous and shared-memory bytes of `pid`. File-backed pages
/// are left out: the kernel can drop them, and most are shared libraries
/// every process maps.
pub fn resident_private_bytes(pid: libc::pid_t) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (kib("RssAnon:") + kib("RssShmem:")) * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        // SAFETY: plain calls.
        let (pid, ppid, pgrp) = unsafe { (libc::getpid(), libc::getppid(), libc::getpgrp()) };
        assert_eq!(process_of(pid), Some(pid));
        assert_eq!(parent_of(pid), Some(ppid));
        assert_eq!(group_of(&pid.to_string()), Some(pgrp));
        assert!(threads_of(pid).contains(&pid));
        assert!(resident_private_bytes(pid) > 0);
        assert!(children_of_thread(pid).is_some());
        assert_eq!(process_of(-5), None);
        assert!(!thread_ended(pid));
        assert!(children_cpu_ticks(pid).is_some());
        assert!(thread_ended(-5));
    }
}

//! The calling thread's file-system credentials, lowered for a while to a
//! sandboxed job's: what the supervisor does on a job's behalf must be
//! judged by the kernel with the job's rights, not the host's.
//!
//! A job keeps the uid, gid and groups of the thread that spawned it and
//! has no capabilities at all (spawn/mod.rs drops every set and locks the
//! securebits), so those are fixed for its life. The kernel judges file
//! operations by the fsuid, the fsgid, the groups and the effective
//! capabilities of the calling thread; each of these is set here with the
//! raw per-thread system call (glibc's setgroups would change every thread
//! of the host) and put back before `as_job` returns.

use super::{check, SysResult};

/// Who a job is, as far as file permissions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCredentials {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

impl JobCredentials {
    /// The calling thread's: what a job it spawns starts with.
    pub fn of_this_thread() -> SysResult<JobCredentials> {
        Ok(JobCredentials {
            uid: fsuid(),
            gid: fsgid(),
            groups: groups()?,
        })
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn capget() -> SysResult<[CapData; 2]> {
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are valid for the v3 layout (two data words).
    check(unsafe { libc::syscall(libc::SYS_capget, &header, data.as_mut_ptr()) })?;
    Ok(data)
}

fn capset(data: &[CapData; 2]) -> SysResult<()> {
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: header and data are valid for the v3 layout (two data words).
    check(unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) }).map(drop)
}

/// setfsuid returns the previous value and never fails visibly: asking
/// with an invalid id (-1) reads it.
fn set_fsuid(uid: libc::uid_t) -> libc::uid_t {
    // SAFETY: integer argument only.
    unsafe { libc::syscall(libc::SYS_setfsuid, uid) as libc::uid_t }
}

fn set_fsgid(gid: libc::gid_t) -> libc::gid_t {
    // SAFETY: integer argument only.
    unsafe { libc::syscall(libc::SYS_setfsgid, gid) as libc::gid_t }
}

fn fsuid() -> libc::uid_t {
    set_fsuid(u32::MAX)
}

fn fsgid() -> libc::gid_t {
    set_fsgid(u32::MAX)
}

fn groups() -> SysResult<Vec<libc::gid_t>> {
    // Most threads have a few groups: one call into a small buffer, the
    // count first only when it is too small.
    let mut list = vec![0; 32];
    loop {
        // SAFETY: list has room for list.len() entries.
        let got = unsafe { libc::syscall(libc::SYS_getgroups, list.len(), list.as_mut_ptr()) };
        match check(got) {
            Ok(got) => {
                list.truncate(got as usize);
                return Ok(list);
            }
            Err(libc::EINVAL) => {
                // SAFETY: a size of 0 asks for the count only.
                let count = check(unsafe {
                    libc::syscall(libc::SYS_getgroups, 0, std::ptr::null_mut::<u32>())
                })?;
                list = vec![0; count as usize + 1];
            }
            Err(e) => return Err(e),
        }
    }
}

fn set_groups(list: &[libc::gid_t]) -> SysResult<()> {
    // SAFETY: list holds list.len() entries. The raw call changes this
    // thread only.
    check(unsafe { libc::syscall(libc::SYS_setgroups, list.len(), list.as_ptr()) }).map(drop)
}

/// What `as_job` changed, put back when dropped.
struct Restore {
    caps: [CapData; 2],
    /// The thread's own ids and groups, where they had to change.
    fsuid: Option<libc::uid_t>,
    fsgid: Option<libc::gid_t>,
    groups: Option<Vec<libc::gid_t>>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // Capabilities first: restoring groups and ids may need them. Then
        // once more, as a change of fsuid to or from 0 edits the effective
        // set.
        let _ = capset(&self.caps);
        let changed = self.fsuid.is_some() || self.fsgid.is_some() || self.groups.is_some();
        if let Some(groups) = &self.groups {
            let _ = set_groups(groups);
        }
        if let Some(gid) = self.fsgid {
            set_fsgid(gid);
        }
        if let Some(uid) = self.fsuid {
            set_fsuid(uid);
        }
        if changed {
            let _ = capset(&self.caps);
        }
    }
}

/// Runs `action` with the calling thread's file-system identity and
/// capabilities those of `job`. EPERM (and `action` not run) when the
/// thread cannot take them on.
pub fn as_job<R>(job: &JobCredentials, action: impl FnOnce() -> R) -> SysResult<R> {
    let caps = capget()?;
    let mut restore = Restore {
        caps,
        fsuid: None,
        fsgid: None,
        groups: None,
    };
    // Usually the thread's own already: then nothing changes but the
    // capabilities.
    let current_groups = groups()?;
    if current_groups != job.groups {
        set_groups(&job.groups).map_err(|_| libc::EPERM)?;
        restore.groups = Some(current_groups);
    }
    let own_gid = fsgid();
    if own_gid != job.gid {
        restore.fsgid = Some(own_gid);
        set_fsgid(job.gid);
    }
    let own_uid = fsuid();
    if own_uid != job.uid {
        restore.fsuid = Some(own_uid);
        set_fsuid(job.uid);
    }
    if (restore.fsuid.is_some() || restore.fsgid.is_some())
        && (fsuid() != job.uid || fsgid() != job.gid)
    {
        return Err(libc::EPERM);
    }
    let mut lowered = caps;
    for word in &mut lowered {
        word.effective = 0;
    }
    capset(&lowered)?;
    let result = action();
    drop(restore);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_job_drops_capabilities_for_the_action_only() {
        let job = JobCredentials::of_this_thread().unwrap();
        let before = capget().unwrap();
        let during = as_job(&job, || capget().unwrap()).unwrap();
        assert_eq!(during[0].effective, 0);
        assert_eq!(during[1].effective, 0);
        let after = capget().unwrap();
        assert_eq!(after[0].effective, before[0].effective);
        assert_eq!(after[0].permitted, before[0].permitted);
        assert_eq!(JobCredentials::of_this_thread().unwrap(), job);
    }

    #[test]
    fn as_job_takes_another_uid_when_the_host_may() {
        if fsuid() != 0 || capget().unwrap()[0].effective & (1 << 7) == 0 {
            return;
        }
        let job = JobCredentials {
            uid: 65534,
            gid: 65534,
            groups: vec![],
        };
        let seen = as_job(&job, || (fsuid(), fsgid(), groups().unwrap())).unwrap();
        assert_eq!(seen, (65534, 65534, vec![]));
        assert_eq!(fsuid(), 0);
    }
}

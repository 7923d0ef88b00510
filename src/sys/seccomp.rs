//! The seccomp(2) call and the user-notification ioctls of
//! `<linux/seccomp.h>`, including those newer than the libc crate.

use super::{check, SysResult};
use std::os::fd::RawFd;

pub const SECCOMP_SET_MODE_FILTER: u32 = 1;
pub const SECCOMP_GET_NOTIF_SIZES: u32 = 3;
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;
pub const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

pub const SECCOMP_IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
pub const SECCOMP_IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
pub const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;
/// The opener makes this ioctl (src/fs/opener.s holds the number; a test of
/// fs/opener.rs checks it).
#[allow(dead_code)]
pub const SECCOMP_IOCTL_NOTIF_ADDFD: libc::c_ulong = 0x4018_2103;
/// ADDFD also answers the notification with the new fd's number, in one
/// step (Linux 5.14): the call cannot return before the fd is there.
pub const SECCOMP_ADDFD_FLAG_SEND: u32 = 1 << 1;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
#[allow(dead_code)]
pub struct seccomp_notif_addfd {
    pub id: u64,
    pub flags: u32,
    pub srcfd: u32,
    pub newfd: u32,
    pub newfd_flags: u32,
}

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
#[cfg(test)]
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct seccomp_data {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct seccomp_notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: seccomp_data,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct seccomp_notif_resp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct seccomp_notif_sizes {
    pub seccomp_notif: u16,
    pub seccomp_notif_resp: u16,
    pub seccomp_data: u16,
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`: with NEW_LISTENER the
/// listener fd (close-on-exec).
///
/// # Safety
/// `prog` must point to a valid `sock_fprog`.
pub unsafe fn set_mode_filter(flags: u32, prog: *const libc::sock_fprog) -> SysResult<RawFd> {
    // SAFETY: prog is valid by our contract.
    unsafe {
        check(libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            prog,
        ))
        .map(|fd| fd as RawFd)
    }
}

/// `seccomp(SECCOMP_GET_NOTIF_SIZES)`.
pub fn notif_sizes() -> SysResult<seccomp_notif_sizes> {
    let mut sizes = seccomp_notif_sizes::default();
    // SAFETY: sizes is a valid out pointer of the kernel's layout.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut seccomp_notif_sizes,
        )
    })?;
    Ok(sizes)
}

/// Retries a listener ioctl a signal interrupted. The kernel takes the
/// listener's lock interruptibly (EINTR even for SA_RESTART handlers, as a
/// Go host installs for every signal), before the ioctl has done anything;
/// an interrupted ADDFD wait is withdrawn unless it already happened, in
/// which case its result is returned, not EINTR. So no fd is ever added
/// twice; but a withdrawn ADDFD with SEND has already marked the call
/// answered (the target returns 0, no fd), and the retry gets EINPROGRESS:
/// an error, on which the caller kills the sandbox.
fn retrying(mut call: impl FnMut() -> libc::c_long) -> SysResult<libc::c_long> {
    loop {
        match check(call()) {
            Err(libc::EINTR) => continue,
            other => return other,
        }
    }
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV)` into a zeroed buffer.
pub fn notif_recv(listener: RawFd) -> SysResult<seccomp_notif> {
    let mut notif = seccomp_notif::default();
    // SAFETY: notif is a zeroed buffer of the kernel's layout (RECV wants
    // it zeroed again on every try).
    retrying(|| unsafe {
        notif = seccomp_notif::default();
        libc::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &mut notif) as libc::c_long
    })?;
    Ok(notif)
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp)`.
pub fn notif_send(listener: RawFd, resp: &seccomp_notif_resp) -> SysResult<()> {
    // SAFETY: resp is a valid response of the kernel's layout.
    retrying(|| unsafe { libc::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) as libc::c_long })
        .map(drop)
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id)`: is the target still
/// blocked in the notified call?
pub fn notif_id_valid(listener: RawFd, id: u64) -> bool {
    // SAFETY: id is a valid u64 pointer.
    retrying(|| unsafe { libc::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) as libc::c_long })
        .is_ok()
}

/// `ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags)`; the flags go
/// by value, not through a pointer.
pub fn notif_set_flags(listener: RawFd, flags: u64) -> SysResult<()> {
    // SAFETY: the argument is an integer.
    check(unsafe { libc::ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) } as libc::c_long)
        .map(drop)
}

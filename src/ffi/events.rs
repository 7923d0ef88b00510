//! Events in C: the callback a policy registers, the event it is shown,
//! the log a host drains, and the live policy calls a callback may make.

use super::policy::sandlock_policy;
use super::sandbox::sandlock_sandbox;
use super::{c_text, guarded};
use crate::error::{Error, Result};
use crate::supervisor::events::{Destination, Event, Observer, Verdict};
use std::ffi::{c_char, c_int, c_void, CString};
use std::net::SocketAddr;

/// exec of a program (execve, execveat): `path`, `argv`.
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_EXEC: u32 = 1 << 0;
/// connect, or sendto/sendmsg/sendmmsg with a destination: `family`,
/// `address`, `port`, `protocol`.
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_CONNECT: u32 = 1 << 1;
/// bind: `family`, `address`, `port`, `protocol`.
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_BIND: u32 = 1 << 2;
/// open, openat, openat2, creat: `path` (as given), `flags`.
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_OPEN: u32 = 1 << 3;
/// fork, vfork or clone of a process: `flags` (clone's).
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_FORK: u32 = 1 << 4;
/// A process of the sandbox exited (the verdict only counts if KILL).
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_EXIT: u32 = 1 << 5;
/// A limit was hit: `detail` names it (the verdict only counts if KILL).
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_LIMIT: u32 = 1 << 6;
/// The supervisor or a verdict denied a call (shown after the fact).
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_DENIAL: u32 = 1 << 7;
#[allow(dead_code)] // for C, through the header
pub const SANDLOCK_EVENT_ALL: u32 = 0xff;

/// Verdicts a callback returns. A negative value -e (1 <= e <= 4095)
/// denies with errno e. Anything else denies with EPERM.
pub const SANDLOCK_VERDICT_ALLOW: c_int = 0;
/// Deny with EPERM.
pub const SANDLOCK_VERDICT_DENY: c_int = 1;
/// Allow, and keep the event in the log (sandlock_sandbox_next_event).
pub const SANDLOCK_VERDICT_AUDIT: c_int = 2;
/// Kill the whole sandbox (exit reason SANDLOCK_EXIT_KILLED).
pub const SANDLOCK_VERDICT_KILL: c_int = 3;

/// One event. Strings and arrays belong to the library: valid during the
/// callback, or until the next sandlock_sandbox_next_event() on the same
/// sandbox. Fields that do not apply are 0, NULL or "".
#[repr(C)]
pub struct sandlock_event {
    /// sizeof(sandlock_event) as the library knows it.
    pub size: u32,
    /// One SANDLOCK_EVENT_* bit.
    pub kind: u32,
    /// The syscall, or -1 when the event is none (exit, memory limit).
    pub syscall_nr: i64,
    /// Its name ("execve"), "" when none.
    pub syscall: *const c_char,
    /// The process, its calling thread, and the process's parent.
    pub pid: libc::pid_t,
    pub tid: libc::pid_t,
    pub ppid: libc::pid_t,
    /// The errno the built-in policy answers with (0: it allows). A
    /// verdict cannot lift a built-in denial, only add one.
    pub denied: c_int,
    /// In the log: the verdict applied (SANDLOCK_VERDICT_* or -errno).
    pub verdict: c_int,
    /// AF_INET, AF_INET6 or AF_UNIX for network events, else 0.
    pub family: c_int,
    /// IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP for inet events.
    pub protocol: c_int,
    pub port: u16,
    /// The destination address as text ("127.0.0.1", "::1") or the unix
    /// socket path.
    pub address: *const c_char,
    /// exec and open: the path as the call gave it (maybe relative).
    pub path: *const c_char,
    /// exec: the arguments, NULL-terminated; NULL for other events.
    pub argv: *const *const c_char,
    /// open: the open flags; fork: the clone flags.
    pub flags: i64,
    /// limit: "max_processes", "max_memory" or "max_cpu"; denial: why, when known.
    pub detail: *const c_char,
    /// In the log: events dropped just before this one (the log keeps
    /// the last 4096, and at most 1 MiB: an exec's argv is kept up to
    /// 4 KiB, its last argument then "...[sandlock: truncated] N args,
    /// M bytes"; a path cut ends in "...[sandlock: truncated]").
    pub dropped: u64,
}

/// The C strings an event points into, kept alive as long as it is shown.
pub(crate) struct EventText {
    syscall: CString,
    address: CString,
    path: CString,
    argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    detail: CString,
}

fn bytes_to_c(bytes: &[u8]) -> CString {
    CString::new(
        bytes
            .iter()
            .map(|&b| if b == 0 { b'?' } else { b })
            .collect::<Vec<u8>>(),
    )
    .unwrap_or_default()
}

impl EventText {
    pub(crate) fn of(event: &Event) -> EventText {
        let syscall = crate::seccomp::syscall_table::name(event.nr).unwrap_or("");
        let address = match &event.destination {
            Some(Destination::Inet { address, .. }) => address.ip().to_string().into_bytes(),
            Some(Destination::Unix(path)) => path.clone(),
            None => Vec::new(),
        };
        let argv: Vec<CString> = event.argv.iter().map(|a| bytes_to_c(a)).collect();
        let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        EventText {
            syscall: bytes_to_c(syscall.as_bytes()),
            address: bytes_to_c(&address),
            path: bytes_to_c(event.path.as_deref().unwrap_or_default()),
            argv,
            argv_ptrs,
            detail: bytes_to_c(event.detail.as_bytes()),
        }
    }

    pub(crate) fn event(&self, event: &Event, dropped: u64) -> sandlock_event {
        let (family, protocol, port) = match &event.destination {
            Some(Destination::Inet { address, protocol }) => (
                match address {
                    SocketAddr::V4(_) => libc::AF_INET,
                    SocketAddr::V6(_) => libc::AF_INET6,
                },
                *protocol,
                address.port(),
            ),
            Some(Destination::Unix(_)) => (libc::AF_UNIX, 0, 0),
            None => (0, 0, 0),
        };
        sandlock_event {
            size: std::mem::size_of::<sandlock_event>() as u32,
            kind: event.kind,
            syscall_nr: event.nr,
            syscall: self.syscall.as_ptr(),
            pid: event.pid,
            tid: event.tid,
            ppid: event.ppid,
            denied: event.denied,
            verdict: verdict_code(event.verdict),
            family,
            protocol,
            port,
            address: self.address.as_ptr(),
            path: self.path.as_ptr(),
            argv: if self.argv.is_empty() && event.kind != crate::supervisor::events::kind::EXEC {
                std::ptr::null()
            } else {
                self.argv_ptrs.as_ptr()
            },
            flags: event.flags,
            detail: self.detail.as_ptr(),
            dropped,
        }
    }
}

fn verdict_code(verdict: Verdict) -> c_int {
    match verdict {
        Verdict::Allow => SANDLOCK_VERDICT_ALLOW,
        Verdict::Audit => SANDLOCK_VERDICT_AUDIT,
        Verdict::Kill => SANDLOCK_VERDICT_KILL,
        Verdict::Deny(libc::EPERM) => SANDLOCK_VERDICT_DENY,
        Verdict::Deny(errno) => -errno,
    }
}

/// What a callback's return value means; whatever is not a verdict denies.
fn verdict_of(code: c_int) -> Verdict {
    match code {
        SANDLOCK_VERDICT_ALLOW => Verdict::Allow,
        SANDLOCK_VERDICT_AUDIT => Verdict::Audit,
        SANDLOCK_VERDICT_KILL => Verdict::Kill,
        -4095..=-1 => Verdict::Deny(-code),
        _ => Verdict::Deny(libc::EPERM),
    }
}

/// A callback: sees `event` (valid during the call) and returns a
/// verdict. `sb` is the sandbox, for the sandlock_sandbox_net_*,
/// _max_processes and _max_memory calls; other calls on it from inside a
/// callback fail with -EBUSY. Runs inside sandlock_supervise_step (or
/// _wait), on the caller's thread.
pub type sandlock_event_fn = Option<
    unsafe extern "C" fn(
        event: *const sandlock_event,
        sb: *mut sandlock_sandbox,
        userdata: *mut c_void,
    ) -> c_int,
>;

/// A policy's registered callback.
#[derive(Clone, Copy)]
pub(crate) struct Callback {
    pub mask: u32,
    pub function:
        unsafe extern "C" fn(*const sandlock_event, *mut sandlock_sandbox, *mut c_void) -> c_int,
    pub userdata: *mut c_void,
}

/// The callback bound to one sandbox.
pub(crate) struct CallbackObserver {
    pub callback: Callback,
    pub sandbox: *mut sandlock_sandbox,
}

impl Observer for CallbackObserver {
    fn observe(&mut self, event: &Event) -> Verdict {
        let text = EventText::of(event);
        let shown = text.event(event, 0);
        // SAFETY: the host registered this function for this use; `shown`
        // and its strings live until it returns.
        let code =
            unsafe { (self.callback.function)(&shown, self.sandbox, self.callback.userdata) };
        verdict_of(code)
    }
}

/// Calls `callback` for the events in `mask` (SANDLOCK_EVENT_* bits) of
/// every sandbox spawned from `p` from now on, with `userdata`, which must
/// stay valid while those sandboxes live. The filter then traps what the
/// kinds need: EXEC traps execve/execveat, OPEN the opens and the calls
/// that name files, BIND bind, FORK and EXIT every fork. EXEC and OPEN
/// events are shown with the whole sandbox stopped, so the call that runs
/// is the one shown.
/// A NULL callback or a 0 mask removes it (and the traps).
#[no_mangle]
pub extern "C" fn sandlock_policy_on_event(
    p: *mut sandlock_policy,
    mask: u32,
    callback: sandlock_event_fn,
    userdata: *mut c_void,
) -> c_int {
    // SAFETY: NULL or a pointer from sandlock_policy_new.
    let Some(handle) = (unsafe { p.as_mut() }) else {
        return -libc::EINVAL;
    };
    let result = guarded(|| {
        let callback = match (callback, mask) {
            (Some(function), mask) if mask != 0 => Some(Callback {
                mask,
                function,
                userdata,
            }),
            _ => None,
        };
        handle
            .policy
            .observe(callback.as_ref().map_or(0, |c| c.mask))?;
        handle.callback = callback;
        Ok(0)
    });
    handle.record(result)
}

/// Takes the oldest event of the sandbox's log (every denial the
/// supervisor made, built-in or by a verdict; audited events; limits hit)
/// into `*out`, whose `size` the caller sets to sizeof(sandlock_event).
/// Returns 1 with an event, 0 when the log is empty. Works without any
/// callback. Strings stay valid until the next call on `sb`.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_next_event(
    sb: *mut sandlock_sandbox,
    out: *mut sandlock_event,
) -> c_int {
    super::sandbox::with_handle(sb, |handle| {
        // SAFETY: NULL or the caller's struct of at least `size` bytes.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return Err(Error::invalid("next_event: out is NULL"));
        };
        let known = std::mem::size_of::<sandlock_event>() as u32;
        if out.size < known {
            return Err(Error::invalid(format!(
                "next_event: size {} is smaller than sizeof(sandlock_event) = {known}",
                out.size
            )));
        }
        let Some((event, dropped)) = handle.sandbox_mut()?.next_event() else {
            return Ok(0);
        };
        let text = EventText::of(&event);
        *out = text.event(&event, dropped);
        *handle.last_event.borrow_mut() = Some(text);
        Ok(1)
    })
}

/// Runs `change` on the sandbox's live policy.
fn change_live(
    sb: *mut sandlock_sandbox,
    change: impl FnOnce(&mut crate::supervisor::live_policy::Live) -> Result<()>,
) -> c_int {
    super::sandbox::with_handle(sb, |handle| {
        let mut live = handle
            .live
            .try_lock()
            .ok_or_else(|| Error::new(libc::EBUSY, "the sandbox's live policy is in use"))?;
        change(&mut live).map(|()| 0)
    })
}

/// From now on the sandbox may also reach `spec` (net_allow's grammar,
/// with an address or CIDR: hostnames are resolved at spawn only), within
/// the socket kinds it was spawned with. Also from inside a callback.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_net_allow(
    sb: *mut sandlock_sandbox,
    spec: *const c_char,
) -> c_int {
    // SAFETY: spec is NULL or NUL-terminated.
    let text = unsafe { c_text("net_allow", spec) };
    change_live(sb, |live| live.net_allow(text?))
}

/// From now on the sandbox reaches no destination at all (an empty set,
/// not the spawn policy): calls in progress finish. Also from a callback.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_net_clear(sb: *mut sandlock_sandbox) -> c_int {
    change_live(sb, |live| {
        live.net_clear();
        Ok(())
    })
}

/// Changes max_processes of a running sandbox (0: no limit). Needs a
/// sandbox spawned with a process, memory or CPU limit or fork or exit
/// events (its forks are counted). Also from a callback.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_max_processes(sb: *mut sandlock_sandbox, n: u32) -> c_int {
    change_live(sb, |live| live.max_processes(n))
}

/// Changes max_memory of a running sandbox (0: no limit). Needs a sandbox
/// spawned with max_memory. Also from a callback.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_max_memory(sb: *mut sandlock_sandbox, bytes: u64) -> c_int {
    change_live(sb, |live| live.max_memory(bytes))
}

/// From now on no open or exec of the sandbox reaches `path` (a file, or a
/// directory and everything beneath it): EACCES, checked on the object an
/// open would reach (its identity and its directories'), whatever name
/// leads there. Needs a sandbox spawned with open events (its opens and
/// execs are trapped, and shown with the sandbox stopped). Also from a
/// callback.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_fs_deny(
    sb: *mut sandlock_sandbox,
    path: *const c_char,
) -> c_int {
    // SAFETY: path is NULL or NUL-terminated.
    let path = unsafe { super::c_path("fs_deny", path) };
    change_live(sb, |live| live.fs_deny(std::path::Path::new(path?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::events::kind;

    #[test]
    fn the_c_constants_are_the_kinds() {
        let pairs = [
            (SANDLOCK_EVENT_EXEC, kind::EXEC),
            (SANDLOCK_EVENT_CONNECT, kind::CONNECT),
            (SANDLOCK_EVENT_BIND, kind::BIND),
            (SANDLOCK_EVENT_OPEN, kind::OPEN),
            (SANDLOCK_EVENT_FORK, kind::FORK),
            (SANDLOCK_EVENT_EXIT, kind::EXIT),
            (SANDLOCK_EVENT_LIMIT, kind::LIMIT),
            (SANDLOCK_EVENT_DENIAL, kind::DENIAL),
            (SANDLOCK_EVENT_ALL, kind::ALL),
        ];
        for (c, rust) in pairs {
            assert_eq!(c, rust);
        }
    }

    #[test]
    fn unknown_verdicts_deny() {
        assert_eq!(verdict_of(0), Verdict::Allow);
        assert_eq!(verdict_of(-libc::EACCES), Verdict::Deny(libc::EACCES));
        assert_eq!(verdict_of(7), Verdict::Deny(libc::EPERM));
        assert_eq!(verdict_of(-5000), Verdict::Deny(libc::EPERM));
        assert_eq!(verdict_of(i32::MIN), Verdict::Deny(libc::EPERM));
        for v in [
            Verdict::Allow,
            Verdict::Audit,
            Verdict::Kill,
            Verdict::Deny(libc::EACCES),
        ] {
            assert_eq!(verdict_of(verdict_code(v)), v);
        }
    }
}

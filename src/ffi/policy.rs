//! `sandlock_policy_*`: building a policy.

use super::{c_message, c_path, c_text, guarded};
use crate::error::Result;
use crate::policy::Policy;
use parking_lot::Mutex;
use std::ffi::{c_char, c_int, CString};

/// A sandbox policy. Create with sandlock_policy_new(), free with
/// sandlock_policy_free(). Plain value: it may spawn many sandboxes, also
/// from several threads at once.
pub struct sandlock_policy {
    pub(crate) policy: Policy,
    /// The last failure's message; behind a lock because sandlock_spawn()
    /// records its failures here through a const pointer.
    pub(crate) error: Mutex<CString>,
    /// The event callback, bound to each sandbox spawned.
    pub(crate) callback: Option<super::events::Callback>,
}

impl sandlock_policy {
    pub(crate) fn record(&self, result: Result<i32>) -> c_int {
        match result {
            Ok(v) => {
                *self.error.lock() = CString::default();
                v
            }
            Err(e) => {
                *self.error.lock() = c_message(e.message());
                -e.errno()
            }
        }
    }
}

/// Runs `body` on the policy behind `p`; NULL is -EINVAL.
fn with_policy(p: *mut sandlock_policy, body: impl FnOnce(&mut Policy) -> Result<()>) -> c_int {
    // SAFETY: the caller passes NULL or a pointer from sandlock_policy_new.
    let Some(handle) = (unsafe { p.as_mut() }) else {
        return -libc::EINVAL;
    };
    let result = guarded(|| body(&mut handle.policy).map(|()| 0));
    handle.record(result)
}

/// A new, empty policy: nothing readable, no network, the built-in syscall
/// deny list, the host's environment. NULL only when memory is exhausted.
#[no_mangle]
pub extern "C" fn sandlock_policy_new() -> *mut sandlock_policy {
    guarded(|| {
        Ok(Box::into_raw(Box::new(sandlock_policy {
            policy: Policy::new(),
            error: Mutex::new(CString::default()),
            callback: None,
        })))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees a policy. NULL is ignored. Sandboxes spawned from it live on.
#[no_mangle]
pub extern "C" fn sandlock_policy_free(p: *mut sandlock_policy) {
    if !p.is_null() {
        // SAFETY: p came from sandlock_policy_new and is freed once.
        let _ = guarded(|| {
            drop(unsafe { Box::from_raw(p) });
            Ok(())
        });
    }
}

/// The message of the last failed call on `p` (including sandlock_spawn()
/// with `p`), "" when none. Owned by the policy; valid until the next call
/// on it.
#[no_mangle]
pub extern "C" fn sandlock_policy_error(p: *const sandlock_policy) -> *const c_char {
    // SAFETY: NULL or a live policy.
    match unsafe { p.as_ref() } {
        Some(handle) => handle.error.lock().as_ptr(),
        None => c"invalid argument: NULL policy".as_ptr(),
    }
}

/// Allows reading and executing beneath `path` (a directory or a file,
/// which must exist). Enforced by Landlock.
#[no_mangle]
pub extern "C" fn sandlock_policy_fs_read(p: *mut sandlock_policy, path: *const c_char) -> c_int {
    // SAFETY: path is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.fs_read(unsafe { c_path("fs_read", path) }?)
    })
}

/// Makes `path` (a file, or a directory and everything beneath it)
/// unreachable even inside an fs_read or fs_write tree: opens are then
/// made by the supervisor (through an opener process in the sandbox's
/// Landlock domain) and refused with EACCES when they reach a denied
/// file, whatever name leads there; execs are checked likewise.
#[no_mangle]
pub extern "C" fn sandlock_policy_fs_deny(p: *mut sandlock_policy, path: *const c_char) -> c_int {
    // SAFETY: path is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.fs_deny(unsafe { c_path("fs_deny", path) }?)
    })
}

/// With `on` (non-zero), /proc shows the sandbox's own processes only:
/// listing /proc leaves out every other pid, and /proc/<pid>/... of a
/// process outside the sandbox fails with ENOENT, as if it did not exist;
/// /proc/meminfo reports max_memory as the total when it is set. Opens are
/// then made by the supervisor (see fs_deny), which costs. Off by default.
/// The sandbox needs fs_read("/proc") to see /proc at all.
#[no_mangle]
pub extern "C" fn sandlock_policy_private_proc(p: *mut sandlock_policy, on: c_int) -> c_int {
    with_policy(p, |policy| policy.private_proc(on != 0))
}

/// getrandom(), /dev/urandom, /dev/random and the 16 AT_RANDOM bytes each
/// new program gets (its stack protector) come from a stream drawn from
/// `seed`: the same bytes on every run with the same seed (/dev/urandom and
/// /dev/random hold 1 MiB of it, then end). Every exec then stops the
/// sandbox for a moment.
#[no_mangle]
pub extern "C" fn sandlock_policy_random_seed(p: *mut sandlock_policy, seed: u64) -> c_int {
    with_policy(p, |policy| policy.random_seed(seed))
}

/// The sandbox's wall clock reads `unix_seconds` when it is spawned and
/// advances with the host's: clock_gettime on CLOCK_REALTIME (and its
/// _COARSE, _ALARM and CLOCK_TAI variants), gettimeofday and time, through
/// libc or raw. Each new program is started without the vDSO, so these
/// are syscalls the supervisor answers (a few microseconds each); other
/// clocks run as made, so sleeps and timers keep their length. File
/// timestamps are the host's. 0 to 253402300799 (9999-12-31), else -EINVAL.
#[no_mangle]
pub extern "C" fn sandlock_policy_time_start(p: *mut sandlock_policy, unix_seconds: i64) -> c_int {
    with_policy(p, |policy| policy.time_start(unix_seconds))
}

/// With `on` (non-zero), address-space randomization is off for the
/// sandbox (personality ADDR_NO_RANDOMIZE, set before exec): two runs see
/// the same stack, heap and mmap addresses.
#[no_mangle]
pub extern "C" fn sandlock_policy_no_aslr(p: *mut sandlock_policy, on: c_int) -> c_int {
    with_policy(p, |policy| policy.no_aslr(on != 0))
}

/// The sandbox runs on (and nproc, sched_getaffinity report) at most `n`
/// CPUs: the first `n` the host may use. 0: as the host.
#[no_mangle]
pub extern "C" fn sandlock_policy_num_cpus(p: *mut sandlock_policy, n: u32) -> c_int {
    with_policy(p, |policy| policy.num_cpus(n))
}

/// The node name uname() reports inside the sandbox (1 to 64 bytes).
#[no_mangle]
pub extern "C" fn sandlock_policy_hostname(p: *mut sandlock_policy, name: *const c_char) -> c_int {
    // SAFETY: name is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.hostname(unsafe { c_text("hostname", name) }?)
    })
}

/// Allows everything beneath `path`: read, write, create, remove, rename,
/// truncate, execute, device ioctls. Enforced by Landlock.
#[no_mangle]
pub extern "C" fn sandlock_policy_fs_write(p: *mut sandlock_policy, path: *const c_char) -> c_int {
    // SAFETY: path is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.fs_write(unsafe { c_path("fs_write", path) }?)
    })
}

/// Denies one more syscall by its x86_64 name (EPERM). The built-in deny
/// list always stays. An unknown name is -EINVAL.
#[no_mangle]
pub extern "C" fn sandlock_policy_syscall_deny(
    p: *mut sandlock_policy,
    name: *const c_char,
) -> c_int {
    // SAFETY: name is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.syscall_deny(unsafe { c_text("syscall_deny", name) }?)
    })
}

/// RLIMIT_NOFILE of the sandbox, capped at the host's own; 0 = the host's.
#[no_mangle]
pub extern "C" fn sandlock_policy_max_open_files(p: *mut sandlock_policy, n: u32) -> c_int {
    with_policy(p, |policy| policy.max_open_files(n))
}

/// Wall-clock limit: after `ms` every process of the sandbox is killed and
/// the exit reason is SANDLOCK_EXIT_TIMEOUT. 0 = none. The timer is part of
/// sandlock_sandbox_fd().
#[no_mangle]
pub extern "C" fn sandlock_policy_timeout_ms(p: *mut sandlock_policy, ms: u64) -> c_int {
    with_policy(p, |policy| policy.timeout_ms(ms))
}

/// Starts the sandbox with an empty environment (then add with env_set).
#[no_mangle]
pub extern "C" fn sandlock_policy_env_clear(p: *mut sandlock_policy) -> c_int {
    with_policy(p, |policy| policy.env_clear())
}

/// Sets (or replaces) one variable of the sandbox's environment.
#[no_mangle]
pub extern "C" fn sandlock_policy_env_set(
    p: *mut sandlock_policy,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    with_policy(p, |policy| {
        // SAFETY: name and value are NULL or NUL-terminated.
        let (name, value) = unsafe {
            (
                c_path("env_set name", name)?,
                c_path("env_set value", value)?,
            )
        };
        policy.env_set(name, value)
    })
}

/// The command's working directory (must exist; Landlock still decides
/// what may be read there).
#[no_mangle]
pub extern "C" fn sandlock_policy_cwd(p: *mut sandlock_policy, path: *const c_char) -> c_int {
    // SAFETY: path is NULL or NUL-terminated.
    with_policy(p, |policy| policy.cwd(unsafe { c_path("cwd", path) }?))
}

/// Allows one network endpoint: `[tcp|udp|icmp://]target[:ports]`, where
/// target is a hostname (resolved when a sandbox is spawned), an IPv4 or
/// IPv6 address (`[v6]` when ports follow), a CIDR, or `*`/empty for any,
/// and ports are `*`, a port, or a comma list of ports and `lo-hi` ranges
/// (none = all). No scheme means TCP and UDP. Rules add up. Without any
/// net_allow or net_deny rule the sandbox has no network at all.
#[no_mangle]
pub extern "C" fn sandlock_policy_net_allow(p: *mut sandlock_policy, spec: *const c_char) -> c_int {
    // SAFETY: spec is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.net_allow(unsafe { c_text("net_allow", spec) }?)
    })
}

/// Default-allow instead: any endpoint but the listed IPv4/IPv6 address or
/// CIDR (one per call). Cannot be combined with net_allow.
#[no_mangle]
pub extern "C" fn sandlock_policy_net_deny(p: *mut sandlock_policy, spec: *const c_char) -> c_int {
    // SAFETY: spec is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.net_deny(unsafe { c_text("net_deny", spec) }?)
    })
}

/// Ports the sandbox may bind (serve on): "8080", "8080,9000-9005", "*".
/// Calls add up. Without it no port may be bound (UDP clients may still
/// bind port 0).
#[no_mangle]
pub extern "C" fn sandlock_policy_net_bind(p: *mut sandlock_policy, ports: *const c_char) -> c_int {
    // SAFETY: ports is NULL or NUL-terminated.
    with_policy(p, |policy| {
        policy.net_bind(unsafe { c_text("net_bind", ports) }?)
    })
}

/// Most live processes of the sandbox at once, the main one included
/// (threads do not count; an exited process counts until it is reaped).
/// Past it fork, vfork and clone fail with EAGAIN. 0: no limit.
#[no_mangle]
pub extern "C" fn sandlock_policy_max_processes(p: *mut sandlock_policy, n: u32) -> c_int {
    with_policy(p, |policy| policy.max_processes(n))
}

/// Resident anonymous and shared memory of all the sandbox's processes
/// together; past it the sandbox is killed (SANDLOCK_EXIT_MEMORY).
/// 0: no limit.
#[no_mangle]
pub extern "C" fn sandlock_policy_max_memory(p: *mut sandlock_policy, bytes: u64) -> c_int {
    with_policy(p, |policy| policy.max_memory(bytes))
}

/// Share of one CPU the sandbox gets, 1 to 100 (100: no throttle).
#[no_mangle]
pub extern "C" fn sandlock_policy_max_cpu(p: *mut sandlock_policy, percent: u32) -> c_int {
    with_policy(p, |policy| policy.max_cpu(percent))
}

//! `sandlock_spawn` and `sandlock_sandbox_*`: one running sandbox.

use super::events::{CallbackObserver, EventText};
use super::policy::sandlock_policy;
use super::{c_message, c_path, guarded};
use crate::error::{Error, Result};
use crate::spawn::MAX_ARGS;
use crate::supervisor::{ExitReason, Sandbox, Step};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString, OsStr};

/// Nothing left now: go back to polling.
pub const SANDLOCK_STEP_IDLE: c_int = 0;
/// Work remains: call sandlock_supervise_step() again before polling.
pub const SANDLOCK_STEP_MORE: c_int = 1;
/// Every process of the sandbox is gone.
pub const SANDLOCK_STEP_EXITED: c_int = 2;

pub const SANDLOCK_EXIT_RUNNING: c_int = 0;
/// exit_code is valid.
pub const SANDLOCK_EXIT_NORMAL: c_int = 1;
/// exit_signal is valid.
pub const SANDLOCK_EXIT_SIGNALED: c_int = 2;
/// timeout_ms elapsed; killed.
pub const SANDLOCK_EXIT_TIMEOUT: c_int = 3;
/// max_memory exceeded; killed.
pub const SANDLOCK_EXIT_MEMORY: c_int = 4;
/// sandlock_sandbox_kill() or a policy verdict.
pub const SANDLOCK_EXIT_KILLED: c_int = 5;

/// Options of sandlock_spawn(). Set `size` to sizeof(sandlock_spawn_opts)
/// so the struct can grow without breaking old callers.
#[repr(C)]
pub struct sandlock_spawn_opts {
    /// sizeof(sandlock_spawn_opts).
    pub size: u32,
    /// -1: inherit the caller's.
    pub stdin_fd: c_int,
    /// -1: inherit.
    pub stdout_fd: c_int,
    /// -1: inherit.
    pub stderr_fd: c_int,
}

/// A running (or finished) sandbox. Free with sandlock_sandbox_free().
///
/// Only shared references to the handle are ever made: an event callback
/// runs inside a step and may call back with the same pointer, so the
/// parts it may change (the live policy, the error message) sit behind
/// their own cells, and the sandbox itself behind a RefCell whose borrow
/// by the step makes every other call on it fail with EBUSY.
pub struct sandlock_sandbox {
    sandbox: RefCell<Sandbox>,
    pub(crate) live: crate::supervisor::live_policy::Shared,
    pid: libc::pid_t,
    fd: c_int,
    error: RefCell<CString>,
    /// The strings of the event next_event handed out last.
    pub(crate) last_event: RefCell<Option<EventText>>,
}

impl sandlock_sandbox {
    fn record(&self, result: Result<i32>) -> c_int {
        match result {
            Ok(v) => v,
            Err(e) => {
                if let Ok(mut error) = self.error.try_borrow_mut() {
                    *error = c_message(e.message());
                }
                -e.errno()
            }
        }
    }

    /// The sandbox, unless a step is running (a call from an event
    /// callback).
    pub(crate) fn sandbox_mut(&self) -> Result<std::cell::RefMut<'_, Sandbox>> {
        self.sandbox.try_borrow_mut().map_err(|_| {
            Error::new(
                libc::EBUSY,
                "the sandbox is being stepped: from an event callback only the live policy calls work (use the KILL verdict to kill)",
            )
        })
    }
}

fn stdio_from(opts: *const sandlock_spawn_opts) -> Result<[i32; 3]> {
    // SAFETY: NULL or a caller's struct of at least `size` bytes.
    let Some(opts) = (unsafe { opts.as_ref() }) else {
        return Ok([-1; 3]);
    };
    let known = std::mem::size_of::<sandlock_spawn_opts>() as u32;
    if opts.size < known {
        return Err(Error::invalid(format!(
            "spawn_opts: size {} is smaller than sizeof(sandlock_spawn_opts) = {known}",
            opts.size
        )));
    }
    let fds = [opts.stdin_fd, opts.stdout_fd, opts.stderr_fd];
    for (name, fd) in ["stdin_fd", "stdout_fd", "stderr_fd"].iter().zip(fds) {
        if fd < -1 {
            return Err(Error::new(
                libc::EBADF,
                format!("spawn_opts: {name} {fd} is not a descriptor (-1 inherits)"),
            ));
        }
        // SAFETY: F_GETFD only probes the number.
        if fd >= 0 && unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Error::new(
                libc::EBADF,
                format!("spawn_opts: {name} {fd} is not an open descriptor"),
            ));
        }
    }
    Ok(fds)
}

/// argv as borrowed byte strings, up to its NULL terminator.
///
/// # Safety
/// `argv` must be NULL or a NULL-terminated array of C strings.
pub(crate) unsafe fn args_from<'a>(argv: *const *const c_char) -> Result<Vec<&'a OsStr>> {
    if argv.is_null() {
        return Err(Error::invalid("spawn: argv is NULL"));
    }
    let mut args = Vec::new();
    for i in 0.. {
        // SAFETY: within the array, up to its NULL (the caller's contract).
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            break;
        }
        if i >= MAX_ARGS {
            return Err(Error::new(
                libc::E2BIG,
                format!("spawn: more than {MAX_ARGS} arguments"),
            ));
        }
        // SAFETY: a C string of that array.
        args.push(unsafe { c_path("spawn: argv", arg) }?);
    }
    Ok(args)
}

/// Spawns `argv` confined by `p`. Returns 0 once the child is confined and
/// its execve() succeeded, with the sandbox in `*out`; or -errno with the
/// message in sandlock_policy_error(p) (for example -ENOENT and
/// `execve "/nope": No such file or directory`). `opts` may be NULL.
#[no_mangle]
pub extern "C" fn sandlock_spawn(
    p: *const sandlock_policy,
    argv: *const *const c_char,
    opts: *const sandlock_spawn_opts,
    out: *mut *mut sandlock_sandbox,
) -> c_int {
    // SAFETY: NULL or a live policy.
    let Some(handle) = (unsafe { p.as_ref() }) else {
        return -libc::EINVAL;
    };
    let result = guarded(|| {
        if out.is_null() {
            return Err(Error::invalid("spawn: out is NULL"));
        }
        // SAFETY: argv is NULL or NULL-terminated, per the contract.
        let args = unsafe { args_from(argv) }?;
        let stdio = stdio_from(opts)?;
        let raw = spawn_handle(handle, &args, stdio)?;
        // SAFETY: out was checked non-NULL.
        unsafe { *out = raw };
        Ok(0)
    });
    handle.record(result)
}

/// Spawns `argv` under the policy behind `handle` with `stdio`, as a new
/// handle (with the policy's event callback bound to it), for
/// sandlock_spawn and sandlock_run.
pub(crate) fn spawn_handle(
    handle: &sandlock_policy,
    args: &[&OsStr],
    stdio: [i32; 3],
) -> Result<*mut sandlock_sandbox> {
    let sandbox = crate::spawn(&handle.policy, args, stdio)?;
    let boxed = Box::new(sandlock_sandbox {
        live: sandbox.live().clone(),
        pid: sandbox.pid(),
        fd: sandbox.fd(),
        sandbox: RefCell::new(sandbox),
        error: RefCell::new(CString::default()),
        last_event: RefCell::new(None),
    });
    let raw = Box::into_raw(boxed);
    if let Some(callback) = handle.callback {
        let observer = CallbackObserver {
            callback,
            sandbox: raw,
        };
        // SAFETY: raw was just made from a Box and is not shared yet.
        unsafe { &*raw }
            .sandbox
            .borrow_mut()
            .set_observer(callback.mask, Box::new(observer));
    }
    Ok(raw)
}

/// Runs `body` on the handle behind `sb` (NULL: -EINVAL), recording a
/// failure's message on it.
pub(crate) fn with_handle(
    sb: *const sandlock_sandbox,
    body: impl FnOnce(&sandlock_sandbox) -> Result<i32>,
) -> c_int {
    // SAFETY: NULL or a pointer from sandlock_spawn; only shared references
    // are made (see sandlock_sandbox).
    let Some(handle) = (unsafe { sb.as_ref() }) else {
        return -libc::EINVAL;
    };
    let result = guarded(|| body(handle));
    handle.record(result)
}

fn with_sandbox(
    sb: *mut sandlock_sandbox,
    body: impl FnOnce(&mut Sandbox) -> Result<i32>,
) -> c_int {
    with_handle(sb, |handle| body(&mut *handle.sandbox_mut()?))
}

fn read_sandbox(sb: *const sandlock_sandbox, body: impl FnOnce(&Sandbox) -> i32) -> c_int {
    // SAFETY: NULL or a pointer from sandlock_spawn.
    match unsafe { sb.as_ref() } {
        Some(handle) => match handle.sandbox.try_borrow() {
            Ok(sandbox) => body(&sandbox),
            Err(_) => -libc::EBUSY,
        },
        None => -libc::EINVAL,
    }
}

/// The fd to poll for POLLIN (an epoll set of the library's: the seccomp
/// listener, the main process's pidfd, timers). Owned by the library; do
/// not close it.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_fd(sb: *const sandlock_sandbox) -> c_int {
    // SAFETY: NULL or a live sandbox.
    unsafe { sb.as_ref() }.map_or(-libc::EINVAL, |handle| handle.fd)
}

/// How long the host may poll() at most before calling
/// sandlock_supervise_step(): always -1 (no limit) in this version, because
/// every timer of the library is inside sandlock_sandbox_fd().
#[no_mangle]
pub extern "C" fn sandlock_sandbox_timeout_ms(sb: *const sandlock_sandbox) -> c_int {
    read_sandbox(sb, |s| s.timeout_ms())
}

/// The pid of the sandbox's main process.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_pid(sb: *const sandlock_sandbox) -> libc::pid_t {
    // SAFETY: NULL or a live sandbox.
    unsafe { sb.as_ref() }.map_or(-libc::EINVAL, |handle| handle.pid)
}

/// The message of the last failed call on `sb`, "" when none.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_error(sb: *const sandlock_sandbox) -> *const c_char {
    // SAFETY: NULL or a live sandbox.
    match unsafe { sb.as_ref() } {
        // The string lives in the handle until the next failure replaces it.
        Some(handle) => match handle.error.try_borrow() {
            Ok(error) => error.as_ptr(),
            Err(_) => c"".as_ptr(),
        },
        None => c"invalid argument: NULL sandbox".as_ptr(),
    }
}

/// Handles what is pending without blocking: SANDLOCK_STEP_IDLE,
/// SANDLOCK_STEP_MORE, SANDLOCK_STEP_EXITED, or -errno.
#[no_mangle]
pub extern "C" fn sandlock_supervise_step(sb: *mut sandlock_sandbox) -> c_int {
    with_sandbox(sb, |s| {
        Ok(match s.step()? {
            Step::Idle => SANDLOCK_STEP_IDLE,
            Step::More => SANDLOCK_STEP_MORE,
            Step::Exited => SANDLOCK_STEP_EXITED,
        })
    })
}

/// Sends `sig` to the sandbox's processes (its main process and process
/// group). The exit reason becomes SANDLOCK_EXIT_KILLED if they die of it.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_kill(sb: *mut sandlock_sandbox, sig: c_int) -> c_int {
    with_sandbox(sb, |s| s.kill(sig).map(|()| 0))
}

/// Blocks (poll + step) until every process of the sandbox is gone.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_wait(sb: *mut sandlock_sandbox) -> c_int {
    with_sandbox(sb, |s| s.wait().map(|()| 0))
}

/// Kills and reaps whatever is left and frees the sandbox. NULL is ignored.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_free(sb: *mut sandlock_sandbox) {
    // SAFETY: NULL or a pointer from sandlock_spawn.
    let Some(handle) = (unsafe { sb.as_ref() }) else {
        return;
    };
    // From inside an event callback the step still uses it: ignored.
    if handle.sandbox.try_borrow_mut().is_err() {
        return;
    }
    // SAFETY: sb came from sandlock_spawn and is freed once.
    let _ = guarded(|| {
        drop(unsafe { Box::from_raw(sb) });
        Ok(())
    });
}

/// SANDLOCK_EXIT_*, the exit code (-1 unless NORMAL) and the signal (0
/// unless SIGNALED) of `reason`.
pub(crate) fn exit_status(reason: ExitReason) -> (c_int, c_int, c_int) {
    match reason {
        ExitReason::Running => (SANDLOCK_EXIT_RUNNING, -1, 0),
        ExitReason::Normal(code) => (SANDLOCK_EXIT_NORMAL, code, 0),
        ExitReason::Signaled(sig) => (SANDLOCK_EXIT_SIGNALED, -1, sig),
        ExitReason::Timeout => (SANDLOCK_EXIT_TIMEOUT, -1, 0),
        ExitReason::Memory => (SANDLOCK_EXIT_MEMORY, -1, 0),
        ExitReason::Killed => (SANDLOCK_EXIT_KILLED, -1, 0),
    }
}

/// SANDLOCK_EXIT_* (SANDLOCK_EXIT_RUNNING until SANDLOCK_STEP_EXITED).
#[no_mangle]
pub extern "C" fn sandlock_sandbox_exit_reason(sb: *const sandlock_sandbox) -> c_int {
    read_sandbox(sb, |s| exit_status(s.exit_reason()).0)
}

/// The main process's exit code; -1 unless the reason is NORMAL.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_exit_code(sb: *const sandlock_sandbox) -> c_int {
    read_sandbox(sb, |s| exit_status(s.exit_reason()).1)
}

/// The signal that killed the main process; 0 unless the reason is SIGNALED.
#[no_mangle]
pub extern "C" fn sandlock_sandbox_exit_signal(sb: *const sandlock_sandbox) -> c_int {
    read_sandbox(sb, |s| exit_status(s.exit_reason()).2)
}

//! `sandlock_run`: a command run to completion, its output captured.

use super::guarded;
use super::policy::sandlock_policy;
use super::sandbox::{
    args_from, exit_status, sandlock_sandbox, sandlock_sandbox_free, spawn_handle,
};
use crate::error::{Error, Result};
use crate::supervisor::runner;
use std::ffi::{c_char, c_int};
use std::time::Duration;

/// What sandlock_run() gives back. The buffers belong to the library:
/// free them with sandlock_run_result_free().
#[repr(C)]
pub struct sandlock_run_result {
    /// SANDLOCK_EXIT_*.
    pub exit_reason: c_int,
    /// -1 unless exit_reason is SANDLOCK_EXIT_NORMAL.
    pub exit_code: c_int,
    /// 0 unless exit_reason is SANDLOCK_EXIT_SIGNALED.
    pub exit_signal: c_int,
    /// Everything the command wrote to stdout: never NULL after a
    /// successful run, and followed by a NUL that stdout_len does not
    /// count, so text can be printed as a string.
    pub stdout_data: *mut u8,
    pub stdout_len: usize,
    /// The same for stderr.
    pub stderr_data: *mut u8,
    pub stderr_len: usize,
}

const EMPTY: sandlock_run_result = sandlock_run_result {
    exit_reason: 0,
    exit_code: 0,
    exit_signal: 0,
    stdout_data: std::ptr::null_mut(),
    stdout_len: 0,
    stderr_data: std::ptr::null_mut(),
    stderr_len: 0,
};

/// `bytes` and a NUL as one allocation the library owns: (data, length
/// without the NUL).
/// None when the memory for the NUL cannot be had (an error, not an
/// abort). The shrink into a boxed slice gives memory back, which the
/// allocator does in place.
fn into_c_buffer(mut bytes: Vec<u8>) -> Option<(*mut u8, usize)> {
    let len = bytes.len();
    bytes.try_reserve_exact(1).ok()?;
    bytes.push(0);
    Some((Box::into_raw(bytes.into_boxed_slice()) as *mut u8, len))
}

/// Frees a buffer made by [`into_c_buffer`]; NULL is ignored.
///
/// # Safety
/// `data` must be NULL or come from `into_c_buffer` with `len`, once.
unsafe fn free_c_buffer(data: *mut u8, len: usize) {
    if !data.is_null() {
        // SAFETY: made by into_c_buffer as a boxed slice of len + 1 bytes,
        // freed once (the caller's contract).
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len + 1)) });
    }
}

/// The handle of a run's sandbox, freed (killed and reaped if need be) on
/// every way out.
struct Owned(*mut sandlock_sandbox);

impl Drop for Owned {
    fn drop(&mut self) {
        sandlock_sandbox_free(self.0);
    }
}

/// Runs `argv` confined by `p` to completion, blocking (one poll loop
/// over the sandbox and its pipes; no threads): writes the `stdin_len`
/// bytes at `stdin_data` (which may be NULL when 0) to its stdin, then
/// closes it; captures stdout and stderr whole, whatever their size; kills
/// it after `timeout_ms` (0: no timeout of the run's own; the policy's
/// timeout_ms applies either way), with exit reason SANDLOCK_EXIT_TIMEOUT.
/// A child that closes its stdin early is no error: the rest is dropped,
/// and no SIGPIPE reaches the host (whose signal dispositions are left
/// alone). Its stdin, stdout and stderr are pipes; the outputs are held
/// in memory whole, so bound a chatty command with a timeout. The
/// policy's event callback sees the run's events as with sandlock_spawn()
/// (its `sb` is the run's sandbox, valid until sandlock_run returns).
///
/// Returns 0 with `*out` filled (free it with sandlock_run_result_free());
/// or -errno, with `*out` zeroed and the message in
/// sandlock_policy_error(p), as sandlock_spawn() reports: -EINVAL for a
/// NULL `p`, `argv` or `out`, or NULL `stdin_data` with a length; the
/// spawn's errors (-ENOENT for a missing program, ...).
#[no_mangle]
pub extern "C" fn sandlock_run(
    p: *const sandlock_policy,
    argv: *const *const c_char,
    stdin_data: *const u8,
    stdin_len: usize,
    timeout_ms: u64,
    out: *mut sandlock_run_result,
) -> c_int {
    if !out.is_null() {
        // SAFETY: the caller's struct, written before anything can fail.
        unsafe { out.write(EMPTY) };
    }
    // SAFETY: NULL or a live policy.
    let Some(handle) = (unsafe { p.as_ref() }) else {
        return -libc::EINVAL;
    };
    let result = guarded(|| {
        if out.is_null() {
            return Err(Error::invalid("run: out is NULL"));
        }
        if argv.is_null() {
            return Err(Error::invalid("run: argv is NULL"));
        }
        if stdin_data.is_null() && stdin_len > 0 {
            return Err(Error::invalid(format!(
                "run: stdin_data is NULL with stdin_len {stdin_len}"
            )));
        }
        if stdin_len > isize::MAX as usize {
            return Err(Error::invalid(format!(
                "run: stdin_len {stdin_len} is larger than any buffer"
            )));
        }
        let input: &[u8] = match stdin_len {
            0 => &[],
            // SAFETY: the caller's buffer of stdin_len bytes, checked
            // non-NULL, read during the call only.
            n => unsafe { std::slice::from_raw_parts(stdin_data, n) },
        };
        // SAFETY: argv is NULL-terminated, per the contract.
        let args = unsafe { args_from(argv) }?;
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
        let output = run(handle, &args, input, timeout)?;
        let (exit_reason, exit_code, exit_signal) = exit_status(output.reason);
        let no_memory = || Error::new(libc::ENOMEM, "run: no memory for the captured output");
        let (stdout_data, stdout_len) = into_c_buffer(output.stdout).ok_or_else(no_memory)?;
        let Some((stderr_data, stderr_len)) = into_c_buffer(output.stderr) else {
            // SAFETY: just made by into_c_buffer, with this length.
            unsafe { free_c_buffer(stdout_data, stdout_len) };
            return Err(no_memory());
        };
        // SAFETY: out was checked non-NULL.
        unsafe {
            out.write(sandlock_run_result {
                exit_reason,
                exit_code,
                exit_signal,
                stdout_data,
                stdout_len,
                stderr_data,
                stderr_len,
            })
        };
        Ok(0)
    });
    handle.record(result)
}

/// The run itself, on a handle of its own so the policy's event callback
/// gets a sandbox pointer, as with sandlock_spawn.
fn run(
    handle: &sandlock_policy,
    args: &[&std::ffi::OsStr],
    input: &[u8],
    timeout: Option<Duration>,
) -> Result<runner::Output> {
    let (host, child) = runner::pipes()?;
    let sandbox = Owned(spawn_handle(handle, args, child.fds())?);
    // The child has its copies: ours would keep the outputs from EOF.
    drop(child);
    // SAFETY: just spawned, freed only when `sandbox` drops.
    let sandbox_handle = unsafe { &*sandbox.0 };
    // The borrow must end before `sandbox` frees the handle, so it is not
    // left to the tail expression (whose temporaries outlive the locals).
    let output = {
        let mut borrowed = sandbox_handle.sandbox_mut()?;
        runner::drive(&mut borrowed, host, input, timeout)
    };
    output
}

/// Frees the buffers of `*r` and zeroes it. NULL, and a result already
/// freed or zeroed, are fine.
#[no_mangle]
pub extern "C" fn sandlock_run_result_free(r: *mut sandlock_run_result) {
    // SAFETY: NULL or the caller's result, filled by sandlock_run or zeroed.
    let Some(result) = (unsafe { r.as_mut() }) else {
        return;
    };
    let _ = guarded(|| {
        // SAFETY: the buffers came from sandlock_run, with these lengths.
        unsafe {
            free_c_buffer(result.stdout_data, result.stdout_len);
            free_c_buffer(result.stderr_data, result.stderr_len);
        }
        *result = EMPTY;
        Ok(())
    });
}

//! Running a command to completion: its stdin fed from a buffer, its
//! stdout and stderr captured whole, an optional deadline of the caller's.
//!
//! One poll loop on the caller's thread, over the sandbox's fd and the
//! host's ends of three pipes (non-blocking): stdin is written as fast as
//! the child drains it and both outputs are read as they come, so no pipe
//! stays full while another is waited on. A child that writes megabytes to
//! both outputs without ever reading its stdin still runs to its end.
//!
//! After the sandbox is over every one of its processes is gone (none
//! carries the filter any more), so the outputs reach EOF; the loop reads
//! them to it. Only a descriptor handed outside the sandbox could hold them
//! open longer, and then the caller's deadline (if any) ends the wait.

use crate::error::{Error, Result};
use crate::supervisor::{ExitReason, Sandbox, Step};
use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How a run ended and what it wrote.
#[derive(Debug)]
pub struct Output {
    pub reason: ExitReason,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The child's ends of the three pipes (stdin, stdout, stderr), for
/// spawn. Close-on-exec: spawn duplicates them onto 0, 1 and 2 in the
/// child, and the host must drop them once the child is spawned, or the
/// outputs never reach EOF.
pub struct ChildEnds([OwnedFd; 3]);

impl ChildEnds {
    pub fn fds(&self) -> [RawFd; 3] {
        [
            self.0[0].as_raw_fd(),
            self.0[1].as_raw_fd(),
            self.0[2].as_raw_fd(),
        ]
    }
}

/// The host's ends: non-blocking and close-on-exec.
pub struct HostEnds {
    stdin: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    sys::pipe().map_err(|e| Error::os("run: pipe2", e))
}

fn set_nonblocking(fd: &OwnedFd) -> Result<()> {
    sys::status_flags(fd.as_raw_fd())
        .and_then(|flags| sys::set_status_flags(fd.as_raw_fd(), flags | libc::O_NONBLOCK))
        .map_err(|e| Error::os("run: fcntl(O_NONBLOCK)", e))
}

/// The three pipes of a run. Only the host's ends are non-blocking: the
/// child gets ordinary blocking stdio.
pub fn pipes() -> Result<(HostEnds, ChildEnds)> {
    let (stdin_read, stdin_write) = pipe()?;
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let host = HostEnds {
        stdin: stdin_write,
        stdout: stdout_read,
        stderr: stderr_read,
    };
    set_nonblocking(&host.stdin)?;
    set_nonblocking(&host.stdout)?;
    set_nonblocking(&host.stderr)?;
    Ok((host, ChildEnds([stdin_read, stdout_write, stderr_write])))
}

/// Steps until nothing is pending; true once the sandbox is over.
fn settle(sandbox: &mut Sandbox) -> Result<bool> {
    loop {
        match sandbox.step()? {
            Step::More => continue,
            Step::Idle => return Ok(false),
            Step::Exited => return Ok(true),
        }
    }
}

/// Bounded reading per wake-up, so a child that writes without pause
/// cannot keep the loop from stepping the sandbox.
const READS_PER_WAKE: usize = 16;
const READ_CHUNK: usize = 64 * 1024;

/// Appends what `fd` has to `out`; true at EOF.
fn drain(fd: &OwnedFd, out: &mut Vec<u8>) -> Result<bool> {
    let mut buf = vec![0u8; READ_CHUNK];
    for _ in 0..READS_PER_WAKE {
        match sys::read(fd.as_raw_fd(), &mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                // Whatever the size, but an allocation that fails is an
                // error of the run (the sandbox is killed), never an abort
                // of the host, as a plain extend would make it.
                out.try_reserve(n).map_err(|_| {
                    Error::new(
                        libc::ENOMEM,
                        format!("run: no memory for more than {} bytes of output", out.len()),
                    )
                })?;
                out.extend_from_slice(&buf[..n]);
            }
            Err(libc::EAGAIN | libc::EINTR) => return Ok(false),
            Err(errno) => return Err(Error::os("run: reading the output", errno)),
        }
    }
    Ok(false)
}

/// Writes what the pipe takes of `input[*written..]`. Closes stdin (EOF
/// for the child) once all is written, or when the child has closed its
/// end (EPIPE: the rest is not wanted, which is no error).
fn feed(stdin: &mut Option<OwnedFd>, input: &[u8], written: &mut usize) -> Result<()> {
    let Some(fd) = stdin else {
        return Ok(());
    };
    while *written < input.len() {
        match sys::write_without_sigpipe(fd.as_raw_fd(), &input[*written..]) {
            Ok(n) => *written += n,
            Err(libc::EINTR) => continue,
            Err(libc::EAGAIN) => return Ok(()),
            Err(libc::EPIPE) => break,
            Err(errno) => return Err(Error::os("run: writing stdin", errno)),
        }
    }
    *stdin = None;
    Ok(())
}

/// Milliseconds until `deadline` for poll(), rounded up so the loop does
/// not spin just before it; -1 without one.
fn millis_until(deadline: Option<Instant>) -> i32 {
    match deadline {
        None => -1,
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            let ms = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
            ms.min(i32::MAX as u128) as i32
        }
    }
}

/// The smaller of two poll() timeouts, -1 meaning none.
fn sooner(a: i32, b: i32) -> i32 {
    match (a, b) {
        (-1, t) | (t, -1) => t,
        (a, b) => a.min(b),
    }
}

fn poll_entry(fd: Option<RawFd>, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd: fd.unwrap_or(-1),
        events,
        revents: 0,
    }
}

/// Runs a spawned sandbox to its end, as [`run`] describes; `host` holds
/// the host's ends of the pipes its stdio was spawned with (whose child
/// ends the caller has already closed).
pub fn drive(
    sandbox: &mut Sandbox,
    host: HostEnds,
    input: &[u8],
    timeout: Option<Duration>,
) -> Result<Output> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    // Nothing to write: the child sees EOF at once.
    let mut stdin = (!input.is_empty()).then_some(host.stdin);
    let mut written = 0;
    let mut outputs = [Some(host.stdout), Some(host.stderr)];
    let mut captured = [Vec::new(), Vec::new()];
    let mut exited = false;
    let mut expired = false;
    loop {
        if !exited {
            exited = settle(sandbox)?;
        }
        if exited {
            // Nobody is left to read it.
            stdin = None;
            if outputs.iter().all(Option::is_none) {
                break;
            }
        }
        let raw = |fd: &Option<OwnedFd>| fd.as_ref().map(|fd| fd.as_raw_fd());
        let mut fds = [
            poll_entry((!exited).then(|| sandbox.fd()), libc::POLLIN),
            poll_entry(raw(&stdin), libc::POLLOUT),
            poll_entry(raw(&outputs[0]), libc::POLLIN),
            poll_entry(raw(&outputs[1]), libc::POLLIN),
        ];
        let wait = match (exited, expired) {
            // Over: EOF is due; the deadline still bounds the wait.
            (true, _) => millis_until(deadline),
            (false, true) => sandbox.timeout_ms(),
            (false, false) => sooner(sandbox.timeout_ms(), millis_until(deadline)),
        };
        let ready = match sys::poll(&mut fds, wait) {
            Ok(ready) => ready,
            Err(libc::EINTR) => continue,
            Err(errno) => return Err(Error::os("run: poll", errno)),
        };
        let past_deadline = deadline.is_some_and(|at| Instant::now() >= at);
        if exited && ready == 0 && past_deadline {
            // The outputs are held open from outside the sandbox.
            break;
        }
        if past_deadline && !expired {
            expired = true;
            sandbox.time_out();
        }
        if fds[1].revents != 0 {
            feed(&mut stdin, input, &mut written)?;
        }
        for (i, output) in outputs.iter_mut().enumerate() {
            if fds[2 + i].revents == 0 {
                continue;
            }
            if let Some(fd) = output {
                if drain(fd, &mut captured[i])? {
                    *output = None;
                }
            }
        }
    }
    let [stdout, stderr] = captured;
    Ok(Output {
        reason: sandbox.exit_reason(),
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use std::ffi::OsStr;

    /// Spawns `argv` under `policy` and runs it to completion: `input` on its
    /// stdin (then EOF), its outputs captured, killed after `timeout` (if any)
    /// with exit reason Timeout. (The C API's sandlock_run drives a sandbox
    /// it spawned itself: `drive`.)
    fn run(
        policy: &Policy,
        argv: &[&OsStr],
        input: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Output> {
        let (host, child) = pipes()?;
        let mut sandbox = crate::spawn(policy, argv, child.fds())?;
        drop(child);
        drive(&mut sandbox, host, input, timeout)
    }

    fn shell() -> Policy {
        let mut policy = Policy::new();
        for path in ["/usr", "/lib", "/lib64", "/bin"] {
            if std::path::Path::new(path).exists() {
                policy.fs_read(OsStr::new(path)).unwrap();
            }
        }
        policy.timeout_ms(60_000).unwrap();
        policy
    }

    fn sh(script: &str) -> Vec<&OsStr> {
        vec![OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)]
    }

    #[test]
    fn stdin_comes_back_on_stdout_and_stderr_apart() {
        let out = run(
            &shell(),
            &sh("cat; echo to-stderr >&2; exit 3"),
            b"through cat\n",
            None,
        )
        .unwrap();
        assert_eq!(out.stdout, b"through cat\n");
        assert_eq!(out.stderr, b"to-stderr\n");
        assert_eq!(out.reason, ExitReason::Normal(3));
    }

    #[test]
    fn the_callers_deadline_is_a_timeout() {
        let out = run(
            &shell(),
            &sh("echo started; exec sleep 60"),
            b"",
            Some(Duration::from_millis(200)),
        )
        .unwrap();
        assert_eq!(out.reason, ExitReason::Timeout);
        assert_eq!(out.stdout, b"started\n");
    }

    #[test]
    fn poll_timeouts_combine() {
        assert_eq!(sooner(-1, -1), -1);
        assert_eq!(sooner(-1, 5), 5);
        assert_eq!(sooner(7, -1), 7);
        assert_eq!(sooner(7, 5), 5);
        assert_eq!(millis_until(None), -1);
        assert_eq!(millis_until(Some(Instant::now())), 0);
    }
}

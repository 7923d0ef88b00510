//! Starting a confined child from a possibly multithreaded host.
//!
//! Everything the child needs is built first ([`Prepared`]): argv, envp,
//! the resolved executable, the Landlock ruleset fd, the BPF program. Then
//! `clone3(CLONE_PIDFD | CLONE_FILES)` makes a fork-style child that runs
//! only raw, allocation-free system calls ([`child_main`]) up to `execve`.
//! The child starts on the host's own fd table, so the seccomp listener it
//! creates lands straight in the host: no handshake, no `pidfd_getfd`.
//! Until then it touches no descriptor; right after, it takes a private
//! copy of the table (`unshare(CLONE_FILES)`), reports the listener's
//! number on a close-on-exec socketpair, sets up stdio and execs. EOF on
//! the socket means exec succeeded; a report means a step failed.

pub mod watchdog;

use crate::error::{strerror, Error, Result};
use crate::policy::{Compiled, Policy};
use crate::seccomp::notify::{Answer, Listener};
use crate::sys::{self, process, seccomp as raw_seccomp};
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::Arc;
use watchdog::Armed;

/// Most argv or envp entries accepted.
pub const MAX_ARGS: usize = 1 << 16;

/// A step of the child's set-up: an index into [`STAGE_NAMES`], which
/// names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stage(u32);

impl Stage {
    const SIGNALS: Stage = Stage(0);
    const STDIO: Stage = Stage(1);
    const PROCESS_GROUP: Stage = Stage(2);
    const CHDIR: Stage = Stage(3);
    const RLIMIT: Stage = Stage(4);
    const CAPABILITIES: Stage = Stage(5);
    const NO_NEW_PRIVS: Stage = Stage(6);
    const LANDLOCK: Stage = Stage(7);
    const SECCOMP: Stage = Stage(8);
    const UNSHARE: Stage = Stage(9);
    const EXECVE: Stage = Stage(10);
    const SUBREAPER: Stage = Stage(11);
    const OPENER: Stage = Stage(12);
    const PERSONALITY: Stage = Stage(13);
    const AFFINITY: Stage = Stage(14);

    fn describe(self) -> &'static str {
        STAGE_NAMES
            .get(self.0 as usize)
            .copied()
            .unwrap_or("an unknown step")
    }
}

const STAGE_NAMES: [&str; 15] = [
    "resetting signals",
    "setting up stdio",
    "setpgid",
    "chdir",
    "setrlimit(RLIMIT_NOFILE)",
    "dropping capabilities",
    "prctl(PR_SET_NO_NEW_PRIVS)",
    "landlock_restrict_self",
    "installing the seccomp filter",
    "unshare(CLONE_FILES)",
    "execve",
    "prctl(PR_SET_CHILD_SUBREAPER)",
    "starting the opener",
    "personality(ADDR_NO_RANDOMIZE)",
    "sched_setaffinity",
];

const REPORT_LISTENER: u32 = 1;
const REPORT_FAILED: u32 = 2;

/// What the child writes to the parent: its listener fd number, or the
/// stage that failed and why (with the listener's number if it already
/// exists in the host's table, so the parent can close it).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Report {
    kind: u32,
    stage: u32,
    value: i32,
    listener: i32,
    /// The watchdog's pid (the host's child), or -1.
    watchdog: i32,
    /// The opener's pid (the job's first process's child), or -1.
    opener: i32,
}

/// Everything the child reads, built before it exists.
pub struct Prepared {
    exe: CString,
    shown_exe: String,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    stdio: [RawFd; 3],
    nofile: Option<libc::rlimit64>,
    /// Ruleset and filter, shared with the policy (kept alive here even if
    /// the policy is freed meanwhile).
    compiled: Arc<Compiled>,
    drop_bounding_set: bool,
    last_cap: u32,
    /// The main process adopts the orphans of its tree, so every process
    /// of the sandbox stays under it where the supervisor can count it.
    adopt_orphans: bool,
    /// The filter traps execve (exec events): the child's own is answered
    /// during the handshake.
    traps_exec: bool,
    /// personality(ADDR_NO_RANDOMIZE) before exec (no_aslr).
    no_aslr: bool,
    /// The CPUs the sandbox may run on (num_cpus), prepared.
    cpus: Option<libc::cpu_set_t>,
    /// argv of the watchdog's program.
    watchdog_argv: [*const libc::c_char; 2],
    /// argv of the opener's.
    opener_argv: [*const libc::c_char; 2],
    /// The watchdog's stack until it execs (written only in the child's copy
    /// of memory, hence the cells).
    watchdog_stack: Box<[std::cell::UnsafeCell<u8>]>,
}

fn c_string(what: &str, bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::invalid(format!(
            "{what}: \"{}\" contains a NUL byte",
            String::from_utf8_lossy(bytes)
        ))
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is NUL-terminated.
    let executable = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
    executable && path.is_file()
}

/// argv[0] as execve will see it: as given when it has a '/', otherwise
/// the first executable match in the sandbox's PATH.
fn resolve_executable(argv0: &OsStr, env: &[(OsString, OsString)]) -> Result<OsString> {
    if argv0.as_bytes().contains(&b'/') {
        return Ok(argv0.to_owned());
    }
    let path = env
        .iter()
        .find(|(n, _)| n == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { b".".as_slice() } else { dir };
        let candidate = Path::new(OsStr::from_bytes(dir)).join(argv0);
        if is_executable_file(&candidate) {
            return Ok(candidate.into_os_string());
        }
    }
    Err(Error::new(
        libc::ENOENT,
        format!(
            "execve \"{}\": No such file or directory (not found in PATH)",
            argv0.to_string_lossy()
        ),
    ))
}

/// The first `n` CPUs of those the host may run on (fewer if it has
/// fewer).
fn first_cpus(n: u32) -> Result<libc::cpu_set_t> {
    let host = sys::cpus::affinity(0).map_err(|e| Error::os("num_cpus: sched_getaffinity", e))?;
    let mut set = sys::cpus::empty();
    let mine = (0..libc::CPU_SETSIZE as usize).filter(|&cpu| sys::cpus::has(&host, cpu));
    for cpu in mine.take(n as usize) {
        sys::cpus::add(&mut set, cpu);
    }
    Ok(set)
}

fn nofile_limit(wanted: Option<u32>) -> Result<Option<libc::rlimit64>> {
    let Some(wanted) = wanted else {
        return Ok(None);
    };
    let mut current = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: current is a valid out pointer.
    if unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut current) } != 0 {
        return Err(Error::last_os("getrlimit(RLIMIT_NOFILE)"));
    }
    // Never above what the host has: the sandbox may only lower it.
    let limit = u64::from(wanted).min(current.rlim_cur);
    Ok(Some(libc::rlimit64 {
        rlim_cur: limit,
        rlim_max: limit,
    }))
}

fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}

const CAP_SETPCAP: u32 = 8;

impl Prepared {
    /// The CPUs the sandbox may run on (num_cpus), if limited.
    pub fn cpus(&self) -> Option<libc::cpu_set_t> {
        self.cpus
    }

    /// The command as messages name it.
    pub fn shown_exe(&self) -> &str {
        &self.shown_exe
    }

    pub fn new(policy: &Policy, argv: &[&OsStr], stdio: [RawFd; 3]) -> Result<Prepared> {
        let argv0 = *argv
            .first()
            .ok_or_else(|| Error::invalid("spawn: argv is empty"))?;
        if argv0.is_empty() {
            return Err(Error::invalid("spawn: argv[0] is an empty string"));
        }
        if argv.len() > MAX_ARGS {
            return Err(Error::new(
                libc::E2BIG,
                format!("spawn: {} arguments is over {MAX_ARGS}", argv.len()),
            ));
        }
        let env = policy.environment();
        let exe = resolve_executable(argv0, &env)?;
        let argv_c = argv
            .iter()
            .map(|a| c_string("spawn: argv", a.as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        let envp_c = env
            .into_iter()
            .map(|(n, v)| {
                let mut entry = n.into_vec();
                entry.push(b'=');
                entry.extend(v.into_vec());
                c_string("spawn: environment", &entry)
            })
            .collect::<Result<Vec<_>>>()?;
        let cwd = match &policy.cwd {
            Some(dir) => Some(c_string("cwd", dir.as_os_str().as_bytes())?),
            None => None,
        };
        crate::seccomp::notify::Listener::check_layout()
            .map_err(|msg| Error::new(libc::ENOSYS, msg))?;
        let compiled = policy.compiled()?;
        let effective = sys::capget_effective().unwrap_or(0);
        Ok(Prepared {
            shown_exe: exe.to_string_lossy().into_owned(),
            exe: c_string("spawn: executable", exe.as_bytes())?,
            argv_ptrs: null_terminated(&argv_c),
            _argv: argv_c,
            envp_ptrs: null_terminated(&envp_c),
            _envp: envp_c,
            cwd,
            stdio,
            nofile: nofile_limit(policy.max_open_files)?,
            compiled,
            drop_bounding_set: effective & (1 << CAP_SETPCAP) != 0,
            last_cap: last_capability(),
            adopt_orphans: policy.tracks_processes(),
            no_aslr: policy.no_aslr,
            cpus: policy.num_cpus.map(first_cpus).transpose()?,
            traps_exec: policy.traps_exec(),
            watchdog_argv: [c"sandlock-watchdog".as_ptr(), std::ptr::null()],
            opener_argv: [c"sandlock-opener".as_ptr(), std::ptr::null()],
            watchdog_stack: std::iter::repeat_with(|| std::cell::UnsafeCell::new(0))
                .take(watchdog::STACK_SIZE)
                .collect(),
        })
    }
}

/// A child that is confined and has exec'd.
pub struct Child {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
    pub listener: Listener,
    /// The watchdog and the opener, if running: children of the host (see
    /// spawn/watchdog.rs `start_in_child`), not of the job.
    pub watchdog: Option<Helper>,
    pub opener: Option<Helper>,
}

/// A helper process of a sandbox, held by a pidfd. It is the host's
/// child, so it is reaped here: dropping it kills and reaps it, and
/// [`Helper::end_within`] first gives it time to end by itself.
pub struct Helper {
    pub pid: libc::pid_t,
    pidfd: OwnedFd,
    reaped: bool,
}

impl Helper {
    /// Holds child `pid` of ours (None when it is gone already: reaped by
    /// the host's own wait, which leaves nothing to do).
    fn of(pid: libc::pid_t) -> Option<Helper> {
        let pidfd = process::pidfd(pid, 0).ok()?;
        Some(Helper {
            pid,
            pidfd,
            reaped: false,
        })
    }

    pub fn pidfd(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// Waits up to `ms` for it to exit (its end of the sandbox closed, it
    /// ends by itself), then reaps it, killing it first if it has not.
    pub fn end_within(mut self, ms: i32) {
        let mut exit = [libc::pollfd {
            fd: self.pidfd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if matches!(sys::poll(&mut exit, ms), Ok(1)) {
            while let Err(libc::EINTR) = process::waitid_pidfd(self.pidfd(), 0) {}
            self.reaped = true;
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if !self.reaped {
            process::kill_and_reap(self.pidfd());
        }
    }
}

/// Both helpers' pids (-1 when not running), for the process count to
/// leave out.
pub fn helper_pids(watchdog: &Option<Helper>, opener: &Option<Helper>) -> [libc::pid_t; 2] {
    [watchdog, opener].map(|h| h.as_ref().map_or(-1, |h| h.pid))
}

fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    sys::unix_pair(libc::SOCK_SEQPACKET).map_err(|e| Error::os("spawn: socketpair", e))
}

/// Blocks every signal on this thread and restores the old mask on drop,
/// so no host handler runs in the child before it resets dispositions.
struct SignalsBlocked(libc::sigset_t);

impl SignalsBlocked {
    fn new() -> Self {
        // SAFETY: sigset_t is plain data; the calls fill or read it.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            SignalsBlocked(old)
        }
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in new().
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

const CLONE_FILES: u64 = libc::CLONE_FILES as u64;

/// clone3 when the kernel (or the host's own seccomp profile) allows it,
/// otherwise clone with CLONE_PIDFD. Returns 0 in the child.
///
/// # Safety
/// The child may only run async-signal-safe code.
unsafe fn clone_with_pidfd(pidfd: &mut RawFd) -> sys::SysResult<libc::pid_t> {
    // SAFETY: what the child may run is our caller's contract; pidfd is
    // a valid out pointer for either call.
    unsafe {
        let mut args = process::CloneArgs {
            flags: process::CLONE_PIDFD | process::CLONE_CLEAR_SIGHAND | CLONE_FILES,
            pidfd: pidfd as *mut RawFd as u64,
            // No SIGCHLD: a host that reaps with waitpid(-1) cannot steal this
            // child (it is only visible to waits with __WALL).
            exit_signal: 0,
            ..Default::default()
        };
        match process::clone3(&mut args) {
            Err(libc::ENOSYS) | Err(libc::EPERM) => {}
            other => return other,
        }
        // clone(flags, stack, parent_tid, child_tid, tls): with CLONE_PIDFD the
        // pidfd lands in parent_tid. The child resets every signal disposition
        // itself, so CLONE_CLEAR_SIGHAND is not needed here.
        sys::check(libc::syscall(
            libc::SYS_clone,
            (process::CLONE_PIDFD | CLONE_FILES) as libc::c_ulong,
            0usize,
            pidfd as *mut RawFd,
            0usize,
            0usize,
        ))
        .map(|pid| pid as libc::pid_t)
    }
}

/// Spawns the prepared command. Returns once it has exec'd, or the error
/// that stopped it (the child is then reaped). `stop_at_exec`: its exec is
/// answered with a stop pending, and it is returned stopped before its
/// first instruction (supervisor/exec_watch.rs `first_image` goes on).
pub fn spawn(
    prepared: &Prepared,
    watchdog: &Armed,
    opener: Option<&crate::fs::opener::Prepared>,
    stop_at_exec: bool,
) -> Result<Child> {
    let (parent_sock, child_sock) = socketpair()?;
    let mut pidfd: RawFd = -1;
    let pid = {
        let _blocked = SignalsBlocked::new();
        // SAFETY: the child branch runs child_main only, which is
        // async-signal-safe and never returns.
        match unsafe { clone_with_pidfd(&mut pidfd) } {
            Ok(0) => child_main(prepared, child_sock.as_raw_fd(), watchdog, opener),
            Ok(pid) => pid,
            Err(errno) => return Err(Error::os("spawn: clone3", errno)),
        }
    };
    // SAFETY: the kernel created the pidfd for us.
    let pidfd = unsafe { sys::own(pidfd) };
    let child = Handshake {
        pid,
        pidfd,
        sock: parent_sock,
        child_sock: Some(child_sock),
        watchdog: None,
        opener: None,
        stop_at_exec,
    };
    child.run(prepared)
}

struct Handshake {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    sock: OwnedFd,
    /// The child's end, which shares our fd table until the child has
    /// unshared it: closed only after the first report.
    child_sock: Option<OwnedFd>,
    /// Dropped with the handshake when the spawn fails: killed and reaped.
    watchdog: Option<Helper>,
    opener: Option<Helper>,
    /// The command's exec is answered with a stop pending, so that it
    /// stops before the new program's first instruction.
    stop_at_exec: bool,
}

impl Handshake {
    /// The next report; `None` at EOF or when the child died without one.
    /// Waits on the pidfd too: while we hold the child's end of the socket,
    /// a child killed before its first report would never give EOF.
    fn read_report(&self) -> Result<Option<Report>> {
        self.read_report_with(None)
    }

    /// The report after the listener's, while answering the one trapped
    /// call the child may make before it: its own execve, when the policy
    /// traps exec (for exec events). That call runs our prepared argv in
    /// the child's private memory, with no other thread or process that
    /// could change it: let through. Anything else is refused.
    fn read_report_serving(&self, listener: &Listener) -> Result<Option<Report>> {
        self.read_report_with(Some(listener))
    }

    /// Answers the call; true when it was the child's execve, answered
    /// with a stop pending.
    fn answer_spawn_call(&self, listener: &Listener) -> Result<bool> {
        let Ok(Some(n)) = listener.receive() else {
            return Ok(false);
        };
        let own_exec = n.tid() == self.pid && n.nr == libc::SYS_execve;
        if own_exec && self.stop_at_exec {
            process::pidfd_send_signal(self.pidfd.as_raw_fd(), libc::SIGSTOP)
                .map_err(|e| Error::os("spawn: stopping the child at its execve", e))?;
        }
        let answer = if own_exec {
            Answer::ContinueOnRegisters
        } else {
            Answer::Errno(libc::EPERM)
        };
        listener
            .respond(n.id, answer)
            .map_err(|e| Error::os("spawn: answering the child's execve", e))?;
        Ok(own_exec && self.stop_at_exec)
    }

    /// After the execve answered with a stop pending: the child stops
    /// either before its new program's first instruction, or, when the
    /// exec failed, on its way back, before it could write its report (no
    /// poll sees a stop, so this waits for it). True when the exec made a
    /// new image: the report socket closed with it (close-on-exec, and the
    /// kernel finishes that close before it stops the task). A failed exec
    /// is continued, to report its errno and exit.
    fn settle_stopped_exec(&self) -> Result<bool> {
        let pidfd = self.pidfd.as_raw_fd();
        let stopped = process::wait_stop_or_end(pidfd)
            .map_err(|e| Error::os("spawn: waiting for the child's execve", e))?;
        if !stopped {
            // Ended: its report, or its end, is read next.
            return Ok(false);
        }
        let mut byte = 0u8;
        // SAFETY: a one-byte buffer; a non-blocking peek.
        let n = unsafe {
            libc::recv(
                self.sock.as_raw_fd(),
                &mut byte as *mut u8 as *mut libc::c_void,
                1,
                libc::MSG_DONTWAIT | libc::MSG_PEEK,
            )
        };
        if n == 0 {
            return Ok(true);
        }
        process::pidfd_send_signal(pidfd, libc::SIGCONT)
            .map_err(|e| Error::os("spawn: continuing the child after its execve", e))?;
        Ok(false)
    }

    fn read_report_with(&self, listener: Option<&Listener>) -> Result<Option<Report>> {
        let mut report = Report::default();
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: self.sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: listener.map_or(-1, |l| l.raw()),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: valid pollfds.
            if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
                if sys::errno() == libc::EINTR {
                    continue;
                }
                return Err(Error::last_os("spawn: poll"));
            }
            // The report (or EOF) first: once the child has exec'd, what it
            // traps is the supervisor's to answer.
            let exec_pending = fds[0].revents == 0 && fds[1].revents == 0;
            if let (Some(listener), true) =
                (listener, exec_pending && fds[2].revents & libc::POLLIN != 0)
            {
                if self.answer_spawn_call(listener)? && self.settle_stopped_exec()? {
                    return Ok(None);
                }
                continue;
            }
            if fds[0].revents == 0 {
                // The child exited; a report it wrote first is still queued.
                fds[0].revents = libc::POLLIN;
            }
            // SAFETY: report is a valid buffer of its size; nonblocking read.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    &mut report as *mut Report as *mut libc::c_void,
                    std::mem::size_of::<Report>(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n == std::mem::size_of::<Report>() as isize {
                return Ok(Some(report));
            }
            if n == 0 || (n < 0 && sys::errno() == libc::EAGAIN && fds[1].revents != 0) {
                return Ok(None);
            }
            if n < 0 && (sys::errno() == libc::EINTR || sys::errno() == libc::EAGAIN) {
                continue;
            }
            if n < 0 {
                return Err(Error::last_os("spawn: reading the child's report"));
            }
            return Err(Error::new(libc::EIO, "spawn: short report from the child"));
        }
    }

    /// Kills and reaps the child after a failure on either side. (Its
    /// watchdog goes with the write end the caller drops.)
    fn abandon(&self) {
        process::kill_and_reap(self.pidfd.as_raw_fd());
    }

    fn failure(&self, prepared: &Prepared, report: Report) -> Error {
        self.abandon();
        let errno = report.value;
        match Stage(report.stage) {
            Stage::EXECVE => Error::new(
                errno,
                format!("execve \"{}\": {}", prepared.shown_exe, strerror(errno)),
            ),
            Stage::LANDLOCK if errno == libc::ENOSYS || errno == libc::EOPNOTSUPP => Error::new(
                libc::ENOSYS,
                format!("landlock_restrict_self: {}", strerror(errno)),
            ),
            stage => Error::new(
                errno,
                format!("spawn: {}: {}", stage.describe(), strerror(errno)),
            ),
        }
    }

    fn run(mut self, prepared: &Prepared) -> Result<Child> {
        let first = self.read_report();
        // From here on the child has its own fd table (or is dead).
        self.child_sock = None;
        if let Ok(Some(report)) = &first {
            // Our children: each pid stays theirs until we reap it.
            self.watchdog = (report.watchdog > 0)
                .then(|| Helper::of(report.watchdog))
                .flatten();
            self.opener = (report.opener > 0)
                .then(|| Helper::of(report.opener))
                .flatten();
        }
        let first = match first {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.abandon();
                return Err(Error::new(
                    libc::ECHILD,
                    "spawn: the child died before it was confined",
                ));
            }
            Err(e) => {
                self.abandon();
                return Err(e);
            }
        };
        if first.listener >= 0 {
            // SAFETY: the child created this fd in our table and reported
            // it; nothing else owns it.
            let listener = Listener::new(unsafe { sys::own(first.listener) });
            if first.kind != REPORT_LISTENER {
                return Err(self.failure(prepared, first));
            }
            let after = if prepared.traps_exec {
                self.read_report_serving(&listener)
            } else {
                self.read_report()
            };
            return match after {
                Ok(None) => Ok(Child {
                    pid: self.pid,
                    pidfd: self.pidfd,
                    listener,
                    watchdog: self.watchdog.take(),
                    opener: self.opener.take(),
                }),
                Ok(Some(report)) => Err(self.failure(prepared, report)),
                Err(e) => {
                    self.abandon();
                    Err(e)
                }
            };
        }
        if first.kind == REPORT_LISTENER {
            self.abandon();
            return Err(Error::new(
                libc::EIO,
                "spawn: the child reported no listener",
            ));
        }
        Err(self.failure(prepared, first))
    }
}

// ---- the child, between clone and exec: raw syscalls only ----

/// Writes a failure report and exits. Never returns, never allocates.
/// `helpers`: the watchdog's and the opener's pids (or -1), for the host
/// to reap (they are its children).
fn child_fail(sock: RawFd, stage: Stage, errno: i32, listener: RawFd, helpers: [i32; 2]) -> ! {
    let report = Report {
        kind: REPORT_FAILED,
        stage: stage.0,
        value: errno,
        listener,
        watchdog: helpers[0],
        opener: helpers[1],
    };
    // SAFETY: raw write of a stack value, then _exit.
    unsafe {
        libc::write(
            sock,
            &report as *const Report as *const libc::c_void,
            std::mem::size_of::<Report>(),
        );
        libc::_exit(127)
    }
}

fn child_reset_signals() -> sys::SysResult<()> {
    sys::set_all_dispositions(libc::SIG_DFL);
    let empty: u64 = 0;
    // SAFETY: raw syscall with a valid 8-byte mask.
    sys::check(unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            0usize,
            8usize,
        )
    })
    .map(drop)
}

fn child_stdio(stdio: [RawFd; 3]) -> sys::SysResult<()> {
    // Duplicate every source above 2 first, so a source that is itself 0, 1
    // or 2 is not overwritten before it is used.
    let mut moved = [-1; 3];
    for (slot, &src) in stdio.iter().enumerate() {
        if src >= 0 {
            // SAFETY: raw fcntl on an fd number.
            moved[slot] =
                sys::check(unsafe { libc::fcntl(src, libc::F_DUPFD_CLOEXEC, 3) } as _)? as RawFd;
        }
    }
    for (slot, &src) in moved.iter().enumerate() {
        if src >= 0 {
            // SAFETY: raw dup2; the new fd is not close-on-exec.
            sys::check(unsafe { libc::dup2(src, slot as RawFd) } as _)?;
        }
    }
    Ok(())
}

fn child_drop_capabilities(p: &Prepared) -> sys::SysResult<()> {
    use libc::{PR_CAPBSET_DROP, PR_SET_SECUREBITS};
    if p.drop_bounding_set {
        // No capabilities from exec'ing as root, locked.
        let bits = sys::SECBIT_NOROOT
            | sys::SECBIT_NOROOT_LOCKED
            | sys::SECBIT_NO_SETUID_FIXUP
            | sys::SECBIT_NO_SETUID_FIXUP_LOCKED
            | sys::SECBIT_KEEP_CAPS_LOCKED
            | sys::SECBIT_NO_CAP_AMBIENT_RAISE
            | sys::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
        sys::prctl(PR_SET_SECUREBITS, bits as libc::c_ulong)?;
        for cap in 0..=p.last_cap {
            match sys::prctl(PR_CAPBSET_DROP, cap as libc::c_ulong) {
                Ok(_) | Err(libc::EINVAL) => {}
                Err(errno) => return Err(errno),
            }
        }
    }
    match sys::clear_ambient_caps() {
        Ok(()) | Err(libc::EINVAL) => {}
        Err(errno) => return Err(errno),
    }
    sys::capset_clear_all()
}

fn child_install_filter(p: &Prepared) -> sys::SysResult<RawFd> {
    let prog = libc::sock_fprog {
        len: p.compiled.filter.len() as u16,
        filter: p.compiled.filter.as_ptr() as *mut libc::sock_filter,
    };
    let flags = raw_seccomp::SECCOMP_FILTER_FLAG_NEW_LISTENER
        | raw_seccomp::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    // SAFETY: prog points to the prepared program, alive for this call.
    match unsafe { raw_seccomp::set_mode_filter(flags, &prog) } {
        // Kernels before 5.19 lack WAIT_KILLABLE_RECV.
        Err(libc::EINVAL) => unsafe {
            raw_seccomp::set_mode_filter(raw_seccomp::SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)
        },
        other => other,
    }
}

/// The child: confine, report the listener, exec. Only raw syscalls on
/// data prepared before the clone.
fn child_main(
    p: &Prepared,
    sock: RawFd,
    armed: &Armed,
    opener: Option<&crate::fs::opener::Prepared>,
) -> ! {
    // Phase 1, on the host's fd table: touch no descriptor but the
    // listener the filter creates.
    let fail = |stage: Stage, errno: i32| -> ! { child_fail(sock, stage, errno, -1, [-1, -1]) };
    if let Err(e) = child_reset_signals() {
        fail(Stage::SIGNALS, e);
    }
    // A process group of its own, so the supervisor can signal the sandbox
    // as a whole. Not a session: setsid() would also put the sandbox in a
    // scheduler autogroup of its own, and then the kernel stops waking the
    // host on the trapped task's CPU through epoll (measured: a supervised
    // syscall goes from ~7 us to ~23 us).
    // SAFETY: raw syscall.
    if unsafe { libc::setpgid(0, 0) } < 0 {
        fail(Stage::PROCESS_GROUP, sys::errno());
    }
    if let Some(cwd) = &p.cwd {
        // SAFETY: cwd is NUL-terminated.
        if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
            fail(Stage::CHDIR, sys::errno());
        }
    }
    if let Err(e) = child_drop_capabilities(p) {
        fail(Stage::CAPABILITIES, e);
    }
    if let Err(e) = sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1) {
        fail(Stage::NO_NEW_PRIVS, e);
    }
    // Before the filter, which refuses personality changes. Kept across
    // execve (the kernel clears only the unsafe bits, and this is not one
    // for a program without privileges).
    if p.no_aslr {
        const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;
        // SAFETY: raw syscall with an integer.
        if unsafe { libc::syscall(libc::SYS_personality, ADDR_NO_RANDOMIZE) } < 0 {
            fail(Stage::PERSONALITY, sys::errno());
        }
    }
    if let Some(cpus) = &p.cpus {
        // SAFETY: raw syscall; cpus is a valid set prepared before clone.
        if unsafe {
            libc::syscall(
                libc::SYS_sched_setaffinity,
                0,
                std::mem::size_of::<libc::cpu_set_t>(),
                cpus as *const libc::cpu_set_t,
            )
        } < 0
        {
            fail(Stage::AFFINITY, sys::errno());
        }
    }
    // Kept across execve; the filter then forbids turning it off.
    if p.adopt_orphans {
        if let Err(e) = sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) {
            fail(Stage::SUBREAPER, e);
        }
    }
    if let Err(e) = sys::landlock_restrict_self(p.compiled.ruleset.as_raw_fd(), 0) {
        fail(Stage::LANDLOCK, e);
    }
    // In the domain, before the filter: see spawn/watchdog.rs.
    let launch = watchdog::Launch {
        read_end: armed.read_end.as_raw_fd(),
        program: armed.program.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
        host: sys::getppid(),
        argv: p.watchdog_argv.as_ptr(),
    };
    // SAFETY: the stack is ours (in this child's copy of memory) and
    // launch outlives the call, which returns once the watchdog exec'd.
    let watchdog =
        unsafe { watchdog::start_in_child(p.watchdog_stack.as_ptr() as *mut u8, &launch) };
    // The opener too, the same way (src/fs/opener.rs). Without it no open
    // could be made: the sandbox must not start.
    let mut opener_pid = -1;
    if let Some(opener) = opener {
        let launch = watchdog::Launch {
            read_end: opener.child_end.as_raw_fd(),
            program: opener.program.as_raw_fd(),
            host: launch.host,
            argv: p.opener_argv.as_ptr(),
        };
        // SAFETY: as above; the watchdog is done with the stack (it exec'd).
        let started =
            unsafe { watchdog::start_in_child(p.watchdog_stack.as_ptr() as *mut u8, &launch) };
        if started <= 0 {
            child_fail(sock, Stage::OPENER, libc::EAGAIN, -1, [watchdog, -1]);
        }
        opener_pid = started;
    }
    let opener = opener_pid;
    if let Err(e) = sys::landlock_restrict_self(p.compiled.helper_fence.as_raw_fd(), 0) {
        child_fail(sock, Stage::LANDLOCK, e, -1, [watchdog, opener]);
    }
    let listener = match child_install_filter(p) {
        Ok(fd) => fd,
        Err(e) => child_fail(sock, Stage::SECCOMP, e, -1, [watchdog, opener]),
    };
    let fail = |stage: Stage, errno: i32| -> ! {
        child_fail(sock, stage, errno, listener, [watchdog, opener])
    };
    // SAFETY: raw syscall; the filter allows unshare without namespace flags.
    if unsafe { libc::unshare(libc::CLONE_FILES) } != 0 {
        fail(Stage::UNSHARE, sys::errno());
    }

    // Phase 2, on a private copy: the host has the listener now.
    let report = Report {
        kind: REPORT_LISTENER,
        stage: 0,
        value: 0,
        listener,
        watchdog,
        opener,
    };
    // SAFETY: raw write of a stack value; raw close of our copy.
    unsafe {
        if libc::write(
            sock,
            &report as *const Report as *const libc::c_void,
            std::mem::size_of::<Report>(),
        ) != std::mem::size_of::<Report>() as isize
        {
            // The parent is gone: never run unsupervised.
            libc::_exit(127);
        }
        libc::close(listener);
    }
    let fail = |stage: Stage, errno: i32| -> ! { child_fail(sock, stage, errno, -1, [-1, -1]) };
    let mut sock = sock;
    if sock <= 2 {
        // SAFETY: raw fcntl.
        match sys::check(unsafe { libc::fcntl(sock, libc::F_DUPFD_CLOEXEC, 3) } as _) {
            Ok(fd) => sock = fd as RawFd,
            Err(e) => fail(Stage::STDIO, e),
        }
    }
    let fail = |stage: Stage, errno: i32| -> ! { child_fail(sock, stage, errno, -1, [-1, -1]) };
    if let Err(e) = child_stdio(p.stdio) {
        fail(Stage::STDIO, e);
    }
    // Everything above stdio closes at exec; the report socket and the
    // ruleset are close-on-exec already.
    if let Err(e) = sys::close_range(3, u32::MAX, sys::CLOSE_RANGE_CLOEXEC) {
        fail(Stage::STDIO, e);
    }
    if let Some(limit) = &p.nofile {
        // SAFETY: limit is a valid rlimit64.
        if unsafe { libc::setrlimit64(libc::RLIMIT_NOFILE, limit) } != 0 {
            fail(Stage::RLIMIT, sys::errno());
        }
    }
    // SAFETY: raw execve on prepared, NUL-terminated data.
    unsafe { libc::execve(p.exe.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr()) };
    fail(Stage::EXECVE, sys::errno())
}

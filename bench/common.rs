//! What every case uses: the typical policy, the programs, medians, and
//! running a program bare or in a sandbox the host supervises from its own
//! epoll set.

use sandlock::{ExitReason, Policy, Sandbox, Step};
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Instant;

/// The system directories a typical policy lets a program read.
pub const SYSTEM_DIRS: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"];

/// SANDLOCK_BENCH_QUICK=1: one short round of everything (a smoke run).
pub fn quick() -> bool {
    std::env::var_os("SANDLOCK_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// `full` rounds, or 1 in a quick run.
pub fn rounds(full: usize) -> usize {
    if quick() {
        1
    } else {
        full
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "a median of nothing");
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn program(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.into());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: build it with `make bench` (or set {var})"
    );
    path
}

/// bench/workload.c, built by bench/run.sh.
pub fn workload() -> String {
    program("SANDLOCK_BENCH_WORKLOAD", "target/bench/workload")
}

/// bench/wakeup.c, built by bench/run.sh.
pub fn wakeup() -> String {
    program("SANDLOCK_BENCH_WAKEUP", "target/bench/wakeup")
}

/// The typical policy: the system directories readable, no network.
pub fn typical_policy() -> Policy {
    let mut p = Policy::new();
    for dir in SYSTEM_DIRS {
        if Path::new(dir).exists() {
            p.fs_read(OsStr::new(dir)).unwrap();
        }
    }
    p
}

/// The typical policy plus the workload program's directory.
pub fn workload_policy() -> Policy {
    let mut p = typical_policy();
    let workload = workload();
    let dir = Path::new(&workload).parent().unwrap();
    p.fs_read(dir.as_os_str()).unwrap();
    p
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: a valid array for two fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are new fds we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A host's own epoll set holding one sandbox fd.
pub struct HostEpoll(OwnedFd);

impl HostEpoll {
    pub fn new() -> Self {
        // SAFETY: plain call; the fd is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0, "epoll_create1");
        // SAFETY: a new fd we own.
        Self(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    pub fn raw(&self) -> i32 {
        std::os::fd::AsRawFd::as_raw_fd(&self.0)
    }

    pub fn add(&self, fd: i32, token: u64) {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: our epoll fd and a valid event.
        let r = unsafe { libc::epoll_ctl(self.raw(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        assert_eq!(r, 0, "epoll_ctl ADD");
    }

    pub fn remove(&self, fd: i32) {
        // SAFETY: our epoll fd.
        unsafe { libc::epoll_ctl(self.raw(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    /// The tokens of what is ready, waiting at most `timeout_ms`.
    pub fn wait(&self, timeout_ms: i32, ready: &mut Vec<u64>) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: a valid buffer of events.
        let n = unsafe {
            libc::epoll_wait(
                self.raw(),
                events.as_mut_ptr(),
                events.len() as i32,
                timeout_ms,
            )
        };
        ready.clear();
        ready.extend(events[..n.max(0) as usize].iter().map(|e| e.u64));
    }
}

/// Handles everything pending; true once the sandbox is gone.
pub fn drain(sandbox: &mut Sandbox) -> bool {
    loop {
        match sandbox.step().expect("sandlock_supervise_step") {
            Step::More => continue,
            Step::Idle => return false,
            Step::Exited => return true,
        }
    }
}

/// Supervises `sandbox` to its end from a host epoll set holding its fd,
/// as a host with an event loop of its own would.
pub fn supervise(sandbox: &mut Sandbox) {
    let epoll = HostEpoll::new();
    epoll.add(sandbox.fd(), 0);
    let mut ready = Vec::new();
    while !drain(sandbox) {
        epoll.wait(-1, &mut ready);
    }
}

/// Runs `argv` in a sandbox under `policy`, supervised from a host epoll
/// set; returns what it printed, and panics unless it exited with 0.
pub fn run_sandboxed(policy: &Policy, argv: &[&str]) -> String {
    let (read, write) = pipe();
    let argv: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&write);
    let mut sandbox = sandlock::spawn(policy, &argv, [-1, raw, -1]).expect("sandlock spawn");
    drop(write);
    supervise(&mut sandbox);
    let mut out = String::new();
    std::fs::File::from(read).read_to_string(&mut out).unwrap();
    let reason = sandbox.exit_reason();
    assert_eq!(
        reason,
        ExitReason::Normal(0),
        "{argv:?} in a sandbox printed {out:?}"
    );
    out
}

/// Runs `argv` bare; returns what it printed, and panics unless it exited
/// with 0.
pub fn run_bare(argv: &[&str]) -> String {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{argv:?} printed {text:?}, {}",
        out.status
    );
    text
}

/// The number a self-timed program printed.
pub fn number(text: &str) -> f64 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("expected a number, got {text:?}"))
}

/// Runs the workload, bare (policy None) or sandboxed, and returns the
/// time it printed.
pub fn workload_time(policy: Option<&Policy>, args: &[&str]) -> f64 {
    let workload = workload();
    let mut argv = vec![workload.as_str()];
    argv.extend_from_slice(args);
    number(&match policy {
        None => run_bare(&argv),
        Some(p) => run_sandboxed(p, &argv),
    })
}

/// Wall time of `f` in microseconds.
pub fn time_us(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e6
}

/// Whether `name` is an executable on PATH; its full path if so.
pub fn which(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

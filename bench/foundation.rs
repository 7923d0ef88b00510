//! `cargo bench --bench foundation` (or `make bench`): the two hot paths of
//! the foundation, each against a baseline measured in the same run.
//!
//! 1. Spawn: fork+exec+wait of a tiny program, bare vs. under libsandlock
//!    with a typical policy (system dirs readable, no network).
//! 2. Supervised syscall: the child times a trapped getppid() that the
//!    supervisor answers, with the host waiting (a) in poll() on the sandbox
//!    fd, (b) in its own epoll set holding the sandbox fd, (c) in
//!    sandlock_sandbox_wait(), which polls the listener itself; against the
//!    same call untrapped. The raw kernel round trip without the library is
//!    bench/wakeup.c.
//!
//! 3. A supervised TCP connect+close on loopback (checked and performed by
//!    the supervisor) against the same loop unsandboxed.
//!
//! 4. Limits: an allocation-heavy loop under max_memory (sampled from a
//!    timer, never trapped) and fork+exit+waitpid under max_processes (each
//!    fork trapped and counted), against the same programs bare
//!    (bench/limits.c, SANDLOCK_BENCH_LIMITS).
//!
//! 5. Opens: an open+close loop bare, sandboxed, and under fs_deny (each
//!    open made by the supervisor through the opener and handed over); and
//!    an open-heavy walk (`find`) bare, sandboxed, and with a private /proc,
//!    which decided that a private /proc is not the default.
//!
//! Needs the probe (`make build target/c-tests/probe`); SANDLOCK_PROBE
//! points to it.

use sandlock::{Policy, Sandbox, Step};
use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn probe() -> String {
    std::env::var("SANDLOCK_PROBE").unwrap_or_else(|_| "target/c-tests/probe".into())
}

fn policy() -> Policy {
    let mut p = Policy::new();
    for dir in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] {
        if std::path::Path::new(dir).exists() {
            p.fs_read(OsStr::new(dir)).unwrap();
        }
    }
    let probe = probe();
    p.fs_read(std::path::Path::new(&probe).parent().unwrap().as_os_str())
        .unwrap();
    p
}

/// Microseconds per bare fork + execv + waitpid of `path args`.
fn bare_spawn_us(path: &str, args: &[&str], runs: usize) -> f64 {
    let path_c = CString::new(path).unwrap();
    let args_c: Vec<CString> = std::iter::once(path)
        .chain(args.iter().copied())
        .map(|a| CString::new(a).unwrap())
        .collect();
    let mut argv: Vec<*const libc::c_char> = args_c.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let start = Instant::now();
    for _ in 0..runs {
        // SAFETY: the child only calls execv and _exit.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                libc::execv(path_c.as_ptr(), argv.as_ptr());
                libc::_exit(127);
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / runs as f64
}

fn sandlock_spawn_us(policy: &Policy, path: &str, args: &[&str], runs: usize) -> f64 {
    let argv: Vec<&OsStr> = std::iter::once(path)
        .chain(args.iter().copied())
        .map(OsStr::new)
        .collect();
    let start = Instant::now();
    for _ in 0..runs {
        let mut sandbox = sandlock::spawn(policy, &argv, [-1; 3]).unwrap();
        sandbox.wait().unwrap();
    }
    start.elapsed().as_secs_f64() * 1e6 / runs as f64
}

#[derive(Clone, Copy)]
enum HostWait {
    /// sandlock_sandbox_wait(): poll() on the listener, pidfd and timer.
    LibraryWait,
    /// The host poll()s the sandbox fd.
    PollSandboxFd,
    /// The host's own epoll set holds the sandbox fd.
    HostEpoll,
}

/// The child's own mean getppid() time in microseconds.
fn getppid_us(policy: &Policy, calls: u64, wait: HostWait) -> f64 {
    let mut fds = [0; 2];
    // SAFETY: valid array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let probe = probe();
    let calls = calls.to_string();
    let mut sandbox = sandlock::spawn(
        policy,
        &[
            OsStr::new(&probe),
            OsStr::new("getppid"),
            OsStr::new(&calls),
        ],
        [-1, fds[1], -1],
    )
    .unwrap();
    // SAFETY: ours.
    unsafe { libc::close(fds[1]) };
    supervise(&mut sandbox, wait);
    let mut out = String::new();
    // SAFETY: ours.
    unsafe { std::fs::File::from_raw_fd(fds[0]) }
        .read_to_string(&mut out)
        .unwrap();
    out.trim().parse::<f64>().expect("probe output") / 1000.0
}

fn supervise(sandbox: &mut Sandbox, wait: HostWait) {
    // SAFETY: plain epoll calls on fds we own.
    let host_epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 0,
    };
    unsafe { libc::epoll_ctl(host_epoll, libc::EPOLL_CTL_ADD, sandbox.fd(), &mut event) };
    if let HostWait::LibraryWait = wait {
        sandbox.wait().unwrap();
        unsafe { libc::close(host_epoll) };
        return;
    }
    loop {
        match wait {
            HostWait::PollSandboxFd => {
                let mut p = libc::pollfd {
                    fd: sandbox.fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                unsafe { libc::poll(&mut p, 1, -1) };
            }
            HostWait::HostEpoll | HostWait::LibraryWait => {
                let mut ev = libc::epoll_event { events: 0, u64: 0 };
                unsafe { libc::epoll_wait(host_epoll, &mut ev, 1, -1) };
            }
        }
        let mut step = sandbox.step().unwrap();
        while step == Step::More {
            step = sandbox.step().unwrap();
        }
        if step == Step::Exited {
            break;
        }
    }
    unsafe { libc::close(host_epoll) };
}

/// What `program args` prints (its own measurement), run bare (policy
/// None) or in a sandbox under `policy`.
fn self_timed(policy: Option<&Policy>, program: &str, args: &[&str]) -> f64 {
    let out = match policy {
        None => {
            let out = std::process::Command::new(program)
                .args(args)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        Some(policy) => {
            let mut fds = [0; 2];
            // SAFETY: valid array.
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
            let mut argv = vec![OsStr::new(program)];
            argv.extend(args.iter().map(OsStr::new));
            let mut sandbox = sandlock::spawn(policy, &argv, [-1, fds[1], -1]).unwrap();
            // SAFETY: ours.
            unsafe { libc::close(fds[1]) };
            sandbox.wait().unwrap();
            let mut out = String::new();
            // SAFETY: ours.
            unsafe { std::fs::File::from_raw_fd(fds[0]) }
                .read_to_string(&mut out)
                .unwrap();
            out
        }
    };
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{program} {args:?} printed {out:?}"))
}

/// The probe's mean connect+close time in microseconds, bare (policy None)
/// or in a sandbox allowed to reach `port` on 127.0.0.1.
fn connect_us(policy: Option<&Policy>, port: u16, rounds: u64) -> f64 {
    let (port, rounds) = (port.to_string(), rounds.to_string());
    let args = ["connect_loop", "127.0.0.1", port.as_str(), rounds.as_str()];
    self_timed(policy, &probe(), &args)
}

fn limits_program() -> String {
    std::env::var("SANDLOCK_BENCH_LIMITS").unwrap_or_else(|_| "target/bench/limits".into())
}

/// Medians of the limits workloads: (malloc bare, malloc under
/// max_memory, fork bare, fork under max_processes), in microseconds
/// (the fork ones per fork).
fn limits(policy: &Policy, rounds: usize) -> [f64; 4] {
    let program = limits_program();
    let mut with_memory = policy.clone();
    with_memory
        .fs_read(std::path::Path::new(&program).as_os_str())
        .unwrap();
    let mut with_processes = with_memory.clone();
    with_memory.max_memory(1 << 30).unwrap();
    with_processes.max_processes(64).unwrap();
    let forks = 500;
    let mut runs: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        let malloc = ["malloc", "1000000"];
        runs[0].push(self_timed(None, &program, &malloc));
        runs[1].push(self_timed(Some(&with_memory), &program, &malloc));
        let fork = ["forks", "500"];
        runs[2].push(self_timed(None, &program, &fork) / forks as f64);
        runs[3].push(self_timed(Some(&with_processes), &program, &fork) / forks as f64);
    }
    runs.map(median)
}

/// Medians of an open+close loop: bare, sandboxed, and under fs_deny
/// (every open made on the child's behalf), in microseconds per open.
fn opens(policy: &Policy, rounds: usize) -> [f64; 3] {
    let program = limits_program();
    let mut plain = policy.clone();
    plain
        .fs_read(std::path::Path::new(&program).as_os_str())
        .unwrap();
    plain.fs_read(OsStr::new("/etc")).unwrap();
    let mut denying = plain.clone();
    denying.fs_deny(OsStr::new("/etc/shadow")).unwrap();
    let n = 2000;
    let args = ["opens", "2000"];
    let mut runs: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        runs[0].push(self_timed(None, &program, &args) / n as f64);
        runs[1].push(self_timed(Some(&plain), &program, &args) / n as f64);
        runs[2].push(self_timed(Some(&denying), &program, &args) / n as f64);
    }
    runs.map(median)
}

/// Median wall time in milliseconds of `find /usr/share -type f | head
/// -20000` (an open- and stat-heavy walk), bare, in a plain sandbox, and
/// with a private /proc (every open made on the child's behalf).
fn find_walk(policy: &Policy, rounds: usize) -> [f64; 3] {
    let script = "find /usr/share -type f | head -20000 > /dev/null";
    let argv = [OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)];
    let mut plain = policy.clone();
    plain.fs_read(OsStr::new("/proc")).unwrap();
    plain.fs_write(OsStr::new("/dev/null")).unwrap();
    let mut private = plain.clone();
    private.private_proc(true).unwrap();
    let mut runs: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        let start = Instant::now();
        std::process::Command::new("/bin/sh")
            .args(["-c", script])
            .status()
            .unwrap();
        runs[0].push(start.elapsed().as_secs_f64() * 1e3);
        for (i, p) in [(1, &plain), (2, &private)] {
            let start = Instant::now();
            let mut sandbox = sandlock::spawn(p, &argv, [-1; 3]).unwrap();
            sandbox.wait().unwrap();
            runs[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    runs.map(median)
}

fn main() {
    let rounds = 5;
    let spawn_runs = 200;
    let calls = 20_000;
    let policy = policy();
    let mut trapped = policy.clone();
    trapped.supervise(sandlock::syscall_table::number("getppid").unwrap());
    let probe = probe();

    let mut bare = Vec::new();
    let mut boxed = Vec::new();
    for _ in 0..rounds {
        bare.push(bare_spawn_us(&probe, &["exit", "0"], spawn_runs));
        boxed.push(sandlock_spawn_us(
            &policy,
            &probe,
            &["exit", "0"],
            spawn_runs,
        ));
    }
    let (bare, boxed) = (median(bare), median(boxed));

    let mut untrapped = Vec::new();
    let mut polled = Vec::new();
    let mut nested = Vec::new();
    let mut library = Vec::new();
    for _ in 0..rounds {
        untrapped.push(getppid_us(&policy, calls, HostWait::PollSandboxFd));
        polled.push(getppid_us(&trapped, calls, HostWait::PollSandboxFd));
        nested.push(getppid_us(&trapped, calls, HostWait::HostEpoll));
        library.push(getppid_us(&trapped, calls, HostWait::LibraryWait));
    }
    let (untrapped, polled, nested) = (median(untrapped), median(polled), median(nested));
    let library = median(library);

    // A listener the probe connects to, drained by a thread of the bench's
    // own (the library itself starts none).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A deep backlog: an overflow costs a one-second SYN retry.
    // SAFETY: listen() again only resizes the queue of our listener.
    unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 4096) };
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn)
        }
    });
    let mut net_policy = policy.clone();
    net_policy
        .net_allow(&format!("tcp://127.0.0.1:{port}"))
        .unwrap();
    let mut bare_connect = Vec::new();
    let mut boxed_connect = Vec::new();
    for _ in 0..rounds {
        bare_connect.push(connect_us(None, port, 2000));
        boxed_connect.push(connect_us(Some(&net_policy), port, 2000));
    }
    let (bare_connect, boxed_connect) = (median(bare_connect), median(boxed_connect));
    let [malloc_bare, malloc_limited, fork_bare, fork_limited] = limits(&policy, rounds);
    let [open_bare, open_boxed, open_denying] = opens(&policy, rounds);
    let [find_bare, find_boxed, find_private] = find_walk(&policy, 3);

    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "libsandlock foundation bench: kernel {}, {cpus} CPUs, medians of {rounds} rounds",
        kernel.trim()
    );
    println!();
    println!("| case | time | ratio |");
    println!("|---|---|---|");
    println!("| spawn+wait, bare fork+exec (baseline) | {bare:.0} us | 1.00 |");
    println!(
        "| spawn+wait, libsandlock | {boxed:.0} us | {:.2} |",
        boxed / bare
    );
    println!("| getppid, not trapped (baseline) | {untrapped:.2} us | 1.00 |");
    println!(
        "| getppid trapped, host poll()s the sandbox fd | {polled:.2} us | {:.1} |",
        polled / untrapped
    );
    println!(
        "| getppid trapped, sandbox fd inside the host's epoll | {nested:.2} us | {:.1} |",
        nested / untrapped
    );
    println!("| getppid trapped, sandlock_sandbox_wait() (polls the listener itself) | {library:.2} us | {:.1} |", library / untrapped);
    println!("| TCP connect+close on loopback, bare (baseline) | {bare_connect:.2} us | 1.00 |");
    println!(
        "| TCP connect+close, supervised on-behalf connect | {boxed_connect:.2} us | {:.2} |",
        boxed_connect / bare_connect
    );
    println!("| 1,000,000 malloc/free pairs, bare (baseline) | {malloc_bare:.0} us | 1.00 |");
    println!(
        "| 1,000,000 malloc/free pairs, max_memory set (sampled RSS) | {malloc_limited:.0} us | {:.2} |",
        malloc_limited / malloc_bare
    );
    println!("| fork+exit+waitpid, bare (baseline) | {fork_bare:.1} us | 1.00 |");
    println!(
        "| fork+exit+waitpid, max_processes set (trapped, counted) | {fork_limited:.1} us | {:.2} |",
        fork_limited / fork_bare
    );
    println!("| open+close, bare (baseline) | {open_bare:.1} us | 1.00 |");
    println!(
        "| open+close, sandboxed (not trapped) | {open_boxed:.1} us | {:.2} |",
        open_boxed / open_bare
    );
    println!(
        "| open+close under fs_deny (made on the child's behalf) | {open_denying:.1} us | {:.1} |",
        open_denying / open_bare
    );
    println!(
        "| find /usr/share -type f, 20,000 files, bare (baseline) | {find_bare:.0} ms | 1.00 |"
    );
    println!(
        "| the same, sandboxed | {find_boxed:.0} ms | {:.2} |",
        find_boxed / find_bare
    );
    println!(
        "| the same, with a private /proc (opens on behalf) | {find_private:.0} ms | {:.1} |",
        find_private / find_bare
    );
}

//! Case 4: N sandboxes at once, supervised by one host thread from one
//! epoll set, each making 100 trapped syscalls (denied connects).

use crate::common::{self, median, workload_policy, HostEpoll};
use sandlock::{ExitReason, Sandbox};
use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::time::Instant;

const CALLS: usize = 100;

/// One run with `n` sandboxes.
struct Run {
    spawn_ms: f64,
    run_ms: f64,
    cpu_ms: f64,
    rss_kib: f64,
    heap_kib: f64,
    fds: f64,
}

fn cpu_ms() -> f64 {
    // SAFETY: a zeroed rusage is valid for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

fn rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    common::number(line.split_whitespace().nth(1).unwrap())
}

/// Bytes in use in the C heap (the library and the bench both allocate
/// there): unlike RSS, it counts memory reused from earlier cases too.
fn heap_kib() -> f64 {
    // SAFETY: a plain query of glibc's allocator.
    unsafe { libc::mallinfo2() }.uordblks as f64 / 1024.0
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Soft RLIMIT_NOFILE up to the hard one: 1,000 sandboxes hold a few
/// thousand fds.
pub fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

fn once(n: usize, port: &str) -> Result<Run, String> {
    let mut policy = workload_policy();
    // A rule for one port makes TCP sockets possible; connects elsewhere
    // are denied by the supervisor.
    let allowed = crate::syscalls::closed_port();
    policy
        .net_allow(&format!("tcp://127.0.0.1:{allowed}"))
        .unwrap();
    let workload = common::workload();
    let calls = CALLS.to_string();
    let argv = [workload.as_str(), "job", port, calls.as_str()].map(OsStr::new);
    // Every job waits for the end of this pipe before its calls, so all n
    // are alive at once when the host's growth is measured.
    let base_fds = open_fds();
    let (go_read, go_write) = common::pipe();
    let epoll = HostEpoll::new();
    let (fds0, rss0, heap0, cpu0) = (open_fds(), rss_kib(), heap_kib(), cpu_ms());
    let start = Instant::now();
    let mut sandboxes: Vec<Option<Sandbox>> = Vec::with_capacity(n);
    for i in 0..n {
        let sandbox = sandlock::spawn(&policy, &argv, [go_read.as_raw_fd(), -1, -1])
            .map_err(|e| format!("spawning sandbox {} of {n}: {e}", i + 1))?;
        epoll.add(sandbox.fd(), i as u64);
        sandboxes.push(Some(sandbox));
    }
    let spawn_ms = start.elapsed().as_secs_f64() * 1e3;
    let fds = (open_fds() - fds0) as f64 / n as f64;
    let rss = (rss_kib() - rss0) / n as f64;
    let heap = (heap_kib() - heap0) / n as f64;
    drop(go_read);
    drop(go_write);
    let started = Instant::now();
    let mut left = n;
    let mut ready = Vec::new();
    while left > 0 {
        epoll.wait(-1, &mut ready);
        for &i in &ready {
            let slot = &mut sandboxes[i as usize];
            let Some(sandbox) = slot.as_mut() else {
                continue;
            };
            if common::drain(sandbox) {
                let reason = sandbox.exit_reason();
                if reason != ExitReason::Normal(0) {
                    return Err(format!("job {i} of {n} ended with {reason:?}"));
                }
                epoll.remove(sandbox.fd());
                *slot = None;
                left -= 1;
            }
        }
    }
    let run_ms = started.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu_ms() - cpu0;
    drop(sandboxes);
    drop(epoll);
    // The policy keeps its compiled Landlock ruleset (an fd) until freed.
    drop(policy);
    if open_fds() != base_fds {
        return Err(format!(
            "the host has {} fds after freeing every sandbox, {base_fds} before",
            open_fds()
        ));
    }
    Ok(Run {
        spawn_ms,
        run_ms,
        cpu_ms: cpu,
        rss_kib: rss,
        heap_kib: heap,
        fds,
    })
}

pub fn run() -> Vec<String> {
    let limit = raise_fd_limit();
    let port = crate::syscalls::closed_port().to_string();
    let sizes: &[(usize, usize)] = if common::quick() {
        &[(1, 1), (100, 1)]
    } else {
        &[(1, 9), (100, 5), (1000, 3)]
    };
    let mut lines = vec![
        format!(
            "4. Scale: N sandboxes at once, one host thread, one epoll set; each job makes {CALLS} trapped syscalls (denied connects). Medians; host CPU by getrusage, heap, RSS and fds measured with all N alive (RLIMIT_NOFILE {limit})."
        ),
        String::new(),
        "| N | spawn all | run all | total | per sandbox | ratio to N=1 | host CPU | host heap per sandbox | host RSS growth per sandbox | host fds per sandbox | target |".into(),
        "|---|---|---|---|---|---|---|---|---|---|---|".into(),
    ];
    let mut per_one = None;
    for &(n, rounds) in sizes {
        let runs: Result<Vec<Run>, String> = (0..rounds).map(|_| once(n, &port)).collect();
        let runs = match runs {
            Ok(runs) => runs,
            Err(e) => {
                let target = if n == 1000 {
                    "1,000 concurrent sandboxes in one thread: **not met**"
                } else {
                    ""
                };
                lines.push(format!("| {n} | failed: {e} | | | | | | | | | {target} |"));
                continue;
            }
        };
        let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let (spawn, run, cpu) = (m(|r| r.spawn_ms), m(|r| r.run_ms), m(|r| r.cpu_ms));
        let total = m(|r| r.spawn_ms + r.run_ms);
        let per = total / n as f64;
        let one = *per_one.get_or_insert(per);
        let target = if n == 1000 {
            "1,000 concurrent sandboxes in one thread: **met**"
        } else {
            ""
        };
        lines.push(format!(
            "| {n} | {spawn:.0} ms | {run:.0} ms | {total:.0} ms | {:.0} us | {:.2} | {cpu:.0} ms | {:.1} KiB | {:.0} KiB | {:.1} | {target} |",
            per * 1e3,
            per / one,
            m(|r| r.heap_kib),
            // The first round's: later ones reuse what it grew.
            runs.iter().map(|r| r.rss_kib).fold(0.0, f64::max),
            m(|r| r.fds),
        ));
    }
    lines
}

//! Case 2: one trapped syscall against the raw seccomp notification round
//! trip; 2b: a notification-heavy walk of /usr/share; 3: the default
//! filter's cost on untrapped syscalls; and the limits and fs_deny rows
//! kept from earlier benchmarks.

use crate::common::{self, median, workload_policy, workload_time};
use crate::table::{Table, Target, Value};
use sandlock::Policy;
use std::ffi::OsStr;
use std::net::TcpListener;
use std::time::Instant;

/// The raw round trip measured by bench/wakeup.c: the supervisor in an
/// epoll set holding the listener (mode C), with or without the same-CPU
/// wake-up flag; the child's own microseconds per trapped call.
fn raw_round_trip(flag: bool, calls: u32) -> f64 {
    let flag = if flag { "1" } else { "0" };
    let out = common::run_bare(&[&common::wakeup(), "bench", "C", flag, &calls.to_string()]);
    // "C <flag> <us>"
    common::number(out.split_whitespace().nth(2).expect("wakeup output"))
}

/// A loopback listener whose connections a thread of the bench accepts
/// and drops (the library itself starts no thread).
fn listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A deep backlog: an overflow costs a one-second SYN retry.
    // SAFETY: listen() again only resizes the queue of our listener.
    unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 4096) };
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn)
        }
    });
    port
}

/// A port nothing listens on (bound once, then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Case 2.
pub fn supervised(table: &mut Table) {
    let rounds = common::rounds(5);
    let calls = if common::quick() { 2000 } else { 10_000 };
    let (mut raw, mut raw_noflag, mut denied) = (vec![], vec![], vec![]);
    let (mut bare_connect, mut boxed_connect) = (vec![], vec![]);
    let port = listener();
    let other = closed_port();
    let mut policy = workload_policy();
    policy
        .net_allow(&format!("tcp://127.0.0.1:{port}"))
        .unwrap();
    let (port, other) = (port.to_string(), other.to_string());
    let n = calls.to_string();
    let connects = (calls / 5).to_string();
    for _ in 0..rounds {
        raw.push(raw_round_trip(true, calls));
        raw_noflag.push(raw_round_trip(false, calls / 4));
        denied.push(workload_time(Some(&policy), &["denied", &other, &n]));
        bare_connect.push(workload_time(None, &["connect", &port, &connects]));
        boxed_connect.push(workload_time(Some(&policy), &["connect", &port, &connects]));
    }
    let raw = Value::us(median(raw));
    let raw_noflag = Value::us(median(raw_noflag));
    let denied = Value::us(median(denied));
    let bare_connect = Value::us(median(bare_connect));
    let boxed_connect = Value::us(median(boxed_connect));
    table.baseline(
        "2. raw seccomp notification round trip, supervisor in epoll, same-CPU wake-up (bench/wakeup.c)",
        raw,
    );
    table.compare(
        "2. the same without the wake-up flag",
        raw_noflag,
        raw,
        "raw",
        None,
    );
    table.compare(
        "2. a denied connect, trapped and answered by `sandlock_supervise_step`, host epoll",
        denied,
        raw,
        "raw",
        Some(Target::at_most(denied.v / raw.v, 2.0, "within 2x of raw")),
    );
    table.baseline(
        "2. TCP connect+close to a loopback listener, bare",
        bare_connect,
    );
    table.compare(
        "2. the same sandboxed: connect checked and made on the child's behalf",
        boxed_connect,
        bare_connect,
        "bare",
        None,
    );
    let added = Value::us(boxed_connect.v - bare_connect.v);
    table.compare(
        "2. time the on-behalf connect adds (sandboxed - bare)",
        added,
        raw,
        "raw",
        Some(Target::at_most(added.v / raw.v, 2.0, "within 2x of raw")),
    );
}

/// Milliseconds of `script` in a sandbox under `policy` (spawn included).
fn sandboxed_ms(policy: &Policy, script: &str) -> f64 {
    let argv = [OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)];
    let start = Instant::now();
    let mut sandbox = sandlock::spawn(policy, &argv, [-1; 3]).unwrap();
    common::supervise(&mut sandbox);
    assert_eq!(
        sandbox.exit_reason(),
        sandlock::ExitReason::Normal(0),
        "{script}"
    );
    start.elapsed().as_secs_f64() * 1e3
}

/// Case 2b: `find /usr/share -type f`.
pub fn find_walk(table: &mut Table) {
    // Unreadable directories (polkit's rules.d, say) are skipped alike.
    let script = "find /usr/share -type f > /dev/null 2>&1; true";
    let rounds = common::rounds(3);
    let files = common::run_bare(&["/bin/sh", "-c", "find /usr/share -type f | wc -l"]);
    let mut plain = common::typical_policy();
    plain.fs_write(OsStr::new("/dev/null")).unwrap();
    let mut denying = plain.clone();
    denying.fs_deny(OsStr::new("/etc/shadow")).unwrap();
    let mut private = plain.clone();
    private.fs_read(OsStr::new("/proc")).unwrap();
    private.private_proc(true).unwrap();
    let mut runs: [Vec<f64>; 4] = Default::default();
    let mut upstream = Vec::new();
    let mut upstream_error = None;
    for _ in 0..rounds {
        runs[0].push(
            common::time_us(|| {
                common::run_bare(&["/bin/sh", "-c", script]);
            }) / 1e3,
        );
        for (i, p) in [(1, &plain), (2, &denying), (3, &private)] {
            runs[i].push(sandboxed_ms(p, script));
        }
        if upstream_error.is_none() {
            match crate::spawn::upstream(&["find"]) {
                Ok(ms) => upstream.push(ms),
                Err(e) => upstream_error = Some(e),
            }
        }
    }
    let [bare, plain, denying, private] = runs.map(|v| Value::ms(median(v)));
    let files = files.trim();
    table.baseline(
        &format!("2b. `find /usr/share -type f` ({files} files), bare"),
        bare,
    );
    table.compare(
        "2b. the same under libsandlock, nothing trapped",
        plain,
        bare,
        "bare",
        None,
    );
    table.compare(
        "2b. the same under libsandlock with `fs_deny` (every open and stat trapped, opens made on behalf)",
        denying,
        bare,
        "bare",
        None,
    );
    table.compare(
        "2b. the same under libsandlock with a private /proc (opens and listings trapped)",
        private,
        bare,
        "bare",
        None,
    );
    let row = "2b. the same under upstream sandlock with `fs_denied` (PyPI, `Sandbox.run`)";
    match upstream_error {
        Some(e) => table.missing(row, &e),
        None => table.compare(row, Value::ms(median(upstream)), bare, "bare", None),
    }
}

/// Case 3: getpid, a read of /dev/zero and a stat, bare and sandboxed.
pub fn unsupervised(table: &mut Table) {
    let rounds = common::rounds(9);
    let n = if common::quick() { "20000" } else { "200000" };
    let mut policy = workload_policy();
    policy.fs_read(OsStr::new("/dev/zero")).unwrap();
    let (mut bare, mut boxed) = (vec![], vec![]);
    for _ in 0..rounds {
        bare.push(workload_time(None, &["syscalls", n]));
        boxed.push(workload_time(Some(&policy), &["syscalls", n]));
    }
    let (bare, boxed) = (Value::ns(median(bare)), Value::ns(median(boxed)));
    table.baseline(
        "3. getpid + read of /dev/zero + stat, one round, bare",
        bare,
    );
    table.compare(
        "3. the same in a sandbox (default filter, nothing trapped)",
        boxed,
        bare,
        "bare",
        Some(Target::at_most(boxed.v / bare.v, 1.03, "overhead under 3%")),
    );
    // Which of the three the sandbox slows down, and how much of that any
    // seccomp filter at all costs.
    for name in ["getpid", "read", "stat"] {
        let (mut bare, mut boxed, mut any) = (vec![], vec![], vec![]);
        for _ in 0..common::rounds(5) {
            bare.push(workload_time(None, &["syscall", name, n]));
            boxed.push(workload_time(Some(&policy), &["syscall", name, n]));
            any.push(workload_time(None, &["allow-all", "syscall", name, n]));
        }
        let [bare, boxed, any] = [bare, boxed, any].map(|v| Value::ns(median(v)));
        let of = format!("{name} bare");
        table.compare(
            &format!("3. {name} alone, sandboxed"),
            boxed,
            bare,
            &of,
            None,
        );
        table.compare(
            &format!(
                "3. {name} alone under a one-instruction allow-all seccomp filter, no library"
            ),
            any,
            bare,
            &of,
            None,
        );
    }
}

/// The rows of earlier benchmarks: limits and fs_deny on a single open.
pub fn others(table: &mut Table) {
    let rounds = common::rounds(5);
    let policy = workload_policy();
    let mut with_memory = policy.clone();
    with_memory.max_memory(1 << 30).unwrap();
    let mut with_processes = policy.clone();
    with_processes.max_processes(64).unwrap();
    let mut opens = policy.clone();
    opens.fs_read(OsStr::new("/etc")).unwrap();
    let mut denying = opens.clone();
    denying.fs_deny(OsStr::new("/etc/shadow")).unwrap();
    let forks = 500.0;
    let open_n = 2000.0;
    let mut runs: [Vec<f64>; 7] = Default::default();
    for _ in 0..rounds {
        let malloc = ["malloc", "1000000"];
        runs[0].push(workload_time(None, &malloc) / 1e3);
        runs[1].push(workload_time(Some(&with_memory), &malloc) / 1e3);
        let fork = ["forks", "500"];
        runs[2].push(workload_time(None, &fork) / forks);
        runs[3].push(workload_time(Some(&with_processes), &fork) / forks);
        let open = ["opens", "2000"];
        runs[4].push(workload_time(None, &open) / open_n);
        runs[5].push(workload_time(Some(&opens), &open) / open_n);
        runs[6].push(workload_time(Some(&denying), &open) / open_n);
    }
    let v = runs.map(median);
    let (malloc, fork, open) = (Value::ms(v[0]), Value::us(v[2]), Value::us(v[4]));
    table.baseline("other: 1,000,000 malloc/free pairs, bare", malloc);
    table.compare(
        "other: the same under `max_memory` (sampled, never trapped)",
        Value::ms(v[1]),
        malloc,
        "bare",
        None,
    );
    table.baseline("other: fork+exit+waitpid, bare", fork);
    table.compare(
        "other: the same under `max_processes` (each fork trapped)",
        Value::us(v[3]),
        fork,
        "bare",
        None,
    );
    table.baseline("other: open+close of /etc/hostname, bare", open);
    table.compare(
        "other: the same in a sandbox (not trapped)",
        Value::us(v[5]),
        open,
        "bare",
        None,
    );
    table.compare(
        "other: the same under `fs_deny` (made on the child's behalf)",
        Value::us(v[6]),
        open,
        "bare",
        None,
    );
}

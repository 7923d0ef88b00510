//! The one table of trapped calls. Each row names syscalls, when the
//! policy wants them trapped, which of their calls are (every one, or
//! those whose register arguments match), and the handler that answers
//! them. The BPF filter's USER_NOTIF verdicts (`filter::build`) and the
//! supervisor's dispatch (`Dispatch`) are both derived from it, so a
//! trapped call always has a handler and a handler never waits for a call
//! the filter lets through. A call trapped by no row that still arrives
//! (a name the host asked to supervise) goes to the observer
//! (`Handler::Asked`).

use crate::policy::Features;
use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
use std::collections::{BTreeMap, BTreeSet};

/// What answers a trapped call (supervisor/mod.rs, `Sandbox::handle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Handler {
    /// net/handler.rs, each its own call.
    Connect,
    SendTo,
    SendMsg,
    SendMmsg,
    Bind,
    /// A metadata change or an inotify watch, made on behalf
    /// (fs/metadata.rs).
    Metadata,
    /// An open: a virtual file, made on behalf (fs_deny, a private
    /// /proc), shown with the sandbox stopped, or let through.
    Open,
    /// An exec: its new image watched or shown, or let through.
    Exec,
    /// Any other call that names a file, for fs_deny and a private /proc
    /// (fs/deny.rs, fs/names.rs).
    PathCall,
    /// A directory listing, filtered for a private /proc.
    Listing,
    Uname,
    Random,
    /// clock_gettime, gettimeofday, time on the sandbox's wall clock.
    ClockRead,
    /// clock_nanosleep until a time of the sandbox's wall clock.
    ClockSleep,
    /// fork, vfork, clone of a process: counted (limits/processes.rs).
    Fork,
    Setsid,
    Setpgid,
    /// A call on another process by pid (limits/pid_calls.rs).
    PidCall,
    /// A name the host asked to supervise: shown to its observer, whose
    /// verdict answers (denied without one).
    Asked,
}

/// Which calls of a row's syscalls are trapped.
pub enum Only {
    Every,
    /// Those matching one of these rules (register arguments only).
    Matching(fn(&Features) -> Vec<SeccompRule>),
}

pub struct Trap {
    pub calls: &'static [&'static str],
    pub when: fn(&Features) -> bool,
    pub only: Only,
    pub handler: Handler,
}

const OPENS: &[&str] = &["open", "openat", "openat2", "creat"];
const OPENS_NO_CREAT: &[&str] = &["open", "openat", "openat2"];

/// The table. Rows may name a call twice (under different conditions)
/// only with the same handler: a test checks it for every feature set.
pub const TRAPS: &[Trap] = &[
    // Every address the job reaches is checked, and unix calls are made
    // by the opener (net/through.rs).
    trap(&["connect"], always, Only::Every, Handler::Connect),
    trap(&["sendmsg"], always, Only::Every, Handler::SendMsg),
    trap(&["sendmmsg"], always, Only::Every, Handler::SendMmsg),
    // A NULL destination sends to the peer checked at connect.
    trap(
        &["sendto"],
        always,
        Only::Matching(with_destination),
        Handler::SendTo,
    ),
    // UDP binds are made on behalf; a bind observer sees every bind; a
    // bind rule with an address has every bind's address checked.
    trap(
        &["bind"],
        |f| f.udp || f.observes_bind || f.binds_at_addresses,
        Only::Every,
        Handler::Bind,
    ),
    // Landlock does not govern metadata or watches.
    trap(
        crate::fs::metadata::CALLS,
        always,
        Only::Every,
        Handler::Metadata,
    ),
    trap(
        &["inotify_add_watch"],
        always,
        Only::Every,
        Handler::Metadata,
    ),
    // The supervisor keeps every process group (limits/groups.rs).
    trap(&["setsid"], always, Only::Every, Handler::Setsid),
    trap(&["setpgid"], always, Only::Every, Handler::Setpgid),
    // Another process than the caller: checked to be the sandbox's.
    trap(
        PID_CALLS,
        always,
        Only::Matching(other_pid),
        Handler::PidCall,
    ),
    trap(
        WHO_CALLS,
        always,
        Only::Matching(other_who),
        Handler::PidCall,
    ),
    // num_cpus: every affinity change is narrowed, the caller's own too.
    trap(
        &["sched_setaffinity"],
        |f| f.num_cpus,
        Only::Every,
        Handler::PidCall,
    ),
    // New processes, when a limit counts them.
    trap(
        &["fork", "vfork"],
        |f| f.counts_forks,
        Only::Every,
        Handler::Fork,
    ),
    trap(
        &["clone"],
        |f| f.counts_forks,
        Only::Matching(a_process),
        Handler::Fork,
    ),
    trap(
        &["execve", "execveat"],
        |f| f.traps_exec,
        Only::Every,
        Handler::Exec,
    ),
    trap(OPENS, |f| f.traps_opens, Only::Every, Handler::Open),
    // Virtual files are opened by absolute path.
    trap(
        OPENS_NO_CREAT,
        |f| f.virtual_files,
        Only::Every,
        Handler::Open,
    ),
    // fs_deny and a private /proc: every other call that names a file.
    trap(
        crate::fs::deny::PATH_CALLS,
        |f| f.traps_opens,
        Only::Every,
        Handler::PathCall,
    ),
    trap(
        &["getdents64", "getdents"],
        |f| f.private_proc,
        Only::Every,
        Handler::Listing,
    ),
    trap(&["uname"], |f| f.hostname, Only::Every, Handler::Uname),
    trap(
        &["getrandom"],
        |f| f.random_seed,
        Only::Every,
        Handler::Random,
    ),
    trap(
        &["gettimeofday", "time"],
        |f| f.wall_clock,
        Only::Every,
        Handler::ClockRead,
    ),
    trap(
        &["clock_gettime"],
        |f| f.wall_clock,
        Only::Matching(wall_clocks),
        Handler::ClockRead,
    ),
    trap(
        &["clock_nanosleep"],
        |f| f.wall_clock,
        Only::Matching(until_wall_time),
        Handler::ClockSleep,
    ),
];

const fn trap(
    calls: &'static [&'static str],
    when: fn(&Features) -> bool,
    only: Only,
    handler: Handler,
) -> Trap {
    Trap {
        calls,
        when,
        only,
        handler,
    }
}

fn always(_: &Features) -> bool {
    true
}

/// Calls that act on the process or thread their first argument names (0:
/// the caller) with no check but the uid's.
pub const PID_CALLS: &[&str] = &[
    "prlimit64",
    "sched_setaffinity",
    "sched_setscheduler",
    "sched_setparam",
    "sched_setattr",
];
/// The same with `(which, who)` for their first two arguments.
pub const WHO_CALLS: &[&str] = &["setpriority", "ioprio_set"];

const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
const TIMER_ABSTIME: u64 = libc::TIMER_ABSTIME as u64;

/// A condition on the low 32 bits of argument `arg` (an int: what the
/// kernel reads, so nothing can hide in the high half).
pub fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).expect("argument index below 6")
}

pub fn rule(conditions: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(conditions).expect("a rule has at least one condition")
}

fn with_destination(_: &Features) -> Vec<SeccompRule> {
    // A pointer: all 64 bits.
    let address = SeccompCondition::new(4, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)
        .expect("argument index below 6");
    vec![rule(vec![address])]
}

/// pid_t is an int: the low 32 bits are what the kernel reads.
fn other_pid(_: &Features) -> Vec<SeccompRule> {
    vec![rule(vec![cond(0, SeccompCmpOp::Ne, 0)])]
}

fn other_who(_: &Features) -> Vec<SeccompRule> {
    vec![rule(vec![cond(1, SeccompCmpOp::Ne, 0)])]
}

/// clone making a process, not a thread.
fn a_process(_: &Features) -> Vec<SeccompRule> {
    vec![rule(vec![cond(0, SeccompCmpOp::MaskedEq(CLONE_THREAD), 0)])]
}

/// Only the clocks that tell the time of day: the others run as made.
fn wall_clocks(_: &Features) -> Vec<SeccompRule> {
    crate::virt::clock::WALL_CLOCKS
        .iter()
        .map(|&id| rule(vec![cond(0, SeccompCmpOp::Eq, id as u64)]))
        .collect()
}

/// Sleeps until a time of day, not for a while.
fn until_wall_time(_: &Features) -> Vec<SeccompRule> {
    vec![rule(vec![
        cond(0, SeccompCmpOp::Eq, libc::CLOCK_REALTIME as u64),
        cond(1, SeccompCmpOp::MaskedEq(TIMER_ABSTIME), TIMER_ABSTIME),
    ])]
}

pub fn nr(name: &str) -> i64 {
    crate::seccomp::syscall_table::number(name)
        .unwrap_or_else(|| panic!("{name} is in the syscall table"))
}

/// What one policy traps: every call of some syscalls, the matching calls
/// of others, and each number's handler.
pub struct Active {
    pub every: BTreeSet<i64>,
    pub matching: BTreeMap<i64, Vec<SeccompRule>>,
    pub handlers: BTreeMap<i64, Handler>,
}

/// The rows that apply to `features`, plus the numbers the host asked to
/// supervise (`asked`). A number trapped whole by one row is trapped
/// whole, whatever another row's condition.
pub fn active(features: &Features, asked: &[i64]) -> Active {
    let mut every = BTreeSet::new();
    let mut matching: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut handlers = BTreeMap::new();
    for row in TRAPS.iter().filter(|row| (row.when)(features)) {
        for &name in row.calls {
            let number = nr(name);
            handlers.insert(number, row.handler);
            match row.only {
                Only::Every => {
                    every.insert(number);
                }
                Only::Matching(rules) => {
                    matching.entry(number).or_default().extend(rules(features))
                }
            }
        }
    }
    for &number in asked {
        handlers.entry(number).or_insert(Handler::Asked);
        every.insert(number);
    }
    matching.retain(|number, _| !every.contains(number));
    Active {
        every,
        matching,
        handlers,
    }
}

/// The supervisor's side: the handler of each trapped number.
pub struct Dispatch {
    by_number: Vec<Option<Handler>>,
}

impl Dispatch {
    pub fn new(features: &Features, asked: &[i64]) -> Dispatch {
        let handlers = active(features, asked).handlers;
        let size = handlers.keys().last().map_or(0, |&n| n as usize + 1);
        let mut by_number = vec![None; size];
        for (number, handler) in handlers {
            by_number[number as usize] = Some(handler);
        }
        Dispatch { by_number }
    }

    /// None for a number no row traps: the supervisor denies it.
    pub fn handler(&self, nr: i64) -> Option<Handler> {
        usize::try_from(nr)
            .ok()
            .and_then(|n| self.by_number.get(n).copied().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the features a row can ask for.
    pub fn every_feature_set() -> Vec<Features> {
        (0..1u32 << 12)
            .map(|bits| {
                let on = |i: u32| bits & (1 << i) != 0;
                Features {
                    udp: on(0),
                    observes_bind: on(1),
                    num_cpus: on(2),
                    counts_forks: on(3),
                    traps_exec: on(4),
                    traps_opens: on(5),
                    virtual_files: on(6),
                    private_proc: on(7),
                    hostname: on(8),
                    random_seed: on(9),
                    wall_clock: on(10),
                    binds_at_addresses: on(11),
                    ..Features::default()
                }
            })
            .collect()
    }

    #[test]
    fn every_name_is_a_syscall() {
        for row in TRAPS {
            for name in row.calls {
                assert!(
                    crate::seccomp::syscall_table::number(name).is_some(),
                    "{name}"
                );
            }
        }
    }

    /// Whatever the policy, a number has one handler.
    #[test]
    fn no_number_has_two_handlers() {
        for features in every_feature_set() {
            let mut seen: BTreeMap<i64, Handler> = BTreeMap::new();
            for row in TRAPS.iter().filter(|row| (row.when)(&features)) {
                for name in row.calls {
                    if let Some(other) = seen.insert(nr(name), row.handler) {
                        assert_eq!(other, row.handler, "{name} under {features:?}");
                    }
                }
            }
        }
    }

    /// Every row is used by some policy, and every handler but Asked has a
    /// row.
    #[test]
    fn every_row_and_handler_is_reachable() {
        let sets = every_feature_set();
        for (i, row) in TRAPS.iter().enumerate() {
            assert!(sets.iter().any(|f| (row.when)(f)), "row {i} never applies");
        }
        let handled: BTreeSet<Handler> = TRAPS.iter().map(|row| row.handler).collect();
        assert_eq!(handled.len(), 18, "{handled:?}");
        assert!(!handled.contains(&Handler::Asked));
    }

    #[test]
    fn a_whole_trap_wins_over_a_condition() {
        let features = Features {
            num_cpus: true,
            ..Features::default()
        };
        let active = active(&features, &[]);
        let affinity = nr("sched_setaffinity");
        assert!(active.every.contains(&affinity));
        assert!(!active.matching.contains_key(&affinity));
        assert!(active.matching.contains_key(&nr("prlimit64")));
    }

    #[test]
    fn asked_names_go_to_the_observer_unless_a_row_has_them() {
        let dispatch = Dispatch::new(&Features::default(), &[nr("getpid"), nr("connect")]);
        assert_eq!(dispatch.handler(nr("getpid")), Some(Handler::Asked));
        assert_eq!(dispatch.handler(nr("connect")), Some(Handler::Connect));
        assert_eq!(dispatch.handler(nr("read")), None);
        assert_eq!(dispatch.handler(-1), None);
        assert_eq!(dispatch.handler(100_000), None);
    }
}

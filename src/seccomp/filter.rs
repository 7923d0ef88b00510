//! The BPF program installed in the child.
//!
//! Layout:
//! 1. arch check: anything but x86_64 (an `int $0x80` arrives as i386) and
//!    any x32 number (bit 0x40000000) kills the process;
//! 2. a lookup of the syscall number: the built-in deny list and the
//!    policy's `syscall_deny` names return EPERM; `clone3` returns ENOSYS
//!    (BPF cannot read its flags, and libc then falls back to `clone`,
//!    whose flags are checked); syscalls the supervisor decides return
//!    USER_NOTIF; syscalls with argument checks go on to section 3; any
//!    other syscall is allowed;
//! 3. argument checks that deny with EPERM: ioctl TIOCSTI/TIOCLINUX,
//!    prctl(PR_SET_SECCOMP), personality changes, clone and unshare with
//!    namespace flags, socket families, types and protocols, the per-user
//!    forms of setpriority and ioprio_set;
//! 4. argument checks that go to the supervisor: sendto with an address;
//!    the calls that act on a process by pid (limits/pid_calls.rs) when the pid is
//!    not 0 (the caller);
//! 5. allow.
//!
//! Why a lookup rather than a list: when a filter is attached, the kernel
//! runs it once for every syscall number to find the verdicts it can cache,
//! so the attach costs (syscalls x path length). Measured here: ~3 us per
//! instruction of a linear list, ~270 us for the deny list alone. The
//! lookup sorts the numbers into buckets of a few entries, so every path is
//! short.
//!
//! seccompiler compiles sections 3 and 4. It has one match action per
//! filter and no USER_NOTIF, so each section is compiled with marker
//! returns that are rewritten: "match" into the section's action,
//! "mismatch" into a jump past the section.

use super::trapped::{cond, nr, rule};
use crate::error::{Error, Result};
use crate::policy::Policy;
#[cfg(test)]
use crate::sys::seccomp::AUDIT_ARCH_I386;
use crate::sys::seccomp::{AUDIT_ARCH_X86_64, SECCOMP_RET_USER_NOTIF, X32_SYSCALL_BIT};
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpOp, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
/// "No rule matched, go on": never returned by a finished program.
const NEXT_SECTION_MARK: u32 = RET_TRACE | 0x5e5e;

/// Syscalls denied outright, whatever their arguments.
pub const DENIED: &[&str] = &[
    // kernel modules and kexec
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "kexec_load",
    "kexec_file_load",
    // mounts and root changes
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "open_tree_attr",
    "mount_setattr",
    // namespaces (unshare: see the argument checks)
    "setns",
    // other processes' memory and files
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    // kernel attack surface
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    // no filter of the child's own: it could outrank the supervisor
    "seccomp",
    // machine-wide state
    "swapon",
    "swapoff",
    "reboot",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "syslog",
    "acct",
    "quotactl",
    "quotactl_fd",
    "open_by_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "uselib",
    "vhangup",
    "nfsservctl",
    // shared objects outside every tree that Landlock does not scope: the
    // host's POSIX message queues (mq_open is refused by Landlock, the
    // unlink is not), notification groups on files outside the trees
    "mq_unlink",
    "fanotify_init",
    // System V IPC: its objects are keyed machine-wide and checked by uid
    // only (Landlock scopes none of them), so a job running as the host's
    // uid would attach the host's segments, queues and semaphores; its
    // segments also outlive the sandbox and escape max_memory. No policy
    // option enables it (POSIX shm, memfd and pipes stay).
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
];

/// Answered 0 without being run: flushing every filesystem of the host
/// (or one, for any fd) is an I/O burst a job could repeat at will. A
/// job's own data is made durable per file (fsync, fdatasync).
pub const SKIPPED: &[&str] = &["sync", "syncfs"];

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;
const PR_SET_SECCOMP: u64 = 22;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;
const PER_LINUX: u64 = 0;
const CLONE_NAMESPACE_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];
/// Only unshare() can take it: in clone()'s flags the bit is CSIGNAL's.
const CLONE_NEWTIME: u64 = 0x80;
/// Makes the new process the caller's sibling: from the main process, a
/// child of the host's (which would keep its zombie forever, as its exit
/// signal is 0), and in any case a process out of the tree the supervisor
/// counts.
const CLONE_PARENT: u64 = 0x8000;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
/// setpriority()'s and ioprio_set()'s "every process of this uid": with
/// the host's uid, the host's processes.
const PRIO_USER: u64 = 2;
const IOPRIO_WHO_USER: u64 = 3;

/// Syscall numbers denied whatever their arguments: the built-in list and
/// the policy's names, sorted and without duplicates.
fn always_denied(policy: &Policy) -> Vec<i64> {
    let mut numbers: Vec<i64> = DENIED.iter().map(|name| nr(name)).collect();
    numbers.extend(policy.syscall_deny.iter().map(|(_, n)| *n));
    // When an exec or open is checked with the sandbox stopped (supervisor/freeze.rs),
    // nothing may write its memory meanwhile: legacy AIO completes into a
    // stopped task's buffers (io_uring is denied always).
    if policy.traps_exec() {
        numbers.extend(["io_setup", "io_submit"].map(nr));
    }
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// Section 2: `(syscall, rules)` where several rules mean "any of them".
/// A syscall the policy denies outright needs no argument check.
pub(crate) fn argument_rules(policy: &Policy) -> BTreeMap<i64, Vec<SeccompRule>> {
    let denied = always_denied(policy);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut add = |name: &str, rule: SeccompRule| {
        let number = nr(name);
        if !denied.contains(&number) {
            rules.entry(number).or_default().push(rule);
        }
    };
    add("ioctl", rule(vec![cond(1, SeccompCmpOp::Eq, TIOCSTI)]));
    add("ioctl", rule(vec![cond(1, SeccompCmpOp::Eq, TIOCLINUX)]));
    for &request in crate::fs::metadata::INODE_FLAG_IOCTLS {
        add("ioctl", rule(vec![cond(1, SeccompCmpOp::Eq, request)]));
    }
    add(
        "prctl",
        rule(vec![cond(0, SeccompCmpOp::Eq, PR_SET_SECCOMP)]),
    );
    if policy.tracks_processes() {
        // The main process adopts the sandbox's orphans (spawn/mod.rs), so the
        // supervisor finds every process under it: it must stay that way.
        add(
            "prctl",
            rule(vec![cond(0, SeccompCmpOp::Eq, PR_SET_CHILD_SUBREAPER)]),
        );
    }
    add(
        "personality",
        rule(vec![
            cond(0, SeccompCmpOp::Ne, PERSONALITY_QUERY),
            cond(0, SeccompCmpOp::Ne, PER_LINUX),
        ]),
    );
    for &flag in CLONE_NAMESPACE_FLAGS.iter().chain([&CLONE_PARENT]) {
        add(
            "clone",
            rule(vec![cond(0, SeccompCmpOp::MaskedEq(flag), flag)]),
        );
    }
    // unshare() without namespace flags (CLONE_FILES, CLONE_FS, ...) is
    // harmless, and spawn itself needs unshare(CLONE_FILES).
    for &flag in CLONE_NAMESPACE_FLAGS.iter().chain([&CLONE_NEWTIME]) {
        add(
            "unshare",
            rule(vec![cond(0, SeccompCmpOp::MaskedEq(flag), flag)]),
        );
    }
    for socket_rule in socket_rules(policy) {
        add("socket", socket_rule);
    }
    // Socket options that would send a packet elsewhere than the address
    // checked, or send from the supervisor's memory (net/options.rs).
    for &(level, name) in crate::net::options::REDIRECTING_SOCKOPTS {
        add(
            "setsockopt",
            rule(vec![
                cond(1, SeccompCmpOp::Eq, level as u64),
                cond(2, SeccompCmpOp::Eq, name as u64),
            ]),
        );
    }
    // socketpair() makes unix sockets only.
    add("socketpair", rule(vec![cond(0, SeccompCmpOp::Ne, AF_UNIX)]));
    // Priorities of every process of a uid: never (the rest: notify_rules).
    add(
        "setpriority",
        rule(vec![cond(0, SeccompCmpOp::Eq, PRIO_USER)]),
    );
    add(
        "ioprio_set",
        rule(vec![cond(0, SeccompCmpOp::Eq, IOPRIO_WHO_USER)]),
    );
    rules
}

const AF_UNIX: u64 = libc::AF_UNIX as u64;
const AF_INET: u64 = libc::AF_INET as u64;
const AF_INET6: u64 = libc::AF_INET6 as u64;
const SOCK_STREAM: u64 = libc::SOCK_STREAM as u64;
const SOCK_DGRAM: u64 = libc::SOCK_DGRAM as u64;
/// socket()'s type argument also carries SOCK_NONBLOCK and SOCK_CLOEXEC.
const SOCK_TYPE_MASK: u64 = 0xf;

/// When socket() is denied: any family but unix and inet; inet without a
/// network rule; and of inet sockets, all but TCP, UDP and ICMP ping
/// sockets, each only with a rule for that protocol. (Raw, packet,
/// netlink and every other kind: never.)
fn socket_rules(policy: &Policy) -> Vec<SeccompRule> {
    let net = &policy.net;
    if !net.enabled() {
        return vec![rule(vec![cond(0, SeccompCmpOp::Ne, AF_UNIX)])];
    }
    let allowed = net.protocols();
    let mut rules = vec![rule(vec![
        cond(0, SeccompCmpOp::Ne, AF_UNIX),
        cond(0, SeccompCmpOp::Ne, AF_INET),
        cond(0, SeccompCmpOp::Ne, AF_INET6),
    ])];
    for (family, icmp_protocol) in [
        (AF_INET, libc::IPPROTO_ICMP),
        (AF_INET6, libc::IPPROTO_ICMPV6),
    ] {
        let is_family = || cond(0, SeccompCmpOp::Eq, family);
        let type_is = |t: u64| cond(1, SeccompCmpOp::MaskedEq(SOCK_TYPE_MASK), t);
        // Types other than stream and datagram, and those with no rule.
        for t in 0..=SOCK_TYPE_MASK {
            let ok = (t == SOCK_STREAM && allowed.tcp)
                || (t == SOCK_DGRAM && (allowed.udp || allowed.icmp));
            if !ok {
                rules.push(rule(vec![is_family(), type_is(t)]));
            }
        }
        if allowed.tcp {
            rules.push(rule(vec![
                is_family(),
                type_is(SOCK_STREAM),
                cond(2, SeccompCmpOp::Ne, 0),
                cond(2, SeccompCmpOp::Ne, libc::IPPROTO_TCP as u64),
            ]));
        }
        if allowed.udp || allowed.icmp {
            let mut datagram = vec![is_family(), type_is(SOCK_DGRAM)];
            if allowed.udp {
                datagram.push(cond(2, SeccompCmpOp::Ne, 0));
                datagram.push(cond(2, SeccompCmpOp::Ne, libc::IPPROTO_UDP as u64));
            }
            if allowed.icmp {
                datagram.push(cond(2, SeccompCmpOp::Ne, icmp_protocol as u64));
            }
            rules.push(rule(datagram));
        }
    }
    rules
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Kills on a foreign arch or an x32 number; falls through otherwise.
fn arch_prologue() -> Vec<sock_filter> {
    vec![
        stmt(BPF_LD_W_ABS, OFFSET_ARCH),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFFSET_NR),
        jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, RET_KILL_PROCESS),
    ]
}

/// Compiles argument rules whose matches return `action`; every "no
/// match" return becomes a jump past the section's end.
fn section(rules: BTreeMap<i64, Vec<SeccompRule>>, action: u32) -> Result<Vec<sock_filter>> {
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    // Compile with a placeholder match action, then substitute: seccompiler
    // has no USER_NOTIF action.
    const MATCH_MARK: u32 = RET_TRACE | 0x4d4d;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Trace(NEXT_SECTION_MARK & 0xffff),
        SeccompAction::Trace(MATCH_MARK & 0xffff),
        TargetArch::x86_64,
    )
    .map_err(|e| Error::invalid(format!("seccomp filter: {e}")))?;
    let mut program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| Error::invalid(format!("seccomp filter: {e}")))?;
    let len = program.len();
    for (index, insn) in program.iter_mut().enumerate() {
        if insn.code == BPF_RET_K && insn.k == NEXT_SECTION_MARK {
            *insn = stmt(BPF_JMP_JA, (len - index - 1) as u32);
        } else if insn.code == BPF_RET_K && insn.k == MATCH_MARK {
            insn.k = action;
        }
    }
    Ok(program)
}

/// Where the lookup sends a syscall number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Return(u32),
    ArgumentChecks,
}

/// Most entries a bucket of the lookup compares linearly.
const BUCKET: usize = 8;

/// Section 2 for `entries` (sorted, unique numbers; A holds the number).
/// Returns the code and the indices of its jumps to section 3, which the
/// caller patches once it knows where that section starts.
fn lookup(entries: &[(u32, Target)]) -> (Vec<sock_filter>, Vec<usize>) {
    let buckets: Vec<&[(u32, Target)]> = entries.chunks(BUCKET).collect();
    let mut code = Vec::new();
    // Level 1: from the highest bucket down, "nr >= its first number" jumps
    // to it; below every bucket, allow.
    let mut bucket_jumps = Vec::new();
    for bucket in buckets.iter().rev() {
        code.push(jump(BPF_JMP_JGE_K, bucket[0].0, 0, 1));
        bucket_jumps.push(code.len());
        code.push(stmt(BPF_JMP_JA, 0));
    }
    code.push(stmt(BPF_RET_K, RET_ALLOW));
    let mut to_checks = Vec::new();
    // Level 2: each bucket compares its few numbers, then its exits.
    for (bucket, ja) in buckets.iter().rev().zip(bucket_jumps) {
        code[ja].k = (code.len() - ja - 1) as u32;
        let mut exits: Vec<Target> = vec![Target::Return(RET_ALLOW)];
        for &(_, target) in bucket.iter() {
            if !exits.contains(&target) {
                exits.push(target);
            }
        }
        let n = bucket.len();
        for (i, &(number, target)) in bucket.iter().enumerate() {
            let exit = exits.iter().position(|&e| e == target).unwrap_or(0);
            // Taken: past the remaining comparisons to exit number `exit`.
            code.push(jump(BPF_JMP_JEQ_K, number, (n + exit - i - 1) as u8, 0));
        }
        for exit in exits {
            match exit {
                Target::Return(action) => code.push(stmt(BPF_RET_K, action)),
                Target::ArgumentChecks => {
                    to_checks.push(code.len());
                    code.push(stmt(BPF_JMP_JA, 0));
                }
            }
        }
    }
    (code, to_checks)
}

/// The whole program for `policy`.
pub fn build(policy: &Policy) -> Result<Vec<libc::sock_filter>> {
    let checks = argument_rules(policy);
    // What goes to the supervisor: the table's rows for this policy.
    let trapped = super::trapped::active(&policy.features(), &policy.supervised);
    let notify_checks = trapped.matching;
    let mut targets: BTreeMap<u32, Target> = BTreeMap::new();
    for &number in checks.keys().chain(notify_checks.keys()) {
        targets.insert(number as u32, Target::ArgumentChecks);
    }
    for number in trapped.every {
        targets.insert(number as u32, Target::Return(SECCOMP_RET_USER_NOTIF));
    }
    for number in SKIPPED.iter().map(|name| nr(name)) {
        targets.insert(number as u32, Target::Return(RET_ERRNO));
    }
    for number in ["clone3"]
        .iter()
        .chain(crate::fs::metadata::UNSUPPORTED)
        .map(|name| nr(name))
    {
        targets.insert(
            number as u32,
            Target::Return(RET_ERRNO | libc::ENOSYS as u32),
        );
    }
    // Denials last: they win over anything else listed for the number.
    for number in always_denied(policy) {
        targets.insert(
            number as u32,
            Target::Return(RET_ERRNO | libc::EPERM as u32),
        );
    }
    let entries: Vec<(u32, Target)> = targets.into_iter().collect();

    let mut program = arch_prologue();
    let (table, to_checks) = lookup(&entries);
    let table_start = program.len();
    program.extend(table);
    let checks_start = program.len();
    for index in to_checks {
        let at = table_start + index;
        program[at].k = (checks_start - at - 1) as u32;
    }
    program.extend(section(checks, RET_ERRNO | libc::EPERM as u32)?);
    program.extend(section(notify_checks, SECCOMP_RET_USER_NOTIF)?);
    program.push(stmt(BPF_RET_K, RET_ALLOW));
    if program.len() > u16::MAX as usize || program.len() > 4096 {
        return Err(Error::new(
            libc::E2BIG,
            format!(
                "seccomp filter: {} instructions is over the kernel's 4096",
                program.len()
            ),
        ));
    }
    Ok(program
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

/// What a program returns for one call: a tiny classic-BPF interpreter over
/// the subset `build` emits, so tests can check the program as data.
#[cfg(test)]
pub fn evaluate(program: &[libc::sock_filter], arch: u32, nr: i32, args: [u64; 6]) -> u32 {
    run(program, arch, nr, args).0
}

/// The verdict and how many instructions ran to reach it.
#[cfg(test)]
fn run(program: &[libc::sock_filter], arch: u32, nr: i32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u32; 16];
    data[0] = nr as u32;
    data[1] = arch;
    for (i, a) in args.iter().enumerate() {
        data[4 + 2 * i] = *a as u32;
        data[5 + 2 * i] = (*a >> 32) as u32;
    }
    let (mut acc, mut pc, mut steps) = (0u32, 0usize, 0usize);
    loop {
        let insn = program[pc];
        steps += 1;
        let class = insn.code & 0x07;
        match class {
            0x00 => acc = data[(insn.k / 4) as usize], // LD W ABS
            0x04 => {
                // ALU: seccompiler uses AND K only
                assert_eq!(insn.code, 0x54, "unsupported ALU op {:#x}", insn.code);
                acc &= insn.k;
            }
            0x05 => {
                let op = insn.code & 0xf0;
                if op == 0x00 {
                    pc += insn.k as usize;
                } else {
                    let taken = match op {
                        0x10 => acc == insn.k,
                        0x20 => acc > insn.k,
                        0x30 => acc >= insn.k,
                        0x40 => acc & insn.k != 0,
                        _ => panic!("unsupported jump {:#x}", insn.code),
                    };
                    pc += if taken { insn.jt } else { insn.jf } as usize;
                }
            }
            0x06 => return (insn.k, steps),
            _ => panic!("unsupported class {:#x}", insn.code),
        }
        pc += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::trapped::PID_CALLS;
    use crate::supervisor::events::kind;

    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
    const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;

    /// The filter's USER_NOTIF verdicts and the supervisor's dispatch come
    /// from one table (seccomp/trapped.rs): a number the filter can send
    /// to the supervisor has a handler, one with no handler is never sent,
    /// and one trapped whole is sent whatever its arguments (unless
    /// denied).
    #[test]
    fn what_the_filter_notifies_the_dispatch_handles() {
        use crate::seccomp::trapped::{active, Dispatch};
        let mut plain = Policy::new();
        plain.fs_read(std::ffi::OsStr::new("/usr")).unwrap();
        let mut every = Policy::new();
        every.hostname("box").unwrap();
        every.random_seed(7).unwrap();
        every.time_start(1_000_000_000).unwrap();
        every.private_proc(true).unwrap();
        every.max_processes(8).unwrap();
        every.num_cpus(1).unwrap();
        every.net_allow("udp://127.0.0.1:53").unwrap();
        every.observe(kind::ALL).unwrap();
        every.supervise(nr("getpid"));
        let notify = SECCOMP_RET_USER_NOTIF;
        let denied = RET_ERRNO | libc::EPERM as u32;
        for policy in [plain, every] {
            let program = build(&policy).unwrap();
            let features = policy.features();
            let trapped = active(&features, &policy.supervised);
            let dispatch = Dispatch::new(&features, &policy.supervised);
            let mut handled = 0;
            for number in 0..=470i64 {
                let verdicts = [[0u64; 6], [u64::MAX; 6], [1; 6], [0, 1, 0, 0, 0, 0]]
                    .map(|args| evaluate(&program, AUDIT_ARCH_X86_64, number as i32, args));
                let notified = verdicts.contains(&notify);
                let handler = dispatch.handler(number);
                assert_eq!(
                    notified,
                    handler.is_some(),
                    "{number}: {verdicts:x?} {handler:?}"
                );
                if trapped.every.contains(&number) && verdicts[0] != denied {
                    assert!(
                        verdicts.iter().all(|&v| v == notify),
                        "{number}: {verdicts:x?}"
                    );
                }
                handled += usize::from(handler.is_some());
            }
            assert!(handled >= 25, "{handled}");
        }
    }

    fn verdict(policy: &Policy, name: &str, args: [u64; 6]) -> u32 {
        let program = build(policy).unwrap();
        evaluate(&program, AUDIT_ARCH_X86_64, nr(name) as i32, args)
    }

    #[test]
    fn table_of_expected_actions() {
        let p = Policy::new();
        let z = [0u64; 6];
        let table: &[(&str, [u64; 6], u32)] = &[
            ("read", z, RET_ALLOW),
            ("getpid", z, RET_ALLOW),
            ("mount", z, EPERM),
            ("ptrace", z, EPERM),
            ("bpf", z, EPERM),
            ("io_uring_setup", z, EPERM),
            ("seccomp", z, EPERM),
            ("clone3", z, ENOSYS),
            ("ioctl", [1, TIOCSTI, 0, 0, 0, 0], EPERM),
            ("ioctl", [1, TIOCSTI | (1 << 32), 0, 0, 0, 0], EPERM),
            ("ioctl", [1, TIOCLINUX, 0, 0, 0, 0], EPERM),
            ("ioctl", [1, 0x5401, 0, 0, 0, 0], RET_ALLOW),
            ("prctl", [22, 2, 0, 0, 0, 0], EPERM),
            ("prctl", [(1 << 32) | 22, 2, 0, 0, 0, 0], EPERM),
            ("prctl", [15, 0, 0, 0, 0, 0], RET_ALLOW),
            ("personality", [0xffff_ffff, 0, 0, 0, 0, 0], RET_ALLOW),
            ("personality", [0, 0, 0, 0, 0, 0], RET_ALLOW),
            ("personality", [0x0040000, 0, 0, 0, 0, 0], EPERM),
            ("clone", [0x11 | 0x1000_0000, 0, 0, 0, 0, 0], EPERM),
            ("clone", [0x11 | 0x4000_0000, 0, 0, 0, 0, 0], EPERM),
            ("clone", [0x003d_0f00, 0, 0, 0, 0, 0], RET_ALLOW),
            ("unshare", [0x1000_0000, 0, 0, 0, 0, 0], EPERM),
            ("unshare", [0x80, 0, 0, 0, 0, 0], EPERM),
            ("unshare", [0x0002_0000, 0, 0, 0, 0, 0], EPERM),
            ("unshare", [0x400, 0, 0, 0, 0, 0], RET_ALLOW),
            ("unshare", [0x200, 0, 0, 0, 0, 0], RET_ALLOW),
            ("socket", [1, 1, 0, 0, 0, 0], RET_ALLOW),
            ("socket", [2, 1, 0, 0, 0, 0], EPERM),
            ("socket", [10, 2, 0, 0, 0, 0], EPERM),
            ("socket", [16, 3, 0, 0, 0, 0], EPERM),
            ("socket", [17, 3, 0, 0, 0, 0], EPERM),
            ("socket", [(1 << 32) | 1, 1, 0, 0, 0, 0], RET_ALLOW),
            ("socketpair", [1, 1, 0, 0, 0, 0], RET_ALLOW),
        ];
        for (name, args, expected) in table {
            assert_eq!(
                verdict(&p, name, *args),
                *expected,
                "{name}({:#x}, {:#x})",
                args[0],
                args[1]
            );
        }
    }

    #[test]
    fn foreign_arch_and_x32_are_killed() {
        let program = build(&Policy::new()).unwrap();
        assert_eq!(
            evaluate(&program, AUDIT_ARCH_I386, 20, [0; 6]),
            RET_KILL_PROCESS
        );
        assert_eq!(
            evaluate(
                &program,
                AUDIT_ARCH_X86_64,
                (X32_SYSCALL_BIT | 39) as i32,
                [0; 6]
            ),
            RET_KILL_PROCESS
        );
        assert_eq!(evaluate(&program, AUDIT_ARCH_X86_64, 39, [0; 6]), RET_ALLOW);
    }

    #[test]
    fn user_denials_add_to_the_list() {
        let mut p = Policy::new();
        p.syscall_deny("uname").unwrap();
        p.syscall_deny("ioctl").unwrap();
        assert_eq!(verdict(&p, "uname", [0; 6]), EPERM);
        assert_eq!(verdict(&p, "ioctl", [1, 0x5401, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict(&p, "mount", [0; 6]), EPERM);
        assert_eq!(verdict(&p, "getpid", [0; 6]), RET_ALLOW);
    }

    #[test]
    fn long_deny_lists_stay_within_jump_range() {
        let mut p = Policy::new();
        // Every name the setter takes (those the start needs it refuses).
        let denied: Vec<&str> = crate::seccomp::syscall_table::SYSCALLS
            .iter()
            .take(300)
            .map(|(name, _)| *name)
            .filter(|name| p.syscall_deny(name).is_ok())
            .collect();
        assert!(denied.len() > 280);
        let program = build(&p).unwrap();
        for name in denied {
            assert_eq!(
                evaluate(&program, AUDIT_ARCH_X86_64, nr(name) as i32, [0; 6]),
                EPERM,
                "{name}"
            );
        }
        let last = crate::seccomp::syscall_table::SYSCALLS[330].0;
        assert_eq!(
            evaluate(&program, AUDIT_ARCH_X86_64, nr(last) as i32, [0; 6]),
            RET_ALLOW
        );
    }

    #[test]
    fn every_path_is_short() {
        // The kernel runs the filter for every syscall number when it is
        // attached: the attach costs the sum of these paths.
        // (Syscalls with argument checks stop the kernel's run at their
        // first argument load, so they are left out.)
        let policy = Policy::new();
        let program = build(&policy).unwrap();
        let mut checked: Vec<i64> = argument_rules(&policy).keys().copied().collect();
        checked.extend(
            crate::seccomp::trapped::active(&policy.features(), &[])
                .matching
                .keys(),
        );
        let paths: Vec<usize> = (0..470)
            .filter(|nr| !checked.contains(&i64::from(*nr)))
            .map(|nr| run(&program, AUDIT_ARCH_X86_64, nr, [0; 6]).1)
            .collect();
        let total: usize = paths.iter().sum();
        let longest = *paths.iter().max().unwrap();
        assert!(longest <= 32, "longest path {longest} instructions");
        assert!(total <= 470 * 24, "{total} instructions over all numbers");
    }

    #[test]
    fn supervised_syscalls_notify() {
        let mut p = Policy::new();
        p.supervise(nr("getppid"));
        assert_eq!(verdict(&p, "getppid", [0; 6]), SECCOMP_RET_USER_NOTIF);
        for name in ["connect", "sendmsg", "sendmmsg", "setsid", "setpgid"] {
            assert_eq!(verdict(&p, name, [0; 6]), SECCOMP_RET_USER_NOTIF, "{name}");
        }
        assert_eq!(verdict(&p, "sendto", [3, 0, 1, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            verdict(&p, "sendto", [3, 0, 1, 0, 1 << 40, 16]),
            SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(verdict(&p, "mount", [0; 6]), EPERM);
        assert_eq!(verdict(&p, "getpid", [0; 6]), RET_ALLOW);
    }

    #[test]
    fn process_creation_is_trapped_only_when_a_limit_counts() {
        const SIGCHLD: u64 = libc::SIGCHLD as u64;
        const THREAD: u64 = 0x003d_0f00;
        let plain = Policy::new();
        let mut limited = Policy::new();
        limited.max_processes(8).unwrap();
        let mut cpu = Policy::new();
        cpu.max_cpu(50).unwrap();
        for p in [&limited, &cpu] {
            assert_eq!(verdict(p, "fork", [0; 6]), SECCOMP_RET_USER_NOTIF);
            assert_eq!(verdict(p, "vfork", [0; 6]), SECCOMP_RET_USER_NOTIF);
            assert_eq!(
                verdict(p, "clone", [SIGCHLD, 0, 0, 0, 0, 0]),
                SECCOMP_RET_USER_NOTIF
            );
            assert_eq!(
                verdict(p, "clone", [0x4111, 0, 0, 0, 0, 0]),
                SECCOMP_RET_USER_NOTIF
            );
            assert_eq!(verdict(p, "clone", [THREAD, 0, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(verdict(p, "prctl", [36, 0, 0, 0, 0, 0]), EPERM);
            assert_eq!(verdict(p, "clone3", [0; 6]), ENOSYS);
        }
        assert_eq!(verdict(&plain, "fork", [0; 6]), RET_ALLOW);
        assert_eq!(verdict(&plain, "vfork", [0; 6]), RET_ALLOW);
        assert_eq!(
            verdict(&plain, "clone", [SIGCHLD, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(verdict(&plain, "prctl", [36, 1, 0, 0, 0, 0]), RET_ALLOW);
        // A sibling of the caller (a child of the host's, from the main
        // process) is never made.
        for p in [&plain, &limited] {
            let flags = CLONE_PARENT | SIGCHLD;
            assert_eq!(verdict(p, "clone", [flags, 0, 0, 0, 0, 0]), EPERM);
            assert_eq!(verdict(p, "clone", [flags | THREAD, 0, 0, 0, 0, 0]), EPERM);
        }
    }

    #[test]
    fn without_an_observer_nothing_more_is_trapped() {
        let mut plain = Policy::new();
        plain.net_allow("tcp://127.0.0.1:80").unwrap();
        let mut observed = plain.clone();
        // Kinds that need no trap of their own: the same program.
        observed
            .observe(kind::CONNECT | kind::LIMIT | kind::DENIAL)
            .unwrap();
        assert_eq!(
            build(&plain)
                .unwrap()
                .iter()
                .map(|i| (i.code, i.jt, i.jf, i.k))
                .collect::<Vec<_>>(),
            build(&observed)
                .unwrap()
                .iter()
                .map(|i| (i.code, i.jt, i.jf, i.k))
                .collect::<Vec<_>>()
        );
        for name in ["execve", "execveat", "openat", "open", "fork", "bind"] {
            assert_eq!(verdict(&plain, name, [0; 6]), RET_ALLOW, "{name}");
        }
        let mut exec = plain.clone();
        exec.observe(kind::EXEC).unwrap();
        for name in ["execve", "execveat"] {
            assert_eq!(
                verdict(&exec, name, [0; 6]),
                SECCOMP_RET_USER_NOTIF,
                "{name}"
            );
        }
        // Found when the sandbox is stopped, not counted as born.
        assert_eq!(verdict(&exec, "fork", [0; 6]), RET_ALLOW);
        assert_eq!(verdict(&exec, "openat", [0; 6]), RET_ALLOW);
        let mut open = plain.clone();
        open.observe(kind::OPEN | kind::BIND).unwrap();
        for name in ["open", "openat", "openat2", "creat", "bind"] {
            assert_eq!(
                verdict(&open, name, [0; 6]),
                SECCOMP_RET_USER_NOTIF,
                "{name}"
            );
        }
        assert_eq!(verdict(&open, "execve", [0; 6]), SECCOMP_RET_USER_NOTIF);
        assert_eq!(verdict(&open, "io_submit", [0; 6]), EPERM);
        for name in [
            "newfstatat",
            "statx",
            "renameat2",
            "linkat",
            "unlinkat",
            "readlinkat",
        ] {
            assert_eq!(
                verdict(&open, name, [0; 6]),
                SECCOMP_RET_USER_NOTIF,
                "{name}"
            );
            assert_eq!(verdict(&plain, name, [0; 6]), RET_ALLOW, "{name}");
        }
        assert_eq!(verdict(&plain, "io_submit", [0; 6]), RET_ALLOW);
        assert!(plain.observe(1 << 20).is_err());
        // Virtualization traps only what its options need.
        assert_eq!(verdict(&plain, "uname", [0; 6]), RET_ALLOW);
        let mut named = plain.clone();
        named.hostname("box").unwrap();
        named.no_aslr(true).unwrap();
        named.num_cpus(1).unwrap();
        assert_eq!(verdict(&named, "uname", [0; 6]), SECCOMP_RET_USER_NOTIF);
        for name in ["fork", "getdents64", "personality", "stat"] {
            assert_eq!(
                verdict(&named, name, [0; 6]),
                verdict(&plain, name, [0; 6]),
                "{name}"
            );
        }
        // Opens, for the virtual files.
        assert_eq!(verdict(&named, "openat", [0; 6]), SECCOMP_RET_USER_NOTIF);
        // time_start: the wall clocks and every exec (to hide the vDSO),
        // not the other clocks.
        let mut timed = plain.clone();
        timed.time_start(1_000_000_000).unwrap();
        let realtime = [libc::CLOCK_REALTIME as u64, 0, 0, 0, 0, 0];
        let monotonic = [libc::CLOCK_MONOTONIC as u64, 0, 0, 0, 0, 0];
        for (name, args) in [
            ("clock_gettime", realtime),
            ("gettimeofday", [0; 6]),
            ("time", [0; 6]),
            ("execve", [0; 6]),
        ] {
            assert_eq!(
                verdict(&timed, name, args),
                SECCOMP_RET_USER_NOTIF,
                "{name}"
            );
            assert_eq!(verdict(&plain, name, args), RET_ALLOW, "{name}");
        }
        assert_eq!(verdict(&timed, "clock_gettime", monotonic), RET_ALLOW);
        assert_eq!(verdict(&timed, "clock_nanosleep", realtime), RET_ALLOW);
        let absolute = [libc::CLOCK_REALTIME as u64, 1, 0, 0, 0, 0];
        assert_eq!(
            verdict(&timed, "clock_nanosleep", absolute),
            SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(verdict(&plain, "clock_nanosleep", absolute), RET_ALLOW);
        let monotonic_absolute = [libc::CLOCK_MONOTONIC as u64, 1, 0, 0, 0, 0];
        assert_eq!(
            verdict(&timed, "clock_nanosleep", monotonic_absolute),
            RET_ALLOW
        );
        let mut aslr_only = plain.clone();
        aslr_only.no_aslr(true).unwrap();
        assert_eq!(
            build(&aslr_only).unwrap().len(),
            build(&plain).unwrap().len()
        );
    }

    #[test]
    fn sysv_ipc_is_denied() {
        let p = Policy::new();
        let sysv: Vec<_> = DENIED
            .iter()
            .filter(|name| {
                ["shm", "sem", "msg"]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
            })
            .collect();
        assert_eq!(sysv.len(), 12, "{sysv:?}");
        for name in sysv {
            assert_eq!(verdict(&p, name, [0; 6]), EPERM, "{name}");
        }
    }

    #[test]
    fn pid_calls_trap_any_target_but_the_caller() {
        let plain = Policy::new();
        let mut cpus = Policy::new();
        cpus.num_cpus(1).unwrap();
        for p in [&plain, &cpus] {
            for name in PID_CALLS {
                let own = verdict(p, name, [0, 1, 0x1000, 0, 0, 0]);
                let expected_own = match (*name, p.num_cpus) {
                    ("sched_setaffinity", Some(_)) => SECCOMP_RET_USER_NOTIF,
                    _ => RET_ALLOW,
                };
                assert_eq!(own, expected_own, "{name}(0)");
                // High bits are not a pid: pid 0 with garbage above it.
                let high = verdict(p, name, [1 << 32, 1, 0x1000, 0, 0, 0]);
                assert_eq!(high, expected_own, "{name}(1 << 32)");
                for pid in [1u64, 4242, 0xffff_ffff] {
                    assert_eq!(
                        verdict(p, name, [pid, 1, 0x1000, 0, 0, 0]),
                        SECCOMP_RET_USER_NOTIF,
                        "{name}({pid})"
                    );
                }
            }
            // (which, who): PRIO_PROCESS 0, PRIO_PGRP 0 are the caller's.
            for (name, user) in [("setpriority", PRIO_USER), ("ioprio_set", IOPRIO_WHO_USER)] {
                assert_eq!(verdict(p, name, [user, 0, 0, 0, 0, 0]), EPERM, "{name}");
                assert_eq!(verdict(p, name, [user, 77, 0, 0, 0, 0]), EPERM, "{name}");
                for which in [0, 1] {
                    assert_eq!(
                        verdict(p, name, [which, 0, 5, 0, 0, 0]),
                        RET_ALLOW,
                        "{name}"
                    );
                    assert_eq!(
                        verdict(p, name, [which, 77, 5, 0, 0, 0]),
                        SECCOMP_RET_USER_NOTIF,
                        "{name}"
                    );
                }
            }
        }
        // Reads stay untrapped.
        for name in [
            "sched_getaffinity",
            "sched_getattr",
            "sched_getparam",
            "sched_getscheduler",
            "getpriority",
            "ioprio_get",
            "getrlimit",
        ] {
            assert_eq!(
                verdict(&plain, name, [4242, 0, 0, 0, 0, 0]),
                RET_ALLOW,
                "{name}"
            );
        }
    }

    #[test]
    fn every_denied_name_is_known() {
        for name in DENIED {
            assert!(
                crate::seccomp::syscall_table::number(name).is_some(),
                "{name}"
            );
        }
    }
}

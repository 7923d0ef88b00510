//! Every system call of the x86_64 table (`syscall_table::SYSCALLS`), with
//! what confines it in a sandbox and why: issue #14 asks for the list to be
//! derived from the kernel's table and kept complete. `CLASSIFICATION` has
//! one entry per name and no default: a call the table gains and nobody
//! classified fails `every_syscall_is_classified`, and the other tests tie
//! each class to the code that enforces it (the filter as built, run on the
//! syscall's number; `filter::DENIED`; `fsmeta`; `deny::PATH_CALLS`).
//!
//! The classes (what happens to the call in a sandbox):
//! - `Denied`: the filter answers EPERM whatever the arguments
//!   (`filter::DENIED`): kernel attack surface, machine-wide
//!   state, other processes' memory, mounts and namespaces.
//! - `Unsupported`: the filter answers ENOSYS (`clone3`, whose flags BPF
//!   cannot read; `metadata::UNSUPPORTED`, the `*xattrat` and `file_*attr`
//!   calls, which libc does not need).
//! - `Obsolete`: allowed, but the kernel implements nothing behind the
//!   number on x86_64 (ENOSYS from the kernel itself).
//! - `Metadata`: always trapped and made on the job's behalf by
//!   `fs/metadata.rs` (objects of an fs_write tree and of no fs_deny one only).
//! - `OnBehalf`: always trapped and made by the supervisor on an object of
//!   the policy's trees (inotify_add_watch, `metadata::add_watch`).
//! - `Skipped`: the filter answers 0 without running it
//!   (`filter::SKIPPED`).
//! - `PathChecked`: names a file; Landlock governs what it has a right for
//!   (remove, make, rename, link, truncate) and, with fs_deny, the
//!   supervisor checks every path it names (`deny::PATH_CALLS`). What
//!   Landlock does not govern (stat, access, readlink, getxattr of a file
//!   outside every tree) is checked only with fs_deny.
//! - `Landlock`: governed by a Landlock right (opens, execs), trapped only
//!   for a feature that needs it (fs_deny, private /proc, virtual files,
//!   an observer, an auxv rewrite).
//! - `Network`: a socket call; those that choose where data goes
//!   (connect, sendto with an address, sendmsg, sendmmsg, bind for UDP)
//!   are trapped and decided by the supervisor (`src/net`), the others act
//!   on a socket `socket()` already checked.
//! - `ArgumentChecked`: some argument values are denied by the filter
//!   (`filter::argument_rules`); the reason says which.
//! - `Supervised`: trapped for a feature (or always, for process groups)
//!   and answered or decided by the supervisor; the reason says when.
//! - `OwnProcess`: acts only on the caller (its memory, threads, signals,
//!   credentials, children, its own view of things).
//! - `Descriptor`: works on a file descriptor the caller holds, or makes
//!   an anonymous one (pipe, eventfd, memfd...): what a held fd reaches was
//!   decided when it was opened (Landlock, fs_deny).
//! - `OtherProcess`: takes a pid or pidfd; the reason says what keeps it
//!   to the sandbox's processes (Landlock's ptrace restriction or signal
//!   scope, the supervisor), or that it only reads.
//! - `ReadOnlyInfo`: only reads information about the machine.
//! - `Unconfined`: allowed, and it reaches a file or shared state that
//!   neither Landlock nor the supervisor checks (only the kernel's usual
//!   permission checks): a known gap, the reason says what it can do.

/// What confines a syscall in a sandbox (see the module's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Denied,
    Unsupported,
    Obsolete,
    Metadata,
    OnBehalf,
    Skipped,
    PathChecked,
    Landlock,
    Network,
    ArgumentChecked,
    Supervised,
    OwnProcess,
    Descriptor,
    OtherProcess,
    ReadOnlyInfo,
    /// No call is in this class today; it names a gap should one appear.
    #[allow(dead_code)]
    Unconfined,
}

/// The class of a syscall and why, `None` for a name nobody classified.
pub fn class_of(name: &str) -> Option<(Class, &'static str)> {
    CLASSIFICATION
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, class, why)| (class, why))
}

use Class::*;

/// Reasons shared by several calls.
const DENIED_SYSV: &str =
    "SysV IPC: the host's segments, semaphores and queues are not scoped by Landlock";
const PID_SCHED: &str =
    "pid 0 allowed; other pids checked by the supervisor to be the sandbox's own (limits/pid_calls.rs)";
const READS_PID: &str = "reads only, of any pid it can see: no change to another process";
const SIGNAL_SCOPE: &str =
    "signals: Landlock's signal scope (ABI 6) refuses any target outside the sandbox's domain";
const PTRACE_CHECK: &str = "the kernel's ptrace access check, which Landlock refuses for a process outside the sandbox's domain";
const OBSOLETE: &str = "not implemented on x86_64: the kernel answers ENOSYS";
const META: &str =
    "metadata change: trapped and made on behalf (fs/metadata.rs), writable trees only";
const META_READ: &str =
    "names a file: checked against fs_deny (fs/deny.rs); Landlock does not govern metadata reads";
const MEM: &str = "the caller's own address space";
const SIG_SELF: &str = "the caller's own signal state";
const FD_IO: &str = "I/O on an fd already held: Landlock and fs_deny decided at its open";
const FD_NEW: &str = "makes an anonymous fd of the caller's";
const FD_WAIT: &str = "waits on fds already held";
const SOCKET_HELD: &str = "on a socket already made: socket() checked its family and type";
const CRED: &str =
    "the caller's own credentials: no capability (all dropped as root, SECBIT_NOROOT), no_new_privs";
const CRED_READ: &str = "reads the caller's own credentials";
const TIMER: &str = "the caller's own timers";
const MACHINE: &str = "machine-wide state";
const KERNEL: &str = "kernel attack surface";
const MOUNTS: &str = "mounts and root changes";
const AIO_EXEC: &str =
    "legacy AIO of the caller's own; denied when execs are trapped (filter::always_denied, supervisor/freeze.rs)";
const AIO: &str = "legacy AIO on the caller's own context";

/// One entry per name of `syscall_table::SYSCALLS`, in its order.
pub const CLASSIFICATION: &[(&str, Class, &str)] = &[
    ("read", Descriptor, FD_IO),
    ("write", Descriptor, FD_IO),
    ("open", Landlock, "open rights; trapped and made on behalf with fs_deny, private /proc, virtual files or an observer"),
    ("close", Descriptor, "closes an fd of the caller's"),
    ("stat", PathChecked, META_READ),
    ("fstat", Descriptor, "stat of an fd already held"),
    ("lstat", PathChecked, META_READ),
    ("poll", Descriptor, FD_WAIT),
    ("lseek", Descriptor, FD_IO),
    ("mmap", OwnProcess, "maps into the caller's memory; a file mapping needs an fd already held"),
    ("mprotect", OwnProcess, MEM),
    ("munmap", OwnProcess, MEM),
    ("brk", OwnProcess, MEM),
    ("rt_sigaction", OwnProcess, SIG_SELF),
    ("rt_sigprocmask", OwnProcess, SIG_SELF),
    ("rt_sigreturn", OwnProcess, SIG_SELF),
    ("ioctl", ArgumentChecked, "TIOCSTI, TIOCLINUX and the inode-flag requests denied; device ioctls: Landlock's IOCTL_DEV right"),
    ("pread64", Descriptor, FD_IO),
    ("pwrite64", Descriptor, FD_IO),
    ("readv", Descriptor, FD_IO),
    ("writev", Descriptor, FD_IO),
    ("access", PathChecked, META_READ),
    ("pipe", Descriptor, FD_NEW),
    ("select", Descriptor, FD_WAIT),
    ("sched_yield", OwnProcess, "yields the caller's CPU"),
    ("mremap", OwnProcess, MEM),
    ("msync", OwnProcess, "flushes the caller's own mappings"),
    ("mincore", OwnProcess, "residency of the caller's own mappings"),
    ("madvise", OwnProcess, MEM),
    ("shmget", Denied, DENIED_SYSV),
    ("shmat", Denied, DENIED_SYSV),
    ("shmctl", Denied, DENIED_SYSV),
    ("dup", Descriptor, "copies an fd of the caller's"),
    ("dup2", Descriptor, "copies an fd of the caller's"),
    ("pause", OwnProcess, "waits for a signal"),
    ("nanosleep", OwnProcess, "sleeps for a while (relative: no wall clock)"),
    ("getitimer", OwnProcess, TIMER),
    ("alarm", OwnProcess, TIMER),
    ("setitimer", OwnProcess, TIMER),
    ("getpid", OwnProcess, "the caller's pid"),
    ("sendfile", Descriptor, FD_IO),
    ("socket", ArgumentChecked, "families other than unix (inet with a network rule), and inet types and protocols without a rule, denied"),
    ("connect", Network, "trapped: the supervisor checks the address (net rules; unix paths beneath an fs_write tree only)"),
    ("accept", Network, SOCKET_HELD),
    ("sendto", Network, "trapped with a destination address; without one it goes to the peer checked at connect"),
    ("recvfrom", Network, SOCKET_HELD),
    ("sendmsg", Network, "trapped: destination and control messages checked, sent on behalf"),
    ("recvmsg", Network, SOCKET_HELD),
    ("shutdown", Network, SOCKET_HELD),
    ("bind", Network, "TCP: Landlock's bind right; trapped when UDP is allowed or an observer watches binds"),
    ("listen", Network, SOCKET_HELD),
    ("getsockname", Network, SOCKET_HELD),
    ("getpeername", Network, SOCKET_HELD),
    ("socketpair", ArgumentChecked, "any family but AF_UNIX denied"),
    ("setsockopt", ArgumentChecked, "options that redirect packets or send zero-copy denied (net/options.rs)"),
    ("getsockopt", Network, SOCKET_HELD),
    ("clone", ArgumentChecked, "namespace flags and CLONE_PARENT denied; a new process is trapped and counted when a limit counts them"),
    ("fork", Supervised, "trapped and counted when a limit or an observer counts processes"),
    ("vfork", Supervised, "trapped and counted when a limit or an observer counts processes"),
    ("execve", Landlock, "Landlock's execute right; trapped for an exec observer, fs_deny or an auxv rewrite"),
    ("exit", OwnProcess, "ends the calling thread"),
    ("wait4", OwnProcess, "the caller's own children only"),
    ("kill", OtherProcess, SIGNAL_SCOPE),
    ("uname", Supervised, "answered with the policy's host name when it has one; otherwise allowed"),
    ("semget", Denied, DENIED_SYSV),
    ("semop", Denied, DENIED_SYSV),
    ("semctl", Denied, DENIED_SYSV),
    ("shmdt", Denied, DENIED_SYSV),
    ("msgget", Denied, DENIED_SYSV),
    ("msgsnd", Denied, DENIED_SYSV),
    ("msgrcv", Denied, DENIED_SYSV),
    ("msgctl", Denied, DENIED_SYSV),
    ("fcntl", Descriptor, "on an fd already held; F_SETOWN signals: Landlock's signal scope"),
    ("flock", Descriptor, "locks a file already open"),
    ("fsync", Descriptor, "flushes a file already open"),
    ("fdatasync", Descriptor, "flushes a file already open"),
    ("truncate", PathChecked, "Landlock's truncate right; checked against fs_deny"),
    ("ftruncate", Descriptor, "Landlock's truncate right, recorded at the fd's open"),
    ("getdents", Supervised, "made by the supervisor, which filters /proc, with a private /proc; otherwise on a held fd"),
    ("getcwd", OwnProcess, "the caller's own cwd"),
    ("chdir", PathChecked, "with fs_deny or a private /proc, checked like stat (a denied directory, a foreign pid); Landlock has no right for it"),
    ("fchdir", Descriptor, "to a directory fd already held"),
    ("rename", PathChecked, "Landlock's remove, make and refer rights; checked against fs_deny"),
    ("mkdir", PathChecked, "Landlock's make-dir right; checked against fs_deny"),
    ("rmdir", PathChecked, "Landlock's remove-dir right; checked against fs_deny"),
    ("creat", Landlock, "open rights (make-reg, write); trapped and made on behalf with fs_deny or an observer"),
    ("link", PathChecked, "Landlock's make and refer rights; checked against fs_deny"),
    ("unlink", PathChecked, "Landlock's remove-file right; checked against fs_deny"),
    ("symlink", PathChecked, "Landlock's make-sym right; checked against fs_deny"),
    ("readlink", PathChecked, META_READ),
    ("chmod", Metadata, META),
    ("fchmod", Metadata, META),
    ("chown", Metadata, META),
    ("fchown", Metadata, META),
    ("lchown", Metadata, META),
    ("umask", OwnProcess, "the caller's own umask"),
    ("gettimeofday", Supervised, "answered on the sandbox's clock with time_start; otherwise allowed"),
    ("getrlimit", OwnProcess, "the caller's own limits"),
    ("getrusage", OwnProcess, "the caller's own usage (or its children's)"),
    ("sysinfo", ReadOnlyInfo, "machine-wide memory and load figures"),
    ("times", OwnProcess, "the caller's own CPU times"),
    ("ptrace", Denied, "other processes' memory and registers"),
    ("getuid", OwnProcess, CRED_READ),
    ("syslog", Denied, "the kernel log: machine-wide state"),
    ("getgid", OwnProcess, CRED_READ),
    ("setuid", OwnProcess, CRED),
    ("setgid", OwnProcess, CRED),
    ("geteuid", OwnProcess, CRED_READ),
    ("getegid", OwnProcess, CRED_READ),
    ("setpgid", Supervised, "always trapped: groups kept by the supervisor, none outside the sandbox (limits/groups.rs)"),
    ("getppid", OwnProcess, "the caller's parent's pid"),
    ("getpgrp", OwnProcess, "the caller's own group"),
    ("setsid", Supervised, "always trapped: the new session's group is kept by the supervisor (limits/groups.rs)"),
    ("setreuid", OwnProcess, CRED),
    ("setregid", OwnProcess, CRED),
    ("getgroups", OwnProcess, CRED_READ),
    ("setgroups", OwnProcess, CRED),
    ("setresuid", OwnProcess, CRED),
    ("getresuid", OwnProcess, CRED_READ),
    ("setresgid", OwnProcess, CRED),
    ("getresgid", OwnProcess, CRED_READ),
    ("getpgid", OtherProcess, READS_PID),
    ("setfsuid", OwnProcess, CRED),
    ("setfsgid", OwnProcess, CRED),
    ("getsid", OtherProcess, READS_PID),
    ("capget", OtherProcess, READS_PID),
    ("capset", OwnProcess, "the caller's own capabilities, which it can only lower (all dropped as root)"),
    ("rt_sigpending", OwnProcess, SIG_SELF),
    ("rt_sigtimedwait", OwnProcess, SIG_SELF),
    ("rt_sigqueueinfo", OtherProcess, SIGNAL_SCOPE),
    ("rt_sigsuspend", OwnProcess, SIG_SELF),
    ("sigaltstack", OwnProcess, SIG_SELF),
    ("utime", Metadata, META),
    ("mknod", PathChecked, "Landlock's make rights (devices also need CAP_MKNOD); checked against fs_deny"),
    ("uselib", Denied, "loads a library past exec's checks (ENOSYS without CONFIG_USELIB)"),
    ("personality", ArgumentChecked, "only the query and PER_LINUX allowed (no ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC)"),
    ("ustat", ReadOnlyInfo, "free space of a filesystem by device number"),
    ("statfs", PathChecked, "with fs_deny or a private /proc, checked like stat; filesystem figures only"),
    ("fstatfs", Descriptor, "filesystem figures of an fd already held"),
    ("sysfs", ReadOnlyInfo, "the names of the kernel's filesystem types"),
    ("getpriority", OtherProcess, READS_PID),
    // With who 0, PRIO_USER means every process of the caller's uid (the
    // host's included) and PRIO_PGRP the caller's group: a check of the
    // pid alone is not enough (as for ioprio_set's IOPRIO_WHO_USER).
    ("setpriority", ArgumentChecked, "PRIO_USER (IOPRIO_WHO_USER) denied; who 0 allowed; another pid or group goes to the supervisor, which allows the sandbox's own only (limits/pid_calls.rs)"),
    ("sched_setparam", OtherProcess, PID_SCHED),
    ("sched_getparam", OtherProcess, READS_PID),
    ("sched_setscheduler", OtherProcess, PID_SCHED),
    ("sched_getscheduler", OtherProcess, READS_PID),
    ("sched_get_priority_max", ReadOnlyInfo, "a constant of the scheduler"),
    ("sched_get_priority_min", ReadOnlyInfo, "a constant of the scheduler"),
    ("sched_rr_get_interval", OtherProcess, READS_PID),
    ("mlock", OwnProcess, "the caller's own memory, within RLIMIT_MEMLOCK"),
    ("munlock", OwnProcess, MEM),
    ("mlockall", OwnProcess, "the caller's own memory, within RLIMIT_MEMLOCK"),
    ("munlockall", OwnProcess, MEM),
    ("vhangup", Denied, "hangs up the terminal: machine-wide state"),
    ("modify_ldt", OwnProcess, "the caller's own LDT"),
    ("pivot_root", Denied, MOUNTS),
    ("_sysctl", Obsolete, OBSOLETE),
    ("prctl", ArgumentChecked, "PR_SET_SECCOMP denied, and PR_SET_CHILD_SUBREAPER when the supervisor tracks processes"),
    ("arch_prctl", OwnProcess, "the caller's own FS/GS base and CPU features"),
    ("adjtimex", Denied, "the host's clock: machine-wide state"),
    ("setrlimit", OwnProcess, "the caller's own limits, below its hard ones"),
    ("chroot", Denied, MOUNTS),
    ("sync", Skipped, "answered 0 unrun: flushing every filesystem of the host is an I/O burst a job could repeat"),
    ("acct", Denied, MACHINE),
    ("settimeofday", Denied, "the host's clock: machine-wide state"),
    ("mount", Denied, MOUNTS),
    ("umount2", Denied, MOUNTS),
    ("swapon", Denied, MACHINE),
    ("swapoff", Denied, MACHINE),
    ("reboot", Denied, MACHINE),
    ("sethostname", Denied, MACHINE),
    ("setdomainname", Denied, MACHINE),
    ("iopl", Denied, "I/O ports: the hardware"),
    ("ioperm", Denied, "I/O ports: the hardware"),
    ("create_module", Denied, "kernel modules (gone from the kernel: ENOSYS anyway)"),
    ("init_module", Denied, "kernel modules"),
    ("delete_module", Denied, "kernel modules"),
    ("get_kernel_syms", Obsolete, OBSOLETE),
    ("query_module", Obsolete, OBSOLETE),
    ("quotactl", Denied, "quotas of a filesystem: machine-wide state"),
    ("nfsservctl", Denied, "the NFS server (gone from the kernel: ENOSYS anyway)"),
    ("getpmsg", Obsolete, OBSOLETE),
    ("putpmsg", Obsolete, OBSOLETE),
    ("afs_syscall", Obsolete, OBSOLETE),
    ("tuxcall", Obsolete, OBSOLETE),
    ("security", Obsolete, OBSOLETE),
    ("gettid", OwnProcess, "the caller's thread id"),
    ("readahead", Descriptor, FD_IO),
    ("setxattr", Metadata, META),
    ("lsetxattr", Metadata, META),
    ("fsetxattr", Metadata, META),
    ("getxattr", PathChecked, META_READ),
    ("lgetxattr", PathChecked, META_READ),
    ("fgetxattr", Descriptor, "xattrs of an fd already held"),
    ("listxattr", PathChecked, META_READ),
    ("llistxattr", PathChecked, META_READ),
    ("flistxattr", Descriptor, "xattrs of an fd already held"),
    ("removexattr", Metadata, META),
    ("lremovexattr", Metadata, META),
    ("fremovexattr", Metadata, META),
    ("tkill", OtherProcess, SIGNAL_SCOPE),
    ("time", Supervised, "answered on the sandbox's clock with time_start; otherwise allowed"),
    ("futex", OwnProcess, "waits and wakes on the caller's own (or shared) memory"),
    // With pid 0 it can widen the CPUs num_cpus set back to the host's.
    ("sched_setaffinity", OtherProcess, PID_SCHED),
    ("sched_getaffinity", OtherProcess, READS_PID),
    ("set_thread_area", OwnProcess, "the caller's own TLS descriptors"),
    ("io_setup", OwnProcess, AIO_EXEC),
    ("io_destroy", OwnProcess, AIO),
    ("io_getevents", OwnProcess, AIO),
    ("io_submit", Descriptor, AIO_EXEC),
    ("io_cancel", OwnProcess, AIO),
    ("get_thread_area", OwnProcess, "the caller's own TLS descriptors"),
    ("lookup_dcookie", Denied, "profiling interface (gone from recent kernels: ENOSYS anyway)"),
    ("epoll_create", Descriptor, FD_NEW),
    ("epoll_ctl_old", Obsolete, OBSOLETE),
    ("epoll_wait_old", Obsolete, OBSOLETE),
    ("remap_file_pages", OwnProcess, MEM),
    ("getdents64", Supervised, "made by the supervisor, which filters /proc, with a private /proc; otherwise on a held fd"),
    ("set_tid_address", OwnProcess, "the caller's own thread"),
    ("restart_syscall", OwnProcess, "restarts the caller's interrupted call"),
    ("semtimedop", Denied, DENIED_SYSV),
    ("fadvise64", Descriptor, FD_IO),
    ("timer_create", OwnProcess, TIMER),
    ("timer_settime", OwnProcess, TIMER),
    ("timer_gettime", OwnProcess, TIMER),
    ("timer_getoverrun", OwnProcess, TIMER),
    ("timer_delete", OwnProcess, TIMER),
    ("clock_settime", Denied, "the host's clock: machine-wide state"),
    ("clock_gettime", Supervised, "the wall clocks answered on the sandbox's clock with time_start; others allowed"),
    ("clock_getres", ReadOnlyInfo, "a clock's resolution"),
    ("clock_nanosleep", Supervised, "a sleep until a wall-clock time trapped with time_start; others allowed"),
    ("exit_group", OwnProcess, "ends the caller"),
    ("epoll_wait", Descriptor, FD_WAIT),
    ("epoll_ctl", Descriptor, FD_WAIT),
    ("tgkill", OtherProcess, SIGNAL_SCOPE),
    ("utimes", Metadata, META),
    ("vserver", Obsolete, OBSOLETE),
    ("mbind", OwnProcess, "NUMA policy of the caller's own memory"),
    ("set_mempolicy", OwnProcess, "the caller's own NUMA policy"),
    ("get_mempolicy", OwnProcess, "the caller's own NUMA policy"),
    ("mq_open", Landlock, "its open goes through Landlock's file_open: the mqueue inodes are beneath no rule, so EACCES"),
    ("mq_unlink", Denied, "would remove any POSIX queue of the host (Landlock refuses mq_open, not the unlink)"),
    ("mq_timedsend", Descriptor, "on a queue fd already held"),
    ("mq_timedreceive", Descriptor, "on a queue fd already held"),
    ("mq_notify", Descriptor, "on a queue fd already held; notifies the caller"),
    ("mq_getsetattr", Descriptor, "on a queue fd already held"),
    ("kexec_load", Denied, "kexec: replaces the kernel"),
    ("waitid", OwnProcess, "the caller's own children only"),
    ("add_key", Denied, KERNEL),
    ("request_key", Denied, KERNEL),
    ("keyctl", Denied, KERNEL),
    ("ioprio_set", ArgumentChecked, "PRIO_USER (IOPRIO_WHO_USER) denied; who 0 allowed; another pid or group goes to the supervisor, which allows the sandbox's own only (limits/pid_calls.rs)"),
    ("ioprio_get", OtherProcess, READS_PID),
    ("inotify_init", Descriptor, FD_NEW),
    ("inotify_add_watch", OnBehalf, "always trapped: made by the supervisor on an object of the policy's trees (and no fs_deny one) only"),
    ("inotify_rm_watch", Descriptor, "on an inotify fd already held"),
    ("migrate_pages", OtherProcess, PTRACE_CHECK),
    ("openat", Landlock, "open rights; trapped and made on behalf with fs_deny, private /proc, virtual files or an observer"),
    ("mkdirat", PathChecked, "Landlock's make-dir right; checked against fs_deny"),
    ("mknodat", PathChecked, "Landlock's make rights (devices also need CAP_MKNOD); checked against fs_deny"),
    ("fchownat", Metadata, META),
    ("futimesat", Metadata, META),
    ("newfstatat", PathChecked, META_READ),
    ("unlinkat", PathChecked, "Landlock's remove rights; checked against fs_deny"),
    ("renameat", PathChecked, "Landlock's remove, make and refer rights; checked against fs_deny"),
    ("linkat", PathChecked, "Landlock's make and refer rights; checked against fs_deny"),
    ("symlinkat", PathChecked, "Landlock's make-sym right; checked against fs_deny"),
    ("readlinkat", PathChecked, META_READ),
    ("fchmodat", Metadata, META),
    ("faccessat", PathChecked, META_READ),
    ("pselect6", Descriptor, FD_WAIT),
    ("ppoll", Descriptor, FD_WAIT),
    ("unshare", ArgumentChecked, "namespace flags (and CLONE_NEWTIME) denied; CLONE_FILES, CLONE_FS... allowed"),
    ("set_robust_list", OwnProcess, "the caller's own robust futex list"),
    ("get_robust_list", OtherProcess, PTRACE_CHECK),
    ("splice", Descriptor, FD_IO),
    ("tee", Descriptor, FD_IO),
    ("sync_file_range", Descriptor, "flushes a file already open"),
    ("vmsplice", Descriptor, FD_IO),
    ("move_pages", OtherProcess, PTRACE_CHECK),
    ("utimensat", Metadata, META),
    ("epoll_pwait", Descriptor, FD_WAIT),
    ("signalfd", Descriptor, FD_NEW),
    ("timerfd_create", Descriptor, FD_NEW),
    ("eventfd", Descriptor, FD_NEW),
    ("fallocate", Descriptor, "on a file already open for writing"),
    ("timerfd_settime", Descriptor, "on a timerfd already held (an absolute wall time is the host's clock)"),
    ("timerfd_gettime", Descriptor, "on a timerfd already held"),
    ("accept4", Network, SOCKET_HELD),
    ("signalfd4", Descriptor, FD_NEW),
    ("eventfd2", Descriptor, FD_NEW),
    ("epoll_create1", Descriptor, FD_NEW),
    ("dup3", Descriptor, "copies an fd of the caller's"),
    ("pipe2", Descriptor, FD_NEW),
    ("inotify_init1", Descriptor, FD_NEW),
    ("preadv", Descriptor, FD_IO),
    ("pwritev", Descriptor, FD_IO),
    ("rt_tgsigqueueinfo", OtherProcess, SIGNAL_SCOPE),
    ("perf_event_open", Denied, KERNEL),
    ("recvmmsg", Network, SOCKET_HELD),
    ("fanotify_init", Denied, "notification groups would watch files outside every tree (Landlock has no hook)"),
    ("fanotify_mark", Descriptor, "needs a group from fanotify_init, which is denied"),
    ("prlimit64", OtherProcess, PID_SCHED),
    ("name_to_handle_at", PathChecked, "with fs_deny or a private /proc, checked like stat; a handle is useless as open_by_handle_at is denied"),
    ("open_by_handle_at", Denied, "opens by inode, past every path check"),
    ("clock_adjtime", Denied, "the host's clock: machine-wide state"),
    ("syncfs", Skipped, "answered 0 unrun: flushing the filesystem of any fd, / included, is an I/O burst a job could repeat"),
    ("sendmmsg", Network, "trapped: each destination checked, sent on behalf"),
    ("setns", Denied, "joins another namespace"),
    ("getcpu", OwnProcess, "the CPU the caller runs on"),
    ("process_vm_readv", Denied, "other processes' memory"),
    ("process_vm_writev", Denied, "other processes' memory"),
    ("kcmp", Denied, "compares other processes' resources"),
    ("finit_module", Denied, "kernel modules"),
    ("sched_setattr", OtherProcess, PID_SCHED),
    ("sched_getattr", OtherProcess, READS_PID),
    ("renameat2", PathChecked, "Landlock's remove, make and refer rights; checked against fs_deny"),
    ("seccomp", Denied, "no filter of the child's own: it could outrank the supervisor"),
    ("getrandom", Supervised, "answered from the policy's seed with random_seed; otherwise allowed"),
    ("memfd_create", Descriptor, FD_NEW),
    ("kexec_file_load", Denied, "kexec: replaces the kernel"),
    ("bpf", Denied, KERNEL),
    ("execveat", Landlock, "Landlock's execute right; trapped for an exec observer, fs_deny or an auxv rewrite"),
    ("userfaultfd", Denied, KERNEL),
    ("membarrier", OwnProcess, "barriers over the caller's own threads (or registered processes)"),
    ("mlock2", OwnProcess, "the caller's own memory, within RLIMIT_MEMLOCK"),
    ("copy_file_range", Descriptor, FD_IO),
    ("preadv2", Descriptor, FD_IO),
    ("pwritev2", Descriptor, FD_IO),
    ("pkey_mprotect", OwnProcess, MEM),
    ("pkey_alloc", OwnProcess, MEM),
    ("pkey_free", OwnProcess, MEM),
    ("statx", PathChecked, META_READ),
    ("io_pgetevents", OwnProcess, AIO),
    ("rseq", OwnProcess, "the caller's own restartable sequences"),
    ("uretprobe", OwnProcess, "returns from a uprobe trampoline; called elsewhere the kernel sends SIGILL"),
    ("uprobe", OwnProcess, "enters a uprobe from its trampoline; called elsewhere ENXIO"),
    ("pidfd_send_signal", OtherProcess, SIGNAL_SCOPE),
    ("io_uring_setup", Denied, KERNEL),
    ("io_uring_enter", Denied, KERNEL),
    ("io_uring_register", Denied, KERNEL),
    ("open_tree", Denied, MOUNTS),
    ("move_mount", Denied, MOUNTS),
    ("fsopen", Denied, MOUNTS),
    ("fsconfig", Denied, MOUNTS),
    ("fsmount", Denied, MOUNTS),
    ("fspick", Denied, MOUNTS),
    ("pidfd_open", OtherProcess, "a pidfd of any pid it sees: signals through it are scoped, pidfd_getfd denied"),
    ("clone3", Unsupported, "BPF cannot read its flags: ENOSYS, and libc falls back to clone"),
    ("close_range", Descriptor, "closes fds of the caller's"),
    ("openat2", Landlock, "open rights; trapped and made on behalf with fs_deny, private /proc, virtual files or an observer"),
    ("pidfd_getfd", Denied, "takes another process's file descriptors"),
    ("faccessat2", PathChecked, META_READ),
    ("process_madvise", OtherProcess, PTRACE_CHECK),
    ("epoll_pwait2", Descriptor, FD_WAIT),
    ("mount_setattr", Denied, MOUNTS),
    ("quotactl_fd", Denied, "quotas of a filesystem: machine-wide state"),
    ("landlock_create_ruleset", OwnProcess, "a ruleset for a nested domain: can only restrict the caller further"),
    ("landlock_add_rule", OwnProcess, "a ruleset for a nested domain: can only restrict the caller further"),
    ("landlock_restrict_self", OwnProcess, "a nested domain: can only restrict the caller further"),
    ("memfd_secret", Descriptor, FD_NEW),
    ("process_mrelease", OtherProcess, "only a process already being killed: frees its memory sooner"),
    ("futex_waitv", OwnProcess, "waits on the caller's own (or shared) memory"),
    ("set_mempolicy_home_node", OwnProcess, "NUMA policy of the caller's own memory"),
    ("cachestat", Descriptor, "page-cache figures of a file already open"),
    ("fchmodat2", Metadata, META),
    ("map_shadow_stack", OwnProcess, MEM),
    ("futex_wake", OwnProcess, "wakes on the caller's own (or shared) memory"),
    ("futex_wait", OwnProcess, "waits on the caller's own (or shared) memory"),
    ("futex_requeue", OwnProcess, "requeues on the caller's own (or shared) memory"),
    ("statmount", ReadOnlyInfo, "a mount of the caller's mount namespace (as /proc/self/mountinfo)"),
    ("listmount", ReadOnlyInfo, "the mounts of the caller's mount namespace (as /proc/self/mountinfo)"),
    ("lsm_get_self_attr", OwnProcess, "the caller's own LSM attributes"),
    ("lsm_set_self_attr", OwnProcess, "the caller's own LSM attributes, as far as that LSM's policy allows"),
    ("lsm_list_modules", ReadOnlyInfo, "the LSMs the kernel runs"),
    ("mseal", OwnProcess, MEM),
    ("setxattrat", Unsupported, "ENOSYS (metadata::UNSUPPORTED): the older xattr calls do the same, checked"),
    ("getxattrat", Unsupported, "ENOSYS (metadata::UNSUPPORTED): the older xattr calls do the same, checked"),
    ("listxattrat", Unsupported, "ENOSYS (metadata::UNSUPPORTED): the older xattr calls do the same, checked"),
    ("removexattrat", Unsupported, "ENOSYS (metadata::UNSUPPORTED): the older xattr calls do the same, checked"),
    ("open_tree_attr", Denied, MOUNTS),
    ("file_getattr", Unsupported, "ENOSYS (metadata::UNSUPPORTED): inode attributes by path, past fsmeta's checks"),
    ("file_setattr", Unsupported, "ENOSYS (metadata::UNSUPPORTED): inode attributes by path, past fsmeta's checks"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::seccomp::filter;
    use crate::seccomp::syscall_table::{self, SYSCALLS};
    use crate::sys::seccomp::{AUDIT_ARCH_X86_64, SECCOMP_RET_USER_NOTIF};

    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
    const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;
    const NOTIFY: u32 = SECCOMP_RET_USER_NOTIF;

    fn named(class: Class) -> Vec<&'static str> {
        CLASSIFICATION
            .iter()
            .filter(|(_, c, _)| *c == class)
            .map(|(name, _, _)| *name)
            .collect()
    }

    fn is(name: &str, class: Class) -> bool {
        class_of(name).map(|(c, _)| c) == Some(class)
    }

    fn verdict(program: &[libc::sock_filter], name: &str, args: [u64; 6]) -> u32 {
        let nr = syscall_table::number(name).unwrap_or_else(|| panic!("{name}: not in the table"));
        filter::evaluate(program, AUDIT_ARCH_X86_64, nr as i32, args)
    }

    fn names_of(numbers: impl IntoIterator<Item = i64>) -> Vec<&'static str> {
        let mut names: Vec<&str> = numbers
            .into_iter()
            .map(|nr| syscall_table::name(nr).expect("a number of the table"))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn with_fs_deny() -> Policy {
        let mut p = Policy::new();
        p.fs_deny(std::env::temp_dir().as_os_str()).unwrap();
        assert!(p.traps_opens() && p.traps_exec());
        p
    }

    /// Every feature that traps something: virtual host name, seed and
    /// clock, private /proc (and so opens on behalf), a process limit, UDP.
    fn with_every_trap() -> Policy {
        let mut p = Policy::new();
        p.hostname("box").unwrap();
        p.random_seed(7).unwrap();
        p.time_start(1_000_000_000).unwrap();
        p.private_proc(true).unwrap();
        p.max_processes(8).unwrap();
        p.net_allow("udp://127.0.0.1:53").unwrap();
        p.net_allow("tcp://127.0.0.1:80").unwrap();
        p
    }

    #[test]
    fn every_syscall_is_classified() {
        let missing: Vec<&str> = SYSCALLS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| class_of(name).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "syscalls of the table with no class (add them to CLASSIFICATION): {missing:?}"
        );
    }

    #[test]
    fn the_classification_follows_the_table() {
        // Same names, same order: no stray, misspelt or repeated entry.
        for (i, (name, class, why)) in CLASSIFICATION.iter().enumerate() {
            assert_eq!(
                SYSCALLS.get(i).map(|(n, _)| *n),
                Some(*name),
                "entry {i} ({name}, {class:?}) is not the table's {i}th syscall"
            );
            assert!(!why.is_empty() && !why.contains('\n'), "{name}: one line");
        }
        assert_eq!(CLASSIFICATION.len(), SYSCALLS.len());
    }

    #[test]
    fn denied_is_the_filters_deny_list() {
        for name in filter::DENIED {
            assert!(
                is(name, Denied),
                "{name} is in filter::DENIED, classed {:?}",
                class_of(name)
            );
        }
        for name in named(Denied) {
            assert!(
                filter::DENIED.contains(&name),
                "{name} is classed Denied but not in filter::DENIED"
            );
        }
    }

    #[test]
    fn metadata_is_fsmeta() {
        for name in crate::fs::metadata::CALLS {
            assert!(is(name, Metadata), "{name} is in metadata::CALLS");
        }
        for name in named(Metadata) {
            assert!(
                crate::fs::metadata::CALLS.contains(&name),
                "{name} is not in metadata::CALLS"
            );
        }
    }

    #[test]
    fn unsupported_is_clone3_and_fsmeta_unsupported() {
        let mut expected: Vec<&str> = crate::fs::metadata::UNSUPPORTED.to_vec();
        expected.push("clone3");
        expected.sort_unstable();
        let mut classed = named(Unsupported);
        classed.sort_unstable();
        assert_eq!(classed, expected);
    }

    #[test]
    fn path_checked_is_observed_path_calls() {
        for name in crate::fs::deny::PATH_CALLS {
            assert!(is(name, PathChecked), "{name} is in deny::PATH_CALLS");
            let nr = syscall_table::number(name).unwrap();
            assert!(
                crate::fs::deny::is_path_call(nr),
                "{name}: path_args knows it"
            );
        }
        for name in named(PathChecked) {
            assert!(
                crate::fs::deny::PATH_CALLS.contains(&name),
                "{name} is not in deny::PATH_CALLS"
            );
        }
    }

    #[test]
    fn argument_checked_is_the_filters_argument_rules() {
        let mut net = Policy::new();
        net.net_allow("tcp://127.0.0.1:80").unwrap();
        let mut expected = named(ArgumentChecked);
        expected.sort_unstable();
        for p in [Policy::new(), net, with_fs_deny(), with_every_trap()] {
            let checked = names_of(filter::argument_rules(&p).into_keys());
            assert_eq!(checked, expected);
        }
    }

    /// What each class means, checked on the filter as built: for a default
    /// policy and one with fs_deny (which traps opens, execs and every path
    /// call).
    #[test]
    fn the_filter_does_what_the_classes_say() {
        for (policy, fs_deny) in [(Policy::new(), false), (with_fs_deny(), true)] {
            let program = filter::build(&policy).unwrap();
            let trapped_with_fs_deny = if fs_deny { NOTIFY } else { ALLOW };
            for &(name, class, why) in CLASSIFICATION {
                let got = verdict(&program, name, [0; 6]);
                let expected = match class {
                    Denied => EPERM,
                    Unsupported => ENOSYS,
                    Metadata | OnBehalf => NOTIFY,
                    Skipped => 0x0005_0000,
                    PathChecked => trapped_with_fs_deny,
                    Landlock if why.contains("trapped") => trapped_with_fs_deny,
                    Network | Supervised if why.starts_with("trapped:") => NOTIFY,
                    Supervised if why.starts_with("always trapped") => NOTIFY,
                    // The argument rules: argument_checked_is_...
                    ArgumentChecked => continue,
                    _ if fs_deny && why.contains("denied when execs are trapped") => EPERM,
                    // Allowed (OtherProcess with pid 0, sendto without an
                    // address, the features' traps off).
                    _ => ALLOW,
                };
                assert_eq!(
                    got, expected,
                    "{name} ({class:?}, fs_deny: {fs_deny}): {got:#x}, expected {expected:#x}"
                );
            }
        }
    }

    #[test]
    fn network_calls_that_choose_a_destination_are_trapped() {
        let mut udp = Policy::new();
        udp.net_allow("udp://127.0.0.1:53").unwrap();
        let program = filter::build(&udp).unwrap();
        for name in ["connect", "sendmsg", "sendmmsg", "bind"] {
            assert!(is(name, Network), "{name}");
            assert_eq!(verdict(&program, name, [0; 6]), NOTIFY, "{name}");
        }
        assert_eq!(
            verdict(&program, "sendto", [3, 0, 1, 0, 1 << 40, 16]),
            NOTIFY
        );
        // The others act on a socket already made.
        for name in named(Network) {
            if !["connect", "sendmsg", "sendmmsg", "bind", "sendto"].contains(&name) {
                assert_eq!(verdict(&program, name, [0; 6]), ALLOW, "{name}");
            }
        }
    }

    #[test]
    fn supervised_calls_are_trapped_for_their_feature() {
        let program = filter::build(&with_every_trap()).unwrap();
        let realtime = libc::CLOCK_REALTIME as u64;
        for name in named(Supervised) {
            let args = match name {
                "clock_gettime" => [realtime, 0, 0, 0, 0, 0],
                "clock_nanosleep" => [realtime, 1, 0, 0, 0, 0],
                _ => [0; 6],
            };
            assert_eq!(verdict(&program, name, args), NOTIFY, "{name}");
        }
        // And nothing is trapped that is not classed as trapped.
        for (name, _) in SYSCALLS {
            let Some((class, _)) = class_of(name) else {
                continue; // every_syscall_is_classified names it
            };
            if verdict(&program, name, [0; 6]) == NOTIFY {
                assert!(
                    matches!(
                        class,
                        Supervised | Network | Metadata | OnBehalf | PathChecked | Landlock
                    ) || *name == "clone",
                    "{name} is trapped but classed {class:?}"
                );
            }
        }
    }
}

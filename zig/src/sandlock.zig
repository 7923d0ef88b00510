//! Zig binding of libsandlock: a Linux process sandbox (Landlock, seccomp-bpf
//! and seccomp user notification) driven from the host's own event loop.
//!
//! A thin layer over `include/sandlock.h`: each handle is a struct holding the
//! C pointer, freed by `deinit`; each failing call returns a member of
//! `Error` (the library's -errno mapped), and the handle's `message()` says
//! what was wrong, naming the input. The raw C API stays reachable as `c`.
//!
//! The library starts no threads: the host polls `Sandbox.fd()` and calls
//! `Sandbox.step()` when it is readable, until it answers `.exited`.

const std = @import("std");

pub const c = @cImport({
    @cInclude("sandlock.h");
});

pub const events = @import("events.zig");
pub const Event = events.Event;
pub const Verdict = events.Verdict;

/// What a failed call of the library means, one member per errno it returns
/// (see `fromErrno`). The handle's `message()` has the details.
pub const Error = error{
    /// EINVAL: a malformed or out-of-range input.
    InvalidArgument,
    /// ENOENT: a path (or the program to run) does not exist.
    FileNotFound,
    /// ENOTDIR: a path component is not a directory.
    NotDir,
    /// EACCES: refused by the sandbox's rules or the file's permissions.
    AccessDenied,
    /// EPERM: not permitted (a denied syscall, a missing capability).
    PermissionDenied,
    /// ENOMEM.
    OutOfMemory,
    /// EBUSY: the sandbox is inside a step (a call from an event callback).
    Busy,
    /// ENOSYS, EOPNOTSUPP: the kernel lacks a feature the policy needs.
    Unsupported,
    /// EHOSTUNREACH: a hostname of a network rule did not resolve.
    HostUnreachable,
    /// E2BIG: too many or too long arguments or environment.
    ArgumentListTooLong,
    /// ENAMETOOLONG.
    NameTooLong,
    /// EAGAIN: a limit was reached (processes), or try again.
    WouldBlock,
    /// ESRCH: the process is gone.
    ProcessNotFound,
    /// EMFILE, ENFILE: the host is out of file descriptors.
    TooManyOpenFiles,
    /// EIO and EINTR from the supervisor's own work.
    InputOutput,
    /// Any other errno (the message has its text).
    Unexpected,
};

/// The `Error` for a negative return `rc` (-errno) of the library.
pub fn fromErrno(rc: c_int) Error {
    const E = std.posix.E;
    const e: E = @enumFromInt(@as(u16, @intCast(@min(@abs(rc), std.math.maxInt(u16)))));
    return switch (e) {
        .INVAL => error.InvalidArgument,
        .NOENT => error.FileNotFound,
        .NOTDIR => error.NotDir,
        .ACCES => error.AccessDenied,
        .PERM => error.PermissionDenied,
        .NOMEM => error.OutOfMemory,
        .BUSY => error.Busy,
        .NOSYS, .OPNOTSUPP => error.Unsupported,
        .HOSTUNREACH => error.HostUnreachable,
        .@"2BIG" => error.ArgumentListTooLong,
        .NAMETOOLONG => error.NameTooLong,
        .AGAIN => error.WouldBlock,
        .SRCH => error.ProcessNotFound,
        .MFILE, .NFILE => error.TooManyOpenFiles,
        .IO, .INTR => error.InputOutput,
        else => error.Unexpected,
    };
}

/// `rc` itself when it is not negative, else its `Error`.
fn check(rc: c_int) Error!c_int {
    return if (rc < 0) fromErrno(rc) else rc;
}

/// The library's version, "MAJOR.MINOR.PATCH".
pub fn version() [:0]const u8 {
    return std.mem.span(c.sandlock_version());
}

/// A sandbox policy: what the sandboxed command may read, write, reach and
/// use. Starts empty (nothing readable, no network). One policy may spawn
/// many sandboxes, and may be freed while they run.
pub const Policy = struct {
    handle: *c.sandlock_policy,

    pub fn init() error{OutOfMemory}!Policy {
        const h = c.sandlock_policy_new() orelse return error.OutOfMemory;
        return .{ .handle = h };
    }

    pub fn deinit(self: *Policy) void {
        c.sandlock_policy_free(self.handle);
        self.* = undefined;
    }

    /// The message of the last failed call on this policy (spawn included),
    /// "" when none. Valid until the next call on the policy.
    pub fn message(self: *const Policy) [:0]const u8 {
        return std.mem.span(c.sandlock_policy_error(self.handle));
    }

    /// Read and execute beneath `path` (which must exist).
    pub fn fsRead(self: *Policy, path: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_fs_read(self.handle, path));
    }

    /// Read, write, create, remove beneath `path`.
    pub fn fsWrite(self: *Policy, path: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_fs_write(self.handle, path));
    }

    /// `path` unreachable even inside an fs_read or fs_write tree.
    pub fn fsDeny(self: *Policy, path: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_fs_deny(self.handle, path));
    }

    /// One allowed endpoint, `[tcp|udp|icmp://]target[:ports]`.
    pub fn netAllow(self: *Policy, spec: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_net_allow(self.handle, spec));
    }

    /// Default-allow except this address or CIDR.
    pub fn netDeny(self: *Policy, spec: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_net_deny(self.handle, spec));
    }

    /// Ports the sandbox may bind: "8080", "8080,9000-9005", "*".
    pub fn netBind(self: *Policy, ports: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_net_bind(self.handle, ports));
    }

    /// One more syscall denied (EPERM), by its x86_64 name.
    pub fn syscallDeny(self: *Policy, name: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_syscall_deny(self.handle, name));
    }

    pub fn maxProcesses(self: *Policy, n: u32) Error!void {
        _ = try check(c.sandlock_policy_max_processes(self.handle, n));
    }

    pub fn maxMemory(self: *Policy, bytes: u64) Error!void {
        _ = try check(c.sandlock_policy_max_memory(self.handle, bytes));
    }

    pub fn maxOpenFiles(self: *Policy, n: u32) Error!void {
        _ = try check(c.sandlock_policy_max_open_files(self.handle, n));
    }

    /// Share of one CPU, 1 to 100.
    pub fn maxCpu(self: *Policy, percent: u32) Error!void {
        _ = try check(c.sandlock_policy_max_cpu(self.handle, percent));
    }

    /// Wall-clock limit; past it the sandbox is killed (`Exit.timeout`).
    pub fn timeoutMs(self: *Policy, ms: u64) Error!void {
        _ = try check(c.sandlock_policy_timeout_ms(self.handle, ms));
    }

    pub fn envClear(self: *Policy) Error!void {
        _ = try check(c.sandlock_policy_env_clear(self.handle));
    }

    pub fn envSet(self: *Policy, name: [:0]const u8, value: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_env_set(self.handle, name, value));
    }

    pub fn cwd(self: *Policy, path: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_cwd(self.handle, path));
    }

    /// /proc shows the sandbox's own processes only.
    pub fn privateProc(self: *Policy, on: bool) Error!void {
        _ = try check(c.sandlock_policy_private_proc(self.handle, @intFromBool(on)));
    }

    /// getrandom and /dev/urandom give a stream drawn from `seed`.
    pub fn randomSeed(self: *Policy, seed: u64) Error!void {
        _ = try check(c.sandlock_policy_random_seed(self.handle, seed));
    }

    pub fn noAslr(self: *Policy, on: bool) Error!void {
        _ = try check(c.sandlock_policy_no_aslr(self.handle, @intFromBool(on)));
    }

    pub fn numCpus(self: *Policy, n: u32) Error!void {
        _ = try check(c.sandlock_policy_num_cpus(self.handle, n));
    }

    pub fn hostname(self: *Policy, name: [:0]const u8) Error!void {
        _ = try check(c.sandlock_policy_hostname(self.handle, name));
    }

    /// Calls `handler(context, event, sandbox)` for the events in `mask` of
    /// every sandbox spawned from now on, inside `Sandbox.step()` on the
    /// stepping thread. `context` is a pointer that must outlive those
    /// sandboxes; `sandbox` only takes the live-policy calls (netAllow,
    /// netClear, maxProcesses, maxMemory, fsDeny), never deinit.
    pub fn onEvent(
        self: *Policy,
        mask: events.Mask,
        context: anytype,
        comptime handler: fn (@TypeOf(context), Event, *Sandbox) Verdict,
    ) Error!void {
        const T = events.Trampoline(@TypeOf(context), handler);
        _ = try check(c.sandlock_policy_on_event(self.handle, @bitCast(mask), T.call, @ptrCast(@constCast(context))));
    }

    /// Removes the callback (and the traps it needed).
    pub fn clearOnEvent(self: *Policy) Error!void {
        _ = try check(c.sandlock_policy_on_event(self.handle, 0, null, null));
    }

    /// Spawns `argv` (argv[0] searched in PATH unless it has a '/') confined
    /// by this policy. Returns once the child is confined and its execve()
    /// succeeded; a failure inside the child comes back here, with the
    /// message in `message()`. `gpa` holds the C argv array for the call.
    pub fn spawn(self: *const Policy, gpa: std.mem.Allocator, argv: []const [:0]const u8, stdio: Stdio) (Error || std.mem.Allocator.Error)!Sandbox {
        const c_argv = try gpa.allocSentinel(?[*:0]const u8, argv.len, null);
        defer gpa.free(c_argv);
        for (argv, c_argv) |arg, *slot| slot.* = arg.ptr;

        const opts = c.sandlock_spawn_opts{
            .size = @sizeOf(c.sandlock_spawn_opts),
            .stdin_fd = stdio.stdin orelse -1,
            .stdout_fd = stdio.stdout orelse -1,
            .stderr_fd = stdio.stderr orelse -1,
        };
        var out: ?*c.sandlock_sandbox = null;
        _ = try check(c.sandlock_spawn(self.handle, @ptrCast(c_argv.ptr), &opts, &out));
        return .{ .handle = out.? };
    }
};

/// The child's standard streams: a descriptor of the host's (duplicated into
/// the child; the host keeps its own), or null to inherit the host's.
pub const Stdio = struct {
    stdin: ?std.posix.fd_t = null,
    stdout: ?std.posix.fd_t = null,
    stderr: ?std.posix.fd_t = null,
};

/// What `Sandbox.step` found.
pub const Step = enum {
    /// Nothing left now: go back to polling.
    idle,
    /// Work remains: step again before polling.
    more,
    /// Every process of the sandbox is gone.
    exited,
};

/// How a sandbox ended.
pub const Exit = union(enum) {
    running,
    /// The main process exited with this code.
    normal: u8,
    /// The main process died of this signal.
    signaled: u8,
    /// Killed when the policy's timeout elapsed.
    timeout,
    /// Killed for going past max_memory.
    memory,
    /// Killed by `kill()` or a policy verdict.
    killed,
};

/// A running (or finished) sandbox. `deinit` kills and reaps whatever is
/// left of it.
pub const Sandbox = struct {
    handle: *c.sandlock_sandbox,

    pub fn deinit(self: *Sandbox) void {
        c.sandlock_sandbox_free(self.handle);
        self.* = undefined;
    }

    /// The message of the last failed call on this sandbox, "" when none.
    pub fn message(self: *const Sandbox) [:0]const u8 {
        return std.mem.span(c.sandlock_sandbox_error(self.handle));
    }

    /// The descriptor to poll for POLLIN. Owned by the library: do not close.
    pub fn fd(self: *const Sandbox) std.posix.fd_t {
        return c.sandlock_sandbox_fd(self.handle);
    }

    /// How long the host may poll at most before stepping (-1: no limit).
    pub fn timeoutMs(self: *const Sandbox) i32 {
        return c.sandlock_sandbox_timeout_ms(self.handle);
    }

    /// The pid of the sandbox's main process.
    pub fn pid(self: *const Sandbox) std.posix.pid_t {
        return c.sandlock_sandbox_pid(self.handle);
    }

    /// Handles what is pending, without blocking.
    pub fn step(self: *Sandbox) Error!Step {
        return switch (try check(c.sandlock_supervise_step(self.handle))) {
            c.SANDLOCK_STEP_IDLE => .idle,
            c.SANDLOCK_STEP_MORE => .more,
            c.SANDLOCK_STEP_EXITED => .exited,
            else => error.Unexpected,
        };
    }

    /// Steps until nothing is left for now; true once the sandbox is gone.
    pub fn stepAll(self: *Sandbox) Error!bool {
        while (true) {
            switch (try self.step()) {
                .more => continue,
                .idle => return false,
                .exited => return true,
            }
        }
    }

    /// Sends `sig` to every process of the sandbox.
    pub fn kill(self: *Sandbox, sig: u8) Error!void {
        _ = try check(c.sandlock_sandbox_kill(self.handle, sig));
    }

    /// Blocks (poll and step) until every process of the sandbox is gone.
    pub fn wait(self: *Sandbox) Error!Exit {
        _ = try check(c.sandlock_sandbox_wait(self.handle));
        return self.exit();
    }

    /// How the sandbox ended; `.running` until a step answered `.exited`.
    pub fn exit(self: *const Sandbox) Exit {
        return switch (c.sandlock_sandbox_exit_reason(self.handle)) {
            c.SANDLOCK_EXIT_NORMAL => .{ .normal = @intCast(c.sandlock_sandbox_exit_code(self.handle)) },
            c.SANDLOCK_EXIT_SIGNALED => .{ .signaled = @intCast(c.sandlock_sandbox_exit_signal(self.handle)) },
            c.SANDLOCK_EXIT_TIMEOUT => .timeout,
            c.SANDLOCK_EXIT_MEMORY => .memory,
            c.SANDLOCK_EXIT_KILLED => .killed,
            else => .running,
        };
    }

    /// The oldest event of the sandbox's log (its denials, audited events,
    /// limits hit), null when the log is empty. Its strings are valid until
    /// the next call on the sandbox.
    pub fn nextEvent(self: *Sandbox) Error!?Event {
        var ev: Event = .{ .raw = std.mem.zeroes(c.sandlock_event) };
        ev.raw.size = @sizeOf(c.sandlock_event);
        return if (try check(c.sandlock_sandbox_next_event(self.handle, &ev.raw)) == 1) ev else null;
    }

    /// From now on the sandbox may also reach `spec` (an address or CIDR).
    pub fn netAllow(self: *Sandbox, spec: [:0]const u8) Error!void {
        _ = try check(c.sandlock_sandbox_net_allow(self.handle, spec));
    }

    /// From now on the sandbox reaches no destination at all.
    pub fn netClear(self: *Sandbox) Error!void {
        _ = try check(c.sandlock_sandbox_net_clear(self.handle));
    }

    pub fn maxProcesses(self: *Sandbox, n: u32) Error!void {
        _ = try check(c.sandlock_sandbox_max_processes(self.handle, n));
    }

    pub fn maxMemory(self: *Sandbox, bytes: u64) Error!void {
        _ = try check(c.sandlock_sandbox_max_memory(self.handle, bytes));
    }

    /// From now on no open or exec reaches `path` (needs open events).
    pub fn fsDeny(self: *Sandbox, path: [:0]const u8) Error!void {
        _ = try check(c.sandlock_sandbox_fs_deny(self.handle, path));
    }
};

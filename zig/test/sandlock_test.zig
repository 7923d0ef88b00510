//! The Zig binding against real sandboxes: a file outside fs_read and a
//! port outside net_allow refused (each next to the same access allowed),
//! bad inputs answered with an error and a message naming them, a kill.
//! Scratch files live in the test's own temporary directory; network
//! tests use loopback servers the test opens itself.

const std = @import("std");
const sandlock = @import("sandlock");
const posix = std.posix;
const testing = std.testing;

/// A policy that can run the system's programs (and nothing else), with a
/// wall-clock limit as a safety net.
fn basePolicy() !sandlock.Policy {
    var p = try sandlock.Policy.init();
    errdefer p.deinit();
    for ([_][:0]const u8{ "/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache" }) |path| {
        p.fsRead(path) catch |err| switch (err) {
            error.FileNotFound => {},
            else => return err,
        };
    }
    try p.fsWrite("/dev/null");
    try p.timeoutMs(20_000);
    return p;
}

const Outcome = struct {
    exit: sandlock.Exit,
    out: []u8,
    err: []u8,

    fn deinit(self: *Outcome, gpa: std.mem.Allocator) void {
        gpa.free(self.out);
        gpa.free(self.err);
    }
};

/// Appends what `fd` has to `buf`; false at end of file.
fn drain(gpa: std.mem.Allocator, fd: posix.fd_t, buf: *std.ArrayList(u8)) !bool {
    var chunk: [4096]u8 = undefined;
    const n = try posix.read(fd, &chunk);
    try buf.appendSlice(gpa, chunk[0..n]);
    return n > 0;
}

/// Runs `argv` under `policy` to its end, stdin /dev/null, stdout and
/// stderr captured: one poll() on the sandbox's fd and both pipes, the
/// sandbox stepped until it answers `.exited`.
fn run(gpa: std.mem.Allocator, policy: *const sandlock.Policy, argv: []const [:0]const u8) !Outcome {
    const devnull = try posix.openZ("/dev/null", .{ .CLOEXEC = true }, 0);
    defer posix.close(devnull);
    const out_pipe = try posix.pipe2(.{ .CLOEXEC = true });
    defer posix.close(out_pipe[0]);
    const err_pipe = try posix.pipe2(.{ .CLOEXEC = true });
    defer posix.close(err_pipe[0]);

    var sb = policy.spawn(gpa, argv, .{ .stdin = devnull, .stdout = out_pipe[1], .stderr = err_pipe[1] }) catch |e| {
        posix.close(out_pipe[1]);
        posix.close(err_pipe[1]);
        std.debug.print("spawn {s}: {s}: {s}\n", .{ argv[0], @errorName(e), policy.message() });
        return e;
    };
    defer sb.deinit();
    // Only the sandbox holds the write ends now: EOF once it is gone.
    posix.close(out_pipe[1]);
    posix.close(err_pipe[1]);

    var out: std.ArrayList(u8) = .empty;
    errdefer out.deinit(gpa);
    var err: std.ArrayList(u8) = .empty;
    errdefer err.deinit(gpa);

    const in = posix.POLL.IN | posix.POLL.HUP;
    var fds = [_]posix.pollfd{
        .{ .fd = sb.fd(), .events = posix.POLL.IN, .revents = 0 },
        .{ .fd = out_pipe[0], .events = posix.POLL.IN, .revents = 0 },
        .{ .fd = err_pipe[0], .events = posix.POLL.IN, .revents = 0 },
    };
    var exited = false;
    while (!exited or fds[1].fd >= 0 or fds[2].fd >= 0) {
        if (!exited) {
            exited = sb.stepAll() catch |e| {
                std.debug.print("step: {s}: {s}\n", .{ @errorName(e), sb.message() });
                return e;
            };
            if (exited) continue;
        }
        // A negative fd is skipped by poll(): the sandbox once it is gone,
        // a pipe at its end of file.
        if (exited) fds[0].fd = -1;
        _ = try posix.poll(&fds, if (exited) -1 else sb.timeoutMs());
        if (fds[1].revents & in != 0 and !try drain(gpa, fds[1].fd, &out)) fds[1].fd = -1;
        if (fds[2].revents & in != 0 and !try drain(gpa, fds[2].fd, &err)) fds[2].fd = -1;
    }
    return .{ .exit = sb.exit(), .out = try out.toOwnedSlice(gpa), .err = try err.toOwnedSlice(gpa) };
}

fn contains(haystack: []const u8, needle: []const u8) bool {
    return std.mem.indexOf(u8, haystack, needle) != null;
}

fn openFds() !usize {
    var dir = try std.fs.openDirAbsolute("/proc/self/fd", .{ .iterate = true });
    defer dir.close();
    var it = dir.iterate();
    var n: usize = 0;
    while (try it.next()) |_| n += 1;
    return n;
}

test "version is MAJOR.MINOR.PATCH" {
    _ = try std.SemanticVersion.parse(sandlock.version());
}

test "a file outside fs_read is refused; inside it, read" {
    const gpa = testing.allocator;
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    try tmp.dir.writeFile(.{ .sub_path = "secret.txt", .data = "zig-secret-4242\n" });
    const dir = try tmp.dir.realpathAlloc(gpa, ".");
    defer gpa.free(dir);
    const dir_z = try gpa.dupeZ(u8, dir);
    defer gpa.free(dir_z);
    const secret = try std.fs.path.joinZ(gpa, &.{ dir, "secret.txt" });
    defer gpa.free(secret);

    // Every descriptor of the runs and policies is gone once they are freed.
    const fds_before = try openFds();
    try readSecret(gpa, dir_z, secret);
    try testing.expectEqual(fds_before, try openFds());
}

fn readSecret(gpa: std.mem.Allocator, dir: [:0]const u8, secret: [:0]const u8) !void {
    var refused_policy = try basePolicy();
    defer refused_policy.deinit();
    var refused = try run(gpa, &refused_policy, &.{ "/bin/cat", secret });
    defer refused.deinit(gpa);
    try testing.expectEqual(sandlock.Exit{ .normal = 1 }, refused.exit);
    try testing.expectEqualStrings("", refused.out);
    try testing.expect(contains(refused.err, "Permission denied"));

    // The same file, with its directory in fs_read: the refusal above was
    // the policy's, not the file's.
    var allowed_policy = try basePolicy();
    defer allowed_policy.deinit();
    try allowed_policy.fsRead(dir);
    var allowed = try run(gpa, &allowed_policy, &.{ "/bin/cat", secret });
    defer allowed.deinit(gpa);
    try testing.expectEqual(sandlock.Exit{ .normal = 0 }, allowed.exit);
    try testing.expectEqualStrings("zig-secret-4242\n", allowed.out);
}

/// A TCP server on 127.0.0.1, an ephemeral port, that counts what reached it.
const Server = struct {
    sock: posix.socket_t,
    port: u16,

    fn open() !Server {
        const sock = try posix.socket(posix.AF.INET, posix.SOCK.STREAM | posix.SOCK.CLOEXEC | posix.SOCK.NONBLOCK, 0);
        errdefer posix.close(sock);
        var addr = try std.net.Address.parseIp4("127.0.0.1", 0);
        var len = addr.getOsSockLen();
        try posix.bind(sock, &addr.any, len);
        try posix.listen(sock, 16);
        try posix.getsockname(sock, &addr.any, &len);
        return .{ .sock = sock, .port = addr.getPort() };
    }

    fn close(self: Server) void {
        posix.close(self.sock);
    }

    /// Connections queued since last asked.
    fn arrived(self: Server) !usize {
        var n: usize = 0;
        while (true) {
            const conn = posix.accept(self.sock, null, null, posix.SOCK.CLOEXEC) catch |err| switch (err) {
                error.WouldBlock => return n,
                else => return err,
            };
            posix.close(conn);
            n += 1;
        }
    }
};

test "a port outside net_allow is refused; the allowed one is reached" {
    const gpa = testing.allocator;
    const allowed = try Server.open();
    defer allowed.close();
    const forbidden = try Server.open();
    defer forbidden.close();

    var policy = try basePolicy();
    defer policy.deinit();
    const rule = try std.fmt.allocPrintSentinel(gpa, "tcp://127.0.0.1:{d}", .{allowed.port}, 0);
    defer gpa.free(rule);
    try policy.netAllow(rule);

    // bash's /dev/tcp: connect() from the sandbox, supervised by our steps.
    const script = try std.fmt.allocPrintSentinel(gpa,
        \\(exec 3<>/dev/tcp/127.0.0.1/{d}) && echo reached
        \\(exec 3<>/dev/tcp/127.0.0.1/{d}) && echo leaked || exit 7
    , .{ allowed.port, forbidden.port }, 0);
    defer gpa.free(script);
    var o = try run(gpa, &policy, &.{ "/bin/bash", "-c", script });
    defer o.deinit(gpa);

    try testing.expectEqual(sandlock.Exit{ .normal = 7 }, o.exit);
    try testing.expectEqualStrings("reached\n", o.out);
    try testing.expect(contains(o.err, "Permission denied"));
    try testing.expectEqual(@as(usize, 1), try allowed.arrived());
    try testing.expectEqual(@as(usize, 0), try forbidden.arrived());
}

test "bad inputs: an error and a message naming the input" {
    const gpa = testing.allocator;
    var policy = try basePolicy();
    defer policy.deinit();

    try testing.expectError(error.InvalidArgument, policy.netAllow("10.0.0.0/33:80"));
    try testing.expect(contains(policy.message(), "10.0.0.0/33:80"));

    try testing.expectError(error.InvalidArgument, policy.syscallDeny("no_such_syscall"));
    try testing.expect(contains(policy.message(), "no_such_syscall"));

    try testing.expectError(error.InvalidArgument, policy.maxCpu(101));

    try testing.expectError(error.FileNotFound, policy.fsRead("/nonexistent-sandlock-zig-test"));
    try testing.expect(contains(policy.message(), "/nonexistent-sandlock-zig-test"));

    // A failure inside the child (exec of a missing program) comes back
    // from spawn itself, and no sandbox is left to free.
    try testing.expectError(error.FileNotFound, policy.spawn(gpa, &.{"/nonexistent-sandlock-zig-test/prog"}, .{}));
    try testing.expect(contains(policy.message(), "/nonexistent-sandlock-zig-test/prog"));

    // The policy still works after its errors.
    var o = try run(gpa, &policy, &.{ "/bin/sh", "-c", "exit 5" });
    defer o.deinit(gpa);
    try testing.expectEqual(sandlock.Exit{ .normal = 5 }, o.exit);
}

test "kill ends a running sandbox, and nothing of it is left" {
    try killSleeper();
    // No child of ours is left once the sandbox is freed, not even a zombie.
    var buf: [256]u8 = undefined;
    const children = try std.fs.cwd().readFile("/proc/thread-self/children", &buf);
    try testing.expectEqualStrings("", std.mem.trim(u8, children, " \n"));
}

fn killSleeper() !void {
    var policy = try basePolicy();
    defer policy.deinit();
    const devnull = try posix.openZ("/dev/null", .{ .ACCMODE = .RDWR, .CLOEXEC = true }, 0);
    defer posix.close(devnull);
    var sb = try policy.spawn(testing.allocator, &.{ "/bin/sleep", "60" }, .{ .stdin = devnull, .stdout = devnull, .stderr = devnull });
    defer sb.deinit();
    try testing.expect(sb.pid() > 0);
    try testing.expectEqual(sandlock.Exit.running, sb.exit());

    try sb.kill(posix.SIG.KILL);
    var fds = [_]posix.pollfd{.{ .fd = sb.fd(), .events = posix.POLL.IN, .revents = 0 }};
    while (!try sb.stepAll()) _ = try posix.poll(&fds, sb.timeoutMs());
    try testing.expectEqual(sandlock.Exit.killed, sb.exit());
}

/// Counts execs and refuses any of /bin/true.
const ExecWatch = struct {
    execs: usize = 0,
    echo_args: usize = 0,

    fn onEvent(self: *ExecWatch, ev: sandlock.Event, sb: *sandlock.Sandbox) sandlock.Verdict {
        _ = sb;
        if (ev.kind() != .exec) return .allow;
        self.execs += 1;
        if (std.mem.eql(u8, ev.path(), "/bin/echo")) {
            // argv as sh passed it: /bin/echo ran-echo, and no more.
            if (std.mem.eql(u8, ev.arg(1) orelse "", "ran-echo") and ev.arg(2) == null) self.echo_args += 1;
        }
        if (std.mem.eql(u8, ev.path(), "/bin/true")) return .{ .errno = .ACCES };
        return .allow;
    }
};

test "an exec refused by a callback's verdict, then found in the log" {
    const gpa = testing.allocator;
    var watch: ExecWatch = .{};
    var policy = try basePolicy();
    defer policy.deinit();
    try policy.onEvent(.{ .exec = true }, &watch, ExecWatch.onEvent);

    const devnull = try posix.openZ("/dev/null", .{ .CLOEXEC = true }, 0);
    defer posix.close(devnull);
    const out_pipe = try posix.pipe2(.{ .CLOEXEC = true });
    defer posix.close(out_pipe[0]);
    var sb = policy.spawn(gpa, &.{ "/bin/sh", "-c", "/bin/true && echo ran-true; /bin/echo ran-echo" }, .{
        .stdin = devnull,
        .stdout = out_pipe[1],
        .stderr = devnull,
    }) catch |e| {
        posix.close(out_pipe[1]);
        return e;
    };
    defer sb.deinit();
    posix.close(out_pipe[1]);

    var fds = [_]posix.pollfd{.{ .fd = sb.fd(), .events = posix.POLL.IN, .revents = 0 }};
    while (!try sb.stepAll()) _ = try posix.poll(&fds, sb.timeoutMs());
    try testing.expectEqual(sandlock.Exit{ .normal = 0 }, sb.exit());
    var out: [64]u8 = undefined;
    try testing.expectEqualStrings("ran-echo\n", out[0..try posix.read(out_pipe[0], &out)]);
    try testing.expect(watch.execs >= 2);
    try testing.expectEqual(@as(usize, 1), watch.echo_args);

    var logged = false;
    while (try sb.nextEvent()) |ev| {
        if (std.mem.eql(u8, ev.path(), "/bin/true")) {
            try testing.expectEqual(-@as(c_int, @intFromEnum(posix.E.ACCES)), ev.verdict());
            try testing.expectEqualStrings("execve", ev.syscall());
            logged = true;
        }
    }
    try testing.expect(logged);
}

test "every errno the library returns has its error" {
    const E = posix.E;
    const table = .{
        .{ E.INVAL, error.InvalidArgument },
        .{ E.NOENT, error.FileNotFound },
        .{ E.ACCES, error.AccessDenied },
        .{ E.PERM, error.PermissionDenied },
        .{ E.BUSY, error.Busy },
        .{ E.NOSYS, error.Unsupported },
        .{ E.HOSTUNREACH, error.HostUnreachable },
        .{ E.@"2BIG", error.ArgumentListTooLong },
        .{ E.AGAIN, error.WouldBlock },
        .{ E.SRCH, error.ProcessNotFound },
        .{ E.IO, error.InputOutput },
        .{ E.XDEV, error.Unexpected },
    };
    inline for (table) |row| {
        try testing.expectEqual(@as(sandlock.Error, row[1]), sandlock.fromErrno(-@as(c_int, @intFromEnum(row[0]))));
    }
}

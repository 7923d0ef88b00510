//! A job runs in a sandbox that may read the system's programs but not
//! /etc/passwd, and sees its own host name; the host drives it from a
//! poll() loop. `zig build run` prints:
//!
//!   sandbox
//!   cat /etc/passwd: refused
//!   exit code 3

const std = @import("std");
const sandlock = @import("sandlock");

pub fn main() !void {
    var gpa_state: std.heap.DebugAllocator(.{}) = .init;
    defer _ = gpa_state.deinit();
    const gpa = gpa_state.allocator();

    var policy = try sandlock.Policy.init();
    defer policy.deinit();
    for ([_][:0]const u8{ "/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache" }) |path| {
        policy.fsRead(path) catch |err| switch (err) {
            error.FileNotFound => {}, // not every system has /lib64
            else => return err,
        };
    }
    try policy.fsWrite("/dev/null");
    try policy.hostname("sandbox");
    try policy.timeoutMs(10_000);

    const script = "uname -n; cat /etc/passwd 2>/dev/null || echo 'cat /etc/passwd: refused'; exit 3";
    var sb = policy.spawn(gpa, &.{ "/bin/sh", "-c", script }, .{}) catch |err| {
        std.debug.print("spawn: {s}: {s}\n", .{ @errorName(err), policy.message() });
        return err;
    };
    defer sb.deinit();

    // Step until nothing is pending, then sleep in poll() until the
    // sandbox's fd says there is work again.
    var fds = [_]std.posix.pollfd{.{ .fd = sb.fd(), .events = std.posix.POLL.IN, .revents = 0 }};
    while (!try sb.stepAll()) _ = try std.posix.poll(&fds, sb.timeoutMs());

    var buf: [128]u8 = undefined;
    // Streaming, not positional: the sandbox shares this stdout.
    var stdout = std.fs.File.stdout().writerStreaming(&buf);
    switch (sb.exit()) {
        .normal => |code| try stdout.interface.print("exit code {d}\n", .{code}),
        else => |how| try stdout.interface.print("ended: {s}\n", .{@tagName(how)}),
    }
    try stdout.interface.flush();
}

//! Events: a callback the policy calls from inside `Sandbox.step()` (on the
//! stepping thread), and the log of denials a sandbox keeps.

const std = @import("std");
const sandlock = @import("sandlock.zig");
const c = sandlock.c;

/// Which kinds of event a callback sees (SANDLOCK_EVENT_* bits).
pub const Mask = packed struct(u32) {
    exec: bool = false,
    connect: bool = false,
    bind: bool = false,
    open: bool = false,
    fork: bool = false,
    exit: bool = false,
    limit: bool = false,
    denial: bool = false,
    _unused: u24 = 0,

    pub const all: Mask = @bitCast(@as(u32, c.SANDLOCK_EVENT_ALL));
};

pub const Kind = enum(u32) {
    exec = c.SANDLOCK_EVENT_EXEC,
    connect = c.SANDLOCK_EVENT_CONNECT,
    bind = c.SANDLOCK_EVENT_BIND,
    open = c.SANDLOCK_EVENT_OPEN,
    fork = c.SANDLOCK_EVENT_FORK,
    exit = c.SANDLOCK_EVENT_EXIT,
    limit = c.SANDLOCK_EVENT_LIMIT,
    denial = c.SANDLOCK_EVENT_DENIAL,
    _,
};

/// What a callback answers.
pub const Verdict = union(enum) {
    allow,
    /// Deny with EPERM.
    deny,
    /// Allow, and keep the event in the log.
    audit,
    /// Kill the whole sandbox (`Exit.killed`).
    kill,
    /// Deny with this errno.
    errno: std.posix.E,

    fn toC(v: Verdict) c_int {
        return switch (v) {
            .allow => c.SANDLOCK_VERDICT_ALLOW,
            .deny => c.SANDLOCK_VERDICT_DENY,
            .audit => c.SANDLOCK_VERDICT_AUDIT,
            .kill => c.SANDLOCK_VERDICT_KILL,
            .errno => |e| -@as(c_int, @intFromEnum(e)),
        };
    }
};

/// One event. Its strings belong to the library: valid during the callback,
/// or until the next call on the sandbox for a logged one.
pub const Event = struct {
    raw: c.sandlock_event,

    pub fn kind(ev: Event) Kind {
        return @enumFromInt(ev.raw.kind);
    }

    /// The syscall's name ("execve"), "" when none.
    pub fn syscall(ev: Event) []const u8 {
        return span(ev.raw.syscall);
    }

    pub fn pid(ev: Event) std.posix.pid_t {
        return ev.raw.pid;
    }

    /// exec and open: the path as the call gave it.
    pub fn path(ev: Event) []const u8 {
        return span(ev.raw.path);
    }

    /// exec: argument `i`, null past the last.
    pub fn arg(ev: Event, i: usize) ?[]const u8 {
        const argv: [*]const ?[*:0]const u8 = @ptrCast(ev.raw.argv orelse return null);
        var n: usize = 0;
        while (argv[n]) |a| : (n += 1) {
            if (n == i) return std.mem.span(a);
        }
        return null;
    }

    /// Network events: the destination address as text, or a unix path.
    pub fn address(ev: Event) []const u8 {
        return span(ev.raw.address);
    }

    pub fn port(ev: Event) u16 {
        return ev.raw.port;
    }

    /// limit: which one; denial: why, when known.
    pub fn detail(ev: Event) []const u8 {
        return span(ev.raw.detail);
    }

    /// The errno the built-in policy answers with (0: it allows).
    pub fn denied(ev: Event) c_int {
        return ev.raw.denied;
    }

    /// In the log: the verdict applied (SANDLOCK_VERDICT_* or -errno).
    pub fn verdict(ev: Event) c_int {
        return ev.raw.verdict;
    }

    fn span(s: [*c]const u8) []const u8 {
        return if (s) |p| std.mem.span(@as([*:0]const u8, @ptrCast(p))) else "";
    }
};

/// A C callback that calls `handler(context, event, sandbox)`.
pub fn Trampoline(comptime Context: type, comptime handler: fn (Context, Event, *sandlock.Sandbox) Verdict) type {
    if (@typeInfo(Context) != .pointer) @compileError("the context of an event callback must be a pointer");
    return struct {
        pub fn call(ev: [*c]const c.sandlock_event, sb: ?*c.sandlock_sandbox, userdata: ?*anyopaque) callconv(.c) c_int {
            // Only the live-policy calls work on it here (the others are
            // EBUSY, and deinit must not be called).
            var live = sandlock.Sandbox{ .handle = sb.? };
            const context: Context = @ptrCast(@alignCast(userdata));
            return handler(context, .{ .raw = ev.* }, &live).toC();
        }
    };
}

//! Builds the Zig binding of libsandlock (Zig 0.15.2).
//!
//!   zig build test   the binding's tests, against real sandboxes
//!   zig build run    the example (src/example.zig)
//!
//! libsandlock is found with pkg-config (`sandlock.pc`): after `make build`
//! in the repository, PKG_CONFIG_PATH=<repo>/target/pkgconfig and
//! LD_LIBRARY_PATH=<repo>/target/release (or `make install`).

const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    // The module users import: @cImport of sandlock.h sees the include
    // directory pkg-config names, and the link line its -lsandlock.
    const sandlock = b.addModule("sandlock", .{
        .root_source_file = b.path("src/sandlock.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    sandlock.linkSystemLibrary("sandlock", .{ .use_pkg_config = .force });

    const tests = b.addTest(.{
        .root_module = b.createModule(.{
            .root_source_file = b.path("test/sandlock_test.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "sandlock", .module = sandlock }},
        }),
    });
    const run_tests = b.addRunArtifact(tests);
    const test_step = b.step("test", "Run the binding's tests and the example (spawn real sandboxes)");
    test_step.dependOn(&run_tests.step);

    const example = b.addExecutable(.{
        .name = "sandlock-example",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/example.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "sandlock", .module = sandlock }},
        }),
    });
    b.installArtifact(example);
    const run_example = b.addRunArtifact(example);
    if (b.args) |args| run_example.addArgs(args);
    b.step("run", "Run the example").dependOn(&run_example.step);

    // The README shows the example: the tests hold it to its output.
    const check_example = b.addRunArtifact(example);
    check_example.has_side_effects = true; // it runs a sandbox: never cached
    check_example.expectStdOutEqual("sandbox\ncat /etc/passwd: refused\nexit code 3\n");
    test_step.dependOn(&check_example.step);
}

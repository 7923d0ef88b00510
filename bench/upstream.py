"""The upstream sandlock (PyPI `sandlock`, a Rust core behind a Python
API; it has no command line of its own) as a peer of libsandlock.

    python3 bench/upstream.py version
    python3 bench/upstream.py spawn N     microseconds per Sandbox.run of /bin/true
    python3 bench/upstream.py find        milliseconds for `find /usr/share -type f`
                                          with fs_denied set (the notification path)

Exit status 3 with a one-line reason when the package is missing or
cannot run here; the bench shows that reason in its table.
"""
import sys
import time

SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"]


def fail(reason):
    print(reason)
    sys.exit(3)


def sandbox(sandlock, **extra):
    import os
    readable = [d for d in SYSTEM_DIRS if os.path.exists(d)]
    return sandlock.Sandbox(fs_readable=readable, **extra)


def run_checked(box, argv):
    result = box.run(argv)
    if not result.success:
        fail(f"run failed: {result.error or result.reason} (exit {result.exit_code})")
    return result


def main():
    try:
        import sandlock
    except ImportError:
        fail("not installed (make bench-setup)")
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "version":
        print(sandlock.__version__)
    elif what == "spawn":
        n = int(sys.argv[2])
        box = sandbox(sandlock)
        run_checked(box, ["/bin/true"])
        start = time.perf_counter()
        for _ in range(n):
            run_checked(box, ["/bin/true"])
        print(f"{(time.perf_counter() - start) * 1e6 / n:.1f}")
    elif what == "find":
        # /dev/null for the shell's redirection; /etc/shadow stands for a
        # denied path, as in the libsandlock row.
        box = sandbox(sandlock, fs_writable=["/dev/null"], fs_denied=["/etc/shadow"])
        argv = ["/bin/sh", "-c", "find /usr/share -type f > /dev/null 2>&1; true"]
        start = time.perf_counter()
        run_checked(box, argv)
        print(f"{(time.perf_counter() - start) * 1e3:.1f}")
    else:
        fail(f"unknown mode {what!r}")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # a peer that cannot run here is a table note
        fail(f"{type(e).__name__}: {e}".splitlines()[0][:200])

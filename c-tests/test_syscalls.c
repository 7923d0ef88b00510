/* The default deny list, attacked for real: each family is called inside a
 * sandbox with arguments chosen so that, unfiltered, it would succeed or
 * fail with another errno. */
#include "harness.h"
#include <pty.h>
#include <sys/ioctl.h>

struct family { const char *name; int want; };

static void default_denied_families_fail(void) {
    static const struct family families[] = {
        {"unshare", EPERM},          {"clone_newuser", EPERM},  {"clone3", ENOSYS},
        {"setns", EPERM},            {"mount", EPERM},          {"umount2", EPERM},
        {"chroot", EPERM},           {"pivot_root", EPERM},     {"fsopen", EPERM},
        {"open_tree", EPERM},        {"move_mount", EPERM},     {"ptrace", EPERM},
        {"process_vm_readv", EPERM}, {"pidfd_getfd", EPERM},    {"kcmp", EPERM},
        {"bpf", EPERM},              {"perf_event_open", EPERM}, {"userfaultfd", EPERM},
        {"io_uring_setup", EPERM},   {"keyctl", EPERM},         {"add_key", EPERM},
        {"seccomp", EPERM},          {"prctl_seccomp", EPERM},  {"personality", EPERM},
        {"init_module", EPERM},      {"kexec_load", EPERM},     {"swapon", EPERM},
        {"reboot", EPERM},           {"settimeofday", EPERM},   {"clock_settime", EPERM},
        {"sethostname", EPERM},      {"syslog", EPERM},         {"acct", EPERM},
        {"quotactl", EPERM},         {"open_by_handle_at", EPERM},
        {"socket_netlink", EPERM},   {"socket_packet", EPERM},  {"socket_inet", EPERM},
        {"socket_inet6_udp", EPERM},
    };
    sandlock_policy *p = base_policy();
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        struct outcome o = probe(p, "syscall", families[i].name);
        CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == families[i].want,
              "%s: reason %d code %d (want errno %d)", families[i].name, o.reason, o.code,
              families[i].want);
    }
    sandlock_policy_free(p);
}

static void ordinary_calls_still_work(void) {
    static const char *const fine[] = {"getpid", "socket_unix", "uname"};
    sandlock_policy *p = base_policy();
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        struct outcome o = probe(p, "syscall", fine[i]);
        CHECK(o.code == 0, "%s failed: %d", fine[i], o.code);
    }
    /* the family check reads only the low 32 bits, like the kernel */
    struct outcome o = probe(p, "syscall", "socket_unix_high_bits");
    CHECK(o.code == 0, "socket(AF_UNIX | 1<<32): %d", o.code);
    sandlock_policy_free(p);
}

static void user_denials_add_to_the_list(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_syscall_deny(p, "uname") == 0, "%s", sandlock_policy_error(p));
    struct outcome o = probe(p, "syscall", "uname");
    CHECK(o.code == EPERM, "uname after syscall_deny: %d", o.code);
    o = probe(p, "syscall", "mount");
    CHECK(o.code == EPERM, "the default list stays: mount %d", o.code);
    sandlock_policy_free(p);
}

static void int80_and_x32_kill_the_process(void) {
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "int80", "");
    CHECK(o.reason == SANDLOCK_EXIT_SIGNALED && o.sig == SIGSYS,
          "int $0x80: reason %d code %d sig %d out %s", o.reason, o.code, o.sig, o.out);
    o = probe(p, "x32", "");
    CHECK(o.reason == SANDLOCK_EXIT_SIGNALED && o.sig == SIGSYS,
          "x32 getpid: reason %d code %d sig %d out %s", o.reason, o.code, o.sig, o.out);
    sandlock_policy_free(p);
}

/* The child gets a pty slave of the test's own as stdin, makes it its
 * controlling terminal, and tries to push input into it. */
static void tiocsti_on_the_terminal_fails(void) {
    const char *modes[] = {"tiocsti", "tiocsti_high"};
    for (int i = 0; i < 2; i++) {
        int master, slave;
        CHECK(openpty(&master, &slave, NULL, NULL, NULL) == 0, "openpty: %s", strerror(errno));
        fcntl(master, F_SETFD, FD_CLOEXEC);
        sandlock_policy *p = base_policy();
        const char *argv[] = {probe_path(), modes[i], NULL};
        struct outcome o = run_in(p, argv, slave);
        CHECK(o.code == EPERM, "%s: code %d (want EPERM; 100 = could not take the tty)", modes[i], o.code);
        /* nothing was injected */
        int avail = -1;
        ioctl(slave, FIONREAD, &avail);
        CHECK(avail == 0, "%s: %d bytes injected", modes[i], avail);
        sandlock_policy_free(p);
        close(slave);
        close(master);
    }
}

int main(void) {
    RUN(default_denied_families_fail);
    RUN(ordinary_calls_still_work);
    RUN(user_denials_add_to_the_list);
    RUN(int80_and_x32_kill_the_process);
    RUN(tiocsti_on_the_terminal_fails);
    HARNESS_END();
}

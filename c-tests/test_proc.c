/* A private /proc (sandlock_policy_private_proc): the sandbox sees its own
 * processes only, and /proc/meminfo shows max_memory as the total. Each
 * case runs against a baseline without it, which must see what the
 * private one hides (or the test proves nothing). */
#include "harness.h"

#define value_of key_value

/* Runs `probe procview <our pid>` under p; its output in out. */
static int run_view(sandlock_policy *p, char *out, size_t size) {
    char host[32];
    snprintf(host, sizeof host, "%d", (int)getpid());
    const char *argv[] = {probe_path(), "procview", host, NULL};
    return run_capturing(p, argv, out, size);
}

/* With `memory`, a max_memory of 256 MiB (its forks are then counted as
 * they happen; without, the supervisor finds the processes on demand). */
static sandlock_policy *proc_policy(int private, int memory) {
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_fs_read(p, "/proc");
    CHECK(r == 0, "fs_read /proc: %d %s", r, sandlock_policy_error(p));
    r = sandlock_policy_max_memory(p, memory ? 256ULL << 20 : 0);
    CHECK(r == 0, "max_memory: %d %s", r, sandlock_policy_error(p));
    r = sandlock_policy_private_proc(p, private);
    CHECK(r == 0, "private_proc: %d %s", r, sandlock_policy_error(p));
    return p;
}

static void check_private_view(int memory) {
    static char base[8192], priv[8192];
    sandlock_policy *pb = proc_policy(0, memory), *pp = proc_policy(1, memory);
    int cb = run_view(pb, base, sizeof base), cp = run_view(pp, priv, sizeof priv);
    CHECK(cb == 0 && cp == 0, "procview exit codes %d %d:\n%s\n%s", cb, cp, base, priv);
    /* The baseline sees the host and init: the private view must not. */
    CHECK(value_of(base, "host") == 1 && value_of(base, "init") == 1 && value_of(base, "others") > 0,
          "the baseline does not see the host's processes:\n%s", base);
    CHECK(value_of(priv, "host") == 0, "the host's pid is listed:\n%s", priv);
    CHECK(value_of(priv, "init") == 0, "pid 1 is listed:\n%s", priv);
    CHECK(value_of(priv, "others") == 0, "foreign pids are listed:\n%s", priv);
    CHECK(value_of(priv, "self") == 1 && value_of(priv, "child") == 1,
          "the sandbox's own processes are not listed:\n%s", priv);
    const char *hidden[] = {"host_status", "host_cmdline", "host_environ", "host_fd", "host_cwd_stat",
                            "host_exe_readlink", "host_dir_stat", "init_status", NULL};
    for (int i = 0; hidden[i]; i++) {
        /* The baseline may be refused some (ptrace rules guard cwd, exe,
         * environ), but the pid exists for it. */
        CHECK(value_of(base, hidden[i]) >= 0 && value_of(base, hidden[i]) != ENOENT,
              "baseline %s: %ld (want the pid to exist)", hidden[i], value_of(base, hidden[i]));
        CHECK(value_of(priv, hidden[i]) == ENOENT, "%s: %ld (want ENOENT)", hidden[i], value_of(priv, hidden[i]));
    }
    CHECK(value_of(priv, "self_status") == 0 && value_of(priv, "child_status") == 0,
          "the sandbox's own entries: self %ld child %ld", value_of(priv, "self_status"),
          value_of(priv, "child_status"));
    if (memory) {
        CHECK(value_of(priv, "memtotal") == 262144, "MemTotal %ld kB (want the 256 MiB budget)",
              value_of(priv, "memtotal"));
        CHECK(value_of(base, "memtotal") != 262144, "the baseline already shows 256 MiB");
    } else {
        CHECK(value_of(priv, "memtotal") == value_of(base, "memtotal") && value_of(priv, "memtotal") > 0,
              "MemTotal without a budget: %ld (want the machine's %ld)", value_of(priv, "memtotal"),
              value_of(base, "memtotal"));
    }
    sandlock_policy_free(pb);
    sandlock_policy_free(pp);
}

static void other_processes_are_invisible(void) { check_private_view(0); }
static void with_a_memory_budget_meminfo_shows_it(void) { check_private_view(1); }

static void bad_inputs(void) {
    CHECK(sandlock_policy_private_proc(NULL, 1) == -EINVAL, "NULL policy");
}

int main(void) {
    RUN(other_processes_are_invisible);
    RUN(with_a_memory_budget_meminfo_shows_it);
    RUN(bad_inputs);
    HARNESS_END();
}

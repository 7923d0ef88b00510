/* Limits (issue #4): max_processes, max_memory and max_cpu, enforced from
 * the host's own poll loop (the sandbox fd and sandlock_supervise_step).
 *
 * Every test stops at once if a limit setter fails: a fork bomb or a
 * memory hog must never run without its limit. Every sandbox runs with a
 * 20 s timeout_ms and a host-side deadline as safety nets; after free,
 * whatever is left of the sandbox's process group (and any pid its
 * processes wrote to the test's mkdtemp directory) is SIGKILLed and counted
 * as a failure. */
#include "harness.h"
#include <ctype.h>
#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

#define MiB (1024ULL * 1024ULL)
#define SAFETY_TIMEOUT_MS 20000 /* the policy's timeout_ms */
#define DEADLINE_MS 25000       /* the host's own, past the policy's */

/* Last resort, after the sandbox is freed: waits (up to 5 s: orphaned
 * zombies are reaped by init, which may take its time) for the group
 * `pgid` to be empty, then SIGKILLs whatever is left of it, and every
 * pid written to `dir`/pid.* that is still alive in that group. Returns
 * how many processes (live ones in *live) were left. */
static int kill_leftovers(pid_t pgid, const char *dir, int *live) {
    int left = 0, zombies = 0;
    *live = 0;
    if (pgid > 1) {
        for (int i = 0; i < 500 && (left = scan_group(pgid, &zombies, 0)) > 0; i++) usleep(10000);
        *live = left - zombies;
        if (left > 0) scan_group(pgid, NULL, SIGKILL);
    }
    int listed = 0; /* (already SIGKILLed above if the group still had them) */
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "pid.", 4) != 0) continue;
        pid_t pid = (pid_t)atoi(e->d_name + 4);
        if (pid > 1 && pgid > 1 && process_alive(pid) && group_of(pid, NULL) == pgid) {
            kill(pid, SIGKILL);
            listed++;
        }
    }
    if (d) closedir(d);
    if (left == 0) {
        *live = listed;
        left = listed;
    }
    return left;
}

static void check_nothing_left(pid_t pgid, const char *dir) {
    int live = 0;
    int left = kill_leftovers(pgid, dir, &live);
    CHECK(left == 0, "%d processes of group %d (%d of them live) outlived the sandbox", left, (int)pgid, live);
}

/* A limit setter that must succeed: the test stops when it does not. */
static int set_ok(sandlock_policy *p, int r, const char *what) {
    CHECK(r == 0, "%s: %d %s", what, r, sandlock_policy_error(p));
    return r == 0;
}

/* A base policy with the safety timeout and, if given, fs_write on `dir`. */
static sandlock_policy *limits_policy(const char *dir) {
    return timed_policy(SAFETY_TIMEOUT_MS, dir);
}

/* Drives `sb` from a poll loop until SANDLOCK_STEP_EXITED, for at most
 * `ms`. Returns 1 when it ended. */
static int supervise_for(sandlock_sandbox *sb, long ms) {
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    long deadline = now_ms() + ms;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) return 0;
        poll(&pfd, 1, left > 100 ? 100 : (int)left);
        int r;
        while ((r = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (r == SANDLOCK_STEP_EXITED) return 1;
        if (r < 0) {
            CHECK(0, "supervise_step: %d %s", r, sandlock_sandbox_error(sb));
            return 0;
        }
    }
}

struct run {
    int spawn;        /* sandlock_spawn's return */
    int exited;       /* SANDLOCK_STEP_EXITED was reached */
    int reason, code, sig;
    pid_t pid;        /* the main process (= the sandbox's process group) */
    long ms;          /* from spawn to EXITED */
    char out[4096];   /* stdout */
};

/* Runs the probe with `args` under p (stdout captured, stdin and stderr
 * /dev/null and inherited), supervised from a poll loop; past
 * DEADLINE_MS the sandbox is SIGKILLed (a failure). Frees the sandbox,
 * then kills and counts as a failure anything left of it. */
static void run_probe(sandlock_policy *p, const char *const args[], const char *dir, struct run *r) {
    const char *argv[8];
    char what[256];
    probe_command(args, argv, 8, what, sizeof what);
    memset(r, 0, sizeof *r);
    r->code = -1;
    sandlock_sandbox *sb = NULL;
    int out = -1;
    long start = now_ms();
    r->spawn = spawn_capturing(p, argv, &sb, &out);
    CHECK(r->spawn == 0, "spawn %s: %d %s", what, r->spawn, sandlock_policy_error(p));
    if (r->spawn == 0) {
        r->pid = sandlock_sandbox_pid(sb);
        r->exited = supervise_capturing(sb, out, r->out, sizeof r->out, DEADLINE_MS, what);
        r->ms = now_ms() - start;
        r->reason = sandlock_sandbox_exit_reason(sb);
        r->code = sandlock_sandbox_exit_code(sb);
        r->sig = sandlock_sandbox_exit_signal(sb);
        sandlock_sandbox_free(sb);
        check_nothing_left(r->pid, dir);
        close(out);
    }
}

static int file_exists(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* ---- max_processes ---- */

/* Every process of the probe forks in a loop; the host samples the
 * sandbox's process group several hundred times over 1.5 s. */
static void fork_bomb_stays_under_max_processes(void) {
    make_scratch();
    sandlock_policy *p = limits_policy(scratch);
    sandlock_sandbox *sb = NULL;
    pid_t pgid = 0;
    if (!set_ok(p, sandlock_policy_max_processes(p, 16), "max_processes(16)")) goto out;
    const char *argv[] = {probe_path(), "forkbomb", scratch, NULL};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, devnull, -1};
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(devnull);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    if (r != 0) goto out;
    pgid = sandlock_sandbox_pid(sb);

    int max_seen = 0, samples = 0, runaway = 0;
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    for (long end = now_ms() + 1500; now_ms() < end;) {
        poll(&pfd, 1, 1);
        int s;
        while ((s = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (s == SANDLOCK_STEP_EXITED || s < 0) {
            CHECK(0, "the bomb ended early: step %d, reason %d, code %d, signal %d (%s)", s,
                  sandlock_sandbox_exit_reason(sb), sandlock_sandbox_exit_code(sb),
                  sandlock_sandbox_exit_signal(sb), sandlock_sandbox_error(sb));
            break;
        }
        int n = scan_group(pgid, NULL, 0);
        samples++;
        if (n > max_seen) max_seen = n;
        if (n > 64) { runaway = 1; break; } /* the limit does not hold: stop it now */
    }
    fprintf(stderr, "  fork bomb: at most %d processes in %d samples\n", max_seen, samples);
    CHECK(max_seen <= 16, "%d processes seen at once under max_processes(16)%s", max_seen,
          runaway ? " (stopped early)" : "");
    CHECK(max_seen >= 8, "at most %d processes seen: the bomb did not run", max_seen);
    CHECK(runaway || samples >= 100, "only %d samples in 1.5 s", samples);
    CHECK(file_exists(scratch, "eagain"), "no fork failed with EAGAIN");
    CHECK(!file_exists(scratch, "fuse"), "the probe's own fuse (128 forks) tripped");
    DIR *d = opendir(scratch);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        CHECK(strncmp(e->d_name, "errno.", 6) != 0, "a fork failed with %s (want EAGAIN)", e->d_name);
    if (d) closedir(d);

    CHECK(sandlock_sandbox_kill(sb, SIGKILL) == 0, "kill: %s", sandlock_sandbox_error(sb));
    int ended = supervise_for(sb, 10000);
    CHECK(ended, "the bomb outlived SIGKILL for 10 s");
    if (ended)
        CHECK(sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_KILLED, "reason %d (want KILLED)",
              sandlock_sandbox_exit_reason(sb));
out:
    sandlock_sandbox_free(sb);
    if (pgid > 0) check_nothing_left(pgid, scratch);
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* Processes whose parent exits before it traps again are orphans the
 * supervisor never saw born. While the main process lives it adopts them
 * (and a walk of its tree finds them); after it exited they go to init,
 * and a scan by process group must find them. Either way a chain of links
 * that each fork a silent sleeper and exit stays under the limit. */
static void orphan_chain_stays_under_the_limit(int main_stays) {
    make_scratch();
    sandlock_policy *p = limits_policy(scratch);
    sandlock_sandbox *sb = NULL;
    pid_t pgid = 0;
    if (!set_ok(p, sandlock_policy_max_processes(p, 6), "max_processes(6)")) goto out;
    const char *argv[] = {probe_path(), "orphanchain", scratch, main_stays ? "stay" : "leave", NULL};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, devnull, -1};
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(devnull);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    if (r != 0) goto out;
    pgid = sandlock_sandbox_pid(sb);
    int max_seen = 0, samples = 0;
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    for (long end = now_ms() + 1500; now_ms() < end;) {
        poll(&pfd, 1, 1);
        int s;
        while ((s = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (s == SANDLOCK_STEP_EXITED || s < 0) {
            CHECK(0, "the chain ended early: step %d (%s)", s, sandlock_sandbox_error(sb));
            break;
        }
        /* Counted with the main process, alive or the host's zombie. */
        int n = scan_group(pgid, NULL, 0) - (main_stays ? 0 : 1);
        if (n > max_seen) max_seen = n;
        samples++;
    }
    fprintf(stderr, "  orphan chain (main %s): at most %d processes over %d samples\n",
            main_stays ? "stays" : "leaves", max_seen, samples);
    CHECK(max_seen <= 6, "%d processes of the sandbox at once (limit 6)", max_seen);
    CHECK(max_seen >= 4, "the chain never got going (at most %d processes)", max_seen);
    CHECK(file_exists(scratch, "eagain"), "no fork of the chain ever got EAGAIN");
    CHECK(!file_exists(scratch, "fuse"), "the chain made 64 forks: the limit did not hold");
    CHECK(sandlock_sandbox_kill(sb, SIGKILL) == 0, "kill: %s", sandlock_sandbox_error(sb));
    CHECK(supervise_for(sb, 10000), "the chain outlived SIGKILL for 10 s");
out:
    sandlock_sandbox_free(sb);
    if (pgid > 0) check_nothing_left(pgid, scratch);
    sandlock_policy_free(p);
    cleanup_scratch();
}

static void orphans_are_adopted_by_the_main_process(void) { orphan_chain_stays_under_the_limit(1); }
static void orphans_after_the_main_process_exits_still_count(void) { orphan_chain_stays_under_the_limit(0); }

static void fork_works_again_after_children_are_reaped(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 4), "max_processes(4)")) goto out;
    struct run r;
    const char *waves[] = {"forkwave", "3", "20", NULL}; /* main + 3 = 4, 20 times */
    run_probe(p, waves, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "forkwave 3 20: reason %d code %d, \"%s\"",
          r.reason, r.code, r.out);
    CHECK(strcmp(r.out, "rounds 20 ok\n") == 0, "forkwave 3 20: \"%s\"", r.out);
out:
    sandlock_policy_free(p);
}

static void fork_over_the_limit_is_eagain(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 4), "max_processes(4)")) goto out;
    struct run r;
    const char *wave[] = {"forkwave", "4", "1", NULL}; /* main + 4 = 5 */
    run_probe(p, wave, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == EAGAIN, "forkwave 4 1: reason %d code %d (want %d)",
          r.reason, r.code, EAGAIN);
    CHECK(strcmp(r.out, "round 0 ok 3 errno 11\n") == 0, "forkwave 4 1: \"%s\"", r.out);
out:
    sandlock_policy_free(p);
}

/* 3 unreaped zombies + main = 4: one more fork is EAGAIN until they are
 * reaped. */
static void zombies_count_until_reaped(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 4), "max_processes(4)")) goto out;
    struct run r;
    const char *args[] = {"zombies", "3", NULL};
    run_probe(p, args, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "zombies 3: reason %d code %d", r.reason, r.code);
    CHECK(strcmp(r.out, "zombies 3 more 11 after_reap 0\n") == 0, "zombies 3: \"%s\"", r.out);
out:
    sandlock_policy_free(p);
}

static void threads_do_not_count(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 2), "max_processes(2)")) goto out;
    struct run r;
    const char *args[] = {"threads", "32", NULL};
    run_probe(p, args, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "threads 32: reason %d code %d, \"%s\"",
          r.reason, r.code, r.out);
    int n = 0, live = 0;
    CHECK(sscanf(r.out, "threads %d max_live %d", &n, &live) == 2 && n == 32 && live >= 2,
          "threads 32: \"%s\" (want 32 created, at least 2 alive together)", r.out);
out:
    sandlock_policy_free(p);
}

/* max_processes(1): only the main process; fork, vfork and posix_spawn
 * all fail with EAGAIN. */
static void fork_vfork_and_posix_spawn_count(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 1), "max_processes(1)")) goto out;
    struct run r;
    const char *args[] = {"forkone", "0", NULL};
    run_probe(p, args, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == EAGAIN * 16 + EAGAIN,
          "forkone: reason %d code %d (want %d)", r.reason, r.code, EAGAIN * 16 + EAGAIN);
    CHECK(strcmp(r.out, "fork 11 vfork 11 spawn 11\n") == 0, "forkone: \"%s\"", r.out);
out:
    sandlock_policy_free(p);
}

/* ---- max_memory ---- */

static void memory_hog_is_killed(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_memory(p, 64 * MiB), "max_memory(64 MiB)")) goto out;
    struct run r;
    const char *args[] = {"hog", "512", NULL};
    run_probe(p, args, NULL, &r);
    CHECK(r.reason != SANDLOCK_EXIT_TIMEOUT, "the hog ran into the safety timeout");
    CHECK(r.reason == SANDLOCK_EXIT_MEMORY, "hog 512: reason %d code %d signal %d (want MEMORY)", r.reason,
          r.code, r.sig);
    fprintf(stderr, "  hog 512: ended after %ld ms\n", r.ms);
    CHECK(r.ms < 5000, "hog 512: killed after %ld ms", r.ms);
out:
    sandlock_policy_free(p);
}

static void memory_under_budget_runs_normally(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_memory(p, 64 * MiB), "max_memory(64 MiB)")) goto out;
    struct run r;
    const char *args[] = {"hog", "16", "exit", NULL};
    run_probe(p, args, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "hog 16: reason %d code %d", r.reason, r.code);
    CHECK(strcmp(r.out, "hog 16\n") == 0, "hog 16: \"%s\"", r.out);
out:
    sandlock_policy_free(p);
}

/* 4 processes of 32 MiB each: each is under the budget, their sum is not
 * (and 4 of 8 MiB stay under it). */
static void memory_is_summed_over_processes(void) {
    make_scratch();
    sandlock_policy *p = limits_policy(scratch);
    if (!set_ok(p, sandlock_policy_max_memory(p, 64 * MiB), "max_memory(64 MiB)")) goto out;
    struct run r;
    const char *args[] = {"hogfork", "4", "32", scratch, NULL};
    run_probe(p, args, scratch, &r); /* also checks that nothing is left */
    CHECK(r.reason != SANDLOCK_EXIT_TIMEOUT, "the hogs ran into the safety timeout");
    CHECK(r.reason == SANDLOCK_EXIT_MEMORY, "hogfork 4 32: reason %d code %d signal %d (want MEMORY)",
          r.reason, r.code, r.sig);
    fprintf(stderr, "  hogfork 4 32: ended after %ld ms\n", r.ms);
    CHECK(r.ms < 5000, "hogfork 4 32: killed after %ld ms", r.ms);
    /* 4 processes of 8 MiB for 0.3 s: their sum is under the budget. */
    const char *small[] = {"hogfork", "4", "8", scratch, "0.3", NULL};
    run_probe(p, small, scratch, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "hogfork 4 8: reason %d code %d signal %d (want NORMAL 0)",
          r.reason, r.code, r.sig);
out:
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* ---- max_cpu ---- */

/* Runs "spin SECONDS" under p; returns CPU time / wall time (-1 on failure). */
/* Runs the probe's `args` (spin or spinforks: they print the CPU time they
 * got and the wall time they ran) and returns the share of one CPU. */
static double cpu_ratio(sandlock_policy *p, const char *const args[]) {
    const char *seconds = args[1];
    struct run r;
    run_probe(p, args, NULL, &r);
    double cpu = 0, wall = 0;
    int parsed = sscanf(r.out, "cpu_ms %lf wall_ms %lf", &cpu, &wall) == 2;
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0 && parsed && wall >= atof(seconds) * 1000,
          "spin %s: reason %d code %d, \"%s\"", seconds, r.reason, r.code, r.out);
    if (!parsed || wall <= 0) return -1;
    fprintf(stderr, "  %s %s: cpu %.0f ms of %.0f ms wall (%.0f%%)\n", args[0], seconds, cpu, wall,
            100 * cpu / wall);
    return cpu / wall;
}

static double spin_ratio(sandlock_policy *p, const char *seconds) {
    const char *args[] = {"spin", seconds, NULL};
    return cpu_ratio(p, args);
}

static void cpu_share_is_throttled(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_cpu(p, 25), "max_cpu(25)")) goto out;
    double ratio = spin_ratio(p, "3");
    CHECK(ratio >= 0.20 && ratio <= 0.30, "max_cpu(25): the probe got %.1f%% of one CPU (want 20-30%%)",
          100 * ratio);
out:
    sandlock_policy_free(p);
}

/* Children that each live a few milliseconds end between two samples of
 * the throttle: their time must still count (through their parent's
 * children time). */
static void cpu_of_short_lived_children_counts(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_cpu(p, 25), "max_cpu(25)")) goto out;
    const char *args[] = {"spinforks", "3", "4", NULL};
    double ratio = cpu_ratio(p, args);
    CHECK(ratio >= 0.15 && ratio <= 0.30, "max_cpu(25): children of 4 ms got %.1f%% of one CPU (want 15-30%%)",
          100 * ratio);
out:
    sandlock_policy_free(p);
}

/* Against the same spinner without max_cpu, run just before: on a busy
 * machine neither gets a whole CPU, and the question is only whether
 * max_cpu(100) takes anything away. */
static void cpu_100_is_no_throttle(void) {
    sandlock_policy *free_run = limits_policy(NULL);
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_cpu(p, 100), "max_cpu(100)")) goto out;
    double baseline = spin_ratio(free_run, "1");
    double ratio = spin_ratio(p, "1");
    CHECK(ratio >= 0.80 * baseline,
          "max_cpu(100): the probe got %.1f%% of one CPU, %.1f%% without max_cpu (want at least 80%% of that)",
          100 * ratio, 100 * baseline);
out:
    sandlock_policy_free(free_run);
    sandlock_policy_free(p);
}

static void cpu_out_of_range_is_einval(void) {
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_max_cpu(p, 0);
    CHECK(r == -EINVAL, "max_cpu(0): %d (want -EINVAL)", r);
    CHECK(sandlock_policy_error(p)[0] != '\0', "max_cpu(0): no error message");
    r = sandlock_policy_max_cpu(p, 101);
    CHECK(r == -EINVAL, "max_cpu(101): %d (want -EINVAL)", r);
    CHECK(sandlock_policy_error(p)[0] != '\0', "max_cpu(101): no error message");
    sandlock_policy_free(p);
}

/* ---- 0 = no limit ---- */

static void zero_means_no_limit(void) {
    sandlock_policy *p = limits_policy(NULL);
    struct run r;
    if (!set_ok(p, sandlock_policy_max_processes(p, 0), "max_processes(0)")) goto out;
    const char *wave[] = {"forkwave", "20", "1", NULL};
    run_probe(p, wave, NULL, &r);
    CHECK(r.code == 0 && strcmp(r.out, "rounds 1 ok\n") == 0, "forkwave 20 1 under max_processes(0): code %d \"%s\"",
          r.code, r.out);
    /* A limit set back to 0 is gone. */
    if (!set_ok(p, sandlock_policy_max_processes(p, 1), "max_processes(1)")) goto out;
    if (!set_ok(p, sandlock_policy_max_processes(p, 0), "max_processes(0) after 1")) goto out;
    const char *one[] = {"forkone", "0", NULL};
    run_probe(p, one, NULL, &r);
    CHECK(r.code == 0 && strcmp(r.out, "fork 0 vfork 0 spawn 0\n") == 0,
          "forkone after max_processes(1) then (0): code %d \"%s\"", r.code, r.out);

    if (!set_ok(p, sandlock_policy_max_memory(p, 0), "max_memory(0)")) goto out;
    const char *hog[] = {"hog", "32", "exit", NULL};
    run_probe(p, hog, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0, "hog 32 under max_memory(0): reason %d code %d",
          r.reason, r.code);
    if (!set_ok(p, sandlock_policy_max_memory(p, 16 * MiB), "max_memory(16 MiB)")) goto out;
    if (!set_ok(p, sandlock_policy_max_memory(p, 0), "max_memory(0) after 16 MiB")) goto out;
    run_probe(p, hog, NULL, &r);
    CHECK(r.reason == SANDLOCK_EXIT_NORMAL && r.code == 0,
          "hog 32 after max_memory(16 MiB) then (0): reason %d code %d", r.reason, r.code);
out:
    sandlock_policy_free(p);
}

/* ---- no leak over many limit hits ---- */

static int self_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

/* Children of any of our threads that /proc lists (zombies included). */
/* waitpid(-1, WNOHANG) for any kind of child: -ECHILD when there is none. */
static int waitpid_any(void) {
    int st;
    pid_t r = waitpid(-1, &st, WNOHANG | __WALL);
    return r < 0 ? -errno : (int)r;
}

/* ---- the host out of fds: the supervisor cannot read /proc ---- */

static int fillers[4096], n_fillers;
static struct rlimit saved_nofile;

/* Uses up the host's fd table: the soft RLIMIT_NOFILE is lowered to just
 * above the highest fd open now, and the holes below are filled. */
static void fill_fd_table(void) {
    getrlimit(RLIMIT_NOFILE, &saved_nofile);
    int highest = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (atoi(e->d_name) > highest) highest = atoi(e->d_name);
    if (d) closedir(d);
    struct rlimit low = saved_nofile;
    low.rlim_cur = (rlim_t)highest + 2;
    setrlimit(RLIMIT_NOFILE, &low);
    n_fillers = 0;
    int fd;
    while (n_fillers < 4096 && (fd = dup(0)) >= 0) fillers[n_fillers++] = fd;
}

static void release_fd_table(void) {
    while (n_fillers > 0) close(fillers[--n_fillers]);
    setrlimit(RLIMIT_NOFILE, &saved_nofile);
}

/* Runs probe `args` under p with the host's fd table full while it is
 * supervised; returns the exit reason (and the exit code in *code). */
static int run_with_full_fd_table(sandlock_policy *p, const char *const args[], int *code) {
    const char *argv[8] = {probe_path()};
    for (int i = 0; args[i] && i < 6; i++) argv[1 + i] = args[i];
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, devnull, -1};
    sandlock_sandbox *sb = NULL;
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(devnull);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    if (r != 0) return -1;
    pid_t pgid = sandlock_sandbox_pid(sb);
    fill_fd_table();
    int full = dup(0) < 0 && errno == EMFILE;
    int ended = supervise_for(sb, 10000);
    release_fd_table();
    CHECK(full, "the fd table was not full");
    CHECK(ended, "%s did not end within 10 s", args[0]);
    if (!ended) {
        sandlock_sandbox_kill(sb, SIGKILL);
        supervise_for(sb, 5000);
    }
    int reason = sandlock_sandbox_exit_reason(sb);
    *code = sandlock_sandbox_exit_code(sb);
    sandlock_sandbox_free(sb);
    check_nothing_left(pgid, NULL);
    return reason;
}

/* Without fds the supervisor cannot tell whom it counts or measures: a
 * fork is refused and a memory budget counts as exceeded. */
static void a_full_host_fd_table_fails_closed(void) {
    sandlock_policy *p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_processes(p, 8), "max_processes(8)")) goto out;
    int code = -1;
    const char *forks[] = {"forkone", "0", NULL};
    int reason = run_with_full_fd_table(p, forks, &code);
    CHECK(reason == SANDLOCK_EXIT_NORMAL && code == 187,
          "forks with the host out of fds: reason %d code %d (want 187: fork and vfork EAGAIN)", reason, code);
    sandlock_policy_free(p);

    p = limits_policy(NULL);
    if (!set_ok(p, sandlock_policy_max_memory(p, 1ULL << 40), "max_memory(1 TiB)")) goto out;
    const char *sleeper[] = {"sleep", "5", NULL};
    reason = run_with_full_fd_table(p, sleeper, &code);
    CHECK(reason == SANDLOCK_EXIT_MEMORY, "a sandbox that cannot be measured: reason %d (want MEMORY)", reason);
out:
    sandlock_policy_free(p);
}

static void limits_leak_nothing_over_many_cycles(void) {
    /* 1,000 by default; SANDLOCK_STRESS_SPAWNS lowers it (the ASan build). */
    const char *env = getenv("SANDLOCK_STRESS_SPAWNS");
    int cycles = 1000;
    if (env && atoi(env) > 0 && atoi(env) < cycles) cycles = atoi(env);
    int fds = count_open_fds(), threads = self_threads(), children = host_children(), waited = waitpid_any();
    sandlock_policy *procs = limits_policy(NULL), *mem = limits_policy(NULL);
    if (!set_ok(procs, sandlock_policy_max_processes(procs, 2), "max_processes(2)")) goto out;
    if (!set_ok(mem, sandlock_policy_max_memory(mem, 16 * MiB), "max_memory(16 MiB)")) goto out;
    alarm(600); /* a deadlock kills the test instead of hanging CI */
    int ok = 0, first_bad = -1;
    struct run r, bad;
    for (int i = 0; i < cycles; i++) {
        int good;
        if (i % 50 == 49) {
            const char *args[] = {"hog", "64", NULL};
            run_probe(mem, args, NULL, &r);
            good = r.reason == SANDLOCK_EXIT_MEMORY;
        } else { /* main + 1 holder = 2: fork, vfork and posix_spawn fail */
            const char *args[] = {"forkone", "1", NULL};
            run_probe(procs, args, NULL, &r);
            good = r.reason == SANDLOCK_EXIT_NORMAL && r.code == EAGAIN * 16 + EAGAIN &&
                   strcmp(r.out, "fork 11 vfork 11 spawn 11\n") == 0;
        }
        ok += good;
        if (!good && first_bad < 0) { first_bad = i; bad = r; }
        if (r.spawn != 0) break;
    }
    alarm(0);
    CHECK(ok == cycles, "%d of %d cycles hit their limit as expected; first other: cycle %d, spawn %d reason %d "
          "code %d signal %d \"%s\"", ok, cycles, first_bad, first_bad >= 0 ? bad.spawn : 0,
          first_bad >= 0 ? bad.reason : 0, first_bad >= 0 ? bad.code : 0, first_bad >= 0 ? bad.sig : 0,
          first_bad >= 0 ? bad.out : "");
out:
    sandlock_policy_free(procs);
    sandlock_policy_free(mem);
    CHECK(count_open_fds() == fds, "fds: %d before, %d after", fds, count_open_fds());
    CHECK(self_threads() == threads, "threads: %d before, %d after", threads, self_threads());
    CHECK(host_children() == children, "children: %d before, %d after", children, host_children());
    int w = waitpid_any();
    CHECK(w == waited && w == -ECHILD, "waitpid(-1, WNOHANG|__WALL): %d before, %d after (want -ECHILD)", waited, w);
}

int main(void) {
    RUN(cpu_out_of_range_is_einval);
    RUN(zero_means_no_limit);
    RUN(fork_bomb_stays_under_max_processes);
    RUN(orphans_are_adopted_by_the_main_process);
    RUN(orphans_after_the_main_process_exits_still_count);
    RUN(fork_works_again_after_children_are_reaped);
    RUN(fork_over_the_limit_is_eagain);
    RUN(zombies_count_until_reaped);
    RUN(threads_do_not_count);
    RUN(fork_vfork_and_posix_spawn_count);
    RUN(memory_hog_is_killed);
    RUN(memory_under_budget_runs_normally);
    RUN(memory_is_summed_over_processes);
    RUN(cpu_share_is_throttled);
    RUN(cpu_of_short_lived_children_counts);
    RUN(cpu_100_is_no_throttle);
    RUN(a_full_host_fd_table_fails_closed);
    RUN(limits_leak_nothing_over_many_cycles);
    HARNESS_END();
}

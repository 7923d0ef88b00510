/* Attacks on the host's own resources (issue #14, classes 8, 12 and 15):
 * memory the supervisor keeps or allocates for what the job sends, signals
 * that could reach a host process group after the sandbox's group of that
 * number is gone, the host's fd table filled with a job's process groups,
 * and steps held up by a stopped helper or by a huge answer to make.
 * The job is this very program, re-executed in the sandbox with "job" as
 * its first argument. Bounds on time are generous (a shared 2-core
 * machine); what used to take 0.4 s or more of one step now takes well
 * under a millisecond, and each test prints what it measured. */
#include "harness.h"
#include <linux/sched.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- the job (runs inside the sandbox) ---- */

/* n execs of a denied program, each with ~1.9 MiB of arguments. */
static int job_execs(const char *path, int n) {
    enum { ARGS = 15, LEN = 131071 };
    char *argv[ARGS + 2];
    argv[0] = (char *)path;
    for (int i = 1; i <= ARGS; i++) {
        argv[i] = malloc(LEN + 1);
        memset(argv[i], 'a' + i, LEN);
        argv[i][LEN] = '\0';
    }
    argv[ARGS + 1] = NULL;
    char *envp[] = {NULL};
    int denied = 0, other = 0, last = 0;
    for (int i = 0; i < n; i++) {
        execve(path, argv, envp);
        if (errno == EACCES) denied++;
        else { other++; last = errno; }
    }
    printf("denied %d\nother %d\nerrno %d\n", denied, other, last);
    return 0;
}

static void *bad_getrandom(void *bad) {
    long worst = 0;
    for (int i = 0; i < 4; i++) {
        long r = syscall(SYS_getrandom, bad, 32L << 20, 0);
        if (r >= 0) worst = r;
        else if (errno != EFAULT) worst = -errno;
    }
    return (void *)worst;
}

/* 16 threads asking for 32 MiB into unwritable memory, then calls whose
 * answers are checked: a big one into a good buffer, one that runs into
 * an unmapped page. */
static int job_getrandom(void) {
    void *bad = mmap(NULL, 32 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t[16];
    for (int i = 0; i < 16; i++) pthread_create(&t[i], NULL, bad_getrandom, bad);
    long odd = 0;
    for (int i = 0; i < 16; i++) {
        void *r;
        pthread_join(t[i], &r);
        if ((long)r != 0) odd = (long)r;
    }
    printf("bad_buffer_odd %ld\n", odd);
    char *good = malloc(32 << 20);
    printf("good %ld\n", syscall(SYS_getrandom, good, 32L << 20, 0));
    char *half = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(half + (128 << 10), 128 << 10, PROT_NONE);
    printf("half %ld\n", syscall(SYS_getrandom, half, 256L << 10, 0));
    long small = syscall(SYS_getrandom, good, 16, 0);
    printf("small %ld\n", small);
    return 0;
}

/* n opens of the seeded /dev/urandom kept open, then a wait to be killed. */
static int job_urandom(int n) {
    int opened = 0;
    for (int i = 0; i < n; i++)
        if (open("/dev/urandom", O_RDONLY | O_CLOEXEC) >= 0) opened++;
    printf("opened %d\n", opened);
    fflush(stdout);
    for (;;) pause();
    return 0;
}

/* A child leads a session (and group) of its own, writes its pid and
 * exits; the job waits to be killed. */
static int job_dead_group(const char *pidfile) {
    pid_t c = fork();
    if (c == 0) {
        if (setsid() < 0) _exit(1);
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
        FILE *f = fopen(tmp, "w");
        if (!f) _exit(2);
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        rename(tmp, pidfile);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    for (;;) pause();
    return 0;
}

/* A double-forked daemon: its session leader exits, the daemon stays in
 * the leader's group. The job waits to be killed. */
static int job_daemon(const char *pidfile) {
    pid_t l = fork();
    if (l == 0) {
        if (setsid() < 0) _exit(1);
        if (fork() == 0) {
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
            FILE *f = fopen(tmp, "w");
            if (!f) _exit(2);
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
            rename(tmp, pidfile);
            for (;;) pause();
        }
        _exit(0);
    }
    waitpid(l, NULL, 0);
    for (;;) pause();
    return 0;
}

/* n children, each making a group and exiting: prints how many setsids
 * worked. */
static int job_groups(int n) {
    int ok = 0, eagain = 0, other = 0;
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) _exit(setsid() < 0 ? errno : 0);
        int status = 0;
        waitpid(c, &status, 0);
        int e = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (e == 0) ok++;
        else if (e == EAGAIN) eagain++;
        else other++;
    }
    printf("ok %d\neagain %d\nother %d\n", ok, eagain, other);
    return 0;
}

/* n children, each making a group and staying: prints how many setsids
 * worked, then waits to be killed. */
static int job_live_groups(int n) {
    int fds[2];
    if (pipe(fds) != 0) return 2;
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) {
            unsigned char e = setsid() < 0 ? (unsigned char)errno : 0;
            if (write(fds[1], &e, 1) != 1) _exit(3);
            if (e) _exit(0);
            for (;;) pause();
        }
        if (c < 0) break;
    }
    int ok = 0, eagain = 0, other = 0;
    for (int i = 0; i < n; i++) {
        unsigned char e;
        if (read(fds[0], &e, 1) != 1) break;
        if (e == 0) ok++;
        else if (e == EAGAIN) eagain++;
        else other++;
    }
    printf("ok %d\neagain %d\nother %d\n", ok, eagain, other);
    fflush(stdout);
    for (;;) pause();
    return 0;
}

/* The opener: the main process's child whose argv[0] is sandlock-opener. */
static pid_t find_opener(void) {
    char path[128], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n")) {
        char name[64] = "";
        snprintf(path, sizeof path, "/proc/%s/cmdline", t);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        if (n > 0 && !strcmp(name, "sandlock-opener")) return (pid_t)atoi(t);
    }
    return 0;
}

struct opens { const char *dir; int thread, count, right, failed, last_errno; };

/* Opens dir/f<thread>-<i> `count` times, each checked to hold its name. */
static void *open_many(void *arg) {
    struct opens *o = arg;
    for (int i = 0; i < o->count; i++) {
        char path[4200], want[64], got[64] = "";
        int k = i % 8;
        snprintf(path, sizeof path, "%s/f%d-%d", o->dir, o->thread, k);
        snprintf(want, sizeof want, "f%d-%d", o->thread, k);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { o->failed++; o->last_errno = errno; continue; }
        ssize_t n = read(fd, got, sizeof got - 1);
        close(fd);
        if (n > 0) got[n] = '\0';
        if (!strcmp(got, want)) o->right++;
    }
    return NULL;
}

static void run_opens(const char *dir, int threads, int count, const char *label) {
    pthread_t t[16];
    struct opens o[16];
    for (int i = 0; i < threads; i++) {
        o[i] = (struct opens){dir, i, count, 0, 0, 0};
        pthread_create(&t[i], NULL, open_many, &o[i]);
    }
    int right = 0, failed = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        right += o[i].right;
        failed += o[i].failed;
        if (o[i].last_errno) last = o[i].last_errno;
    }
    printf("%s_right %d\n%s_failed %d\n%s_errno %d\n", label, right, label, failed, label, last);
    fflush(stdout);
}

/* Opens from several threads at once (each must get its own file), then
 * the opener stopped for a while and continued, then stopped for good. */
static int job_opener(const char *dir) {
    run_opens(dir, 8, 200, "many");
    pid_t opener = find_opener();
    printf("opener %d\n", (int)opener);
    int stopped = opener > 0 && kill(opener, SIGSTOP) == 0;
    printf("stopped %d\n", stopped);
    fflush(stdout);
    if (stopped) {
        /* continued by a thread before the supervisor's deadline: the
         * opens go on */
        pid_t c = fork();
        if (c == 0) { usleep(100000); kill(opener, SIGCONT); _exit(0); }
        run_opens(dir, 4, 4, "paused");
        waitpid(c, NULL, 0);
        kill(opener, SIGSTOP);
        run_opens(dir, 4, 8, "hung");
        run_opens(dir, 1, 1, "after");
    }
    return 0;
}

static int job(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *cmd = argv[2], *arg = argc > 3 ? argv[3] : "";
    int n = argc > 4 ? atoi(argv[4]) : 0;
    if (!strcmp(cmd, "execs")) return job_execs(arg, n);
    if (!strcmp(cmd, "getrandom")) return job_getrandom();
    if (!strcmp(cmd, "urandom")) return job_urandom(n);
    if (!strcmp(cmd, "dead_group")) return job_dead_group(arg);
    if (!strcmp(cmd, "daemon")) return job_daemon(arg);
    if (!strcmp(cmd, "groups")) return job_groups(n);
    if (!strcmp(cmd, "live_groups")) return job_live_groups(n);
    if (!strcmp(cmd, "opener")) return job_opener(arg);
    return 2;
}

/* ---- the host ---- */

static char self[4096];

static sandlock_policy *job_policy(void) {
    sandlock_policy *p = allow_self_job(timed_policy(60000, NULL), self);
    return p;
}

/* The "<format> kB" line of a /proc file, in KiB (-1 if absent). */
static long proc_kib(const char *file, const char *format) {
    FILE *f = fopen(file, "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, format, &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* job_policy with a random seed (getrandom and /dev/urandom answered). */
static sandlock_policy *seeded_policy(void) {
    sandlock_policy *p = job_policy();
    CHECK(sandlock_policy_random_seed(p, 42) == 0, "random_seed: %s", sandlock_policy_error(p));
    return p;
}

static long vm_rss_kib(void) { return proc_kib("/proc/self/status", "VmRSS: %ld kB"); }

static long shmem_kib(void) { return proc_kib("/proc/meminfo", "Shmem: %ld kB"); }

/* Supervises `sb` until it ends or `until` (if given) appears in out,
 * timing every step; *longest gets the most CPU time one step used, in
 * microseconds (wall time is not asserted: the machines are shared). Past
 * `limit_ms` the sandbox is killed (a failure). 1 when it ended. */
static int supervise_timed(sandlock_sandbox *sb, int out_fd, char *out, size_t size, long limit_ms,
                           const char *until, long *longest, const char *what) {
    size_t used = strlen(out);
    struct pollfd pfd[2] = {{.fd = sandlock_sandbox_fd(sb), .events = POLLIN}, {.fd = out_fd, .events = POLLIN}};
    long deadline = now_ms() + limit_ms;
    *longest = 0;
    for (;;) {
        if (now_ms() > deadline) {
            CHECK(0, "%s: did not end within %ld ms: killing it", what, limit_ms);
            sandlock_sandbox_kill(sb, SIGKILL);
            return 0;
        }
        poll(pfd, 2, 100);
        if (pfd[1].fd >= 0 && drain_into(out_fd, out, size, &used)) pfd[1].fd = -1;
        if (until && strstr(out, until)) return 0;
        int s;
        do {
            long t0 = thread_cpu_us();
            s = sandlock_supervise_step(sb);
            long dt = thread_cpu_us() - t0;
            if (dt > *longest) *longest = dt;
        } while (s == SANDLOCK_STEP_MORE);
        if (s == SANDLOCK_STEP_EXITED) break;
        if (s < 0) { CHECK(0, "%s: step: %d %s", what, s, sandlock_sandbox_error(sb)); return 0; }
    }
    drain_into(out_fd, out, size, &used);
    return 1;
}

static sandlock_sandbox *start_job(sandlock_policy *p, const char *cmd, const char *arg, int n, int *out_fd) {
    char ns[16];
    snprintf(ns, sizeof ns, "%d", n);
    const char *argv[] = {self, "job", cmd, arg, ns, NULL};
    sandlock_sandbox *sb = NULL;
    int r = spawn_capturing(p, argv, &sb, out_fd);
    CHECK(r == 0, "spawn %s: %d %s", cmd, r, sandlock_policy_error(p));
    return r == 0 ? sb : NULL;
}

/* A job started and supervised until `until` is in its output (or it
 * ends, or `limit_ms`): the sandbox, or NULL (the policy freed) when it
 * could not start. */
static sandlock_sandbox *run_job(sandlock_policy *p, const char *cmd, const char *arg, int n, int *fd, char *out,
                                 size_t size, long limit_ms, const char *until, long *longest) {
    sandlock_sandbox *sb = start_job(p, cmd, arg, n, fd);
    if (!sb) {
        sandlock_policy_free(p);
        return NULL;
    }
    supervise_timed(sb, *fd, out, size, limit_ms, until, longest, cmd);
    return sb;
}

/* The end of a test's job: the sandbox, its output pipe, the policy. */
static void end_job(sandlock_sandbox *sb, int fd, sandlock_policy *p) {
    if (sb) sandlock_sandbox_free(sb);
    close(fd);
    sandlock_policy_free(p);
}

/* Class 8: a denied exec's argv is not kept whole in the log. */
static void denied_execs_with_huge_argv_do_not_grow_the_host(void) {
    sandlock_policy *p = job_policy();
    const char *denied = "/usr/bin/true";
    CHECK(sandlock_policy_fs_deny(p, denied) == 0, "fs_deny: %s", sandlock_policy_error(p));
    long before = vm_rss_kib();
    int fd;
    char out[1024] = "";
    long longest;
    sandlock_sandbox *sb = run_job(p, "execs", denied, 300, &fd, out, sizeof out, 120000, NULL, &longest);
    if (!sb) return;
    long after = vm_rss_kib();
    int entries = 0, marked = 0;
    uint64_t dropped = 0;
    sandlock_event ev;
    for (;;) {
        memset(&ev, 0, sizeof ev);
        ev.size = sizeof ev;
        if (sandlock_sandbox_next_event(sb, &ev) != 1) break;
        entries++;
        dropped += ev.dropped;
        size_t bytes = 0;
        for (int i = 0; ev.argv && ev.argv[i]; i++) {
            bytes += strlen(ev.argv[i]) + 1;
            if (strstr(ev.argv[i], "[sandlock: truncated]")) marked++;
        }
        CHECK(bytes <= 4096, "a logged argv keeps %zu bytes", bytes);
    }
    printf("  denied %ld, log %d entries (%llu dropped, %d marked), host RSS %ld -> %ld KiB, most CPU in one step %ld us\n",
           key_value(out, "denied"), entries, (unsigned long long)dropped, marked, before, after, longest);
    CHECK(key_value(out, "denied") == 300, "the execs were not all denied: %s", out);
    CHECK(entries > 0 && marked == entries, "the log's argv copies are not marked as cut");
    if (UNDER_ASAN)
        printf("  (AddressSanitizer keeps freed memory: RSS not checked)\n");
    else
        CHECK(after - before < 64 * 1024, "the host grew by %ld KiB", after - before);
    end_job(sb, fd, p);
}

/* Class 15: getrandom makes and writes its answer in small pieces. */
static void a_huge_getrandom_does_not_stall_the_host(void) {
    sandlock_policy *p = seeded_policy();
    long before = vm_rss_kib();
    int fd;
    char out[1024] = "";
    long longest;
    sandlock_sandbox *sb = run_job(p, "getrandom", "", 0, &fd, out, sizeof out, 60000, NULL, &longest);
    if (!sb) return;
    long after = vm_rss_kib();
    printf("  most CPU in one step %ld us; good %ld, half %ld, small %ld; host RSS %ld -> %ld KiB\n", longest,
           key_value(out, "good"), key_value(out, "half"), key_value(out, "small"), before, after);
    CHECK(key_value(out, "bad_buffer_odd") == 0, "a bad buffer: %s", out);
    CHECK(key_value(out, "good") > 0 && key_value(out, "good") <= 256 * 1024, "good: %s", out);
    CHECK(key_value(out, "half") == 128 * 1024, "a write stopped by an unmapped page: %s", out);
    CHECK(key_value(out, "small") == 16, "small: %s", out);
    CHECK(longest < 100000, "a step used %ld us of CPU", longest);
    end_job(sb, fd, p);
}

/* Class 15: a virtual file opened many times is one memfd. */
static void many_opens_of_a_virtual_file_share_one_memfd(void) {
    sandlock_policy *p = seeded_policy();
    long before = shmem_kib();
    int fd;
    char out[1024] = "";
    long longest;
    sandlock_sandbox *sb = run_job(p, "urandom", "", 300, &fd, out, sizeof out, 30000, "opened", &longest);
    if (!sb) return;
    usleep(100000);
    drain_into(fd, out, sizeof out, &(size_t){strlen(out)});
    long after = shmem_kib();
    printf("  opened %ld; system Shmem %ld -> %ld KiB\n", key_value(out, "opened"), before, after);
    CHECK(key_value(out, "opened") == 300, "%s", out);
    CHECK(after - before < 64 * 1024, "300 opens of /dev/urandom took %ld KiB of shared memory", after - before);
    end_job(sb, fd, p);
}

static pid_t read_pid_file(const char *path, sandlock_sandbox *sb) { return wait_for_pid_file(path, sb); }

/* A child of this process with pid `want` (clone3 set_tid, as root), or by
 * cycling pids for at most `limit_ms`; it leads a process group of its own
 * and waits. 0 when neither worked. */
static pid_t victim_with_pid(pid_t want, long limit_ms, int *cycled) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    pid_t tid = want;
    args.exit_signal = SIGCHLD;
    args.set_tid = (uint64_t)(uintptr_t)&tid;
    args.set_tid_size = 1;
    *cycled = 0;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) { setpgid(0, 0); for (;;) pause(); }
    if (pid == want) { setpgid(want, want); return want; }
    long deadline = now_ms() + limit_ms;
    while (now_ms() < deadline) {
        pid_t c = fork();
        if (c == 0) {
            if (getpid() == want) { setpgid(0, 0); for (;;) pause(); }
            _exit(0);
        }
        if (c < 0) { usleep(1000); continue; }
        (*cycled)++;
        if (c == want) { setpgid(want, want); return want; }
        waitpid(c, NULL, 0);
    }
    return 0;
}

/* Class 12: a group the sandbox had, gone, its number now a host group:
 * freeing the sandbox must not signal it. */
static void a_reused_group_number_is_not_signalled(void) {
    make_scratch();
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/leader.pid", scratch);
    sandlock_policy *p = job_policy();
    sandlock_policy_fs_write(p, scratch);
    int fd;
    sandlock_sandbox *sb = start_job(p, "dead_group", pidfile, 0, &fd);
    if (!sb) { sandlock_policy_free(p); cleanup_scratch(); return; }
    pid_t leader = read_pid_file(pidfile, sb);
    CHECK(leader > 0, "the job's group leader did not start");
    /* gone: reaped by the job */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)leader);
    for (int i = 0; i < 500 && leader > 0 && access(path, F_OK) == 0; i++) {
        sandlock_supervise_step(sb);
        usleep(10000);
    }
    int cycled = 0;
    long t0 = now_ms();
    pid_t victim = leader > 0 ? victim_with_pid(leader, 20000, &cycled) : 0;
    if (!victim) {
        printf("  pid %d not reused within 20 s (%d forks): not tested\n", (int)leader, cycled);
    } else {
        printf("  host group %d made in %ld ms (%s)\n", (int)victim, now_ms() - t0,
               cycled ? "by cycling pids" : "clone3 set_tid");
        for (int i = 0; i < 10; i++) sandlock_supervise_step(sb);
        sandlock_sandbox_kill(sb, SIGKILL);
        sandlock_sandbox_free(sb);
        sb = NULL;
        usleep(200000);
        CHECK(process_alive(victim), "the host's group %d was signalled by the sandbox", (int)victim);
        kill(victim, SIGKILL);
        waitpid(victim, NULL, 0);
    }
    end_job(sb, fd, p);
    cleanup_scratch();
}

/* Class 12: a daemon left in its dead session leader's group is still
 * the sandbox's: a kill reaches it (before the sandbox is freed). */
static void a_leaderless_group_is_still_killed(void) {
    make_scratch();
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", scratch);
    sandlock_policy *p = job_policy();
    sandlock_policy_fs_write(p, scratch);
    int fd;
    sandlock_sandbox *sb = start_job(p, "daemon", pidfile, 0, &fd);
    if (!sb) { sandlock_policy_free(p); cleanup_scratch(); return; }
    pid_t daemon = read_pid_file(pidfile, sb);
    CHECK(daemon > 0, "the daemon did not start");
    char state;
    pid_t group = daemon > 0 ? group_of(daemon, &state) : -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)group);
    for (int i = 0; i < 500 && access(path, F_OK) == 0; i++) { sandlock_supervise_step(sb); usleep(10000); }
    CHECK(group > 0 && access(path, F_OK) != 0, "the session leader %d did not go", (int)group);
    sandlock_sandbox_kill(sb, SIGKILL);
    char out[256] = "";
    long longest;
    int ended = supervise_timed(sb, fd, out, sizeof out, 5000, NULL, &longest, "daemon");
    /* the listener hangs up early in the daemon's exit: give it the rest */
    for (int i = 0; i < 200 && daemon > 0 && process_alive(daemon); i++) usleep(10000);
    printf("  daemon %d in group %d: %s\n", (int)daemon, (int)group,
           daemon > 0 && process_alive(daemon) ? "alive" : "killed");
    CHECK(ended, "the sandbox did not end after a kill");
    CHECK(daemon > 0 && !process_alive(daemon), "the daemon outlived the kill");
    if (daemon > 0 && process_alive(daemon)) kill(daemon, SIGKILL);
    end_job(sb, fd, p);
    cleanup_scratch();
}

/* Class 12: 1,100 groups made and gone do not hold 1,100 host fds. */
static void many_groups_do_not_fill_the_hosts_fd_table(void) {
    sandlock_policy *p = job_policy();
    int fds_before = count_open_fds();
    int fd;
    char out[512] = "";
    long longest;
    sandlock_sandbox *sb = run_job(p, "groups", "", 1100, &fd, out, sizeof out, 120000, "other", &longest);
    if (!sb) return;
    int fds_during = count_open_fds();
    supervise_timed(sb, fd, out, sizeof out, 10000, NULL, &longest, "groups");
    printf("  setsid ok %ld eagain %ld; host fds %d, %d at the job's end\n", key_value(out, "ok"),
           key_value(out, "eagain"), fds_before, fds_during);
    CHECK(key_value(out, "ok") == 1100, "groups that are gone still count: %s", out);
    CHECK(fds_during - fds_before < 64, "the host holds %d more fds", fds_during - fds_before);
    end_job(sb, fd, p);
}

/* Class 12: past the bound, setsid fails (EAGAIN); every group made is
 * still killed. */
static void live_groups_are_bounded_and_all_killed(void) {
    sandlock_policy *p = job_policy();
    int fds_before = count_open_fds();
    int fd;
    char out[512] = "";
    long longest;
    sandlock_sandbox *sb = run_job(p, "live_groups", "", 300, &fd, out, sizeof out, 60000, "other", &longest);
    if (!sb) return;
    usleep(50000);
    drain_into(fd, out, sizeof out, &(size_t){strlen(out)});
    int fds_during = count_open_fds();
    sandlock_sandbox_kill(sb, SIGKILL);
    int ended = supervise_timed(sb, fd, out, sizeof out, 10000, NULL, &longest, "live groups");
    printf("  setsid ok %ld eagain %ld other %ld; host fds %d -> %d; %s\n", key_value(out, "ok"),
           key_value(out, "eagain"), key_value(out, "other"), fds_before, fds_during,
           ended ? "all killed" : "not all killed");
    CHECK(key_value(out, "ok") == 256 && key_value(out, "eagain") == 44, "%s", out);
    CHECK(fds_during - fds_before < 300, "the host holds %d more fds", fds_during - fds_before);
    CHECK(ended, "a kill did not end every group");
    end_job(sb, fd, p);
}

/* Class 15: the job stops the opener; steps do not wait on it. */
static void a_stopped_opener_does_not_stall_the_host(void) {
    make_scratch();
    for (int t = 0; t < 8; t++)
        for (int k = 0; k < 8; k++) {
            char path[512], name[64];
            snprintf(path, sizeof path, "%s/f%d-%d", scratch, t, k);
            snprintf(name, sizeof name, "f%d-%d", t, k);
            write_file(path, name, 0644);
        }
    char denied[512];
    snprintf(denied, sizeof denied, "%s/denied", scratch);
    write_file(denied, "secret", 0644);
    sandlock_policy *p = job_policy();
    sandlock_policy_fs_read(p, scratch);
    CHECK(sandlock_policy_fs_deny(p, denied) == 0, "fs_deny: %s", sandlock_policy_error(p));
    int fd;
    sandlock_sandbox *sb = start_job(p, "opener", scratch, 0, &fd);
    if (!sb) { sandlock_policy_free(p); cleanup_scratch(); return; }
    char out[1024] = "";
    long longest;
    supervise_timed(sb, fd, out, sizeof out, 60000, NULL, &longest, "opener");
    printf("  many: %ld right %ld failed; stopped %ld; paused: %ld right %ld failed; hung: %ld failed "
           "(errno %ld); after %ld failed; most CPU in one step %ld us\n",
           key_value(out, "many_right"), key_value(out, "many_failed"), key_value(out, "stopped"),
           key_value(out, "paused_right"), key_value(out, "paused_failed"), key_value(out, "hung_failed"),
           key_value(out, "hung_errno"), key_value(out, "after_failed"), longest);
    CHECK(key_value(out, "many_right") == 1600, "concurrent opens: %s", out);
    if (key_value(out, "stopped") == 1) {
        CHECK(key_value(out, "paused_right") == 16, "opens across a short stop: %s", out);
        CHECK(key_value(out, "hung_failed") == 32 && key_value(out, "hung_errno") == EIO, "%s", out);
        CHECK(key_value(out, "after_failed") == 1, "%s", out);
        CHECK(longest < 100000, "a step used %ld us of CPU", longest);
    } else {
        printf("  (the job cannot stop the opener)\n");
    }
    end_job(sb, fd, p);
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (read_self(self, sizeof self) != 0) return 2;




    RUN(denied_execs_with_huge_argv_do_not_grow_the_host);
    RUN(a_huge_getrandom_does_not_stall_the_host);
    RUN(many_opens_of_a_virtual_file_share_one_memfd);
    RUN(a_reused_group_number_is_not_signalled);
    RUN(a_leaderless_group_is_still_killed);
    RUN(many_groups_do_not_fill_the_hosts_fd_table);
    RUN(live_groups_are_bounded_and_all_killed);
    RUN(a_stopped_opener_does_not_stall_the_host);
    HARNESS_END();
}

/* Soak (issue #14): many sandbox lifecycles with randomised policies and
 * jobs, from one host poll() loop, with the host's resources measured
 * around the run and every sandlock_supervise_step() call timed.
 *
 *   soak [-n N] [-k K] [-s SEED] [-w WARMUP] [--only ID] [--strict]
 *
 * keeps K sandboxes (16) alive at once and runs N lifecycles (10000) in
 * all. Lifecycle i draws its policy, job and kill plan from (SEED, i)
 * alone, so `--only i -s SEED` replays one. SOAK_SEED and SOAK_STRICT=1
 * in the environment do as -s and --strict. The job is this binary again
 * (argv[1] == "job"). Everything it touches is its own scratch directory
 * (/tmp/sandlock-soak-XXXXXX) and loopback sockets it opens.
 *
 * Checked always: no sandbox ends with a breach exit code (a denied open
 * or exec that succeeded), no step fails, no sandbox outlives a SIGKILL
 * by 5 s, no process outlives its sandbox's free by 2 s, and after the
 * last free the host's fds, threads and children are exactly what they
 * were after the warm-up (RSS within 32 MiB). The step distribution is
 * printed, and asserted (every step under 10 ms) only with --strict. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sandlock.h>

/* ---------------------------------------------------------------- job -- */

/* Flags the host passes to the job: what its policy lets it expect. */
enum {
    F_DENY = 1,      /* fs_deny of scratch/rw/deny */
    F_EXECVETO = 2,  /* an EXEC callback denies argv "ran-vetoed" */
    F_OPENVETO = 4,  /* an OPEN callback denies paths with "veto" */
    F_RW = 8,        /* fs_write of scratch/rw */
    F_LOOP = 16,     /* net_allow of the loopback listeners */
};

/* Breach exit codes: what must never be seen. */
enum { B_OUTSIDE = 95, B_OPENVETO = 96, B_DENYOPEN = 97, B_EXECVETO = 98, B_DENYEXEC = 99, B_NETLOOP = 94 };

static void job_pause(void) {
    for (;;) pause();
}

static void *thread_sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

/* A bounded fork tree: each node forks `fanout` children down to
 * `depth` levels, retrying an EAGAIN a few times; then everyone sleeps. */
static void bomb(int depth, int fanout) {
    for (int level = depth; level > 0; level--) {
        int forked_child = 0;
        for (int i = 0; i < fanout; i++) {
            pid_t pid = -1;
            for (int tries = 0; tries < 3; tries++) {
                pid = fork();
                if (pid >= 0 || errno != EAGAIN) break;
                usleep(2000);
            }
            if (pid == 0) { forked_child = 1; break; }
        }
        if (!forked_child) break; /* a parent: done forking */
    }
    job_pause();
}

static int tcp_connect(uint16_t port, int *err) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) { *err = errno; return -1; }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { *err = errno; close(s); return -1; }
    return s;
}

static int job_main(int argc, char **argv) {
    /* argv: self job scratch id mode flags param tcpport udpport parkport */
    if (argc < 11) return 2;
    const char *self = argv[0], *scratch = argv[2], *mode = argv[4];
    int flags = atoi(argv[5]), param = atoi(argv[6]);
    uint16_t tport = (uint16_t)atoi(argv[7]), uport = (uint16_t)atoi(argv[8]), pport = (uint16_t)atoi(argv[9]);
    char path[4096];

    if (!strcmp(mode, "ran-denied")) return B_DENYEXEC;
    if (!strcmp(mode, "ran-vetoed")) return B_EXECVETO;
    if (!strcmp(mode, "exit")) return param;
    if (!strcmp(mode, "sleep")) job_pause();
    if (!strcmp(mode, "bomb")) bomb(param / 10, param % 10);
    if (!strcmp(mode, "execchain")) {
        char next[16];
        if (param > 0) {
            snprintf(next, sizeof next, "%d", param - 1);
            char *nargv[] = {argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], next,
                             argv[7], argv[8], argv[9], argv[10], NULL};
            execv(self, nargv);
            return 3; /* the chain's exec failed: no breach, but odd */
        }
        if (flags & F_DENY) {
            snprintf(path, sizeof path, "%s/rw/deny/soak-copy", scratch);
            char *nargv[] = {path, argv[1], argv[2], argv[3], "ran-denied", argv[5], "0",
                             argv[7], argv[8], argv[9], argv[10], NULL};
            execv(path, nargv);
        }
        if (flags & F_EXECVETO) {
            char *nargv[] = {argv[0], argv[1], argv[2], argv[3], "ran-vetoed", argv[5], "0",
                             argv[7], argv[8], argv[9], argv[10], NULL};
            execv(self, nargv);
        }
        return 0;
    }
    if (!strcmp(mode, "opens")) {
        for (int i = 0; i < param; i++) {
            int fd;
            snprintf(path, sizeof path, "%s/rw/deny/secret", scratch);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
                close(fd);
                if (flags & F_DENY) return B_DENYOPEN;
            }
            snprintf(path, sizeof path, "%s/outside/file", scratch);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) return B_OUTSIDE;
            snprintf(path, sizeof path, "%s/ro/veto-file", scratch);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
                close(fd);
                if (flags & F_OPENVETO) return B_OPENVETO;
            }
            snprintf(path, sizeof path, "%s/ro/file", scratch);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
                char b[64];
                if (read(fd, b, sizeof b) < 0) {}
                close(fd);
            }
            if (flags & F_RW) {
                snprintf(path, sizeof path, "%s/rw/tmp-%s-%d", scratch, argv[3], (int)getpid());
                if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
                    if (write(fd, "x", 1) < 0) {}
                    close(fd);
                    unlink(path);
                }
            }
        }
        return 0;
    }
    if (!strcmp(mode, "net")) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(uport)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        for (int i = 0; i < param; i++) {
            int err = 0, s = tcp_connect(tport, &err);
            if (s >= 0) {
                if (!(flags & F_LOOP)) return B_NETLOOP;
                if (write(s, "x", 1) < 0) {}
                close(s);
            }
            if (u >= 0) sendto(u, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof a);
        }
        return 0;
    }
    if (!strcmp(mode, "park")) {
        /* The full-backlog listener: a connect there waits for ever
         * (SYNs dropped), and 192.0.2.1 (refused or parked, depending
         * on the network). */
        int err = 0;
        if (param & 1) {
            int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
            inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
            if (s >= 0) connect(s, (struct sockaddr *)&a, sizeof a);
        }
        tcp_connect(pport, &err);
        job_pause();
    }
    if (!strcmp(mode, "threads")) {
        int n = param % 1000;
        for (int i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, thread_sleeper, NULL) != 0) break;
        }
        usleep(20000);
        if (param >= 1000) job_pause();
        return 0;
    }
    if (!strcmp(mode, "daemon")) {
        pid_t pid = fork();
        if (pid == 0) {
            if (setsid() < 0) _exit(1);
            if (fork() == 0) job_pause();
            _exit(0);
        }
        if (pid > 0) waitpid(pid, NULL, 0);
        if (param) job_pause();
        return 0;
    }
    if (!strcmp(mode, "hog")) {
        for (int i = 0; i < param; i++) {
            char *m = malloc(1 << 20);
            if (!m) break;
            memset(m, i + 1, 1 << 20);
            usleep(1000);
        }
        job_pause();
    }
    if (!strcmp(mode, "spin")) {
        struct timespec t0, t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        volatile unsigned long x = 0;
        do {
            for (int i = 0; i < 100000; i++) x += (unsigned long)i;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L < param);
        return 0;
    }
    return 2;
}

/* --------------------------------------------------------------- host -- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static unsigned pick(uint64_t *s, unsigned n) { return (unsigned)(splitmix(s) % n); }
static int chance(uint64_t *s, unsigned percent) { return pick(s, 100) < percent; }

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* A histogram of durations: 1 us buckets to 1 ms, 10 us to 10 ms, 100 us
 * to 100 ms, 1 ms to 10 s. */
#define H_BUCKETS 12701
struct hist {
    uint64_t count, over1ms, over10ms, max_ns, sum_ns;
    uint64_t b[H_BUCKETS];
};
static int bucket_of(uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us < 1000) return (int)us;
    if (us < 10000) return 1000 + (int)((us - 1000) / 10);
    if (us < 100000) return 1900 + (int)((us - 10000) / 100);
    if (us < 10000000) return 2800 + (int)((us - 100000) / 1000);
    return H_BUCKETS - 1;
}
static uint64_t bucket_us(int b) { /* lower bound */
    if (b < 1000) return (uint64_t)b;
    if (b < 1900) return 1000 + (uint64_t)(b - 1000) * 10;
    if (b < 2800) return 10000 + (uint64_t)(b - 1900) * 100;
    return 100000 + (uint64_t)(b - 2800) * 1000;
}
static void hist_add(struct hist *h, uint64_t ns) {
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns) h->max_ns = ns;
    if (ns > 1000000) h->over1ms++;
    if (ns > 10000000) h->over10ms++;
    h->b[bucket_of(ns)]++;
}
static uint64_t hist_pct(const struct hist *h, double p) {
    uint64_t want = (uint64_t)(p * (double)h->count), seen = 0;
    if (want >= h->count) want = h->count ? h->count - 1 : 0;
    for (int i = 0; i < H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > want) return bucket_us(i);
    }
    return 0;
}
static void hist_print(const char *what, const struct hist *h) {
    printf("%-5s n=%llu mean=%.1fus p50=%lluus p90=%lluus p99=%lluus p99.9=%lluus max=%.3fms >1ms=%llu >10ms=%llu\n",
           what, (unsigned long long)h->count, h->count ? (double)h->sum_ns / (double)h->count / 1000.0 : 0.0,
           (unsigned long long)hist_pct(h, 0.50), (unsigned long long)hist_pct(h, 0.90),
           (unsigned long long)hist_pct(h, 0.99), (unsigned long long)hist_pct(h, 0.999),
           (double)h->max_ns / 1e6, (unsigned long long)h->over1ms, (unsigned long long)h->over10ms);
}
static struct hist h_step, h_stepcpu, h_spawn, h_free, h_kill;

/* Why a step took long: it slept (a voluntary context switch: it waited
 * for something) or was preempted (involuntary: the machine was busy). */
static struct {
    uint64_t over1ms, slept, slept_over1ms, slept_over10ms, preempted_over1ms, max_unslept_ns;
    /* by the lifecycle's class: 0 plain, 1 opener (fs_deny or a private
     * /proc: opens made by the opener process), 2 frozen (exec or open
     * events, or a random seed: the sandbox stopped around calls), 3 both */
    uint64_t cls_steps[4], cls_slept[4], cls_slept_over1ms[4], cls_max_slept_ns[4];
} why;
static const char *cls_names[] = {"plain", "opener", "frozen", "opener+frozen"};

static uint64_t thread_cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void thread_switches(long *vol, long *invol) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    *vol = ru.ru_nvcsw;
    *invol = ru.ru_nivcsw;
}

/* ----------------------------------------------- process scans (raw) -- */

static char scratch[256];
static char self_exe[4096];

/* Reads a small file with raw syscalls (usable from a signal handler). */
static ssize_t slurp(const char *path, char *buf, size_t size) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = '\0';
    return n;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Calls fn(pid, userdata) for every pid in /proc; raw syscalls only. */
static void for_each_pid(void (*fn)(pid_t, void *), void *userdata) {
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return;
    char buf[8192];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            pid_t pid = 0;
            const char *c = d->d_name;
            if (*c < '0' || *c > '9') continue;
            for (; *c >= '0' && *c <= '9'; c++) pid = pid * 10 + (*c - '0');
            if (*c == '\0') fn(pid, userdata);
        }
    }
    close(dfd);
}

/* The state letter and parent of `pid`; 0 when gone. */
static char stat_of(pid_t pid, pid_t *ppid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (slurp(path, buf, sizeof buf) <= 0) return 0;
    char *paren = strrchr(buf, ')');
    if (!paren || paren[1] != ' ') return 0;
    char st = paren[2];
    long pp = 0;
    for (char *c = paren + 4; *c >= '0' && *c <= '9'; c++) pp = pp * 10 + (*c - '0');
    if (ppid) *ppid = (pid_t)pp;
    return st;
}

/* The lifecycle id of a job process of this soak (cmdline "self job
 * <scratch> <id> ..."), or -1. */
static long tagged_id(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    ssize_t n = slurp(path, buf, sizeof buf);
    if (n <= 0) return -1;
    const char *a[4] = {buf, NULL, NULL, NULL};
    const char *end = buf + n;
    for (int i = 1; i < 4; i++) {
        const char *prev = a[i - 1];
        size_t len = strnlen(prev, (size_t)(end - prev));
        if (prev + len + 1 >= end) return -1;
        a[i] = prev + len + 1;
    }
    if (strcmp(a[1], "job") || strcmp(a[2], scratch)) return -1;
    long id = 0;
    for (const char *c = a[3]; *c >= '0' && *c <= '9'; c++) id = id * 10 + (*c - '0');
    return id;
}

struct scan {
    pid_t self;
    int children, zombies;          /* processes whose parent is the soak */
    int tagged, tagged_alive;       /* job processes of this soak */
    int kill_sig;                   /* >0: SIGKILL every job process */
    /* leaks: alive job processes of lifecycles freed before `cutoff` */
    const uint64_t *freed_at;
    long nids, first_id;
    uint64_t cutoff;
    int leaks;
    long leak_ids[8];
    pid_t leak_pids[8];
};

static void scan_one(pid_t pid, void *userdata) {
    struct scan *s = userdata;
    pid_t ppid = 0;
    char st = stat_of(pid, &ppid);
    if (!st) return;
    if (ppid == s->self) {
        s->children++;
        if (st == 'Z') s->zombies++;
    }
    long id = tagged_id(pid);
    if (id < 0) return;
    s->tagged++;
    if (st == 'Z' || st == 'X') return;
    s->tagged_alive++;
    if (s->kill_sig) kill(pid, s->kill_sig);
    if (s->freed_at && id >= s->first_id && id - s->first_id < s->nids) {
        uint64_t f = s->freed_at[id - s->first_id];
        if (f && f < s->cutoff) {
            if (s->leaks < 8) {
                s->leak_ids[s->leaks] = id;
                s->leak_pids[s->leaks] = pid;
            }
            s->leaks++;
            kill(pid, SIGKILL);
        }
    }
}

static void kill_all_jobs(void) {
    struct scan s = {.self = getpid(), .kill_sig = SIGKILL};
    for_each_pid(scan_one, &s);
}

/* The watchdog: a host loop stuck (a step that does not return) for 60 s
 * kills every job process and ends the soak. Raw syscalls only. */
static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "soak: FAIL the host loop made no progress for 60 s (a step blocked?): killing the jobs\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    kill_all_jobs();
    _exit(3);
}
static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

/* ------------------------------------------------------ host figures -- */

struct figures { int fds, threads, children, zombies, jobs; long rss_kb; };

static long status_field(const char *key) {
    char buf[8192];
    if (slurp("/proc/self/status", buf, sizeof buf) <= 0) return -1;
    char *l = strstr(buf, key);
    return l ? atol(l + strlen(key)) : -1;
}
static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n - 1; /* the directory's own fd */
}
static struct figures measure(void) {
    struct figures f;
    struct scan s = {.self = getpid()};
    for_each_pid(scan_one, &s);
    f.fds = count_fds();
    f.threads = (int)status_field("Threads:");
    f.rss_kb = status_field("VmRSS:");
    f.children = s.children;
    f.zombies = s.zombies;
    f.jobs = s.tagged_alive;
    return f;
}
static void print_figures(const char *what, struct figures f) {
    printf("%-9s fds=%d threads=%d children=%d zombies=%d rss=%ld KiB\n", what, f.fds, f.threads, f.children,
           f.zombies, f.rss_kb);
}

/* -------------------------------------------------------- lifecycles -- */

enum mode { M_EXIT, M_BOMB, M_PARK, M_NET, M_EXECCHAIN, M_OPENS, M_THREADS, M_DAEMON, M_SLEEP, M_HOG, M_SPIN, M_MODES };
static const char *mode_names[] = {"exit", "bomb", "park", "net", "execchain", "opens",
                                   "threads", "daemon", "sleep", "hog", "spin"};
static const unsigned mode_weights[] = {14, 10, 8, 10, 12, 12, 8, 7, 6, 6, 7};

enum plan { P_NONE, P_SIG_TIME, P_SIG_STEP, P_FREE_TIME, P_FREE_STEP, P_FREE_NOW, P_STOP_FREE };
static const char *plan_names[] = {"none", "signal-at-time", "signal-at-step", "free-at-time",
                                   "free-at-step", "free-now", "stop-then-free"};

struct slot {
    sandlock_sandbox *sb;
    long id;
    enum mode mode;
    enum plan plan;
    int plan_sig, plan_steps, acted, backstop, flags, strays;
    uint64_t spawned, plan_at, backstop_at;
    long steps;
    int vetoes, events, unlimited, cls;
    char desc[512];
};

static struct {
    uint16_t tport, uport, pport;
    int devnull;
    char libdir[4096], selfdir[4096];
    uint64_t audit_rng;
    long failures, breaches, step_errors, spawn_failures, hangs, backstops, leaks;
    long accepted, datagrams, live_unlimited_bombs;
    long reasons[6], vetoes, events;
    struct { uint64_t ns, cpu_ns; long id, step, vol, invol; char desc[512]; } slowest[8];
} G;

#define FAIL(...)                                                                  \
    do {                                                                           \
        G.failures++;                                                              \
        if (G.failures <= 50) { fprintf(stderr, "soak: FAIL "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
    } while (0)

static int on_event(const sandlock_event *ev, sandlock_sandbox *sb, void *userdata) {
    (void)sb;
    struct slot *s = userdata;
    s->events++;
    if (ev->kind == SANDLOCK_EVENT_EXEC && ev->argv)
        for (int i = 0; ev->argv[i]; i++)
            if (!strcmp(ev->argv[i], "ran-vetoed")) { s->vetoes++; return SANDLOCK_VERDICT_DENY; }
    if (ev->kind == SANDLOCK_EVENT_OPEN && ev->path && strstr(ev->path, "veto")) { s->vetoes++; return -EACCES; }
    if (ev->kind == SANDLOCK_EVENT_EXIT || ev->kind == SANDLOCK_EVENT_LIMIT || ev->kind == SANDLOCK_EVENT_DENIAL)
        return SANDLOCK_VERDICT_ALLOW;
    return chance(&G.audit_rng, 10) ? SANDLOCK_VERDICT_AUDIT : SANDLOCK_VERDICT_ALLOW;
}

static int set(sandlock_policy *p, int r, const char *what, long id) {
    if (r != 0) FAIL("lifecycle %ld: %s: %d %s", id, what, r, sandlock_policy_error(p));
    return r;
}

#define APPEND(...) do { size_t l_ = strlen(s->desc); snprintf(s->desc + l_, sizeof s->desc - l_, __VA_ARGS__); } while (0)

/* Draws lifecycle `id` from (seed, id) and spawns it into `s`. */
static void start_lifecycle(struct slot *s, long id, uint64_t seed) {
    uint64_t rng = seed ^ ((uint64_t)id * 0xd1342543de82ef95ULL);
    splitmix(&rng);
    memset(s, 0, sizeof *s);
    s->id = id;
    unsigned total = 0, w;
    for (int i = 0; i < M_MODES; i++) total += mode_weights[i];
    w = pick(&rng, total);
    int m = 0;
    while (w >= mode_weights[m]) w -= mode_weights[m++];
    s->mode = (enum mode)m;

    sandlock_policy *p = sandlock_policy_new();
    const char *ro[] = {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", NULL};
    for (int i = 0; ro[i]; i++)
        if (access(ro[i], F_OK) == 0) set(p, sandlock_policy_fs_read(p, ro[i]), ro[i], id);
    set(p, sandlock_policy_fs_read(p, G.selfdir), "fs_read selfdir", id);
    set(p, sandlock_policy_fs_read(p, G.libdir), "fs_read libdir", id);
    set(p, sandlock_policy_fs_write(p, "/dev/null"), "fs_write /dev/null", id);
    char path[4096];
    snprintf(path, sizeof path, "%s/ro", scratch);
    set(p, sandlock_policy_fs_read(p, path), "fs_read ro", id);
    snprintf(s->desc, sizeof s->desc, "id=%ld mode=%s", id, mode_names[m]);

    int flags = 0;
    if (chance(&rng, 60) || s->mode == M_EXECCHAIN) {
        snprintf(path, sizeof path, "%s/rw", scratch);
        set(p, sandlock_policy_fs_write(p, path), "fs_write rw", id);
        flags |= F_RW;
        APPEND(" rw");
    }
    if (chance(&rng, (s->mode == M_OPENS || s->mode == M_EXECCHAIN) ? 60 : 20)) {
        snprintf(path, sizeof path, "%s/rw/deny", scratch);
        set(p, sandlock_policy_fs_deny(p, path), "fs_deny", id);
        flags |= F_DENY;
        APPEND(" deny");
    }
    if (chance(&rng, 50)) {
        char spec[64];
        snprintf(spec, sizeof spec, "tcp://127.0.0.1:%u", G.tport);
        set(p, sandlock_policy_net_allow(p, spec), "net_allow tcp", id);
        snprintf(spec, sizeof spec, "udp://127.0.0.1:%u", G.uport);
        set(p, sandlock_policy_net_allow(p, spec), "net_allow udp", id);
        flags |= F_LOOP;
        APPEND(" net=loop");
    }
    if (chance(&rng, s->mode == M_PARK ? 80 : 20)) {
        char spec[64];
        snprintf(spec, sizeof spec, "tcp://127.0.0.1:%u", G.pport);
        set(p, sandlock_policy_net_allow(p, spec), "net_allow park", id);
        set(p, sandlock_policy_net_allow(p, "tcp://192.0.2.1:9"), "net_allow blackhole", id);
        APPEND(" net=park");
    }
    unsigned maxproc = chance(&rng, 40) ? 1 + pick(&rng, 24) : 0;
    unsigned long long maxmem = chance(&rng, 25) ? (8ULL + pick(&rng, 57)) << 20 : 0;
    unsigned maxcpu = chance(&rng, 15) ? 10 + pick(&rng, 91) : 0;
    unsigned maxfiles = chance(&rng, 20) ? 16 + pick(&rng, 240) : 0;
    unsigned long timeout = chance(&rng, 55) ? 20 + pick(&rng, 1500) : 0;
    int param = 0;
    switch (s->mode) {
    case M_EXIT: param = (int)pick(&rng, 4); break;
    case M_BOMB: {
        /* depth*10 + fanout; without a process limit, at most 2^7-1
         * processes, a short timeout, and one such bomb at a time. */
        int depth = 3 + (int)pick(&rng, 4), fanout = 2 + (int)pick(&rng, 2);
        if (!maxproc && !chance(&rng, 25)) maxproc = 2 + pick(&rng, 30);
        if (!maxproc && G.live_unlimited_bombs > 0) maxproc = 16;
        if (!maxproc) {
            depth = 6, fanout = 2;
            timeout = 100 + pick(&rng, 300);
            G.live_unlimited_bombs++;
            s->unlimited = 1;
        }
        param = depth * 10 + fanout;
        break;
    }
    case M_PARK: param = (int)pick(&rng, 2); break;
    case M_NET: param = 1 + (int)pick(&rng, 30); break;
    case M_EXECCHAIN: param = 1 + (int)pick(&rng, 4); break;
    case M_OPENS: param = 1 + (int)pick(&rng, 100); break;
    case M_THREADS: param = (int)(1 + pick(&rng, 64)) + (chance(&rng, 50) ? 1000 : 0); break;
    case M_DAEMON: param = (int)pick(&rng, 2); break;
    case M_SLEEP: break;
    case M_HOG: param = 8 + (int)pick(&rng, 64); if (!maxmem && chance(&rng, 70)) maxmem = (8ULL + pick(&rng, 40)) << 20; break;
    case M_SPIN: param = 10 + (int)pick(&rng, 150); if (!maxcpu && chance(&rng, 60)) maxcpu = 10 + pick(&rng, 91); break;
    default: break;
    }
    if (maxproc) { set(p, sandlock_policy_max_processes(p, maxproc), "max_processes", id); APPEND(" maxproc=%u", maxproc); }
    if (maxmem) { set(p, sandlock_policy_max_memory(p, maxmem), "max_memory", id); APPEND(" maxmem=%lluM", maxmem >> 20); }
    if (maxcpu) { set(p, sandlock_policy_max_cpu(p, maxcpu), "max_cpu", id); APPEND(" maxcpu=%u", maxcpu); }
    if (maxfiles) { set(p, sandlock_policy_max_open_files(p, maxfiles), "max_open_files", id); APPEND(" maxfiles=%u", maxfiles); }
    if (timeout) { set(p, sandlock_policy_timeout_ms(p, timeout), "timeout_ms", id); APPEND(" timeout=%lu", timeout); }
    if (chance(&rng, 15)) {
        set(p, sandlock_policy_fs_read(p, "/proc"), "fs_read /proc", id);
        set(p, sandlock_policy_private_proc(p, 1), "private_proc", id);
        APPEND(" private_proc");
    }
    if (chance(&rng, 15)) { set(p, sandlock_policy_random_seed(p, splitmix(&rng)), "random_seed", id); APPEND(" seed"); }
    if (chance(&rng, 15)) { set(p, sandlock_policy_hostname(p, "soak"), "hostname", id); APPEND(" hostname"); }
    if (chance(&rng, 15)) { unsigned n = 1 + pick(&rng, 2); set(p, sandlock_policy_num_cpus(p, n), "num_cpus", id); APPEND(" cpus=%u", n); }
    if (chance(&rng, 5)) { set(p, sandlock_policy_no_aslr(p, 1), "no_aslr", id); APPEND(" no_aslr"); }
    if (chance(&rng, 5)) { set(p, sandlock_policy_time_start(p, 1000000000), "time_start", id); APPEND(" time_start"); }
    if (chance(&rng, 35)) {
        uint32_t mask = 0;
        const uint32_t kinds[] = {SANDLOCK_EVENT_EXEC, SANDLOCK_EVENT_OPEN, SANDLOCK_EVENT_CONNECT, SANDLOCK_EVENT_BIND,
                                  SANDLOCK_EVENT_FORK, SANDLOCK_EVENT_EXIT, SANDLOCK_EVENT_LIMIT, SANDLOCK_EVENT_DENIAL};
        for (int i = 0; i < 8; i++)
            if (chance(&rng, 35)) mask |= kinds[i];
        if (!mask) mask = SANDLOCK_EVENT_EXEC;
        set(p, sandlock_policy_on_event(p, mask, on_event, s), "on_event", id);
        if (mask & SANDLOCK_EVENT_EXEC) flags |= F_EXECVETO;
        if (mask & SANDLOCK_EVENT_OPEN) flags |= F_OPENVETO;
        APPEND(" events=0x%x", mask);
    }
    s->flags = flags;
    s->cls = ((flags & F_DENY) || strstr(s->desc, "private_proc") ? 1 : 0) |
             ((flags & (F_EXECVETO | F_OPENVETO)) || strstr(s->desc, " seed") ? 2 : 0);

    /* The kill plan. */
    unsigned k = pick(&rng, 100);
    s->plan = k < 25 ? P_NONE : k < 50 ? P_SIG_TIME : k < 62 ? P_SIG_STEP : k < 77 ? P_FREE_TIME
            : k < 87 ? P_FREE_STEP : k < 92 ? P_FREE_NOW : P_STOP_FREE;
    int endless = s->mode == M_SLEEP || s->mode == M_PARK || s->mode == M_BOMB || s->mode == M_HOG ||
                  s->mode == M_DAEMON || (s->mode == M_THREADS && param >= 1000);
    if (s->plan == P_NONE && !timeout && endless) s->plan = P_SIG_TIME;
    const int sigs[] = {SIGKILL, SIGKILL, SIGTERM, SIGINT, SIGHUP};
    s->plan_sig = sigs[pick(&rng, 5)];
    s->plan_steps = 1 + (int)pick(&rng, 40);
    uint64_t plan_ms = pick(&rng, 5) == 0 ? pick(&rng, 5) : pick(&rng, 1200);
    APPEND(" plan=%s", plan_names[s->plan]);
    if (s->plan == P_SIG_TIME || s->plan == P_SIG_STEP) APPEND(" sig=%d", s->plan_sig);
    if (s->plan == P_SIG_STEP || s->plan == P_FREE_STEP) APPEND(" steps=%d", s->plan_steps);
    if (s->plan == P_SIG_TIME || s->plan == P_FREE_TIME || s->plan == P_STOP_FREE) APPEND(" at=%llums", (unsigned long long)plan_ms);

    char idbuf[24], flagbuf[16], parambuf[16], tp[8], up[8], pp[8];
    snprintf(idbuf, sizeof idbuf, "%ld", id);
    snprintf(flagbuf, sizeof flagbuf, "%d", flags);
    snprintf(parambuf, sizeof parambuf, "%d", param);
    snprintf(tp, sizeof tp, "%u", G.tport);
    snprintf(up, sizeof up, "%u", G.uport);
    snprintf(pp, sizeof pp, "%u", G.pport);
    APPEND(" param=%d", param);
    const char *argv[] = {self_exe, "job", scratch, idbuf, mode_names[m], flagbuf, parambuf, tp, up, pp, "end", NULL};
    int errfd = getenv("SOAK_VERBOSE") ? 2 : G.devnull;
    sandlock_spawn_opts opts = {sizeof opts, G.devnull, G.devnull, errfd};
    uint64_t t0 = now_ns();
    int r = sandlock_spawn(p, argv, &opts, &s->sb);
    uint64_t t1 = now_ns();
    hist_add(&h_spawn, t1 - t0);
    if (r != 0) {
        G.spawn_failures++;
        FAIL("lifecycle %s: spawn: %d %s", s->desc, r, sandlock_policy_error(p));
        s->sb = NULL;
        if (s->unlimited) G.live_unlimited_bombs--;
    }
    sandlock_policy_free(p);
    s->spawned = t1;
    s->plan_at = t1 + plan_ms * 1000000ULL;
    if (getenv("SOAK_TRACE")) printf("start %s\n", s->desc);
}

static uint64_t *freed_at; /* per lifecycle, when its sandbox was freed */
static long first_id, n_total;

static void free_slot(struct slot *s) {
    uint64_t t0 = now_ns();
    sandlock_sandbox_free(s->sb);
    uint64_t t1 = now_ns();
    hist_add(&h_free, t1 - t0);
    s->sb = NULL;
    G.vetoes += s->vetoes;
    G.events += s->events;
    if (s->unlimited) G.live_unlimited_bombs--;
    if (freed_at) freed_at[s->id - first_id] = t1;
}

static void finish(struct slot *s) {
    int reason = sandlock_sandbox_exit_reason(s->sb), code = sandlock_sandbox_exit_code(s->sb);
    if (reason < 1 || reason > 5) FAIL("lifecycle %s: exit reason %d after EXITED", s->desc, reason);
    else G.reasons[reason]++;
    if (reason == SANDLOCK_EXIT_NORMAL && code >= B_NETLOOP && code <= B_DENYEXEC) {
        G.breaches++;
        FAIL("lifecycle %s: breach: the job exited %d (94 loopback reached unallowed, 95 an open outside "
             "every tree, 96 a vetoed open, 97 a denied open, 98 a vetoed exec, 99 a denied exec)",
             s->desc, code);
    }
    /* The log, now and then. */
    if (s->id % 3 == 0) {
        sandlock_event ev;
        memset(&ev, 0, sizeof ev);
        ev.size = sizeof ev;
        for (int i = 0; i < 10000 && sandlock_sandbox_next_event(s->sb, &ev) == 1; i++) {}
    }
    free_slot(s);
}

static void record_slow(const struct slot *s, uint64_t ns, uint64_t cpu_ns, long vol, long invol) {
    int min = 0;
    for (int i = 1; i < 8; i++)
        if (G.slowest[i].ns < G.slowest[min].ns) min = i;
    if (ns <= G.slowest[min].ns) return;
    G.slowest[min].ns = ns;
    G.slowest[min].id = s->id;
    G.slowest[min].step = s->steps;
    G.slowest[min].cpu_ns = cpu_ns;
    G.slowest[min].vol = vol;
    G.slowest[min].invol = invol;
    snprintf(G.slowest[min].desc, sizeof G.slowest[min].desc, "%s", s->desc);
}

/* Steps `s` until it is idle (at most 64 steps: then 1 so the loop comes
 * back at once). Returns 1 when the sandbox was finished and freed. */
static int step_slot(struct slot *s, int *more) {
    for (int i = 0; i < 64; i++) {
        long v0, i0, v1, i1;
        thread_switches(&v0, &i0);
        uint64_t c0 = thread_cpu_ns(), t0 = now_ns();
        int r = sandlock_supervise_step(s->sb);
        uint64_t dt = now_ns() - t0, dc = thread_cpu_ns() - c0;
        thread_switches(&v1, &i1);
        hist_add(&h_step, dt);
        hist_add(&h_stepcpu, dc);
        record_slow(s, dt, dc, v1 - v0, i1 - i0);
        why.cls_steps[s->cls]++;
        if (v1 > v0) {
            why.slept++;
            why.cls_slept[s->cls]++;
            if (dt > 1000000) why.cls_slept_over1ms[s->cls]++;
            if (dt > why.cls_max_slept_ns[s->cls]) why.cls_max_slept_ns[s->cls] = dt;
            if (dt > 1000000) why.slept_over1ms++;
            if (dt > 10000000) why.slept_over10ms++;
        } else if (dt > why.max_unslept_ns) why.max_unslept_ns = dt;
        if (dt > 1000000 && v1 == v0 && i1 > i0) why.preempted_over1ms++;
        s->steps++;
        if (r == SANDLOCK_STEP_EXITED) { finish(s); return 1; }
        if (r < 0) {
            G.step_errors++;
            FAIL("lifecycle %s: step %ld: %d %s", s->desc, s->steps, r, sandlock_sandbox_error(s->sb));
            free_slot(s);
            return 1;
        }
        if ((s->plan == P_SIG_STEP || s->plan == P_FREE_STEP) && !s->acted && s->steps >= s->plan_steps) return 0;
        if (r == SANDLOCK_STEP_IDLE) return 0;
    }
    *more = 1;
    return 0;
}

static void kill_slot(struct slot *s, int sig) {
    uint64_t t0 = now_ns();
    int r = sandlock_sandbox_kill(s->sb, sig);
    hist_add(&h_kill, now_ns() - t0);
    if (r < 0 && r != -ESRCH) FAIL("lifecycle %s: kill(%d): %d %s", s->desc, sig, r, sandlock_sandbox_error(s->sb));
}

/* Acts on the kill plan and the backstops; returns 1 if `s` was freed. */
static int act(struct slot *s, uint64_t now) {
    if (!s->acted) {
        int due = 0;
        switch (s->plan) {
        case P_SIG_TIME: case P_FREE_TIME: case P_STOP_FREE: due = now >= s->plan_at; break;
        case P_SIG_STEP: case P_FREE_STEP: due = s->steps >= s->plan_steps || now >= s->plan_at; break;
        case P_FREE_NOW: due = 1; break;
        default: break;
        }
        if (due) {
            s->acted = 1;
            if (s->plan == P_SIG_TIME || s->plan == P_SIG_STEP) kill_slot(s, s->plan_sig);
            else if (s->plan == P_STOP_FREE) { kill_slot(s, SIGSTOP); s->plan_at = now + 50000000ULL; s->acted = 2; }
            else { free_slot(s); return 1; }
        }
    } else if (s->acted == 2 && now >= s->plan_at) {
        free_slot(s);
        return 1;
    }
    /* Every lifecycle is over within 2.5 s by design (timeouts and plans
     * under 1.6 s): past 4 s it is killed, 5 s later it is a hang. */
    if (!s->backstop && now - s->spawned > 4000000000ULL) {
        s->backstop = 1;
        s->backstop_at = now;
        G.backstops++;
        if (G.backstops <= 20) fprintf(stderr, "soak: note: lifecycle %s still running after 4 s: SIGKILL\n", s->desc);
        kill_slot(s, SIGKILL);
    } else if (s->backstop && now - s->backstop_at > 5000000000ULL) {
        G.hangs++;
        FAIL("lifecycle %s: still running 5 s after SIGKILL (steps %ld)", s->desc, s->steps);
        free_slot(s);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ set-up -- */

static int listener(int type, int backlog, uint16_t *port) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (type == SOCK_STREAM && listen(fd, backlog) != 0) || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("soak: listener");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void write_file(const char *path, const char *content, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, content, strlen(content)) < 0) { perror(path); exit(2); }
    close(fd);
}

static void copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0) { perror("soak: copy"); exit(2); }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) { perror("soak: copy"); exit(2); }
    close(in);
    close(out);
}

/* The directory of the libsandlock.so this process loaded. */
static void find_libdir(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    char line[8192];
    G.libdir[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, " /");
        if (p && strstr(p, "libsandlock.so")) {
            snprintf(G.libdir, sizeof G.libdir, "%s", p + 1);
            G.libdir[strcspn(G.libdir, "\n")] = '\0';
            *strrchr(G.libdir, '/') = '\0';
            break;
        }
    }
    if (f) fclose(f);
    if (!G.libdir[0]) { fprintf(stderr, "soak: libsandlock.so not found in /proc/self/maps\n"); exit(2); }
}

static void remove_scratch(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (scratch[0] && system(cmd) != 0) fprintf(stderr, "soak: could not remove %s\n", scratch);
}

static void usage(void) {
    fprintf(stderr, "usage: soak [-n N] [-k K] [-s SEED] [-w WARMUP] [--only ID] [--strict]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "job")) return job_main(argc, argv);

    long n = 10000, k = 16, warmup = -1, only = -1;
    uint64_t seed = 0;
    int have_seed = 0, strict = getenv("SOAK_STRICT") && !strcmp(getenv("SOAK_STRICT"), "1");
    if (getenv("SOAK_SEED")) { seed = strtoull(getenv("SOAK_SEED"), NULL, 0); have_seed = 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--strict")) strict = 1;
        else if (!strcmp(a, "-n") && v) n = atol(v), i++;
        else if (!strcmp(a, "-k") && v) k = atol(v), i++;
        else if (!strcmp(a, "-w") && v) warmup = atol(v), i++;
        else if (!strcmp(a, "-s") && v) seed = strtoull(v, NULL, 0), have_seed = 1, i++;
        else if (!strcmp(a, "--only") && v) only = atol(v), i++;
        else usage();
    }
    if (!have_seed) seed = now_ns() ^ ((uint64_t)getpid() << 32);
    if (only >= 0) { first_id = only; n = 1; k = 1; warmup = 0; }
    if (n < 1 || k < 1 || k > 256) usage();
    if (warmup < 0) warmup = n >= 1200 ? 300 : n / 4;
    n_total = n;
    G.audit_rng = seed ^ 0x5eed;

    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0) { perror("soak: /proc/self/exe"); return 2; }
    self_exe[len] = '\0';
    snprintf(G.selfdir, sizeof G.selfdir, "%s", self_exe);
    *strrchr(G.selfdir, '/') = '\0';
    find_libdir();

    snprintf(scratch, sizeof scratch, "/tmp/sandlock-soak-XXXXXX");
    if (!mkdtemp(scratch)) { perror("soak: mkdtemp"); return 2; }
    char path[4096];
    const char *dirs[] = {"ro", "rw", "rw/deny", "outside", NULL};
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, dirs[i]);
        if (mkdir(path, 0755) != 0) { perror(path); return 2; }
    }
    snprintf(path, sizeof path, "%s/ro/file", scratch); write_file(path, "public\n", 0644);
    snprintf(path, sizeof path, "%s/ro/veto-file", scratch); write_file(path, "vetoed\n", 0644);
    snprintf(path, sizeof path, "%s/rw/deny/secret", scratch); write_file(path, "secret\n", 0644);
    snprintf(path, sizeof path, "%s/outside/file", scratch); write_file(path, "outside\n", 0644);
    snprintf(path, sizeof path, "%s/rw/deny/soak-copy", scratch); copy_file(self_exe, path);

    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);

    /* The loopback peers: a TCP listener the host accepts from, a UDP
     * socket it drains, and a listener with a full backlog (a connect
     * there waits for ever: this machine's network answers 192.0.2.1 at
     * once, so it is no blackhole here). */
    int tl = listener(SOCK_STREAM, 128, &G.tport), ul = listener(SOCK_DGRAM, 0, &G.uport);
    int pl = listener(SOCK_STREAM, 0, &G.pport);
    int fillers[2];
    for (int i = 0; i < 2; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(G.pport)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    G.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    freed_at = calloc((size_t)n, sizeof *freed_at);
    struct slot *slots = calloc((size_t)k, sizeof *slots);
    if (!freed_at || !slots) return 2;

    printf("soak: seed=%llu n=%ld k=%ld warmup=%ld strict=%d scratch=%s (replay: -s %llu, one lifecycle: --only ID)\n",
           (unsigned long long)seed, n, k, warmup, strict, scratch, (unsigned long long)seed);
    fflush(stdout);
    struct figures start = measure(), base = start;
    print_figures("start", start);

    long launched = 0, done = 0;
    int draining = warmup > 0, measured = warmup == 0;
    uint64_t t_start = now_ns(), t_base = t_start, last_scan = t_start;
    long done_at_base = 0;
    long progress_every = n >= 10 ? n / 10 : 1;
    struct pollfd pfd[256 + 2];
    int idx[256 + 2];
    int more = 0;

    while (!stop_requested) {
        alarm(60);
        uint64_t now = now_ns();
        /* Spawn into empty slots. */
        long live = 0;
        for (long i = 0; i < k; i++) {
            if (!slots[i].sb && launched < n && !(draining && launched >= warmup)) {
                start_lifecycle(&slots[i], first_id + launched, seed);
                launched++;
                if (!slots[i].sb) done++;
            }
            if (slots[i].sb) live++;
        }
        if (draining && launched >= warmup && live == 0) {
            /* Warm-up over, nothing alive: the baseline. */
            usleep(200000);
            base = measure();
            print_figures("warmed-up", base);
            fflush(stdout);
            draining = 0;
            measured = 1;
            t_base = now_ns();
            done_at_base = done;
            memset(&h_step, 0, sizeof h_step);
            memset(&h_stepcpu, 0, sizeof h_stepcpu);
            memset(&h_spawn, 0, sizeof h_spawn);
            memset(&h_free, 0, sizeof h_free);
            memset(&h_kill, 0, sizeof h_kill);
            memset(G.slowest, 0, sizeof G.slowest);
            memset(&why, 0, sizeof why);
            continue;
        }
        if (launched >= n && live == 0) break;

        int np = 0;
        for (long i = 0; i < k; i++)
            if (slots[i].sb) { pfd[np] = (struct pollfd){.fd = sandlock_sandbox_fd(slots[i].sb), .events = POLLIN}; idx[np++] = (int)i; }
        pfd[np] = (struct pollfd){.fd = tl, .events = POLLIN}; idx[np++] = -1;
        pfd[np] = (struct pollfd){.fd = ul, .events = POLLIN}; idx[np++] = -2;
        int timeout = more ? 0 : 10;
        more = 0;
        poll(pfd, (nfds_t)np, timeout);
        for (int j = 0; j < np; j++) {
            if (idx[j] == -1) {
                int c;
                while ((c = accept4(tl, NULL, NULL, SOCK_CLOEXEC)) >= 0) { close(c); G.accepted++; }
                continue;
            }
            if (idx[j] == -2) {
                char b[64];
                while (recv(ul, b, sizeof b, MSG_DONTWAIT) >= 0) G.datagrams++;
                continue;
            }
            struct slot *s = &slots[idx[j]];
            if (!s->sb) continue;
            int ended = 0;
            if (pfd[j].revents) {
                ended = step_slot(s, &more);
                if (ended) done++;
            }
            if (!ended && act(s, now_ns())) done++;
        }
        /* Process leaks: job processes of a lifecycle freed 2 s ago. */
        now = now_ns();
        if (now - last_scan > 500000000ULL) {
            last_scan = now;
            struct scan sc = {.self = getpid(), .freed_at = freed_at, .nids = n, .first_id = first_id,
                              .cutoff = now - 2000000000ULL};
            for_each_pid(scan_one, &sc);
            if (sc.leaks) {
                G.leaks += sc.leaks;
                for (int i = 0; i < sc.leaks && i < 8; i++)
                    FAIL("process %d of lifecycle %ld alive 2 s after its sandbox was freed (killed)",
                         (int)sc.leak_pids[i], sc.leak_ids[i]);
            }
        }
        static long last_progress;
        if (done / progress_every != last_progress / progress_every && done > last_progress) {
            struct figures f = measure();
            printf("progress  %ld/%ld lifecycles, %ld live (%d job processes), fds=%d threads=%d children=%d "
                   "rss=%ld KiB, step max %.2f ms, failures %ld\n",
                   done, n, live, f.jobs, f.fds, f.threads, f.children, f.rss_kb, (double)h_step.max_ns / 1e6,
                   G.failures);
            fflush(stdout);
        }
        last_progress = done;
    }
    alarm(0);
    int interrupted = stop_requested;
    for (long i = 0; i < k; i++)
        if (slots[i].sb) free_slot(&slots[i]);
    uint64_t t_end = now_ns();

    /* Processes exit asynchronously after a SIGKILL: give them a moment. */
    struct scan left = {0};
    for (int i = 0; i < 40; i++) {
        memset(&left, 0, sizeof left);
        left.self = getpid();
        for_each_pid(scan_one, &left);
        if (!left.tagged_alive && !left.children) break;
        usleep(50000);
    }
    struct figures end = measure();
    print_figures("end", end);
    double secs = (double)(t_end - t_base) / 1e9;
    long counted = done - done_at_base;
    printf("soak: %ld lifecycles in %.1f s (%ld measured after the warm-up in %.1f s: %.1f/s), %ld failures\n",
           done, (double)(t_end - t_start) / 1e9, counted, secs, secs > 0 ? (double)counted / secs : 0.0, G.failures);
    printf("exits: normal=%ld signaled=%ld timeout=%ld memory=%ld killed=%ld; freed while running or failed: %ld; "
           "backstop kills %ld; callbacks %ld (vetoes %ld); loopback accepts %ld, datagrams %ld\n",
           G.reasons[1], G.reasons[2], G.reasons[3], G.reasons[4], G.reasons[5],
           done - (G.reasons[1] + G.reasons[2] + G.reasons[3] + G.reasons[4] + G.reasons[5]), G.backstops,
           G.events, G.vetoes, G.accepted, G.datagrams);
    hist_print("step", &h_step);
    hist_print("cpu", &h_stepcpu);
    hist_print("spawn", &h_spawn);
    hist_print("kill", &h_kill);
    hist_print("free", &h_free);
    printf("steps that slept (a voluntary context switch inside the step): %llu, %llu of them over 1 ms, "
           "%llu over 10 ms; steps over 1 ms only preempted: %llu; slowest step that did not sleep: %.3f ms\n",
           (unsigned long long)why.slept, (unsigned long long)why.slept_over1ms,
           (unsigned long long)why.slept_over10ms, (unsigned long long)why.preempted_over1ms,
           (double)why.max_unslept_ns / 1e6);
    for (int c = 0; c < 4; c++)
        printf("  %-13s steps %llu, slept %llu, slept over 1 ms %llu, longest that slept %.3f ms\n", cls_names[c],
               (unsigned long long)why.cls_steps[c], (unsigned long long)why.cls_slept[c],
               (unsigned long long)why.cls_slept_over1ms[c], (double)why.cls_max_slept_ns[c] / 1e6);
    printf("slowest steps:\n");
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            if (G.slowest[j].ns > G.slowest[i].ns) { __typeof__(G.slowest[0]) t = G.slowest[i]; G.slowest[i] = G.slowest[j]; G.slowest[j] = t; }
    for (int i = 0; i < 8 && G.slowest[i].ns; i++)
        printf("  %.3f ms (cpu %.3f ms, %ld sleeps, %ld preemptions) at step %ld of %s\n",
               (double)G.slowest[i].ns / 1e6, (double)G.slowest[i].cpu_ns / 1e6, G.slowest[i].vol,
               G.slowest[i].invol, G.slowest[i].step, G.slowest[i].desc);

    if (measured) {
        if (end.fds != base.fds) FAIL("host fds %d after the run, %d after the warm-up", end.fds, base.fds);
        if (end.threads != base.threads) FAIL("host threads %d after the run, %d after the warm-up", end.threads, base.threads);
        if (end.children != base.children) FAIL("host children %d after the run, %d after the warm-up", end.children, base.children);
        if (end.zombies) FAIL("%d zombie children of the host after the run", end.zombies);
        if (end.rss_kb > base.rss_kb + 32 * 1024) FAIL("host RSS %ld KiB after the run, %ld after the warm-up", end.rss_kb, base.rss_kb);
        printf("delta     fds=%+d threads=%+d children=%+d zombies=%+d rss=%+ld KiB (end - warmed-up)\n",
               end.fds - base.fds, end.threads - base.threads, end.children - base.children,
               end.zombies - base.zombies, end.rss_kb - base.rss_kb);
    }
    if (left.tagged_alive) FAIL("%d job processes still alive after every sandbox was freed (killed now)", left.tagged_alive);
    if (strict && h_step.over10ms) FAIL("%llu steps over 10 ms (strict)", (unsigned long long)h_step.over10ms);
    if (interrupted) FAIL("interrupted");

    kill_all_jobs();
    for (int i = 0; i < 2; i++) close(fillers[i]);
    close(tl); close(ul); close(pl); close(G.devnull);
    remove_scratch();
    free(freed_at);
    free(slots);
    printf("soak: %s\n", G.failures ? "FAIL" : "ok");
    return G.failures ? 1 : 0;
}

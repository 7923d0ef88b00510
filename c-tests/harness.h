/* A small harness for the C tests: CHECK records a failure and goes on,
 * RUN prints one line a test, and main's last line is "N passed, M failed". */
#ifndef SANDLOCK_TEST_HARNESS_H
#define SANDLOCK_TEST_HARNESS_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sandlock.h>

static int harness_failures, harness_passed, harness_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            harness_failures++;                                                 \
        }                                                                       \
    } while (0)

#define RUN(test)                                                               \
    do {                                                                        \
        int before_ = harness_failures;                                         \
        test();                                                                 \
        int ok_ = harness_failures == before_;                                  \
        printf("%s %s\n", ok_ ? "ok  " : "FAIL", #test);                        \
        fflush(stdout);                                                         \
        if (ok_) harness_passed++; else harness_failed++;                       \
    } while (0)

#define HARNESS_END()                                                           \
    do {                                                                        \
        printf("%d passed, %d failed\n", harness_passed, harness_failed);       \
        return harness_failed ? 1 : 0;                                          \
    } while (0)

/* The probe binary the tests run inside sandboxes (see probe.c). */
static inline const char *probe_path(void) {
    const char *p = getenv("SANDLOCK_PROBE");
    if (!p) { fprintf(stderr, "SANDLOCK_PROBE is not set\n"); exit(2); }
    return p;
}

static char probe_dir_buf[4096];
static inline const char *probe_dir(void) {
    snprintf(probe_dir_buf, sizeof probe_dir_buf, "%s", probe_path());
    char *slash = strrchr(probe_dir_buf, '/');
    if (slash) *slash = '\0';
    return probe_dir_buf;
}

/* A policy that can run the probe and the system's programs. */
static inline sandlock_policy *base_policy(void) {
    sandlock_policy *p = sandlock_policy_new();
    const char *ro[] = {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", NULL};
    for (int i = 0; ro[i]; i++) {
        struct stat st;
        if (stat(ro[i], &st) == 0) {
            int r = sandlock_policy_fs_read(p, ro[i]);
            CHECK(r == 0, "fs_read %s: %d %s", ro[i], r, sandlock_policy_error(p));
        }
    }
    int r = sandlock_policy_fs_write(p, "/dev/null");
    CHECK(r == 0, "fs_write /dev/null: %d %s", r, sandlock_policy_error(p));
    r = sandlock_policy_fs_read(p, probe_dir());
    CHECK(r == 0, "fs_read probe dir: %d %s", r, sandlock_policy_error(p));
    return p;
}

/* CPU time of the calling thread, in microseconds: what a step cost,
 * whatever else the machine runs (wall time is not asserted in tests: these
 * machines are shared). */
static inline long thread_cpu_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

/* The test program's own path into self[size] (it re-executes itself as
 * the job); 0, or -1 if it cannot be read. */
static inline int read_self(char *self, size_t size) {
    ssize_t n = readlink("/proc/self/exe", self, size - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    return 0;
}

/* Runs argv (NULL-terminated) with no sandbox at all, its stdout into
 * out[size]: an attack's baseline. Returns its exit code (-1 if it did
 * not exit). */
static inline int run_unconfined(const char *const argv[], char *out, size_t size) {
    out[0] = '\0';
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used < size - 1 && (n = read(fds[0], out + used, size - 1 - used)) > 0) used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Lets `p` run the test program `self` again as its job: its directory,
 * the library's (LD_LIBRARY_PATH), /proc (the AddressSanitizer build of
 * the job reads its own maps) and no leak checker (it cannot run in a
 * sandbox: no ptrace). Returns p. */
static inline sandlock_policy *allow_self_job(sandlock_policy *p, const char *self) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    CHECK(sandlock_policy_fs_read(p, dir) == 0, "fs_read %s: %s", dir, sandlock_policy_error(p));
    const char *libs = getenv("LD_LIBRARY_PATH");
    if (libs && *libs) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", libs);
        for (char *d = strtok(copy, ":"); d; d = strtok(NULL, ":"))
            if (*d) sandlock_policy_fs_read(p, d);
    }
    CHECK(sandlock_policy_fs_read(p, "/proc") == 0, "fs_read /proc");
    sandlock_policy_env_set(p, "ASAN_OPTIONS", "detect_leaks=0");
    return p;
}

/* Drives one sandbox from a poll loop to its end. */
static inline int supervise(sandlock_sandbox *sb) {
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    for (;;) {
        poll(&pfd, 1, sandlock_sandbox_timeout_ms(sb));
        int r;
        while ((r = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (r == SANDLOCK_STEP_EXITED || r < 0) return r;
    }
}

struct outcome {
    int spawn;      /* sandlock_spawn's return */
    int reason;     /* SANDLOCK_EXIT_* */
    int code;       /* exit code, or -1 */
    int sig;        /* signal, or 0 */
    char out[8192]; /* stdout */
};

/* Runs argv under p with stdout captured (small outputs only) and stdin
 * from stdin_fd (-1: /dev/null). */
static inline struct outcome run_in(sandlock_policy *p, const char *const argv[], int stdin_fd) {
    struct outcome o;
    memset(&o, 0, sizeof o);
    o.code = -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) { o.spawn = -errno; return o; }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, stdin_fd >= 0 ? stdin_fd : devnull, pipefd[1], -1};
    sandlock_sandbox *sb = NULL;
    o.spawn = sandlock_spawn(p, argv, &opts, &sb);
    close(pipefd[1]);
    close(devnull);
    if (o.spawn == 0) {
        int r = supervise(sb);
        CHECK(r == SANDLOCK_STEP_EXITED, "supervise: %d %s", r, sandlock_sandbox_error(sb));
        o.reason = sandlock_sandbox_exit_reason(sb);
        o.code = sandlock_sandbox_exit_code(sb);
        o.sig = sandlock_sandbox_exit_signal(sb);
        sandlock_sandbox_free(sb);
        size_t used = 0;
        ssize_t n;
        while (used < sizeof o.out - 1 && (n = read(pipefd[0], o.out + used, sizeof o.out - 1 - used)) > 0)
            used += (size_t)n;
        o.out[used] = '\0';
    }
    close(pipefd[0]);
    return o;
}

static inline struct outcome run(sandlock_policy *p, const char *const argv[]) {
    return run_in(p, argv, -1);
}

/* Runs the probe with one command and argument under p. */
static inline struct outcome probe(sandlock_policy *p, const char *cmd, const char *arg) {
    const char *argv[] = {probe_path(), cmd, arg, NULL};
    return run(p, argv);
}

/* A scratch directory of the test's own, removed by cleanup_scratch(). */
static char scratch[256];
static inline void make_scratch(void) {
    snprintf(scratch, sizeof scratch, "/tmp/sandlock-test-XXXXXX");
    if (!mkdtemp(scratch)) { perror("mkdtemp"); exit(2); }
}
static inline void cleanup_scratch(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch);
}

/* Writes `content` to `path` (created or truncated) with `mode`; a
 * failure ends the test program (its set-up cannot go on). */
static inline void write_file(const char *path, const char *content, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) { perror(path); exit(2); }
    size_t len = strlen(content);
    if (write(fd, content, len) != (ssize_t)len) { perror(path); exit(2); }
    close(fd);
    chmod(path, mode);
}

/* Is `pid` a live process (not gone, not a zombie)? */
static inline int process_alive(pid_t pid) {
    char path[64], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = '?';
    fclose(f);
    return state != 'Z' && state != 'X';
}

/* Waits (up to 5 s) for a sandboxed process to write its pid to `path`,
 * stepping `sb` (if any) meanwhile. 0 if it never does. */
static inline pid_t wait_for_pid_file(const char *path, sandlock_sandbox *sb) {
    pid_t pid = 0;
    for (int i = 0; i < 500 && pid == 0; i++) {
        FILE *f = fopen(path, "r");
        if (f) { if (fscanf(f, "%d", &pid) != 1) pid = 0; fclose(f); }
        if (!pid) usleep(10000);
        if (sb) sandlock_supervise_step(sb);
    }
    return pid;
}

static inline int count_open_fds(void) {
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (access(path, F_OK) == 0) n++;
    }
    return n;
}

/* The children of every thread of this process (zombies included), from
 * /proc/self/task/<tid>/children. */
static inline int host_children(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n")) n++;
    }
    if (d) closedir(d);
    return n;
}

static inline long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* The process group of `pid` (and its state letter in *state), from
 * /proc/<pid>/stat parsed after the last ')' (the command name may hold
 * one); -1 when gone. */
static inline pid_t group_of(pid_t pid, char *state) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    char st = '?';
    int ppid, pgrp;
    if (!paren || sscanf(paren + 1, " %c %d %d", &st, &ppid, &pgrp) != 3) return -1;
    if (state) *state = st;
    return (pid_t)pgrp;
}

/* Appends what the non-blocking pipe `fd` has to out[*used..size-1],
 * keeping it NUL-terminated (past `size`, the rest is dropped). 1 at EOF
 * (or a read error), 0 when it would block. */
static inline int drain_into(int fd, char *out, size_t size, size_t *used) {
    for (;;) {
        char tmp[1024];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n == 0) return 1;
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : 1;
        size_t room = size - 1 - *used, take = (size_t)n < room ? (size_t)n : room;
        memcpy(out + *used, tmp, take);
        *used += take;
        out[*used] = '\0';
    }
}

/* Supervises `sb` from a poll loop until SANDLOCK_STEP_EXITED, appending
 * what the non-blocking pipe `out_fd` (or -1) carries to out[size]. Past
 * `limit_ms` the sandbox is SIGKILLed (a failure, named by `what`) and
 * given 5 s more. Returns 1 when it ended. */
static inline int supervise_capturing(sandlock_sandbox *sb, int out_fd, char *out, size_t size,
                                      long limit_ms, const char *what) {
    size_t used = out ? strlen(out) : 0;
    struct pollfd pfd[2] = {{.fd = sandlock_sandbox_fd(sb), .events = POLLIN}, {.fd = out_fd, .events = POLLIN}};
    long deadline = now_ms() + limit_ms;
    int killed = 0, ended = 0;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) {
            if (killed) { CHECK(0, "%s: still there 5 s after SIGKILL", what); break; }
            CHECK(0, "%s: did not end within %ld ms: killing it", what, limit_ms);
            sandlock_sandbox_kill(sb, SIGKILL);
            killed = 1;
            deadline = now_ms() + 5000;
            continue;
        }
        poll(pfd, 2, left > 100 ? 100 : (int)left);
        if (pfd[1].fd >= 0 && drain_into(out_fd, out, size, &used)) pfd[1].fd = -1;
        int s;
        while ((s = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (s == SANDLOCK_STEP_EXITED) { ended = 1; break; }
        if (s < 0) { CHECK(0, "%s: supervise_step: %d %s", what, s, sandlock_sandbox_error(sb)); break; }
    }
    if (out_fd >= 0) drain_into(out_fd, out, size, &used);
    return ended;
}

/* Processes (zombies included) in process group `pgid`; *zombies (if
 * given) gets how many of them are zombies. With `sig`, signals each. */
static inline int scan_group(pid_t pgid, int *zombies, int sig) {
    if (zombies) *zombies = 0;
    if (pgid <= 1) return 0;
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        char state = '?';
        if (group_of(pid, &state) != pgid) continue;
        n++;
        if (zombies && (state == 'Z' || state == 'X')) (*zombies)++;
        if (sig) kill(pid, sig);
    }
    closedir(d);
    return n;
}

/* The number after "KEY " at a line start of `out` (probe output of
 * "KEY VALUE" lines); -1 if none. */
static inline long key_value(const char *out, const char *key) {
    size_t len = strlen(key);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long v;
        if (!strncmp(l, key, len) && l[len] == ' ' && sscanf(l + len, "%ld", &v) == 1) return v;
    }
    return -1;
}

/* The text after "KEY " on its line of `out` (probe output of "KEY VALUE"
 * lines) into buf; empty if none. */
static inline void text_of(const char *out, const char *key, char *buf, size_t size) {
    buf[0] = '\0';
    size_t len = strlen(key);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, len) && l[len] == ' ') {
            const char *end = strchr(l, '\n');
            size_t n = (end ? (size_t)(end - l) : strlen(l)) - len - 1;
            snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), l + len + 1);
            return;
        }
}

/* base_policy() with a wall-clock limit (a safety net) and, if given,
 * fs_write on the test's own `dir`. */
static inline sandlock_policy *timed_policy(unsigned long timeout_ms, const char *dir) {
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_timeout_ms(p, timeout_ms);
    CHECK(r == 0, "timeout_ms: %d %s", r, sandlock_policy_error(p));
    if (dir) {
        r = sandlock_policy_fs_write(p, dir);
        CHECK(r == 0, "fs_write %s: %d %s", dir, r, sandlock_policy_error(p));
    }
    return p;
}

/* Spawns `argv` under p with stdin /dev/null, stdout on a non-blocking
 * pipe (its read end in *out_fd, -1 on failure) and stderr inherited.
 * Returns sandlock_spawn's result. */
static inline int spawn_capturing(sandlock_policy *p, const char *const argv[], sandlock_sandbox **sb,
                                  int *out_fd) {
    *out_fd = -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -errno;
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, pipefd[1], -1};
    int r = sandlock_spawn(p, argv, &opts, sb);
    close(pipefd[1]);
    close(devnull);
    if (r == 0) *out_fd = pipefd[0];
    else close(pipefd[0]);
    return r;
}

/* Runs `argv` under p to its end with stdout captured into out[size]
 * (stdin /dev/null); returns its exit code (-1 if it did not exit
 * normally or did not start, a failure then). */
static inline int run_capturing(sandlock_policy *p, const char *const argv[], char *out, size_t size) {
    sandlock_sandbox *sb = NULL;
    int fd = -1;
    int r = spawn_capturing(p, argv, &sb, &fd);
    CHECK(r == 0, "spawn %s: %d %s", argv[0], r, sandlock_policy_error(p));
    out[0] = '\0';
    if (r != 0) return -1;
    supervise_capturing(sb, fd, out, size, 20000, argv[0]);
    int code = sandlock_sandbox_exit_code(sb);
    sandlock_sandbox_free(sb);
    close(fd);
    return code;
}

/* argv = the probe, then `args` (NULL-terminated, at most max - 2 of
 * them); `what` names the command (its first words) for messages. */
static inline void probe_command(const char *const args[], const char **argv, size_t max, char *what,
                                 size_t what_size) {
    argv[0] = probe_path();
    snprintf(what, what_size, "probe");
    size_t i = 0;
    for (; args[i] && i + 2 < max; i++) {
        argv[1 + i] = args[i];
        if (i < 3) {
            size_t len = strlen(what);
            snprintf(what + len, what_size - len, " %.60s", args[i]);
        }
    }
    argv[1 + i] = NULL;
}

#endif

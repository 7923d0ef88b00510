/* Attacks on the sandbox's own helpers (issue #14, class 9): the watchdog
 * and the opener run in the policy's Landlock domain but outside the
 * seccomp filter, so a job that could signal, read or write them would
 * stop the host's opens or run code unfiltered. The job is this program
 * re-executed in the sandbox with "job" as its first argument; it finds
 * the helpers by name in /proc and tries. */
#include "harness.h"
#include <limits.h>

static char self[4096];

/* ---- the job ---- */

/* The helpers' pids (this sandbox's, and any other running on the machine):
 * processes whose argv[0] is a helper's name, or
 * whose /proc entry the sandbox may not even read (with fs_deny, the
 * opener refuses the helpers' /proc entries). At most `max`. */
static int find_helpers(pid_t *out, int max) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) && found < max) {
        if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) == getpid()) continue;
        char path[300], cmdline[64] = "";
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) {
            if (errno == EACCES) out[found++] = atoi(e->d_name);
            continue;
        }
        size_t got = fread(cmdline, 1, sizeof cmdline - 1, f);
        cmdline[got] = '\0';
        if (!strcmp(cmdline, "sandlock-watchdog") || !strcmp(cmdline, "sandlock-opener"))
            out[found++] = atoi(e->d_name);
        fclose(f);
    }
    closedir(d);
    return found;
}

static int job_errno(long r) { return r < 0 ? errno : 0; }

static int refused(int e) { return e == EPERM || e == EACCES; }

static int job(void) {
    pid_t helpers[8];
    int count = find_helpers(helpers, 8), reached = 0;
    for (int i = 0; i < count; i++) {
        pid_t pid = helpers[i];
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
        int fd = open(path, O_RDWR);
        int mem = fd >= 0 ? 0 : errno;
        if (fd >= 0) close(fd);
        int stop = job_errno(kill(pid, SIGSTOP)), probe = job_errno(kill(pid, 0));
        if (stop == 0) kill(pid, SIGCONT); /* an escape: leave the helper running */
        if (!refused(stop) || !refused(probe) || !refused(mem)) {
            printf("reached %d stop=%d probe=%d mem=%d\n", (int)pid, stop, probe, mem);
            reached++;
        }
    }
    printf("helpers_found %d\n", count);
    printf("helpers_reached %d\n", reached);
    /* "self" below /proc, relative to a cwd or a dirfd of /proc: the
       caller's own, never the opener's (which opens with fs_deny) */
    if (chdir("/proc") != 0) return 3;
    int fd = open("self/mem", O_RDONLY);
    char link[64], target[PATH_MAX] = "", own[64];
    snprintf(own, sizeof own, "/proc/%d/mem", (int)getpid());
    if (fd >= 0) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    printf("cwd_self_mem_open %d\n", fd >= 0 ? 0 : errno);
    printf("cwd_self_mem_own %d\n", fd >= 0 && !strcmp(target, own));
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    fd = openat(proc, "self/status", O_RDONLY);
    char text[4096] = "";
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        text[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    char line[64];
    snprintf(line, sizeof line, "\nPid:\t%d\n", (int)getpid());
    printf("dirfd_self_status_own %d\n", strstr(text, line) != NULL);
    fd = openat(proc, "thread-self/status", O_RDONLY);
    printf("dirfd_thread_self_open %d\n", fd >= 0 ? 0 : errno);
    if (fd >= 0) close(fd);
    close(proc);
    return 0;
}

/* ---- the host ---- */

static sandlock_policy *job_policy(int with_deny, const char *deny_dir) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    if (with_deny) CHECK(sandlock_policy_fs_deny(p, deny_dir) == 0, "fs_deny: %s", sandlock_policy_error(p));
    return p;
}

static void run_against_helpers(int with_deny) {
    make_scratch();
    sandlock_policy *p = job_policy(with_deny, scratch);
    const char *argv[] = {self, "job", NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    CHECK(key_value(o.out, "helpers_found") >= (with_deny ? 2 : 1), "helpers found: %ld\n%s",
          key_value(o.out, "helpers_found"), o.out);
    CHECK(key_value(o.out, "helpers_reached") == 0, "helpers reached:\n%s", o.out);
    CHECK(key_value(o.out, "cwd_self_mem_open") == 0, "open self/mem from /proc: %ld",
          key_value(o.out, "cwd_self_mem_open"));
    CHECK(key_value(o.out, "cwd_self_mem_own") == 1, "self/mem from a cwd of /proc is not the job's own");
    CHECK(key_value(o.out, "dirfd_self_status_own") == 1, "self/status from a /proc dirfd is not the job's own");
    CHECK(key_value(o.out, "dirfd_thread_self_open") == 0, "thread-self/status: %ld",
          key_value(o.out, "dirfd_thread_self_open"));
    sandlock_policy_free(p);
    cleanup_scratch();
}

static void helpers_cannot_be_signalled_or_read(void) { run_against_helpers(0); }
static void with_the_opener_self_is_still_the_caller(void) { run_against_helpers(1); }

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job();
    RUN(helpers_cannot_be_signalled_or_read);
    RUN(with_the_opener_self_is_still_the_caller);
    HARNESS_END();
}

/* The programs the benchmarks run, bare and in sandboxes. Each timed mode
 * prints its own time, so the spawn cost stays out of the comparison.
 *   workload malloc N            N small malloc/free pairs (a few kept live);
 *                                prints the total in microseconds
 *   workload forks N             N fork + _exit + waitpid; total us
 *   workload opens N             N open + close of /etc/hostname; total us
 *   workload syscalls N          N rounds of getpid, a read of /dev/zero and
 *                                a stat; prints nanoseconds per round
 *   workload syscall NAME N      one of them alone (getpid, read or stat);
 *                                nanoseconds per call
 *   workload allow-all MODE ...  MODE under a one-instruction seccomp filter
 *                                that allows everything (no library)
 *   workload connect PORT N      N TCP connect + close to 127.0.0.1:PORT;
 *                                microseconds per connect
 *   workload denied PORT N       N connects of one socket to 127.0.0.1:PORT,
 *                                each of which must fail with EACCES or
 *                                EPERM (denied by the policy); us per call
 *   workload job PORT N          reads stdin to its end first, then makes N
 *                                denied connects like `denied`; prints
 *                                nothing, exits 0 only if all were denied */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static struct sockaddr_in loopback(const char *port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int malloc_loop(long n) {
    void *keep[64] = {0};
    for (long i = 0; i < n; i++) {
        size_t size = 16 + (size_t)(i * 7919 % 1024);
        char *p = malloc(size);
        if (!p) return 1;
        p[0] = (char)i;
        size_t slot = (size_t)i % 64;
        free(keep[slot]);
        keep[slot] = p;
    }
    for (int i = 0; i < 64; i++) free(keep[i]);
    return 0;
}

static int fork_loop(long n) {
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) _exit(0);
        if (waitpid(pid, NULL, 0) != pid) return 1;
    }
    return 0;
}

static int open_loop(long n) {
    for (long i = 0; i < n; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd < 0) return 1;
        close(fd);
    }
    return 0;
}

/* Raw syscalls: libc caches nothing of these, but be explicit. */
static int syscall_loop(long n) {
    int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (zero < 0) return 1;
    char buf[64];
    struct stat st;
    for (long i = 0; i < n; i++) {
        if (syscall(SYS_getpid) <= 0) return 1;
        if (read(zero, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
        if (stat("/usr", &st) != 0) return 1;
    }
    close(zero);
    return 0;
}

/* One of the three alone: which of them a filter slows down. */
static int one_syscall_loop(const char *name, long n) {
    int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (zero < 0) return 1;
    char buf[64];
    struct stat st;
    int which = !strcmp(name, "getpid") ? 0 : !strcmp(name, "read") ? 1 : !strcmp(name, "stat") ? 2 : -1;
    if (which < 0) return 2;
    for (long i = 0; i < n; i++) {
        if (which == 0 && syscall(SYS_getpid) <= 0) return 1;
        if (which == 1 && read(zero, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
        if (which == 2 && stat("/usr", &st) != 0) return 1;
    }
    close(zero);
    return 0;
}

static int connect_loop(const char *port, long n) {
    struct sockaddr_in a = loopback(port);
    for (long i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
        close(s);
    }
    return 0;
}

static int denied_loop(const char *port, long n) {
    struct sockaddr_in a = loopback(port);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 1;
    for (long i = 0; i < n; i++) {
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return 1;
        if (errno != EACCES && errno != EPERM) return 1;
    }
    close(s);
    return 0;
}

/* The least a seccomp filter can be: one instruction, allow. */
static int allow_all_filter(void) {
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = 1, .filter = &allow};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "allow-all")) {
        if (allow_all_filter() != 0) return 1;
        argc--;
        argv++;
    }
    if (argc < 3) return 2;
    const char *mode = argv[1];
    long n = atol(argv[argc - 1]);
    int status;
    double start = now_us();
    if (!strcmp(mode, "malloc")) status = malloc_loop(n);
    else if (!strcmp(mode, "forks")) status = fork_loop(n);
    else if (!strcmp(mode, "opens")) status = open_loop(n);
    else if (!strcmp(mode, "syscalls")) {
        status = syscall_loop(n);
        if (status == 0) printf("%.2f\n", (now_us() - start) * 1e3 / (double)n);
        return status;
    } else if (!strcmp(mode, "syscall") && argc == 4) {
        status = one_syscall_loop(argv[2], n);
        if (status == 0) printf("%.2f\n", (now_us() - start) * 1e3 / (double)n);
        return status;
    } else if (!strcmp(mode, "connect") && argc == 4) {
        status = connect_loop(argv[2], n);
        if (status == 0) printf("%.3f\n", (now_us() - start) / (double)n);
        return status;
    } else if (!strcmp(mode, "denied") && argc == 4) {
        status = denied_loop(argv[2], n);
        if (status == 0) printf("%.3f\n", (now_us() - start) / (double)n);
        return status;
    } else if (!strcmp(mode, "job") && argc == 4) {
        char c;
        while (read(0, &c, 1) > 0) {}
        return denied_loop(argv[2], n);
    } else {
        return 2;
    }
    if (status == 0) printf("%.1f\n", now_us() - start);
    return status;
}

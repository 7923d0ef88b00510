/* Reproduction (found by the soak): the limits' samples walk every
 * process of the sandbox inside one step. With max_memory (or max_cpu)
 * and no max_processes, a job that forks N sleepers makes each sample
 * step cost O(N): its /proc/<pid>/status (or CPU clock and stat) is read
 * for each of them, at every 10-50 ms sample.
 *
 *   repro_sample_step [processes] [memory|cpu]
 *
 * Prints the steps' wall and CPU time. Not a test of the suite (it
 * measures time). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sandlock.h>
#include "repro.h"

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

__attribute__((noreturn)) static int job(int n) {
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) for (;;) pause();
        if (pid < 0) break;
    }
    for (;;) pause();
}

static uint64_t cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "job")) return job(atoi(argv[2]));
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int cpu = argc > 2 && !strcmp(argv[2], "cpu");
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 2;
    self[len] = '\0';
    sandlock_policy *p = repro_policy(self, NULL);
    if (cpu) sandlock_policy_max_cpu(p, 90);
    else sandlock_policy_max_memory(p, 8ULL << 30);
    sandlock_policy_timeout_ms(p, 4000);
    char np[16];
    snprintf(np, sizeof np, "%d", n);
    const char *args[] = {self, "job", np, NULL};
    sandlock_sandbox *sb;
    int r = sandlock_spawn(p, args, NULL, &sb);
    if (r != 0) { fprintf(stderr, "spawn: %d %s\n", r, sandlock_policy_error(p)); return 2; }
    sandlock_policy_free(p);

    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    uint64_t max = 0, max_cpu = 0, over10 = 0, steps = 0, t_start = now_ns();
    for (;;) {
        poll(&pfd, 1, 100);
        uint64_t c0 = cpu_ns(), t0 = now_ns();
        r = sandlock_supervise_step(sb);
        uint64_t dt = now_ns() - t0, dc = cpu_ns() - c0;
        steps++;
        if (dt > max) max = dt;
        if (dc > max_cpu) max_cpu = dc;
        if (dt > 10000000) over10++;
        if (r == SANDLOCK_STEP_EXITED || r < 0) break;
    }
    printf("%d processes under max_%s: %llu steps in %.2f s, slowest %.3f ms (most CPU in one step %.3f ms), >10ms %llu\n",
           n, cpu ? "cpu" : "memory", (unsigned long long)steps, (double)(now_ns() - t_start) / 1e9,
           (double)max / 1e6, (double)max_cpu / 1e6, (unsigned long long)over10);
    sandlock_sandbox_free(sb);
    return max_cpu > 10000000 ? 1 : 0;
}

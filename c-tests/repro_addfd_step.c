/* Reproduction (found by the soak): a step that answers an open made on
 * the job's behalf (fs_deny, a private /proc) installs the fd in the
 * caller with SECCOMP_IOCTL_NOTIF_ADDFD, and the kernel's ADDFD waits
 * until the caller's thread runs and takes the fd
 * (seccomp_notify_addfd: wait_for_completion_interruptible). So the step
 * sleeps until the job's thread is scheduled, and the job decides how
 * soon that is: a thread in SCHED_IDLE beside spinners of its own waits
 * for the CPU, and so does the host.
 *
 *   repro_addfd_step [spinners] [opens] [idle: 1|0]
 *
 * Prints the steps' distribution and how many slept. Not a test of the
 * suite (it measures time). It failed until the opener made the ioctl
 * (issue #14): a step then held up to ~1 s; since, under 1 ms. */
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

static int job(int spinners, int opens, int idle, const char *file) {
    for (int i = 0; i < spinners; i++)
        if (fork() == 0)
            for (volatile unsigned long x = 0;; x++) {}
    if (idle) {
        struct sched_param sp = {0};
        if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0) return 10;
    }
    for (int i = 0; i < opens; i++) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) close(fd);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "job")) return job(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
    int spinners = argc > 1 ? atoi(argv[1]) : 2, opens = argc > 2 ? atoi(argv[2]) : 200,
        idle = argc > 3 ? atoi(argv[3]) : 1;
    char self[4096], dir[] = "/tmp/sandlock-repro-XXXXXX", file[4200], denied[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || !mkdtemp(dir)) return 2;
    self[n] = '\0';
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(denied, sizeof denied, "%s/denied", dir);
    close(open(file, O_WRONLY | O_CREAT, 0644));
    mkdir(denied, 0755);
    sandlock_policy *p = repro_policy(self, dir);
    sandlock_policy_fs_deny(p, denied);
    sandlock_policy_timeout_ms(p, 20000);
    char sp[16], op[16], id[4];
    snprintf(sp, sizeof sp, "%d", spinners);
    snprintf(op, sizeof op, "%d", opens);
    snprintf(id, sizeof id, "%d", idle);
    const char *args[] = {self, "job", sp, op, id, file, NULL};
    sandlock_sandbox *sb;
    int r = sandlock_spawn(p, args, NULL, &sb);
    if (r != 0) { fprintf(stderr, "spawn: %d %s\n", r, sandlock_policy_error(p)); return 2; }
    sandlock_policy_free(p);

    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    uint64_t max = 0, over1 = 0, over10 = 0, steps = 0, slept = 0, t_start = now_ns();
    for (;;) {
        poll(&pfd, 1, 100);
        struct rusage a, b;
        getrusage(RUSAGE_THREAD, &a);
        uint64_t t0 = now_ns();
        r = sandlock_supervise_step(sb);
        uint64_t dt = now_ns() - t0;
        getrusage(RUSAGE_THREAD, &b);
        steps++;
        if (b.ru_nvcsw > a.ru_nvcsw) slept++;
        if (dt > max) max = dt;
        if (dt > 1000000) over1++;
        if (dt > 10000000) over10++;
        if (r == SANDLOCK_STEP_EXITED || r < 0) break;
        /* The job's main process ends after its opens: the spinners stay. */
        if (steps > 50 && !sandlock_sandbox_exit_reason(sb) && kill(sandlock_sandbox_pid(sb), 0) != 0) break;
        char st[64];
        snprintf(st, sizeof st, "/proc/%d/stat", (int)sandlock_sandbox_pid(sb));
        FILE *f = fopen(st, "r");
        char state = 'Z';
        if (f) { if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = 'Z'; fclose(f); }
        if (state == 'Z') break;
    }
    printf("spinners=%d opens=%d sched_idle=%d: %llu steps in %.2f s, %llu slept, max %.3f ms, >1ms %llu, >10ms %llu\n",
           spinners, opens, idle, (unsigned long long)steps, (double)(now_ns() - t_start) / 1e9,
           (unsigned long long)slept, (double)max / 1e6, (unsigned long long)over1, (unsigned long long)over10);
    sandlock_sandbox_free(sb);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 2;
    return over10 ? 1 : 0;
}

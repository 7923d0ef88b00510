/* What a program learns of its start: the AT_RANDOM bytes the kernel (or
 * the sandbox) gave it, whether it has a vDSO, and the wall clock through
 * every path a program may take. Built dynamic and static (the tests run
 * both). One "KEY value" line each. */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char *self_path;

/* A thread other than the first execs the probe: the new image takes the
 * process's pid (the kernel's de_thread). */
static void *exec_from_thread(void *unused) {
    (void)unused;
    char *args[] = {self_path, NULL};
    execv(self_path, args);
    return NULL;
}

/* "parked N S": N threads sleep until S seconds past the wall clock's now
 * at once; how many slept and how many were refused (EAGAIN). */
static struct timespec parked_until;
static void *sleep_until_target(void *result) {
    *(int *)result = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &parked_until, NULL);
    return NULL;
}

static void parked(int n, int seconds) {
    pthread_t threads[1024];
    static int results[1024];
    if (n > 1024) n = 1024;
    clock_gettime(CLOCK_REALTIME, &parked_until);
    parked_until.tv_sec += seconds;
    for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, sleep_until_target, &results[i]);
    int slept = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        slept += results[i] == 0;
        refused += results[i] == EAGAIN;
    }
    printf("parked_slept %d\nparked_refused %d\n", slept, refused);
}

/* "sigcont_exec N [sleeper]": the attack on a stopped sandbox. A thread waits in
 * pause() while a POSIX timer sends it SIGCONT every N us (a signal no
 * filter sees: it is in the timer's sigevent, in memory); then the probe
 * execs itself. A SIGCONT continues the whole process and drops the stop
 * pending for the exec, so the new program could run before the
 * supervisor rewrote it: it must never do so silently. */
static void *pause_forever(void *unused) {
    (void)unused;
    for (;;) pause();
    return NULL;
}

static void ignore_signal(int sig) { (void)sig; }

static int sigcont_exec(long interval_us, int sleeper) {
    /* Handled, not ignored: the kernel parks a timer whose signal is
     * ignored (SIGCONT's default), so it would fire once. */
    signal(SIGCONT, ignore_signal);
    pthread_t t;
    pid_t tid = -1;
    pthread_create(&t, NULL, pause_forever, NULL);
    /* The thread's kernel id, found among our threads. */
    for (int tries = 0; tries < 100 && tid < 0; tries++) {
        char path[64];
        for (pid_t id = getpid() + 1; id < getpid() + 64 && tid < 0; id++) {
            snprintf(path, sizeof path, "/proc/self/task/%d", (int)id);
            if (access(path, F_OK) == 0) tid = id;
        }
        if (tid < 0) usleep(1000);
    }
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGCONT;
    ev._sigev_un._tid = tid;
    timer_t timer;
    if (tid < 0 || timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) {
        printf("setup_failed %d\n", errno);
        return 1;
    }
    struct itimerspec every = {{0, interval_us * 1000}, {0, interval_us * 1000}};
    timer_settime(timer, 0, &every, NULL);
    usleep(2000);
    char *args[] = {self_path, NULL, NULL, NULL};
    if (sleeper) {
        args[1] = "sleep";
        args[2] = "3";
    }
    execv(self_path, args);
    printf("exec_failed %d\n", errno);
    return 0;
}

static long long seconds_of(clockid_t clock) {
    struct timespec t;
    return clock_gettime(clock, &t) ? -1 : (long long)t.tv_sec;
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc > 2 && !strcmp(argv[1], "sigcont_exec"))
        return sigcont_exec(atol(argv[2]), argc > 3 && !strcmp(argv[3], "sleeper"));
    if (argc > 1 && !strcmp(argv[1], "thread_exec")) {
        pthread_t t;
        pthread_create(&t, NULL, exec_from_thread, NULL);
        pthread_join(t, NULL);
        return 1;
    }
    /* A failed exec first (as execvp does along PATH), then the real one. */
    if (argc > 1 && !strcmp(argv[1], "exec_after_failure")) {
        char *none[] = {"/nonexistent/program", NULL};
        execv(none[0], none);
        char *args[] = {self_path, NULL};
        execv(self_path, args);
        return 1;
    }
    const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
    printf("at_random ");
    for (int i = 0; random && i < 16; i++) printf("%02x", random[i]);
    printf("\nvdso %d\n", getauxval(AT_SYSINFO_EHDR) != 0);

    struct timespec raw;
    long long raw_seconds = syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw) ? -1 : (long long)raw.tv_sec;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct timeval raw_tv;
    syscall(SYS_gettimeofday, &raw_tv, NULL);
    time_t stored = 0;
    time_t returned = time(&stored);
    printf("clock_gettime %lld\n", seconds_of(CLOCK_REALTIME));
    printf("coarse %lld\n", seconds_of(CLOCK_REALTIME_COARSE));
    printf("tai %lld\n", seconds_of(CLOCK_TAI));
    printf("raw_clock_gettime %lld\n", raw_seconds);
    printf("gettimeofday %lld\n", (long long)tv.tv_sec);
    printf("raw_gettimeofday %lld\n", (long long)raw_tv.tv_sec);
    printf("time %lld %lld\n", (long long)returned, (long long)stored);
    printf("raw_time %lld\n", (long long)syscall(SYS_time, NULL));

    /* "sleep N": the wall clock advances by the sleep (a monotonic one). */
    if (argc > 2 && !strcmp(argv[1], "sleep")) {
        long long before = seconds_of(CLOCK_REALTIME);
        struct timespec nap = {atoi(argv[2]), 0};
        nanosleep(&nap, NULL);
        printf("slept %lld\n", seconds_of(CLOCK_REALTIME) - before);
    }
    /* "until N": clock_nanosleep to N seconds past the wall clock's now,
     * absolute (TIMER_ABSTIME): how long that took by the monotonic clock. */
    if (argc > 2 && !strcmp(argv[1], "until")) {
        struct timespec target, before, after;
        clock_gettime(CLOCK_REALTIME, &target);
        target.tv_sec += atoi(argv[2]);
        clock_gettime(CLOCK_MONOTONIC, &before);
        int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL);
        clock_gettime(CLOCK_MONOTONIC, &after);
        printf("until_result %d\nuntil_ms %lld\n", r,
               (long long)(after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000);
    }
    if (argc > 3 && !strcmp(argv[1], "parked")) parked(atoi(argv[2]), atoi(argv[3]));
    /* "bad": a clock call with a bad pointer fails as the kernel's would. */
    if (argc > 1 && !strcmp(argv[1], "bad")) {
        long r = syscall(SYS_clock_gettime, CLOCK_REALTIME, (void *)8);
        printf("bad_pointer %ld\n", r == 0 ? 0L : (long)-1);
    }
    return 0;
}

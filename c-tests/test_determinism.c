/* Determinism (issue #7): the AT_RANDOM bytes a new program gets follow
 * random_seed, and time_start sets the wall clock every path reads: libc
 * (the vDSO's path without the option), raw syscalls, a static binary,
 * a program exec'd inside the sandbox. Then a real program run twice with
 * seed, clock and host name gives the same output. */
#include "harness.h"

static char clock_probe_buf[4200], static_probe_buf[4200];

/* The clock probes sit beside the probe (see the Makefile). */
static const char *clock_probe(int is_static) {
    char *buf = is_static ? static_probe_buf : clock_probe_buf;
    snprintf(buf, 4200, "%s/%s", probe_dir(), is_static ? "clock_probe_static" : "clock_probe");
    return buf;
}

static sandlock_policy *policy_with(unsigned long long seed, long long start) {
    sandlock_policy *p = timed_policy(20000, NULL);
    if (seed) {
        int r = sandlock_policy_random_seed(p, seed);
        CHECK(r == 0, "random_seed: %d %s", r, sandlock_policy_error(p));
    }
    if (start >= 0) {
        int r = sandlock_policy_time_start(p, start);
        CHECK(r == 0, "time_start: %d %s", r, sandlock_policy_error(p));
    }
    return p;
}

/* The probe's AT_RANDOM bytes (32 hex digits) under seed (0: none). */
static void at_random_of(unsigned long long seed, int is_static, const char *mode, char *hex, size_t size) {
    char out[4096];
    sandlock_policy *p = policy_with(seed, -1);
    const char *argv[] = {clock_probe(is_static), mode, NULL};
    int code = run_capturing(p, argv, out, sizeof out);
    CHECK(code == 0, "clock probe %s: code %d", mode ? mode : "", code);
    text_of(out, "at_random", hex, size);
    CHECK(strlen(hex) == 32, "at_random \"%s\"", hex);
    sandlock_policy_free(p);
}

static void at_random_follows_the_seed(void) {
    for (int is_static = 0; is_static <= 1; is_static++) {
        char a[64], b[64], other[64], none1[64], none2[64];
        at_random_of(7, is_static, NULL, a, sizeof a);
        at_random_of(7, is_static, NULL, b, sizeof b);
        at_random_of(8, is_static, NULL, other, sizeof other);
        at_random_of(0, is_static, NULL, none1, sizeof none1);
        at_random_of(0, is_static, NULL, none2, sizeof none2);
        CHECK(!strcmp(a, b), "static %d: same seed, %s vs %s", is_static, a, b);
        CHECK(strcmp(a, other), "static %d: seeds 7 and 8 both gave %s", is_static, a);
        CHECK(strcmp(none1, none2), "static %d: no seed, twice %s", is_static, none1);
        CHECK(strcmp(none1, a), "static %d: no seed gave the seed's %s", is_static, a);
    }
}

/* A program the sandbox execs (from a thread other than the first, and
 * after a failed exec) gets its own bytes, the same on every run. */
static void exec_d_programs_get_seeded_bytes(void) {
    const char *modes[] = {"thread_exec", "exec_after_failure"};
    for (int i = 0; i < 2; i++) {
        char first[64], again[64], direct[64];
        at_random_of(7, 0, modes[i], first, sizeof first);
        at_random_of(7, 0, modes[i], again, sizeof again);
        at_random_of(7, 0, NULL, direct, sizeof direct);
        CHECK(!strcmp(first, again), "%s: %s vs %s", modes[i], first, again);
        /* The second image of the sandbox: the stream's next 16 bytes. */
        CHECK(strcmp(first, direct), "%s: the first image's bytes again (%s)", modes[i], first);
    }
}

static const char *const CLOCK_KEYS[] = {"clock_gettime", "coarse", "tai", "raw_clock_gettime",
                                         "gettimeofday", "raw_gettimeofday", "time", "raw_time"};

/* Every clock path of `out` reads within [start - 1, start + 5]: the
 * coarse clock may lag a tick behind the start. */
static void check_clocks(const char *out, long start, const char *what) {
    for (size_t i = 0; i < sizeof CLOCK_KEYS / sizeof *CLOCK_KEYS; i++) {
        long v = key_value(out, CLOCK_KEYS[i]);
        CHECK(v >= start - 1 && v <= start + 5, "%s: %s = %ld, start %ld", what, CLOCK_KEYS[i], v, start);
    }
    char stored[64];
    text_of(out, "time", stored, sizeof stored);
    long returned = 0, written = 0;
    CHECK(sscanf(stored, "%ld %ld", &returned, &written) == 2 && returned == written,
          "%s: time() returned and stored \"%s\"", what, stored);
}

static void the_clock_starts_where_asked(void) {
    const long start = 1000000000; /* 2001-09-09 */
    for (int is_static = 0; is_static <= 1; is_static++) {
        char out[4096], what[64];
        snprintf(what, sizeof what, "%s probe", is_static ? "static" : "dynamic");
        sandlock_policy *p = policy_with(0, start);
        const char *argv[] = {clock_probe(is_static), NULL};
        int code = run_capturing(p, argv, out, sizeof out);
        CHECK(code == 0, "%s: code %d", what, code);
        check_clocks(out, start, what);
        CHECK(key_value(out, "vdso") == 0, "%s: the vDSO is still announced", what);
        sandlock_policy_free(p);

        /* Without the option: the host's clock, through the vDSO. */
        p = policy_with(0, -1);
        run_capturing(p, argv, out, sizeof out);
        check_clocks(out, (long)time(NULL), what);
        CHECK(key_value(out, "vdso") == 1, "%s without time_start: no vDSO", what);
        sandlock_policy_free(p);
    }
}

/* date(1) and a program exec'd from a thread, inside the sandbox. */
static void exec_d_programs_read_the_same_clock(void) {
    const long start = 2000000000; /* 2033-05-18 */
    char out[4096];
    sandlock_policy *p = policy_with(0, start);
    const char *date[] = {"/bin/sh", "-c", "echo date $(date +%s)", NULL};
    int code = run_capturing(p, date, out, sizeof out);
    CHECK(code == 0, "date: code %d", code);
    long v = key_value(out, "date");
    CHECK(v >= start && v <= start + 5, "date +%%s = %ld", v);
    const char *thread[] = {clock_probe(1), "thread_exec", NULL};
    code = run_capturing(p, thread, out, sizeof out);
    CHECK(code == 0, "thread_exec: code %d", code);
    check_clocks(out, start, "static probe exec'd from a thread");
    sandlock_policy_free(p);
}

/* The clock advances with the host's; a sleep keeps its length. */
static void the_clock_advances_and_sleeps_work(void) {
    const long start = 1000000000;
    char out[4096];
    sandlock_policy *p = policy_with(0, start);
    const char *argv[] = {clock_probe(0), "sleep", "2", NULL};
    long before = now_ms();
    int code = run_capturing(p, argv, out, sizeof out);
    long took = now_ms() - before;
    CHECK(code == 0, "sleep: code %d", code);
    long slept = key_value(out, "slept");
    CHECK(slept >= 1 && slept <= 4, "the wall clock moved %ld s over a 2 s sleep", slept);
    CHECK(took >= 1900, "a 2 s sleep took %ld ms", took);
    sandlock_policy_free(p);
}

/* A sleep until a time of the sandbox's clock lasts as long as that
 * time is ahead of it (the host's clock is 25 years later: without the
 * translation it would return at once). */
static void a_sleep_until_a_time_of_day_lasts(void) {
    char out[4096];
    sandlock_policy *p = policy_with(0, 1000000000);
    const char *argv[] = {clock_probe(1), "until", "1", NULL};
    int code = run_capturing(p, argv, out, sizeof out);
    CHECK(code == 0, "until: code %d", code);
    long ms = key_value(out, "until_ms");
    CHECK(key_value(out, "until_result") == 0, "clock_nanosleep: %s", out);
    CHECK(ms >= 900 && ms <= 5000, "a sleep to 1 s ahead took %ld ms", ms);
    sandlock_policy_free(p);
}

/* Sleeps are parked on timers of the host's: 300 at once get 256 timers
 * (the most one sandbox may hold), the rest EAGAIN, and the host's fd
 * table stays bounded meanwhile. */
static void parked_sleeps_are_bounded(void) {
    sandlock_policy *p = policy_with(0, 1000000000);
    const char *argv[] = {clock_probe(0), "parked", "300", "2", NULL};
    int before = count_open_fds();
    sandlock_sandbox *sb = NULL;
    int fd = -1;
    int r = spawn_capturing(p, argv, &sb, &fd);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    if (r == 0) {
        int most = 0;
        struct pollfd pfd = {sandlock_sandbox_fd(sb), POLLIN, 0};
        char out[4096];
        size_t used = 0;
        out[0] = '\0';
        long start = now_ms();
        for (;;) {
            poll(&pfd, 1, 50);
            int step;
            while ((step = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
            int open_now = count_open_fds();
            if (open_now > most) most = open_now;
            drain_into(fd, out, sizeof out, &used);
            if (step != SANDLOCK_STEP_IDLE || now_ms() - start > 20000) break;
        }
        drain_into(fd, out, sizeof out, &used);
        long slept = key_value(out, "parked_slept"), refused = key_value(out, "parked_refused");
        CHECK(slept == 256 && refused == 44, "slept %ld, refused %ld: %s", slept, refused, out);
        CHECK(most - before <= 256 + 16, "the host held %d fds more", most - before);
        sandlock_sandbox_free(sb);
        close(fd);
    }
    sandlock_policy_free(p);
}

/* The attack on the stop: a POSIX timer of the job's own sends SIGCONT
 * while it execs (clock_probe "sigcont_exec"), which drops the stop the
 * exec was answered with. The new program may then run unrewritten, but
 * never unnoticed: such a run ends killed, with a denial in the log
 * ("auxv" for an exec stopped alone, "freeze" or "auxv" when fs_deny
 * stops the whole sandbox). Runs with the timer missing the window show
 * the rewritten program (vdso 0) or an exec refused (EAGAIN). */
static void a_continued_exec_never_runs_unnoticed(void) {
    make_scratch();
    char denied[512];
    snprintf(denied, sizeof denied, "%s/denied", scratch);
    mkdir(denied, 0755);
    for (int freeze = 0; freeze <= 1; freeze++) {
        int rewritten = 0, caught = 0, refused = 0;
        for (int i = 0; i < 12; i++) {
            sandlock_policy *p = policy_with(0, 1000000000);
            if (freeze) {
                int r = sandlock_policy_fs_deny(p, denied);
                CHECK(r == 0, "fs_deny: %d %s", r, sandlock_policy_error(p));
            }
            /* Every third run's new program then sleeps 3 s: running
             * unstopped, it must be killed before it wakes. */
            const char *argv[] = {clock_probe(1), "sigcont_exec", i % 2 ? "100" : "30",
                                  i % 3 == 2 ? "sleeper" : NULL, NULL};
            sandlock_sandbox *sb = NULL;
            int fd = -1;
            int r = spawn_capturing(p, argv, &sb, &fd);
            CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
            if (r != 0) {
                sandlock_policy_free(p);
                continue;
            }
            char out[4096] = "";
            supervise_capturing(sb, fd, out, sizeof out, 20000, "sigcont_exec");
            int reason = sandlock_sandbox_exit_reason(sb);
            int logged = 0;
            sandlock_event ev = {.size = sizeof ev};
            while (sandlock_sandbox_next_event(sb, &ev) == 1)
                if (ev.kind == SANDLOCK_EVENT_DENIAL && ev.detail &&
                    (!strcmp(ev.detail, "auxv") || !strcmp(ev.detail, "freeze")))
                    logged = 1;
            int host_clock = strstr(out, "vdso 1") != NULL;
            CHECK(!host_clock || !strstr(out, "slept"), "freeze %d run %d: ran unstopped to the end: %s",
                  freeze, i, out);
            CHECK(!host_clock || (reason == SANDLOCK_EXIT_KILLED && logged),
                  "freeze %d run %d: the new program ran unrewritten and the run ended as %d (logged %d): %s",
                  freeze, i, reason, logged, out);
            if (reason == SANDLOCK_EXIT_KILLED && logged) caught++;
            else if (strstr(out, "exec_failed")) refused++;
            else if (strstr(out, "vdso 0")) rewritten++;
            else CHECK(0, "freeze %d run %d: reason %d, output: %s", freeze, i, reason, out);
            sandlock_sandbox_free(sb);
            close(fd);
            sandlock_policy_free(p);
        }
        printf("     %s: %d rewritten, %d caught and killed, %d execs refused\n",
               freeze ? "whole sandbox stopped" : "exec stopped alone", rewritten, caught, refused);
    }
    cleanup_scratch();
}

/* A clock call with a bad buffer fails (EFAULT) instead of writing
 * somewhere; the supervisor goes on. */
static void a_bad_buffer_fails(void) {
    char out[4096];
    sandlock_policy *p = policy_with(0, 1000000000);
    const char *argv[] = {clock_probe(0), "bad", NULL};
    int code = run_capturing(p, argv, out, sizeof out);
    CHECK(code == 0, "bad: code %d", code);
    CHECK(key_value(out, "bad_pointer") == -1, "a clock_gettime into address 8 succeeded: %s", out);
    sandlock_policy_free(p);
}

/* A command whose own exec fails (Landlock refuses to run a file outside
 * the policy): its exec was answered with a stop pending, so it stopped
 * before it could report the failure. sandlock_spawn returns the error
 * rather than waiting for good; the alarm turns a hang into a failure. */
static void a_failed_first_exec_is_an_error(void) {
    make_scratch();
    char program[512];
    snprintf(program, sizeof program, "%s/outside", scratch);
    write_file(program, "#!/bin/sh\nexit 0\n", 0755);
    for (int i = 0; i < 2; i++) {
        sandlock_policy *p = policy_with(i == 0 ? 7 : 0, i == 0 ? -1 : 1000000000);
        const char *argv[] = {program, NULL};
        sandlock_sandbox *sb = NULL;
        alarm(60);
        int r = sandlock_spawn(p, argv, NULL, &sb);
        alarm(0);
        CHECK(r == -EACCES && sb == NULL, "spawn of a file outside the policy: %d %s", r,
              sandlock_policy_error(p));
        CHECK(strstr(sandlock_policy_error(p), "execve"), "message: %s", sandlock_policy_error(p));
        if (sb) sandlock_sandbox_free(sb);
        sandlock_policy_free(p);
    }
    CHECK(waitpid(-1, NULL, WNOHANG | __WALL) <= 0, "a child of the failed spawn is left");
    cleanup_scratch();
}

static void bad_inputs(void) {
    sandlock_policy *p = sandlock_policy_new();
    int r = sandlock_policy_time_start(p, -1);
    CHECK(r == -EINVAL, "time_start(-1): %d", r);
    CHECK(strstr(sandlock_policy_error(p), "time_start"), "message: %s", sandlock_policy_error(p));
    r = sandlock_policy_time_start(p, 253402300800LL);
    CHECK(r == -EINVAL, "time_start(10000-01-01): %d", r);
    r = sandlock_policy_time_start(p, 0);
    CHECK(r == 0, "time_start(0): %d %s", r, sandlock_policy_error(p));
    r = sandlock_policy_time_start(NULL, 0);
    CHECK(r == -EINVAL, "time_start(NULL policy): %d", r);
    sandlock_policy_free(p);
}

/* A real program, twice: seeded randomness, the clock and the host name
 * give the same line. Python if the machine has it, else the probes. */
static void a_real_program_repeats_itself(void) {
    struct stat st;
    int python = stat("/usr/bin/python3", &st) == 0;
    const char *py[] = {"/usr/bin/python3", "-c",
                        "import os, random, socket, time\n"
                        "print(os.urandom(16).hex(), random.random(), int(time.time()) // 10,\n"
                        "      socket.gethostname(), open('/dev/urandom', 'rb').read(8).hex())",
                        NULL};
    const char *sh[] = {"/bin/sh", "-c",
                        "echo $(date +%s | cut -c1-9) $(hostname) $(od -An -N8 -tx1 /dev/urandom); "
                        "exec \"$0\"",
                        clock_probe(0), NULL};
    const char *const *argv = python ? py : sh;
    char runs[3][4096];
    for (int i = 0; i < 3; i++) {
        sandlock_policy *p = policy_with(i < 2 ? 42 : 43, 1234567890);
        int r = sandlock_policy_hostname(p, "repeatable");
        CHECK(r == 0, "hostname: %d", r);
        int code = run_capturing(p, argv, runs[i], sizeof runs[i]);
        CHECK(code == 0, "%s run %d: code %d", argv[0], i, code);
        sandlock_policy_free(p);
    }
    if (!python) {
        /* The probe prints its clock too, which advances: keep the seeded lines. */
        for (int i = 0; i < 3; i++) {
            char *c = strstr(runs[i], "clock_gettime");
            if (c) *c = '\0';
        }
    }
    printf("     %s: %s", python ? "python3" : "sh + probe", runs[0]);
    CHECK(runs[0][0] && !strcmp(runs[0], runs[1]), "two runs differ:\n%s%s", runs[0], runs[1]);
    CHECK(strcmp(runs[0], runs[2]), "another seed gave the same output: %s", runs[2]);
    CHECK(strstr(runs[0], "123456789") && strstr(runs[0], "repeatable"), "clock or name missing: %s", runs[0]);
}

int main(void) {
    RUN(at_random_follows_the_seed);
    RUN(exec_d_programs_get_seeded_bytes);
    RUN(the_clock_starts_where_asked);
    RUN(exec_d_programs_read_the_same_clock);
    RUN(the_clock_advances_and_sleeps_work);
    RUN(a_sleep_until_a_time_of_day_lasts);
    RUN(parked_sleeps_are_bounded);
    RUN(a_continued_exec_never_runs_unnoticed);
    RUN(a_bad_buffer_fails);
    RUN(a_failed_first_exec_is_an_error);
    RUN(bad_inputs);
    RUN(a_real_program_repeats_itself);
    HARNESS_END();
}

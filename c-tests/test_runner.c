/* sandlock_run (issue #8): a command run to completion with its stdin fed
 * from a buffer and its stdout and stderr captured. Real sandboxes through
 * real pipes: the sizes and contents are checked byte for byte, and every
 * run has a policy timeout as a safety net. */
#include "harness.h"
#include <stdint.h>
#include <sys/resource.h>

#define SAFETY_TIMEOUT_MS 60000
#define TEN_MB (10u * 1024u * 1024u)

static sandlock_policy *policy(void) { return timed_policy(SAFETY_TIMEOUT_MS, NULL); }

static int run_sh(sandlock_policy *p, const char *script, const void *in, size_t in_len, uint64_t timeout_ms,
                  sandlock_run_result *r) {
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    return sandlock_run(p, argv, in, in_len, timeout_ms, r);
}

/* Every `unit`-byte piece of data[0..len) equals `unit`. */
static int repeats(const uint8_t *data, size_t len, const char *unit) {
    size_t u = strlen(unit);
    if (len % u) return 0;
    for (size_t i = 0; i < len; i += u)
        if (memcmp(data + i, unit, u)) return 0;
    return 1;
}

static void test_stdin_echoed_through_cat(void) {
    sandlock_policy *p = policy();
    uint8_t in[70000]; /* more than a pipe holds, NULs included */
    for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 7 + i / 256);
    const char *argv[] = {"/bin/cat", NULL};
    sandlock_run_result r;
    int rc = sandlock_run(p, argv, in, sizeof in, 0, &r);
    CHECK(rc == 0, "run cat: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_NORMAL && r.exit_code == 0 && r.exit_signal == 0,
          "reason %d code %d signal %d", r.exit_reason, r.exit_code, r.exit_signal);
    CHECK(r.stdout_len == sizeof in, "stdout_len %zu, want %zu", r.stdout_len, sizeof in);
    CHECK(r.stdout_data && r.stdout_len == sizeof in && !memcmp(r.stdout_data, in, sizeof in),
          "stdout differs from stdin");
    CHECK(r.stdout_data && r.stdout_data[r.stdout_len] == '\0', "stdout is not NUL-terminated");
    CHECK(r.stderr_data && r.stderr_len == 0 && r.stderr_data[0] == '\0', "stderr: %zu bytes", r.stderr_len);
    sandlock_run_result_free(&r);
    CHECK(!r.stdout_data && !r.stderr_data && !r.stdout_len, "free did not zero the result");
    sandlock_run_result_free(&r); /* a zeroed result is fine */

    /* No input at all: EOF at once, and empty outputs are "" (not NULL). */
    rc = sandlock_run(p, argv, NULL, 0, 0, &r);
    CHECK(rc == 0 && r.exit_code == 0, "run cat < nothing: %d %d %s", rc, r.exit_code, sandlock_policy_error(p));
    CHECK(r.stdout_data && r.stdout_len == 0 && r.stdout_data[0] == '\0', "stdout: %zu bytes", r.stdout_len);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
}

/* 10 MB on stdout and 10 MB on stderr at the same time, while 10 MB of
 * stdin goes unread: every pipe is full at some point, and the run must
 * still end (and the host must not die of SIGPIPE when the shell exits
 * with its stdin unread). */
static void test_ten_megabytes_each_way_stdin_unread(void) {
    sandlock_policy *p = policy();
    uint8_t *in = malloc(TEN_MB);
    memset(in, 'i', TEN_MB);
    char script[256];
    snprintf(script, sizeof script,
             "(yes abcdefghi | head -c %u) & (yes 0123456789ABCDEFGHI | head -c %u >&2) & wait", TEN_MB, TEN_MB);
    sandlock_run_result r;
    int rc = run_sh(p, script, in, TEN_MB, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_NORMAL && r.exit_code == 0, "reason %d code %d", r.exit_reason,
          r.exit_code);
    CHECK(r.stdout_len == TEN_MB, "stdout_len %zu", r.stdout_len);
    CHECK(r.stderr_len == TEN_MB, "stderr_len %zu", r.stderr_len);
    CHECK(r.stdout_data && repeats(r.stdout_data, r.stdout_len, "abcdefghi\n"), "stdout content");
    CHECK(r.stderr_data && repeats(r.stderr_data, r.stderr_len, "0123456789ABCDEFGHI\n"), "stderr content");
    sandlock_run_result_free(&r);
    free(in);
    sandlock_policy_free(p);
}

/* 10 MB of stdin consumed by cat (echoed on stderr) while another process
 * writes 10 MB to stdout: the stdin that comes back is the one sent. */
static void test_ten_megabytes_through_while_writing(void) {
    sandlock_policy *p = policy();
    uint8_t *in = malloc(TEN_MB);
    for (size_t i = 0; i < TEN_MB; i++) in[i] = (uint8_t)((i * 2654435761u) >> 13);
    char script[256];
    /* fd 3 keeps stdin for the background cat (whose own stdin the shell
     * points at /dev/null). */
    snprintf(script, sizeof script, "exec 3<&0; cat <&3 >&2 & exec 3<&-; yes stdout-line | head -c %u; wait",
             TEN_MB);
    sandlock_run_result r;
    int rc = run_sh(p, script, in, TEN_MB, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_NORMAL && r.exit_code == 0, "reason %d code %d", r.exit_reason,
          r.exit_code);
    CHECK(r.stderr_len == TEN_MB && r.stderr_data && !memcmp(r.stderr_data, in, TEN_MB),
          "stderr (%zu bytes) is not the stdin sent", r.stderr_len);
    CHECK(r.stdout_len == TEN_MB && r.stdout_data && repeats(r.stdout_data, TEN_MB - TEN_MB % 12, "stdout-line\n"),
          "stdout: %zu bytes", r.stdout_len);
    sandlock_run_result_free(&r);
    free(in);
    sandlock_policy_free(p);
}

static void test_exit_code_and_signal(void) {
    sandlock_policy *p = policy();
    sandlock_run_result r;
    int rc = run_sh(p, "echo out; echo err >&2; exit 7", NULL, 0, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_NORMAL && r.exit_code == 7 && r.exit_signal == 0,
          "reason %d code %d signal %d", r.exit_reason, r.exit_code, r.exit_signal);
    CHECK(r.stdout_data && !strcmp((char *)r.stdout_data, "out\n"), "stdout \"%s\"", (char *)r.stdout_data);
    CHECK(r.stderr_data && !strcmp((char *)r.stderr_data, "err\n"), "stderr \"%s\"", (char *)r.stderr_data);
    sandlock_run_result_free(&r);

    rc = run_sh(p, "echo before; kill -USR1 $$; echo after", NULL, 0, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_SIGNALED && r.exit_signal == SIGUSR1 && r.exit_code == -1,
          "reason %d code %d signal %d", r.exit_reason, r.exit_code, r.exit_signal);
    CHECK(r.stdout_data && !strcmp((char *)r.stdout_data, "before\n"), "stdout \"%s\"", (char *)r.stdout_data);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
}

static void test_timeouts(void) {
    /* The run's own timeout. */
    sandlock_policy *p = policy();
    sandlock_run_result r;
    int rc = run_sh(p, "echo started; exec sleep 60", NULL, 0, 300, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_TIMEOUT && r.exit_code == -1 && r.exit_signal == 0,
          "reason %d code %d signal %d", r.exit_reason, r.exit_code, r.exit_signal);
    CHECK(r.stdout_data && !strcmp((char *)r.stdout_data, "started\n"), "stdout \"%s\"", (char *)r.stdout_data);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);

    /* The policy's, with none of the run's; a grandchild holding the
     * pipes goes with the sandbox, so the outputs still end. */
    p = timed_policy(300, NULL);
    rc = run_sh(p, "sleep 60 & echo started; wait", NULL, 0, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_TIMEOUT, "reason %d code %d", r.exit_reason, r.exit_code);
    CHECK(r.stdout_data && !strcmp((char *)r.stdout_data, "started\n"), "stdout \"%s\"", (char *)r.stdout_data);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
}

/* A read outside the policy's trees is refused inside: the command's own
 * error message and exit code say so. */
static void test_denial_shows_in_stderr(void) {
    make_scratch();
    char secret[512];
    snprintf(secret, sizeof secret, "%s/secret", scratch);
    write_file(secret, "top secret\n", 0644);
    sandlock_policy *p = policy();
    const char *argv[] = {"/bin/cat", secret, NULL};
    sandlock_run_result r;
    int rc = sandlock_run(p, argv, NULL, 0, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    CHECK(r.exit_reason == SANDLOCK_EXIT_NORMAL && r.exit_code == 1, "reason %d code %d", r.exit_reason,
          r.exit_code);
    CHECK(r.stdout_len == 0, "stdout: \"%s\"", (char *)r.stdout_data);
    CHECK(r.stderr_data && strstr((char *)r.stderr_data, "Permission denied"), "stderr: \"%s\"",
          (char *)r.stderr_data);
    sandlock_run_result_free(&r);

    /* The same file, allowed: the denial above was the policy's. */
    rc = sandlock_policy_fs_read(p, scratch);
    CHECK(rc == 0, "fs_read: %d %s", rc, sandlock_policy_error(p));
    rc = sandlock_run(p, argv, NULL, 0, 0, &r);
    CHECK(rc == 0 && r.exit_code == 0, "run: %d %d", rc, r.exit_code);
    CHECK(r.stdout_data && !strcmp((char *)r.stdout_data, "top secret\n"), "stdout \"%s\"", (char *)r.stdout_data);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
    cleanup_scratch();
}

static void garbage(sandlock_run_result *r) { memset(r, 0x5a, sizeof *r); }

static int zeroed(const sandlock_run_result *r) {
    sandlock_run_result zero;
    memset(&zero, 0, sizeof zero);
    return !memcmp(r, &zero, sizeof zero);
}

static void test_bad_arguments(void) {
    sandlock_policy *p = policy();
    const char *argv[] = {"/bin/true", NULL};
    sandlock_run_result r;

    garbage(&r);
    CHECK(sandlock_run(NULL, argv, NULL, 0, 0, &r) == -EINVAL, "NULL policy");
    CHECK(zeroed(&r), "out not zeroed after a NULL policy");

    garbage(&r);
    int rc = sandlock_run(p, NULL, NULL, 0, 0, &r);
    CHECK(rc == -EINVAL && strstr(sandlock_policy_error(p), "argv"), "NULL argv: %d %s", rc,
          sandlock_policy_error(p));
    CHECK(zeroed(&r), "out not zeroed after a NULL argv");

    rc = sandlock_run(p, argv, NULL, 0, 0, NULL);
    CHECK(rc == -EINVAL && strstr(sandlock_policy_error(p), "out"), "NULL out: %d %s", rc,
          sandlock_policy_error(p));

    garbage(&r);
    rc = sandlock_run(p, argv, NULL, 5, 0, &r);
    CHECK(rc == -EINVAL && strstr(sandlock_policy_error(p), "stdin_data"), "NULL stdin_data: %d %s", rc,
          sandlock_policy_error(p));
    CHECK(zeroed(&r), "out not zeroed after a NULL stdin_data");

    const char *empty[] = {NULL};
    garbage(&r);
    rc = sandlock_run(p, empty, NULL, 0, 0, &r);
    CHECK(rc == -EINVAL && sandlock_policy_error(p)[0], "empty argv: %d %s", rc, sandlock_policy_error(p));
    CHECK(zeroed(&r), "out not zeroed after an empty argv");

    const char *missing[] = {"/nonexistent-sandlock-program", NULL};
    garbage(&r);
    rc = sandlock_run(p, missing, (const uint8_t *)"x", 1, 0, &r);
    CHECK(rc == -ENOENT && strstr(sandlock_policy_error(p), "nonexistent-sandlock-program"), "missing: %d %s", rc,
          sandlock_policy_error(p));
    CHECK(zeroed(&r), "out not zeroed after a failed spawn");

    sandlock_run_result_free(NULL);
    /* A success clears the policy's message. */
    rc = sandlock_run(p, argv, NULL, 0, 0, &r);
    CHECK(rc == 0 && !sandlock_policy_error(p)[0], "run: %d \"%s\"", rc, sandlock_policy_error(p));
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
}

/* Many runs, finished, timed out and failed, leave no descriptor and no
 * child behind in the host. */
static void test_no_leaks_in_the_host(void) {
    sandlock_policy *p = policy();
    /* The policy compiles its Landlock ruleset at its first spawn and
     * keeps it (an fd of the policy's): counted from after that. */
    sandlock_run_result warm;
    CHECK(run_sh(p, "true", NULL, 0, 0, &warm) == 0, "warm-up run: %s", sandlock_policy_error(p));
    sandlock_run_result_free(&warm);
    int before = count_open_fds();
    int children = host_children();
    const char *missing[] = {"/nonexistent-sandlock-program", NULL};
    for (int i = 0; i < 30; i++) {
        sandlock_run_result r;
        int rc;
        switch (i % 3) {
        case 0:
            rc = run_sh(p, "cat; echo e >&2", (const uint8_t *)"some input\n", 11, 0, &r);
            CHECK(rc == 0 && r.stdout_len == 11 && r.stderr_len == 2, "run %d: %d", i, rc);
            break;
        case 1:
            rc = run_sh(p, "exec sleep 60", (const uint8_t *)"unread", 6, 50, &r);
            CHECK(rc == 0 && r.exit_reason == SANDLOCK_EXIT_TIMEOUT, "run %d: %d reason %d", i, rc, r.exit_reason);
            break;
        default:
            rc = sandlock_run(p, missing, NULL, 0, 0, &r);
            CHECK(rc == -ENOENT, "run %d: %d", i, rc);
        }
        sandlock_run_result_free(&r);
    }
    CHECK(count_open_fds() == before, "fds: %d before, %d after", before, count_open_fds());
    CHECK(host_children() == children, "children: %d before, %d after", children, host_children());
    sandlock_policy_free(p);
}

/* The host's SIGPIPE state is its own: one it has pending stays pending,
 * and the run adds none, whether the child closes its stdin early or not. */
static void test_sigpipe_left_alone(void) {
    sandlock_policy *p = policy();
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_only, &old);
    size_t len = 4u * 1024u * 1024u;
    uint8_t *in = calloc(1, len);
    /* Closes its stdin, then stays a while: the writes meet EPIPE. */
    const char *script = "exec 0<&-; yes | head -c 20000000 > /dev/null; echo done";

    sandlock_run_result r;
    int rc = run_sh(p, script, in, len, 0, &r);
    CHECK(rc == 0 && r.stdout_data && !strcmp((char *)r.stdout_data, "done\n"), "run: %d %s", rc,
          sandlock_policy_error(p));
    sandlock_run_result_free(&r);
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGPIPE), "the run left a SIGPIPE pending");

    raise(SIGPIPE);
    rc = run_sh(p, script, in, len, 0, &r);
    CHECK(rc == 0, "run: %d %s", rc, sandlock_policy_error(p));
    sandlock_run_result_free(&r);
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGPIPE), "the host's pending SIGPIPE was taken");
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_only, NULL, &zero);
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(in);
    sandlock_policy_free(p);
}

static int execs_seen;
static int count_exec(const sandlock_event *e, sandlock_sandbox *sb, void *ud) {
    (void)sb;
    (void)ud;
    if (e->kind == SANDLOCK_EVENT_EXEC && e->path && strstr(e->path, "true")) execs_seen++;
    return SANDLOCK_VERDICT_ALLOW;
}

/* The policy's event callback sees a run's events, as a spawn's. */
static void test_events_of_a_run(void) {
    sandlock_policy *p = policy();
    int rc = sandlock_policy_on_event(p, SANDLOCK_EVENT_EXEC, count_exec, NULL);
    CHECK(rc == 0, "on_event: %d %s", rc, sandlock_policy_error(p));
    sandlock_run_result r;
    execs_seen = 0;
    rc = run_sh(p, "/bin/true; /bin/true; echo ran", NULL, 0, 0, &r);
    CHECK(rc == 0 && r.stdout_data && !strcmp((char *)r.stdout_data, "ran\n"), "run: %d %s", rc,
          sandlock_policy_error(p));
    CHECK(execs_seen == 2, "%d execs of /bin/true seen", execs_seen);
    sandlock_run_result_free(&r);
    sandlock_policy_free(p);
}

/* Output the host has no memory for fails the run with -ENOMEM (the
 * sandbox killed); it never aborts the host. The host here is a forked
 * copy of this test with its address space capped. */
static void test_output_past_the_hosts_memory_is_an_error(void) {
#ifdef __SANITIZE_ADDRESS__
    /* AddressSanitizer's own shadow mappings do not fit under the cap:
     * the plain build of this test runs it. */
    printf("     (skipped under AddressSanitizer)\n");
    return;
#endif
    pid_t host = fork();
    if (host == 0) {
        struct rlimit cap = {256u << 20, 256u << 20};
        if (setrlimit(RLIMIT_AS, &cap) != 0) _exit(3);
        sandlock_policy *p = policy();
        sandlock_run_result r;
        int rc = run_sh(p, "yes | head -c 1000000000", NULL, 0, 0, &r);
        if (rc != -ENOMEM) fprintf(stderr, "  run: %d %s\n", rc, sandlock_policy_error(p));
        int zeroed_out = r.stdout_data == NULL && r.stdout_len == 0;
        sandlock_run_result_free(&r);
        sandlock_policy_free(p);
        _exit(rc == -ENOMEM && zeroed_out ? 0 : 1);
    }
    CHECK(host > 0, "fork: %s", strerror(errno));
    int status = 0;
    CHECK(waitpid(host, &status, 0) == host, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the capped host: %s %d",
          WIFSIGNALED(status) ? "killed by signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

int main(void) {
    RUN(test_stdin_echoed_through_cat);
    RUN(test_ten_megabytes_each_way_stdin_unread);
    RUN(test_ten_megabytes_through_while_writing);
    RUN(test_exit_code_and_signal);
    RUN(test_timeouts);
    RUN(test_denial_shows_in_stderr);
    RUN(test_bad_arguments);
    RUN(test_no_leaks_in_the_host);
    RUN(test_sigpipe_left_alone);
    RUN(test_events_of_a_run);
    RUN(test_output_past_the_hosts_memory_is_an_error);
    HARNESS_END();
}

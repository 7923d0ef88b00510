/* A sandbox dies whole when its host dies: a host program (host_helper.c)
 * is SIGKILLed while its sandbox runs, and the sandbox's processes must be
 * gone within a second. */
#include "harness.h"


/* Starts host_helper with `args`; returns its pid and the sandbox's. */
static pid_t start_host(const char *const args[], pid_t *sandbox) {
    const char *helper = getenv("SANDLOCK_HOST_HELPER");
    if (!helper) { fprintf(stderr, "SANDLOCK_HOST_HELPER is not set\n"); exit(2); }
    int out[2];
    if (pipe(out) != 0) return -1;
    pid_t host = fork();
    if (host == 0) {
        dup2(out[1], 1);
        close(out[0]);
        const char *argv[8] = {helper, probe_path()};
        for (int i = 0; args[i] && i < 5; i++) argv[2 + i] = args[i];
        execv(helper, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    char line[32] = "";
    ssize_t n = read(out[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    close(out[0]);
    *sandbox = (pid_t)atoi(line);
    return host;
}

static int gone_within_a_second(pid_t pid) {
    for (int i = 0; i < 100; i++) {
        if (!process_alive(pid)) return 1;
        usleep(10000);
    }
    return 0;
}

static void a_killed_host_takes_its_sandbox_along(void) {
    const char *args[] = {"sleep", "60", NULL};
    pid_t sandbox = 0;
    pid_t host = start_host(args, &sandbox);
    CHECK(host > 0 && sandbox > 0 && process_alive(sandbox), "the sandbox did not start");
    kill(host, SIGKILL);
    waitpid(host, NULL, 0);
    int gone = gone_within_a_second(sandbox);
    CHECK(gone, "sandboxed process %d outlived its SIGKILLed host", (int)sandbox);
    if (!gone && sandbox > 0) kill(sandbox, SIGKILL);
}

static void daemon_outlives_no_killed_host(int kill_all) {
    make_scratch();
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", scratch);
    setenv("HELPER_WRITE_DIR", scratch, 1);
    const char *args[] = {"daemon", pidfile, kill_all ? "kill_all" : NULL, NULL};
    pid_t sandbox = 0;
    pid_t host = start_host(args, &sandbox);
    unsetenv("HELPER_WRITE_DIR");
    pid_t daemon_pid = wait_for_pid_file(pidfile, NULL);
    CHECK(host > 0 && daemon_pid > 0 && process_alive(daemon_pid), "the daemon did not start");
    kill(host, SIGKILL);
    waitpid(host, NULL, 0);
    int gone = gone_within_a_second(daemon_pid);
    CHECK(gone, "the sandbox's setsid daemon %d outlived its SIGKILLed host", (int)daemon_pid);
    if (!gone && daemon_pid > 0) kill(daemon_pid, SIGKILL);
    cleanup_scratch();
}

static void a_killed_host_takes_a_daemon_along(void) {
    daemon_outlives_no_killed_host(0);
}

/* The job first kills everything it can signal: the library's helpers
 * (the watchdog among them) must not be among it, or a host killed next
 * would leave the daemon running. */
static void a_job_cannot_disarm_the_host_death_cleanup(void) {
    daemon_outlives_no_killed_host(1);
}

int main(void) {
    RUN(a_killed_host_takes_its_sandbox_along);
    RUN(a_killed_host_takes_a_daemon_along);
    RUN(a_job_cannot_disarm_the_host_death_cleanup);
    HARNESS_END();
}

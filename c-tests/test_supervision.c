/* Supervising from the host's own loop: many sandboxes in one poll(), no
 * threads, no leaked fds or zombies, spawning while other threads
 * allocate, and how a sandbox ends. */
#include "harness.h"
#include <dirent.h>
#include <pthread.h>
#include <time.h>

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static sandlock_sandbox *spawn_probe(sandlock_policy *p, const char *cmd, const char *arg) {
    const char *argv[] = {probe_path(), cmd, arg, NULL};
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, devnull, -1};
    sandlock_sandbox *sb = NULL;
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(devnull);
    CHECK(r == 0, "spawn %s %s: %d %s", cmd, arg, r, sandlock_policy_error(p));
    return r == 0 ? sb : NULL;
}

#define MANY 200

static void many_sandboxes_in_one_poll_loop(void) {
    sandlock_policy *p = base_policy();
    sandlock_sandbox *sb[MANY];
    struct pollfd pfd[MANY];
    int done[MANY] = {0}, left = MANY;
    for (int i = 0; i < MANY; i++) {
        char code[16];
        snprintf(code, sizeof code, "%d", i % 128);
        sb[i] = spawn_probe(p, "exit", code);
        if (!sb[i]) return;
        pfd[i] = (struct pollfd){.fd = sandlock_sandbox_fd(sb[i]), .events = POLLIN};
    }
    int tasks = count_tasks();
    while (left > 0) {
        CHECK(count_tasks() == tasks, "the library started a thread");
        int n = poll(pfd, MANY, 10000);
        CHECK(n > 0, "poll timed out with %d sandboxes left", left);
        if (n <= 0) break;
        for (int i = 0; i < MANY; i++) {
            if (done[i] || !pfd[i].revents) continue;
            int r;
            while ((r = sandlock_supervise_step(sb[i])) == SANDLOCK_STEP_MORE) {}
            CHECK(r >= 0, "step: %d %s", r, sandlock_sandbox_error(sb[i]));
            if (r == SANDLOCK_STEP_EXITED || r < 0) {
                done[i] = 1;
                pfd[i].fd = -1;
                left--;
            }
        }
    }
    for (int i = 0; i < MANY; i++) {
        CHECK(sandlock_sandbox_exit_reason(sb[i]) == SANDLOCK_EXIT_NORMAL, "sandbox %d reason", i);
        CHECK(sandlock_sandbox_exit_code(sb[i]) == i % 128, "sandbox %d exit code %d", i,
              sandlock_sandbox_exit_code(sb[i]));
        sandlock_sandbox_free(sb[i]);
    }
    sandlock_policy_free(p);
}

static void no_thread_is_started(void) {
    int before = count_tasks();
    sandlock_policy *p = base_policy();
    sandlock_sandbox *sb = spawn_probe(p, "sleep", "1");
    if (!sb) return;
    CHECK(count_tasks() == before, "tasks after spawn: %d (was %d)", count_tasks(), before);
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    int r = SANDLOCK_STEP_IDLE;
    while (r != SANDLOCK_STEP_EXITED && r >= 0) {
        poll(&pfd, 1, 100);
        CHECK(count_tasks() == before, "tasks during supervision: %d (was %d)", count_tasks(), before);
        r = sandlock_supervise_step(sb);
    }
    sandlock_sandbox_free(sb);
    CHECK(count_tasks() == before, "tasks after free: %d", count_tasks());
    sandlock_policy_free(p);
}

static void no_fd_or_zombie_left_after_free(void) {
    int fds_before = count_open_fds();
    sandlock_policy *p = base_policy();
    for (int i = 0; i < 500; i++) {
        sandlock_sandbox *sb = spawn_probe(p, i % 2 ? "sleep" : "exit", i % 2 ? "5" : "0");
        if (!sb) break;
        if (i % 4 == 0) sandlock_sandbox_wait(sb); /* finished, then freed */
        sandlock_sandbox_free(sb);                 /* others: freed while running */
    }
    sandlock_policy_free(p);
    CHECK(count_open_fds() == fds_before, "fds: %d before, %d after", fds_before, count_open_fds());
    CHECK(host_children() == 0, "%d children (zombies?) left", host_children());
}

static volatile int stop_allocating;

static void *allocate_forever(void *arg) {
    (void)arg;
    unsigned seed = 1;
    while (!stop_allocating) {
        void *blocks[64];
        for (int i = 0; i < 64; i++) blocks[i] = malloc((size_t)(rand_r(&seed) % 4096) + 1);
        for (int i = 0; i < 64; i++) free(blocks[i]);
    }
    return NULL;
}

static void spawning_while_threads_allocate(void) {
    pthread_t threads[8];
    stop_allocating = 0;
    for (int i = 0; i < 8; i++) pthread_create(&threads[i], NULL, allocate_forever, NULL);
    sandlock_policy *p = base_policy();
    /* 2,000 by default; fewer where each fork is slow (the ASan build). */
    const char *env = getenv("SANDLOCK_STRESS_SPAWNS");
    int spawns = env ? atoi(env) : 2000;
    alarm(600); /* a deadlock kills the test instead of hanging CI */
    int ok = 0;
    for (int i = 0; i < spawns; i++) {
        sandlock_sandbox *sb = spawn_probe(p, "exit", "3");
        if (!sb) break;
        sandlock_sandbox_wait(sb);
        ok += sandlock_sandbox_exit_code(sb) == 3;
        sandlock_sandbox_free(sb);
    }
    alarm(0);
    stop_allocating = 1;
    for (int i = 0; i < 8; i++) pthread_join(threads[i], NULL);
    CHECK(ok == spawns, "%d of %d sandboxes ran to completion", ok, spawns);
    sandlock_policy_free(p);
}

static void timeout_kills_with_its_own_reason(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_timeout_ms(p, 200) == 0, "timeout_ms");
    sandlock_sandbox *sb = spawn_probe(p, "sleep", "30");
    if (!sb) return;
    CHECK(sandlock_sandbox_timeout_ms(sb) == -1, "the timer is in the fd");
    CHECK(supervise(sb) == SANDLOCK_STEP_EXITED, "supervise");
    CHECK(sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_TIMEOUT, "reason %d",
          sandlock_sandbox_exit_reason(sb));
    CHECK(sandlock_sandbox_exit_code(sb) == -1, "no exit code after a timeout");
    sandlock_sandbox_free(sb);
    sandlock_policy_free(p);
}

static void kill_and_signals_are_reported(void) {
    sandlock_policy *p = base_policy();
    sandlock_sandbox *sb = spawn_probe(p, "sleep", "30");
    if (!sb) return;
    CHECK(sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_RUNNING, "running");
    CHECK(sandlock_sandbox_kill(sb, SIGTERM) == 0, "kill");
    CHECK(supervise(sb) == SANDLOCK_STEP_EXITED, "supervise");
    CHECK(sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_KILLED, "reason %d",
          sandlock_sandbox_exit_reason(sb));
    CHECK(sandlock_supervise_step(sb) == SANDLOCK_STEP_EXITED, "EXITED stays EXITED");
    sandlock_sandbox_free(sb);

    sb = spawn_probe(p, "segv", "");
    if (!sb) return;
    CHECK(supervise(sb) == SANDLOCK_STEP_EXITED, "supervise");
    CHECK(sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_SIGNALED, "reason %d",
          sandlock_sandbox_exit_reason(sb));
    CHECK(sandlock_sandbox_exit_signal(sb) == SIGSEGV, "signal %d", sandlock_sandbox_exit_signal(sb));
    CHECK(sandlock_sandbox_exit_code(sb) == -1, "no exit code when signaled");
    sandlock_sandbox_free(sb);
    sandlock_policy_free(p);
}

static void exited_waits_for_every_process(void) {
    make_scratch();
    char marker[300], script[700];
    snprintf(marker, sizeof marker, "%s/late", scratch);
    snprintf(script, sizeof script, "(sleep 0.3; echo done > %s) & exit 0", marker);
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_write(p, scratch) == 0, "fs_write");
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "spawn %d reason %d",
          o.spawn, o.reason);
    struct stat st;
    CHECK(stat(marker, &st) == 0 && st.st_size == 5,
          "EXITED came before the background process finished");
    sandlock_policy_free(p);
    cleanup_scratch();
}


/* The main process exits at once; a background process it left in the
 * sandbox's process group must die with sandlock_sandbox_free(). */
static void free_kills_what_the_main_process_left(void) {
    make_scratch();
    char pidfile[300], script[700];
    snprintf(pidfile, sizeof pidfile, "%s/pid", scratch);
    snprintf(script, sizeof script, "sleep 60 & echo $! > %s; exit 0", pidfile);
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_write(p, scratch) == 0, "fs_write");
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    sandlock_sandbox *sb = NULL;
    CHECK(sandlock_spawn(p, argv, NULL, &sb) == 0, "spawn: %s", sandlock_policy_error(p));
    if (!sb) return;
    pid_t orphan = wait_for_pid_file(pidfile, sb);
    CHECK(orphan > 0 && process_alive(orphan), "the background process did not start");
    CHECK(sandlock_supervise_step(sb) != SANDLOCK_STEP_EXITED, "EXITED while a process lives");
    sandlock_sandbox_free(sb);
    int gone = 0;
    for (int i = 0; i < 500 && !gone; i++) { /* its new parent reaps it */
        gone = orphan > 0 && !process_alive(orphan);
        if (!gone) usleep(10000);
    }
    CHECK(gone, "process %d outlived sandlock_sandbox_free()", (int)orphan);
    if (!gone && orphan > 0) kill(orphan, SIGKILL);
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* A daemon that double-forked into a session and group of its own dies
 * with sandlock_sandbox_free() too. */
static void free_kills_a_setsid_daemon(void) {
    make_scratch();
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", scratch);
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_write(p, scratch) == 0, "fs_write");
    const char *argv[] = {probe_path(), "daemon", pidfile, NULL};
    sandlock_sandbox *sb = NULL;
    CHECK(sandlock_spawn(p, argv, NULL, &sb) == 0, "spawn: %s", sandlock_policy_error(p));
    if (!sb) return;
    pid_t daemon_pid = wait_for_pid_file(pidfile, sb);
    CHECK(daemon_pid > 0 && process_alive(daemon_pid), "the daemon did not start");
    for (int i = 0; i < 20; i++) { /* the main process exits meanwhile */
        sandlock_supervise_step(sb);
        usleep(10000);
    }
    CHECK(sandlock_supervise_step(sb) != SANDLOCK_STEP_EXITED, "EXITED while the daemon lives");
    sandlock_sandbox_free(sb);
    int gone = 0;
    for (int i = 0; i < 500 && !gone; i++) {
        gone = daemon_pid > 0 && !process_alive(daemon_pid);
        if (!gone) usleep(10000);
    }
    CHECK(gone, "the setsid daemon %d outlived sandlock_sandbox_free()", (int)daemon_pid);
    if (!gone && daemon_pid > 0) kill(daemon_pid, SIGKILL);
    sandlock_policy_free(p);
    cleanup_scratch();
}

static void cannot_hide_in_the_hosts_process_group(void) {
    char pgid[32];
    snprintf(pgid, sizeof pgid, "%d", (int)getpgrp());
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "join_group", pgid);
    CHECK(o.code == EPERM, "setpgid into the host's group: %d (want EPERM)", o.code);
    /* setpgid(host, 0) must not make the supervisor keep a group named
     * after the host: freeing the sandbox while it runs signals every kept
     * group, and this test leads its own group now. */
    setpgid(0, 0);
    char me[32];
    snprintf(me, sizeof me, "%d", (int)getpid());
    int pipefd[2];
    CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
    sandlock_spawn_opts opts = {sizeof opts, -1, pipefd[1], -1};
    const char *argv[] = {probe_path(), "lead_group", me, NULL};
    sandlock_sandbox *sb = NULL;
    CHECK(sandlock_spawn(p, argv, &opts, &sb) == 0, "spawn: %s", sandlock_policy_error(p));
    close(pipefd[1]);
    char out[32] = "";
    for (int i = 0; i < 300 && sb && out[0] == '\0'; i++) {
        sandlock_supervise_step(sb);
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        if (poll(&pfd, 1, 10) == 1) {
            ssize_t n = read(pipefd[0], out, sizeof out - 1);
            out[n > 0 ? n : 0] = '\0';
        }
    }
    CHECK(atoi(out) == ESRCH, "setpgid(host pid, 0): \"%s\" (want ESRCH)", out);
    sandlock_sandbox_free(sb); /* signals every kept group: not ours */
    close(pipefd[0]);
    CHECK(1, "still alive");
    sandlock_policy_free(p);
}

/* The job's first process sees exactly the children it made: the
 * library's helpers (watchdog, opener) are not among them, so wait()
 * with none of its own is ECHILD at once, as unsandboxed; also with
 * fs_deny and a private /proc. Python's os.wait() loop too. */
static void the_job_sees_only_its_own_children(void) {
    for (int variant = 0; variant < 3; variant++) {
        sandlock_policy *p = base_policy();
        if (variant == 1) sandlock_policy_fs_deny(p, "/etc/shadow");
        if (variant == 2) sandlock_policy_private_proc(p, 1);
        sandlock_policy_timeout_ms(p, 20000);
        struct outcome o = probe(p, "wait_no_child", "-");
        CHECK(o.spawn == 0 && o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0,
              "variant %d: wait() with no child: reason %d code %d sig %d: %s", variant, o.reason, o.code,
              o.sig, o.out);
        if (access("/usr/bin/python3", X_OK) == 0) {
            const char *py[] = {"/usr/bin/python3", "-c",
                                "import os, subprocess\n"
                                "subprocess.run(['/bin/true'])\n"
                                "n = 0\n"
                                "while True:\n"
                                "    try: os.wait(); n += 1\n"
                                "    except ChildProcessError: break\n"
                                "print('ECHILD after', n)\n",
                                NULL};
            o = run(p, py);
            CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0 && strstr(o.out, "ECHILD after 0"),
                  "variant %d: python's os.wait() loop: reason %d code %d: %s", variant, o.reason, o.code, o.out);
        }
        sandlock_policy_free(p);
    }
}

int main(void) {
    RUN(free_kills_a_setsid_daemon);
    RUN(cannot_hide_in_the_hosts_process_group);
    RUN(free_kills_what_the_main_process_left);
    RUN(many_sandboxes_in_one_poll_loop);
    RUN(no_thread_is_started);
    RUN(no_fd_or_zombie_left_after_free);
    RUN(timeout_kills_with_its_own_reason);
    RUN(kill_and_signals_are_reported);
    RUN(exited_waits_for_every_process);
    RUN(spawning_while_threads_allocate);
    RUN(the_job_sees_only_its_own_children);
    HARNESS_END();
}

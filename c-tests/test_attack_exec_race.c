/* Exec of an fs_deny'd binary through memory shared with another sandbox
 * (issue #14, class 13). The supervisor decides an exec on its path, read
 * while the sandbox is stopped, and the kernel reads the path again when
 * it runs the call; a second sandbox that shares the page holding the
 * path (a MAP_SHARED file in a tree both may write) is not stopped, and
 * flips one byte of it between an allowed and a denied program's name.
 * Nothing of the denied program may run: the new image is checked too,
 * stopped before its first instruction, and a denied one ends the sandbox.
 *
 * The job is this program re-executed with "job" first: "flip" (sandbox
 * B) flips the byte for a while; "exec" (sandbox A) execs the path from
 * the shared page over and over; the programs exec'd are copies of this
 * program named "a" (allowed) and "b" (denied), which print "ran X".
 * "unlink" (sandbox A again) unlinks the path from the shared page over
 * and over, remaking "a" each time: "b" must survive. */
#include "harness.h"
#include <sys/mman.h>

static char self[4096];

#define TRIES 400

static int job(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[2], "ran")) {
        printf("ran %s\n", strrchr(self, '/') + 1); /* what really runs */
        return 0;
    }
    if (argc < 4) return 2;
    const char *cmd = argv[2], *shared = argv[3];
    int fd = open(shared, O_RDWR);
    if (fd < 0) return 3;
    volatile char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED) return 4;
    size_t flip_at = strlen((const char *)page) - 1;
    if (!strcmp(cmd, "flip")) {
        long until = now_ms() + 8000;
        while (now_ms() < until && page[4095] == 0)
            for (int i = 0; i < 1000; i++) page[flip_at] = (char)(i & 1 ? 'b' : 'a');
        page[flip_at] = 'a';
        return 0;
    }
    if (!strcmp(cmd, "unlink")) {
        int removed = 0, refused = 0;
        char allowed[4096];
        snprintf(allowed, sizeof allowed, "%s", (const char *)page);
        allowed[flip_at] = 'a';
        for (int i = 0; i < 2000; i++) {
            int fd = open(allowed, O_WRONLY | O_CREAT, 0644);
            if (fd >= 0) close(fd);
            if (unlink((const char *)page) == 0) removed++;
            else if (errno == EACCES) refused++;
        }
        page[4095] = 1;
        printf("unlinks_made %d\nunlinks_refused %d\n", removed, refused);
        return 0;
    }
    if (!strcmp(cmd, "exec")) {
        int allowed = 0, refused = 0;
        for (int i = 0; i < TRIES; i++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                const char *args[] = {"prog", "job", "ran", NULL};
                execv((const char *)page, (char *const *)args);
                _exit(errno == EACCES ? 40 : 41);
            }
            int status;
            waitpid(pid, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) allowed++;
            else if (WIFEXITED(status) && WEXITSTATUS(status) == 40) refused++;
        }
        page[4095] = 1; /* tell the flipper to stop */
        printf("execs_allowed %d\nexecs_refused %d\n", allowed, refused);
        return 0;
    }
    return 2;
}

static void copy_self(const char *to) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", self, to);
    CHECK(system(cmd) == 0, "%s", cmd);
}

static sandlock_policy *job_policy(const char *denied) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    CHECK(sandlock_policy_fs_write(p, scratch) == 0, "fs_write");
    if (denied) CHECK(sandlock_policy_fs_deny(p, denied) == 0, "fs_deny: %s", sandlock_policy_error(p));
    CHECK(sandlock_policy_timeout_ms(p, 60000) == 0, "timeout");
    return p;
}

/* Runs the flipper (sandbox B) and `mode`'s job (sandbox A, with the
 * scratch tree's "b" denied) from one poll loop; A's output into out,
 * whether A ended killed into *killed. */
static void race(const char *mode, char *out, size_t size, int *killed) {
    char b[2048], shared[2048];
    snprintf(b, sizeof b, "%s/b", scratch);
    snprintf(shared, sizeof shared, "%s/shared", scratch);
    sandlock_policy *flipper_policy = job_policy(NULL);
    sandlock_policy *job_policy_a = job_policy(b);
    const char *flip_argv[] = {self, "job", "flip", shared, NULL};
    const char *job_argv[] = {self, "job", mode, shared, NULL};
    sandlock_sandbox *flipper = NULL, *job = NULL;
    int flip_out = -1, job_out = -1;
    CHECK(spawn_capturing(flipper_policy, flip_argv, &flipper, &flip_out) == 0, "spawn flipper: %s",
          sandlock_policy_error(flipper_policy));
    CHECK(spawn_capturing(job_policy_a, job_argv, &job, &job_out) == 0, "spawn %s: %s", mode,
          sandlock_policy_error(job_policy_a));
    size_t used = 0;
    int done[2] = {flipper == NULL, job == NULL};
    while (!done[0] || !done[1]) {
        struct pollfd fds[3] = {{.fd = done[0] ? -1 : sandlock_sandbox_fd(flipper), .events = POLLIN},
                                {.fd = done[1] ? -1 : sandlock_sandbox_fd(job), .events = POLLIN},
                                {.fd = job_out, .events = POLLIN}};
        poll(fds, 3, 100);
        drain_into(job_out, out, size, &used);
        sandlock_sandbox *boxes[2] = {flipper, job};
        for (int i = 0; i < 2; i++) {
            if (done[i]) continue;
            int r;
            while ((r = sandlock_supervise_step(boxes[i])) == SANDLOCK_STEP_MORE) {}
            if (r == SANDLOCK_STEP_EXITED || r < 0) done[i] = 1;
        }
    }
    drain_into(job_out, out, size, &used);
    out[used] = '\0';
    *killed = job && sandlock_sandbox_exit_reason(job) != SANDLOCK_EXIT_NORMAL;
    if (flipper) sandlock_sandbox_free(flipper);
    if (job) sandlock_sandbox_free(job);
    if (flip_out >= 0) close(flip_out);
    if (job_out >= 0) close(job_out);
    sandlock_policy_free(flipper_policy);
    sandlock_policy_free(job_policy_a);
}

/* The scratch tree: "a" and "b" (copies of this program) and the shared
 * page holding a's path. */
static void make_tree(void) {
    make_scratch();
    char a[2048], b[2048], shared[2048];
    snprintf(a, sizeof a, "%s/a", scratch);
    snprintf(b, sizeof b, "%s/b", scratch);
    snprintf(shared, sizeof shared, "%s/shared", scratch);
    copy_self(a);
    copy_self(b);
    char page[4096] = {0};
    snprintf(page, sizeof page, "%s", a);
    int fd = open(shared, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    CHECK(fd >= 0 && write(fd, page, sizeof page) == (ssize_t)sizeof page, "write shared");
    close(fd);
}

static void a_shared_page_cannot_swap_in_a_denied_program(void) {
    make_tree();
    static char out[1 << 16];
    int killed = 0;
    race("exec", out, sizeof out, &killed);
    printf("  %ld execs of the allowed program, %ld refused at the check; the race was %s\n",
           key_value(out, "execs_allowed"), key_value(out, "execs_refused"),
           killed ? "won at least once: the denied image was caught and the sandbox ended" : "never won");
    CHECK(strstr(out, "ran b") == NULL, "the denied program ran:\n%s", out);
    if (!killed) CHECK(key_value(out, "execs_allowed") > 0, "no exec ran at all:\n%s", out);
    cleanup_scratch();
}

static void a_shared_page_cannot_swap_in_a_denied_name(void) {
    make_tree();
    static char out[1 << 16];
    int killed = 0;
    race("unlink", out, sizeof out, &killed);
    printf("  %ld unlinks of the allowed name made, %ld refused\n", key_value(out, "unlinks_made"),
           key_value(out, "unlinks_refused"));
    char b[2048];
    snprintf(b, sizeof b, "%s/b", scratch);
    CHECK(access(b, F_OK) == 0, "the denied file was unlinked:\n%s", out);
    CHECK(!killed && key_value(out, "unlinks_made") > 0, "the job: killed %d\n%s", killed, out);
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job(argc, argv);
    RUN(a_shared_page_cannot_swap_in_a_denied_program);
    RUN(a_shared_page_cannot_swap_in_a_denied_name);
    HARNESS_END();
}

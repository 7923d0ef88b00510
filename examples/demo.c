/* make demo: a sandboxed shell reads an allowed file and is refused a
 * secret next to it and a private file carved out of its allowed tree,
 * supervised from a plain poll() loop; then the denial log. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sandlock.h>

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    fputs(text, f);
    fclose(f);
}

int main(void) {
    char dir[64] = "/tmp/sandlock-demo-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char shared[256], secret[256], private[320], script[2048];
    snprintf(shared, sizeof shared, "%s/shared", dir);
    mkdir(shared, 0755);
    snprintf(script, sizeof script, "%s/notes.txt", shared);
    write_file(script, "the job may read this\n");
    snprintf(private, sizeof private, "%s/private", shared);
    mkdir(private, 0755);
    snprintf(script, sizeof script, "%s/token.txt", private);
    write_file(script, "not this\n");
    snprintf(secret, sizeof secret, "%s/secret.key", dir);
    write_file(secret, "hunter2\n");

    sandlock_policy *p = sandlock_policy_new();
    const char *system_dirs[] = {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", NULL};
    for (int i = 0; system_dirs[i]; i++)
        if (access(system_dirs[i], F_OK) == 0) sandlock_policy_fs_read(p, system_dirs[i]);
    sandlock_policy_fs_write(p, "/dev/null");
    if (sandlock_policy_fs_read(p, shared) != 0 || sandlock_policy_fs_deny(p, private) != 0) {
        fprintf(stderr, "policy: %s\n", sandlock_policy_error(p));
        return 1;
    }
    sandlock_policy_env_clear(p);
    sandlock_policy_env_set(p, "PATH", "/usr/bin:/bin");

    snprintf(script, sizeof script,
             "echo '$ cat %s/notes.txt'; cat %s/notes.txt; "
             "echo '$ cat %s'; cat %s; "
             "echo '$ cat %s/private/../private/token.txt'; cat %s/private/../private/token.txt; "
             "echo '$ unshare -U true'; unshare -U true; "
             "exit 3",
             shared, shared, secret, secret, shared, shared);
    const char *argv[] = {"sh", "-c", script, NULL};
    printf("libsandlock %s: the job may read %s but not %s, and nothing else of %s\n\n",
           sandlock_version(), shared, private, dir);
    fflush(stdout);

    sandlock_sandbox *sb;
    if (sandlock_spawn(p, argv, NULL, &sb) != 0) {
        fprintf(stderr, "spawn: %s\n", sandlock_policy_error(p));
        return 1;
    }
    sandlock_policy_free(p);

    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    for (;;) {
        poll(&pfd, 1, sandlock_sandbox_timeout_ms(sb));
        int r;
        while ((r = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
        if (r == SANDLOCK_STEP_EXITED) break;
        if (r < 0) { fprintf(stderr, "step: %s\n", sandlock_sandbox_error(sb)); break; }
    }
    printf("\nsandbox exited: reason %d, code %d\n", sandlock_sandbox_exit_reason(sb),
           sandlock_sandbox_exit_code(sb));
    sandlock_event ev = {.size = sizeof ev};
    while (sandlock_sandbox_next_event(sb, &ev) == 1)
        printf("denied: pid %d %s %s (%s)\n", ev.pid, ev.syscall, ev.path, ev.detail);
    sandlock_sandbox_free(sb);

    snprintf(script, sizeof script, "rm -rf '%s'", dir);
    return system(script) == 0 ? 0 : 1;
}

/* A host for test_lifecycle: spawns one sandbox running the probe with the
 * given arguments, prints the sandbox's pid, then supervises it until it
 * is killed itself. */
#include <poll.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sandlock.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *probe = argv[1];
    sandlock_policy *p = sandlock_policy_new();
    const char *ro[] = {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", NULL};
    for (int i = 0; ro[i]; i++)
        if (access(ro[i], F_OK) == 0) sandlock_policy_fs_read(p, ro[i]);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", probe);
    *strrchr(dir, '/') = '\0';
    sandlock_policy_fs_read(p, dir);
    if (getenv("HELPER_WRITE_DIR")) sandlock_policy_fs_write(p, getenv("HELPER_WRITE_DIR"));
    const char **args = (const char **)&argv[1];
    sandlock_sandbox *sb;
    if (sandlock_spawn(p, args, NULL, &sb) != 0) {
        fprintf(stderr, "spawn: %s\n", sandlock_policy_error(p));
        return 1;
    }
    printf("%d\n", (int)sandlock_sandbox_pid(sb));
    fflush(stdout);
    struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
    for (;;) {
        poll(&pfd, 1, -1);
        while (sandlock_supervise_step(sb) == SANDLOCK_STEP_MORE) {}
    }
}

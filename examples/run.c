/* sandlock_run: two commands run to completion, output captured. The
 * first filters its stdin; the second is refused a file outside the
 * policy's trees. Exits 0 when both behave so. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sandlock.h>

int main(void) {
    sandlock_policy *p = sandlock_policy_new();
    const char *system_dirs[] = {"/usr", "/lib", "/lib64", "/bin"};
    for (size_t i = 0; i < sizeof system_dirs / sizeof *system_dirs; i++)
        if (access(system_dirs[i], F_OK) == 0) sandlock_policy_fs_read(p, system_dirs[i]);
    sandlock_policy_timeout_ms(p, 10000);

    /* 1. stdin in, stdout out. */
    const char *upper[] = {"tr", "a-z", "A-Z", NULL};
    const char *text = "hello, sandbox\n";
    sandlock_run_result r;
    int rc = sandlock_run(p, upper, (const uint8_t *)text, strlen(text), 5000, &r);
    if (rc != 0) {
        fprintf(stderr, "run: %s\n", sandlock_policy_error(p));
        return 1;
    }
    printf("tr said: %s", (const char *)r.stdout_data);
    int ok = r.exit_reason == SANDLOCK_EXIT_NORMAL && !strcmp((const char *)r.stdout_data, "HELLO, SANDBOX\n");
    sandlock_run_result_free(&r);

    /* 2. A file of ours, outside the policy: Landlock refuses it. */
    char secret[] = "/tmp/sandlock-run-example-XXXXXX";
    int fd = mkstemp(secret);
    if (fd < 0 || write(fd, "secret\n", 7) != 7) return 1;
    close(fd);
    const char *peek[] = {"cat", secret, NULL};
    rc = sandlock_run(p, peek, NULL, 0, 5000, &r);
    unlink(secret);
    if (rc != 0) {
        fprintf(stderr, "run: %s\n", sandlock_policy_error(p));
        return 1;
    }
    printf("cat exited %d, stderr: %s", r.exit_code, (const char *)r.stderr_data);
    ok = ok && r.exit_code != 0 && strstr((const char *)r.stderr_data, "Permission denied") && r.stdout_len == 0;
    sandlock_run_result_free(&r);

    sandlock_policy_free(p);
    printf("%s\n", ok ? "as expected" : "UNEXPECTED");
    return ok ? 0 : 1;
}

/* Bad input gets -EINVAL (or the fitting errno) and a message naming it;
 * nothing crashes. */
#include "harness.h"

#define EXPECT_ERR(call, err, p, needle)                                              \
    do {                                                                              \
        int r_ = (call);                                                              \
        CHECK(r_ == -(err), "%s returned %d, want %d", #call, r_, -(err));            \
        CHECK(strstr(sandlock_policy_error(p), needle) != NULL,                       \
              "%s: message \"%s\" lacks \"%s\"", #call, sandlock_policy_error(p), needle); \
    } while (0)

static void null_handles_and_strings(void) {
    CHECK(sandlock_policy_fs_read(NULL, "/usr") == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_fs_write(NULL, "/usr") == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_syscall_deny(NULL, "ptrace") == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_max_open_files(NULL, 1) == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_timeout_ms(NULL, 1) == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_env_clear(NULL) == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_env_set(NULL, "A", "B") == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_cwd(NULL, "/") == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_net_allow(NULL, "*") == -EINVAL, "NULL policy");
    CHECK(strlen(sandlock_policy_error(NULL)) > 0, "NULL policy has a message");
    sandlock_policy_free(NULL);

    sandlock_policy *p = sandlock_policy_new();
    CHECK(strcmp(sandlock_policy_error(p), "") == 0, "fresh policy has no error");
    EXPECT_ERR(sandlock_policy_fs_read(p, NULL), EINVAL, p, "fs_read");
    EXPECT_ERR(sandlock_policy_fs_write(p, NULL), EINVAL, p, "fs_write");
    EXPECT_ERR(sandlock_policy_syscall_deny(p, NULL), EINVAL, p, "syscall_deny");
    EXPECT_ERR(sandlock_policy_env_set(p, NULL, "x"), EINVAL, p, "env_set");
    EXPECT_ERR(sandlock_policy_env_set(p, "X", NULL), EINVAL, p, "env_set");
    EXPECT_ERR(sandlock_policy_cwd(p, NULL), EINVAL, p, "cwd");
    CHECK(sandlock_policy_fs_read(p, "/usr") == 0, "a good call");
    CHECK(strcmp(sandlock_policy_error(p), "") == 0, "a good call clears the message");
    sandlock_policy_free(p);

    CHECK(sandlock_sandbox_fd(NULL) == -EINVAL, "NULL sandbox");
    CHECK(sandlock_sandbox_pid(NULL) == -EINVAL, "NULL sandbox");
    CHECK(sandlock_supervise_step(NULL) == -EINVAL, "NULL sandbox");
    CHECK(sandlock_sandbox_kill(NULL, SIGKILL) == -EINVAL, "NULL sandbox");
    CHECK(sandlock_sandbox_wait(NULL) == -EINVAL, "NULL sandbox");
    CHECK(sandlock_sandbox_exit_reason(NULL) == -EINVAL, "NULL sandbox");
    CHECK(strlen(sandlock_sandbox_error(NULL)) > 0, "NULL sandbox has a message");
    sandlock_sandbox_free(NULL);
    CHECK(strlen(sandlock_version()) > 0, "version");
}

static void malformed_values(void) {
    sandlock_policy *p = sandlock_policy_new();
    EXPECT_ERR(sandlock_policy_syscall_deny(p, "no_such_call"), EINVAL, p, "\"no_such_call\"");
    EXPECT_ERR(sandlock_policy_syscall_deny(p, ""), EINVAL, p, "syscall_deny");
    EXPECT_ERR(sandlock_policy_syscall_deny(p, "ptr\xff\xfe"), EINVAL, p, "UTF-8");
    EXPECT_ERR(sandlock_policy_fs_read(p, "/no/such/path"), ENOENT, p, "\"/no/such/path\"");
    EXPECT_ERR(sandlock_policy_fs_write(p, ""), EINVAL, p, "fs_write");
    EXPECT_ERR(sandlock_policy_cwd(p, "/etc/hostname"), ENOTDIR, p, "cwd");
    EXPECT_ERR(sandlock_policy_env_set(p, "A=B", "x"), EINVAL, p, "A=B");
    EXPECT_ERR(sandlock_policy_env_set(p, "", "x"), EINVAL, p, "env_set");
    size_t huge = 200 * 1024;
    char *big = malloc(huge + 1);
    memset(big, 'a', huge);
    big[0] = '/';
    big[huge] = '\0';
    EXPECT_ERR(sandlock_policy_fs_read(p, big), EINVAL, p, "limit");
    EXPECT_ERR(sandlock_policy_syscall_deny(p, big), EINVAL, p, "limit");
    free(big);
    EXPECT_ERR(sandlock_policy_net_allow(p, "10.0.0.0/33:80"), EINVAL, p,
               "net_allow: \"10.0.0.0/33:80\": prefix length 33 is over 32");
    EXPECT_ERR(sandlock_policy_net_allow(p, "host:70000"), EINVAL, p, "\"host:70000\"");
    EXPECT_ERR(sandlock_policy_net_allow(p, "host:80,*"), EINVAL, p, "\"host:80,*\"");
    EXPECT_ERR(sandlock_policy_net_allow(p, "icmp://x:80"), EINVAL, p, "\"icmp://x:80\"");
    EXPECT_ERR(sandlock_policy_net_allow(p, ""), EINVAL, p, "net_allow");
    EXPECT_ERR(sandlock_policy_net_allow(p, "example.org:443 junk"), EINVAL, p, "example.org:443 junk");
    EXPECT_ERR(sandlock_policy_net_allow(p, NULL), EINVAL, p, "net_allow");
    EXPECT_ERR(sandlock_policy_net_bind(p, "80,*"), EINVAL, p, "net_bind");
    EXPECT_ERR(sandlock_policy_net_bind(p, "0"), EINVAL, p, "net_bind");
    EXPECT_ERR(sandlock_policy_net_deny(p, "example.org"), EINVAL, p, "net_deny");
    CHECK(sandlock_policy_net_allow(p, "127.0.0.1:80") == 0, "a good rule: %s", sandlock_policy_error(p));
    EXPECT_ERR(sandlock_policy_net_deny(p, "10.0.0.0/8"), EINVAL, p, "cannot be combined");
    char *long_spec = malloc(3000);
    memset(long_spec, 'a', 2999);
    long_spec[2999] = '\0';
    EXPECT_ERR(sandlock_policy_net_allow(p, long_spec), EINVAL, p, "net_allow");
    free(long_spec);
    EXPECT_ERR(sandlock_policy_max_cpu(p, 0), EINVAL, p, "max_cpu");
    EXPECT_ERR(sandlock_policy_max_cpu(p, 250), EINVAL, p, "250");
    CHECK(sandlock_policy_max_processes(NULL, 4) == -EINVAL, "NULL policy");
    sandlock_policy_free(p);
}

static void bad_spawn_arguments(void) {
    sandlock_policy *p = base_policy();
    sandlock_sandbox *sb = NULL;
    const char *argv[] = {probe_path(), "exit", "0", NULL};
    const char *empty[] = {NULL};
    const char *blank[] = {"", NULL};
    CHECK(sandlock_spawn(NULL, argv, NULL, &sb) == -EINVAL, "NULL policy");
    EXPECT_ERR(sandlock_spawn(p, NULL, NULL, &sb), EINVAL, p, "argv");
    EXPECT_ERR(sandlock_spawn(p, empty, NULL, &sb), EINVAL, p, "argv");
    EXPECT_ERR(sandlock_spawn(p, blank, NULL, &sb), EINVAL, p, "argv[0]");
    EXPECT_ERR(sandlock_spawn(p, argv, NULL, NULL), EINVAL, p, "out");
    sandlock_spawn_opts small = {4, -1, -1, -1};
    EXPECT_ERR(sandlock_spawn(p, argv, &small, &sb), EINVAL, p, "size");
    sandlock_spawn_opts badfd = {sizeof badfd, -1, 987, -1};
    EXPECT_ERR(sandlock_spawn(p, argv, &badfd, &sb), EBADF, p, "stdout_fd");
    CHECK(sb == NULL, "no sandbox came out of a failed spawn");

    CHECK(sandlock_spawn(p, argv, NULL, &sb) == 0, "a good spawn: %s", sandlock_policy_error(p));
    CHECK(sandlock_sandbox_kill(sb, 0) == -EINVAL, "signal 0");
    CHECK(sandlock_sandbox_kill(sb, 999) == -EINVAL, "signal 999");
    CHECK(strstr(sandlock_sandbox_error(sb), "999") != NULL, "message: %s", sandlock_sandbox_error(sb));
    CHECK(sandlock_sandbox_wait(sb) == 0, "wait");
    CHECK(sandlock_sandbox_exit_code(sb) == 0, "exit code");
    sandlock_sandbox_free(sb);
    sandlock_policy_free(p);
}

static void a_policy_outlives_nothing_it_spawned(void) {
    sandlock_policy *p = base_policy();
    sandlock_sandbox *sb = NULL;
    const char *argv[] = {probe_path(), "exit", "9", NULL};
    CHECK(sandlock_spawn(p, argv, NULL, &sb) == 0, "spawn");
    sandlock_policy_free(p); /* allowed right after spawn */
    CHECK(sandlock_sandbox_wait(sb) == 0, "wait");
    CHECK(sandlock_sandbox_exit_code(sb) == 9, "exit code %d", sandlock_sandbox_exit_code(sb));
    sandlock_sandbox_free(sb);
}

int main(void) {
    RUN(null_handles_and_strings);
    RUN(malformed_values);
    RUN(bad_spawn_arguments);
    RUN(a_policy_outlives_nothing_it_spawned);
    HARNESS_END();
}

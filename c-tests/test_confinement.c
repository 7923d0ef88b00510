/* Filesystem, exec, environment, privileges and what the child inherits:
 * each test runs the probe in a real sandbox and checks what it could do. */
#include "harness.h"
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

static void read_allowed_and_outside_denied(void) {
    char secret[300], public_dir[300], public_file[330];
    snprintf(secret, sizeof secret, "%s/secret.txt", scratch);
    snprintf(public_dir, sizeof public_dir, "%s/public", scratch);
    snprintf(public_file, sizeof public_file, "%s/hello.txt", public_dir);
    mkdir(public_dir, 0755);
    FILE *f = fopen(secret, "w"); fputs("top secret\n", f); fclose(f);
    f = fopen(public_file, "w"); fputs("hello\n", f); fclose(f);

    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_read(p, public_dir) == 0, "%s", sandlock_policy_error(p));
    struct outcome o = probe(p, "read", public_file);
    CHECK(o.spawn == 0 && o.code == 0, "spawn %d code %d", o.spawn, o.code);
    CHECK(strcmp(o.out, "hello\n") == 0, "read back \"%s\"", o.out);
    o = probe(p, "read", secret);
    CHECK(o.code == EACCES, "reading outside fs_read: code %d (want EACCES)", o.code);
    CHECK(strstr(o.out, "secret") == NULL, "secret leaked: %s", o.out);
    o = probe(p, "read", "/etc/shadow");
    CHECK(o.code == EACCES, "reading /etc/shadow: code %d", o.code);
    sandlock_policy_free(p);
}

static void write_allowed_and_read_only_denied(void) {
    char rw[300], ro[300], rw_file[330], ro_file[330];
    snprintf(rw, sizeof rw, "%s/rw", scratch);
    snprintf(ro, sizeof ro, "%s/ro", scratch);
    snprintf(rw_file, sizeof rw_file, "%s/out.txt", rw);
    snprintf(ro_file, sizeof ro_file, "%s/out.txt", ro);
    mkdir(rw, 0755);
    mkdir(ro, 0755);
    FILE *f = fopen(ro_file, "w"); fputs("original\n", f); fclose(f);

    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_write(p, rw) == 0, "%s", sandlock_policy_error(p));
    CHECK(sandlock_policy_fs_read(p, ro) == 0, "%s", sandlock_policy_error(p));
    struct outcome o = probe(p, "write", rw_file);
    CHECK(o.code == 0, "writing in fs_write: code %d", o.code);
    struct stat st;
    CHECK(stat(rw_file, &st) == 0 && st.st_size == 8, "file not written");
    o = probe(p, "write", ro_file);
    CHECK(o.code == EACCES, "writing in fs_read: code %d (want EACCES)", o.code);
    o = probe(p, "read", ro_file);
    CHECK(o.code == 0 && strcmp(o.out, "original\n") == 0, "read-only file changed: %s", o.out);
    sandlock_policy_free(p);
}

static void exec_outside_allowed_denied(void) {
    char bin_dir[300], copy[330], cmd[800];
    snprintf(bin_dir, sizeof bin_dir, "%s/bin", scratch);
    snprintf(copy, sizeof copy, "%s/probe-copy", bin_dir);
    mkdir(bin_dir, 0755);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", probe_path(), copy);
    CHECK(system(cmd) == 0, "cp failed");

    sandlock_policy *p = base_policy();
    /* exec'ing a copy of the probe outside fs_read fails... */
    struct outcome o = probe(p, "exec", copy);
    CHECK(o.code == EACCES, "exec outside fs_read: code %d (want EACCES)", o.code);
    /* ...and so does spawning it directly. */
    const char *argv[] = {copy, "exit", "0", NULL};
    o = run(p, argv);
    CHECK(o.spawn == -EACCES, "spawn of a denied program: %d", o.spawn);
    CHECK(strstr(sandlock_policy_error(p), "execve") != NULL, "message: %s", sandlock_policy_error(p));
    /* the original, inside fs_read, runs. */
    o = probe(p, "exec", probe_path());
    CHECK(o.code == 0, "exec inside fs_read: code %d", o.code);
    sandlock_policy_free(p);
}

static void exec_errors_come_back_from_spawn(void) {
    sandlock_policy *p = base_policy();
    const char *nope[] = {"/nope", NULL};
    sandlock_sandbox *sb = NULL;
    int r = sandlock_spawn(p, nope, NULL, &sb);
    CHECK(r == -ENOENT, "spawn /nope: %d", r);
    CHECK(sb == NULL, "no sandbox on failure");
    CHECK(strcmp(sandlock_policy_error(p), "execve \"/nope\": No such file or directory") == 0,
          "message: %s", sandlock_policy_error(p));
    const char *not_in_path[] = {"sandlock-no-such-program", NULL};
    r = sandlock_spawn(p, not_in_path, NULL, &sb);
    CHECK(r == -ENOENT, "spawn of a name not in PATH: %d", r);
    CHECK(strstr(sandlock_policy_error(p), "sandlock-no-such-program") != NULL, "message: %s",
          sandlock_policy_error(p));
    /* a directory is not executable */
    const char *dir[] = {"/usr", NULL};
    r = sandlock_spawn(p, dir, NULL, &sb);
    CHECK(r == -EACCES, "spawn of a directory: %d (%s)", r, sandlock_policy_error(p));
    sandlock_policy_free(p);
}

static void path_search_uses_the_sandbox_environment(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_env_set(p, "PATH", probe_dir()) == 0, "env_set");
    const char *argv[] = {"probe", "exit", "7", NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 7, "spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    sandlock_policy_free(p);
}

static void environment_is_what_the_policy_says(void) {
    setenv("SANDLOCK_HOST_SECRET", "hunter2", 1);
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "env", "");
    CHECK(strstr(o.out, "SANDLOCK_HOST_SECRET=hunter2") != NULL, "default inherits the host's");
    CHECK(sandlock_policy_env_clear(p) == 0, "env_clear");
    CHECK(sandlock_policy_env_set(p, "GREETING", "hi there") == 0, "env_set");
    o = probe(p, "env", "");
    CHECK(strcmp(o.out, "GREETING=hi there\n") == 0, "environment after clear: \"%s\"", o.out);
    sandlock_policy_free(p);
    unsetenv("SANDLOCK_HOST_SECRET");
}

static void cwd_is_set(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_read(p, scratch) == 0, "fs_read");
    CHECK(sandlock_policy_cwd(p, scratch) == 0, "cwd: %s", sandlock_policy_error(p));
    struct outcome o = probe(p, "cwd", "");
    char want[300];
    snprintf(want, sizeof want, "%s\n", scratch);
    CHECK(o.code == 0 && strcmp(o.out, want) == 0, "cwd \"%s\"", o.out);
    sandlock_policy_free(p);
}

static void root_inside_is_powerless(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_read(p, "/proc") == 0, "fs_read /proc");
    struct outcome o = probe(p, "caps", "");
    CHECK(o.code == 0, "capability sets not all empty:\n%s", o.out);
    CHECK(strstr(o.out, "NoNewPrivs:\t1") != NULL, "no_new_privs not set:\n%s", o.out);
    sandlock_policy_free(p);
}

/* A set-user-ID copy of the probe, owned by nobody: outside the sandbox it
 * runs as uid 65534, inside it must not (no_new_privs). */
static void setuid_programs_gain_nothing(void) {
    if (geteuid() != 0) { printf("   (skipped: needs root to make a set-user-ID file)\n"); return; }
    char dir[300], copy[330], cmd[2048];
    snprintf(dir, sizeof dir, "%s/suid", scratch);
    snprintf(copy, sizeof copy, "%s/probe-suid", dir);
    mkdir(dir, 0755);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chown 65534:65534 '%s' && chmod 4755 '%s'",
             probe_path(), copy, copy, copy);
    CHECK(system(cmd) == 0, "making the set-user-ID copy failed");
    char outside[32] = "";
    snprintf(cmd, sizeof cmd, "'%s' euid", copy);
    FILE *f = popen(cmd, "r");
    if (f) { if (!fgets(outside, sizeof outside, f)) outside[0] = 0; pclose(f); }
    if (strcmp(outside, "65534\n") != 0) {
        printf("   (skipped: %s ignores set-user-ID bits: euid outside was %s)\n", dir, outside);
        return;
    }
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_read(p, dir) == 0, "fs_read");
    const char *argv[] = {copy, "euid", NULL};
    struct outcome o = run(p, argv);
    CHECK(o.code == 0 && strcmp(o.out, "0\n") == 0, "euid inside: %s (want 0, unchanged)", o.out);
    sandlock_policy_free(p);
}

static void only_stdio_is_inherited(void) {
    int leaked = open("/dev/null", O_RDONLY); /* not close-on-exec */
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_read(p, "/proc") == 0, "fs_read /proc");
    struct outcome o = probe(p, "fds", "");
    CHECK(o.code == 0 && strcmp(o.out, "3\n") == 0, "child sees %s fds (want 3)", o.out);
    sandlock_policy_free(p);
    close(leaked);
}

static void signals_reset_and_unblocked(void) {
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "sigmask", "");
    CHECK(o.code == 0, "the child inherited the host's signal mask or SIGPIPE ignore");
    sandlock_policy_free(p);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    signal(SIGPIPE, SIG_DFL);
}

static void cannot_signal_the_host(void) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "kill", pid);
    CHECK(o.code == EPERM, "kill(host, 0): code %d (want EPERM)", o.code);
    sandlock_policy_free(p);
}

static void cannot_reach_host_abstract_sockets(void) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char *name = "sandlock-test-abstract";
    memcpy(a.sun_path + 1, name, strlen(name));
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
    CHECK(bind(s, (struct sockaddr *)&a, len) == 0 && listen(s, 1) == 0, "host listen");
    sandlock_policy *p = base_policy();
    struct outcome o = probe(p, "abstract", name);
    CHECK(o.code == EPERM, "connect to the host's abstract socket: code %d (want EPERM)", o.code);
    sandlock_policy_free(p);
    close(s);
}

static void max_open_files_is_applied_and_capped(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_max_open_files(p, 64) == 0, "max_open_files");
    struct outcome o = probe(p, "nofile", "");
    CHECK(strcmp(o.out, "64 64\n") == 0, "RLIMIT_NOFILE inside: %s", o.out);
    struct rlimit host;
    getrlimit(RLIMIT_NOFILE, &host);
    CHECK(sandlock_policy_max_open_files(p, 0xffffffffu) == 0, "max_open_files");
    o = probe(p, "nofile", "");
    char want[64];
    snprintf(want, sizeof want, "%llu %llu\n", (unsigned long long)host.rlim_cur, (unsigned long long)host.rlim_cur);
    CHECK(strcmp(o.out, want) == 0, "never above the host's: %s (host %s)", o.out, want);
    sandlock_policy_free(p);
}

int main(void) {
    make_scratch();
    RUN(read_allowed_and_outside_denied);
    RUN(write_allowed_and_read_only_denied);
    RUN(exec_outside_allowed_denied);
    RUN(exec_errors_come_back_from_spawn);
    RUN(path_search_uses_the_sandbox_environment);
    RUN(environment_is_what_the_policy_says);
    RUN(cwd_is_set);
    RUN(root_inside_is_powerless);
    RUN(setuid_programs_gain_nothing);
    RUN(only_stdio_is_inherited);
    RUN(signals_reset_and_unblocked);
    RUN(cannot_signal_the_host);
    RUN(cannot_reach_host_abstract_sockets);
    RUN(max_open_files_is_applied_and_capped);
    cleanup_scratch();
    HARNESS_END();
}

/* The machine a sandbox sees (issue #7, the parts done): the host name
 * uname() reports, the CPUs it may run on, and no address randomization.
 * Each compared with the same probe without the option. */
#include "harness.h"
#include <sched.h>

static void run_machine(sandlock_policy *p, char *out, size_t size) {
    const char *argv[] = {probe_path(), "machine", NULL};
    int code = run_capturing(p, argv, out, size);
    CHECK(code == 0, "machine: code %d", code);
}

static void the_host_name_is_the_policys(void) {
    char out[2048], name[128];
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_hostname(p, "sandbox-7f3a");
    CHECK(r == 0, "hostname: %d %s", r, sandlock_policy_error(p));
    run_machine(p, out, sizeof out);
    text_of(out, "nodename", name, sizeof name);
    CHECK(!strcmp(name, "sandbox-7f3a"), "uname nodename \"%s\"", name);
    /* A program of the system too. */
    const char *argv[] = {"/bin/uname", "-n", NULL};
    run_capturing(p, argv, out, sizeof out);
    CHECK(!strcmp(out, "sandbox-7f3a\n"), "uname -n: \"%s\"", out);
    sandlock_policy_free(p);
    p = base_policy();
    run_machine(p, out, sizeof out);
    text_of(out, "nodename", name, sizeof name);
    CHECK(strcmp(name, "sandbox-7f3a") && name[0], "without the option: \"%s\"", name);
    sandlock_policy_free(p);
}

/* The files that say the host name and the CPUs agree with the policy:
 * virtual files of the supervisor's, read here by system programs. */
static void the_files_agree(void) {
    char out[4096];
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_hostname(p, "sandbox-7f3a");
    CHECK(r == 0, "hostname: %d %s", r, sandlock_policy_error(p));
    r = sandlock_policy_num_cpus(p, 1);
    CHECK(r == 0, "num_cpus: %d %s", r, sandlock_policy_error(p));
    const char *host1[] = {"/bin/cat", "/etc/hostname", NULL};
    run_capturing(p, host1, out, sizeof out);
    CHECK(!strcmp(out, "sandbox-7f3a\n"), "/etc/hostname: \"%s\"", out);
    const char *host2[] = {"/bin/cat", "/proc/sys/kernel/hostname", NULL};
    run_capturing(p, host2, out, sizeof out);
    CHECK(!strcmp(out, "sandbox-7f3a\n"), "/proc/sys/kernel/hostname: \"%s\"", out);
    const char *online[] = {"/bin/cat", "/sys/devices/system/cpu/online", NULL};
    run_capturing(p, online, out, sizeof out);
    CHECK(!strcmp(out, "0\n"), "cpu/online: \"%s\"", out);
    const char *cpuinfo[] = {"/bin/grep", "-c", "^processor", "/proc/cpuinfo", NULL};
    run_capturing(p, cpuinfo, out, sizeof out);
    CHECK(!strcmp(out, "1\n"), "processors in /proc/cpuinfo: \"%s\"", out);
    /* Written to: refused, the real file untouched. */
    const char *write[] = {"/bin/sh", "-c", "echo x > /etc/hostname; echo $?", NULL};
    run_capturing(p, write, out, sizeof out);
    CHECK(strcmp(out, "0\n") != 0, "writing /etc/hostname: \"%s\"", out);
    sandlock_policy_free(p);
}

static void the_cpus_are_limited(void) {
    char out[2048];
    cpu_set_t host;
    sched_getaffinity(0, sizeof host, &host);
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_num_cpus(p, 1);
    CHECK(r == 0, "num_cpus: %d %s", r, sandlock_policy_error(p));
    run_machine(p, out, sizeof out);
    CHECK(key_value(out, "cpus") == 1, "affinity %ld CPUs (want 1)", key_value(out, "cpus"));
    const char *argv[] = {"/usr/bin/nproc", NULL};
    if (access(argv[0], X_OK) == 0) {
        run_capturing(p, argv, out, sizeof out);
        CHECK(!strcmp(out, "1\n"), "nproc: \"%s\"", out);
    }
    sandlock_policy_free(p);
    p = base_policy();
    run_machine(p, out, sizeof out);
    CHECK(key_value(out, "cpus") == CPU_COUNT(&host), "without the option: %ld CPUs (host %d)",
          key_value(out, "cpus"), CPU_COUNT(&host));
    sandlock_policy_free(p);
}

static void addresses_are_stable_without_aslr(void) {
    char a[2048], b[2048], c[2048], d[2048];
    sandlock_policy *p = base_policy();
    int r = sandlock_policy_no_aslr(p, 1);
    CHECK(r == 0, "no_aslr: %d %s", r, sandlock_policy_error(p));
    run_machine(p, a, sizeof a);
    run_machine(p, b, sizeof b);
    const char *keys[] = {"stack", "heap", "mmap", NULL};
    char x[64], y[64];
    for (int i = 0; keys[i]; i++) {
        text_of(a, keys[i], x, sizeof x);
        text_of(b, keys[i], y, sizeof y);
        CHECK(x[0] && !strcmp(x, y), "%s: %s then %s", keys[i], x, y);
    }
    sandlock_policy_free(p);
    /* With randomization (the machine's default) they differ. */
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    int level = f && fscanf(f, "%d", &level) == 1 ? level : 0;
    if (f) fclose(f);
    if (level > 0) {
        p = base_policy();
        run_machine(p, c, sizeof c);
        run_machine(p, d, sizeof d);
        text_of(c, "stack", x, sizeof x);
        text_of(d, "stack", y, sizeof y);
        CHECK(strcmp(x, y), "with ASLR the stack was at %s twice", x);
        sandlock_policy_free(p);
    }
}

/* The same seed, the same bytes; another seed or none, others. */
static void randomness_follows_the_seed(void) {
    char a[512], b[512], c[512], d[512], e[512];
    const char *argv[] = {probe_path(), "random", NULL};
    sandlock_policy *p42 = base_policy(), *p43 = base_policy(), *none = base_policy();
    CHECK(sandlock_policy_random_seed(p42, 42) == 0, "random_seed: %s", sandlock_policy_error(p42));
    CHECK(sandlock_policy_random_seed(p43, 43) == 0, "random_seed: %s", sandlock_policy_error(p43));
    /* Without a seed the real device is read: it must be granted. */
    CHECK(sandlock_policy_fs_read(none, "/dev/urandom") == 0, "fs_read: %s", sandlock_policy_error(none));
    CHECK(run_capturing(p42, argv, a, sizeof a) == 0, "random: %s", a);
    run_capturing(p42, argv, b, sizeof b);
    run_capturing(p43, argv, c, sizeof c);
    run_capturing(none, argv, d, sizeof d);
    run_capturing(none, argv, e, sizeof e);
    CHECK(strstr(a, "getrandom ") && strstr(a, "urandom "), "output: \"%s\"", a);
    CHECK(!strcmp(a, b), "seed 42 twice:\n%s\n%s", a, b);
    CHECK(strcmp(a, c), "seeds 42 and 43 gave the same bytes:\n%s", a);
    CHECK(d[0] && strcmp(d, e) && strcmp(a, d), "without a seed:\n%s\n%s", d, e);
    sandlock_policy_free(p42);
    sandlock_policy_free(p43);
    sandlock_policy_free(none);
}

static void bad_inputs(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_hostname(p, "") == -EINVAL, "empty hostname");
    CHECK(sandlock_policy_hostname(p, NULL) == -EINVAL, "NULL hostname");
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(sandlock_policy_hostname(p, longname) == -EINVAL, "a 99-byte hostname");
    CHECK(strstr(sandlock_policy_error(p), "hostname") != NULL, "message: %s", sandlock_policy_error(p));
    CHECK(sandlock_policy_num_cpus(p, 5000) == -EINVAL, "5000 CPUs");
    CHECK(sandlock_policy_num_cpus(NULL, 1) == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_no_aslr(NULL, 1) == -EINVAL, "NULL policy");
    CHECK(sandlock_policy_random_seed(NULL, 1) == -EINVAL, "NULL policy");
    sandlock_policy_free(p);
}

int main(void) {
    RUN(the_host_name_is_the_policys);
    RUN(the_cpus_are_limited);
    RUN(the_files_agree);
    RUN(addresses_are_stable_without_aslr);
    RUN(randomness_follows_the_seed);
    RUN(bad_inputs);
    HARNESS_END();
}

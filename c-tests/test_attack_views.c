/* The virtualized views (issue #14, class 10): a private /proc must not
 * tell which pids exist outside the sandbox by any call that names a
 * path, and the virtual files (/proc/cpuinfo, /etc/hostname, ...) must be
 * what any spelling of their path reaches, not only the exact one. The
 * job is this program re-executed in the sandbox with "job" first. */
#include "harness.h"
#include <sys/inotify.h>
#include <sys/statfs.h>

static char self[4096];

static int job_errno(long r) { return r < 0 ? errno : 0; }

static int count_in(const char *path, int dirfd, const char *word) {
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) return -errno;
    char text[65536];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    int count = 0;
    for (char *at = text; (at = strstr(at, word)); at += strlen(word)) count++;
    return count;
}

static int job(const char *cmd, const char *scratch_dir) {
    if (!strcmp(cmd, "oracle")) {
        /* pid 1 exists, outside; a pid that cannot exist: same answers */
        const char *paths[] = {"/proc/1", "/proc/2147483646"};
        const char *labels[] = {"outside", "missing"};
        for (int i = 0; i < 2; i++) {
            struct statfs sf;
            printf("%s_chdir %d\n", labels[i], job_errno(chdir(paths[i])));
            printf("%s_statfs %d\n", labels[i], job_errno(statfs(paths[i], &sf)));
            int in = inotify_init1(IN_CLOEXEC);
            printf("%s_inotify %d\n", labels[i], job_errno(inotify_add_watch(in, paths[i], IN_ALL_EVENTS)));
            close(in);
            struct stat st;
            printf("%s_stat %d\n", labels[i], job_errno(stat(paths[i], &st)));
        }
        return 0;
    }
    if (!strcmp(cmd, "spellings")) {
        char link[2048];
        snprintf(link, sizeof link, "%s/cpuinfo-link", scratch_dir);
        if (symlink("/proc/cpuinfo", link) != 0) return 3;
        printf("exact %d\n", count_in("/proc/cpuinfo", AT_FDCWD, "processor\t"));
        printf("dot %d\n", count_in("/proc/./cpuinfo", AT_FDCWD, "processor\t"));
        printf("slashes %d\n", count_in("//proc//cpuinfo", AT_FDCWD, "processor\t"));
        printf("dotdot %d\n", count_in("/proc/sys/../cpuinfo", AT_FDCWD, "processor\t"));
        printf("symlink %d\n", count_in(link, AT_FDCWD, "processor\t"));
        int proc = open("/proc", O_RDONLY | O_DIRECTORY);
        printf("dirfd %d\n", count_in("cpuinfo", proc, "processor\t"));
        close(proc);
        if (chdir("/proc") != 0) return 4;
        printf("relative %d\n", count_in("cpuinfo", AT_FDCWD, "processor\t"));
        printf("hostname %d\n", count_in("/etc//hostname", AT_FDCWD, "viewbox"));
        printf("hostname_sys %d\n", count_in("sys/kernel/hostname", AT_FDCWD, "viewbox"));
        return 0;
    }
    return 2;
}

static sandlock_policy *job_policy(void) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    sandlock_policy_fs_read(p, "/etc");
    return p;
}

static void a_private_proc_tells_no_outside_pid(void) {
    sandlock_policy *p = job_policy();
    CHECK(sandlock_policy_private_proc(p, 1) == 0, "%s", sandlock_policy_error(p));
    const char *argv[] = {self, "job", "oracle", "-", NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    const char *calls[] = {"chdir", "statfs", "inotify", "stat", NULL};
    for (int i = 0; calls[i]; i++) {
        char outside[64], missing[64];
        snprintf(outside, sizeof outside, "outside_%s", calls[i]);
        snprintf(missing, sizeof missing, "missing_%s", calls[i]);
        CHECK(key_value(o.out, missing) == ENOENT, "%s: %ld", missing, key_value(o.out, missing));
        CHECK(key_value(o.out, outside) == key_value(o.out, missing), "%s: %ld where a missing pid gives %ld",
              outside, key_value(o.out, outside), key_value(o.out, missing));
    }
    sandlock_policy_free(p);
}

static void every_spelling_reaches_the_virtual_file(void) {
    make_scratch();
    sandlock_policy *p = job_policy();
    CHECK(sandlock_policy_num_cpus(p, 1) == 0, "%s", sandlock_policy_error(p));
    CHECK(sandlock_policy_hostname(p, "viewbox") == 0, "%s", sandlock_policy_error(p));
    CHECK(sandlock_policy_fs_write(p, scratch) == 0, "%s", sandlock_policy_error(p));
    const char *argv[] = {self, "job", "spellings", scratch, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    const char *spellings[] = {"exact", "dot", "slashes", "dotdot", "symlink", "dirfd", "relative", NULL};
    for (int i = 0; spellings[i]; i++)
        CHECK(key_value(o.out, spellings[i]) == 1, "/proc/cpuinfo as %s: %ld processors", spellings[i],
              key_value(o.out, spellings[i]));
    CHECK(key_value(o.out, "hostname") == 1, "/etc//hostname: %ld", key_value(o.out, "hostname"));
    CHECK(key_value(o.out, "hostname_sys") == 1, "sys/kernel/hostname: %ld", key_value(o.out, "hostname_sys"));
    sandlock_policy_free(p);
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 3 && strcmp(argv[1], "job") == 0) return job(argv[2], argv[3]);
    RUN(a_private_proc_tells_no_outside_pid);
    RUN(every_spelling_reaches_the_virtual_file);
    HARNESS_END();
}

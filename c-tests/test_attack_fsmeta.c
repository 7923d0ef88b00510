/* Attacks on file metadata (issue #14, classes 1 and 2): mode, owner,
 * times and extended attributes of files outside every writable tree, by
 * path, by fd, through symlinks and newer entry points, with and without
 * fs_deny; and the calls Landlock itself governs (truncate, link, rename,
 * mknod), to prove they stay refused. The job is this program re-executed
 * in the sandbox with "job" as its first argument; every target lives in
 * the test's own scratch directory:
 *
 *   S/ro/victim       in an fs_read tree
 *   S/none/victim     in no tree at all
 *   S/w/              the fs_write tree: own (a file), link -> ../ro/victim,
 *                     deny/secret (fs_deny in the second run)
 *
 * The host checks the files themselves afterwards, not only the errnos,
 * and first runs the same job unconfined to show each attack works. */
#include "harness.h"
#include <mqueue.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif
#ifndef SYS_file_setattr
#define SYS_file_setattr 469
#endif
#define FS_IOC_SETFLAGS_ 0x40086602UL

static char self[4096];
static int xattrs_work;

/* ---- the job (runs inside the sandbox, or unconfined as the baseline) ---- */

static void report(const char *what, long r) { printf("%s %d\n", what, r < 0 ? errno : 0); }

static void attack_one(const char *label, const char *target) {
    char what[128];
#define SAY(name, call)                                          \
    do {                                                         \
        snprintf(what, sizeof what, "%s_%s", label, name);       \
        report(what, (long)(call));                              \
    } while (0)
    struct timespec ts[2] = {{1000, 0}, {1000, 0}};
    struct timeval tv[2] = {{1000, 0}, {1000, 0}};
    struct utimbuf ub = {1000, 1000};
    SAY("chmod", chmod(target, 04777));
    SAY("fchmodat", fchmodat(AT_FDCWD, target, 04777, 0));
    SAY("fchmodat2", syscall(SYS_fchmodat2, AT_FDCWD, target, 04777, 0));
    SAY("chown", chown(target, (uid_t)-1, getgid()));
    SAY("lchown", lchown(target, (uid_t)-1, getgid()));
    SAY("fchownat", fchownat(AT_FDCWD, target, (uid_t)-1, getgid(), 0));
    SAY("utime", utime(target, &ub));
    SAY("utimes", utimes(target, tv));
    SAY("futimesat", syscall(SYS_futimesat, AT_FDCWD, target, tv));
    SAY("utimensat", utimensat(AT_FDCWD, target, ts, 0));
    SAY("setxattr", setxattr(target, "user.sandlock", "x", 1, 0));
    SAY("removexattr", removexattr(target, "user.pre"));
    SAY("lremovexattr", lremovexattr(target, "user.pre"));
    /* an O_PATH fd needs no Landlock right at all */
    int path_fd = open(target, O_PATH);
    SAY("fchmodat2_empty", syscall(SYS_fchmodat2, path_fd, "", 04777, AT_EMPTY_PATH));
    SAY("fchownat_empty", fchownat(path_fd, "", (uid_t)-1, getgid(), AT_EMPTY_PATH));
    SAY("utimensat_empty", utimensat(path_fd, "", ts, AT_EMPTY_PATH));
    char via_proc[64];
    snprintf(via_proc, sizeof via_proc, "/proc/self/fd/%d", path_fd);
    SAY("chmod_proc_fd", chmod(via_proc, 04777));
    /* the fd calls, on a readable fd where there is one */
    int read_fd = open(target, O_RDONLY);
    if (read_fd >= 0) {
        SAY("fchmod", fchmod(read_fd, 04777));
        SAY("fchown", fchown(read_fd, (uid_t)-1, getgid()));
        SAY("futimens", futimens(read_fd, ts));
        SAY("fsetxattr", fsetxattr(read_fd, "user.sandlock", "x", 1, 0));
        SAY("fremovexattr", fremovexattr(read_fd, "user.pre"));
        long flags = 0;
        SAY("setflags", ioctl(read_fd, FS_IOC_SETFLAGS_, &flags));
        close(read_fd);
    }
    close(path_fd);
#undef SAY
}

static int job(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *cmd = argv[2], *dir = argv[3];
    char path[4096], other[4096];
    if (!strcmp(cmd, "attack")) {
        const char *targets[][2] = {{"ro", "ro/victim"},
                                    {"none", "none/victim"},
                                    {"link", "w/link"},
                                    {"deny", "w/deny/secret"}};
        for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, targets[i][1]);
            attack_one(targets[i][0], path);
        }
        /* the newer entry points: refused whatever the target */
        snprintf(path, sizeof path, "%s/ro/victim", dir);
        report("setxattrat", syscall(SYS_setxattrat, AT_FDCWD, path, 0, "user.sandlock", NULL, 0));
        report("removexattrat", syscall(SYS_removexattrat, AT_FDCWD, path, 0, "user.pre"));
        report("file_setattr", syscall(SYS_file_setattr, AT_FDCWD, path, NULL, 0, 0));
        /* relative to a directory fd of the read-only tree */
        snprintf(path, sizeof path, "%s/ro", dir);
        int ro = open(path, O_RDONLY | O_DIRECTORY);
        report("at_dirfd_chmod", fchmodat(ro, "victim", 04777, 0));
        report("at_dirfd_dotdot", fchmodat(ro, "../none/victim", 04777, 0));
        close(ro);
        /* what Landlock governs itself */
        snprintf(path, sizeof path, "%s/ro/victim", dir);
        report("truncate", truncate(path, 0));
        snprintf(other, sizeof other, "%s/w/hard", dir);
        report("link_in", link(path, other));
        snprintf(other, sizeof other, "%s/w/moved", dir);
        report("rename_in", rename(path, other));
        snprintf(path, sizeof path, "%s/w/own", dir);
        snprintf(other, sizeof other, "%s/ro/dropped", dir);
        report("rename_out", rename(path, other));
        snprintf(path, sizeof path, "%s/ro/fifo", dir);
        report("mknod_out", mknod(path, S_IFIFO | 0666, 0));
        return 0;
    }
    if (!strcmp(cmd, "watch")) {
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        const char *where[][2] = {{"ro", "ro"}, {"none", "none"}, {"w", "w"}, {"deny", "w/deny"}};
        for (int i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, where[i][1]);
            printf("watch_%s %d\n", where[i][0], inotify_add_watch(in, path, IN_CREATE) >= 0 ? 0 : errno);
        }
        /* the watch made on the job's behalf works: its event comes */
        snprintf(path, sizeof path, "%s/w/created", dir);
        write_file(path, "x", 0644);
        char events[4096];
        ssize_t n = read(in, events, sizeof events);
        const struct inotify_event *e = (const void *)events;
        printf("watch_event %d\n", n > 0 && (e->mask & IN_CREATE) && !strcmp(e->name, "created"));
        close(in);
        char queue[64];
        snprintf(queue, sizeof queue, "/sandlock-fsmeta-%s", argv[4]);
        printf("mq_unlink %d\n", mq_unlink(queue) == 0 ? 0 : errno);
        return 0;
    }
    if (!strcmp(cmd, "allowed")) {
        snprintf(path, sizeof path, "%s/w/own", dir);
        struct timespec ts[2] = {{2000, 0}, {2000, 0}};
        report("chmod", chmod(path, 0600));
        report("chown", chown(path, (uid_t)-1, getgid()));
        report("utimensat", utimensat(AT_FDCWD, path, ts, 0));
        if (xattrs_work) report("setxattr", setxattr(path, "user.sandlock", "x", 1, 0));
        int fd = open(path, O_RDONLY);
        report("fchmod", fchmod(fd, 0640));
        close(fd);
        /* relative paths, from a cwd in the tree */
        snprintf(path, sizeof path, "%s/w", dir);
        report("chdir", chdir(path));
        report("chmod_relative", chmod("own", 0604));
        report("fchmod_fdcwd", fchmod(AT_FDCWD, 0700));
        /* the symlink itself is in the tree; fchmodat2 on it: the kernel's answer */
        report("lchown_link", lchown("link", (uid_t)-1, getgid()));
        report("fchmodat2_nofollow_link",
               syscall(SYS_fchmodat2, AT_FDCWD, "link", 0600, AT_SYMLINK_NOFOLLOW));
        /* an object with no name anywhere */
        int pipefd[2];
        report("pipe", pipe(pipefd));
        report("fchmod_pipe", fchmod(pipefd[0], 0600));
        /* a missing file fails as the kernel would have it */
        report("chmod_missing", chmod("missing", 0600));
        return 0;
    }
    return 2;
}

/* ---- the host ---- */

static char dir[1024];

static void path_of(char *out, size_t size, const char *rel) { snprintf(out, size, "%s/%s", dir, rel); }

/* Fresh targets: every victim root-owned (the job's uid) with group 1234,
 * mode 0644, times 500, and a "user.pre" attribute where xattrs work. */
static void make_targets(void) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/ro' '%s/none' '%s/w/deny'", dir, dir, dir, dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    const char *files[] = {"ro/victim", "none/victim", "w/deny/secret", "w/own"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[4096];
        path_of(p, sizeof p, files[i]);
        write_file(p, "contents\n", 0644);
        CHECK(chown(p, getuid(), 1234) == 0, "chown %s: %s", p, strerror(errno));
        CHECK(chmod(p, 0644) == 0, "chmod %s", p);
        struct timespec ts[2] = {{500, 0}, {500, 0}};
        CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0, "utimensat %s", p);
        if (xattrs_work) CHECK(setxattr(p, "user.pre", "1", 1, 0) == 0, "setxattr %s", p);
    }
    char link_path[4096];
    path_of(link_path, sizeof link_path, "w/link");
    CHECK(symlink("../ro/victim", link_path) == 0, "symlink");
    CHECK(lchown(link_path, getuid(), 1234) == 0, "lchown link");
}

/* Is `rel` as make_targets left it? Says what changed. */
static int untouched(const char *rel, char *why, size_t size) {
    char p[4096];
    path_of(p, sizeof p, rel);
    struct stat st;
    if (stat(p, &st) != 0) return snprintf(why, size, "gone"), 0;
    if ((st.st_mode & 07777) != 0644) return snprintf(why, size, "mode %o", st.st_mode & 07777), 0;
    if (st.st_gid != 1234) return snprintf(why, size, "group %d", (int)st.st_gid), 0;
    if (st.st_mtime != 500 || st.st_atime != 500) return snprintf(why, size, "mtime %ld", (long)st.st_mtime), 0;
    if (st.st_size != 9) return snprintf(why, size, "size %ld", (long)st.st_size), 0;
    char v[8];
    if (xattrs_work && getxattr(p, "user.sandlock", v, sizeof v) >= 0) return snprintf(why, size, "xattr set"), 0;
    if (xattrs_work && getxattr(p, "user.pre", v, sizeof v) < 0) return snprintf(why, size, "xattr removed"), 0;
    return 1;
}

static sandlock_policy *job_policy(int with_deny) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    char path[4096];
    path_of(path, sizeof path, "ro");
    CHECK(sandlock_policy_fs_read(p, path) == 0, "fs_read %s", path);
    path_of(path, sizeof path, "w");
    CHECK(sandlock_policy_fs_write(p, path) == 0, "fs_write %s", path);
    if (with_deny) {
        path_of(path, sizeof path, "w/deny");
        CHECK(sandlock_policy_fs_deny(p, path) == 0, "fs_deny %s: %s", path, sandlock_policy_error(p));
    }
    return p;
}


static const char *const ATTACKS[] = {
    "chmod", "fchmodat", "fchmodat2", "chown", "fchownat", "utime", "utimes", "futimesat",
    "utimensat", "setxattr", "removexattr", "fchmodat2_empty", "fchownat_empty", "utimensat_empty",
    "chmod_proc_fd", "fchmod", "fchown", "futimens", "fsetxattr", "fremovexattr", "setflags", NULL};

static int is_xattr(const char *name) { return strstr(name, "xattr") != NULL; }

static void the_attacks_work_unconfined(void) {
    make_targets();
    static char out[65536];
    const char *argv[] = {self, "job", "attack", dir, NULL};
    run_unconfined(argv, out, sizeof out);
    /* one success per kind of change is enough to show the test would
       see an escape */
    const char *shown[] = {"ro_chmod", "ro_chown", "ro_utimensat", "ro_fchmodat2_empty", "none_utimes",
                           "ro_setxattr", "truncate", NULL};
    for (int i = 0; shown[i]; i++) {
        if (!xattrs_work && is_xattr(shown[i])) continue;
        CHECK(key_value(out, shown[i]) == 0, "%s unconfined: %ld", shown[i], key_value(out, shown[i]));
    }
    char why[64];
    CHECK(!untouched("ro/victim", why, sizeof why), "the unconfined job changed nothing");
}

static void attack_run(int with_deny) {
    make_targets();
    sandlock_policy *p = job_policy(with_deny);
    const char *argv[] = {self, "job", "attack", dir, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    const char *labels[] = {"ro", "none", "link", "deny"};
    for (int t = 0; t < 4; t++) {
        /* without fs_deny, w/deny/secret is an ordinary writable file */
        if (t == 3 && !with_deny) continue;
        for (int i = 0; ATTACKS[i]; i++) {
            char key[128];
            snprintf(key, sizeof key, "%s_%s", labels[t], ATTACKS[i]);
            long e = key_value(o.out, key);
            if (e == -1) continue; /* no readable fd for the fd calls */
            /* refused, or a failure of the kernel's own (EBADF on an O_PATH
               fd, EPERM for chown without CAP_CHOWN) */
            CHECK(e != 0, "%s succeeded", key);
        }
    }
    CHECK(key_value(o.out, "setxattrat") == ENOSYS, "setxattrat: %ld", key_value(o.out, "setxattrat"));
    CHECK(key_value(o.out, "removexattrat") == ENOSYS, "removexattrat");
    CHECK(key_value(o.out, "file_setattr") == ENOSYS, "file_setattr");
    CHECK(key_value(o.out, "at_dirfd_chmod") == EACCES, "at_dirfd_chmod: %ld", key_value(o.out, "at_dirfd_chmod"));
    CHECK(key_value(o.out, "at_dirfd_dotdot") == EACCES, "at_dirfd_dotdot");
    CHECK(key_value(o.out, "ro_setflags") == EPERM, "setflags: %ld", key_value(o.out, "ro_setflags"));
    const char *landlock[] = {"truncate", "link_in", "rename_in", "rename_out", "mknod_out", NULL};
    for (int i = 0; landlock[i]; i++)
        CHECK(key_value(o.out, landlock[i]) != 0, "%s succeeded", landlock[i]);
    char why[64];
    const char *victims[] = {"ro/victim", "none/victim", with_deny ? "w/deny/secret" : NULL};
    for (int i = 0; i < 3 && victims[i]; i++)
        CHECK(untouched(victims[i], why, sizeof why), "%s changed: %s", victims[i], why);
    char p2[4096];
    path_of(p2, sizeof p2, "w/hard");
    CHECK(access(p2, F_OK) != 0, "a link to ro/victim was made in the writable tree");
    path_of(p2, sizeof p2, "ro/fifo");
    CHECK(access(p2, F_OK) != 0, "a fifo was made in the read-only tree");
    sandlock_policy_free(p);
}

static void metadata_outside_the_writable_trees_is_refused(void) { attack_run(0); }
static void metadata_of_denied_files_is_refused(void) { attack_run(1); }

static void metadata_inside_the_writable_tree_is_changed(void) {
    make_targets();
    sandlock_policy *p = job_policy(1);
    const char *argv[] = {self, "job", "allowed", dir, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d", o.spawn, o.code);
    const char *ok[] = {"chmod", "chown", "utimensat", "fchmod", "chdir", "chmod_relative", "lchown_link",
                        "pipe", "fchmod_pipe", xattrs_work ? "setxattr" : NULL};
    for (size_t i = 0; i < sizeof ok / sizeof *ok && ok[i]; i++)
        CHECK(key_value(o.out, ok[i]) == 0, "%s: %ld", ok[i], key_value(o.out, ok[i]));
    CHECK(key_value(o.out, "fchmodat2_nofollow_link") == EOPNOTSUPP, "fchmodat2 on a symlink: %ld",
          key_value(o.out, "fchmodat2_nofollow_link"));
    CHECK(key_value(o.out, "fchmod_fdcwd") == EBADF, "fchmod(AT_FDCWD): %ld", key_value(o.out, "fchmod_fdcwd"));
    CHECK(key_value(o.out, "chmod_missing") == ENOENT, "chmod_missing: %ld", key_value(o.out, "chmod_missing"));
    char path[4096];
    path_of(path, sizeof path, "w/own");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0604, "mode %o", st.st_mode & 07777);
    CHECK(st.st_gid == getgid(), "group %d", (int)st.st_gid);
    CHECK(st.st_mtime == 2000, "mtime %ld", (long)st.st_mtime);
    path_of(path, sizeof path, "w/link");
    CHECK(lstat(path, &st) == 0 && st.st_gid == getgid(), "the symlink's group %d", (int)st.st_gid);
    char why[64];
    CHECK(untouched("ro/victim", why, sizeof why), "the link's target changed: %s", why);
    sandlock_policy_free(p);
}

static void watches_and_queues_outside_the_trees_are_refused(void) {
    make_targets();
    char queue[64], pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(queue, sizeof queue, "/sandlock-fsmeta-%s", pid);
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};
    mqd_t q = mq_open(queue, O_CREAT | O_RDWR, 0600, &attr);
    CHECK(q != (mqd_t)-1, "mq_open: %s", strerror(errno));
    sandlock_policy *p = job_policy(1);
    const char *argv[] = {self, "job", "watch", dir, pid, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d", o.spawn, o.code);
    CHECK(key_value(o.out, "watch_ro") == 0, "a watch in the read tree: %ld", key_value(o.out, "watch_ro"));
    CHECK(key_value(o.out, "watch_w") == 0, "a watch in the write tree: %ld", key_value(o.out, "watch_w"));
    CHECK(key_value(o.out, "watch_none") == EACCES, "a watch outside the trees: %ld", key_value(o.out, "watch_none"));
    CHECK(key_value(o.out, "watch_deny") == EACCES, "a watch of a denied tree: %ld", key_value(o.out, "watch_deny"));
    CHECK(key_value(o.out, "watch_event") == 1, "the watch made on behalf saw no event");
    /* glibc reports the filter's EPERM as POSIX's EACCES */
    CHECK(key_value(o.out, "mq_unlink") == EACCES, "mq_unlink of the host's queue: %ld", key_value(o.out, "mq_unlink"));
    mqd_t again = mq_open(queue, O_RDWR);
    CHECK(again != (mqd_t)-1, "the host's queue is gone");
    if (again != (mqd_t)-1) mq_close(again);
    if (q != (mqd_t)-1) mq_close(q);
    mq_unlink(queue);
    sandlock_policy_free(p);
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 1 && strcmp(argv[1], "job") == 0) {
        xattrs_work = 1;
        return job(argc, argv);
    }
    make_scratch();
    snprintf(dir, sizeof dir, "%s/fsmeta", scratch);
    char probe_file[4096];
    snprintf(probe_file, sizeof probe_file, "%s/xattr-probe", scratch);
    write_file(probe_file, "", 0644);
    xattrs_work = setxattr(probe_file, "user.probe", "1", 1, 0) == 0;
    if (!xattrs_work) printf("  (user xattrs unsupported on %s: their checks skipped)\n", scratch);
    RUN(the_attacks_work_unconfined);
    RUN(metadata_outside_the_writable_trees_is_refused);
    RUN(metadata_of_denied_files_is_refused);
    RUN(metadata_inside_the_writable_tree_is_changed);
    RUN(watches_and_queues_outside_the_trees_are_refused);
    cleanup_scratch();
    HARNESS_END();
}

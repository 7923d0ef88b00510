/* The calls that change a directory's names, made by the supervisor under
 * fs_deny (src/fs/names.rs), must answer as Landlock and the kernel do
 * without it. The job is this program re-executed in the sandbox: it
 * makes, renames, links and removes names in a writable tree (S/w) and a
 * read-only one (S/ro) and prints each errno; the host runs it on a fresh
 * tree without fs_deny and with one (on an unrelated S/w/denied), and the
 * two outputs must be the same, line for line. */
#include "harness.h"
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static char self[4096];

static void say(const char *what, long r) { printf("%s %d\n", what, r < 0 ? errno : 0); }

static int job(const char *dir) {
    if (chdir(dir) != 0) return 3;
    umask(027);
    say("mkdir", mkdir("w/d", 0777));
    struct stat st;
    printf("mkdir_mode %o\n", stat("w/d", &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u);
    say("mkdir_again", mkdir("w/d", 0777));
    say("mkdir_ro", mkdir("ro/d", 0777));
    say("mkdir_dot", mkdir("w/.", 0777));
    say("mknod_fifo", mknod("w/fifo", S_IFIFO | 0666, 0));
    printf("mknod_mode %o\n", stat("w/fifo", &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u);
    say("mknod_chr", mknod("w/chr", S_IFCHR | 0600, makedev(1, 3)));
    say("symlink", symlink("d", "w/sym"));
    say("symlink_ro", symlink("d", "ro/sym"));
    int fd = open("w/f", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) { (void)!write(fd, "12345", 5); close(fd); }
    say("truncate", truncate("w/f", 2));
    printf("truncate_size %ld\n", stat("w/f", &st) == 0 ? (long)st.st_size : -1L);
    say("truncate_ro", truncate("ro/file", 0));
    say("truncate_missing", truncate("w/missing", 0));
    say("link", link("w/f", "w/f2"));
    say("link_exists", link("w/f", "w/f2"));
    say("link_from_ro", link("ro/file", "w/stolen"));
    say("link_into_ro", link("w/f", "ro/f"));
    say("linkat_follow", linkat(AT_FDCWD, "w/sym", AT_FDCWD, "w/dirlink", AT_SYMLINK_FOLLOW));
    say("rename", rename("w/f2", "w/f3"));
    say("rename_into_ro", rename("w/f3", "ro/f3"));
    say("rename_from_ro", rename("ro/file", "w/file"));
    say("rename_missing", rename("w/nothing", "w/x"));
    say("renameat2_noreplace", syscall(SYS_renameat2, AT_FDCWD, "w/f", AT_FDCWD, "w/f3", 1));
    say("renameat2_exchange", syscall(SYS_renameat2, AT_FDCWD, "w/f", AT_FDCWD, "w/f3", 2));
    say("unlink_slash", unlink("w/f3/"));
    say("unlink_dir", unlink("w/d"));
    say("unlink", unlink("w/f3"));
    say("unlink_missing", unlink("w/f3"));
    say("unlink_ro", unlink("ro/file"));
    say("unlinkat_bad_flag", unlinkat(AT_FDCWD, "w/f", 0x4));
    say("rmdir_file", rmdir("w/f"));
    say("rmdir_dot", rmdir("w/d/."));
    say("rmdir_slash", rmdir("w/d/"));
    say("rmdir_again", rmdir("w/d"));
    /* across directories of the writable tree: Landlock's refer right */
    say("mkdir_sub", mkdir("w/sub", 0755));
    say("link_across", link("w/f", "w/sub/f"));
    say("rename_across", rename("w/sub/f", "w/f4"));
    say("rename_dir_across", rename("w/sub", "w/d2"));
    /* an O_TMPFILE file given a name, through its /proc/self/fd link */
    int tmp = open("w", O_TMPFILE | O_WRONLY, 0600);
    char link_path[64];
    snprintf(link_path, sizeof link_path, "/proc/self/fd/%d", tmp);
    say("tmpfile", tmp);
    say("linkat_tmpfile", linkat(AT_FDCWD, link_path, AT_FDCWD, "w/named", AT_SYMLINK_FOLLOW));
    close(tmp);
    /* glibc's fchmodat(AT_SYMLINK_NOFOLLOW) goes through /proc/self/fd */
    say("fchmodat_nofollow", fchmodat(AT_FDCWD, "w/f4", 0640, AT_SYMLINK_NOFOLLOW));
    int ffd = open("w/f4", O_RDONLY);
    struct timespec ts[2] = {{3000, 0}, {3000, 0}};
    say("futimens", futimens(ffd, ts));
    close(ffd);
    int wdir = open("w", O_RDONLY | O_DIRECTORY);
    say("mkdirat", mkdirat(wdir, "e", 0700));
    say("renameat", renameat(wdir, "e", wdir, "e2"));
    say("unlinkat_dir", unlinkat(wdir, "e2", AT_REMOVEDIR));
    close(wdir);
    return 0;
}

static void make_tree(const char *dir) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/w/denied' '%s/ro' && echo ro > '%s/ro/file'", dir, dir,
             dir, dir);
    CHECK(system(cmd) == 0, "%s", cmd);
}

static void run_job(const char *dir, int with_deny, char *out, size_t size) {
    make_tree(dir);
    sandlock_policy *p = allow_self_job(base_policy(), self);
    char path[4096];
    snprintf(path, sizeof path, "%s/w", dir);
    CHECK(sandlock_policy_fs_write(p, path) == 0, "fs_write");
    snprintf(path, sizeof path, "%s/ro", dir);
    CHECK(sandlock_policy_fs_read(p, path) == 0, "fs_read");
    if (with_deny) {
        snprintf(path, sizeof path, "%s/w/denied", dir);
        CHECK(sandlock_policy_fs_deny(p, path) == 0, "fs_deny: %s", sandlock_policy_error(p));
    }
    const char *argv[] = {self, "job", dir, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    snprintf(out, size, "%s", o.out);
    sandlock_policy_free(p);
}

static void names_made_on_behalf_answer_as_landlock_does(void) {
    make_scratch();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/names", scratch);
    static char plain[8192], behalf[8192];
    run_job(dir, 0, plain, sizeof plain);
    run_job(dir, 1, behalf, sizeof behalf);
    /* the kernel's answers are what they should be, too */
    CHECK(key_value(plain, "mkdir") == 0 && key_value(plain, "mkdir_ro") == EACCES, "%s", plain);
    CHECK(key_value(plain, "mkdir_mode") == 750, "mkdir mode %ld", key_value(plain, "mkdir_mode"));
    const char *work[] = {"link", "link_across", "rename_across", "rename_dir_across", "linkat_tmpfile",
                          "fchmodat_nofollow", "futimens", "rename", "unlink", NULL};
    for (int i = 0; work[i]; i++)
        CHECK(key_value(plain, work[i]) == 0, "%s: %ld\n%s", work[i], key_value(plain, work[i]), plain);
    /* line for line */
    const char *a = plain, *b = behalf;
    int lines = 0;
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        CHECK(la == lb && !strncmp(a, b, la), "without fs_deny \"%.*s\", with it \"%.*s\"", (int)la, a, (int)lb, b);
        lines++;
        a += la + (ea != NULL);
        b += lb + (eb != NULL);
    }
    printf("  %d answers compared\n", lines);
    cleanup_scratch();
}

/* Real tools that change names and metadata (tar restores modes and
 * times, cp -a, mv, ln, chmod -R, touch, rm -rf, git), with and without
 * fs_deny: every step must work. */
static void real_tools_change_names_and_metadata(void) {
    make_scratch();
    char w[1100], archive[1100], cmd[4096];
    snprintf(w, sizeof w, "%s/w", scratch);
    snprintf(archive, sizeof archive, "%s/a.tgz", scratch);
    CHECK(mkdir(w, 0755) == 0, "mkdir");
    snprintf(cmd, sizeof cmd, "tar czf '%s' -C /usr/share/doc bash 2>/dev/null || tar czf '%s' -C /etc hostname",
             archive, archive);
    CHECK(system(cmd) == 0, "%s", cmd);
    int git = access("/usr/bin/git", X_OK) == 0;
    char script[4096];
    snprintf(script, sizeof script,
             "set -e; cd '%s'; tar xzf '%s'; d=$(ls | head -n1); cp -a \"$d\" copy; mv copy moved;"
             " mkdir sub; f=$(find moved -type f | head -n1); ln \"$f\" sub/hard; ln -s moved soft;"
             " chmod -R g+w moved; touch -d 2001-01-01 sub/hard; rm -rf moved; mkdir -p x/y; rmdir x/y;"
             " %s echo done",
             w, archive,
             git ? "git init -q repo; cd repo; git config user.email a@b; git config user.name n;"
                   " echo hi > f; git add f; git commit -qm m; git log --oneline | grep -q m;"
                 : "");
    for (int deny = 0; deny < 2; deny++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'/* && mkdir -p '%s/secret'", w, w);
        CHECK(system(cmd) == 0, "%s", cmd);
        sandlock_policy *p = base_policy();
        sandlock_policy_fs_read(p, "/etc");
        sandlock_policy_fs_read(p, "/dev/urandom");
        sandlock_policy_fs_read(p, archive);
        CHECK(sandlock_policy_fs_write(p, w) == 0, "fs_write");
        char secret[1200];
        snprintf(secret, sizeof secret, "%s/secret", w);
        if (deny) CHECK(sandlock_policy_fs_deny(p, secret) == 0, "fs_deny");
        sandlock_policy_env_set(p, "HOME", w);
        sandlock_policy_env_set(p, "PATH", "/usr/bin:/bin");
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        struct outcome o = run(p, argv);
        CHECK(o.spawn == 0 && o.code == 0 && strstr(o.out, "done"), "tools (fs_deny %d): code %d\n%s", deny, o.code,
              o.out);
        sandlock_policy_free(p);
    }
    printf("  tar, cp -a, mv, ln, chmod -R, touch, rm -rf%s: with and without fs_deny\n", git ? ", git" : "");
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 2 && strcmp(argv[1], "job") == 0) return job(argv[2]);
    RUN(names_made_on_behalf_answer_as_landlock_does);
    RUN(real_tools_change_names_and_metadata);
    HARNESS_END();
}

/* fs_deny (sandlock_policy_fs_deny): a file, or a directory and what is
 * beneath it, unreachable by the sandbox's opens and execs even inside an
 * fs_read/fs_write tree, whatever name leads there.
 *
 * Every test builds its own mkdtemp scratch tree (see make_tree): an
 * allowed tree (fs_write) holding a denied directory with a secret file
 * (content SECRET), a public file (content PUBLIC), symlinks and hard
 * links made before spawn, and a read-only tree (fs_read). Where the
 * kernel's own answer is the reference, the same probe runs first in a
 * sandbox without fs_deny ("baseline", on a twin tree) and the fs_deny
 * run may only turn a success reaching the secret into EACCES: every
 * other result must be the baseline's. No sandbox output may ever hold
 * the secret's content; every test also checks that allowed things still
 * work, so a sandbox that refuses everything fails. Every sandbox runs
 * with a timeout_ms and a host-side deadline; after it is freed, whatever
 * is left of its process group is killed and counted as a failure. */
#include "harness.h"

#define SECRET "SECRET-7f3a"
#define PUBLIC "PUBLIC-c41d"
#define SAFETY_TIMEOUT_MS 15000 /* the policy's timeout_ms */
#define DEADLINE_MS 20000       /* the host's own, past it */

/* ---- files ---- */

/* `path`'s content into buf (NUL-terminated); -errno if unreadable. */
static ssize_t read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { buf[0] = '\0'; return -errno; }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static void mkdir_ok(const char *path) {
    if (mkdir(path, 0755) != 0) { perror(path); exit(2); }
}

static void symlink_ok(const char *target, const char *name) {
    if (symlink(target, name) != 0) { perror(name); exit(2); }
}

static void link_ok(const char *target, const char *name) {
    if (link(target, name) != 0) { perror(name); exit(2); }
}

/* A tree under `root`:
 *   root/allowed/                  fs_write
 *     public                       PUBLIC
 *     writable, trunc              "WRITABLE", "TRUNCATE-ME"
 *     denied/                      fs_deny
 *       secret                     SECRET
 *       sub/deeper                 SECRET
 *     pubdir/secret, pubdir/late   PUBLIC (a public twin of denied/)
 *     link_secret  -> root/allowed/denied/secret   (absolute)
 *     link_secret_rel -> denied/secret
 *     link_denied -> root/allowed/denied, link_denied_rel -> denied
 *     link_link_secret -> link_secret
 *     link_public, link_public_rel, link_pubdir, link_pubdir_rel,
 *     link_link_public: the same, towards the public side
 *     hard_secret, hard_public     hard links
 *     dangle -> root/allowed/dangle-target          (missing)
 *     dangle-denied -> root/allowed/denied/planted  (missing)
 *   root/ro/file                   fs_read: "READONLY"
 * t->allowed, t->denied and t->ro are the absolute paths. */
struct tree {
    char root[300], allowed[320], denied[340], ro[320];
};

static void at(char *out, size_t size, const char *dir, const char *name) {
    snprintf(out, size, "%s/%s", dir, name);
}

static void make_tree(struct tree *t, const char *root) {
    char p[600], q[600];
    snprintf(t->root, sizeof t->root, "%s", root);
    snprintf(t->allowed, sizeof t->allowed, "%s/allowed", root);
    snprintf(t->denied, sizeof t->denied, "%s/allowed/denied", root);
    snprintf(t->ro, sizeof t->ro, "%s/ro", root);
    mkdir_ok(t->root);
    mkdir_ok(t->allowed);
    mkdir_ok(t->denied);
    mkdir_ok(t->ro);
    at(p, sizeof p, t->allowed, "public"); write_file(p, PUBLIC "\n", 0644);
    at(p, sizeof p, t->allowed, "writable"); write_file(p, "WRITABLE\n", 0644);
    at(p, sizeof p, t->allowed, "trunc"); write_file(p, "TRUNCATE-ME\n", 0644);
    at(p, sizeof p, t->denied, "secret"); write_file(p, SECRET "\n", 0644);
    at(p, sizeof p, t->denied, "sub"); mkdir_ok(p);
    at(p, sizeof p, t->denied, "sub/deeper"); write_file(p, SECRET "\n", 0644);
    at(p, sizeof p, t->allowed, "pubdir"); mkdir_ok(p);
    at(p, sizeof p, t->allowed, "pubdir/secret"); write_file(p, PUBLIC "\n", 0644);
    at(p, sizeof p, t->allowed, "pubdir/late"); write_file(p, PUBLIC "\n", 0644);
    at(p, sizeof p, t->ro, "file"); write_file(p, "READONLY\n", 0644);

    at(q, sizeof q, t->denied, "secret");
    at(p, sizeof p, t->allowed, "link_secret"); symlink_ok(q, p);
    at(p, sizeof p, t->allowed, "hard_secret"); link_ok(q, p);
    at(p, sizeof p, t->allowed, "link_secret_rel"); symlink_ok("denied/secret", p);
    at(p, sizeof p, t->allowed, "link_denied"); symlink_ok(t->denied, p);
    at(p, sizeof p, t->allowed, "link_denied_rel"); symlink_ok("denied", p);
    at(p, sizeof p, t->allowed, "link_link_secret"); symlink_ok("link_secret", p);
    at(q, sizeof q, t->allowed, "public");
    at(p, sizeof p, t->allowed, "link_public"); symlink_ok(q, p);
    at(p, sizeof p, t->allowed, "hard_public"); link_ok(q, p);
    at(p, sizeof p, t->allowed, "link_public_rel"); symlink_ok("public", p);
    at(q, sizeof q, t->allowed, "pubdir");
    at(p, sizeof p, t->allowed, "link_pubdir"); symlink_ok(q, p);
    at(p, sizeof p, t->allowed, "link_pubdir_rel"); symlink_ok("pubdir", p);
    at(p, sizeof p, t->allowed, "link_link_public"); symlink_ok("link_public", p);
    at(q, sizeof q, t->allowed, "dangle-target");
    at(p, sizeof p, t->allowed, "dangle"); symlink_ok(q, p);
    at(q, sizeof q, t->denied, "planted");
    at(p, sizeof p, t->allowed, "dangle-denied"); symlink_ok(q, p);
}

/* The secret is still there, unchanged. */
static void check_secret_intact(const struct tree *t) {
    char p[600], buf[256];
    at(p, sizeof p, t->denied, "secret");
    ssize_t n = read_file(p, buf, sizeof buf);
    CHECK(n > 0 && strcmp(buf, SECRET "\n") == 0, "%s changed: %zd \"%s\"", p, n, buf);
}

/* ---- policies and runs ---- */

/* A setter that must succeed: the test stops when it does not. */
static int set_ok(sandlock_policy *p, int r, const char *what) {
    CHECK(r == 0, "%s: %d %s", what, r, sandlock_policy_error(p));
    return r == 0;
}

/* base_policy, the safety timeout, fs_write on t->allowed, fs_read on
 * t->ro, cwd t->allowed; with `proc` fs_read /proc; with `deny` fs_deny
 * t->denied. NULL (and a failure) when a setter fails. */
static sandlock_policy *tree_policy(const struct tree *t, int deny, int proc) {
    sandlock_policy *p = base_policy();
    int ok = set_ok(p, sandlock_policy_timeout_ms(p, SAFETY_TIMEOUT_MS), "timeout_ms") &&
             set_ok(p, sandlock_policy_fs_write(p, t->allowed), "fs_write allowed") &&
             set_ok(p, sandlock_policy_fs_read(p, t->ro), "fs_read ro") &&
             set_ok(p, sandlock_policy_cwd(p, t->allowed), "cwd") &&
             (!proc || set_ok(p, sandlock_policy_fs_read(p, "/proc"), "fs_read /proc")) &&
             (!deny || set_ok(p, sandlock_policy_fs_deny(p, t->denied), "fs_deny"));
    if (!ok) {
        sandlock_policy_free(p);
        return NULL;
    }
    return p;
}

/* After free: waits up to 3 s for the group to be empty, then kills what
 * is left (a failure). */
static void check_nothing_left(pid_t pgid) {
    int left = 0, zombies = 0;
    for (int i = 0; i < 300; i++) {
        int all = scan_group(pgid, &zombies, 0);
        left = all < 0 ? 0 : all - zombies;
        if (left == 0) break;
        usleep(10000);
    }
    CHECK(left == 0, "%d live processes of group %d outlived the sandbox", left, (int)pgid);
    if (left > 0) scan_group(pgid, NULL, SIGKILL);
}

struct run {
    int spawn; /* sandlock_spawn's return */
    int reason, code, sig;
    char out[32768];
};

/* Runs the probe with `args` (NULL-terminated) under p, stdin /dev/null,
 * stdout captured, stderr inherited; supervised from a poll loop until
 * it ends (past DEADLINE_MS it is SIGKILLed: a failure). */
static void run_probe(sandlock_policy *p, const char *const args[], struct run *r) {
    const char *argv[256];
    char what[200];
    probe_command(args, argv, 256, what, sizeof what);
    memset(r, 0, sizeof *r);
    r->code = -1;
    sandlock_sandbox *sb = NULL;
    int out = -1;
    r->spawn = spawn_capturing(p, argv, &sb, &out);
    CHECK(r->spawn == 0, "spawn %s: %d %s", what, r->spawn, sandlock_policy_error(p));
    if (r->spawn == 0) {
        pid_t pgid = sandlock_sandbox_pid(sb);
        supervise_capturing(sb, out, r->out, sizeof r->out, DEADLINE_MS, what);
        r->reason = sandlock_sandbox_exit_reason(sb);
        r->code = sandlock_sandbox_exit_code(sb);
        r->sig = sandlock_sandbox_exit_signal(sb);
        sandlock_sandbox_free(sb);
        check_nothing_left(pgid);
        close(out);
    }
}

static int exited_with(const struct run *r, int code) {
    return r->spawn == 0 && r->reason == SANDLOCK_EXIT_NORMAL && r->code == code;
}

/* No output of a run under fs_deny may hold the secret. */
static void check_no_secret(const struct run *r, const char *what) {
    CHECK(strstr(r->out, "SECRET") == NULL, "%s: the sandbox read the secret:\n%s", what, r->out);
}

/* A baseline tree and policy (no fs_deny) and an fs_deny twin, in the
 * test's own scratch directory. 0 (and a failure) if a setter failed. */
struct twin {
    struct tree base, deny;
    sandlock_policy *pb, *pd;
};

static int twin_setup(struct twin *w, int proc) {
    char root[400];
    make_scratch();
    snprintf(root, sizeof root, "%s/base", scratch);
    make_tree(&w->base, root);
    snprintf(root, sizeof root, "%s/deny", scratch);
    make_tree(&w->deny, root);
    w->pb = tree_policy(&w->base, 0, proc);
    w->pd = tree_policy(&w->deny, 1, proc);
    return w->pb && w->pd;
}

static void twin_teardown(struct twin *w) {
    sandlock_policy_free(w->pb);
    sandlock_policy_free(w->pd);
    cleanup_scratch();
}

/* ---- 1. path forms ---- */

/* One way to name the secret, and the same way to name a public file.
 * '@' stands for the allowed tree's absolute path. `base_*`: the errno
 * the baseline (no fs_deny) gets, 0 when it reaches the file. */
struct form {
    const char *secret, *public;
    int base_secret, base_public;
};

static const struct form forms[] = {
    {"open:@/denied/secret", "open:@/public", 0, 0},
    {"sysopen:@/denied/secret", "sysopen:@/public", 0, 0},
    {"open:denied/secret", "open:public", 0, 0},
    {"open:./denied/./secret", "open:./public", 0, 0},
    {"open:@//denied//secret", "open:@//public", 0, 0},
    {"sysopen:denied/secret", "sysopen:public", 0, 0},
    {"at:denied/secret", "at:public", 0, 0},
    {"at:@/denied/secret", "at:@/public", 0, 0},
    {"at:./denied/sub/../secret", "at:./pubdir/../public", 0, 0},
    {"open:@/denied/../denied/secret", "open:@/denied/../public", 0, 0},
    {"open:denied/sub/../secret", "open:denied/sub/../../public", 0, 0},
    {"open:@/pubdir/../denied/secret", "open:@/denied/../pubdir/secret", 0, 0},
    {"open:denied/sub/deeper", "open:pubdir/secret", 0, 0},
    /* created after the deny policy was compiled (at its first spawn) */
    {"open:denied/late", "open:pubdir/late", 0, 0},
    {"open:link_secret", "open:link_public", 0, 0},
    {"open:@/link_secret", "open:@/link_public", 0, 0},
    {"open:link_secret_rel", "open:link_public_rel", 0, 0},
    {"open:link_link_secret", "open:link_link_public", 0, 0},
    {"open:link_denied/secret", "open:link_pubdir/secret", 0, 0},
    {"open:link_denied_rel/secret", "open:link_pubdir_rel/secret", 0, 0},
    {"open:link_denied/sub/../secret", "open:link_pubdir/../public", 0, 0},
    {"at:link_secret", "at:link_public", 0, 0},
    {"open:hard_secret", "open:hard_public", 0, 0},
    {"open:@/hard_secret", "open:@/hard_public", 0, 0},
    {"open:/proc/self/cwd/denied/secret", "open:/proc/self/cwd/public", 0, 0},
    {"open:/proc/thread-self/cwd/denied/secret", "open:/proc/thread-self/cwd/public", 0, 0},
    {"open:/proc/self/cwd/link_denied/secret", "open:/proc/self/cwd/link_pubdir/secret", 0, 0},
    {"open:/proc/self/cwd/hard_secret", "open:/proc/self/cwd/hard_public", 0, 0},
    {"open:/proc/self/root@/denied/secret", "open:/proc/self/root@/public", 0, 0},
    {"pidcwd:denied/secret", "pidcwd:public", 0, 0},
    {"fd:denied/secret", "fd:public", 0, 0},
    {"fd:../allowed/denied/secret", "fd:../allowed/public", 0, 0},
    {"fd:link_denied_rel/secret", "fd:link_pubdir_rel/secret", 0, 0},
    {"devfd:denied/secret", "devfd:public", 0, 0},
    {"beneath:denied/secret", "beneath:public", 0, 0},
    {"beneath:denied/sub/../secret", "beneath:pubdir/../public", 0, 0},
    {"beneath:link_secret_rel", "beneath:link_public_rel", 0, 0},
    {"beneath:link_denied_rel/secret", "beneath:link_pubdir_rel/secret", 0, 0},
    {"beneath:hard_secret", "beneath:hard_public", 0, 0},
    {"beneath:link_secret", "beneath:link_public", EXDEV, EXDEV},
    {"beneath:link_denied/secret", "beneath:link_pubdir/secret", EXDEV, EXDEV},
    {"beneath:../allowed/denied/secret", "beneath:../allowed/public", EXDEV, EXDEV},
    {"beneath:@/denied/secret", "beneath:@/public", EXDEV, EXDEV},
    {"inroot:../../../denied/secret", "inroot:../../../public", 0, 0},
    {"inroot:link_secret", "inroot:link_public", ENOENT, ENOENT},
    {"inroot:link_denied_rel/secret", "inroot:link_pubdir_rel/secret", 0, 0},
    {"nofollow:link_secret", "nofollow:link_public", ELOOP, ELOOP},
    {"nofollow:denied/secret", "nofollow:public", 0, 0},
    {"open:@/denied/secret/", "open:@/public/", ENOTDIR, ENOTDIR},
    {"open:denied", "open:pubdir", 0, 0},
    {"open:denied/sub", "open:pubdir", 0, 0},
    {"symlink:insb_secret=@/denied/secret", "symlink:insb_public=@/public", 0, 0},
    {"symlink:insb_secret_rel=denied/secret", "symlink:insb_public_rel=public", 0, 0},
    {"symlink:insb_dir=@/denied", "symlink:insb_pubdir=@/pubdir", 0, 0},
    {"open:insb_dir/secret", "open:insb_pubdir/secret", 0, 0},
    {"symlink:insb_up=pubdir/../denied/secret", "symlink:insb_up_pub=denied/../public", 0, 0},
    {"symlink:insb_proc=/proc/self/cwd/denied/secret", "symlink:insb_proc_pub=/proc/self/cwd/public", 0, 0},
    {"cdopen:@/denied=secret", "cdopen:@/pubdir=secret", 0, 0},
    {"cdopen:@/denied/sub=../secret", "cdopen:@/pubdir=../public", 0, 0},
    {"cdopen:@/denied=.", "cdopen:@/pubdir=.", 0, 0},
    {"cdopen:@/denied/sub=deeper", "cdopen:@=public", 0, 0},
};

/* O_PATH opens: the secret's refused like any other; a public file's
 * O_PATH fd handed over as the kernel would. */
static const struct form opath_forms[] = {
    {"opath:denied/secret", "opath:public", 0, 0},
    {"opath:link_secret", "opath:link_public", 0, 0},
    {"opath:denied", "opath:pubdir", 0, 0},
    {"opath:link_denied", "opath:link_pubdir", 0, 0},
    {"opath:denied/sub/../secret", "opath:pubdir/../public", 0, 0},
};

/* openat2 RESOLVE_IN_ROOT with an absolute path: resolved from DIRFD as
 * the root (the kernel's rule), not from the host's "/". */
static const struct form inroot_absolute_forms[] = {
    {"inroot:/denied/secret", "inroot:/public", 0, 0},
    {"inroot:/pubdir/../denied/secret", "inroot:/denied/../public", 0, 0},
    {"inroot:/link_denied_rel/secret", "inroot:/link_pubdir_rel/secret", 0, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FORMS 128

/* `item` with every '@' replaced by `allowed`, into a new string. */
static char *spelled(const char *item, const char *allowed) {
    size_t n = 1, alen = strlen(allowed);
    for (const char *c = item; *c; c++) n += *c == '@' ? alen : 1;
    char *s = malloc(n), *w = s;
    for (const char *c = item; *c; c++) {
        if (*c == '@') { memcpy(w, allowed, alen); w += alen; }
        else *w++ = *c;
    }
    *w = '\0';
    return s;
}

struct outcome_line {
    int seen, err;
    char content[80];
};

/* Parses the "I E CONTENT" lines of "opens" into res[0..n-1]. */
static void parse_opens(const char *out, struct outcome_line *res, int n) {
    memset(res, 0, sizeof *res * (size_t)n);
    const char *line = out;
    while (line && *line) {
        int i, e;
        char content[80];
        if (sscanf(line, "%d %d %79s", &i, &e, content) == 3 && i >= 0 && i < n) {
            res[i].seen = 1;
            res[i].err = e;
            snprintf(res[i].content, sizeof res[i].content, "%s", content);
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
}

/* Runs `n` forms (item 2k: the secret's, 2k+1: the public file's) in
 * one sandbox under `p` on tree `t`. */
static void run_forms(const struct form *forms, size_t n, sandlock_policy *p, const struct tree *t, struct run *r,
                      struct outcome_line *res) {
    const char *args[2 * MAX_FORMS + 4];
    char *owned[2 * MAX_FORMS];
    args[0] = "opens";
    args[1] = t->allowed;
    for (size_t k = 0; k < n; k++) {
        owned[2 * k] = spelled(forms[k].secret, t->allowed);
        owned[2 * k + 1] = spelled(forms[k].public, t->allowed);
        args[2 + 2 * k] = owned[2 * k];
        args[3 + 2 * k] = owned[2 * k + 1];
    }
    args[2 + 2 * n] = NULL;
    run_probe(p, args, r);
    for (size_t k = 0; k < 2 * n; k++) free(owned[k]);
    parse_opens(r->out, res, (int)(2 * n));
}

/* Runs `forms` without and with fs_deny (on twin trees, /proc readable)
 * and checks them: the baseline gets what the form says; under fs_deny
 * what reached the secret is EACCES, exactly, a form the kernel refuses
 * anyway keeps its errno (or EACCES), and each public twin gets exactly
 * what the baseline got. At least `min_public` public twins must open. */
static void check_forms(const struct form *forms, size_t n, const char *what, int min_public) {
    struct twin w;
    static struct run rb, rd;
    static struct outcome_line b[2 * MAX_FORMS], d[2 * MAX_FORMS];
    if (n > MAX_FORMS) { CHECK(0, "too many forms"); return; }
    if (!twin_setup(&w, 1)) goto out;
    char late[600];
    at(late, sizeof late, w.base.denied, "late");
    write_file(late, SECRET "\n", 0644);
    /* The deny policy is compiled at its first spawn; denied/late comes
     * after: only its directory stands for it. */
    const char *first[] = {"exit", "0", NULL};
    run_probe(w.pd, first, &rd);
    CHECK(exited_with(&rd, 0), "first spawn: spawn %d reason %d code %d", rd.spawn, rd.reason, rd.code);
    at(late, sizeof late, w.deny.denied, "late");
    write_file(late, SECRET "\n", 0644);

    run_forms(forms, n, w.pb, &w.base, &rb, b);
    CHECK(exited_with(&rb, 0), "baseline opens: spawn %d reason %d code %d", rb.spawn, rb.reason, rb.code);
    run_forms(forms, n, w.pd, &w.deny, &rd, d);
    CHECK(exited_with(&rd, 0), "fs_deny opens: spawn %d reason %d code %d", rd.spawn, rd.reason, rd.code);
    check_no_secret(&rd, what);

    int refused = 0, public_ok = 0;
    for (size_t k = 0; k < n; k++) {
        const struct form *f = &forms[k];
        const struct outcome_line *bs = &b[2 * k], *bp = &b[2 * k + 1], *ds = &d[2 * k], *dp = &d[2 * k + 1];
        CHECK(bs->seen && ds->seen && bp->seen && dp->seen, "%s / %s: no result line", f->secret, f->public);
        /* The baseline shows what the form reaches without fs_deny. */
        CHECK(bs->err == f->base_secret, "baseline %s: errno %d (want %d)", f->secret, bs->err, f->base_secret);
        CHECK(bp->err == f->base_public, "baseline %s: errno %d (want %d)", f->public, bp->err, f->base_public);
        if (bs->err == 0 && strncmp(bs->content, "read:", 5) && strcmp(bs->content, "-"))
            CHECK(!strcmp(bs->content, SECRET), "baseline %s read \"%s\" (want the secret)", f->secret, bs->content);
        if (bp->err == 0 && strncmp(bp->content, "read:", 5) && strcmp(bp->content, "-"))
            CHECK(!strcmp(bp->content, PUBLIC), "baseline %s read \"%s\"", f->public, bp->content);
        if (bs->err == 0) {
            /* -EACCES: a cdopen refused at its chdir into the denied tree */
            int was_refused = ds->err == EACCES || (ds->err == -EACCES && !strncmp(f->secret, "cdopen:", 7));
            CHECK(was_refused, "%s: errno %d content \"%s\" (want EACCES)", f->secret, ds->err, ds->content);
            refused += was_refused;
        } else {
            CHECK(ds->err == bs->err || ds->err == EACCES, "%s: errno %d (the kernel says %d; or EACCES)", f->secret,
                  ds->err, bs->err);
        }
        CHECK(dp->err == bp->err && !strcmp(dp->content, bp->content), "%s: errno %d \"%s\" (baseline: %d \"%s\")",
              f->public, dp->err, dp->content, bp->err, bp->content);
        public_ok += dp->err == 0 && bp->err == 0;
    }
    fprintf(stderr, "  %s: %zu forms, %d secrets refused with EACCES, %d public twins opened\n", what, n, refused,
            public_ok);
    CHECK(public_ok >= min_public, "%s: only %d public twins opened (want %d)", what, public_ok, min_public);
    check_secret_intact(&w.deny);
out:
    twin_teardown(&w);
}

static void path_forms(void) { check_forms(forms, COUNT(forms), "path forms", 50); }
static void o_path_opens(void) { check_forms(opath_forms, COUNT(opath_forms), "O_PATH", 5); }
static void resolve_in_root_absolute(void) {
    check_forms(inroot_absolute_forms, COUNT(inroot_absolute_forms), "RESOLVE_IN_ROOT, absolute", 3);
}

/* ---- 2. the rename-exchange race ---- */

struct race_counts {
    long tries, pub, secret, denied, other, swaps, swapfail;
    int first;
};

/* With `refused`, the swaps themselves must fail (renaming the denied
 * tree is refused) and the name must only ever be refused. */
static void race_one(const struct tree *t, sandlock_policy *p, const char *dir, const char *a, const char *b,
                     const char *name, const char *what, int refused) {
    const char *args[] = {"swap_race", dir, a, b, name, "1.5", NULL};
    static struct run r;
    run_probe(p, args, &r);
    struct race_counts c = {-1, -1, -1, -1, -1, -1, -1, -1};
    int parsed = sscanf(r.out, "tries %ld public %ld secret %ld denied %ld other %ld first %d swaps %ld swapfail %ld",
                        &c.tries, &c.pub, &c.secret, &c.denied, &c.other, &c.first, &c.swaps, &c.swapfail) == 8;
    fprintf(stderr, "  swap race (%s): %s", what, parsed ? r.out : "(no output)\n");
    CHECK(exited_with(&r, 0) && parsed, "%s: reason %d code %d out \"%s\"", what, r.reason, r.code, r.out);
    check_no_secret(&r, what);
    CHECK(c.secret == 0, "%s: %ld reads got the secret", what, c.secret);
    CHECK(refused || c.pub > 0, "%s: the public file was never read (%ld tries)", what, c.tries);
    CHECK(c.denied > 0, "%s: never refused: the race did not run both ways", what);
    CHECK(c.other == 0, "%s: %ld other outcomes, the first %d", what, c.other, c.first);
    if (refused)
        CHECK(c.swaps == 0 && c.swapfail > 0, "%s: %ld swaps of the denied tree went through", what, c.swaps);
    else
        CHECK(c.swaps > 0 && c.swapfail == 0, "%s: %ld swaps, %ld failed", what, c.swaps, c.swapfail);
    if (t) check_secret_intact(t);
}

static void rename_exchange_race(void) {
    make_scratch();
    char root[400], race[600], p[700], q[700];
    struct tree t;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    at(race, sizeof race, t.allowed, "race");
    mkdir_ok(race);
    /* file: a public file x swapped with y, a symlink to the secret */
    at(p, sizeof p, race, "x"); write_file(p, PUBLIC "\n", 0644);
    at(p, sizeof p, race, "y"); at(q, sizeof q, t.denied, "secret"); symlink_ok(q, p);
    /* dir: a public directory d (with its own "secret") swapped with e, a
     * symlink to the denied directory */
    at(p, sizeof p, race, "d"); mkdir_ok(p);
    at(p, sizeof p, race, "d/secret"); write_file(p, PUBLIC "-in-d\n", 0644);
    at(p, sizeof p, race, "e"); symlink_ok(t.denied, p);
    sandlock_policy *pol = tree_policy(&t, 1, 0);
    if (!pol) goto out;
    race_one(&t, pol, race, "x", "y", "x", "public file <-> symlink to the secret", 0);
    race_one(&t, pol, race, "d", "e", "d/secret", "public dir <-> symlink to the denied dir", 0);
    /* the denied directory itself swapped with its public twin: renaming
     * a denied tree is refused, so the secret stays where it is */
    race_one(NULL, pol, t.allowed, "denied", "pubdir", "denied/secret", "denied dir <-> public dir", 1);
    char a[700], b[700], ca[256], cb[256];
    at(a, sizeof a, t.allowed, "denied/secret");
    at(b, sizeof b, t.allowed, "pubdir/secret");
    read_file(a, ca, sizeof ca);
    read_file(b, cb, sizeof cb);
    CHECK(!strcmp(ca, SECRET "\n") && !strcmp(cb, PUBLIC "\n"),
          "after the swaps: denied/secret \"%s\", pubdir/secret \"%s\"", ca, cb);
out:
    sandlock_policy_free(pol);
    cleanup_scratch();
}

/* ---- 3. a read-only grant stays read-only ---- */

/* The number after "KEY " at a line start of `out`; -1 if none. */
static int key_errno(const char *out, const char *key) {
    return (int)key_value(out, key);
}

static void read_only_stays_read_only(void) {
    struct twin w;
    char file[600], base_file[600], fresh[600], buf[256];
    static struct run rb, rd;
    if (!twin_setup(&w, 0)) goto out;
    at(file, sizeof file, w.deny.ro, "file");
    at(base_file, sizeof base_file, w.base.ro, "file");
    struct stat before, after;
    stat(file, &before);
    const char *argsb[] = {"modes", base_file, NULL};
    run_probe(w.pb, argsb, &rb);
    const char *argsd[] = {"modes", file, NULL};
    run_probe(w.pd, argsd, &rd);
    CHECK(exited_with(&rd, 0), "modes: reason %d code %d", rd.reason, rd.code);
    const char *keys[] = {"wronly", "rdwr", "append", "wronly_trunc", "rdonly_trunc", "creat_existing", "creat", NULL};
    for (int i = 0; keys[i]; i++) {
        int eb = key_errno(rb.out, keys[i]), ed = key_errno(rd.out, keys[i]);
        CHECK(ed == EACCES, "open %s of the read-only file: %d (want EACCES)", keys[i], ed);
        CHECK(eb == ed, "open %s: %d under fs_deny, %d without", keys[i], ed, eb);
    }
    const char *read_line = strstr(rd.out, "read ");
    CHECK(read_line && !strncmp(read_line, "read 0 READONLY", 15), "reading the read-only file: \"%s\"",
          read_line ? read_line : "(none)");
    stat(file, &after);
    read_file(file, buf, sizeof buf);
    CHECK(!strcmp(buf, "READONLY\n") && after.st_size == before.st_size &&
              after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
          "the read-only file changed: \"%s\"", buf);
    /* No new file in the read-only tree either... */
    at(fresh, sizeof fresh, w.deny.ro, "fresh");
    const char *argsw[] = {"write", fresh, NULL};
    run_probe(w.pd, argsw, &rd);
    CHECK(exited_with(&rd, EACCES), "creating %s: reason %d code %d (want EACCES)", fresh, rd.reason, rd.code);
    CHECK(!exists(fresh), "%s was created", fresh);
    /* ...while the writable tree is writable. */
    at(fresh, sizeof fresh, w.deny.allowed, "fresh");
    const char *argsw2[] = {"write", fresh, NULL};
    run_probe(w.pd, argsw2, &rd);
    read_file(fresh, buf, sizeof buf);
    CHECK(exited_with(&rd, 0) && !strcmp(buf, "written\n"), "creating %s: reason %d code %d content \"%s\"", fresh,
          rd.reason, rd.code, buf);
out:
    twin_teardown(&w);
}

/* ---- calls other than open that name files ---- */

/* stat, access, truncate, chmod, rename, link, unlink, mkdir, symlink on
 * the secret or into the denied tree: EACCES, the tree unchanged; the
 * same calls on public files do what they do without fs_deny. */
static void path_calls(void) {
    struct twin w;
    static struct run rb, rd;
    if (!twin_setup(&w, 0)) goto out;
    const char *argsb[] = {"pathops", w.base.allowed, NULL};
    run_probe(w.pb, argsb, &rb);
    const char *argsd[] = {"pathops", w.deny.allowed, NULL};
    run_probe(w.pd, argsd, &rd);
    CHECK(exited_with(&rb, 0) && exited_with(&rd, 0), "pathops: codes %d %d", rb.code, rd.code);
    const char *denied[] = {"stat_secret", "lstat_secret", "fstatat_secret", "statx_secret", "access_secret",
                            "stat_via_link", "truncate_secret", "chmod_secret", "rename_out", "link_out",
                            "unlink_secret", "rename_in", "mkdir_in", "symlink_in", "rename_dir_out", NULL};
    for (int i = 0; denied[i]; i++) {
        int e = key_errno(rd.out, denied[i]);
        CHECK(e == EACCES, "%s under fs_deny: %d (want EACCES)", denied[i], e);
    }
    const char *public[] = {"stat_public", "statx_public", "access_public", "link_public", "rename_public",
                            "unlink_public", "mkdir_public", "truncate_public", NULL};
    for (int i = 0; public[i]; i++) {
        int eb = key_errno(rb.out, public[i]), ed = key_errno(rd.out, public[i]);
        CHECK(ed == 0 && eb == 0, "%s: %d under fs_deny, %d without (want 0)", public[i], ed, eb);
    }
    check_secret_intact(&w.deny);
    char p[600];
    const char *absent[] = {"stolen", "stolen-link", "denied/moved-in", "denied/newdir", "denied/newlink",
                            "denied-moved", NULL};
    for (int i = 0; absent[i]; i++) {
        at(p, sizeof p, w.deny.allowed, absent[i]);
        CHECK(!exists(p), "%s exists after the calls under fs_deny", absent[i]);
    }
out:
    twin_teardown(&w);
}

/* ---- 4. fd flags and O_CREAT ---- */

struct kv {
    char key[64];
    int err;
    long value;
};

static int parse_kv(const char *out, struct kv *kv, int max) {
    int n = 0;
    for (const char *l = out; l && *l && n < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "%63s %d %ld", kv[n].key, &kv[n].err, &kv[n].value) == 3) n++;
    return n;
}

static const struct kv *find_kv(const struct kv *kv, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key)) return &kv[i];
    return NULL;
}

static long mode_of(const char *dir, const char *name) {
    char p[600];
    struct stat st;
    at(p, sizeof p, dir, name);
    return stat(p, &st) == 0 ? (long)(st.st_mode & 07777) : -1;
}

/* What the "fdflags" probe prints for one key: errno and value without
 * fs_deny, and under it. */
struct want {
    const char *key;
    int base_err;
    long base_value;
    int deny_err;
    long deny_value;
};

/* A value as the messages show it: "none", or octal (modes, flags 0/1). */
static const char *show(long v, char *buf) {
    if (v < 0) return "none";
    snprintf(buf, 32, "%#lo", v);
    return buf;
}

/* Runs "fdflags" on both trees of `w` and checks the keys of `want`. */
static void check_fdflags(struct twin *w, const struct want *want, size_t n) {
    static struct run rb, rd;
    const char *argsb[] = {"fdflags", w->base.allowed, NULL};
    run_probe(w->pb, argsb, &rb);
    const char *argsd[] = {"fdflags", w->deny.allowed, NULL};
    run_probe(w->pd, argsd, &rd);
    CHECK(exited_with(&rb, 0) && exited_with(&rd, 0), "fdflags: codes %d %d", rb.code, rd.code);
    check_no_secret(&rd, "fdflags");
    struct kv kb[64], kd[64];
    int nb = parse_kv(rb.out, kb, 64), nd = parse_kv(rd.out, kd, 64);
    char s1[32], s2[32];
    for (size_t i = 0; i < n; i++) {
        const struct kv *b = find_kv(kb, nb, want[i].key), *d = find_kv(kd, nd, want[i].key);
        CHECK(b && b->err == want[i].base_err && b->value == want[i].base_value,
              "baseline %s: errno %d value %s (want errno %d value %s)", want[i].key, b ? b->err : -99,
              show(b ? b->value : -1, s1), want[i].base_err, show(want[i].base_value, s2));
        CHECK(d && d->err == want[i].deny_err && d->value == want[i].deny_value,
              "fs_deny %s: errno %d value %s (want errno %d value %s)", want[i].key, d ? d->err : -99,
              show(d ? d->value : -1, s1), want[i].deny_err, show(want[i].deny_value, s2));
    }
}

static void fd_flags(void) {
    struct twin w;
    char p[600], buf[256];
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {
        {"cloexec", 0, 1, 0, 1},
        {"nocloexec", 0, 0, 0, 0},
        {"openat2_cloexec", 0, 1, 0, 1},
        {"openat2_nocloexec", 0, 0, 0, 0},
        {"nonblock", 0, 1, 0, 1},
        {"plain_not_nonblock", 0, 0, 0, 0},
        {"rdonly_accmode", 0, 1, 0, 1},
        {"rdwr_accmode", 0, 1, 0, 1},
        {"append", 0, 1, 0, 1},
        {"directory_on_file", ENOTDIR, -1, ENOTDIR, -1},
        {"excl_existing", EEXIST, -1, EEXIST, -1},
        {"truncate", 0, 0, 0, 0},
        {"lowest_fd", 0, 1, 0, 1},
        {"bad_dirfd", EBADF, -1, EBADF, -1},
        {"file_as_dirfd", ENOTDIR, -1, ENOTDIR, -1},
        {"null_path", EFAULT, -1, EFAULT, -1},
        {"unmapped_path", EFAULT, -1, EFAULT, -1},
        {"long_path", ENAMETOOLONG, -1, ENAMETOOLONG, -1},
        {"empty_path", ENOENT, -1, ENOENT, -1},
        {"truncate_secret", 0, 0, EACCES, -1},
        {"append_secret", 0, 0, EACCES, -1},
    };
    check_fdflags(&w, want, COUNT(want));
    at(p, sizeof p, w.deny.allowed, "writable");
    read_file(p, buf, sizeof buf);
    CHECK(!strcmp(buf, "WRITABLE\nAPPENDED\n"), "writable: \"%s\" (want the append at its end)", buf);
    at(p, sizeof p, w.deny.allowed, "trunc");
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 0, "trunc: size %ld (want 0)", (long)st.st_size);
    check_secret_intact(&w.deny);
out:
    twin_teardown(&w);
}

/* O_PATH's own flag on the fd (an O_PATH fd is handed over at all). */
static void o_path_fd(void) {
    struct twin w;
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {{"opath", 0, 1, 0, 1}};
    check_fdflags(&w, want, COUNT(want));
out:
    twin_teardown(&w);
}

/* O_TMPFILE: an unnamed file in an allowed directory, with its mode (less
 * the umask); none in the denied directory. */
static void o_tmpfile(void) {
    struct twin w;
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {
        {"tmpfile", 0, 0600, 0, 0600},
        {"tmpfile_in_denied", 0, 0, EACCES, -1},
    };
    check_fdflags(&w, want, COUNT(want));
out:
    twin_teardown(&w);
}

/* A new file gets the mode asked for, less the caller's umask. */
static void create_mode_and_umask(void) {
    struct twin w;
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {
        {"create_umask027", 0, 0640, 0, 0640},
        {"create_umask0", 0, 0666, 0, 0666},
        {"openat2_mode0_umask077", 0, 0, 0, 0},
        {"openat2_umask077", 0, 0600, 0, 0600},
        {"creat_syscall_umask077", 0, 0600, 0, 0600},
    };
    check_fdflags(&w, want, COUNT(want));
    const struct { const char *name; long mode; } made[] = {
        {"new027", 0640}, {"new000", 0666}, {"new077", 0}, {"new077b", 0600}, {"viacreat", 0600},
    };
    for (size_t i = 0; i < COUNT(made); i++) {
        long m = mode_of(w.deny.allowed, made[i].name);
        CHECK(m == made[i].mode, "%s, from the host: mode %#lo (want %#lo)", made[i].name, m, made[i].mode);
    }
out:
    twin_teardown(&w);
}

/* O_CREAT in the denied directory is refused and makes nothing there;
 * nor may it truncate the secret. */
static void create_in_the_denied_dir(void) {
    struct twin w;
    char p[600];
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {
        {"create_in_denied", 0, 0, EACCES, -1},
        {"create_excl_in_denied", 0, 0, EACCES, -1},
        {"create_trunc_secret", 0, 0, EACCES, -1},
    };
    check_fdflags(&w, want, COUNT(want));
    const char *never[] = {"new", "new-excl", NULL};
    for (int i = 0; never[i]; i++) {
        at(p, sizeof p, w.deny.denied, never[i]);
        CHECK(!exists(p), "%s was created in the denied directory", p);
        at(p, sizeof p, w.base.denied, never[i]);
        CHECK(exists(p), "baseline: %s not created", p);
    }
    check_secret_intact(&w.deny);
out:
    twin_teardown(&w);
}

/* O_CREAT through a dangling symlink creates its target, as the kernel
 * does; when the target lies in the denied directory: EACCES, nothing
 * made. O_EXCL on a dangling symlink: EEXIST. */
static void create_through_dangling_symlinks(void) {
    struct twin w;
    char p[600];
    if (!twin_setup(&w, 0)) goto out;
    const struct want want[] = {
        {"excl_dangling_symlink", EEXIST, -1, EEXIST, -1},
        {"create_through_dangling_symlink", 0, 0, 0, 0},
        {"create_through_symlink_into_denied", 0, 0, EACCES, -1},
    };
    check_fdflags(&w, want, COUNT(want));
    at(p, sizeof p, w.deny.allowed, "dangle-target");
    CHECK(exists(p), "creating through the dangling symlink made no %s", p);
    at(p, sizeof p, w.deny.denied, "planted");
    CHECK(!exists(p), "%s was created in the denied directory", p);
    at(p, sizeof p, w.base.denied, "planted");
    CHECK(exists(p), "baseline: %s not created (the symlink test is void)", p);
out:
    twin_teardown(&w);
}

/* ---- 5. a full fd table ---- */

/* Runs "emfile" in both trees; calls check(r, what, tree) on each. */
static void emfile_runs(void (*check)(const struct run *, const char *, const struct tree *)) {
    struct twin w;
    char file[600], trunc[600], fresh[600];
    static struct run r;
    if (!twin_setup(&w, 0)) goto out;
    const struct tree *trees[2] = {&w.base, &w.deny};
    sandlock_policy *pols[2] = {w.pb, w.pd};
    for (int i = 0; i < 2; i++) {
        at(file, sizeof file, trees[i]->allowed, "public");
        at(trunc, sizeof trunc, trees[i]->allowed, "trunc");
        at(fresh, sizeof fresh, trees[i]->allowed, "emfile-new");
        const char *args[] = {"emfile", file, trunc, fresh, NULL};
        run_probe(pols[i], args, &r);
        check(&r, i ? "fs_deny" : "baseline", trees[i]);
    }
out:
    twin_teardown(&w);
}

static void emfile_errnos(const struct run *r, const char *what, const struct tree *t) {
    (void)t;
    int full = -1, trunc = -1, create = -1, dup_e = -1, after = -1;
    char content[80] = "";
    int parsed = sscanf(r->out, "full %d trunc %d create %d dup %d after %d %79s", &full, &trunc, &create, &dup_e,
                        &after, content) == 6;
    fprintf(stderr, "  emfile (%s): %s", what, parsed ? r->out : "(no output)\n");
    CHECK(exited_with(r, 0) && parsed, "%s: reason %d code %d", what, r->reason, r->code);
    CHECK(dup_e == EMFILE, "%s: dup with a full table: %d (the table was not full)", what, dup_e);
    CHECK(full == EMFILE, "%s: open with a full table: %d (want EMFILE)", what, full);
    CHECK(trunc == EMFILE, "%s: open O_TRUNC with a full table: %d (want EMFILE)", what, trunc);
    CHECK(create == EMFILE, "%s: open O_CREAT with a full table: %d (want EMFILE)", what, create);
    CHECK(after == 0 && !strcmp(content, PUBLIC), "%s: open after raising the limit: %d \"%s\"", what, after, content);
}

/* As in the kernel (which takes the fd slot first), an open that fails
 * EMFILE does nothing: no truncation, no file created. */
static void emfile_side_effects(const struct run *r, const char *what, const struct tree *t) {
    char p[600], buf[256];
    CHECK(exited_with(r, 0), "%s: reason %d code %d", what, r->reason, r->code);
    at(p, sizeof p, t->allowed, "trunc");
    read_file(p, buf, sizeof buf);
    CHECK(!strcmp(buf, "TRUNCATE-ME\n"), "%s: the O_TRUNC open that failed EMFILE truncated %s: \"%s\"", what, p, buf);
    at(p, sizeof p, t->allowed, "emfile-new");
    CHECK(!exists(p), "%s: the O_CREAT open that failed EMFILE created %s", what, p);
}

static void emfile_in_the_child(void) { emfile_runs(emfile_errnos); }
static void emfile_has_no_side_effect(void) { emfile_runs(emfile_side_effects); }

/* ---- 6. exec ---- */

static void copy_true(const char *to) {
    int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0) { perror(to); exit(2); }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) { perror(to); exit(2); }
    close(in);
    close(out);
}

static void exec_of_a_denied_binary(void) {
    make_scratch();
    char root[400], allowed_true[600], denied_true[600], p[600];
    struct tree t, base;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    snprintf(root, sizeof root, "%s/base", scratch);
    make_tree(&base, root);
    at(allowed_true, sizeof allowed_true, t.allowed, "true");
    at(denied_true, sizeof denied_true, t.denied, "true");
    copy_true(allowed_true);
    copy_true(denied_true);
    at(p, sizeof p, t.allowed, "link_true"); symlink_ok(denied_true, p);
    at(p, sizeof p, t.allowed, "hard_true"); link_ok(denied_true, p);
    at(p, sizeof p, base.denied, "true"); copy_true(p);
    sandlock_policy *pol = tree_policy(&t, 1, 1), *pb = tree_policy(&base, 0, 0);
    if (!pol || !pb) goto out;
    static struct run r;
    /* Without fs_deny the copy in the denied directory runs. */
    const char *args0[] = {"exec", p, NULL};
    run_probe(pb, args0, &r);
    CHECK(exited_with(&r, 0), "baseline exec %s: reason %d code %d", p, r.reason, r.code);
    /* The allowed copy runs under fs_deny. */
    const char *args1[] = {"exec", allowed_true, NULL};
    run_probe(pol, args1, &r);
    CHECK(exited_with(&r, 0), "exec %s: reason %d code %d (want 0)", allowed_true, r.reason, r.code);
    char up[700];
    snprintf(up, sizeof up, "%s/pubdir/../denied/true", t.allowed);
    char proc[] = "/proc/self/cwd/denied/true";
    const char *denied_forms[] = {denied_true, "denied/true", "./denied/sub/../true", "link_true",
                                  "hard_true",  up,            proc,                   NULL};
    for (int i = 0; denied_forms[i]; i++) {
        const char *args[] = {"exec", denied_forms[i], NULL};
        run_probe(pol, args, &r);
        CHECK(exited_with(&r, EACCES), "exec %s: reason %d code %d (want EACCES)", denied_forms[i], r.reason, r.code);
    }
out:
    sandlock_policy_free(pol);
    sandlock_policy_free(pb);
    cleanup_scratch();
}

/* A script in the allowed tree whose interpreter ("#!") is the denied
 * binary: the kernel would run the denied file as the interpreter (its
 * content mapped into the sandbox). Refused like a direct exec; the same
 * script naming the allowed copy runs. */
static void exec_of_a_denied_interpreter(void) {
    make_scratch();
    char root[400], allowed_true[600], denied_true[600], script[600], good[600], line[700];
    struct tree t;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    at(allowed_true, sizeof allowed_true, t.allowed, "true");
    at(denied_true, sizeof denied_true, t.denied, "true");
    copy_true(allowed_true);
    copy_true(denied_true);
    at(script, sizeof script, t.allowed, "via-denied");
    snprintf(line, sizeof line, "#!%s\n", denied_true);
    write_file(script, line, 0755);
    at(good, sizeof good, t.allowed, "via-allowed");
    snprintf(line, sizeof line, "#!%s\n", allowed_true);
    write_file(good, line, 0755);
    sandlock_policy *pol = tree_policy(&t, 1, 0);
    if (!pol) goto out;
    static struct run r;
    const char *args1[] = {"exec", good, NULL};
    run_probe(pol, args1, &r);
    CHECK(exited_with(&r, 0), "exec %s (#! the allowed copy): reason %d code %d (want 0)", good, r.reason, r.code);
    const char *args2[] = {"exec", script, NULL};
    run_probe(pol, args2, &r);
    CHECK(exited_with(&r, EACCES), "exec %s (#! the denied copy): reason %d code %d (want EACCES)", script, r.reason,
          r.code);
out:
    sandlock_policy_free(pol);
    cleanup_scratch();
}

/* ---- 7. without fs_deny, no open is trapped ---- */

/* Spawns `probe read FILE` under p and never steps the sandbox for up to
 * `ms`: returns what it wrote meanwhile, and whether its stdout reached
 * EOF (it exited). Then supervises it to its end (`*code`). */
static int unstepped(sandlock_policy *p, const char *file, long ms, char *out, size_t size, int *code) {
    const char *argv[] = {probe_path(), "read", file, NULL};
    int pipefd[2];
    out[0] = '\0';
    *code = -1;
    if (pipe2(pipefd, O_CLOEXEC) != 0) return 0;
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sandlock_spawn_opts opts = {sizeof opts, devnull, pipefd[1], -1};
    sandlock_sandbox *sb = NULL;
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(pipefd[1]);
    close(devnull);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    if (r != 0) { close(pipefd[0]); return 0; }
    pid_t pgid = sandlock_sandbox_pid(sb);
    size_t used = 0;
    int eof = 0;
    for (long end = now_ms() + ms; !eof && now_ms() < end;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        poll(&pfd, 1, 20);
        eof = drain_into(pipefd[0], out, size, &used);
    }
    char rest[256] = "";
    supervise_capturing(sb, eof ? -1 : pipefd[0], rest, sizeof rest, DEADLINE_MS, "probe read");
    if (!eof) snprintf(out + used, size - used, "|%s", rest);
    *code = sandlock_sandbox_exit_reason(sb) == SANDLOCK_EXIT_NORMAL ? sandlock_sandbox_exit_code(sb) : -1;
    sandlock_sandbox_free(sb);
    check_nothing_left(pgid);
    close(pipefd[0]);
    return eof;
}

static void no_trap_without_fs_deny(void) {
    make_scratch();
    char root[400], file[600], out[512];
    struct tree t;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    at(file, sizeof file, t.allowed, "public");
    sandlock_policy *plain = tree_policy(&t, 0, 0), *pd = tree_policy(&t, 1, 0);
    if (!plain || !pd) goto out;
    int code;
    /* Without fs_deny the probe's opens (the loader's, then the file's)
     * need no supervisor: it runs to its end with nobody stepping. */
    int eof = unstepped(plain, file, 10000, out, sizeof out, &code);
    CHECK(eof && !strcmp(out, PUBLIC "\n") && code == 0,
          "without fs_deny, unstepped: eof %d out \"%s\" code %d (want it done, nothing trapped)", eof, out, code);
    /* With fs_deny the very first open waits for the supervisor: nothing
     * comes out until the sandbox is stepped (then all of it). */
    eof = unstepped(pd, file, 300, out, sizeof out, &code);
    CHECK(!eof && !strcmp(out, "|" PUBLIC "\n") && code == 0,
          "with fs_deny, unstepped: eof %d out \"%s\" code %d (want nothing before stepping)", eof, out, code);
out:
    sandlock_policy_free(plain);
    sandlock_policy_free(pd);
    cleanup_scratch();
}

/* A process's own fds through their links (/dev/fd/N, /proc/self/fd/N,
 * /dev/stdin: glibc, bash's process substitution and diff go through
 * them) are what they hold: a pipe is fine, a file is judged as itself,
 * a directory fd is a start like any other. */
static void own_fds_through_their_links(void) {
    make_scratch();
    char root[400];
    struct tree t;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    sandlock_policy *p = tree_policy(&t, 1, 0);
    if (!p) goto out;
    const char *script =
        "stat -L -c %F /dev/fd/1; stat -L -c %F /proc/self/fd/1\n"
        "exec 3<public; cat /proc/self/fd/3 /dev/fd/3\n"
        "exec 4<.; cat /dev/fd/4/public; cat /dev/fd/4/denied/secret 2>/dev/null || echo refused-beneath\n"
        "[ -x /bin/bash ] && /bin/bash -c 'diff <(echo a) <(echo a) && echo substituted'\n"
        "cat /dev/stdin 2>/dev/null || echo refused-stdin\n";
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    char secret[600];
    at(secret, sizeof secret, t.denied, "secret");
    /* stdin: the host's own fd of the denied file; read as fd 0 it is the
     * host's choice, reopened through its link it is the denied file. */
    int in = open(secret, O_RDONLY | O_CLOEXEC);
    struct outcome o = run_in(p, argv, in);
    close(in);
    CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "the script: reason %d code %d: %s", o.reason, o.code,
          o.out);
    CHECK(strstr(o.out, "fifo\nfifo\n") != NULL, "a pipe through its link: %s", o.out);
    CHECK(strstr(o.out, PUBLIC "\n" PUBLIC "\n" PUBLIC "\n") != NULL, "a public file through its links: %s", o.out);
    CHECK(strstr(o.out, "refused-beneath") != NULL, "the denied file beneath a directory fd: %s", o.out);
    CHECK(access("/bin/bash", X_OK) != 0 || strstr(o.out, "substituted") != NULL, "process substitution: %s",
          o.out);
    CHECK(strstr(o.out, "refused-stdin") != NULL && strstr(o.out, SECRET) == NULL,
          "the denied file reopened through /dev/stdin: %s", o.out);
out:
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* ---- 8. bad inputs ---- */

#define EXPECT_ERR(call, err, p, needle)                                                               \
    do {                                                                                               \
        int r_ = (call);                                                                               \
        CHECK(r_ == -(err), "%s returned %d, want %d", #call, r_, -(err));                             \
        CHECK(strstr(sandlock_policy_error(p), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", #call, \
              sandlock_policy_error(p), needle);                                                       \
    } while (0)

static void bad_inputs(void) {
    make_scratch();
    char root[400], gone[600], file[600];
    struct tree t;
    snprintf(root, sizeof root, "%s/t", scratch);
    make_tree(&t, root);
    CHECK(sandlock_policy_fs_deny(NULL, t.denied) == -EINVAL, "fs_deny on a NULL policy");
    sandlock_policy *p = tree_policy(&t, 0, 0);
    if (!p) goto out;
    EXPECT_ERR(sandlock_policy_fs_deny(p, NULL), EINVAL, p, "fs_deny");
    CHECK(strstr(sandlock_policy_error(p), "NULL") != NULL, "message \"%s\" lacks NULL", sandlock_policy_error(p));
    EXPECT_ERR(sandlock_policy_fs_deny(p, ""), EINVAL, p, "fs_deny");
    CHECK(strstr(sandlock_policy_error(p), "empty") != NULL, "message \"%s\" does not say empty",
          sandlock_policy_error(p));
    EXPECT_ERR(sandlock_policy_fs_deny(p, "/nonexistent-sandlock-fsdeny/x"), ENOENT, p,
               "\"/nonexistent-sandlock-fsdeny/x\"");
    CHECK(strstr(sandlock_policy_error(p), "fs_deny") != NULL, "message \"%s\" lacks fs_deny",
          sandlock_policy_error(p));
    /* Nothing was added: the policy runs, and the "denied" tree is not. */
    at(file, sizeof file, t.denied, "secret");
    static struct run r;
    const char *args[] = {"read", file, NULL};
    run_probe(p, args, &r);
    CHECK(exited_with(&r, 0) && !strcmp(r.out, SECRET "\n"), "after the refused calls: code %d out \"%s\"", r.code,
          r.out);
    /* A denied path gone by spawn time fails the spawn, naming it. */
    snprintf(gone, sizeof gone, "%s/gone", t.allowed);
    mkdir_ok(gone);
    sandlock_policy *q = tree_policy(&t, 1, 0);
    if (q) {
        CHECK(sandlock_policy_fs_deny(q, gone) == 0, "fs_deny %s: %s", gone, sandlock_policy_error(q));
        rmdir(gone);
        const char *argv[] = {probe_path(), "exit", "0", NULL};
        sandlock_sandbox *sb = NULL;
        int s = sandlock_spawn(q, argv, NULL, &sb);
        CHECK(s == -ENOENT && strstr(sandlock_policy_error(q), gone),
              "spawn with a denied path gone: %d \"%s\" (want -ENOENT naming %s)", s, sandlock_policy_error(q), gone);
        if (s == 0) {
            supervise(sb);
            sandlock_sandbox_free(sb);
        }
        sandlock_policy_free(q);
    }
    sandlock_policy_free(p);
out:
    cleanup_scratch();
}

int main(void) {
    RUN(own_fds_through_their_links);
    RUN(path_forms);
    RUN(o_path_opens);
    RUN(resolve_in_root_absolute);
    RUN(rename_exchange_race);
    RUN(read_only_stays_read_only);
    RUN(path_calls);
    RUN(fd_flags);
    RUN(o_path_fd);
    RUN(o_tmpfile);
    RUN(create_mode_and_umask);
    RUN(create_in_the_denied_dir);
    RUN(create_through_dangling_symlinks);
    RUN(emfile_in_the_child);
    RUN(emfile_has_no_side_effect);
    RUN(exec_of_a_denied_binary);
    RUN(exec_of_a_denied_interpreter);
    RUN(no_trap_without_fs_deny);
    RUN(bad_inputs);
    HARNESS_END();
}

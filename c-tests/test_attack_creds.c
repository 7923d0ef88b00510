/* The supervisor's own rights used for the job (issue #14, class 5): what
 * the supervisor does on the job's behalf (unix connect and bind, UDP
 * bind, sends) must be judged with the job's rights. The host runs as
 * root with every capability; the job is root without any, so a socket or
 * a directory of another user, or a privileged port, is out of its reach
 * while the host could. The job is this program re-executed in the sandbox
 * with "job" as its first argument; every file is in the test's scratch
 * tree (S/w is the fs_write tree):
 *
 *   S/w/theirs/         a directory of uid 65534, mode 0700
 *   S/w/their.sock      a listening socket of uid 65534, mode 0600
 *   S/w/open.sock       a listening socket of root, mode 0666 */
#include "harness.h"
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

static char self[4096];
static char dir[1024];

static int job_errno(long r) { return r < 0 ? errno : 0; }

static int unix_connect(const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int e = job_errno(connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    return e;
}

static int unix_bind(const char *path) {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int e = job_errno(bind(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    return e;
}

static int job(const char *d) {
    char path[2048];
    snprintf(path, sizeof path, "%s/w/their.sock", d);
    printf("connect_theirs %d\n", unix_connect(path));
    snprintf(path, sizeof path, "%s/w/open.sock", d);
    printf("connect_open %d\n", unix_connect(path));
    snprintf(path, sizeof path, "%s/w/theirs/new.sock", d);
    printf("bind_in_theirs %d\n", unix_bind(path));
    umask(077);
    snprintf(path, sizeof path, "%s/w/mine.sock", d);
    printf("bind_mine %d\n", unix_bind(path));
    /* a privileged UDP port: the job has no CAP_NET_BIND_SERVICE */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int low = -1;
    for (int port = 1000; port > 900 && low != EACCES && low != EPERM; port--) {
        a.sin_port = htons((uint16_t)port);
        low = job_errno(bind(s, (struct sockaddr *)&a, sizeof a));
        if (low == 0) break;
    }
    printf("bind_low_port %d\n", low);
    close(s);
    return 0;
}

static int listen_at(const char *path, uid_t owner, mode_t mode) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 8) == 0, "listen %s", path);
    CHECK(chown(path, owner, owner) == 0 && chmod(path, mode) == 0, "chown %s", path);
    return s;
}

static void the_job_acts_with_its_own_rights(void) {
    if (geteuid() != 0) {
        printf("  (not root: the host's rights are the job's, nothing to tell apart)\n");
        return;
    }
    make_scratch();
    snprintf(dir, sizeof dir, "%s", scratch);
    char w[1100], path[2048];
    snprintf(w, sizeof w, "%s/w", dir);
    CHECK(mkdir(w, 0755) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/theirs", w);
    CHECK(mkdir(path, 0700) == 0 && chown(path, 65534, 65534) == 0, "mkdir theirs");
    snprintf(path, sizeof path, "%s/their.sock", w);
    int theirs = listen_at(path, 65534, 0600);
    snprintf(path, sizeof path, "%s/open.sock", w);
    int open_one = listen_at(path, 0, 0666);

    sandlock_policy *p = allow_self_job(base_policy(), self);
    CHECK(sandlock_policy_fs_write(p, w) == 0, "fs_write");
    /* UDP allowed: bind is then made by the supervisor */
    CHECK(sandlock_policy_net_allow(p, "udp://127.0.0.1:9") == 0, "%s", sandlock_policy_error(p));
    CHECK(sandlock_policy_net_bind(p, "1-1000") == 0, "%s", sandlock_policy_error(p));
    const char *argv[] = {self, "job", dir, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    CHECK(key_value(o.out, "connect_theirs") == EACCES, "connect to another user's 0600 socket: %ld",
          key_value(o.out, "connect_theirs"));
    CHECK(key_value(o.out, "connect_open") == 0, "connect to a 0666 socket: %ld", key_value(o.out, "connect_open"));
    CHECK(key_value(o.out, "bind_in_theirs") == EACCES, "bind in another user's 0700 directory: %ld",
          key_value(o.out, "bind_in_theirs"));
    snprintf(path, sizeof path, "%s/theirs/new.sock", w);
    CHECK(access(path, F_OK) != 0, "a socket file was made in another user's directory");
    CHECK(key_value(o.out, "bind_mine") == 0, "bind in the tree: %ld", key_value(o.out, "bind_mine"));
    snprintf(path, sizeof path, "%s/mine.sock", w);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "the new socket's mode is %o, not the job's umask's",
          st.st_mode & 0777);
    long low = key_value(o.out, "bind_low_port");
    CHECK(low == EACCES || low == EPERM, "bind of a privileged port: %ld", low);
    close(theirs);
    close(open_one);
    sandlock_policy_free(p);
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 2 && strcmp(argv[1], "job") == 0) return job(argv[2]);
    RUN(the_job_acts_with_its_own_rights);
    HARNESS_END();
}

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
 *   S/w/open.sock       a listening socket of root, mode 0666
 *
 * The peer of a connect made on the job's behalf must see a process of
 * the sandbox in SO_PEERCRED, not the host (whose pid a service could
 * trust, or kill). */
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

/* Receives one datagram on `s` (non-blocking): its length, the sender's
 * pid from SCM_CREDENTIALS (0 if none) and how many fds came with it. */
static long receive_dgram(int s, pid_t *sender, int *fds) {
    char data[256];
    union { char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = {data, sizeof data};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    long n = recvmsg(s, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    *sender = 0;
    *fds = 0;
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *sender = cred.pid;
        }
        if (c->cmsg_type == SCM_RIGHTS) {
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                close(fd);
            }
            *fds += count;
        }
    }
    return n;
}

static int dgram_at(const char *path) {
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind %s", path);
    CHECK(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED");
    chmod(path, 0666);
    return s;
}

/* The job's sends: a datagram to S/w/in.dgram carrying an O_PATH fd of
 * S/out.dgram (outside every tree); a socketpair's message, whose sender
 * pid the receiving end prints; a sendmmsg of three entries. */
static int sender_job(const char *d) {
    char in[100], out[100];
    snprintf(in, sizeof in, "%.80s/w/in.dgram", d);
    snprintf(out, sizeof out, "%.80s/out.dgram", d);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", in);
    int outside = open(out, O_PATH);
    char ping[] = "ping";
    struct iovec iov = {ping, 4};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &outside, sizeof outside);
    printf("outside_opened %d\n", outside >= 0);
    printf("sent_with_fd %ld\n", outside >= 0 ? (long)sendmsg(s, &msg, 0) : -1L);
    printf("sendto %ld\n", (long)sendto(s, "pong", 4, 0, (struct sockaddr *)&a, sizeof a));

    int pair[2], on = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    setsockopt(pair[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    struct msghdr plain = {.msg_iov = &iov, .msg_iovlen = 1};
    printf("pair_sent %ld\n", (long)sendmsg(pair[0], &plain, 0));
    pid_t sender;
    int fds;
    printf("pair_received %ld\n", receive_dgram(pair[1], &sender, &fds));
    printf("pair_sender %d\n", sender);

    struct mmsghdr batch[3];
    memset(batch, 0, sizeof batch);
    for (int i = 0; i < 3; i++) batch[i].msg_hdr.msg_iov = &iov, batch[i].msg_hdr.msg_iovlen = 1;
    int total = 0, calls = 0;
    while (total < 3 && calls < 10) {
        int r = sendmmsg(pair[0], batch + total, 3 - total, 0);
        calls++;
        if (r <= 0) break;
        total += r;
    }
    int got = 0;
    while (receive_dgram(pair[1], &sender, &fds) == 4) got++;
    printf("mmsg_sent %d\n", total);
    printf("mmsg_received %d\n", got);
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

/* A fresh scratch tree with its fs_write tree S/w, named in `w`. */
static void make_tree(char *w, size_t size) {
    make_scratch();
    snprintf(dir, sizeof dir, "%s", scratch);
    snprintf(w, size, "%s/w", dir);
    CHECK(mkdir(w, 0755) == 0, "mkdir");
}

static void the_job_acts_with_its_own_rights(void) {
    if (geteuid() != 0) {
        printf("  (not root: the host's rights are the job's, nothing to tell apart)\n");
        return;
    }
    char w[1100], path[2048];
    make_tree(w, sizeof w);
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
    int accepted = accept4(open_one, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK(accepted >= 0, "the job's connect to open.sock is not queued: %s", strerror(errno));
    struct ucred peer = {0};
    socklen_t peer_len = sizeof peer;
    CHECK(accepted >= 0 && getsockopt(accepted, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0, "SO_PEERCRED");
    CHECK(peer.pid > 0 && peer.pid != getpid(), "the peer sees pid %d, the host is %d", peer.pid, getpid());
    if (accepted >= 0) close(accepted);
    long low = key_value(o.out, "bind_low_port");
    CHECK(low == EACCES || low == EPERM, "bind of a privileged port: %ld", low);
    close(theirs);
    close(open_one);
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* A receiver that asks for its senders' credentials (SO_PASSCRED) sees a
 * process of the sandbox, never the host; a datagram goes to the socket
 * file checked, whatever fds it carries. */
static void the_peer_never_sees_the_host(void) {
    char w[1100], path[2048];
    make_tree(w, sizeof w);
    snprintf(path, sizeof path, "%s/in.dgram", w);
    int in = dgram_at(path);
    snprintf(path, sizeof path, "%s/out.dgram", dir);
    int out = dgram_at(path);
    sandlock_policy *p = allow_self_job(base_policy(), self);
    CHECK(sandlock_policy_fs_write(p, w) == 0, "fs_write");
    CHECK(sandlock_policy_fs_read(p, dir) == 0, "fs_read");
    const char *argv[] = {self, "sender", dir, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.spawn == 0 && o.code == 0, "job: spawn %d code %d: %s", o.spawn, o.code, sandlock_policy_error(p));
    CHECK(key_value(o.out, "outside_opened") == 1, "the job could not take an O_PATH fd of out.dgram");
    CHECK(key_value(o.out, "sent_with_fd") == 4, "sendmsg with an fd: %ld", key_value(o.out, "sent_with_fd"));
    CHECK(key_value(o.out, "sendto") == 4, "sendto: %ld", key_value(o.out, "sendto"));
    pid_t sender;
    int fds;
    long first = receive_dgram(in, &sender, &fds);
    CHECK(first == 4 && fds == 1, "the datagram with an fd: %ld bytes, %d fds", first, fds);
    CHECK(sender > 0 && sender != getpid(), "its sender is %d, the host is %d", sender, getpid());
    long second = receive_dgram(in, &sender, &fds);
    CHECK(second == 4 && sender > 0 && sender != getpid(), "sendto's datagram: %ld bytes from %d", second, sender);
    long leaked = receive_dgram(out, &sender, &fds);
    CHECK(leaked == -EAGAIN, "a datagram reached the socket outside every tree (%ld bytes)", leaked);
    CHECK(key_value(o.out, "pair_sent") == 4 && key_value(o.out, "pair_received") == 4, "socketpair: %ld %ld",
          key_value(o.out, "pair_sent"), key_value(o.out, "pair_received"));
    long pair_sender = key_value(o.out, "pair_sender");
    CHECK(pair_sender > 0 && pair_sender != getpid(), "the socketpair's receiver sees pid %ld, the host is %d",
          pair_sender, getpid());
    CHECK(key_value(o.out, "mmsg_sent") == 3 && key_value(o.out, "mmsg_received") == 3, "sendmmsg: %ld sent, %ld came",
          key_value(o.out, "mmsg_sent"), key_value(o.out, "mmsg_received"));
    close(in);
    close(out);
    sandlock_policy_free(p);
    cleanup_scratch();
}

int main(int argc, char **argv) {
    if (read_self(self, sizeof self) != 0) return 2;
    if (argc > 2 && strcmp(argv[1], "job") == 0) return job(argv[2]);
    if (argc > 2 && strcmp(argv[1], "sender") == 0) return sender_job(argv[2]);
    RUN(the_job_acts_with_its_own_rights);
    RUN(the_peer_never_sees_the_host);
    HARNESS_END();
}

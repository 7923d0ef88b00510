/* Attacks on the inet side of on-behalf networking (issue #14, classes 6,
 * 7 and 11). The job is this very program, re-executed in the sandbox with
 * "job" as its first argument; the host side opens its own listeners on
 * loopback and, as root, a packet socket on lo that sees every frame, so a
 * datagram sent somewhere the allowlist does not name is seen even when no
 * listener would accept it. Every allowed destination of the redirect
 * tests is a documentation address (192.0.2.1, 2001:db8::1) that loopback
 * never carries: a frame with the test's marker on lo is an escape. */
#include "harness.h"
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef IPV6_RTHDR
#define IPV6_RTHDR 57
#endif
#ifndef IP_UNICAST_IF
#define IP_UNICAST_IF 50
#endif
#ifndef IPV6_2292PKTOPTIONS
#define IPV6_2292PKTOPTIONS 6
#endif

static char marker[64];

/* ---- the job (runs inside the sandbox) ---- */

static int job_errno(long r) { return r < 0 ? errno : 0; }

/* Sets one option on a new datagram socket of `family`, then sends the
   marker to `to`; prints "<name>_set=E <name>_send=E" (errnos, 0 = done). */
static void job_set_then_send(const char *name, int family, int level, int option,
                              const void *value, size_t value_len, const void *to,
                              socklen_t to_len) {
    int s = socket(family, SOCK_DGRAM, 0);
    int set = job_errno(setsockopt(s, level, option, value, (socklen_t)value_len));
    int sent = job_errno(sendto(s, marker, strlen(marker), 0, to, to_len));
    printf("%s_set=%d %s_send=%d\n", name, set, name, sent);
    close(s);
}

static void fill_in6(struct sockaddr_in6 *a, const char *addr, int port) {
    memset(a, 0, sizeof *a);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, addr, &a->sin6_addr);
}

static void fill_in4(struct sockaddr_in *a, const char *addr, int port) {
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &a->sin_addr);
}

/* A type 4 (segment routing) header whose active segment is `seg`. */
static size_t srh(unsigned char *buf, const char *seg) {
    memset(buf, 0, 40);
    buf[1] = 4; /* hdrlen: two segments of 16 bytes, in 8-byte units */
    buf[2] = 4; /* type 4 */
    buf[3] = 1; /* segments_left */
    buf[4] = 1; /* first_segment */
    inet_pton(AF_INET6, seg, buf + 8 + 16);
    return 40;
}

/* A type 2 (mobile IPv6) header whose one address is `seg`. */
static size_t rthdr2(unsigned char *buf, const char *seg) {
    memset(buf, 0, 24);
    buf[1] = 2;
    buf[2] = 2;
    buf[3] = 1;
    inet_pton(AF_INET6, seg, buf + 8);
    return 24;
}

/* A loose source route through `hop`, padded to 8 bytes. */
static size_t lsrr(unsigned char *buf, const char *hop) {
    buf[0] = IPOPT_NOP;
    buf[1] = IPOPT_LSRR;
    buf[2] = 7;
    buf[3] = 4;
    inet_pton(AF_INET, hop, buf + 4);
    return 8;
}

static long send_with_cmsg(int fd, const void *to, socklen_t tolen, int level, int type,
                           const void *data, size_t len) {
    union { struct cmsghdr h; unsigned char b[256]; } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {marker, strlen(marker)};
    struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control.b, .msg_controllen = CMSG_SPACE(len)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), data, len);
    return sendmsg(fd, &m, 0);
}

/* Every way tried to route a datagram for an allowed address elsewhere.
 * Prints what each call returned (0 or an errno). */
static int job_redirect(int port) {
    unsigned char buf[64];
    struct sockaddr_in6 allowed6;
    fill_in6(&allowed6, "2001:db8::1", port);
    struct sockaddr_in allowed4;
    fill_in4(&allowed4, "192.0.2.1", port);

    size_t len = srh(buf, "::1");
    job_set_then_send("rthdr4", AF_INET6, IPPROTO_IPV6, IPV6_RTHDR, buf, len, &allowed6, sizeof allowed6);
    len = rthdr2(buf, "::1");
    job_set_then_send("rthdr2", AF_INET6, IPPROTO_IPV6, IPV6_RTHDR, buf, len, &allowed6, sizeof allowed6);

    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    len = rthdr2(buf, "::1");
    int sent = job_errno(send_with_cmsg(s, &allowed6, sizeof allowed6, IPPROTO_IPV6, IPV6_RTHDR, buf, len));
    printf("rthdr_cmsg=%d\n", sent);
    close(s);

    /* RFC 2292 sticky options: a control buffer handed to setsockopt */
    union { struct cmsghdr h; unsigned char b[128]; } opts;
    memset(&opts, 0, sizeof opts);
    len = rthdr2(buf, "::1");
    opts.h.cmsg_level = IPPROTO_IPV6;
    opts.h.cmsg_type = IPV6_RTHDR;
    opts.h.cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(&opts.h), buf, len);
    job_set_then_send("pktoptions", AF_INET6, IPPROTO_IPV6, IPV6_2292PKTOPTIONS, opts.b,
                      CMSG_SPACE(len), &allowed6, sizeof allowed6);
    len = lsrr(buf, "127.0.0.1");
    job_set_then_send("lsrr", AF_INET, IPPROTO_IP, IP_OPTIONS, buf, len, &allowed4, sizeof allowed4);

    s = socket(AF_INET, SOCK_DGRAM, 0);
    len = lsrr(buf, "127.0.0.1");
    sent = job_errno(send_with_cmsg(s, &allowed4, sizeof allowed4, IPPROTO_IP, IP_RETOPTS, buf, len));
    printf("lsrr_cmsg=%d\n", sent);
    close(s);

    job_set_then_send("bindtodevice", AF_INET, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3, &allowed4,
                      sizeof allowed4);

    s = socket(AF_INET, SOCK_DGRAM, 0);
    struct in_pktinfo info = {.ipi_ifindex = (int)if_nametoindex("lo")};
    sent = job_errno(send_with_cmsg(s, &allowed4, sizeof allowed4, IPPROTO_IP, IP_PKTINFO, &info, sizeof info));
    printf("pktinfo_ifindex=%d\n", sent);
    close(s);
    int lo_index = (int)htonl(if_nametoindex("lo"));
    job_set_then_send("unicast_if", AF_INET, IPPROTO_IP, IP_UNICAST_IF, &lo_index, sizeof lo_index,
                      &allowed4, sizeof allowed4);

    s = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    int t = job_errno(setsockopt(s, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one));
    int f = job_errno(setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof one));
    printf("transparent=%d freebind=%d\n", t, f);
    close(s);

    /* TCP repair mode sets a socket's addresses by hand: CAP_NET_ADMIN */
    s = socket(AF_INET, SOCK_STREAM, 0);
    printf("tcp_repair=%d\n", job_errno(setsockopt(s, IPPROTO_TCP, TCP_REPAIR, &one, sizeof one)));
    close(s);
    fflush(stdout);
    return 0;
}

/* Datagrams to `port` on 127.0.0.1 (not allowed) by other roads. */
static int job_other_roads(int allowed_port, int port) {
    struct sockaddr_in6 mapped;
    fill_in6(&mapped, "::ffff:127.0.0.1", port);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    printf("mapped=%d\n", job_errno(sendto(s, marker, strlen(marker), 0, (void *)&mapped, sizeof mapped)));
    close(s);

    struct sockaddr_in any;
    fill_in4(&any, "0.0.0.0", port);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    printf("any=%d\n", job_errno(sendto(s, marker, strlen(marker), 0, (void *)&any, sizeof any)));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    struct sockaddr_in bcast;
    fill_in4(&bcast, "127.255.255.255", port);
    printf("broadcast=%d\n", job_errno(sendto(s, marker, strlen(marker), 0, (void *)&bcast, sizeof bcast)));
    struct in_addr lo;
    inet_pton(AF_INET, "127.0.0.1", &lo);
    setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
    struct sockaddr_in group;
    fill_in4(&group, "224.0.0.1", port);
    printf("multicast=%d\n", job_errno(sendto(s, marker, strlen(marker), 0, (void *)&group, sizeof group)));

    /* the allowed port, with a pktinfo naming loopback as source */
    struct sockaddr_in ok;
    fill_in4(&ok, "127.0.0.1", allowed_port);
    struct in_pktinfo info = {0};
    inet_pton(AF_INET, "127.0.0.1", &info.ipi_spec_dst);
    printf("pktinfo=%d\n", job_errno(send_with_cmsg(s, &ok, sizeof ok, IPPROTO_IP, IP_PKTINFO, &info, sizeof info)));
    close(s);

    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in tcp;
    fill_in4(&tcp, "127.0.0.1", port);
    printf("fastopen=%d\n", job_errno(sendto(s, marker, strlen(marker), MSG_FASTOPEN, (void *)&tcp, sizeof tcp)));
    /* no address: not trapped, and the kernel has none to connect to */
    printf("fastopen_null=%d\n", job_errno(sendto(s, marker, strlen(marker), MSG_FASTOPEN, NULL, 0)));
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
    printf("fastopen_connect=%d\n", job_errno(connect(s, (void *)&tcp, sizeof tcp)));
    close(s);

    /* sendfile and splice name no address: an unconnected socket has none */
    s = socket(AF_INET, SOCK_DGRAM, 0);
    int file = open("/proc/self/exe", O_RDONLY);
    printf("sendfile=%d\n", job_errno(sendfile(s, file, NULL, 64)));
    close(file);
    close(s);
    fflush(stdout);
    return 0;
}

/* Zero-copy sends of `total` bytes of 'J' to the allowed TCP port. */
static int job_zerocopy(int port, int total) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    fill_in4(&a, "127.0.0.1", port);
    int small = 4096;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(s, (void *)&a, sizeof a) != 0) { printf("connect=%d\n", errno); return 1; }
    int one = 1;
    int zc = job_errno(setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one));
    static char chunk[60000];
    memset(chunk, 'J', sizeof chunk);
    int sent = 0, err = 0;
    while (sent < total) {
        struct iovec iov = {chunk, (size_t)(total - sent) < sizeof chunk ? (size_t)(total - sent) : sizeof chunk};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = sendmsg(s, &m, MSG_ZEROCOPY);
        if (n < 0) { err = errno; break; }
        sent += (int)n;
    }
    printf("so_zerocopy=%d sent=%d err=%d\n", zc, sent, err);
    fflush(stdout);
    close(s);
    return 0;
}

/* One sendmmsg of two large entries on a blocking TCP socket: the kernel
 * sends each whole. */
static int job_stream_sendmmsg(int port, int size) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    fill_in4(&a, "127.0.0.1", port);
    int small = 4096;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(s, (void *)&a, sizeof a) != 0) { printf("connect=%d\n", errno); return 1; }
    char *chunk = malloc((size_t)size);
    memset(chunk, 'J', (size_t)size);
    struct iovec iov[2] = {{chunk, (size_t)size}, {chunk, (size_t)size}};
    struct mmsghdr msgs[2] = {{.msg_hdr = {.msg_iov = &iov[0], .msg_iovlen = 1}},
                              {.msg_hdr = {.msg_iov = &iov[1], .msg_iovlen = 1}}};
    int n = sendmmsg(s, msgs, 2, 0);
    printf("n=%d len0=%u len1=%u\n", n, msgs[0].msg_len, msgs[1].msg_len);
    fflush(stdout);
    free(chunk);
    close(s);
    return 0;
}

/* A control buffer whose lengths wrap: the walk must not go round. */
static int job_wrapping_cmsg(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    fill_in4(&a, "127.0.0.1", port);
    uint64_t control[4];
    control[0] = 16;                  /* a header-only message */
    control[1] = (uint64_t)-8;        /* its level and type, read as a length from 8 */
    control[2] = (uint64_t)-8;        /* the next length: back to 8 */
    control[3] = 0;
    struct iovec iov = {marker, strlen(marker)};
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control, .msg_controllen = sizeof control};
    printf("wrap=%d\n", job_errno(sendmsg(s, &m, 0)));
    fflush(stdout);
    return 0;
}

/* sendmmsg of 1024 datagrams of 1024 small iovecs each, `rounds` times. */
static int job_big_sendmmsg(int port, int rounds) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    fill_in4(&a, "127.0.0.1", port);
    static char bytes[64];
    memset(bytes, 'M', sizeof bytes);
    static struct iovec iov[1024];
    for (int i = 0; i < 1024; i++) iov[i] = (struct iovec){bytes, 60};
    static struct mmsghdr msgs[1024];
    for (int i = 0; i < 1024; i++)
        msgs[i].msg_hdr = (struct msghdr){.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = iov, .msg_iovlen = 1024};
    long total = 0;
    for (int r = 0; r < rounds; r++) {
        int n = sendmmsg(s, msgs, 1024, 0);
        if (n < 0) { printf("sendmmsg=%d\n", errno); return 1; }
        total += n;
    }
    printf("messages=%ld\n", total);
    fflush(stdout);
    return 0;
}

static int job(int argc, char **argv) {
    if (argc < 4) return 2;
    snprintf(marker, sizeof marker, "%s", argv[2]);
    const char *cmd = argv[3];
    int a = argc > 4 ? atoi(argv[4]) : 0, b = argc > 5 ? atoi(argv[5]) : 0;
    if (!strcmp(cmd, "redirect")) return job_redirect(a);
    if (!strcmp(cmd, "roads")) return job_other_roads(a, b);
    if (!strcmp(cmd, "zerocopy")) return job_zerocopy(a, b);
    if (!strcmp(cmd, "stream_mmsg")) return job_stream_sendmmsg(a, b);
    if (!strcmp(cmd, "wrap")) return job_wrapping_cmsg(a);
    if (!strcmp(cmd, "mmsg")) return job_big_sendmmsg(a, b);
    return 2;
}

/* ---- the host ---- */

static char self[4096];

static sandlock_policy *job_policy(const char *rule) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    CHECK(sandlock_policy_net_allow(p, rule) == 0, "%s: %s", rule, sandlock_policy_error(p));
    return p;
}

static struct outcome run_job(sandlock_policy *p, const char *cmd, int a, int b) {
    char as[16], bs[16];
    snprintf(as, sizeof as, "%d", a);
    snprintf(bs, sizeof bs, "%d", b);
    const char *argv[] = {self, "job", marker, cmd, as, bs, NULL};
    return run(p, argv);
}

struct listener {
    int fd;
    int port;
};

/* port 0: one the kernel picks. A given port may be taken by another
   program (EADDRINUSE): try_listen_on then returns fd -1. */
static struct listener try_listen_on(int family, int type, const char *addr, int port) {
    struct listener l = {-1, 0};
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET6) {
        fill_in6((struct sockaddr_in6 *)&ss, addr, port);
        len = sizeof(struct sockaddr_in6);
    } else {
        fill_in4((struct sockaddr_in *)&ss, addr, port);
        len = sizeof(struct sockaddr_in);
    }
    l.fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (bind(l.fd, (void *)&ss, len) != 0) {
        if (errno == EADDRINUSE && port != 0) { close(l.fd); l.fd = -1; return l; }
        perror("bind"); exit(2);
    }
    if (type == SOCK_STREAM) listen(l.fd, 16);
    getsockname(l.fd, (void *)&ss, &len);
    l.port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                      : ((struct sockaddr_in *)&ss)->sin_port);
    return l;
}

static struct listener listen_on(int family, int type, const char *addr, int port) {
    struct listener l = try_listen_on(family, type, addr, port);
    if (l.fd < 0) { fprintf(stderr, "bind: port %d in use\n", port); exit(2); }
    return l;
}

/* A second listener on the first one's port (another family or type):
   the pair is drawn again while that port is taken by someone else. */
static void listen_pair(struct listener *first, struct listener *second,
                        int f1, int t1, const char *a1, int f2, int t2, const char *a2) {
    for (int tries = 0; tries < 100; tries++) {
        *first = listen_on(f1, t1, a1, 0);
        *second = try_listen_on(f2, t2, a2, first->port);
        if (second->fd >= 0) return;
        close(first->fd);
    }
    fprintf(stderr, "bind: no free port pair\n");
    exit(2);
}

/* Datagrams (or connections) that reached `l` since last asked. */
static int arrived(struct listener *l, int stream) {
    int n = 0;
    for (;;) {
        char buf[2048];
        if (stream) {
            int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) break;
            close(c);
        } else if (recv(l->fd, buf, sizeof buf, MSG_DONTWAIT) < 0) {
            break;
        }
        n++;
    }
    return n;
}

/* Every frame on lo, from now on (-1 when the host may not: not root). */
static int watch_loopback(void) {
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd < 0) return -1;
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                             .sll_ifindex = (int)if_nametoindex("lo")};
    if (bind(fd, (void *)&ll, sizeof ll) != 0) { close(fd); return -1; }
    return fd;
}

/* Frames seen on lo that carry the marker. */
static int frames_with_marker(int fd) {
    int n = 0;
    unsigned char buf[70000];
    size_t mlen = strlen(marker);
    ssize_t len;
    while ((len = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        if (memmem(buf, (size_t)len, marker, mlen)) n++;
    return n;
}

static int value(const char *out, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "%s=", key);
    const char *at = strstr(out, k);
    return at ? atoi(at + strlen(k)) : -1000;
}

static void routing_headers_and_ip_options_do_not_redirect(void) {
    struct listener u6, u4;
    listen_pair(&u6, &u4, AF_INET6, SOCK_DGRAM, "::1", AF_INET, SOCK_DGRAM, "127.0.0.1");
    int lo = watch_loopback();
    char rule[128];
    snprintf(rule, sizeof rule, "udp://[2001:db8::1]:%d", u6.port);
    sandlock_policy *p = job_policy(rule);
    snprintf(rule, sizeof rule, "192.0.2.1:%d", u6.port);
    CHECK(sandlock_policy_net_allow(p, rule) == 0, "%s", rule);
    struct outcome o = run_job(p, "redirect", u6.port, 0);
    printf("  %s", o.out);
    CHECK(o.code == 0, "job: %d", o.code);
    usleep(100000);
    const char *refused[] = {"rthdr4_set", "rthdr2_set", "rthdr_cmsg", "pktoptions_set", "lsrr_set",
                             "lsrr_cmsg", "bindtodevice_set", "pktinfo_ifindex", "unicast_if_set",
                             "transparent", "freebind", "tcp_repair"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK(value(o.out, refused[i]) != 0 && value(o.out, refused[i]) != -1000, "%s succeeded",
              refused[i]);
    CHECK(arrived(&u6, 0) == 0 && arrived(&u4, 0) == 0, "a listener on loopback got a datagram");
    if (lo >= 0) {
        int frames = frames_with_marker(lo);
        CHECK(frames == 0, "%d frames routed onto lo by a header or option", frames);
        close(lo);
    } else {
        printf("  (no packet socket: checked the listeners only)\n");
    }
    sandlock_policy_free(p);
    close(u6.fd);
    close(u4.fd);
}

static void other_roads_to_a_denied_port(void) {
    struct listener allowed = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
    struct listener other, other_tcp;
    listen_pair(&other, &other_tcp, AF_INET, SOCK_DGRAM, "0.0.0.0", AF_INET, SOCK_STREAM, "127.0.0.1");
    char rule[128];
    snprintf(rule, sizeof rule, "127.0.0.1:%d", allowed.port);
    sandlock_policy *p = job_policy(rule);
    struct outcome o = run_job(p, "roads", allowed.port, other.port);
    printf("  %s", o.out);
    CHECK(o.code == 0, "job: %d", o.code);
    const char *keys[] = {"mapped", "any", "broadcast", "multicast", "fastopen", "fastopen_null",
                          "fastopen_connect", "sendfile"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK(value(o.out, keys[i]) != 0, "%s to the denied port succeeded", keys[i]);
    CHECK(value(o.out, "pktinfo") == 0, "a pktinfo with the allowed address: %d", value(o.out, "pktinfo"));
    usleep(100000);
    CHECK(arrived(&other, 0) == 0, "the denied UDP port got a datagram");
    CHECK(arrived(&other_tcp, 1) == 0, "the denied TCP port got a connection");
    CHECK(arrived(&allowed, 0) == 1, "the allowed port did not get the pktinfo datagram");
    sandlock_policy_free(p);
    close(allowed.fd);
    close(other.fd);
    close(other_tcp.fd);
}

/* What the supervisor freed is the host's again: fill it with 'H' while
 * the kernel may still hold pages of a zero-copy send. */
static void churn_heap(void) {
    enum { N = 16 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(60000 + 64 * i);
        if (blocks[i]) memset(blocks[i], 'H', 60000 + 64 * i);
    }
    for (int i = 0; i < N; i++) free(blocks[i]);
}

/* Runs `cmd` against the TCP listener `l`, reading what arrives a little
 * at a time while the host's heap is churned. */
static void stream_to(struct listener *l, const char *rule, const char *cmd, int arg, long *received,
                      long *foreign, char *text, size_t size) {
    sandlock_policy *p = job_policy(rule);
    char as[16], bs[16];
    snprintf(as, sizeof as, "%d", l->port);
    snprintf(bs, sizeof bs, "%d", arg);
    const char *argv[] = {self, "job", marker, cmd, as, bs, NULL};
    int out[2];
    CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe");
    sandlock_spawn_opts opts = {sizeof opts, -1, out[1], -1};
    sandlock_sandbox *sb = NULL;
    int r = sandlock_spawn(p, argv, &opts, &sb);
    close(out[1]);
    CHECK(r == 0, "spawn: %d %s", r, sandlock_policy_error(p));
    *received = *foreign = 0;
    text[0] = '\0';
    if (r != 0) { close(out[0]); sandlock_policy_free(p); return; }
    int conn = -1;
    long deadline = now_ms() + 30000;
    int done = 0;
    while (!done && now_ms() < deadline) {
        struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
        poll(&pfd, 1, 2);
        for (;;) {
            int st = sandlock_supervise_step(sb);
            churn_heap();
            if (st == SANDLOCK_STEP_EXITED || st < 0) { done = 1; break; }
            if (st != SANDLOCK_STEP_MORE) break;
        }
        if (conn < 0) conn = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn >= 0) {
            char buf[2048];
            ssize_t n = recv(conn, buf, sizeof buf, MSG_DONTWAIT);
            for (ssize_t i = 0; i < n; i++) *foreign += buf[i] != 'J';
            if (n > 0) *received += n;
        }
    }
    if (conn >= 0) {
        char buf[65536];
        ssize_t n;
        while ((n = recv(conn, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
            for (ssize_t i = 0; i < n; i++) *foreign += buf[i] != 'J';
            *received += n;
        }
        close(conn);
    }
    ssize_t n = read(out[0], text, size - 1);
    text[n > 0 ? n : 0] = '\0';
    CHECK(done, "the job did not finish");
    if (sb) sandlock_sandbox_free(sb);
    close(out[0]);
    sandlock_policy_free(p);
}

static void zerocopy_sends_only_the_jobs_bytes(void) {
    struct listener l = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
    int small = 4096;
    setsockopt(l.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    char rule[64], text[512];
    snprintf(rule, sizeof rule, "tcp://127.0.0.1:%d", l.port);
    enum { TOTAL = 3000000 };
    long received, foreign;
    stream_to(&l, rule, "zerocopy", TOTAL, &received, &foreign, text, sizeof text);
    printf("  %s  received %ld bytes, %ld not the job's\n", text, received, foreign);
    CHECK(foreign == 0, "%ld bytes of the host's memory went to the network", foreign);
    CHECK(value(text, "so_zerocopy") != 0, "SO_ZEROCOPY: %d (want refused)", value(text, "so_zerocopy"));
    CHECK(received == TOTAL && value(text, "sent") == TOTAL, "data lost: %ld of %d", received, TOTAL);
    close(l.fd);
}

static void a_blocking_stream_sendmmsg_sends_each_entry_whole(void) {
    struct listener l = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", 0);
    int small = 4096;
    setsockopt(l.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    char rule[64], text[512];
    snprintf(rule, sizeof rule, "tcp://127.0.0.1:%d", l.port);
    enum { SIZE = 200000 };
    long received, foreign;
    stream_to(&l, rule, "stream_mmsg", SIZE, &received, &foreign, text, sizeof text);
    printf("  %s  received %ld bytes\n", text, received);
    CHECK(value(text, "n") == 2 && value(text, "len0") == SIZE && value(text, "len1") == SIZE,
          "entries not sent whole: %s", text);
    CHECK(received == 2 * SIZE && foreign == 0, "received %ld (%ld foreign)", received, foreign);
    close(l.fd);
}

/* Runs the job and supervises it in a child of ours that reports the
 * most CPU time one step used, in microseconds (its longest wall time goes
 * to stderr; -1: the sandbox did not end; -2: still in a step after
 * `limit_s` seconds, the child killed). */
static long longest_step_us(sandlock_policy *p, const char *cmd, int a, int b, int limit_s, char *out,
                            size_t size) {
    int report[2], job_out[2];
    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(job_out, O_CLOEXEC) != 0) return -3;
    pid_t host = fork();
    if (host == 0) {
        char as[16], bs[16];
        snprintf(as, sizeof as, "%d", a);
        snprintf(bs, sizeof bs, "%d", b);
        const char *argv[] = {self, "job", marker, cmd, as, bs, NULL};
        sandlock_spawn_opts opts = {sizeof opts, -1, job_out[1], -1};
        sandlock_sandbox *sb = NULL;
        long longest = -1;
        if (sandlock_spawn(p, argv, &opts, &sb) == 0) {
            struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
            long worst = 0, worst_cpu = 0, steps = 0, over_ms = 0;
            for (int exited = 0; !exited;) {
                poll(&pfd, 1, 100);
                for (;;) {
                    struct timespec t0, t1;
                    long cpu0 = thread_cpu_us();
                    clock_gettime(CLOCK_MONOTONIC, &t0);
                    int s = sandlock_supervise_step(sb);
                    clock_gettime(CLOCK_MONOTONIC, &t1);
                    long cpu = thread_cpu_us() - cpu0;
                    if (cpu > worst_cpu) worst_cpu = cpu;
                    long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
                    if (us > worst) worst = us;
                    steps++;
                    over_ms += us >= 1000;
                    if (s == SANDLOCK_STEP_EXITED || s < 0) { exited = 1; break; }
                    if (s != SANDLOCK_STEP_MORE) break;
                }
            }
            longest = worst_cpu;
            fprintf(stderr, "  %ld steps, %ld of 1 ms or more, longest %ld us\n", steps, over_ms, worst);
            sandlock_sandbox_free(sb);
        }
        if (write(report[1], &longest, sizeof longest) != sizeof longest) _exit(1);
        _exit(0);
    }
    close(report[1]);
    close(job_out[1]);
    long longest = -2;
    struct pollfd pfd = {.fd = report[0], .events = POLLIN};
    if (poll(&pfd, 1, limit_s * 1000) == 1 && read(report[0], &longest, sizeof longest) != sizeof longest)
        longest = -1;
    if (longest == -2) kill(host, SIGKILL);
    waitpid(host, NULL, 0);
    ssize_t n = read(job_out[0], out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(report[0]);
    close(job_out[0]);
    return longest;
}

static void a_wrapping_control_length_does_not_stall_the_host(void) {
    struct listener l = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
    char rule[64], out[512];
    snprintf(rule, sizeof rule, "udp://127.0.0.1:%d", l.port);
    sandlock_policy *p = job_policy(rule);
    long us = longest_step_us(p, "wrap", l.port, 0, 10, out, sizeof out);
    printf("  %s  most CPU in one step: %ld us\n", out, us);
    CHECK(us >= 0, "the host was stuck in a step for 10 s (%ld)", us);
    CHECK(us < 100000, "a step used %ld us of CPU", us);
    CHECK(value(out, "wrap") == EINVAL, "a wrapping control length: %d (want EINVAL)", value(out, "wrap"));
    CHECK(arrived(&l, 0) == 0, "the malformed message was sent");
    sandlock_policy_free(p);
    close(l.fd);
}

static void a_large_sendmmsg_does_not_stall_the_host(void) {
    struct listener l = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
    char rule[64], out[512];
    snprintf(rule, sizeof rule, "udp://127.0.0.1:%d", l.port);
    sandlock_policy *p = job_policy(rule);
    long us = longest_step_us(p, "mmsg", l.port, 3, 60, out, sizeof out);
    printf("  %s  most CPU in one step: %ld us\n", out, us);
    CHECK(us >= 0, "the host was stuck in a step (%ld)", us);
    CHECK(us < 100000, "a step used %ld us of CPU", us);
    CHECK(value(out, "messages") == 3 * 1024, "a blocking sendmmsg sends every entry: %s", out);
    sandlock_policy_free(p);
    close(l.fd);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (read_self(self, sizeof self) != 0) return 2;
    snprintf(marker, sizeof marker, "sandlock-net-%d-%ld", (int)getpid(), now_ms());
    RUN(routing_headers_and_ip_options_do_not_redirect);
    RUN(other_roads_to_a_denied_port);
    RUN(zerocopy_sends_only_the_jobs_bytes);
    RUN(a_blocking_stream_sendmmsg_sends_each_entry_whole);
    RUN(a_wrapping_control_length_does_not_stall_the_host);
    RUN(a_large_sendmmsg_does_not_stall_the_host);
    HARNESS_END();
}

/* The network policy, attacked on loopback only: servers on 127.0.0.1,
 * 127.0.0.2 and ::1 stand in for allowed and forbidden hosts, and count
 * what reaches them. */
#include "harness.h"
#include <arpa/inet.h>
#include <poll.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

struct server {
    int fd;
    int type;
    char addr[64];
    char port[16];
};

static struct server listen_on(const char *addr, int type, int backlog) {
    struct server s = {.type = type};
    snprintf(s.addr, sizeof s.addr, "%s", addr);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int v6 = strchr(addr, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    }
    s.fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s.fd, (struct sockaddr *)&ss, len) != 0) {
        perror("bind");
        exit(2);
    }
    if (type == SOCK_STREAM) listen(s.fd, backlog);
    getsockname(s.fd, (struct sockaddr *)&ss, &len);
    int port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(s.port, sizeof s.port, "%d", port);
    return s;
}

/* Connections (or datagrams) that reached the server since last asked. */
static int arrived(struct server *s) {
    int n = 0;
    for (;;) {
        if (s->type == SOCK_STREAM) {
            int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) break;
            close(c);
        } else {
            char buf[64];
            if (recv(s->fd, buf, sizeof buf, MSG_DONTWAIT) < 0) break;
        }
        n++;
    }
    return n;
}

static struct server tcp1, tcp1_other_port, tcp2, tcp6, udp1, udp2;

static struct outcome net_probe(sandlock_policy *p, const char *a, const char *b, const char *c,
                                const char *d) {
    const char *argv[] = {probe_path(), a, b, c, d, NULL};
    return run(p, argv);
}

static sandlock_policy *policy_with(const char *rule) {
    sandlock_policy *p = base_policy();
    if (rule) CHECK(sandlock_policy_net_allow(p, rule) == 0, "%s: %s", rule, sandlock_policy_error(p));
    return p;
}

static void no_rule_means_no_network(void) {
    sandlock_policy *p = base_policy();
    struct outcome o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == EPERM, "tcp without a rule: %d (want EPERM: no inet socket)", o.code);
    o = net_probe(p, "udp", "sendto", "127.0.0.1", udp1.port);
    CHECK(o.code == EPERM, "udp without a rule: %d", o.code);
    CHECK(arrived(&tcp1) == 0 && arrived(&udp1) == 0, "something arrived");
    sandlock_policy_free(p);
}

static void allowed_tcp_endpoint_and_nothing_else(void) {
    char rule[64];
    snprintf(rule, sizeof rule, "tcp://127.0.0.1:%s", tcp1.port);
    sandlock_policy *p = policy_with(rule);
    struct outcome o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == 0, "allowed endpoint: %d", o.code);
    CHECK(arrived(&tcp1) == 1, "the allowed server saw no connection");
    o = net_probe(p, "tcp", "127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "other address: %d (want EACCES)", o.code);
    o = net_probe(p, "tcp", "127.0.0.1", tcp1_other_port.port, NULL);
    CHECK(o.code == EACCES, "other port: %d (want EACCES)", o.code);
    o = net_probe(p, "udp", "sendto", "127.0.0.1", tcp1.port);
    CHECK(o.code == EPERM, "other protocol (udp): %d (want EPERM: no udp socket)", o.code);
    o = net_probe(p, "tcp_grandchild", "127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "grandchild, other address: %d", o.code);
    o = net_probe(p, "tcp_grandchild", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == 0, "grandchild, allowed: %d", o.code);
    CHECK(arrived(&tcp1) == 1, "the grandchild's connection did not arrive");
    CHECK(arrived(&tcp2) == 0 && arrived(&tcp1_other_port) == 0, "a forbidden server saw a connection");
    sandlock_policy_free(p);
}

static void ipv6_and_hostnames(void) {
    char rule[64];
    snprintf(rule, sizeof rule, "[::1]:%s", tcp6.port);
    sandlock_policy *p = policy_with(rule);
    struct outcome o = net_probe(p, "tcp", "::1", tcp6.port, NULL);
    CHECK(o.code == 0, "allowed v6 endpoint: %d", o.code);
    CHECK(arrived(&tcp6) == 1, "the v6 server saw no connection");
    o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == EACCES, "v4 under a v6 rule: %d", o.code);
    sandlock_policy_free(p);

    snprintf(rule, sizeof rule, "tcp://localhost:%s", tcp1.port);
    p = policy_with(rule);
    o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == 0, "a hostname rule (localhost, resolved at spawn): %d", o.code);
    CHECK(arrived(&tcp1) == 1, "no connection");
    o = net_probe(p, "tcp", "127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "other address under a hostname rule: %d", o.code);
    sandlock_policy_free(p);
}

static void encodings_that_reach_a_denied_host(void) {
    char rule[64];
    snprintf(rule, sizeof rule, "tcp://127.0.0.2:%s", tcp1.port);
    sandlock_policy *p = policy_with(rule);
    /* tcp1 listens on 127.0.0.1: every one of these reaches it */
    const char *sneaky[] = {"0.0.0.0", "::ffff:127.0.0.1", "::", "::ffff:0.0.0.0"};
    for (int i = 0; i < 4; i++) {
        struct outcome o = net_probe(p, "tcp", sneaky[i], tcp1.port, NULL);
        CHECK(o.code == EACCES || o.code == ENETUNREACH, "%s: %d (want EACCES)", sneaky[i], o.code);
    }
    struct outcome o = net_probe(p, "tfo", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == EACCES, "TCP Fast Open to a denied address: %d", o.code);
    CHECK(arrived(&tcp1) == 0, "the denied server saw a connection");
    sandlock_policy_free(p);

    snprintf(rule, sizeof rule, "tcp://127.0.0.1:%s", tcp1.port);
    p = policy_with(rule);
    o = net_probe(p, "tcp", "::ffff:127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "mapped form of a denied address: %d", o.code);
    o = net_probe(p, "tfo", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == 0 || o.code == EINPROGRESS, "TCP Fast Open to the allowed address: %d", o.code);
    arrived(&tcp1);
    CHECK(arrived(&tcp2) == 0, "the denied server saw a connection");
    sandlock_policy_free(p);
}

static void udp_allowed_and_refused(void) {
    char rule[64];
    snprintf(rule, sizeof rule, "udp://127.0.0.1:%s", udp1.port);
    sandlock_policy *p = policy_with(rule);
    const char *ways[] = {"sendto", "sendmsg", "connect"};
    for (int i = 0; i < 3; i++) {
        struct outcome o = net_probe(p, "udp", ways[i], "127.0.0.1", udp1.port);
        CHECK(o.code == 0, "udp %s to the allowed endpoint: %d", ways[i], o.code);
        o = net_probe(p, "udp", ways[i], "127.0.0.2", udp2.port);
        CHECK(o.code == EACCES, "udp %s elsewhere: %d", ways[i], o.code);
    }
    usleep(50000);
    CHECK(arrived(&udp1) == 3, "allowed datagrams lost");
    CHECK(arrived(&udp2) == 0, "a forbidden datagram arrived");
    /* one sendmmsg, the second entry forbidden: one datagram goes */
    const char *argv[] = {probe_path(), "sendmmsg", "127.0.0.1", udp1.port, "127.0.0.2", udp2.port, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.code == 0 && strcmp(o.out, "1 5\n") == 0, "sendmmsg: code %d out %s", o.code, o.out);
    const char *argv2[] = {probe_path(), "sendmmsg", "127.0.0.2", udp2.port, "127.0.0.1", udp1.port, NULL};
    o = run(p, argv2);
    CHECK(o.code == EACCES, "sendmmsg with the first entry forbidden: %d", o.code);
    usleep(50000);
    CHECK(arrived(&udp1) == 1, "sendmmsg's allowed datagram");
    CHECK(arrived(&udp2) == 0, "sendmmsg's forbidden datagram arrived");
    o = net_probe(p, "tcp", "127.0.0.1", udp1.port, NULL);
    CHECK(o.code == EPERM, "tcp under a udp rule: %d", o.code);
    sandlock_policy_free(p);
}

static void socket_kinds_are_gated(void) {
    sandlock_policy *p = policy_with("udp://127.0.0.1:53");
    struct outcome o = probe(p, "socket", "ping");
    CHECK(o.code == EPERM, "ping socket without an icmp rule: %d", o.code);
    o = probe(p, "socket", "raw");
    CHECK(o.code == EPERM, "raw socket: %d", o.code);
    o = probe(p, "socket", "packet");
    CHECK(o.code == EPERM, "packet socket: %d", o.code);
    o = probe(p, "socket", "sctp");
    CHECK(o.code == EPERM, "sctp socket: %d", o.code);
    o = probe(p, "socket", "udp");
    CHECK(o.code == 0, "udp socket with a udp rule: %d", o.code);
    o = probe(p, "io_uring", "");
    CHECK(o.code == EPERM, "io_uring (a way around the connect trap): %d", o.code);
    sandlock_policy_free(p);
    p = policy_with("icmp://127.0.0.1");
    o = probe(p, "socket", "ping");
    CHECK(o.code != EPERM, "ping socket with an icmp rule: still EPERM");
    o = probe(p, "socket", "raw");
    CHECK(o.code == EPERM, "raw socket with an icmp rule: %d", o.code);
    o = probe(p, "socket", "udp");
    CHECK(o.code == EPERM, "udp socket with only an icmp rule: %d", o.code);
    sandlock_policy_free(p);
}

static void bind_ports(void) {
    /* ports nothing uses: from a listener that never had a connection */
    struct server free1 = listen_on("127.0.0.1", SOCK_STREAM, 1);
    struct server free2 = listen_on("127.0.0.1", SOCK_STREAM, 1);
    close(free1.fd);
    close(free2.fd);
    sandlock_policy *p = policy_with("127.0.0.1");
    CHECK(sandlock_policy_net_bind(p, free1.port) == 0, "net_bind: %s", sandlock_policy_error(p));
    struct outcome o = probe(p, "bind_tcp", free1.port);
    CHECK(o.code == 0, "tcp bind to the allowed port: %d", o.code);
    o = probe(p, "bind_tcp", free2.port);
    CHECK(o.code == EACCES, "tcp bind elsewhere: %d", o.code);
    o = probe(p, "bind_udp", free1.port);
    CHECK(o.code == 0, "udp bind to the allowed port: %d", o.code);
    o = probe(p, "bind_udp", free2.port);
    CHECK(o.code == EACCES, "udp bind elsewhere: %d", o.code);
    sandlock_policy_free(p);
}

/* A port nothing listens on now. */
static void free_port(char *port) {
    struct server s = listen_on("127.0.0.1", SOCK_STREAM, 1);
    snprintf(port, 16, "%s", s.port);
    close(s.fd);
}

/* net_bind alone: the sandbox may make TCP and UDP sockets and serve on
 * its port, and reaches nothing (no net_allow rule). A real server,
 * Python's http.server, is fetched from the host. */
static void a_bind_rule_alone_serves(void) {
    char port[16], other[16];
    free_port(port);
    free_port(other);
    sandlock_policy *p = base_policy();
    sandlock_policy_timeout_ms(p, 20000);
    CHECK(sandlock_policy_net_bind(p, port) == 0, "net_bind: %s", sandlock_policy_error(p));
    struct outcome o = probe(p, "bind_tcp", port);
    CHECK(o.code == 0, "tcp bind to the bind rule's port: %d", o.code);
    o = probe(p, "bind_udp", port);
    CHECK(o.code == 0, "udp bind to the bind rule's port: %d", o.code);
    o = probe(p, "bind_tcp", other);
    CHECK(o.code == EACCES, "tcp bind to another port: %d", o.code);
    o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == EACCES && arrived(&tcp1) == 0, "a connect out with only a bind rule: %d", o.code);
    if (access("/usr/bin/python3", X_OK) == 0) {
        make_scratch();
        char index[300];
        snprintf(index, sizeof index, "%s/index.html", scratch);
        write_file(index, "served from the sandbox\n", 0644);
        sandlock_policy_fs_read(p, scratch);
        sandlock_policy_fs_read(p, "/etc"); /* mime.types */
        sandlock_policy_cwd(p, scratch);
        const char *argv[] = {"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", port, NULL};
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        sandlock_spawn_opts opts = {sizeof opts, devnull, devnull, devnull};
        sandlock_sandbox *sb = NULL;
        int r = sandlock_spawn(p, argv, &opts, &sb);
        close(devnull);
        CHECK(r == 0, "spawn http.server: %s", sandlock_policy_error(p));
        char got[4096] = "";
        size_t used = 0;
        long deadline = now_ms() + 15000;
        int fetched = 0;
        while (r == 0 && !fetched && now_ms() < deadline) {
            struct pollfd pfd = {.fd = sandlock_sandbox_fd(sb), .events = POLLIN};
            poll(&pfd, 1, 20);
            int step;
            while ((step = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {}
            if (step == SANDLOCK_STEP_EXITED) break;
            int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (connect(c, (struct sockaddr *)&a, sizeof a) == 0) {
                const char *get = "GET /index.html HTTP/1.0\r\n\r\n";
                if (write(c, get, strlen(get)) == (ssize_t)strlen(get)) {
                    /* The server answers in steps of its own: keep stepping. */
                    fcntl(c, F_SETFL, O_NONBLOCK);
                    while (now_ms() < deadline) {
                        ssize_t n = read(c, got + used, sizeof got - 1 - used);
                        if (n == 0) { fetched = 1; break; }
                        if (n > 0) { used += (size_t)n; continue; }
                        poll(&pfd, 1, 10);
                        while (sandlock_supervise_step(sb) == SANDLOCK_STEP_MORE) {}
                    }
                }
            }
            close(c);
        }
        got[used] = '\0';
        CHECK(fetched && strstr(got, "200") && strstr(got, "served from the sandbox"),
              "http.server under net_bind only, fetched from the host: \"%.200s\"", got);
        if (r == 0) {
            sandlock_sandbox_kill(sb, SIGKILL);
            supervise(sb);
            sandlock_sandbox_free(sb);
        }
        cleanup_scratch();
    }
    sandlock_policy_free(p);
}

/* net_bind with an address: the port on that address only; the
 * unspecified address (every interface) and the others are refused. */
static void an_addressed_bind_rule_keeps_other_interfaces_out(void) {
    char port[16], v6port[16];
    free_port(port);
    free_port(v6port);
    char rule[64], v6rule[64];
    snprintf(rule, sizeof rule, "127.0.0.1:%s", port);
    snprintf(v6rule, sizeof v6rule, "[::1]:%s", v6port);
    sandlock_policy *p = base_policy();
    sandlock_policy_timeout_ms(p, 20000);
    CHECK(sandlock_policy_net_bind(p, rule) == 0, "net_bind %s: %s", rule, sandlock_policy_error(p));
    CHECK(sandlock_policy_net_bind(p, v6rule) == 0, "net_bind %s: %s", v6rule, sandlock_policy_error(p));
    const char *argv[] = {probe_path(), "bind_tcp_at", "127.0.0.1", port, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.code == 0, "bind %s: %d", rule, o.code);
    argv[2] = "0.0.0.0";
    o = run(p, argv);
    CHECK(o.code == EACCES, "bind 0.0.0.0:%s (every interface): %d (want EACCES)", port, o.code);
    argv[2] = "::";
    o = run(p, argv);
    CHECK(o.code == EACCES, "bind [::]:%s: %d (want EACCES)", port, o.code);
    argv[2] = "::1";
    argv[3] = v6port;
    o = run(p, argv);
    CHECK(o.code == 0 || o.code == EADDRNOTAVAIL, "bind %s: %d", v6rule, o.code);
    argv[2] = "127.0.0.1";
    o = run(p, argv);
    CHECK(o.code == EACCES, "bind 127.0.0.1:%s (the rule is for ::1): %d (want EACCES)", v6port, o.code);
    CHECK(sandlock_policy_net_bind(p, "::1:80") == -EINVAL && strstr(sandlock_policy_error(p), "brackets"),
          "a bare IPv6 bind address: %s", sandlock_policy_error(p));
    sandlock_policy_free(p);
}

static void racing_rewrites_never_reach_the_forbidden_server(void) {
    char rule[64];
    snprintf(rule, sizeof rule, "127.0.0.1:%s", tcp1.port);
    sandlock_policy *p = policy_with(rule);
    /* tcp2 listens on 127.0.0.2 with the same port number as tcp1? No:
     * use the allowed port on the forbidden host, via a fresh listener. */
    struct server bad = listen_on("127.0.0.2", SOCK_STREAM, 4096);
    char rule2[64];
    snprintf(rule2, sizeof rule2, "127.0.0.1:%s", bad.port);
    CHECK(sandlock_policy_net_allow(p, rule2) == 0, "rule");
    struct server good = listen_on("127.0.0.1", SOCK_STREAM, 4096);
    char rule3[64];
    snprintf(rule3, sizeof rule3, "127.0.0.1:%s", good.port);
    CHECK(sandlock_policy_net_allow(p, rule3) == 0, "rule");
    const char *argv[] = {probe_path(), "race", "tcp", "127.0.0.1", good.port, "127.0.0.2", bad.port, "2", NULL};
    struct outcome o = run(p, argv);
    CHECK(o.code == 0, "race: %d", o.code);
    int reached = arrived(&bad);
    CHECK(reached == 0, "the forbidden server saw %d connections (tries/ok: %s)", reached, o.out);
    long tries = 0, ok = 0;
    sscanf(o.out, "%ld %ld", &tries, &ok);
    CHECK(tries > 100 && ok > 0 && ok < tries, "the race did not run both ways: %s", o.out);
    if (getenv("SANDLOCK_TEST_VERBOSE")) printf("   tcp race: %s", o.out);
    arrived(&good);
    close(good.fd);
    close(bad.fd);

    struct server ugood = listen_on("127.0.0.1", SOCK_DGRAM, 0);
    struct server ubad = listen_on("127.0.0.2", SOCK_DGRAM, 0);
    snprintf(rule, sizeof rule, "udp://127.0.0.1:%s", ugood.port);
    CHECK(sandlock_policy_net_allow(p, rule) == 0, "rule");
    const char *argv2[] = {probe_path(), "race", "udp", "127.0.0.1", ugood.port, "127.0.0.2", ubad.port, "2", NULL};
    o = run(p, argv2);
    CHECK(o.code == 0, "udp race: %d", o.code);
    usleep(50000);
    reached = arrived(&ubad);
    CHECK(reached == 0, "the forbidden udp server got %d datagrams (tries/ok: %s)", reached, o.out);
    CHECK(arrived(&ugood) > 0, "no allowed datagram arrived: %s", o.out);
    tries = ok = 0;
    sscanf(o.out, "%ld %ld", &tries, &ok);
    CHECK(tries > 100 && ok > 0 && ok < tries, "the udp race did not run both ways: %s", o.out);
    if (getenv("SANDLOCK_TEST_VERBOSE")) printf("   udp race: %s", o.out);
    close(ugood.fd);
    close(ubad.fd);
    sandlock_policy_free(p);
}

/* A listener whose accept queue is full: a blocking connect to it waits.
 * A second sandbox on the same loop must finish meanwhile. */
static void a_stuck_connect_does_not_stall_the_loop(void) {
    struct server full = listen_on("127.0.0.1", SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(full.port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fillers[4];
    for (int i = 0; i < 4; i++) { /* fill the accept queue (and the SYN path) */
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100000);
    int fds_before = count_open_fds();
    char rule[64];
    snprintf(rule, sizeof rule, "127.0.0.1:%s", full.port);
    sandlock_policy *p = policy_with(rule);
    const char *stuck_argv[] = {probe_path(), "tcp", "127.0.0.1", full.port, NULL};
    const char *quick_argv[] = {probe_path(), "exit", "4", NULL};
    sandlock_sandbox *stuck = NULL, *quick = NULL;
    CHECK(sandlock_spawn(p, stuck_argv, NULL, &stuck) == 0, "spawn: %s", sandlock_policy_error(p));
    usleep(200000); /* let it reach its connect */
    CHECK(sandlock_spawn(p, quick_argv, NULL, &quick) == 0, "spawn: %s", sandlock_policy_error(p));
    if (!stuck || !quick) return;
    struct pollfd pfd[2] = {{.fd = sandlock_sandbox_fd(stuck), .events = POLLIN},
                            {.fd = sandlock_sandbox_fd(quick), .events = POLLIN}};
    int quick_done = 0, steps = 0;
    for (int round = 0; round < 500 && !quick_done; round++) {
        poll(pfd, 2, 20);
        CHECK(sandlock_supervise_step(stuck) >= 0, "step on the stuck sandbox failed");
        steps++;
        int r;
        while ((r = sandlock_supervise_step(quick)) == SANDLOCK_STEP_MORE) {}
        quick_done = r == SANDLOCK_STEP_EXITED;
    }
    CHECK(quick_done, "the second sandbox did not finish while the first was stuck");
    CHECK(sandlock_sandbox_exit_code(quick) == 4, "quick exit code %d", sandlock_sandbox_exit_code(quick));
    CHECK(sandlock_sandbox_exit_reason(stuck) == SANDLOCK_EXIT_RUNNING, "the stuck sandbox ended: %d",
          sandlock_sandbox_exit_reason(stuck));
    sandlock_sandbox_free(quick);
    sandlock_sandbox_free(stuck); /* killed while its connect is pending */
    sandlock_policy_free(p);
    CHECK(count_open_fds() == fds_before, "fds: %d before, %d after", fds_before, count_open_fds());
    for (int i = 0; i < 4; i++) close(fillers[i]);
    close(full.fd);
}

/* A blocking send into a full socket buffer: the child waits, the loop
 * does not, and the child gets exactly what its own send would have. */
static void a_full_send_buffer_does_not_stall_the_loop(void) {
    struct server sink = listen_on("127.0.0.1", SOCK_STREAM, 4);
    char rule[64];
    snprintf(rule, sizeof rule, "127.0.0.1:%s", sink.port);
    sandlock_policy *p = policy_with(rule);
    int pipefd[2];
    CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
    sandlock_spawn_opts opts = {sizeof opts, -1, pipefd[1], -1};
    const char *flood_argv[] = {probe_path(), "flood", "127.0.0.1", sink.port, "64", NULL};
    const char *quick_argv[] = {probe_path(), "exit", "6", NULL};
    sandlock_sandbox *flood = NULL, *quick = NULL;
    CHECK(sandlock_spawn(p, flood_argv, &opts, &flood) == 0, "spawn: %s", sandlock_policy_error(p));
    close(pipefd[1]);
    if (!flood) return;
    int conn = -1;
    for (int i = 0; i < 500 && conn < 0; i++) { /* the flood's connection */
        sandlock_supervise_step(flood);
        conn = accept4(sink.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn < 0) usleep(10000);
    }
    CHECK(conn >= 0, "the flood never connected");
    for (int i = 0; i < 50; i++) { /* let it fill the buffers */
        sandlock_supervise_step(flood);
        usleep(5000);
    }
    CHECK(sandlock_spawn(p, quick_argv, NULL, &quick) == 0, "spawn: %s", sandlock_policy_error(p));
    CHECK(quick && sandlock_sandbox_wait(quick) == 0 && sandlock_sandbox_exit_code(quick) == 6,
          "the second sandbox did not run to its end");
    CHECK(sandlock_sandbox_exit_reason(flood) == SANDLOCK_EXIT_RUNNING, "the flood ended early");
    long received = 0;
    int r = SANDLOCK_STEP_IDLE;
    for (int i = 0; i < 20000 && r != SANDLOCK_STEP_EXITED; i++) { /* now drain it */
        char buf[65536];
        ssize_t n;
        while (conn >= 0 && (n = read(conn, buf, sizeof buf)) > 0) received += n;
        struct pollfd pfd = {.fd = sandlock_sandbox_fd(flood), .events = POLLIN};
        poll(&pfd, 1, 1);
        while ((r = sandlock_supervise_step(flood)) == SANDLOCK_STEP_MORE) {}
    }
    char buf[65536];
    ssize_t n;
    while (conn >= 0 && (n = read(conn, buf, sizeof buf)) > 0) received += n;
    CHECK(r == SANDLOCK_STEP_EXITED && sandlock_sandbox_exit_code(flood) == 0, "flood: r %d code %d", r,
          sandlock_sandbox_exit_code(flood));
    char out[64] = "";
    ssize_t got = read(pipefd[0], out, sizeof out - 1);
    out[got > 0 ? got : 0] = '\0';
    CHECK(atol(out) == 64L * 65536, "the child saw %s bytes sent (want %ld)", out, 64L * 65536);
    CHECK(received == 64L * 65536, "the server received %ld bytes", received);
    sandlock_sandbox_free(quick);
    sandlock_sandbox_free(flood);
    sandlock_policy_free(p);
    if (conn >= 0) close(conn);
    close(pipefd[0]);
    close(sink.fd);
}

static void unix_sockets_of_host_services(void) {
    make_scratch();
    char outside[300], inside_dir[300], inside[330], link[330], dgram[330];
    snprintf(outside, sizeof outside, "%s/host-service.sock", scratch);
    snprintf(inside_dir, sizeof inside_dir, "%s/rw", scratch);
    snprintf(inside, sizeof inside, "%s/job.sock", inside_dir);
    snprintf(link, sizeof link, "%s/link.sock", inside_dir);
    snprintf(dgram, sizeof dgram, "%s/host-log.sock", scratch);
    mkdir(inside_dir, 0755);
    int servers[3];
    const char *paths[3] = {outside, inside, dgram};
    for (int i = 0; i < 3; i++) {
        servers[i] = socket(AF_UNIX, (i == 2 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", paths[i]);
        CHECK(bind(servers[i], (struct sockaddr *)&a, sizeof a) == 0, "bind %s", paths[i]);
        if (i < 2) listen(servers[i], 16);
    }
    CHECK(symlink(outside, link) == 0, "symlink");
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_fs_write(p, inside_dir) == 0, "fs_write");
    CHECK(sandlock_policy_fs_read(p, scratch) == 0, "fs_read");
    const char *argv[] = {probe_path(), "unix", "stream", outside, NULL};
    struct outcome o = run(p, argv);
    CHECK(o.code == EACCES, "connect to a host service's socket: %d (want EACCES)", o.code);
    argv[3] = link;
    o = run(p, argv);
    CHECK(o.code == EACCES, "the same through a symlink under fs_write: %d", o.code);
    argv[3] = inside;
    o = run(p, argv);
    CHECK(o.code == 0, "connect to a socket under fs_write: %d", o.code);
    argv[2] = "dgram";
    argv[3] = dgram;
    o = run(p, argv);
    CHECK(o.code == EACCES, "datagram to a host socket: %d", o.code);
    int got = accept4(servers[0], NULL, NULL, 0);
    CHECK(got < 0, "the host service accepted a connection");
    if (got >= 0) close(got);
    char buf[8];
    CHECK(recv(servers[2], buf, sizeof buf, MSG_DONTWAIT) < 0, "the host log got a datagram");
    for (int i = 0; i < 3; i++) close(servers[i]);
    sandlock_policy_free(p);
    cleanup_scratch();
}

/* With UDP allowed, bind is performed by the supervisor: a thread swapping
 * an abstract name for a path outside fs_write must never get a socket
 * file made there. */
static void racing_bind_never_makes_a_socket_outside(void) {
    make_scratch();
    char outside[300];
    snprintf(outside, sizeof outside, "%s/made-by-race.sock", scratch);
    sandlock_policy *p = policy_with("udp://127.0.0.1:53");
    const char *argv[] = {probe_path(), "bind_race", outside, "1", NULL};
    struct outcome o = run(p, argv);
    long tries = 0, ok = 0;
    sscanf(o.out, "%ld %ld", &tries, &ok);
    CHECK(o.code == 0 && tries > 100 && ok > 0, "the race did not run: code %d out %s", o.code, o.out);
    struct stat st;
    CHECK(stat(outside, &st) != 0, "a socket file was made outside fs_write (%s)", o.out);
    sandlock_policy_free(p);
    cleanup_scratch();
}

static void odd_arguments_fail_closed(void) {
    sandlock_policy *p = policy_with("127.0.0.1");
    struct outcome o = probe(p, "odd_network", "");
    char want[64];
    snprintf(want, sizeof want, "%d %d %d %d %d %d\n", EFAULT, EINVAL, EFAULT, EFAULT, EAFNOSUPPORT, EBADF);
    CHECK(o.code == 0 && strcmp(o.out, want) == 0, "errnos %s(want %s)", o.out, want);
    sandlock_policy_free(p);
}

static void deny_mode_allows_all_but_the_listed(void) {
    sandlock_policy *p = base_policy();
    CHECK(sandlock_policy_net_deny(p, "127.0.0.2") == 0, "net_deny: %s", sandlock_policy_error(p));
    struct outcome o = net_probe(p, "tcp", "127.0.0.1", tcp1.port, NULL);
    CHECK(o.code == 0, "unlisted host: %d", o.code);
    o = net_probe(p, "tcp", "127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "listed host: %d", o.code);
    o = net_probe(p, "tcp", "::ffff:127.0.0.2", tcp2.port, NULL);
    CHECK(o.code == EACCES, "listed host, mapped: %d", o.code);
    CHECK(arrived(&tcp1) == 1 && arrived(&tcp2) == 0, "wrong arrivals");
    sandlock_policy_free(p);
}

int main(void) {
    tcp1 = listen_on("127.0.0.1", SOCK_STREAM, 128);
    tcp1_other_port = listen_on("127.0.0.1", SOCK_STREAM, 128);
    tcp2 = listen_on("127.0.0.2", SOCK_STREAM, 128);
    tcp6 = listen_on("::1", SOCK_STREAM, 128);
    udp1 = listen_on("127.0.0.1", SOCK_DGRAM, 0);
    udp2 = listen_on("127.0.0.2", SOCK_DGRAM, 0);
    RUN(no_rule_means_no_network);
    RUN(allowed_tcp_endpoint_and_nothing_else);
    RUN(ipv6_and_hostnames);
    RUN(encodings_that_reach_a_denied_host);
    RUN(udp_allowed_and_refused);
    RUN(socket_kinds_are_gated);
    RUN(bind_ports);
    RUN(a_bind_rule_alone_serves);
    RUN(an_addressed_bind_rule_keeps_other_interfaces_out);
    RUN(racing_rewrites_never_reach_the_forbidden_server);
    RUN(a_stuck_connect_does_not_stall_the_loop);
    RUN(a_full_send_buffer_does_not_stall_the_loop);
    RUN(unix_sockets_of_host_services);
    RUN(racing_bind_never_makes_a_socket_outside);
    RUN(odd_arguments_fail_closed);
    RUN(deny_mode_allows_all_but_the_listed);
    HARNESS_END();
}

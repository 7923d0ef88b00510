/* The program the C tests run inside sandboxes: each subcommand tries one
 * thing and reports through its exit status: 0 = it worked, otherwise the
 * errno it failed with (or death by a signal). Output goes to stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int result(long ret) { return ret < 0 ? errno : 0; }

static int do_read(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0) return errno;
    fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}

static int do_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return errno;
    ssize_t n = write(fd, "written\n", 8);
    close(fd);
    return n == 8 ? 0 : errno;
}

static int do_exec(const char *path) {
    char *argv[] = {(char *)path, (char *)"exit", (char *)"0", NULL};
    execv(path, argv);
    return errno;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -errno;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static int caps_all_zero(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return errno;
    char line[256];
    int nonzero = 0, seen = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0) {
            fputs(line, stdout);
            if (strncmp(line, "Cap", 3) == 0) {
                seen++;
                const char *hex = strchr(line, ':') + 1;
                if (strtoull(hex, NULL, 16) != 0) nonzero++;
            }
        }
    }
    fclose(f);
    return seen == 5 && nonzero == 0 ? 0 : 1;
}

static int abstract_connect(const char *name) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return errno;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(a.sun_path + 1, name, len);
    int r = connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
    int e = r < 0 ? errno : 0;
    close(s);
    return e;
}

/* stdin is a pty slave given by the test. A child (which, unlike us, is
 * no process-group leader) starts a session, takes the pty as its
 * controlling terminal and tries to push a byte into its input. */
static int tiocsti_in_own_session(unsigned long request) {
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) {
        if (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0) _exit(100);
        char c = 'x';
        _exit(syscall(SYS_ioctl, 0, request, &c) < 0 ? errno : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int int80_getpid(void) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    printf("int80 returned %ld\n", ret);
    return 0;
}

static int x32_getpid(void) {
    long r = syscall(0x40000000 | 39);
    printf("x32 returned %ld\n", r);
    return result(r);
}

/* Mean cost of one getppid() in nanoseconds over n calls (a supervised
 * call when the policy traps it). */
static int time_getppid(long n) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("%.0f\n", ns / (double)n);
    return 0;
}

static int clone_newuser(void) {
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid < 0) return errno;
    waitpid(pid, NULL, 0);
    return 0;
}

static int syscall_family(const char *name) {
    if (!strcmp(name, "unshare")) return result(unshare(CLONE_NEWUSER));
    if (!strcmp(name, "clone_newuser")) return clone_newuser();
    if (!strcmp(name, "clone3")) return result(syscall(SYS_clone3, NULL, 0));
    if (!strcmp(name, "setns")) return result(setns(0, CLONE_NEWNET));
    if (!strcmp(name, "mount")) return result(mount("none", "/nonexistent-sandlock", "tmpfs", 0, NULL));
    if (!strcmp(name, "umount2")) return result(umount2("/nonexistent-sandlock", 0));
    if (!strcmp(name, "chroot")) return result(chroot("/"));
    if (!strcmp(name, "pivot_root")) return result(syscall(SYS_pivot_root, "/", "/"));
    if (!strcmp(name, "fsopen")) return result(syscall(SYS_fsopen, "tmpfs", 0));
    if (!strcmp(name, "open_tree")) return result(syscall(SYS_open_tree, AT_FDCWD, "/", 0));
    if (!strcmp(name, "move_mount")) return result(syscall(SYS_move_mount, -1, "", -1, "", 0));
    if (!strcmp(name, "ptrace")) return result(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0));
    if (!strcmp(name, "process_vm_readv")) return result(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
    if (!strcmp(name, "pidfd_getfd")) return result(syscall(SYS_pidfd_getfd, -1, 0, 0));
    if (!strcmp(name, "kcmp")) return result(syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0));
    if (!strcmp(name, "bpf")) return result(syscall(SYS_bpf, 0, NULL, 0));
    if (!strcmp(name, "perf_event_open")) return result(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    if (!strcmp(name, "userfaultfd")) return result(syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */));
    if (!strcmp(name, "io_uring_setup")) return result(syscall(SYS_io_uring_setup, 4, NULL));
    if (!strcmp(name, "keyctl")) return result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0));
    if (!strcmp(name, "add_key")) return result(syscall(SYS_add_key, "user", "sandlock", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    if (!strcmp(name, "seccomp")) return result(syscall(SYS_seccomp, 2 /* GET_ACTION_AVAIL */, 0, NULL));
    if (!strcmp(name, "prctl_seccomp")) return result(prctl(PR_SET_SECCOMP, 99, 0, 0, 0));
    if (!strcmp(name, "personality")) return result(personality(ADDR_NO_RANDOMIZE));
    if (!strcmp(name, "init_module")) return result(syscall(SYS_init_module, NULL, 0, ""));
    if (!strcmp(name, "kexec_load")) return result(syscall(SYS_kexec_load, 0, 0, NULL, 0));
    if (!strcmp(name, "swapon")) return result(syscall(SYS_swapon, "/nonexistent-sandlock", 0));
    if (!strcmp(name, "reboot")) return result(syscall(SYS_reboot, 0, 0, 0, NULL));
    if (!strcmp(name, "settimeofday")) return result(syscall(SYS_settimeofday, NULL, NULL));
    if (!strcmp(name, "clock_settime")) return result(syscall(SYS_clock_settime, 0, NULL));
    if (!strcmp(name, "sethostname")) return result(sethostname("x", 1));
    if (!strcmp(name, "syslog")) return result(syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0));
    if (!strcmp(name, "acct")) return result(acct(NULL));
    if (!strcmp(name, "quotactl")) return result(syscall(SYS_quotactl, 0, NULL, 0, NULL));
    if (!strcmp(name, "open_by_handle_at")) return result(syscall(SYS_open_by_handle_at, -1, NULL, 0));
    if (!strcmp(name, "socket_netlink")) return result(socket(AF_NETLINK, SOCK_RAW, 0));
    if (!strcmp(name, "socket_packet")) return result(socket(AF_PACKET, SOCK_RAW, 0));
    if (!strcmp(name, "socket_inet")) return result(socket(AF_INET, SOCK_STREAM, 0));
    if (!strcmp(name, "socket_inet6_udp")) return result(socket(AF_INET6, SOCK_DGRAM, 0));
    if (!strcmp(name, "socket_unix")) return result(socket(AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(name, "socket_unix_high_bits")) return result(syscall(SYS_socket, (1UL << 32) | AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(name, "getpid")) return result(getpid());
    if (!strcmp(name, "uname")) { struct utsname_buf { char b[6 * 65]; } u; return result(syscall(SYS_uname, &u)); }
    fprintf(stderr, "probe: unknown syscall family %s\n", name);
    return 200;
}

/* ---- network ---- */

/* Fills *ss from "ADDR" and "PORT" (v6 if ADDR has a ':'). */
static socklen_t inet_address(const char *addr, const char *port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)atoi(port));
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) exit(210);
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) exit(210);
    return sizeof *a;
}

static int tcp_connect(const char *addr, const char *port) {
    struct sockaddr_storage ss;
    socklen_t len = inet_address(addr, port, &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (s < 0) return errno;
    if (connect(s, (struct sockaddr *)&ss, len) < 0) { int e = errno; close(s); return e; }
    if (write(s, "hi", 2) != 2) { int e = errno; close(s); return e; }
    close(s);
    return 0;
}

static int udp_send(const char *how, const char *addr, const char *port) {
    struct sockaddr_storage ss;
    socklen_t len = inet_address(addr, port, &ss);
    int s = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (s < 0) return errno;
    ssize_t n;
    if (!strcmp(how, "sendto")) {
        n = sendto(s, "dgram", 5, 0, (struct sockaddr *)&ss, len);
    } else if (!strcmp(how, "sendmsg")) {
        struct iovec iov = {(void *)"dgram", 5};
        struct msghdr m = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
        n = sendmsg(s, &m, 0);
    } else { /* connect, then send */
        n = connect(s, (struct sockaddr *)&ss, len);
        if (n == 0) n = send(s, "dgram", 5, 0);
    }
    int e = n < 0 ? errno : 0;
    close(s);
    return e;
}

/* Two datagrams in one sendmmsg; prints how many went. */
static int udp_sendmmsg(char **argv) {
    struct sockaddr_storage ss[2];
    socklen_t len[2];
    len[0] = inet_address(argv[2], argv[3], &ss[0]);
    len[1] = inet_address(argv[4], argv[5], &ss[1]);
    int s = socket(ss[0].ss_family, SOCK_DGRAM, 0);
    if (s < 0) return errno;
    struct iovec iov = {(void *)"dgram", 5};
    struct mmsghdr m[2];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 2; i++) {
        m[i].msg_hdr.msg_name = &ss[i];
        m[i].msg_hdr.msg_namelen = len[i];
        m[i].msg_hdr.msg_iov = &iov;
        m[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(s, m, 2, 0);
    if (n < 0) return errno;
    printf("%d %u\n", n, m[0].msg_len);
    return 0;
}

static int tcp_fastopen(const char *addr, const char *port) {
    struct sockaddr_storage ss;
    socklen_t len = inet_address(addr, port, &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (s < 0) return errno;
    ssize_t n = sendto(s, "hi", 2, MSG_FASTOPEN, (struct sockaddr *)&ss, len);
    int e = n < 0 ? errno : 0;
    close(s);
    return e;
}

/* Sends `chunks` blocks of 64 KiB with sendmsg (which the supervisor
 * performs) on a blocking socket; prints the bytes sent. */
static int tcp_flood(const char *addr, const char *port, int chunks) {
    struct sockaddr_storage ss;
    socklen_t len = inet_address(addr, port, &ss);
    int s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (s < 0) return errno;
    if (connect(s, (struct sockaddr *)&ss, len) < 0) return errno;
    static char block[65536];
    memset(block, 'z', sizeof block);
    long total = 0;
    for (int i = 0; i < chunks; i++) {
        struct iovec iov = {block, sizeof block};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = sendmsg(s, &m, 0);
        if (n < 0) return errno;
        total += n;
    }
    printf("%ld\n", total);
    close(s);
    return 0;
}

/* Mean microseconds of a blocking connect + close, over n rounds. */
static int connect_loop(const char *addr, const char *port, long n) {
    struct sockaddr_storage ss;
    socklen_t len = inet_address(addr, port, &ss);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int s = socket(ss.ss_family, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&ss, len) < 0) return errno;
        close(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.2f\n", ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / (double)n);
    return 0;
}

/* Odd arguments to the trapped calls: prints the errno of each. */
static int odd_network_arguments(void) {
    int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
    if (t < 0 || u < 0) return errno;
    struct sockaddr_in ok = {.sin_family = AF_INET, .sin_port = htons(9)};
    ok.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in other = ok;
    other.sin_family = 17; /* AF_PACKET on an inet socket */
    int e[6];
    e[0] = connect(t, (struct sockaddr *)8, sizeof ok) < 0 ? errno : 0;      /* unmapped */
    e[1] = connect(t, (struct sockaddr *)&ok, 3) < 0 ? errno : 0;             /* short */
    e[2] = sendmsg(u, (struct msghdr *)8, 0) < 0 ? errno : 0;                 /* unmapped msghdr */
    e[3] = sendto(u, "x", 1, 0, (struct sockaddr *)8, sizeof ok) < 0 ? errno : 0;
    e[4] = connect(t, (struct sockaddr *)&other, sizeof other) < 0 ? errno : 0;
    e[5] = connect(999, (struct sockaddr *)&ok, sizeof ok) < 0 ? errno : 0;  /* no such fd */
    printf("%d %d %d %d %d %d\n", e[0], e[1], e[2], e[3], e[4], e[5]);
    return 0;
}

/* A classic daemon: fork, setsid, fork again, write the grandchild's pid
 * to `pidfile`, and let the grandchild sleep; everyone else exits. */
/* wait() with no child of its own: ECHILD at once, as unsandboxed (a
 * helper of the library seen as a child would make it block). */
static int wait_for_no_child(void) {
    alarm(5);
    pid_t got = wait(NULL);
    if (got < 0 && errno == ECHILD) return 0;
    printf("wait returned %d (%s)\n", (int)got, strerror(errno));
    return 1;
}

static int daemonize(const char *pidfile, int kill_all) {
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        return 0;
    }
    if (setsid() < 0) _exit(errno);
    pid = fork();
    if (pid != 0) _exit(pid < 0 ? errno : 0);
    if (setpgid(0, 0) < 0) _exit(errno); /* and a group of its own again */
    /* Everything it may signal dies first (kill(-1) spares the caller). */
    if (kill_all && kill(-1, SIGKILL) < 0) _exit(errno);
    FILE *f = fopen(pidfile, "w");
    if (!f) _exit(errno);
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    for (;;) pause();
}

/* A grandchild makes the connection; its result is ours. */
static int tcp_in_grandchild(const char *addr, const char *port) {
    pid_t pid = fork();
    if (pid == 0) _exit(tcp_connect(addr, port));
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A TCP bind to addr:port (IPv4 or IPv6): 0 or the errno. */
static int bind_tcp_at(const char *addr, const char *port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)atoi(port));
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return EINVAL;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)atoi(port));
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) return EINVAL;
        len = sizeof *a;
    }
    int s = socket(family, SOCK_STREAM, 0);
    if (s < 0) return errno;
    int r = bind(s, (struct sockaddr *)&ss, len);
    int e = r < 0 ? errno : 0;
    close(s);
    return e;
}

static int bind_port(int type, const char *port) {
    int s = socket(AF_INET, type, 0);
    if (s < 0) return errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = bind(s, (struct sockaddr *)&a, sizeof a);
    int e = r < 0 ? errno : 0;
    close(s);
    return e;
}

static int make_socket(const char *what) {
    int s;
    if (!strcmp(what, "ping")) s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    else if (!strcmp(what, "ping6")) s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
    else if (!strcmp(what, "raw")) s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    else if (!strcmp(what, "packet")) s = socket(AF_PACKET, SOCK_RAW, 0);
    else if (!strcmp(what, "udp")) s = socket(AF_INET, SOCK_DGRAM, 0);
    else if (!strcmp(what, "tcp")) s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    else if (!strcmp(what, "sctp")) s = socket(AF_INET, SOCK_STREAM, 132);
    else return 211;
    if (s < 0) return errno;
    close(s);
    return 0;
}

static int unix_to(const char *how, const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int dgram = !strcmp(how, "dgram");
    int s = socket(AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (s < 0) return errno;
    int r = dgram ? (int)sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a)
                  : connect(s, (struct sockaddr *)&a, sizeof a);
    int e = r < 0 ? errno : 0;
    close(s);
    return e;
}

/* A racing thread flips the shared sockaddr between an allowed and a
 * forbidden destination while the main thread connects or sends. */
static struct sockaddr_storage race_addr[2], race_shared;
static socklen_t race_len;
static volatile int race_stop;
static void *race_flipper(void *arg) {
    (void)arg;
    for (unsigned i = 0; !race_stop; i++)
        memcpy(&race_shared, &race_addr[i & 1], sizeof race_shared);
    return NULL;
}
static int race(char **argv) {
    int udp = !strcmp(argv[2], "udp");
    race_len = inet_address(argv[3], argv[4], &race_addr[0]);
    inet_address(argv[5], argv[6], &race_addr[1]);
    memcpy(&race_shared, &race_addr[0], sizeof race_shared);
    double seconds = atof(argv[7]);
    pthread_t t;
    pthread_create(&t, NULL, race_flipper, NULL);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long tries = 0, ok = 0;
    int u = udp ? socket(AF_INET, SOCK_DGRAM, 0) : -1;
    do {
        if (udp) {
            ok += sendto(u, "r", 1, 0, (struct sockaddr *)&race_shared, race_len) == 1;
        } else {
            int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            int r = connect(s, (struct sockaddr *)&race_shared, race_len);
            ok += r == 0 || errno == EINPROGRESS;
            close(s);
        }
        tries++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    race_stop = 1;
    pthread_join(t, NULL);
    printf("%ld %ld\n", tries, ok);
    return 0;
}

/* A racing thread flips a unix address between an abstract name (allowed)
 * and a path (not allowed) while the main thread binds. */
static struct sockaddr_un bind_addr[2], bind_shared;
static volatile int bind_stop;
static void *bind_flipper(void *arg) {
    (void)arg;
    for (unsigned i = 0; !bind_stop; i++) memcpy(&bind_shared, &bind_addr[i & 1], sizeof bind_shared);
    return NULL;
}
static int bind_race(const char *path, double seconds) {
    bind_addr[0].sun_family = AF_UNIX;
    memcpy(bind_addr[0].sun_path + 1, "sandlock-bind-race", 18);
    bind_addr[1].sun_family = AF_UNIX;
    snprintf(bind_addr[1].sun_path, sizeof bind_addr[1].sun_path, "%s", path);
    memcpy(&bind_shared, &bind_addr[0], sizeof bind_shared);
    pthread_t t;
    pthread_create(&t, NULL, bind_flipper, NULL);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long tries = 0, ok = 0;
    do {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        ok += bind(s, (struct sockaddr *)&bind_shared, sizeof bind_shared) == 0;
        close(s);
        tries++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    bind_stop = 1;
    pthread_join(t, NULL);
    printf("%ld %ld\n", tries, ok);
    return 0;
}

static int io_uring_attempt(void) {
    char params[120];
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 4, params);
    if (fd < 0) return errno;
    close((int)fd);
    return 0;
}

/* ---- limits (issue #4) ---- */

/* Creates the empty file `dir`/`name`. */
static void touch_marker(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
}

/* Writes our pid to `dir`/pid.<pid>, so the test can kill us as a last
 * resort if the sandbox fails to. */
static void write_pid_file(const char *dir) {
    char path[4096], line[32];
    snprintf(path, sizeof path, "%s/pid.%d", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (write(fd, line, (size_t)n) != n) { /* the test copes without it */ }
    close(fd);
}

/* fork(), the child exits at once and is reaped: 0 or the errno. */
static int try_fork(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) return errno;
    waitpid(pid, NULL, 0);
    return 0;
}

static __attribute__((noinline)) int try_vfork(void) {
    pid_t pid = vfork();
    if (pid == 0) _exit(0);
    if (pid < 0) return errno;
    waitpid(pid, NULL, 0);
    return 0;
}

static int try_posix_spawn(void) {
    extern char **environ;
    char *argv[] = {(char *)"/bin/true", NULL};
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (e) return e;
    waitpid(pid, NULL, 0);
    return 0;
}

/* Every process loops forever on fork(); children go on looping. A fork
 * that fails creates `dir`/eagain (EAGAIN) or `dir`/errno.<N> (anything
 * else) and sleeps 1 ms. Each child writes `dir`/pid.<pid>. A fuse in
 * shared memory stops all forking after FORKBOMB_FUSE successful forks
 * (and creates `dir`/fuse), so a sandbox whose limit does not hold cannot
 * take the machine down: under a working limit of n, exactly n - 1 forks
 * ever succeed. */
#define FORKBOMB_FUSE 128
static int forkbomb(const char *dir) {
    if (!*dir) return 201;
    long *forks = mmap(NULL, sizeof *forks, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (forks == MAP_FAILED) return errno;
    int noted_eagain = 0, noted_other = 0;
    const struct timespec ms = {0, 1000000};
    for (;;) {
        if (__atomic_add_fetch(forks, 1, __ATOMIC_SEQ_CST) > FORKBOMB_FUSE) {
            __atomic_sub_fetch(forks, 1, __ATOMIC_SEQ_CST);
            touch_marker(dir, "fuse");
            for (;;) pause();
        }
        pid_t pid = fork();
        if (pid == 0) { write_pid_file(dir); continue; }
        if (pid > 0) continue;
        int e = errno;
        __atomic_sub_fetch(forks, 1, __ATOMIC_SEQ_CST);
        if (e == EAGAIN && !noted_eagain) {
            touch_marker(dir, "eagain");
            noted_eagain = 1;
        } else if (e != EAGAIN && !noted_other) {
            char name[32];
            snprintf(name, sizeof name, "errno.%d", e);
            touch_marker(dir, name);
            noted_other = 1;
        }
        nanosleep(&ms, NULL);
    }
}

/* Orphans no supervisor saw being born: the main process forks a driver
 * and exits at once (or, with `stay`, is the driver itself). The driver forks links and reaps each; a link forks
 * a sleeper (which makes no further syscall the supervisor sees) and
 * exits at once, before it could trap again. A failed fork (EAGAIN) is
 * retried after 2 ms and noted by DIR/eagain. At most 64 forks in all
 * (DIR/fuse then): a limit that does nothing cannot make this a bomb. */
static pid_t fork_patiently(const char *dir, long *forks) {
    const struct timespec two_ms = {0, 2000000};
    if (__atomic_add_fetch(forks, 1, __ATOMIC_SEQ_CST) > 64) {
        touch_marker(dir, "fuse");
        for (;;) pause();
    }
    pid_t pid;
    while ((pid = fork()) < 0) {
        if (errno == EAGAIN) touch_marker(dir, "eagain");
        nanosleep(&two_ms, NULL);
    }
    return pid;
}

static int orphanchain(const char *dir, int stay) {
    if (!*dir) return 201;
    long *forks = mmap(NULL, sizeof *forks, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (forks == MAP_FAILED) return errno;
    if (!stay && fork() != 0) return 0;
    for (;;) {
        pid_t link = fork_patiently(dir, forks);
        if (link == 0) {
            if (fork_patiently(dir, forks) == 0) {
                write_pid_file(dir);
                sleep(30);
            }
            _exit(0);
        }
        waitpid(link, NULL, 0);
    }
}

/* `rounds` rounds of: fork n children that exit at once, reap them all.
 * Prints "rounds R ok" and exits 0; or, at the first failed fork, reaps
 * what it forked, prints "round R ok K errno E" (K forks of that round
 * succeeded) and exits with E. */
static int forkwave(int n, int rounds) {
    pid_t pids[256];
    if (n < 0 || n > 256) return 212;
    for (int r = 0; r < rounds; r++) {
        int ok = 0, e = 0;
        for (int i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid < 0) { e = errno; break; }
            pids[ok++] = pid;
        }
        for (int i = 0; i < ok; i++) waitpid(pids[i], NULL, 0);
        if (e) {
            printf("round %d ok %d errno %d\n", r, ok, e);
            return e;
        }
    }
    printf("rounds %d ok\n", rounds);
    return 0;
}

/* Forks n children that exit at once and leaves them zombies; tries one
 * more fork (errno or 0); reaps them; tries again. Prints
 * "zombies N more E1 after_reap E2" and exits 0 (100 if a first fork
 * failed: "zombie K errno E"). */
static int zombies(int n) {
    pid_t pids[256];
    if (n < 0 || n > 256) return 212;
    int made = 0, failed = 0;
    for (; made < n; made++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid < 0) { printf("zombie %d errno %d\n", made, errno); failed = 1; break; }
        pids[made] = pid;
    }
    for (int i = 0; i < made; i++) { /* wait until each is a zombie, leave it one */
        siginfo_t si;
        waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOWAIT);
    }
    int more = failed ? -1 : try_fork();
    for (int i = 0; i < made; i++) waitpid(pids[i], NULL, 0);
    if (failed) return 100;
    int after = try_fork();
    printf("zombies %d more %d after_reap %d\n", n, more, after);
    return 0;
}

/* n threads alive at once (each sleeps 50 ms), joined. Prints
 * "threads N max_live M" (M: most threads seen alive together) and exits
 * 0, or "thread K error E" and exits with pthread_create's error. */
static int live_threads, max_live_threads;
static void *napper(void *arg) {
    (void)arg;
    int now = __atomic_add_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
    int seen = __atomic_load_n(&max_live_threads, __ATOMIC_SEQ_CST);
    while (now > seen && !__atomic_compare_exchange_n(&max_live_threads, &seen, now, 0, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_SEQ_CST)) {}
    const struct timespec nap = {0, 50000000};
    nanosleep(&nap, NULL);
    __atomic_sub_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
    return NULL;
}
static int threads(int n) {
    pthread_t t[256];
    if (n < 0 || n > 256) return 212;
    int made = 0, e = 0;
    for (; made < n; made++)
        if ((e = pthread_create(&t[made], NULL, napper, NULL)) != 0) break;
    for (int i = 0; i < made; i++) pthread_join(t[i], NULL);
    if (e) {
        printf("thread %d error %d\n", made, e);
        return e;
    }
    printf("threads %d max_live %d\n", n, max_live_threads);
    return 0;
}

/* Keeps `hold` children alive (blocked on a pipe), then tries fork(),
 * vfork() and posix_spawn("/bin/true"), then lets the holders go and
 * reaps them. Prints "fork E1 vfork E2 spawn E3" (0 = it worked) and
 * exits with min(E1,15)*16 + min(E2,15): 187 when fork and vfork both
 * failed with EAGAIN. A holder that cannot be forked: "hold K errno E",
 * exit 250. */
static int forkone(int hold) {
    int p[2];
    pid_t holders[64];
    if (hold < 0 || hold > 64) return 212;
    if (pipe2(p, O_CLOEXEC) < 0) return errno;
    int held = 0, status = -1;
    for (; held < hold; held++) {
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            close(p[1]);
            while (read(p[0], &c, 1) < 0 && errno == EINTR) {}
            _exit(0);
        }
        if (pid < 0) { printf("hold %d errno %d\n", held, errno); status = 250; break; }
        holders[held] = pid;
    }
    int ef = 0, ev = 0, es = 0;
    if (status < 0) {
        ef = try_fork();
        ev = try_vfork();
        es = try_posix_spawn();
    }
    close(p[1]);
    for (int i = 0; i < held; i++) waitpid(holders[i], NULL, 0);
    close(p[0]);
    if (status >= 0) return status;
    printf("fork %d vfork %d spawn %d\n", ef, ev, es);
    return (ef > 15 ? 15 : ef) * 16 + (ev > 15 ? 15 : ev);
}

/* Maps and touches `mb` chunks of 1 MiB of anonymous memory (kept). */
static void *volatile hog_sink;
static int hog_memory(long mb) {
    for (long i = 0; i < mb; i++) {
        char *c = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (c == MAP_FAILED) return errno;
        memset(c, 0x5a, 1 << 20);
        hog_sink = c;
    }
    return 0;
}

/* Touches `mb` MiB, prints "hog MB", then exits 0 (then_exit) or sleeps
 * 10 s first. */
static int hog(long mb, int then_exit) {
    int e = hog_memory(mb);
    if (e) return e;
    printf("hog %ld\n", mb);
    fflush(stdout);
    if (!then_exit) sleep(10);
    return 0;
}

/* `procs` children each write `dir`/pid.<pid>, touch `mb` MiB and sleep
 * `seconds` (10 when not given); we wait for them. Exits 0, or the first
 * child's nonzero status. */
static int hogfork(int procs, long mb, const char *dir, double seconds) {
    pid_t pids[64];
    if (procs < 0 || procs > 64) return 212;
    int made = 0, worst = 0;
    for (; made < procs; made++) {
        pid_t pid = fork();
        if (pid == 0) {
            write_pid_file(dir);
            int e = hog_memory(mb);
            if (e) _exit(e);
            const struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
            nanosleep(&nap, NULL);
            _exit(0);
        }
        if (pid < 0) { worst = errno; break; }
        pids[made] = pid;
    }
    for (int i = 0; i < made; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (!worst) worst = code;
    }
    return worst;
}

/* Busy-loops for `seconds` of wall-clock time, then prints
 * "cpu_ms C wall_ms W": the CPU time this process used
 * (CLOCK_PROCESS_CPUTIME_ID) and the wall time (CLOCK_MONOTONIC), both over
 * the loop. */
static double ms_of(struct timespec t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }
static int spin(double seconds) {
    struct timespec w0, w1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 10000; i++) x++;
        clock_gettime(CLOCK_MONOTONIC, &w1);
    } while (ms_of(w1) - ms_of(w0) < seconds * 1e3);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("cpu_ms %.0f wall_ms %.0f\n", ms_of(c1) - ms_of(c0), ms_of(w1) - ms_of(w0));
    return 0;
}

/* Like spin, but by short-lived children: each busy-loops `child_ms` of
 * wall time and exits, the parent reaps it and forks the next one. The
 * CPU time printed is the children's (getrusage). */
static int spinforks(double seconds, double child_ms) {
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    do {
        pid_t pid = fork();
        if (pid == 0) {
            struct timespec c0, c1;
            clock_gettime(CLOCK_MONOTONIC, &c0);
            volatile unsigned long x = 0;
            do {
                for (int i = 0; i < 10000; i++) x++;
                clock_gettime(CLOCK_MONOTONIC, &c1);
            } while (ms_of(c1) - ms_of(c0) < child_ms);
            _exit(0);
        }
        if (pid < 0) return errno;
        waitpid(pid, NULL, 0);
        clock_gettime(CLOCK_MONOTONIC, &w1);
    } while (ms_of(w1) - ms_of(w0) < seconds * 1e3);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    printf("cpu_ms %.0f wall_ms %.0f\n", cpu, ms_of(w1) - ms_of(w0));
    return 0;
}

/* ---- events (issue #5) ---- */

/* Connects once (prints "first E"), then execs a second probe that
 * connects to the same place: its result is our exit status. */
static int connect_then_exec(const char *self, const char *addr, const char *port) {
    printf("first %d\n", tcp_connect(addr, port));
    fflush(stdout);
    char *av[] = {(char *)self, (char *)"tcp", (char *)addr, (char *)port, NULL};
    execv(self, av);
    printf("exec %d\n", errno);
    return 250;
}

/* The exec race: a thread flips the last byte of a shared path buffer
 * ("DIR/A" <-> "DIR/Z", two symlinks to the probe the test made) and
 * a shared argument ("A" <-> "Z") while the main thread starts children
 * sharing its memory (clone with CLONE_VM, with and without CLONE_VFORK)
 * that execve that path with that argument: the probe's "race_child".
 * MODE: "vfork", "vm" (CLONE_VM alone) or "both" (alternating, the
 * default).
 * Prints "tries T good G evil E denied D other O" (other: the first
 * odd status in "first S"). */
static char xr_path[4096], xr_word[8];
static char *xr_argv[5];
static size_t xr_flip;
static volatile int xr_stop;
static char xr_stack[1 << 16] __attribute__((aligned(16)));
static void *xr_flipper(void *arg) {
    (void)arg;
    for (unsigned i = 0; !xr_stop; i++) {
        char c = (i & 1) ? 'Z' : 'A';
        __atomic_store_n(&xr_path[xr_flip], c, __ATOMIC_RELAXED);
        __atomic_store_n(&xr_word[0], c, __ATOMIC_RELAXED);
    }
    return NULL;
}
static int xr_child(void *arg) {
    (void)arg;
    extern char **environ;
    execve(xr_path, xr_argv, environ);
    _exit(100 + (errno < 100 ? errno : 99));
}
static int exec_race(const char *dir, double seconds, const char *mode) {
    snprintf(xr_path, sizeof xr_path, "%s/A", dir);
    xr_flip = strlen(xr_path) - 1;
    xr_word[0] = 'A';
    xr_argv[0] = xr_path;
    xr_argv[1] = (char *)"race_child";
    xr_argv[2] = (char *)dir;
    xr_argv[3] = xr_word;
    xr_argv[4] = NULL;
    pthread_t t;
    if (pthread_create(&t, NULL, xr_flipper, NULL) != 0) return 220;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long tries = 0, good = 0, evil = 0, denied = 0, other = 0;
    int first_other = -1;
    do {
        int vfork_now = !strcmp(mode, "vfork") || (strcmp(mode, "vm") && (tries & 1));
        int flags = CLONE_VM | SIGCHLD | (vfork_now ? CLONE_VFORK : 0);
        pid_t pid = clone(xr_child, xr_stack + sizeof xr_stack, flags, NULL);
        if (pid < 0) {
            other++;
            if (first_other < 0) first_other = 1000 + errno;
        } else {
            int st;
            while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {}
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (code == 0) good++;
            else if (code == 42) evil++;
            else if (code == 100 + EPERM) denied++;
            else {
                other++;
                if (first_other < 0) first_other = code;
            }
        }
        tries++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    xr_stop = 1;
    pthread_join(t, NULL);
    printf("tries %ld good %ld evil %ld denied %ld other %ld first %d\n", tries, good, evil, denied, other,
           first_other);
    return 0;
}

/* What exec_race starts: if anything of the exec names the denied
 * variant (the path the kernel ran, argv[0], the argument), creates
 * DIR/evil-ran (and DIR/evil-by-path, -by-argv0, -by-arg: which) and
 * exits 42; else exits 0. */
static int ends_with_z(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n >= 2 && s[n - 2] == '/' && s[n - 1] == 'Z';
}
static int race_child(int argc, char **argv) {
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const char *dir = argc > 2 ? argv[2] : ".";
    int by_path = ends_with_z(execfn), by_argv0 = ends_with_z(argv[0]);
    int by_arg = argc > 3 && strcmp(argv[3], "A") != 0;
    if (by_path || by_argv0 || by_arg) {
        touch_marker(dir, "evil-ran");
        if (by_path) touch_marker(dir, "evil-by-path");
        if (by_argv0) touch_marker(dir, "evil-by-argv0");
        if (by_arg) touch_marker(dir, "evil-by-arg");
        return 42;
    }
    return 0;
}

/* Writes "PID PPID\n" to `path`. */
static void write_ids(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "%d %d\n", (int)getpid(), (int)getppid());
    fclose(f);
}

/* Forks a child that writes DIR/child, forks a grandchild that writes
 * DIR/grandchild ("PID PPID") and execs the probe "exit 0 grandchild-exec".
 * Each waits for its child; the grandchild's status is ours. */
static int grandchild_exec(const char *self, const char *dir) {
    char path[4096];
    pid_t child = fork();
    if (child < 0) return errno;
    if (child == 0) {
        snprintf(path, sizeof path, "%s/child", dir);
        write_ids(path);
        pid_t gc = fork();
        if (gc < 0) _exit(errno);
        if (gc == 0) {
            snprintf(path, sizeof path, "%s/grandchild", dir);
            write_ids(path);
            char *av[] = {(char *)self, (char *)"exit", (char *)"0", (char *)"grandchild-exec", NULL};
            execv(self, av);
            _exit(100 + errno);
        }
        int st;
        waitpid(gc, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    int st;
    waitpid(child, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One call, n times, while a second thread runs: "busy" (a loop in user
 * space) or "sleep" (blocked in nanosleep). CALL "spawn": posix_spawn
 * (glibc: clone with CLONE_VM | CLONE_VFORK) of the probe "exit 0",
 * waited for; "open": open and read PATH. Prints "CALL N ok K first E"
 * (E: the first error, 0 if none) and exits with E. */
static volatile int st_stop;
static void *st_busy(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    while (!st_stop) x++;
    return NULL;
}
static void *st_sleep(void *arg) {
    (void)arg;
    while (!st_stop) {
        const struct timespec nap = {0, 50000000};
        nanosleep(&nap, NULL);
    }
    return NULL;
}
static int beside_a_thread(const char *self, const char *mode, const char *call, int n, const char *path) {
    extern char **environ;
    pthread_t t;
    if (pthread_create(&t, NULL, !strcmp(mode, "busy") ? st_busy : st_sleep, NULL) != 0) return 220;
    int ok = 0, first = 0;
    for (int i = 0; i < n; i++) {
        int e = 0;
        if (!strcmp(call, "spawn")) {
            char *av[] = {(char *)self, (char *)"exit", (char *)"0", NULL};
            pid_t pid;
            e = posix_spawn(&pid, self, NULL, NULL, av, environ);
            if (e == 0) {
                int st;
                waitpid(pid, &st, 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) e = 250;
            }
        } else {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            char c;
            if (fd < 0 || read(fd, &c, 1) != 1) e = errno ? errno : 250;
            if (fd >= 0) close(fd);
        }
        if (e == 0) ok++;
        else if (!first) first = e;
    }
    st_stop = 1;
    pthread_join(t, NULL);
    printf("%s %d ok %d first %d\n", call, n, ok, first);
    return first;
}

/* The open race: a flipper flips the last byte of a shared path between
 * "DIR/A" and "DIR/Z" while the main thread opens and reads that path in
 * a loop for SECONDS. FLIPPER: "thread" (the default), or "vm": a process
 * of its own sharing our memory (clone with CLONE_VM). Prints "tries T a
 * NA z NZ failed NF" (NZ: reads that got DIR/Z's content, which starts
 * with 'Z'). */
static char or_path[4096];
static size_t or_flip;
static volatile int or_stop;
static void *or_flipper(void *arg) {
    (void)arg;
    for (unsigned i = 0; !or_stop; i++) __atomic_store_n(&or_path[or_flip], (i & 1) ? 'Z' : 'A', __ATOMIC_RELAXED);
    return NULL;
}
static int or_flipper_process(void *arg) {
    or_flipper(arg);
    _exit(0);
}
static char or_stack[1 << 16] __attribute__((aligned(16)));
static int open_race(const char *dir, double seconds, const char *flipper) {
    snprintf(or_path, sizeof or_path, "%s/A", dir);
    or_flip = strlen(or_path) - 1;
    pthread_t t;
    pid_t flipper_pid = -1;
    if (!strcmp(flipper, "vm")) {
        flipper_pid = clone(or_flipper_process, or_stack + sizeof or_stack, CLONE_VM | SIGCHLD, NULL);
        if (flipper_pid < 0) return errno;
    } else if (pthread_create(&t, NULL, or_flipper, NULL) != 0) {
        return 220;
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long tries = 0, a = 0, z = 0, failed = 0;
    do {
        int fd = open(or_path, O_RDONLY | O_CLOEXEC);
        char c = 0;
        if (fd < 0 || read(fd, &c, 1) != 1) failed++;
        else if (c == 'Z') z++;
        else if (c == 'A') a++;
        if (fd >= 0) close(fd);
        tries++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    or_stop = 1;
    if (flipper_pid > 0) waitpid(flipper_pid, NULL, 0);
    else pthread_join(t, NULL);
    printf("tries %ld a %ld z %ld failed %ld\n", tries, a, z, failed);
    return 0;
}

/* ---- fs_deny (test_fsdeny.c) ---- */

/* The first line of what `fd` holds (up to 63 bytes) into out: "-" when
 * empty, "read:E" when reading fails. */
static void first_line(int fd, char *out, size_t size) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) { snprintf(out, size, "read:%d", errno); return; }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    snprintf(out, size, "%s", n == 0 || !buf[0] ? "-" : buf);
}

static long openat2_call(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = 0, .resolve = resolve};
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* "opens DIR ITEM...": tries each ITEM and prints one line for it,
 * "I E CONTENT": I its index from 0, E the open's errno (0: it worked),
 * CONTENT the first line read from the fd (up to 63 bytes; "-" when
 * nothing was read, "read:E" when reading failed). DIR is opened first
 * (O_RDONLY | O_DIRECTORY) as DIRFD. An ITEM is "HOW:PATH":
 *   open      open(PATH, O_RDONLY)           (glibc: openat(AT_FDCWD))
 *   sysopen   the open syscall itself
 *   at        openat(DIRFD, PATH, O_RDONLY)
 *   fd        open("/proc/self/fd/DIRFD/PATH")
 *   devfd     open("/dev/fd/DIRFD/PATH")
 *   pidcwd    open("/proc/<getpid()>/cwd/PATH")
 *   beneath   openat2(DIRFD, PATH, RESOLVE_BENEATH)
 *   inroot    openat2(DIRFD, PATH, RESOLVE_IN_ROOT)
 *   nofollow  open(PATH, O_RDONLY | O_NOFOLLOW)
 *   opath     open(PATH, O_PATH) (nothing read)
 *   symlink   PATH is "LINK=TARGET": unlink LINK, symlink TARGET there
 *             (a failure: "I -E -"), then open LINK
 *   cdopen    PATH is "WHERE=NAME": chdir WHERE (a failure: "I -E -"),
 *             open NAME, then go back to the cwd we had (or exit 230)
 * Exits 0, or with the errno of opening DIR. */
static int opens(int argc, char **argv) {
    int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return errno;
    int home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 3; i < argc; i++) {
        char how[32], path[4096], joined[4200];
        const char *colon = strchr(argv[i], ':');
        if (!colon || (size_t)(colon - argv[i]) >= sizeof how) { printf("%d bad-item -\n", i - 3); continue; }
        memcpy(how, argv[i], (size_t)(colon - argv[i]));
        how[colon - argv[i]] = '\0';
        snprintf(path, sizeof path, "%s", colon + 1);
        long fd;
        int no_read = 0;
        errno = 0;
        if (!strcmp(how, "open")) fd = open(path, O_RDONLY | O_CLOEXEC);
        else if (!strcmp(how, "sysopen")) fd = syscall(SYS_open, path, O_RDONLY | O_CLOEXEC, 0);
        else if (!strcmp(how, "at")) fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        else if (!strcmp(how, "fd") || !strcmp(how, "devfd") || !strcmp(how, "pidcwd")) {
            if (!strcmp(how, "pidcwd")) snprintf(joined, sizeof joined, "/proc/%d/cwd/%s", (int)getpid(), path);
            else snprintf(joined, sizeof joined, "%s/%d/%s", !strcmp(how, "fd") ? "/proc/self/fd" : "/dev/fd", dirfd, path);
            fd = open(joined, O_RDONLY | O_CLOEXEC);
        }
        else if (!strcmp(how, "beneath")) fd = openat2_call(dirfd, path, O_RDONLY | O_CLOEXEC, RESOLVE_BENEATH);
        else if (!strcmp(how, "inroot")) fd = openat2_call(dirfd, path, O_RDONLY | O_CLOEXEC, RESOLVE_IN_ROOT);
        else if (!strcmp(how, "nofollow")) fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        else if (!strcmp(how, "opath")) { fd = open(path, O_PATH | O_CLOEXEC); no_read = 1; }
        else if (!strcmp(how, "symlink") || !strcmp(how, "cdopen")) {
            char *eq = strchr(path, '=');
            if (!eq) { printf("%d bad-item -\n", i - 3); continue; }
            *eq = '\0';
            int symlinking = !strcmp(how, "symlink");
            if (symlinking) {
                unlink(path);
                if (symlink(eq + 1, path) < 0) { printf("%d -%d -\n", i - 3, errno); continue; }
            } else if (chdir(path) < 0) {
                printf("%d -%d -\n", i - 3, errno);
                continue;
            }
            fd = open(symlinking ? path : eq + 1, O_RDONLY | O_CLOEXEC);
            int e = errno;
            if (!symlinking && (home < 0 || fchdir(home) < 0)) { printf("%d no-way-back -\n", i - 3); return 230; }
            errno = e;
        }
        else { printf("%d bad-how -\n", i - 3); continue; }
        if (fd < 0) { printf("%d %d -\n", i - 3, errno); continue; }
        char content[80] = "-";
        if (!no_read) first_line((int)fd, content, sizeof content);
        close((int)fd);
        printf("%d 0 %s\n", i - 3, content);
    }
    return 0;
}

/* The rename-exchange race: a thread swaps DIR/A and DIR/B with
 * renameat2(RENAME_EXCHANGE) in a loop while the main thread opens and
 * reads DIR/NAME in a loop, for SECONDS. Prints "tries T public P secret
 * S denied D other O first E swaps W swapfail F": P reads that began with
 * "PUBLIC", S reads holding "SECRET", D opens refused with EACCES, O any
 * other outcome (E: the first, an errno or 1000 for unexpected content),
 * W successful exchanges, F failed ones. */
static char sr_a[4096], sr_b[4096];
static volatile int sr_stop;
static long sr_swaps, sr_swapfail;
static void *sr_swapper(void *arg) {
    (void)arg;
    while (!sr_stop) {
        if (syscall(SYS_renameat2, AT_FDCWD, sr_a, AT_FDCWD, sr_b, 2 /* RENAME_EXCHANGE */) == 0) sr_swaps++;
        else sr_swapfail++;
    }
    return NULL;
}
static int swap_race(const char *dir, const char *a, const char *b, const char *name, double seconds) {
    char path[4096];
    snprintf(sr_a, sizeof sr_a, "%s/%s", dir, a);
    snprintf(sr_b, sizeof sr_b, "%s/%s", dir, b);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pthread_t t;
    if (pthread_create(&t, NULL, sr_swapper, NULL) != 0) return 220;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long tries = 0, pub = 0, secret = 0, denied = 0, other = 0;
    int first = 0;
    do {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == EACCES) denied++;
            else { other++; if (!first) first = errno; }
        } else {
            char buf[64];
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            buf[n > 0 ? n : 0] = '\0';
            if (strstr(buf, "SECRET")) secret++;
            else if (!strncmp(buf, "PUBLIC", 6)) pub++;
            else { other++; if (!first) first = n < 0 ? errno : 1000; }
        }
        tries++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    sr_stop = 1;
    pthread_join(t, NULL);
    printf("tries %ld public %ld secret %ld denied %ld other %ld first %d swaps %ld swapfail %ld\n", tries, pub, secret,
           denied, other, first, sr_swaps, sr_swapfail);
    return 0;
}

/* "fdflags DIR": opens in DIR (which holds "public", "writable", "trunc",
 * "denied/secret", the symlinks "dangle" -> DIR/dangle-target and
 * "dangle-denied" -> DIR/denied/planted, both missing) with various flags
 * and prints "KEY E V" a line: E the open's errno (0: it worked), V a value
 * read from the fd (-1 when none; a file's mode for the creating ones). */
static void fdf_line(const char *key, long fd, long value) {
    printf("%s %d %ld\n", key, fd < 0 ? errno : 0, fd < 0 ? -1 : value);
    if (fd >= 0) close((int)fd);
}
static long fd_mode(long fd) {
    struct stat st;
    return fd >= 0 && fstat((int)fd, &st) == 0 ? (long)(st.st_mode & 07777) : -1;
}
static int fdflags(const char *dir) {
    char p[4096];
    long fd;
#define AT(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
    fd = open(AT("public"), O_RDONLY | O_CLOEXEC);
    fdf_line("cloexec", fd, fd >= 0 ? (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) != 0 : -1);
    fd = open(AT("public"), O_RDONLY);
    fdf_line("nocloexec", fd, fd >= 0 ? (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) != 0 : -1);
    fd = openat2_call(AT_FDCWD, AT("public"), O_RDONLY | O_CLOEXEC, 0);
    fdf_line("openat2_cloexec", fd, fd >= 0 ? (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) != 0 : -1);
    fd = openat2_call(AT_FDCWD, AT("public"), O_RDONLY, 0);
    fdf_line("openat2_nocloexec", fd, fd >= 0 ? (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) != 0 : -1);
    fd = open(AT("public"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fdf_line("nonblock", fd, fd >= 0 ? (fcntl((int)fd, F_GETFL) & O_NONBLOCK) != 0 : -1);
    fd = open(AT("public"), O_RDONLY | O_CLOEXEC);
    fdf_line("plain_not_nonblock", fd, fd >= 0 ? (fcntl((int)fd, F_GETFL) & (O_NONBLOCK | O_APPEND)) != 0 : -1);
    fd = open(AT("public"), O_RDONLY | O_CLOEXEC);
    fdf_line("rdonly_accmode", fd, fd >= 0 ? (fcntl((int)fd, F_GETFL) & O_ACCMODE) == O_RDONLY : -1);
    fd = open(AT("writable"), O_RDWR | O_CLOEXEC);
    fdf_line("rdwr_accmode", fd, fd >= 0 ? (fcntl((int)fd, F_GETFL) & O_ACCMODE) == O_RDWR : -1);
    fd = open(AT("writable"), O_WRONLY | O_APPEND | O_CLOEXEC);
    long appended = -1;
    if (fd >= 0) {
        appended = (fcntl((int)fd, F_GETFL) & O_APPEND) != 0;
        if (write((int)fd, "APPENDED\n", 9) != 9) appended = -2;
    }
    fdf_line("append", fd, appended);
    fd = open(AT("public"), O_PATH | O_CLOEXEC);
    fdf_line("opath", fd, fd >= 0 ? (fcntl((int)fd, F_GETFL) & O_PATH) != 0 : -1);
    fd = open(AT("public"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fdf_line("directory_on_file", fd, 0);
    fd = open(AT("public"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    fdf_line("excl_existing", fd, 0);
    fd = open(AT("dangle"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    fdf_line("excl_dangling_symlink", fd, 0);
    umask(027);
    fd = open(AT("new027"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    fdf_line("create_umask027", fd, fd_mode(fd));
    umask(0);
    fd = open(AT("new000"), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    fdf_line("create_umask0", fd, fd_mode(fd));
    umask(077);
    fd = openat2_call(AT_FDCWD, AT("new077"), O_WRONLY | O_CREAT | O_CLOEXEC, 0);
    fdf_line("openat2_mode0_umask077", fd, fd_mode(fd));
    {
        struct open_how how = {.flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = 0644};
        fd = syscall(SYS_openat2, AT_FDCWD, AT("new077b"), &how, sizeof how);
    }
    fdf_line("openat2_umask077", fd, fd_mode(fd));
    fd = syscall(SYS_creat, AT("viacreat"), 0666);
    fdf_line("creat_syscall_umask077", fd, fd_mode(fd));
    umask(022);
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    fdf_line("tmpfile", fd, fd_mode(fd));
    fd = open(AT("denied"), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    fdf_line("tmpfile_in_denied", fd, 0);
    fd = openat(999, "public", O_RDONLY | O_CLOEXEC);
    fdf_line("bad_dirfd", fd, 0);
    {
        int file = open(AT("public"), O_RDONLY | O_CLOEXEC);
        fd = openat(file, "public", O_RDONLY | O_CLOEXEC);
        fdf_line("file_as_dirfd", fd, 0);
        if (file >= 0) close(file);
    }
    fd = syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY | O_CLOEXEC);
    fdf_line("null_path", fd, 0);
    fd = syscall(SYS_openat, AT_FDCWD, (char *)8, O_RDONLY | O_CLOEXEC);
    fdf_line("unmapped_path", fd, 0);
    {
        static char longpath[6000];
        memset(longpath, 'a', sizeof longpath - 1);
        fd = open(longpath, O_RDONLY | O_CLOEXEC);
        fdf_line("long_path", fd, 0);
    }
    fd = open("", O_RDONLY | O_CLOEXEC);
    fdf_line("empty_path", fd, 0);
    fd = open(AT("dangle"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    fdf_line("create_through_dangling_symlink", fd, 0);
    fd = open(AT("dangle-denied"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    fdf_line("create_through_symlink_into_denied", fd, 0);
    fd = open(AT("denied/new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    fdf_line("create_in_denied", fd, 0);
    fd = open(AT("denied/new-excl"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    fdf_line("create_excl_in_denied", fd, 0);
    fd = open(AT("denied/secret"), O_WRONLY | O_TRUNC | O_CLOEXEC);
    fdf_line("truncate_secret", fd, 0);
    fd = open(AT("denied/secret"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fdf_line("create_trunc_secret", fd, 0);
    fd = open(AT("denied/secret"), O_WRONLY | O_APPEND | O_CLOEXEC);
    fdf_line("append_secret", fd, 0);
    fd = open(AT("trunc"), O_WRONLY | O_TRUNC | O_CLOEXEC);
    struct stat st;
    fdf_line("truncate", fd, fd >= 0 && fstat((int)fd, &st) == 0 ? (long)st.st_size : -1);
    int a = open(AT("public"), O_RDONLY), b = open(AT("public"), O_RDONLY);
    if (a >= 0) close(a);
    fd = open(AT("public"), O_RDONLY);
    fdf_line("lowest_fd", fd, a >= 0 && b >= 0 && fd == a);
    if (b >= 0) close(b);
#undef AT
    return 0;
}

/* "modes FILE": FILE opened for writing in several ways, then read. Prints
 * "KEY E" a line (E: the open's errno, 0 if it worked), and last
 * "read E CONTENT". */
static int write_modes(const char *path) {
    const struct { const char *key; int flags; } modes[] = {
        {"wronly", O_WRONLY}, {"rdwr", O_RDWR}, {"append", O_WRONLY | O_APPEND},
        {"wronly_trunc", O_WRONLY | O_TRUNC}, {"rdonly_trunc", O_RDONLY | O_TRUNC},
        {"creat_existing", O_WRONLY | O_CREAT}, {NULL, 0},
    };
    for (int i = 0; modes[i].key; i++) {
        int fd = open(path, modes[i].flags | O_CLOEXEC, 0644);
        printf("%s %d\n", modes[i].key, fd < 0 ? errno : 0);
        if (fd >= 0) close(fd);
    }
    long fd = syscall(SYS_creat, path, 0644);
    printf("creat %d\n", fd < 0 ? errno : 0);
    if (fd >= 0) close((int)fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    char content[80] = "-";
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) { first_line((int)fd, content, sizeof content); close((int)fd); }
    printf("read %d %s\n", e, content);
    return 0;
}

/* "emfile FILE TRUNC NEW": fills the fd table by lowering our own
 * RLIMIT_NOFILE to the lowest free fd, then tries open(FILE), open(TRUNC,
 * O_WRONLY | O_TRUNC) and open(NEW, O_CREAT), and dup; raises the limit
 * again and reads FILE. Prints "full E1 trunc E2 create E3 dup E4 after
 * E5 CONTENT". */
static int emfile(const char *path, const char *trunc_path, const char *new_path) {
    int lowest = dup(1);
    if (lowest < 0) return errno;
    close(lowest);
    struct rlimit old, low;
    if (getrlimit(RLIMIT_NOFILE, &old) < 0) return errno;
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    if (setrlimit(RLIMIT_NOFILE, &low) < 0) return errno;
    int e[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    e[0] = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    fd = open(trunc_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    e[1] = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    fd = open(new_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    e[2] = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    fd = dup(1);
    e[3] = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    if (setrlimit(RLIMIT_NOFILE, &old) < 0) return errno;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    int after = fd < 0 ? errno : 0;
    char content[80] = "-";
    if (fd >= 0) { first_line(fd, content, sizeof content); close(fd); }
    printf("full %d trunc %d create %d dup %d after %d %s\n", e[0], e[1], e[2], e[3], after, content);
    return 0;
}

/* Calls other than open that name files, each printed as "KEY ERRNO":
 * on the secret (denied/secret, and denied/ itself) and on the public
 * twins, from the allowed tree DIR (the cwd). */
#define PATHOP(key, call)                                                      \
    do {                                                                        \
        errno = 0;                                                              \
        long r_ = (long)(call);                                                 \
        printf("%s %d\n", key, r_ < 0 ? errno : 0);                             \
    } while (0)

static int pathops(const char *dir) {
    if (chdir(dir) != 0) return errno;
    struct stat st;
    char buf[256];
    PATHOP("stat_secret", stat("denied/secret", &st));
    PATHOP("lstat_secret", lstat("denied/secret", &st));
    PATHOP("fstatat_secret", fstatat(AT_FDCWD, "denied/secret", &st, 0));
    PATHOP("statx_secret", syscall(SYS_statx, AT_FDCWD, "denied/secret", 0, 0x7ff, buf));
    PATHOP("access_secret", access("denied/secret", R_OK));
    PATHOP("stat_via_link", stat("link_secret", &st));
    PATHOP("truncate_secret", truncate("denied/secret", 0));
    PATHOP("chmod_secret", chmod("denied/secret", 0666));
    PATHOP("rename_out", rename("denied/secret", "stolen"));
    PATHOP("link_out", link("denied/secret", "stolen-link"));
    PATHOP("unlink_secret", unlink("denied/secret"));
    PATHOP("rename_in", rename("writable", "denied/moved-in"));
    PATHOP("mkdir_in", mkdir("denied/newdir", 0755));
    PATHOP("symlink_in", symlink("/etc/hostname", "denied/newlink"));
    PATHOP("rename_dir_out", rename("denied", "denied-moved"));
    PATHOP("stat_public", stat("public", &st));
    PATHOP("statx_public", syscall(SYS_statx, AT_FDCWD, "public", 0, 0x7ff, buf));
    PATHOP("access_public", access("public", R_OK));
    PATHOP("link_public", link("public", "public-link"));
    PATHOP("rename_public", rename("public-link", "public-moved"));
    PATHOP("unlink_public", unlink("public-moved"));
    PATHOP("mkdir_public", mkdir("newdir", 0755));
    PATHOP("truncate_public", truncate("trunc", 0));
    return 0;
}

/* What this process sees of /proc, as "KEY VALUE" lines: the numeric
 * entries of a listing (how many, and whether HOST, 1, itself and a child
 * of its own are among them), the errnos of opening, stat'ing and reading
 * the links of HOST's (and init's) entries and of its own, and MemTotal
 * from /proc/meminfo in kB. */
static int procview(pid_t host) {
    pid_t child = fork();
    if (child == 0) { pause(); _exit(0); }
    if (child < 0) return errno;
    int entries = 0, saw_host = 0, saw_init = 0, saw_self = 0, saw_child = 0, others = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pid_t p = (pid_t)atoi(e->d_name);
        entries++;
        if (p == host) saw_host = 1;
        else if (p == 1) saw_init = 1;
        else if (p == getpid()) saw_self = 1;
        else if (p == child) saw_child = 1;
        else others++;
    }
    if (d) closedir(d);
    printf("entries %d\nhost %d\ninit %d\nself %d\nchild %d\nothers %d\n", entries, saw_host, saw_init,
           saw_self, saw_child, others);
    char path[128], buf[256];
    struct stat st;
    const char *files[] = {"status", "cmdline", "environ", NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "/proc/%d/%s", (int)host, files[i]);
        int fd = open(path, O_RDONLY);
        printf("host_%s %d\n", files[i], fd < 0 ? errno : 0);
        if (fd >= 0) close(fd);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", (int)host);
    DIR *hd = opendir(path);
    printf("host_fd %d\n", hd ? 0 : errno);
    if (hd) closedir(hd);
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)host);
    printf("host_cwd_stat %d\n", stat(path, &st) == 0 ? 0 : errno);
    snprintf(path, sizeof path, "/proc/%d/exe", (int)host);
    printf("host_exe_readlink %d\n", readlink(path, buf, sizeof buf) >= 0 ? 0 : errno);
    snprintf(path, sizeof path, "/proc/%d", (int)host);
    printf("host_dir_stat %d\n", stat(path, &st) == 0 ? 0 : errno);
    int fd = open("/proc/1/status", O_RDONLY);
    printf("init_status %d\n", fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
    fd = open("/proc/self/status", O_RDONLY);
    printf("self_status %d\n", fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
    snprintf(path, sizeof path, "/proc/%d/status", (int)child);
    fd = open(path, O_RDONLY);
    printf("child_status %d\n", fd < 0 ? errno : 0);
    if (fd >= 0) close(fd);
    long total = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    while (f && fgets(buf, sizeof buf, f))
        if (sscanf(buf, "MemTotal: %ld kB", &total) == 1) break;
    if (f) fclose(f);
    printf("memtotal %ld\n", total);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}

/* The machine as this process sees it: "nodename N", "cpus N" (its
 * affinity), "stack P", "heap P", "mmap P". */
static int machine(void) {
    struct utsname u;
    if (uname(&u) != 0) return errno;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return errno;
    int local = 0;
    void *heap = malloc(64);
    void *map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("nodename %s\ncpus %d\nstack %p\nheap %p\nmmap %p\n", u.nodename, CPU_COUNT(&set),
           (void *)&local, heap, map);
    free(heap);
    return 0;
}

/* 16 bytes of getrandom() and 16 of /dev/urandom, as "getrandom HEX" and
 * "urandom HEX". */
static int randomness(void) {
    unsigned char a[16], b[16];
    if (syscall(SYS_getrandom, a, sizeof a, 0) != (long)sizeof a) return errno;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) return errno;
    close(fd);
    printf("getrandom ");
    for (size_t i = 0; i < sizeof a; i++) printf("%02x", a[i]);
    printf("\nurandom ");
    for (size_t i = 0; i < sizeof b; i++) printf("%02x", b[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 201;
    const char *cmd = argv[1], *arg = argc > 2 ? argv[2] : "";
    int status;
    if (!strcmp(cmd, "exit")) status = atoi(arg);
    else if (!strcmp(cmd, "read")) status = do_read(arg);
    else if (!strcmp(cmd, "write")) status = do_write(arg);
    else if (!strcmp(cmd, "exec")) status = do_exec(arg);
    else if (!strcmp(cmd, "syscall")) status = syscall_family(arg);
    else if (!strcmp(cmd, "int80")) status = int80_getpid();
    else if (!strcmp(cmd, "x32")) status = x32_getpid();
    else if (!strcmp(cmd, "tiocsti")) status = tiocsti_in_own_session(TIOCSTI);
    else if (!strcmp(cmd, "tiocsti_high")) status = tiocsti_in_own_session((unsigned long)TIOCSTI | (1UL << 32));
    else if (!strcmp(cmd, "caps")) status = caps_all_zero();
    else if (!strcmp(cmd, "fds")) { printf("%d\n", count_fds()); status = 0; }
    else if (!strcmp(cmd, "env")) { extern char **environ; for (char **e = environ; *e; e++) puts(*e); status = 0; }
    else if (!strcmp(cmd, "kill")) status = result(kill((pid_t)atoi(arg), 0));
    else if (!strcmp(cmd, "abstract")) status = abstract_connect(arg);
    else if (!strcmp(cmd, "segv")) { raise(SIGSEGV); status = 202; }
    else if (!strcmp(cmd, "nofile")) { struct rlimit r; getrlimit(RLIMIT_NOFILE, &r); printf("%llu %llu\n", (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max); status = 0; }
    else if (!strcmp(cmd, "cwd")) { char b[4096]; status = getcwd(b, sizeof b) ? (puts(b), 0) : errno; }
    else if (!strcmp(cmd, "tcp") && argc > 3) status = tcp_connect(argv[2], argv[3]);
    else if (!strcmp(cmd, "tcp_grandchild") && argc > 3) status = tcp_in_grandchild(argv[2], argv[3]);
    else if (!strcmp(cmd, "connect_loop") && argc > 4) status = connect_loop(argv[2], argv[3], atol(argv[4]));
    else if (!strcmp(cmd, "odd_network")) status = odd_network_arguments();
    else if (!strcmp(cmd, "daemon")) status = daemonize(arg, argc > 3 && !strcmp(argv[3], "kill_all"));
    else if (!strcmp(cmd, "wait_no_child")) status = wait_for_no_child();
    else if (!strcmp(cmd, "join_group")) status = result(setpgid(0, (pid_t)atoi(arg)));
    else if (!strcmp(cmd, "lead_group")) {
        status = result(setpgid((pid_t)atoi(arg), 0));
        printf("%d\n", status);
        fflush(stdout);
        sleep(30); /* stay alive: the test frees the sandbox while we run */
    }
    else if (!strcmp(cmd, "flood") && argc > 4) status = tcp_flood(argv[2], argv[3], atoi(argv[4]));
    else if (!strcmp(cmd, "tfo") && argc > 3) status = tcp_fastopen(argv[2], argv[3]);
    else if (!strcmp(cmd, "udp") && argc > 4) status = udp_send(argv[2], argv[3], argv[4]);
    else if (!strcmp(cmd, "sendmmsg") && argc > 5) status = udp_sendmmsg(argv);
    else if (!strcmp(cmd, "bind_tcp")) status = bind_port(SOCK_STREAM, arg);
    else if (!strcmp(cmd, "bind_tcp_at") && argc > 3) status = bind_tcp_at(argv[2], argv[3]);
    else if (!strcmp(cmd, "bind_udp")) status = bind_port(SOCK_DGRAM, arg);
    else if (!strcmp(cmd, "socket")) status = make_socket(arg);
    else if (!strcmp(cmd, "unix") && argc > 3) status = unix_to(argv[2], argv[3]);
    else if (!strcmp(cmd, "race") && argc > 7) status = race(argv);
    else if (!strcmp(cmd, "io_uring")) status = io_uring_attempt();
    else if (!strcmp(cmd, "bind_race") && argc > 3) status = bind_race(argv[2], atof(argv[3]));
    else if (!strcmp(cmd, "euid")) { printf("%d\n", (int)geteuid()); status = 0; }
    else if (!strcmp(cmd, "getppid")) status = time_getppid(atol(arg));
    else if (!strcmp(cmd, "sleep")) { sleep((unsigned)atoi(arg)); status = 0; }
    else if (!strcmp(cmd, "sigmask")) { sigset_t s; sigprocmask(SIG_SETMASK, NULL, &s); struct sigaction a; sigaction(SIGPIPE, NULL, &a); status = (sigisemptyset(&s) && a.sa_handler == SIG_DFL) ? 0 : 1; }
    else if (!strcmp(cmd, "forkbomb")) status = forkbomb(arg);
    else if (!strcmp(cmd, "orphanchain")) status = orphanchain(arg, argc > 3 && !strcmp(argv[3], "stay"));
    else if (!strcmp(cmd, "forkwave") && argc > 3) status = forkwave(atoi(argv[2]), atoi(argv[3]));
    else if (!strcmp(cmd, "zombies")) status = zombies(atoi(arg));
    else if (!strcmp(cmd, "threads")) status = threads(atoi(arg));
    else if (!strcmp(cmd, "forkone")) status = forkone(atoi(arg));
    else if (!strcmp(cmd, "hog")) status = hog(atol(arg), argc > 3 && !strcmp(argv[3], "exit"));
    else if (!strcmp(cmd, "hogfork") && argc > 4) status = hogfork(atoi(argv[2]), atol(argv[3]), argv[4], argc > 5 ? atof(argv[5]) : 10);
    else if (!strcmp(cmd, "spin")) status = spin(atof(arg));
    else if (!strcmp(cmd, "machine")) status = machine();
    else if (!strcmp(cmd, "random")) status = randomness();
    else if (!strcmp(cmd, "procview")) status = procview((pid_t)atoi(arg));
    else if (!strcmp(cmd, "pathops")) status = pathops(arg);
    else if (!strcmp(cmd, "spinforks") && argc > 3) status = spinforks(atof(arg), atof(argv[3]));
    else if (!strcmp(cmd, "connect_then_exec") && argc > 3) status = connect_then_exec(argv[0], argv[2], argv[3]);
    else if (!strcmp(cmd, "exec_race") && argc > 3) status = exec_race(argv[2], atof(argv[3]), argc > 4 ? argv[4] : "both");
    else if (!strcmp(cmd, "race_child")) status = race_child(argc, argv);
    else if (!strcmp(cmd, "grandchild_exec")) status = grandchild_exec(argv[0], arg);
    else if (!strcmp(cmd, "beside_a_thread") && argc > 4)
        status = beside_a_thread(argv[0], argv[2], argv[3], atoi(argv[4]), argc > 5 ? argv[5] : "");
    else if (!strcmp(cmd, "open_race") && argc > 3) status = open_race(argv[2], atof(argv[3]), argc > 4 ? argv[4] : "thread");
    else if (!strcmp(cmd, "opens") && argc > 2) status = opens(argc, argv);
    else if (!strcmp(cmd, "swap_race") && argc > 6) status = swap_race(argv[2], argv[3], argv[4], argv[5], atof(argv[6]));
    else if (!strcmp(cmd, "fdflags")) status = fdflags(arg);
    else if (!strcmp(cmd, "modes")) status = write_modes(arg);
    else if (!strcmp(cmd, "emfile") && argc > 4) status = emfile(argv[2], argv[3], argv[4]);
    else { fprintf(stderr, "probe: unknown command %s\n", cmd); status = 201; }
    fflush(stdout);
    return status;
}

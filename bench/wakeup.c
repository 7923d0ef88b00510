// bench/wakeup.c: the raw seccomp user-notification round trip, with no
// library in the way, by how the supervisor waits (A: blocking RECV, B: poll
// on the listener, C: epoll holding it, D: epoll holding an epoll holding
// it, E: poll on such an epoll, F: epoll with a pidfd and timerfd too), with
// and without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP; plus two kernel facts
// (q2: the listener hangs up while the last user is a zombie; q3: a pidfd
// is readable once its process is a zombie).
// Usage: ./wake bench <A|B|C|D|E|F> <0|1> [N]
//        ./wake q2
//        ./wake q3
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define die(msg) do { perror(msg); exit(1); } while (0)

static int install_filter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("NO_NEW_PRIVS");
    int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0) die("seccomp");
    return fd;
}

static void send_fd(int sock, int fd)
{
    char c = 'F';
    struct iovec iov = { &c, 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } u;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    if (sendmsg(sock, &m, 0) != 1) die("sendmsg");
}

static int recv_fd(int sock)
{
    char c;
    struct iovec iov = { &c, 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } u;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
    if (recvmsg(sock, &m, 0) != 1) die("recvmsg");
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd\n"); exit(1); }
    int fd; memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

static double now_s(void)
{
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void ep_add(int ep, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) die("epoll_ctl");
}

static int bench(char mode, int flag, int N)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        close(sv[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int lfd = install_filter();
        send_fd(sv[1], lfd);
        close(lfd);
        char go;
        if (read(sv[1], &go, 1) != 1) _exit(1);
        long bad = 0;
        double t0 = now_s();
        for (int i = 0; i < N; i++)
            if (syscall(SYS_getppid) != 42) bad++;
        double t1 = now_s();
        double us = (t1 - t0) * 1e6 / N;
        if (bad) us = -bad;
        write(sv[1], &us, sizeof us);
        _exit(0);
    }
    close(sv[1]);
    int lfd = recv_fd(sv[0]);
    if (flag && ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                      (unsigned long)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))
        die("NOTIF_SET_FLAGS");

    int ep = -1, inner = -1, pfd = -1, tfd = -1;
    if (mode == 'C' || mode == 'F') {
        ep = epoll_create1(EPOLL_CLOEXEC); ep_add(ep, lfd);
        if (mode == 'F') {
            pfd = syscall(SYS_pidfd_open, pid, 0);
            if (pfd < 0) die("pidfd_open");
            tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
            if (tfd < 0) die("timerfd");
            struct itimerspec its = { .it_value = { 3600, 0 } };
            timerfd_settime(tfd, 0, &its, NULL);
            ep_add(ep, pfd); ep_add(ep, tfd);
        }
    } else if (mode == 'D' || mode == 'E') {
        inner = epoll_create1(EPOLL_CLOEXEC); ep_add(inner, lfd);
        if (mode == 'D') { ep = epoll_create1(EPOLL_CLOEXEC); ep_add(ep, inner); }
    }

    if (write(sv[0], "g", 1) != 1) die("write go");
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (int i = 0; i < N; i++) {
        if (mode == 'B' || mode == 'E') {
            struct pollfd p = { .fd = (mode == 'B') ? lfd : inner, .events = POLLIN };
            if (poll(&p, 1, -1) < 0) die("poll");
        } else if (mode != 'A') {
            struct epoll_event evs[4];
            int n;
            for (;;) {   /* in F, only proceed once the listener is ready */
                n = epoll_wait(ep, evs, 4, -1);
                if (n < 0) die("epoll_wait");
                int ok = 0;
                for (int k = 0; k < n; k++)
                    if (evs[k].data.fd == lfd || evs[k].data.fd == inner) ok = 1;
                if (ok) break;
                if (mode == 'F') { fprintf(stderr, "unexpected non-listener event\n"); exit(1); }
            }
        }
        memset(&req, 0, sizeof req);
        if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req)) die("NOTIF_RECV");
        memset(&resp, 0, sizeof resp);
        resp.id = req.id; resp.val = 42; resp.error = 0; resp.flags = 0;
        if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp)) die("NOTIF_SEND");
    }
    double us;
    if (read(sv[0], &us, sizeof us) != sizeof us) die("read result");
    int st; waitpid(pid, &st, 0);
    printf("%c %d %.3f\n", mode, flag, us);
    return 0;
}

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

static void show(const char *what, int fd, int timeout)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    double t0 = now_s();
    int r = poll(&p, 1, timeout);
    double ms = (now_s() - t0) * 1e3;
    printf("  %-40s poll ret=%d revents=0x%x%s%s%s%s (%.1f ms)\n", what, r, p.revents,
           p.revents & POLLIN ? " POLLIN" : "", p.revents & POLLOUT ? " POLLOUT" : "",
           p.revents & POLLHUP ? " POLLHUP" : "", p.revents & POLLERR ? " POLLERR" : "", ms);
}

static pid_t spawn_exiting_child(int *lfd_out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        close(sv[0]);
        int lfd = install_filter();
        send_fd(sv[1], lfd);
        usleep(100000);
        _exit(0);
    }
    close(sv[1]);
    if (lfd_out) *lfd_out = recv_fd(sv[0]);
    else { int x = recv_fd(sv[0]); close(x); }
    close(sv[0]);
    return pid;
}

static void wait_zombie(pid_t pid)
{
    for (int i = 0; i < 500 && proc_state(pid) != 'Z'; i++) usleep(10000);
    usleep(50000);
    printf("  /proc/%d/stat state = %c\n", pid, proc_state(pid));
}

static int q2(void)
{
    int lfd;
    printf("Q2: listener poll vs zombie\n");
    pid_t pid = spawn_exiting_child(&lfd);
    show("listener, child alive (timeout 0)", lfd, 0);
    wait_zombie(pid);
    show("listener, child zombie (timeout 500)", lfd, 500);
    int st;
    if (waitpid(pid, &st, 0) != pid) die("waitpid");
    printf("  reaped pid %d\n", pid);
    show("listener, child reaped (timeout 500)", lfd, 500);
    close(lfd);
    return 0;
}

static int q3(void)
{
    printf("Q3: pidfd poll vs zombie\n");
    pid_t pid = spawn_exiting_child(NULL);
    int pfd = syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) die("pidfd_open");
    show("pidfd, child alive (timeout 0)", pfd, 0);
    wait_zombie(pid);
    show("pidfd, child zombie (timeout 500)", pfd, 500);
    int st;
    if (waitpid(pid, &st, 0) != pid) die("waitpid");
    printf("  reaped pid %d\n", pid);
    show("pidfd, child reaped (timeout 500)", pfd, 500);
    close(pfd);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 4 && !strcmp(argv[1], "bench"))
        return bench(argv[2][0], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 20000);
    if (argc >= 2 && !strcmp(argv[1], "q2")) return q2();
    if (argc >= 2 && !strcmp(argv[1], "q3")) return q3();
    fprintf(stderr, "usage: %s bench <A-F> <0|1> [N] | q2 | q3\n", argv[0]);
    return 2;
}

/* Workloads for the limit and fs_deny benchmarks; each prints its own
 * time in microseconds, so the spawn cost stays out of the comparison.
 *   limits malloc N   N small malloc/free pairs (with a few kept live)
 *   limits forks N    N fork + _exit + waitpid, one at a time
 *   limits opens N    N open + close of /etc/hostname */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long n = atol(argv[2]);
    double start = now_us();
    if (strcmp(argv[1], "malloc") == 0) {
        void *keep[64] = {0};
        for (long i = 0; i < n; i++) {
            size_t size = 16 + (size_t)(i * 7919 % 1024);
            char *p = malloc(size);
            if (!p) return 1;
            p[0] = (char)i;
            size_t slot = (size_t)i % 64;
            free(keep[slot]);
            keep[slot] = p;
        }
        for (int i = 0; i < 64; i++) free(keep[i]);
    } else if (strcmp(argv[1], "forks") == 0) {
        for (long i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid < 0) return 1;
            if (pid == 0) _exit(0);
            if (waitpid(pid, NULL, 0) != pid) return 1;
        }
    } else if (strcmp(argv[1], "opens") == 0) {
        for (long i = 0; i < n; i++) {
            int fd = open("/etc/hostname", O_RDONLY);
            if (fd < 0) return 1;
            close(fd);
        }
    } else {
        return 2;
    }
    printf("%.1f\n", now_us() - start);
    return 0;
}

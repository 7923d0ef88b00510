/* Attacks on other processes' resources, SysV IPC and the CPU limits
 * (issue #14, classes 3, 4, 10 and 14). The job is this very program,
 * re-executed with "job" as its first argument: first unconfined, to show
 * each attack works, then in a sandbox. Every target is the test's own: a
 * scratch "victim" process it forks (in a process group of its own, killed
 * at the end), a SysV segment it makes with IPC_PRIVATE (removed at the
 * end), and a uid no process has for the per-user calls. */
#include "harness.h"
#include <sched.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <pthread.h>

#define VICTIM_CORE_MARK 12345 /* the soft RLIMIT_CORE a job tries to give the victim */
#define NOBODY_UID 3999999     /* a uid no process has */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO_WHO_USER 3
#define IOPRIO_BE_7 ((2 << 13) | 7)

static char self[4096];
static volatile int victim_data = 42; /* at the same address in the victim (a fork) */

/* ---- the job ---- */

static int err(long r) { return r < 0 ? errno : 0; }

struct sched_attr_v0 {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

static long set_attr(pid_t pid) {
    struct sched_attr_v0 a = {.size = sizeof a, .sched_policy = SCHED_OTHER, .sched_nice = 3};
    return syscall(SYS_sched_setattr, pid, &a, 0);
}

static pid_t job_child(void) {
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    return c;
}

static void *idle_thread(void *tid_out) {
    *(volatile pid_t *)tid_out = (pid_t)syscall(SYS_gettid);
    for (;;) pause();
    return NULL;
}

/* Every pid call on the victim, then on the job's own process, thread and
   child, and on process groups; prints "name=errno" (0 = done). */
static int job_pidcalls(pid_t victim) {
    pid_t group = getpgid(victim);
    struct rlimit64 mark = {VICTIM_CORE_MARK, RLIM64_INFINITY}, seen;
    printf("prlimit_set=%d\n", err(syscall(SYS_prlimit64, victim, RLIMIT_CORE, &mark, NULL)));
    printf("prlimit_get=%d\n", err(syscall(SYS_prlimit64, victim, RLIMIT_CORE, NULL, &seen)));
    cpu_set_t one;
    CPU_ZERO(&one);
    sched_getaffinity(0, sizeof one, &one);
    printf("affinity=%d\n", err(sched_setaffinity(victim, sizeof one, &one)));
    struct sched_param param = {0};
    printf("scheduler=%d\n", err(sched_setscheduler(victim, SCHED_BATCH, &param)));
    printf("param=%d\n", err(sched_setparam(victim, &param)));
    printf("attr=%d\n", err(set_attr(victim)));
    printf("priority=%d\n", err(setpriority(PRIO_PROCESS, (id_t)victim, 5)));
    printf("priority_group=%d\n", err(setpriority(PRIO_PGRP, (id_t)group, 5)));
    printf("priority_user=%d\n", err(setpriority(PRIO_USER, NOBODY_UID, 5)));
    printf("ioprio=%d\n", err(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, victim, IOPRIO_BE_7)));
    printf("ioprio_group=%d\n", err(syscall(SYS_ioprio_set, IOPRIO_WHO_PGRP, group, IOPRIO_BE_7)));
    printf("ioprio_user=%d\n", err(syscall(SYS_ioprio_set, IOPRIO_WHO_USER, NOBODY_UID, IOPRIO_BE_7)));

    /* The job's own: itself by pid 0 and by number, a thread, a child, a
       group it made. */
    pid_t me = getpid();
    volatile pid_t tid = 0;
    pthread_t t;
    pthread_create(&t, NULL, idle_thread, (void *)&tid);
    while (!tid) usleep(100);
    pid_t child = job_child();
    setpgid(child, child);
    struct rlimit64 own = {0, RLIM64_INFINITY};
    int own_errors = 0;
    const char *names[16];
    int n = 0;
#define OWN(name, call) do { if (err(call) != 0) { own_errors++; names[n++ & 15] = name; } } while (0)
    OWN("prlimit0", syscall(SYS_prlimit64, 0, RLIMIT_CORE, &own, NULL));
    OWN("prlimit_me", syscall(SYS_prlimit64, me, RLIMIT_CORE, &own, NULL));
    OWN("prlimit_child", syscall(SYS_prlimit64, child, RLIMIT_CORE, &own, NULL));
    OWN("affinity_thread", sched_setaffinity(tid, sizeof one, &one));
    OWN("affinity_child", sched_setaffinity(child, sizeof one, &one));
    OWN("scheduler_child", sched_setscheduler(child, SCHED_BATCH, &param));
    OWN("param_thread", sched_setparam(tid, &param));
    OWN("attr_child", set_attr(child));
    OWN("priority0", setpriority(PRIO_PROCESS, 0, 1));
    OWN("priority_child", setpriority(PRIO_PROCESS, (id_t)child, 6));
    OWN("priority_own_group", setpriority(PRIO_PGRP, 0, 1));
    OWN("priority_made_group", setpriority(PRIO_PGRP, (id_t)child, 7));
    OWN("ioprio_thread", syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, IOPRIO_BE_7));
    OWN("ioprio_made_group", syscall(SYS_ioprio_set, IOPRIO_WHO_PGRP, child, IOPRIO_BE_7));
    printf("own_errors=%d", own_errors);
    for (int i = 0; i < n && i < 16; i++) printf(" %s", names[i]);
    printf("\n");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fflush(stdout);
    _exit(0); /* the idle thread stays in pause() */
}

/* What Landlock's ptrace hook and signal scope are said to cover. */
static int job_ptrace_family(pid_t victim, uintptr_t data) {
    char buf[8];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)data, sizeof victim_data};
    printf("vm_readv=%d\n", err(process_vm_readv(victim, &local, 1, &remote, 1, 0)));
    printf("vm_writev=%d\n", err(process_vm_writev(victim, &local, 0, &remote, 0, 0)));
    int pidfd = (int)syscall(SYS_pidfd_open, victim, 0);
    printf("pidfd_open=%d\n", pidfd < 0 ? errno : 0);
    struct iovec page = {(void *)(data & ~(uintptr_t)4095), 4096};
    printf("madvise=%d\n", err(syscall(SYS_process_madvise, pidfd, &page, 1, MADV_COLD, 0)));
    printf("kcmp=%d\n", err(syscall(SYS_kcmp, getpid(), victim, 0 /* KCMP_FILE */, 0, 0)));
    unsigned long nodes = 1;
    long migrated = syscall(SYS_migrate_pages, victim, 8 * sizeof nodes, &nodes, &nodes);
    printf("migrate=%d\n", err(migrated));
    void *pages[1] = {page.iov_base};
    int status[1] = {0};
    printf("move_pages=%d\n", err(syscall(SYS_move_pages, victim, 1, pages, NULL, status, 0)));
    void *head;
    size_t len;
    printf("robust_list=%d\n", err(syscall(SYS_get_robust_list, victim, &head, &len)));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)victim);
    int mem = open(path, O_RDONLY);
    printf("proc_mem=%d\n", mem < 0 ? errno : 0);
    snprintf(path, sizeof path, "/proc/%d/environ", (int)victim);
    int env = open(path, O_RDONLY);
    printf("proc_environ=%d\n", env < 0 ? errno : 0);
    printf("kill=%d\n", err(kill(victim, 0)));
    printf("kill_group=%d\n", err(kill(-getpgid(victim), 0)));
    printf("tgkill=%d\n", err(syscall(SYS_tgkill, victim, victim, 0)));
    printf("pidfd_signal=%d\n", err(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0)));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_QUEUE;
    printf("sigqueue=%d\n", err(syscall(SYS_rt_sigqueueinfo, victim, 0, &info)));
    printf("ptrace=%d\n", err(syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, victim, 0, 0)));
    return 0;
}

/* The victim's SysV segment: attach and write it; then make objects of
   the job's own. */
static int job_sysv(int shmid) {
    void *at = shmat(shmid, NULL, 0);
    printf("shmat=%d\n", at == (void *)-1 ? errno : 0);
    if (at != (void *)-1) {
        strcpy(at, "overwritten");
        shmdt(at);
    }
    struct shmid_ds ds;
    printf("shmctl=%d\n", err(shmctl(shmid, IPC_STAT, &ds)));
    int own = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    printf("shmget=%d\n", own < 0 ? errno : 0);
    if (own >= 0) shmctl(own, IPC_RMID, NULL);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    printf("semget=%d\n", sem < 0 ? errno : 0);
    if (sem >= 0) semctl(sem, 0, IPC_RMID);
    int msg = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    printf("msgget=%d\n", msg < 0 ? errno : 0);
    if (msg >= 0) msgctl(msg, IPC_RMID, NULL);
    return 0;
}

/* num_cpus: widen, narrow to a CPU not given, and check what is left. */
static int job_affinity(void) {
    cpu_set_t given, all, others, now;
    sched_getaffinity(0, sizeof given, &given);
    printf("given=%d\n", CPU_COUNT(&given));
    CPU_ZERO(&all);
    CPU_ZERO(&others);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        CPU_SET(c, &all);
        if (!CPU_ISSET(c, &given)) CPU_SET(c, &others);
    }
    printf("widen=%d\n", err(sched_setaffinity(0, sizeof all, &all)));
    sched_getaffinity(0, sizeof now, &now);
    printf("after_widen=%d same=%d\n", CPU_COUNT(&now), CPU_EQUAL(&now, &given));
    /* by number, from a thread of ours, and a short mask */
    printf("widen_self_pid=%d\n", err(sched_setaffinity(getpid(), sizeof all, &all)));
    unsigned char short_mask = 0xff;
    printf("widen_short=%d\n", err(syscall(SYS_sched_setaffinity, 0, 1, &short_mask)));
    sched_getaffinity(0, sizeof now, &now);
    printf("after_all=%d same=%d\n", CPU_COUNT(&now), CPU_EQUAL(&now, &given));
    printf("outside=%d\n", err(sched_setaffinity(0, sizeof others, &others)));
    printf("fault=%d\n", err(syscall(SYS_sched_setaffinity, 0, sizeof all, (void *)8)));
    pid_t child = job_child();
    printf("widen_child=%d\n", err(sched_setaffinity(child, sizeof all, &all)));
    sched_getaffinity(child, sizeof now, &now);
    printf("child_after=%d\n", CPU_COUNT(&now));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}

static double ms_of(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Spins for `seconds` with a POSIX timer sending this process SIGCONT
   every millisecond; prints its CPU and wall time every 100 ms. */
static void on_sigcont(int sig) { (void)sig; }

static int job_sigcont_spin(int seconds) {
    /* A handler: a periodic timer whose signal is ignored (SIGCONT's
       default) is not re-armed by the kernel. */
    signal(SIGCONT, on_sigcont);
    /* Four timers a quarter of a period apart, re-armed every 20 ms of
       running: a SIGSTOP drops a timer's signal if it is pending at that
       moment, and such a timer is not re-armed by the kernel. */
    timer_t timers[4];
    struct itimerspec every[4];
    for (int i = 0; i < 4; i++) {
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGCONT};
        if (timer_create(CLOCK_MONOTONIC, &ev, &timers[i]) != 0) return 3;
        every[i] = (struct itimerspec){{0, 1000000}, {0, 1000000 + 250000 * i}};
        if (timer_settime(timers[i], 0, &every[i], NULL) != 0) return 3;
    }
    double start = ms_of(CLOCK_MONOTONIC), next = start + 100, rearm = start + 20;
    volatile unsigned long spin = 0;
    for (;;) {
        for (int i = 0; i < 100000; i++) spin++;
        double now = ms_of(CLOCK_MONOTONIC);
        if (now >= rearm) {
            for (int i = 0; i < 4; i++) timer_settime(timers[i], 0, &every[i], NULL);
            rearm = now + 20;
        }
        if (now >= next) {
            printf("cpu_ms %.0f wall_ms %.0f\n", ms_of(CLOCK_PROCESS_CPUTIME_ID), now - start);
            fflush(stdout);
            next = now + 100;
        }
        if (now - start >= seconds * 1000.0) break;
    }
    printf("done\n");
    return 0;
}

static int job(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *cmd = argv[2];
    int a = argc > 3 ? atoi(argv[3]) : 0;
    uintptr_t b = argc > 4 ? (uintptr_t)strtoull(argv[4], NULL, 0) : 0;
    if (!strcmp(cmd, "pidcalls")) return job_pidcalls(a);
    if (!strcmp(cmd, "ptrace")) return job_ptrace_family(a, b);
    if (!strcmp(cmd, "sysv")) return job_sysv(a);
    if (!strcmp(cmd, "affinity")) return job_affinity();
    if (!strcmp(cmd, "sigcont_spin")) return job_sigcont_spin(a);
    return 2;
}

/* ---- the host ---- */

static pid_t victim = -1;

static void spawn_victim(void) {
    victim = fork();
    if (victim == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setpgid(0, 0);
        /* No capabilities, as the host's processes of a non-root host have
           (and the job has): otherwise the kernel's capability check, not
           the sandbox, refuses scheduling changes to it. */
        struct { uint32_t version; int pid; } hdr = {0x20080522, 0};
        struct { uint32_t effective, permitted, inheritable; } none[2];
        memset(none, 0, sizeof none);
        syscall(SYS_capset, &hdr, none);
        victim_data = 43;
        for (;;) pause();
    }
    setpgid(victim, victim);
    usleep(20000);
}

static void kill_victim(void) {
    if (victim > 0) {
        kill(victim, SIGKILL);
        waitpid(victim, NULL, 0);
        victim = -1;
    }
}

static long victim_core_soft(void) {
    struct rlimit64 r;
    if (syscall(SYS_prlimit64, victim, RLIMIT_CORE, NULL, &r) != 0) return -1;
    return (long)r.rlim_cur;
}

static void reset_victim(void) {
    struct rlimit64 zero = {0, RLIM64_INFINITY};
    syscall(SYS_prlimit64, victim, RLIMIT_CORE, &zero, NULL);
    setpriority(PRIO_PROCESS, (id_t)victim, 0);
    struct sched_param param = {0};
    sched_setscheduler(victim, SCHED_OTHER, &param);
}

/* Runs the job with no sandbox; its stdout into out. Returns its exit
   code. */
static int run_job_unconfined(const char *cmd, long a, char *out, size_t size) {
    char as[24], bs[24];
    snprintf(as, sizeof as, "%ld", a);
    snprintf(bs, sizeof bs, "%lu", (unsigned long)(uintptr_t)&victim_data);
    const char *argv[] = {self, "job", cmd, as, bs, NULL};
    return run_unconfined(argv, out, size);
}

static sandlock_policy *job_policy(void) {
    sandlock_policy *p = allow_self_job(base_policy(), self);
    sandlock_policy_timeout_ms(p, 20000);
    return p;
}

static struct outcome run_job(sandlock_policy *p, const char *cmd, long a) {
    char as[24], bs[24];
    snprintf(as, sizeof as, "%ld", a);
    snprintf(bs, sizeof bs, "%lu", (unsigned long)(uintptr_t)&victim_data);
    const char *argv[] = {self, "job", cmd, as, bs, NULL};
    return run(p, argv);
}

/* The value of "key=" in out, or -1000 if missing. */
static long field(const char *out, const char *key) {
    size_t len = strlen(key);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, len) && l[len] == '=') return atol(l + len + 1);
    return -1000;
}

static void other_processes_resources_only_the_sandboxs_own(void) {
    static const char *victim_calls[] = {"prlimit_set", "prlimit_get", "affinity", "scheduler", "param",
                                         "attr", "priority", "priority_group", "ioprio", "ioprio_group",
                                         NULL};
    char out[8192];
    reset_victim();
    int code = run_job_unconfined("pidcalls", victim, out, sizeof out);
    CHECK(code == 0, "unconfined job: %d", code);
    for (int i = 0; victim_calls[i]; i++)
        CHECK(field(out, victim_calls[i]) == 0, "unconfined %s should work: %ld", victim_calls[i],
              field(out, victim_calls[i]));
    CHECK(victim_core_soft() == VICTIM_CORE_MARK, "unconfined prlimit reached the victim: %ld",
          victim_core_soft());
    CHECK(field(out, "own_errors") == 0, "unconfined own calls: %s", out);
    reset_victim();

    sandlock_policy *p = job_policy();
    struct outcome o = run_job(p, "pidcalls", victim);
    CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "job: reason %d code %d", o.reason, o.code);
    for (int i = 0; victim_calls[i]; i++)
        CHECK(field(o.out, victim_calls[i]) == EPERM, "%s on the victim: %ld (want EPERM)", victim_calls[i],
              field(o.out, victim_calls[i]));
    CHECK(field(o.out, "priority_user") == EPERM, "PRIO_USER: %ld", field(o.out, "priority_user"));
    CHECK(field(o.out, "ioprio_user") == EPERM, "IOPRIO_WHO_USER: %ld", field(o.out, "ioprio_user"));
    CHECK(victim_core_soft() == 0, "the victim's RLIMIT_CORE changed: %ld", victim_core_soft());
    CHECK(getpriority(PRIO_PROCESS, (id_t)victim) == 0, "the victim's nice changed");
    CHECK(sched_getscheduler(victim) == SCHED_OTHER, "the victim's policy changed");
    CHECK(field(o.out, "own_errors") == 0, "the job's own processes: %s", o.out);
    sandlock_policy_free(p);
}

static void ptrace_checks_and_signal_scope_cover_the_rest(void) {
    static const char *calls[] = {"vm_readv", "madvise", "move_pages", "robust_list", "proc_mem",
                                  "proc_environ", "kill", "kill_group", "tgkill", "pidfd_signal",
                                  "sigqueue", "ptrace", "kcmp", "migrate", NULL};
    char out[8192];
    int code = run_job_unconfined("ptrace", victim, out, sizeof out);
    CHECK(code == 0, "unconfined job: %d", code);
    int skip_migrate = field(out, "migrate") == ENOSYS;
    for (int i = 0; calls[i]; i++) {
        if (skip_migrate && !strcmp(calls[i], "migrate")) continue;
        CHECK(field(out, calls[i]) == 0, "unconfined %s should work: %ld", calls[i], field(out, calls[i]));
    }

    sandlock_policy *p = job_policy();
    struct outcome o = run_job(p, "ptrace", victim);
    CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "job: reason %d code %d", o.reason, o.code);
    CHECK(field(o.out, "pidfd_open") == 0, "pidfd_open of the victim is harmless: %ld",
          field(o.out, "pidfd_open"));
    for (int i = 0; calls[i]; i++) {
        if (skip_migrate && !strcmp(calls[i], "migrate")) continue;
        long e = field(o.out, calls[i]);
        CHECK(e == EPERM || e == EACCES, "%s on the victim: %ld (want EPERM or EACCES)", calls[i], e);
    }
    sandlock_policy_free(p);
}

static void sysv_ipc_is_denied(void) {
    int shmid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    CHECK(shmid >= 0, "shmget: %s", strerror(errno));
    if (shmid < 0) return;
    char *mine = shmat(shmid, NULL, 0);
    CHECK(mine != (void *)-1, "shmat: %s", strerror(errno));
    if (mine == (void *)-1) goto out;
    strcpy(mine, "the host's");
    char out[8192];
    int code = run_job_unconfined("sysv", shmid, out, sizeof out);
    CHECK(code == 0 && field(out, "shmat") == 0, "unconfined shmat: %s", out);
    CHECK(!strcmp(mine, "overwritten"), "unconfined, the job wrote the segment: \"%s\"", mine);
    strcpy(mine, "the host's");

    sandlock_policy *p = job_policy();
    struct outcome o = run_job(p, "sysv", shmid);
    CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "job: reason %d code %d", o.reason, o.code);
    for (const char *const *k = (const char *const[]){"shmat", "shmctl", "shmget", "semget", "msgget", NULL};
         *k; k++)
        CHECK(field(o.out, *k) == EPERM, "%s: %ld (want EPERM)", *k, field(o.out, *k));
    CHECK(!strcmp(mine, "the host's"), "the segment was written: \"%s\"", mine);
    sandlock_policy_free(p);
    shmdt(mine);
out:
    shmctl(shmid, IPC_RMID, NULL);
}

static void num_cpus_is_not_undone_by_sched_setaffinity(void) {
    cpu_set_t host;
    sched_getaffinity(0, sizeof host, &host);
    if (CPU_COUNT(&host) < 2) {
        printf("  skipped: one CPU\n");
        return;
    }
    char out[8192];
    int code = run_job_unconfined("affinity", 0, out, sizeof out);
    CHECK(code == 0 && field(out, "after_widen") == CPU_COUNT(&host), "unconfined: %s", out);

    sandlock_policy *p = job_policy();
    CHECK(sandlock_policy_num_cpus(p, 1) == 0, "num_cpus: %s", sandlock_policy_error(p));
    struct outcome o = run_job(p, "affinity", 0);
    CHECK(o.reason == SANDLOCK_EXIT_NORMAL && o.code == 0, "job: reason %d code %d", o.reason, o.code);
    CHECK(field(o.out, "given") == 1, "given: %s", o.out);
    CHECK(field(o.out, "widen") == 0, "a wider mask is narrowed, not refused: %s", o.out);
    CHECK(field(o.out, "after_widen") == 1, "widened: %s", o.out);
    CHECK(field(o.out, "after_all") == 1, "widened: %s", o.out);
    CHECK(field(o.out, "widen_self_pid") == 0 && field(o.out, "widen_short") == 0, "%s", o.out);
    CHECK(field(o.out, "outside") == EINVAL, "a mask of other CPUs only: %ld (want EINVAL)",
          field(o.out, "outside"));
    CHECK(field(o.out, "fault") == EFAULT, "a bad mask: %ld (want EFAULT)", field(o.out, "fault"));
    CHECK(field(o.out, "widen_child") == 0 && field(o.out, "child_after") == 1, "a child: %s", o.out);
    sandlock_policy_free(p);
}

/* The last progress line of a sigcont_spin run: its CPU share. */
static double last_share(const char *out, double *wall_out) {
    double cpu = 0, wall = 0, c, w;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "cpu_ms %lf wall_ms %lf", &c, &w) == 2) cpu = c, wall = w;
    *wall_out = wall;
    return wall > 0 ? cpu / wall : -1;
}

static void max_cpu_holds_against_a_sigcont_timer(void) {
    sandlock_policy *p = job_policy();
    CHECK(sandlock_policy_max_cpu(p, 20) == 0, "max_cpu: %s", sandlock_policy_error(p));
    long start = now_ms();
    struct outcome o = run_job(p, "sigcont_spin", 3);
    long took = now_ms() - start;
    double wall = 0, share = last_share(o.out, &wall);
    int finished = strstr(o.out, "done") != NULL;
    if (wall > 0)
        printf("  max_cpu(20), four timers sending SIGCONT every 1 ms: %.0f%% of one CPU over its first %.0f ms; "
               "%s after %ld ms\n", 100 * share, wall, finished ? "ran to its end" : "killed", took);
    else
        printf("  max_cpu(20), four timers sending SIGCONT every 1 ms: killed after %ld ms, before its first "
               "100 ms\n", took);
    /* Either it was held near its share, or it was killed for resuming
       itself: never a full CPU to its end. */
    CHECK(!finished || share < 0.6, "the job got %.0f%% of a CPU under max_cpu(20)", 100 * share);
    CHECK(finished || o.reason == SANDLOCK_EXIT_KILLED, "reason %d", o.reason);
    sandlock_policy_free(p);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "job") == 0) return job(argc, argv);
    if (read_self(self, sizeof self) != 0) return 2;
    spawn_victim();
    RUN(other_processes_resources_only_the_sandboxs_own);
    RUN(ptrace_checks_and_signal_scope_cover_the_rest);
    RUN(sysv_ipc_is_denied);
    RUN(num_cpus_is_not_undone_by_sched_setaffinity);
    RUN(max_cpu_holds_against_a_sigcont_timer);
    kill_victim();
    HARNESS_END();
}

// Eight sandboxes supervised from ONE epoll loop through the C++ wrapper:
// each sandbox's fd is in the host's epoll set, the wait is bounded by the
// smallest sandlock_sandbox_timeout_ms, and each ready sandbox is stepped
// until it is idle or over. Some jobs try what their policy denies; every
// outcome is checked against the files the jobs leave in a scratch
// directory of the test's own. Then the wrapper's ownership: moves, the
// destructor killing what is left, errors as exceptions.
#include <sandlock.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const std::string &what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    (ok ? passed : failed)++;
}

std::string slurp(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool exists(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

std::string scratch;

// What the system's programs need and a safety timeout, then the job's
// own rules (`extra`, given the policy to add to).
sandlock::Policy base(const std::function<void(sandlock::Policy &)> &extra = nullptr) {
    sandlock::Policy p;
    for (const char *dir : {"/usr", "/lib", "/lib64", "/bin"})
        if (exists(dir)) p.fs_read(dir);
    p.fs_write("/dev/null").cwd(scratch).timeout_ms(30000);
    if (extra) extra(p);
    return p;
}

struct Job {
    std::string name;
    sandlock::Policy policy;
    std::vector<std::string> argv;
    // Checks the finished sandbox and what it left behind.
    std::function<bool(const sandlock::Sandbox &)> check;
    sandlock::Sandbox sandbox;
    bool over = false;
};

bool exited_with(const sandlock::Sandbox &sb, int code) {
    return sb.exit_reason() == sandlock::ExitReason::Normal && sb.exit_code() == code;
}

bool failed_normally(const sandlock::Sandbox &sb) {
    return sb.exit_reason() == sandlock::ExitReason::Normal && sb.exit_code() != 0;
}

std::vector<Job> jobs() {
    std::vector<Job> all;
    auto add = [&all](std::string name, sandlock::Policy policy, std::vector<std::string> argv,
                      std::function<bool(const sandlock::Sandbox &)> check) {
        all.push_back(Job{std::move(name), std::move(policy), std::move(argv), std::move(check), {}, false});
    };
    const std::string ro = scratch + "/ro", rw = scratch + "/rw";
    add("copies an allowed file", base([&](sandlock::Policy &p) { p.fs_read(ro).fs_write(rw); }), {"sh", "-c", "cat ro/data.txt > rw/copy"},
        [rw](const sandlock::Sandbox &sb) { return exited_with(sb, 0) && slurp(rw + "/copy") == "data\n"; });
    add("is refused a file outside its trees", base([&](sandlock::Policy &p) { p.fs_write(rw); }), {"sh", "-c", "cat secret.txt > rw/leak"},
        [rw](const sandlock::Sandbox &sb) { return failed_normally(sb) && slurp(rw + "/leak").empty(); });
    add("cannot write a read-only tree", base([&](sandlock::Policy &p) { p.fs_read(ro); }), {"sh", "-c", "echo x > ro/new"},
        [ro](const sandlock::Sandbox &sb) { return failed_normally(sb) && !exists(ro + "/new"); });
    add("writes its writable tree", base([&](sandlock::Policy &p) { p.fs_write(rw); }), {"sh", "-c", "echo written > rw/out"},
        [rw](const sandlock::Sandbox &sb) { return exited_with(sb, 0) && slurp(rw + "/out") == "written\n"; });
    add("is denied mkdir by syscall_deny", base([&](sandlock::Policy &p) { p.fs_write(rw).syscall_deny("mkdir").syscall_deny("mkdirat"); }),
        {"mkdir", "rw/dir"},
        [rw](const sandlock::Sandbox &sb) { return failed_normally(sb) && !exists(rw + "/dir"); });
    add("times out", base([](sandlock::Policy &p) { p.timeout_ms(300); }), {"sleep", "60"},
        [](const sandlock::Sandbox &sb) { return sb.exit_reason() == sandlock::ExitReason::Timeout; });
    add("is killed by the host", base(), {"sleep", "60"},
        [](const sandlock::Sandbox &sb) { return sb.exit_reason() == sandlock::ExitReason::Killed; });
    add("exits with its own code", base(), {"sh", "-c", "exit 5"},
        [](const sandlock::Sandbox &sb) { return exited_with(sb, 5); });
    return all;
}

void supervise_from_one_epoll() {
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    std::vector<Job> all = jobs();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < all.size(); i++) {
        all[i].sandbox = all[i].policy.spawn(all[i].argv, sandlock::Stdio{devnull, devnull, devnull});
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, all[i].sandbox.fd(), &ev) != 0) std::perror("epoll_ctl");
    }
    close(devnull);
    for (Job &job : all)
        if (job.name == "is killed by the host") job.sandbox.kill(SIGTERM);

    std::size_t live = all.size();
    auto finish = [&](Job &job) {
        epoll_ctl(ep, EPOLL_CTL_DEL, job.sandbox.fd(), nullptr);
        job.over = true;
        live--;
    };
    while (live > 0) {
        int timeout = -1;
        for (const Job &job : all) {
            int t = job.over ? -1 : job.sandbox.timeout_ms();
            if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
        }
        epoll_event ready[8];
        int n = epoll_wait(ep, ready, 8, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            // A library timer is due: step every sandbox.
            for (Job &job : all)
                if (!job.over && job.sandbox.settle()) finish(job);
            continue;
        }
        for (int k = 0; k < n; k++) {
            Job &job = all[ready[k].data.u64];
            if (!job.over && job.sandbox.settle()) finish(job);
        }
    }
    close(ep);
    for (const Job &job : all) expect(job.check(job.sandbox), "sandbox " + job.name);
}

void ownership() {
    sandlock::Policy policy = base();
    sandlock::Sandbox first = policy.spawn({"sleep", "60"});
    pid_t pid = first.pid();
    sandlock::Sandbox second = std::move(first);
    expect(!first && second && second.pid() == pid, "a moved sandbox keeps its process");
    bool threw = false;
    try {
        first.step();
    } catch (const sandlock::Error &e) {
        threw = e.code() == EINVAL;
    }
    expect(threw, "an empty sandbox throws EINVAL");
    { sandlock::Sandbox gone = std::move(second); }
    // Freed by the destructor: killed and reaped, so the pid is no more ours.
    expect(kill(pid, 0) != 0 && errno == ESRCH, "the destructor kills and reaps the sandbox");

    sandlock::Policy moved = std::move(policy);
    sandlock::RunResult r = moved.run({"sh", "-c", "cat; echo oops >&2"}, "through\n");
    expect(r.reason == sandlock::ExitReason::Normal && r.out == "through\n" && r.err == "oops\n",
           "a moved policy runs to completion");
    threw = false;
    try {
        policy.fs_read("/usr");
    } catch (const sandlock::Error &e) {
        threw = e.code() == EINVAL;
    }
    expect(threw, "a moved-from policy throws EINVAL");
    threw = false;
    try {
        moved.net_allow("10.0.0.0/33:80");
    } catch (const sandlock::Error &e) {
        threw = e.code() == EINVAL && std::string(e.what()).find("10.0.0.0/33") != std::string::npos;
    }
    expect(threw, "a refused setter throws with the library's message");
}

} // namespace

int main() {
    char dir[] = "/tmp/sandlock-cpp-XXXXXX";
    if (!mkdtemp(dir)) {
        std::perror("mkdtemp");
        return 2;
    }
    scratch = dir;
    mkdir((scratch + "/ro").c_str(), 0755);
    mkdir((scratch + "/rw").c_str(), 0755);
    std::ofstream(scratch + "/ro/data.txt") << "data\n";
    std::ofstream(scratch + "/secret.txt") << "secret\n";
    try {
        supervise_from_one_epoll();
        ownership();
    } catch (const sandlock::Error &e) {
        expect(false, std::string("unexpected sandlock::Error: ") + e.what());
    }
    if (std::system(("rm -rf '" + scratch + "'").c_str()) != 0) std::cerr << "could not remove " << scratch << "\n";
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed ? 1 : 0;
}

/* libsandlock for C++17: owning handles over the C API of sandlock.h.
 *
 * Header-only. A failed call throws sandlock::Error, which carries the
 * errno (positive) and the library's message; a handle frees what it owns
 * in its destructor; handles move and never copy. Like the C library it
 * starts no threads: a host steps its sandboxes from its own loop, or
 * calls Policy::run(), which blocks until the command is over.
 *
 *     sandlock::Policy policy;
 *     policy.fs_read("/usr").fs_read("/lib").timeout_ms(5000);
 *     sandlock::RunResult r = policy.run({"/usr/bin/id", "-u"});
 *     std::cout << r.out;
 */
#ifndef SANDLOCK_HPP
#define SANDLOCK_HPP

#include <sandlock.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sandlock {

/* A failed libsandlock call: code() is the errno (EINVAL, ENOENT, ...),
 * what() the library's message naming the input or step that failed. */
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &message) : std::runtime_error(message), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

enum class ExitReason {
    Running = SANDLOCK_EXIT_RUNNING,
    Normal = SANDLOCK_EXIT_NORMAL,
    Signaled = SANDLOCK_EXIT_SIGNALED,
    Timeout = SANDLOCK_EXIT_TIMEOUT,
    Memory = SANDLOCK_EXIT_MEMORY,
    Killed = SANDLOCK_EXIT_KILLED,
};

enum class Step {
    Idle = SANDLOCK_STEP_IDLE,
    More = SANDLOCK_STEP_MORE,
    Exited = SANDLOCK_STEP_EXITED,
};

/* What Policy::run() gives back. (Not "stdout"/"stderr": those are
 * macros of <cstdio>.) */
struct RunResult {
    ExitReason reason = ExitReason::Running;
    int exit_code = -1;  /* -1 unless reason is Normal */
    int exit_signal = 0; /* 0 unless reason is Signaled */
    std::string out;
    std::string err;
};

inline std::string version() { return sandlock_version(); }

namespace detail {

/* argv as the C API wants it: pointers into `args`, then NULL. */
inline std::vector<const char *> c_argv(const std::vector<std::string> &args) {
    std::vector<const char *> argv;
    argv.reserve(args.size() + 1);
    for (const std::string &arg : args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    return argv;
}

} // namespace detail

/* A running (or finished) sandbox, owned: the destructor kills and reaps
 * whatever is left of it (sandlock_sandbox_free). Empty when
 * default-constructed or moved from. */
class Sandbox {
public:
    Sandbox() noexcept = default;
    /* Adopts a handle from sandlock_spawn(). */
    explicit Sandbox(sandlock_sandbox *sb) noexcept : sb_(sb) {}
    ~Sandbox() { sandlock_sandbox_free(sb_); }
    Sandbox(Sandbox &&other) noexcept : sb_(std::exchange(other.sb_, nullptr)) {}
    Sandbox &operator=(Sandbox &&other) noexcept {
        if (this != &other) {
            sandlock_sandbox_free(sb_);
            sb_ = std::exchange(other.sb_, nullptr);
        }
        return *this;
    }
    Sandbox(const Sandbox &) = delete;
    Sandbox &operator=(const Sandbox &) = delete;

    explicit operator bool() const noexcept { return sb_ != nullptr; }
    sandlock_sandbox *get() const noexcept { return sb_; }
    /* Gives the handle up: the caller frees it. */
    sandlock_sandbox *release() noexcept { return std::exchange(sb_, nullptr); }

    /* The fd to poll (or add to epoll) for input; owned by the library. */
    int fd() const { return check(sandlock_sandbox_fd(sb_)); }
    /* The longest the host may wait before step(); -1: no limit. */
    int timeout_ms() const {
        int r = sandlock_sandbox_timeout_ms(sb_);
        return r == -1 ? r : check(r);
    }
    pid_t pid() const { return check(sandlock_sandbox_pid(sb_)); }

    /* Handles what is pending, never blocking. */
    Step step() { return static_cast<Step>(check(sandlock_supervise_step(sb_))); }
    /* Steps until nothing is pending; true once the sandbox is over. */
    bool settle() {
        Step s;
        while ((s = step()) == Step::More) {
        }
        return s == Step::Exited;
    }
    void kill(int sig) { check(sandlock_sandbox_kill(sb_, sig)); }
    /* Blocks until every process of the sandbox is gone. */
    void wait() { check(sandlock_sandbox_wait(sb_)); }

    ExitReason exit_reason() const { return static_cast<ExitReason>(check(sandlock_sandbox_exit_reason(sb_))); }
    int exit_code() const { return sb_ ? sandlock_sandbox_exit_code(sb_) : check(-EINVAL); }
    int exit_signal() const { return sb_ ? sandlock_sandbox_exit_signal(sb_) : check(-EINVAL); }

private:
    int check(int r) const {
        if (r < 0) throw Error(-r, sb_ ? sandlock_sandbox_error(sb_) : "empty sandlock::Sandbox");
        return r;
    }

    sandlock_sandbox *sb_ = nullptr;
};

/* Where a spawned sandbox's stdin, stdout and stderr go: -1 inherits the
 * host's. The fds stay the caller's (the child gets copies). */
struct Stdio {
    int in = -1;
    int out = -1;
    int err = -1;
};

/* A policy, owned. The setters return *this so they chain; each throws
 * Error when the library refuses its argument. */
class Policy {
public:
    Policy() : p_(sandlock_policy_new()) {
        if (!p_) throw std::bad_alloc();
    }
    ~Policy() { sandlock_policy_free(p_); }
    Policy(Policy &&other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    Policy &operator=(Policy &&other) noexcept {
        if (this != &other) {
            sandlock_policy_free(p_);
            p_ = std::exchange(other.p_, nullptr);
        }
        return *this;
    }
    Policy(const Policy &) = delete;
    Policy &operator=(const Policy &) = delete;

    sandlock_policy *get() const noexcept { return p_; }

    Policy &fs_read(const std::string &path) { return set(sandlock_policy_fs_read(p_, path.c_str())); }
    Policy &fs_write(const std::string &path) { return set(sandlock_policy_fs_write(p_, path.c_str())); }
    Policy &fs_deny(const std::string &path) { return set(sandlock_policy_fs_deny(p_, path.c_str())); }
    Policy &net_allow(const std::string &spec) { return set(sandlock_policy_net_allow(p_, spec.c_str())); }
    Policy &net_deny(const std::string &spec) { return set(sandlock_policy_net_deny(p_, spec.c_str())); }
    Policy &net_bind(const std::string &ports) { return set(sandlock_policy_net_bind(p_, ports.c_str())); }
    Policy &syscall_deny(const std::string &name) { return set(sandlock_policy_syscall_deny(p_, name.c_str())); }
    Policy &max_processes(std::uint32_t n) { return set(sandlock_policy_max_processes(p_, n)); }
    Policy &max_memory(std::uint64_t bytes) { return set(sandlock_policy_max_memory(p_, bytes)); }
    Policy &max_open_files(std::uint32_t n) { return set(sandlock_policy_max_open_files(p_, n)); }
    Policy &max_cpu(std::uint32_t percent) { return set(sandlock_policy_max_cpu(p_, percent)); }
    Policy &timeout_ms(std::uint64_t ms) { return set(sandlock_policy_timeout_ms(p_, ms)); }
    Policy &env_clear() { return set(sandlock_policy_env_clear(p_)); }
    Policy &env_set(const std::string &name, const std::string &value) {
        return set(sandlock_policy_env_set(p_, name.c_str(), value.c_str()));
    }
    Policy &cwd(const std::string &path) { return set(sandlock_policy_cwd(p_, path.c_str())); }
    Policy &hostname(const std::string &name) { return set(sandlock_policy_hostname(p_, name.c_str())); }
    Policy &num_cpus(std::uint32_t n) { return set(sandlock_policy_num_cpus(p_, n)); }
    Policy &random_seed(std::uint64_t seed) { return set(sandlock_policy_random_seed(p_, seed)); }
    Policy &no_aslr(bool on = true) { return set(sandlock_policy_no_aslr(p_, on ? 1 : 0)); }
    Policy &private_proc(bool on = true) { return set(sandlock_policy_private_proc(p_, on ? 1 : 0)); }

    /* Spawns `argv` (argv[0] searched in PATH unless it has a '/'). */
    Sandbox spawn(const std::vector<std::string> &argv, const Stdio &stdio = Stdio()) const {
        std::vector<const char *> c = detail::c_argv(argv);
        sandlock_spawn_opts opts = {sizeof opts, stdio.in, stdio.out, stdio.err};
        sandlock_sandbox *sb = nullptr;
        check(sandlock_spawn(p_, c.data(), &opts, &sb));
        return Sandbox(sb);
    }

    /* Runs `argv` to completion (sandlock_run): `input` on its stdin, its
     * outputs captured; killed after `timeout_ms` (0: only the policy's
     * timeout) with reason Timeout. */
    RunResult run(const std::vector<std::string> &argv, const std::string &input = std::string(),
                  std::uint64_t timeout_ms = 0) const {
        std::vector<const char *> c = detail::c_argv(argv);
        sandlock_run_result r;
        check(sandlock_run(p_, c.data(), reinterpret_cast<const std::uint8_t *>(input.data()), input.size(),
                           timeout_ms, &r));
        /* The result's buffers are freed however the copies below end. */
        struct Freed {
            sandlock_run_result *r;
            ~Freed() { sandlock_run_result_free(r); }
        } freed{&r};
        RunResult out;
        out.reason = static_cast<ExitReason>(r.exit_reason);
        out.exit_code = r.exit_code;
        out.exit_signal = r.exit_signal;
        out.out.assign(reinterpret_cast<const char *>(r.stdout_data), r.stdout_len);
        out.err.assign(reinterpret_cast<const char *>(r.stderr_data), r.stderr_len);
        return out;
    }

private:
    Policy &set(int r) {
        check(r);
        return *this;
    }
    void check(int r) const {
        if (r < 0) throw Error(-r, sandlock_policy_error(p_));
    }

    sandlock_policy *p_;
};

} // namespace sandlock

#endif /* SANDLOCK_HPP */

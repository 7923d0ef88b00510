// The C++ wrapper: a policy built by chained setters, a run to completion,
// and a failure as an exception. Exits 0 when all behave as expected.
#include <sandlock.hpp>

#include <cerrno>
#include <iostream>
#include <unistd.h>

int main() {
    sandlock::Policy policy;
    policy.fs_read("/usr").fs_read("/lib").fs_read("/bin").timeout_ms(10000);
    if (access("/lib64", F_OK) == 0) policy.fs_read("/lib64");

    sandlock::RunResult r = policy.run({"sh", "-c", "read line; echo \"got $line\"; exit 3"}, "hello\n");
    std::cout << "sh said: " << r.out << "exit code " << r.exit_code << "\n";
    bool ok = r.reason == sandlock::ExitReason::Normal && r.exit_code == 3 && r.out == "got hello\n";

    try {
        policy.run({"/nonexistent/program"});
        ok = false;
    } catch (const sandlock::Error &e) {
        std::cout << "refused: " << e.what() << " (errno " << e.code() << ")\n";
        ok = ok && e.code() == ENOENT;
    }

    try {
        policy.fs_read("/no/such/dir");
        ok = false;
    } catch (const sandlock::Error &e) {
        std::cout << "refused: " << e.what() << "\n";
        ok = ok && e.code() != 0;
    }
    std::cout << (ok ? "as expected" : "UNEXPECTED") << "\n";
    return ok ? 0 : 1;
}

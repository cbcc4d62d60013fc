#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include "runtime/preempt.hh"
#include "runtime/run.hh"
#include "runtime/uring.hh"
#include "tests/support/child_process.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;

namespace {

#if defined(__x86_64__)
constexpr unsigned this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned this_arch = AUDIT_ARCH_AARCH64;
#else
#error "add this architecture's AUDIT_ARCH_ value"
#endif

/// Makes every later call of syscall `nr` in this process fail with `error` (as Docker's default profile does
/// with EPERM for io_uring). Irreversible: call it only in a forked child. \return false if the filter could not
/// be installed.
bool forbid_syscall(unsigned nr, int error) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

bool forbid_io_uring_setup(int error) {
    return forbid_syscall(__NR_io_uring_setup, error);
}

/// percore::run in a child whose io_uring_setup fails with `error`. Exit 90 means the filter failed, 91 that
/// main ran although it should not have.
test::child_status run_without_io_uring(int error) {
    return test::run_in_child([error] {
        if (!forbid_io_uring_setup(error)) {
            return 90;
        }
        return percore::run([]() -> task<int> { co_return 91; });
    });
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

int io_uring_disabled_sysctl() {
    std::ifstream in("/proc/sys/kernel/io_uring_disabled");
    int value = -1;
    in >> value;
    return in ? value : -1;
}

std::string memlock_limit_text() {
    rlimit lim{};
    getrlimit(RLIMIT_MEMLOCK, &lim);
    return lim.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(lim.rlim_cur / 1024) + " KiB";
}

} // namespace

TEST_SUITE("runtime/uring_setup") {
    TEST_CASE("when seccomp forbids io_uring_setup (EPERM), run exits 1 and names seccomp as the cause") {
        auto st = run_without_io_uring(EPERM);
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(st.exited);
        CHECK(st.code == 1);
        CHECK(contains(st.err, "cannot start"));
        CHECK(contains(st.err, "EPERM"));
        if (io_uring_disabled_sysctl() <= 0) {
            CHECK(contains(st.err, "seccomp"));
        } else {
            CHECK(contains(st.err, "kernel.io_uring_disabled"));
        }
    }

    TEST_CASE("when io_uring_setup fails with ENOMEM, run exits 1 and points at RLIMIT_MEMLOCK") {
        auto st = run_without_io_uring(ENOMEM);
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(st.exited);
        CHECK(st.code == 1);
        CHECK(contains(st.err, "cannot start"));
        CHECK(contains(st.err, "ENOMEM"));
        CHECK(contains(st.err, "RLIMIT_MEMLOCK"));
        CHECK(contains(st.err, memlock_limit_text()));
    }

    TEST_CASE("when io_uring_setup is missing (ENOSYS), run exits 1 and points at the kernel") {
        auto st = run_without_io_uring(ENOSYS);
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(st.exited);
        CHECK(st.code == 1);
        CHECK(contains(st.err, "cannot start"));
        CHECK(contains(st.err, "ENOSYS"));
        CHECK(contains(st.err, "kernel"));
        CHECK(contains(st.err, "5.19"));
    }

    TEST_CASE("when the kernel rejects every ring (EINVAL), run exits 1 and names the kernel version needed") {
        auto st = run_without_io_uring(EINVAL);
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(st.exited);
        CHECK(st.code == 1);
        CHECK(contains(st.err, "cannot start"));
        CHECK(contains(st.err, "5.19"));
    }

    TEST_CASE("when seccomp forbids only io_uring_register, run exits 1 and blames seccomp, not the kernel") {
        // Some sandboxes allow io_uring_setup and io_uring_enter but not io_uring_register, which the opcode probe
        // uses. The kernel here is recent enough: the message must not send the user to upgrade it.
        auto st = test::run_in_child([] {
            if (!forbid_syscall(__NR_io_uring_register, EPERM)) {
                return 90;
            }
            return percore::run([]() -> task<int> { co_return 91; });
        });
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(st.exited);
        CHECK(st.code == 1);
        CHECK(contains(st.err, "cannot start"));
        CHECK(contains(st.err, "seccomp"));
        CHECK_FALSE(contains(st.err, "needs Linux 5.19 or newer"));
    }

    TEST_CASE("a uring asked for an explicit mode the kernel refuses fails naming that mode") {
        // EINVAL is what a kernel answers to flags it does not know.
        auto st = test::run_in_child([] {
            if (!forbid_io_uring_setup(EINVAL)) {
                return 90;
            }
            try {
                uring ring({.entries = 8, .mode = uring_mode::defer_taskrun});
                return 91;
            } catch (const uring_setup_error& e) {
                std::fprintf(stderr, "%d %s\n", e.error(), e.what());
                return e.error() == EINVAL ? 0 : 92;
            }
        });
        INFO("child stderr: " << st.err);
        CHECK(st.exited);
        CHECK(st.code == 0);
        CHECK(contains(st.err, "defer_taskrun"));
    }

    TEST_CASE("describe_uring_setup_failure names the cause and the remedy for each errno") {
        SUBCASE("EPERM and EACCES: sysctl or seccomp") {
            for (int e : {EPERM, EACCES}) {
                const std::string msg = describe_uring_setup_failure(e);
                CAPTURE(msg);
                CHECK(contains(msg, "io_uring_setup failed with"));
                CHECK(contains(msg, e == EPERM ? "EPERM" : "EACCES"));
                switch (io_uring_disabled_sysctl()) {
                case 2:
                    CHECK(contains(msg, "kernel.io_uring_disabled=2"));
                    break;
                case 1:
                    CHECK(contains(msg, "kernel.io_uring_disabled=1"));
                    CHECK(contains(msg, "io_uring_group"));
                    break;
                default:
                    CHECK(contains(msg, "seccomp"));
                    CHECK(contains(msg, "io_uring_setup, io_uring_enter and io_uring_register"));
                }
            }
        }
        SUBCASE("ENOSYS: the kernel") {
            const std::string msg = describe_uring_setup_failure(ENOSYS);
            CAPTURE(msg);
            CHECK(contains(msg, "ENOSYS"));
            CHECK(contains(msg, "kernel"));
            CHECK(contains(msg, "CONFIG_IO_URING"));
        }
        SUBCASE("ENOMEM: the memlock limit, with its current value") {
            const std::string msg = describe_uring_setup_failure(ENOMEM);
            CAPTURE(msg);
            CHECK(contains(msg, "ENOMEM"));
            CHECK(contains(msg, "RLIMIT_MEMLOCK"));
            CHECK(contains(msg, "ulimit -l"));
            CHECK(contains(msg, memlock_limit_text()));
        }
        SUBCASE("EMFILE and ENFILE: the open-files limit") {
            for (int e : {EMFILE, ENFILE}) {
                const std::string msg = describe_uring_setup_failure(e);
                CAPTURE(msg);
                CHECK(contains(msg, e == EMFILE ? "EMFILE" : "ENFILE"));
                CHECK(contains(msg, "ulimit -n"));
            }
        }
        SUBCASE("EINVAL: the kernel version") {
            const std::string msg = describe_uring_setup_failure(EINVAL);
            CAPTURE(msg);
            CHECK(contains(msg, "EINVAL"));
            CHECK(contains(msg, "5.19"));
        }
        SUBCASE("anything else is reported as unexpected, with its name") {
            const std::string msg = describe_uring_setup_failure(EIO);
            CAPTURE(msg);
            CHECK(contains(msg, "EIO"));
            CHECK(contains(msg, "unexpected"));
        }
    }

    TEST_CASE("the ENOMEM description follows the current RLIMIT_MEMLOCK") {
        auto st = test::run_in_child([] {
            rlimit lim{};
            getrlimit(RLIMIT_MEMLOCK, &lim);
            lim.rlim_cur = 64 * 1024;
            if (setrlimit(RLIMIT_MEMLOCK, &lim) != 0) {
                return 90;
            }
            std::fputs(describe_uring_setup_failure(ENOMEM).c_str(), stderr);
            return 0;
        });
        INFO("child stderr: " << st.err);
        REQUIRE(st.code != 90);
        CHECK(contains(st.err, "64 KiB"));
    }

    TEST_CASE("each explicit uring mode either runs as asked or fails with a clear error") {
        for (uring_mode mode : {uring_mode::defer_taskrun, uring_mode::coop_taskrun, uring_mode::plain}) {
            CAPTURE(to_string(mode));
            try {
                uring ring({.entries = 8, .mode = mode});
                CHECK(ring.mode() == mode);
                CHECK(ring.fd() >= 0);
            } catch (const uring_setup_error& e) {
                CHECK(e.error() == EINVAL);
                CHECK(contains(e.what(), to_string(mode)));
            }
        }
    }

    TEST_CASE("automatic mode picks a mode and supports the operations the runtime needs") {
        uring ring({.entries = 8});
        CHECK(ring.mode() != uring_mode::automatic);
        CHECK(ring.supports(IORING_OP_NOP));
        CHECK(ring.supports(IORING_OP_READ));
        CHECK(ring.supports(IORING_OP_ASYNC_CANCEL));
    }

    TEST_CASE("a reactor runs with the io_uring mode it was configured with") {
        for (uring_mode mode : {uring_mode::defer_taskrun, uring_mode::coop_taskrun, uring_mode::plain}) {
            CAPTURE(to_string(mode));
            reactor_config config = test::reactor_config_for_tests();
            config.ring_mode = mode;
            try {
                const uring_mode used = sync_wait(
                    []() -> task<uring_mode> {
                        co_await yield();
                        co_return this_reactor().ring().mode();
                    }(),
                    config);
                CHECK(used == mode);
            } catch (const uring_setup_error& e) {
                CHECK(e.error() == EINVAL);
            }
        }
    }
}

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

#include "runtime/io.hh"
#include "runtime/preempt.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"
#include "runtime/uring.hh"
#include "runtime/when_all.hh"
#include "tests/support/set_on_exit.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace std::chrono_literals;

namespace {

// Exit 77 (meson: SKIP) when this machine cannot set up io_uring at all.
[[maybe_unused]] const bool uring_usable = [] {
    try {
        uring probe({.entries = 4});
        return true;
    } catch (const uring_setup_error& e) {
        std::fprintf(stderr, "io_uring unavailable, skipping: %s\n", e.what());
        std::_Exit(77);
    }
}();

constexpr std::array all_modes = {uring_mode::automatic, uring_mode::defer_taskrun, uring_mode::coop_taskrun,
                                  uring_mode::plain};

/// Runs the test body once per io_uring mode, each on a fresh reactor (one SUBCASE per mode).
void run_in_every_mode(task<> (*body)()) {
    for (uring_mode mode : all_modes) {
        SUBCASE(to_string(mode)) {
            reactor_config config = test::reactor_config_for_tests();
            config.ring_mode = mode;
            bool unsupported = false;
            try {
                sync_wait(body(), config);
            } catch (const uring_setup_error& e) {
                if (mode == uring_mode::automatic || e.error() != EINVAL) {
                    throw;
                }
                unsupported = true;
            }
            if (unsupported) {
                MESSAGE("this kernel does not support io_uring mode ", to_string(mode), ": not tested");
            }
        }
    }
}

#define IO_TEST_CASE_IMPL(fn, name)                                                                                    \
    task<> fn();                                                                                                       \
    TEST_CASE(name) {                                                                                                  \
        run_in_every_mode(&fn);                                                                                        \
    }                                                                                                                  \
    task<> fn()

/// A test whose body, a coroutine, runs under every io_uring mode.
#define IO_TEST_CASE(name) IO_TEST_CASE_IMPL(PERCORE_TEST_CAT(io_test_body_, __COUNTER__), name)

/// Lets every runnable task run until it parks, and the reactor submit what they prepared.
task<> settle() {
    for (int i = 0; i < 5; ++i) {
        co_await yield();
    }
}

void close_fd(int& fd) {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

struct pipe_fds {
    int r = -1;
    int w = -1;
    pipe_fds() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        r = fds[0];
        w = fds[1];
    }
    pipe_fds(const pipe_fds&) = delete;
    pipe_fds& operator=(const pipe_fds&) = delete;
    pipe_fds(pipe_fds&& o) noexcept
        : r(std::exchange(o.r, -1))
        , w(std::exchange(o.w, -1)) {}
    ~pipe_fds() {
        close_fd(r);
        close_fd(w);
    }
};

/// A scratch file in /tmp, unlinked at once: it goes away with its descriptor whatever happens.
struct temp_file {
    int fd = -1;
    temp_file() {
        char path[] = "/tmp/percore-io-test-XXXXXX";
        fd = ::mkstemp(path);
        REQUIRE(fd >= 0);
        ::unlink(path);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { close_fd(fd); }
};

std::string_view as_view(const char* buf, int n) {
    return n < 0 ? std::string_view() : std::string_view(buf, static_cast<std::size_t>(n));
}

using percore::test::set_on_exit;

} // namespace

TEST_SUITE("runtime/io") {
    IO_TEST_CASE("write then read moves the bytes through a pipe") {
        pipe_fds p;
        CHECK(co_await io::write(p.w, "hello", 5) == 5);
        char buf[16] = {};
        const int n = co_await io::read(p.r, buf, sizeof buf);
        CHECK(as_view(buf, n) == "hello");
    }

    IO_TEST_CASE("reads and writes at explicit offsets address the file, not its position") {
        temp_file f;
        CHECK(co_await io::write(f.fd, "0123456789", 10, 0) == 10);
        char buf[16] = {};
        int n = co_await io::read(f.fd, buf, 4, 3);
        CHECK(as_view(buf, n) == "3456");
        CHECK(co_await io::write(f.fd, "AB", 2, 8) == 2);
        n = co_await io::read(f.fd, buf, sizeof buf, 0);
        CHECK(as_view(buf, n) == "01234567AB");
        CHECK(co_await io::read(f.fd, buf, sizeof buf, 10) == 0); // at the end of the file
        CHECK(co_await io::read(f.fd, buf, sizeof buf, 1000) == 0);
        CHECK(::lseek(f.fd, 0, SEEK_CUR) == 0); // explicit offsets leave the file position alone
    }

    IO_TEST_CASE("without an offset, reads and writes use and advance the file position") {
        temp_file f;
        CHECK(co_await io::write(f.fd, "abc", 3) == 3);
        CHECK(co_await io::write(f.fd, "def", 3) == 3);
        CHECK(::lseek(f.fd, 0, SEEK_CUR) == 6);
        REQUIRE(::lseek(f.fd, 0, SEEK_SET) == 0);
        char buf[8] = {};
        int n = co_await io::read(f.fd, buf, 3);
        CHECK(as_view(buf, n) == "abc");
        n = co_await io::read(f.fd, buf, 3);
        CHECK(as_view(buf, n) == "def");
        CHECK(co_await io::read(f.fd, buf, 3) == 0);
    }

    IO_TEST_CASE("writev gathers and readv scatters, on a file at an offset") {
        temp_file f;
        char a[] = "head-";
        char b[] = "body-";
        char c[] = "tail";
        const iovec out[] = {{a, 5}, {b, 5}, {c, 4}};
        CHECK(co_await io::writev(f.fd, out, 3, 0) == 14);
        char x[4] = {};
        char y[20] = {};
        const iovec in[] = {{x, sizeof x}, {y, sizeof y}};
        const int n = co_await io::readv(f.fd, in, 2, 2);
        CHECK(n == 12);
        CHECK(std::string_view(x, 4) == "ad-b");
        CHECK(as_view(y, n - 4) == "ody-tail");
    }

    IO_TEST_CASE("writev and readv work on a pipe") {
        pipe_fds p;
        char a[] = "ping ";
        char b[] = "pong";
        const iovec out[] = {{a, 5}, {b, 4}};
        CHECK(co_await io::writev(p.w, out, 2) == 9);
        char x[3] = {};
        char y[16] = {};
        const iovec in[] = {{x, sizeof x}, {y, sizeof y}};
        const int n = co_await io::readv(p.r, in, 2);
        CHECK(n == 9);
        CHECK(std::string_view(x, 3) == "pin");
        CHECK(as_view(y, n - 3) == "g pong");
    }

    IO_TEST_CASE("a read on an empty pipe waits until data arrives") {
        pipe_fds p;
        char buf[8] = {};
        int n = -1;
        auto reader = spawn([&]() -> task<> { n = co_await io::read(p.r, buf, sizeof buf); });
        co_await settle();
        co_await sleep_for(1ms);
        CHECK_FALSE(reader.done());
        REQUIRE(::write(p.w, "late", 4) == 4);
        co_await reader;
        CHECK(as_view(buf, n) == "late");
    }

    IO_TEST_CASE("a read after the write end closed returns 0 (end of file)") {
        pipe_fds p;
        close_fd(p.w);
        char buf[4];
        CHECK(co_await io::read(p.r, buf, sizeof buf) == 0);
    }

    IO_TEST_CASE("poll reports POLLIN once a pipe becomes readable") {
        pipe_fds p;
        int events = -1;
        auto poller = spawn([&]() -> task<> { events = co_await io::poll(p.r, POLLIN); });
        co_await settle();
        co_await sleep_for(1ms);
        CHECK_FALSE(poller.done());
        REQUIRE(::write(p.w, "x", 1) == 1);
        co_await poller;
        REQUIRE(events > 0);
        CHECK((events & POLLIN) != 0);
        // Already readable: completes without waiting.
        const int again = co_await io::poll(p.r, POLLIN);
        CHECK((again & POLLIN) != 0);
        // A writable empty pipe reports POLLOUT.
        const int out = co_await io::poll(p.w, POLLOUT);
        CHECK((out & POLLOUT) != 0);
    }

    IO_TEST_CASE("io::timeout returns 0 after at least the duration") {
        for (duration d : {duration(0ms), duration(1ms), duration(5ms), duration(20ms)}) {
            const auto start = clock_type::now();
            CHECK(co_await io::timeout(d) == 0);
            CHECK(clock_type::now() - start >= d);
        }
    }

    IO_TEST_CASE("io::close closes the descriptor") {
        pipe_fds p;
        const int w = std::exchange(p.w, -1);
        CHECK(co_await io::close(w) == 0);
        errno = 0;
        CHECK(::fcntl(w, F_GETFD) == -1);
        CHECK(errno == EBADF);
        char buf[4];
        CHECK(co_await io::read(p.r, buf, sizeof buf) == 0); // the only writer is gone: end of file
    }

    IO_TEST_CASE("io::nop completes with 0") {
        for (int i = 0; i < 10; ++i) {
            CHECK(co_await io::nop() == 0);
        }
    }

    IO_TEST_CASE("errors come back as -errno, not as exceptions") {
        char buf[8];
        int closed_fd = -1;
        {
            pipe_fds p;
            closed_fd = p.r;
        } // closed now, and nothing else opens descriptors in between
        CHECK(co_await io::read(closed_fd, buf, sizeof buf) == -EBADF);
        CHECK(co_await io::write(closed_fd, "x", 1) == -EBADF);
        CHECK(co_await io::read(-1, buf, sizeof buf) == -EBADF);
        CHECK(co_await io::close(closed_fd) == -EBADF);
        CHECK(co_await io::poll(closed_fd, POLLIN) == -EBADF);
        pipe_fds p;
        CHECK(co_await io::write(p.r, "x", 1) == -EBADF); // the read end is not open for writing
        CHECK(co_await io::read(p.w, buf, sizeof buf) == -EBADF);
        const int dir = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(dir >= 0);
        CHECK(co_await io::read(dir, buf, sizeof buf, 0) == -EISDIR);
        ::close(dir);
    }

    IO_TEST_CASE("aborting a task blocked in a read cancels the read and resumes the task with aborted") {
        pipe_fds p;
        char buf[8] = {};
        bool unwound = false;
        int result = 12345;
        auto reader = spawn([&]() -> task<> {
            set_on_exit guard{unwound};
            result = co_await io::read(p.r, buf, sizeof buf);
        });
        co_await settle();
        co_await sleep_for(1ms);
        REQUIRE_FALSE(reader.done());
        reader.abort();
        CHECK_THROWS_AS(co_await reader, aborted);
        CHECK(unwound);
        CHECK(result == 12345);
        // The cancelled read is gone for good: it does not eat the next bytes written.
        REQUIRE(::write(p.w, "data", 4) == 4);
        co_await sleep_for(1ms);
        const int n = co_await io::read(p.r, buf, sizeof buf);
        CHECK(as_view(buf, n) == "data");
    }

    IO_TEST_CASE("aborting a task blocked in poll or in io::timeout resumes it with aborted") {
        pipe_fds p;
        auto poller = spawn([&]() -> task<int> { co_return co_await io::poll(p.r, POLLIN); });
        auto sleeper = spawn([]() -> task<int> { co_return co_await io::timeout(1h); });
        co_await settle();
        poller.abort();
        sleeper.abort();
        CHECK_THROWS_AS(co_await poller, aborted);
        CHECK_THROWS_AS(co_await sleeper, aborted);
    }

    IO_TEST_CASE("an aborted task submits no new operation: its read raises aborted and consumes nothing") {
        pipe_fds p;
        REQUIRE(::write(p.w, "keep", 4) == 4);
        char buf[8] = {};
        auto reader = spawn([&]() -> task<int> { co_return co_await io::read(p.r, buf, sizeof buf); });
        reader.abort(); // before it ran
        CHECK_THROWS_AS(co_await reader, aborted);
        const int n = co_await io::read(p.r, buf, sizeof buf);
        CHECK(as_view(buf, n) == "keep");
    }

    IO_TEST_CASE("256 concurrent reads on 256 pipes all complete with their own data") {
        constexpr int n = 256;
        std::vector<pipe_fds> pipes(n);
        std::vector<char> got(n, 0);
        std::vector<join_handle<int>> readers;
        for (int i = 0; i < n; ++i) {
            readers.push_back(spawn(
                [](int fd, char& out) -> task<int> { co_return co_await io::read(fd, &out, 1); }(pipes[i].r, got[i])));
        }
        co_await settle();
        for (int i = n - 1; i >= 0; --i) { // completions arrive in another order than the submissions
            const char c = static_cast<char>('A' + i % 26);
            REQUIRE(::write(pipes[i].w, &c, 1) == 1);
        }
        int ok = 0;
        for (int i = 0; i < n; ++i) {
            const int r = co_await readers[i];
            if (r == 1 && got[i] == static_cast<char>('A' + i % 26)) {
                ++ok;
            }
        }
        CHECK(ok == n);
    }

    IO_TEST_CASE("more operations in flight than the submission queue holds all complete") {
        // The ring has 256 submission entries; 3000 nops and timeouts prepared in one pass overflow it.
        std::vector<task<int>> ops;
        for (int i = 0; i < 3000; ++i) {
            if (i % 3 == 0) {
                ops.push_back([]() -> task<int> { co_return co_await io::timeout(std::chrono::microseconds(50)); }());
            } else {
                ops.push_back([]() -> task<int> { co_return co_await io::nop(); }());
            }
        }
        std::vector<int> results = co_await when_all(std::move(ops));
        int zeros = 0;
        for (int r : results) {
            zeros += r == 0 ? 1 : 0;
        }
        CHECK(zeros == 3000);
    }

    TEST_CASE("the reactor waits for a cancelled read to complete before it finishes") {
        for (uring_mode mode : all_modes) {
            CAPTURE(to_string(mode));
            pipe_fds p;
            bool unwound = false;
            reactor_config config = test::reactor_config_for_tests();
            config.ring_mode = mode;
            try {
                sync_wait(
                    [](int fd, bool& flag) -> task<> {
                        // A detached task blocked in a read when main returns: the reactor aborts it and must wait
                        // for the read's completion before the task's frame (and buffer) may go.
                        spawn([](int rfd, bool& f) -> task<> {
                            set_on_exit guard{f};
                            char buf[64];
                            (void)co_await io::read(rfd, buf, sizeof buf);
                        }(fd, flag))
                            .detach();
                        co_await sleep_for(1ms);
                    }(p.r, unwound),
                    config);
            } catch (const uring_setup_error& e) {
                REQUIRE(e.error() == EINVAL); // an explicit mode this kernel lacks
                continue;
            }
            CHECK(unwound);
            // Nothing reads from the pipe any more: the data stays there.
            REQUIRE(::write(p.w, "z", 1) == 1);
            char c = 0;
            CHECK(::read(p.r, &c, 1) == 1);
            CHECK(c == 'z');
        }
    }
}

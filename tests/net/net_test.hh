/// \file
/// \brief Helpers shared by the net tests: random payloads, an echo handler, whole-stream reads, waits for a
/// condition, fd and RSS counts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "net/connection.hh"
#include "net/listener.hh"
#include "net/server.hh"
#include "net/socket_address.hh"
#include "runtime/errors.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/task.hh"
#include "runtime/timer.hh"
#include "runtime/with_timeout.hh"

namespace percore::net::test {

using namespace std::chrono_literals;

inline socket_address loopback_any_port() {
    return socket_address::parse("127.0.0.1:0");
}

/// `n` pseudo-random bytes, reproducible from `seed`.
inline std::string random_bytes(std::size_t n, std::uint32_t seed) {
    // xorshift64: fast enough that a 16 MiB payload does not trip the stall detector.
    std::uint64_t x = 0x9e3779b97f4a7c15ULL ^ (std::uint64_t{seed} * 0x2545f4914f6cdd1dULL + 1);
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (std::size_t k = 0; k < 8 && i + k < n; ++k) {
            s[i + k] = static_cast<char>(x >> (8 * k));
        }
    }
    return s;
}

/// Echoes every byte until EOF, then half-closes.
inline task<> echo_handler(connection c) {
    for (;;) {
        buffer b = co_await c.input().read();
        if (b.empty()) {
            break;
        }
        co_await c.output().write(std::move(b));
        co_await c.output().flush();
    }
    co_await c.output().close();
}

/// One read() as a task.
inline task<buffer> read_once(input_stream& in) {
    co_return co_await in.read();
}

/// Reads until EOF.
inline task<std::string> read_all(input_stream& in) {
    std::string out;
    for (;;) {
        buffer b = co_await in.read();
        if (b.empty()) {
            break;
        }
        out.append(b.view());
    }
    co_return out;
}

/// Writes `data` in chunks of `chunk` bytes, then half-closes.
inline task<> write_all_and_close(output_stream& out, std::string data, std::size_t chunk) {
    for (std::size_t pos = 0; pos < data.size(); pos += chunk) {
        co_await out.write(std::string_view(data).substr(pos, chunk));
    }
    co_await out.close();
}

/// Sends `payload` over a new connection to `a` while reading the echo; true if it came back byte for byte.
inline task<bool> echo_round_trip(socket_address a, std::string payload, std::size_t chunk) {
    connection c = co_await connect(a);
    auto writer = spawn(write_all_and_close(c.output(), payload, chunk));
    std::string got = co_await read_all(c.input());
    co_await writer;
    co_return got == payload;
}

/// Accepts `n` connections, serving each with echo_handler; returns when all are served.
inline task<> accept_and_echo(listener& l, std::size_t n) {
    std::vector<join_handle<void>> served;
    for (std::size_t i = 0; i < n; ++i) {
        connection c = co_await l.accept();
        served.push_back(spawn(echo_handler(std::move(c))));
    }
    for (auto& h : served) {
        co_await h;
    }
}

/// A task that waits for a spawned one (to bound the wait with with_timeout).
template <typename T>
task<T> joined(join_handle<T> h) {
    co_return co_await h;
}

/// Yields until the spawned task `h` is parked in a wait; fails the test if it does not park within many passes.
template <typename T>
task<> until_waiting(const join_handle<T>& h) {
    for (int i = 0; i < 10'000 && !h.waiting(); ++i) {
        co_await yield();
    }
    REQUIRE(h.waiting());
}

/// Waits (polling every millisecond, for at most `limit`) until `done()`; \return done().
template <typename Pred>
task<bool> wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto give_up = clock_type::now() + limit;
    while (!done() && clock_type::now() < give_up) {
        co_await sleep_for(std::chrono::milliseconds(1));
    }
    co_return done();
}

/// Polls `srv`'s counters (every millisecond, for at most `limit`) until `done(stats)`; \return the last ones read.
template <typename Pred>
task<server_stats> stats_when(server& srv, Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto give_up = clock_type::now() + limit;
    server_stats s = co_await srv.stats();
    while (!done(s) && clock_type::now() < give_up) {
        co_await sleep_for(std::chrono::milliseconds(1));
        s = co_await srv.stats();
    }
    co_return s;
}

/// Lets a spawned task park (in a read, accept, receive...), aborts it, and \return whether awaiting it raised
/// percore::aborted.
template <typename T>
task<bool> abort_while_parked(join_handle<T> h) {
    co_await until_waiting(h);
    h.abort();
    try {
        (void)co_await h;
    } catch (const aborted&) {
        co_return true;
    }
    co_return false;
}

/// Open file descriptors of this process.
inline int count_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n - 3; // ".", ".." and the directory's own descriptor
}

/// Resident set size of this process in KiB.
inline long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string key;
    while (f >> key) {
        if (key == "VmRSS:") {
            long v = 0;
            f >> v;
            return v;
        }
        std::string rest;
        std::getline(f, rest);
    }
    return -1;
}

/// Runs the process out of file descriptors for the io_uring requests prepared while it lives, and only for them.
/// The kernel reads RLIMIT_NOFILE when it prepares an accept: one prepared under the low limit this sets fails with
/// EMFILE once exhaust() has taken every descriptor below that limit, even though exhaust() puts the limit back,
/// so everything else (the sanitizers' runtime too) still gets descriptors. For a child process
/// (tests/support/child_process.hh).
class fd_shortage {
public:
    /// Lowers RLIMIT_NOFILE to a few dozen descriptors above those in use.
    fd_shortage() {
        ::getrlimit(RLIMIT_NOFILE, &_old);
        const int lowest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::close(lowest);
        rlimit low = _old;
        low.rlim_cur = static_cast<rlim_t>(lowest + 64);
        ::setrlimit(RLIMIT_NOFILE, &low);
    }
    fd_shortage(const fd_shortage&) = delete;
    fd_shortage& operator=(const fd_shortage&) = delete;
    /// Frees what exhaust() took.
    ~fd_shortage() {
        ::setrlimit(RLIMIT_NOFILE, &_old);
        for (int fd : _taken) {
            ::close(fd);
        }
    }

    /// Takes every free descriptor below the low limit, then restores the limit. \return how many it took.
    std::size_t exhaust() {
        for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
            _taken.push_back(fd);
        }
        ::setrlimit(RLIMIT_NOFILE, &_old);
        return _taken.size();
    }

private:
    rlimit _old{};
    std::vector<int> _taken;
};

/// In a child process, where doctest's checks would go unseen: says on stderr (which the parent shows) that
/// `what` went wrong, and \return `step`, for the child's exit status.
inline int child_failed(int step, const std::string& what) {
    std::fprintf(stderr, "step %d: %s\n", step, what.c_str());
    return step;
}

/// Sends `text` from `from` and \return what `to` reads of it (bounded by a timeout).
inline task<std::string> send_and_receive(connection& from, connection& to, std::string text) {
    co_await from.output().write(std::string_view(text));
    co_await from.output().flush();
    buffer b = co_await with_timeout(std::chrono::seconds(5), to.input().read_exactly(text.size()));
    co_return b.str();
}

/// Makes close() send RST instead of FIN.
inline void set_linger_zero(int fd) {
    linger l{1, 0};
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
}

} // namespace percore::net::test

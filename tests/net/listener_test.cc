#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "net/connection.hh"
#include "net/detail/net_context.hh"
#include "net/listener.hh"
#include "runtime/errors.hh"
#include "runtime/io.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync_wait.hh"
#include "runtime/timer.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/child_process.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

/// A loopback port with nothing listening on it (bound, never listened: nobody else gets it meanwhile).
struct closed_port {
    int fd = -1;
    socket_address address;
    closed_port() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto a = loopback_any_port();
        REQUIRE(::bind(fd, a.native(), a.length()) == 0);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        address = socket_address(reinterpret_cast<sockaddr*>(&ss), len);
    }
    closed_port(const closed_port&) = delete;
    closed_port& operator=(const closed_port&) = delete;
    ~closed_port() { ::close(fd); }
};

task<int> connect_error(socket_address a, connect_options o, std::string* what) {
    try {
        connection c = co_await connect(a, o);
    } catch (const std::system_error& e) {
        *what = e.what();
        co_return e.code().value();
    }
    co_return 0;
}

/// Connections waiting in a listening socket's accept queue (TCP_INFO reports it for a listener).
unsigned accept_queue_length(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
    return info.tcpi_unacked;
}

task<> accept_one_and_drop(listener& l) {
    connection c = co_await l.accept();
}

/// What a connection reads once its server side is gone: "<eof>", "<error N>", or the bytes it got.
task<std::string> end_of(connection& c) {
    try {
        std::string s = co_await read_all(c.input());
        co_return s.empty() ? "<eof>" : s;
    } catch (const std::system_error& e) {
        co_return "<error " + std::to_string(e.code().value()) + ">";
    }
}

int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

/// The accept-retry path, in a child process since it changes RLIMIT_NOFILE. \return 0, or the step that went
/// wrong.
task<int> accept_after_emfile_body() {
    auto l = listener::listen(loopback_any_port());
    const socket_address a = l.local_address();
    fd_shortage shortage;
    // An accept is armed, and its request prepared by the kernel under the low limit: once the task is parked the
    // request is written, and a no-op written after it completes only once both were submitted.
    auto first = spawn(l.accept());
    for (int i = 0; i < 10'000 && !first.waiting(); ++i) {
        co_await yield();
    }
    if (!first.waiting()) {
        co_return child_failed(1, "accept did not wait");
    }
    co_await io::nop();
    if (shortage.exhaust() == 0) {
        co_return child_failed(2, "no descriptor to take");
    }
    // A client connects: the kernel has no descriptor to give the accepted socket.
    connection c1 = co_await connect(a);
    int error = 0;
    try {
        connection s = co_await with_timeout(5s, joined(std::move(first)));
    } catch (const std::system_error& e) {
        error = e.code().value();
    }
    if (error != EMFILE) {
        co_return child_failed(3, "accept with no descriptor left raised " + std::to_string(error) + ", not EMFILE");
    }
    // The next accept() asks again, with descriptors to be had: it takes the connection that waited.
    connection s1 = co_await with_timeout(5s, l.accept());
    const std::string got_first = co_await send_and_receive(c1, s1, "first");
    if (got_first != "first") {
        co_return child_failed(4, "the first connection carried '" + got_first + "'");
    }
    // And the listener goes on accepting.
    connection c2 = co_await connect(a);
    connection s2 = co_await with_timeout(5s, l.accept());
    const std::string got_second = co_await send_and_receive(c2, s2, "second");
    if (got_second != "second") {
        co_return child_failed(5, "the second connection carried '" + got_second + "'");
    }
    if (l.accepted() != 2) {
        co_return child_failed(6, "accepted() = " + std::to_string(l.accepted()));
    }
    co_return 0;
}

int run_accept_after_emfile() {
    try {
        return sync_wait(accept_after_emfile_body(), percore::test::reactor_config_for_tests());
    } catch (const std::exception& e) {
        return child_failed(100, e.what());
    }
}

task<> connect_close_cycles(listener& l, int n) {
    const socket_address a = l.local_address();
    auto acceptor = [](listener& lst, int count) -> task<int> {
        int got = 0;
        for (int i = 0; i < count; ++i) {
            connection c = co_await lst.accept();
            buffer b = co_await c.input().read(); // EOF from the client's close
            got += b.empty() ? 1 : 0;
        }
        co_return got;
    };
    auto server = spawn(acceptor(l, n));
    for (int i = 0; i < n; ++i) {
        connection c = co_await connect(a);
        c.close();
    }
    const int eofs = co_await server;
    CHECK(eofs == n);
}

} // namespace

TEST_SUITE("net/listener") {
    RUNTIME_TEST_CASE("a listener on port 0 reports the port the kernel chose") {
        auto l = listener::listen(loopback_any_port());
        const socket_address a = l.local_address();
        CHECK(a.port() != 0);
        CHECK(a.to_string().starts_with("127.0.0.1:"));
        auto accepted = spawn(l.accept());
        connection c = co_await with_timeout(5s, connect(a));
        connection s = co_await accepted;
        CHECK(s.local_address() == a);
        CHECK(s.remote_address() == c.local_address());
        CHECK(c.remote_address() == a);
        CHECK(l.accepted() == 1);
    }

    RUNTIME_TEST_CASE("an IPv6 listener accepts on ::1") {
        auto l = listener::listen(socket_address::parse("[::1]:0"));
        CHECK(l.local_address().family() == AF_INET6);
        auto accepted = spawn(l.accept());
        connection c = co_await with_timeout(5s, connect(l.local_address()));
        connection s = co_await accepted;
        co_await c.output().write("v6");
        co_await c.output().close();
        std::string got = co_await with_timeout(5s, read_all(s.input()));
        CHECK(got == "v6");
    }

    RUNTIME_TEST_CASE("binding an address in use throws EADDRINUSE naming it") {
        auto l = listener::listen(loopback_any_port());
        const socket_address a = l.local_address();
        int error = 0;
        std::string what;
        try {
            auto again = listener::listen(a);
        } catch (const std::system_error& e) {
            error = e.code().value();
            what = e.what();
        }
        CHECK(error == EADDRINUSE);
        CHECK(what.find(a.to_string()) != std::string::npos);
        co_return;
    }

    RUNTIME_TEST_CASE("connect to a closed port throws ECONNREFUSED naming the address") {
        closed_port port;
        std::string what;
        const int error = co_await connect_error(port.address, {}, &what);
        CHECK(error == ECONNREFUSED);
        CHECK(what.find(port.address.to_string()) != std::string::npos);
    }

    RUNTIME_TEST_CASE("connect gives up after its timeout with ETIMEDOUT naming the address") {
        // A listener whose accept queue is full and which never accepts: the kernel drops further SYNs.
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto a = loopback_any_port();
        REQUIRE(::bind(fd, a.native(), a.length()) == 0);
        REQUIRE(::listen(fd, 0) == 0);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        const socket_address target(reinterpret_cast<sockaddr*>(&ss), len);
        std::vector<int> fillers;
        for (int i = 0; i < 4; ++i) {
            int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            (void)::connect(c, target.native(), target.length());
            fillers.push_back(c);
        }
        // listen(fd, 0) holds one connection: once it is there, the kernel drops every SYN that follows.
        const bool full = co_await wait_until([&] { return accept_queue_length(fd) >= 1; });
        REQUIRE(full);
        std::string what;
        const auto start = std::chrono::steady_clock::now();
        const int error = co_await connect_error(target, {.timeout = 200ms}, &what);
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(error == ETIMEDOUT);
        CHECK(what.find(target.to_string()) != std::string::npos);
        CHECK(took >= 190ms);
        CHECK(took < 3s);
        for (int c : fillers) {
            ::close(c);
        }
        ::close(fd);
    }

    RUNTIME_TEST_CASE("accepted TCP connections have TCP_NODELAY unless the listener is told otherwise") {
        for (const bool nodelay : {true, false}) {
            auto l = listener::listen(loopback_any_port(), {.nodelay = nodelay});
            auto accepted = spawn(l.accept());
            connection c = co_await with_timeout(5s, connect(l.local_address(), {.nodelay = !nodelay}));
            connection s = co_await with_timeout(5s, joined(std::move(accepted)));
            // A fresh TCP socket has Nagle's algorithm on; the listener turns it off.
            CHECK((int_option(s.fd(), IPPROTO_TCP, TCP_NODELAY) != 0) == nodelay);
            CHECK((int_option(c.fd(), IPPROTO_TCP, TCP_NODELAY) != 0) == !nodelay); // the client's is its own
        }
    }

    TEST_CASE("an accept that runs out of descriptors raises EMFILE; once one is free the listener accepts again") {
        auto st = percore::test::run_in_child(&run_accept_after_emfile, std::chrono::seconds(30));
        INFO(st.err);
        CHECK(st.exited);
        CHECK(st.code == 0);
    }

    RUNTIME_TEST_CASE("aborting a task blocked in accept raises aborted; the listener still accepts") {
        auto l = listener::listen(loopback_any_port());
        const bool was_aborted = co_await abort_while_parked(spawn(l.accept()));
        CHECK(was_aborted);
        auto accepted = spawn(l.accept());
        connection c = co_await with_timeout(5s, connect(l.local_address()));
        connection s = co_await with_timeout(5s, joined(std::move(accepted)));
        CHECK(static_cast<bool>(s));
    }

    RUNTIME_TEST_CASE("closing a listener wakes a pending accept with ECANCELED") {
        auto l = listener::listen(loopback_any_port());
        auto waiter = [](listener& lst) -> task<int> {
            try {
                connection c = co_await lst.accept();
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
            co_return 0;
        };
        auto h = spawn(waiter(l));
        co_await until_waiting(h);
        l.close();
        const int error = co_await with_timeout(5s, joined(std::move(h)));
        CHECK(error == ECANCELED);
    }

    RUNTIME_TEST_CASE("dropping a listener with queued connections closes them") {
        const int before = count_fds();
        std::vector<connection> clients;
        {
            auto l = listener::listen(loopback_any_port());
            const socket_address a = l.local_address();
            // One accept arms the multishot accept; later connections queue in the listener.
            auto first = spawn(accept_one_and_drop(l));
            for (int i = 0; i < 10; ++i) {
                clients.push_back(co_await connect(a));
            }
            co_await first;
            if (net::detail::net_context::local().multishot_accept()) {
                // The other nine are accepted, and their sockets wait in the listener: one descriptor each, next
                // to the listener's own and the ten clients'. (One-shot accepts, before Linux 5.19, leave them in
                // the kernel's backlog, which closing the listening socket resets.)
                const bool queued = co_await wait_until([&] { return count_fds() >= before + 1 + 10 + 9; });
                REQUIRE(queued);
            }
        }
        for (connection& c : clients) {
            const std::string end = co_await with_timeout(5s, end_of(c));
            CHECK((end == "<eof>" || end == "<error 104>")); // closed (or reset) by the server side
        }
        clients.clear();
        const bool released = co_await wait_until([&] { return count_fds() <= before; });
        CHECK(released);
    }

    RUNTIME_TEST_CASE("2000 connect/close cycles leak no file descriptor") {
        auto l = listener::listen(loopback_any_port());
        co_await with_timeout(20s, connect_close_cycles(l, 20)); // warm up: rings, contexts, lazily opened fds
        const int before = count_fds();
        co_await with_timeout(25s, connect_close_cycles(l, 2000));
        // A socket closes when its last operation has completed: wait for the count to come back down.
        const bool settled = co_await wait_until([&] { return count_fds() <= before; });
        CHECK(settled);
    }
}

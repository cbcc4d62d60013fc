#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "net/connection.hh"
#include "net/server.hh"
#include "runtime/errors.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
#include "runtime/sync_wait.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/child_process.hh"
#include "tests/support/log_capture.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

std::function<connection_handler()> echo_factory() {
    return [] { return connection_handler(&echo_handler); };
}

/// Reads what the server sends until EOF or an error; \return the bytes, or "<error N>".
task<std::string> drain_input(connection& c) {
    try {
        std::string s = co_await read_all(c.input());
        co_return s;
    } catch (const std::system_error& e) {
        co_return "<error " + std::to_string(e.code().value()) + ">";
    }
}

event g_request_read; // busy_then_reply has its request
event g_may_reply;    // and replies once this is set

task<> waited(event& e) {
    co_await e.wait();
}

/// Reads a 4-byte request, then stays busy (the connection open, nothing to read) until the test lets it reply.
task<> busy_then_reply(connection c) {
    buffer b = co_await c.input().read_exactly(4);
    g_request_read.set();
    co_await g_may_reply.wait();
    co_await c.output().write("done:");
    co_await c.output().write(std::move(b));
    co_await c.output().close();
}

/// Reads one byte, writes and flushes two 200 KiB parts in one pass, and returns without close(): the server
/// drops the connection with the second part still queued behind the first send.
task<> flush_twice_and_return(connection c) {
    (void)co_await c.input().read_exactly(1);
    co_await c.output().write(random_bytes(200 * 1024, 1));
    co_await c.output().flush();
    co_await c.output().write(random_bytes(200 * 1024, 2));
    co_await c.output().flush();
}

/// Connects, sends one byte and reads until EOF.
task<std::string> poke_and_read_all(socket_address a) {
    connection c = co_await connect(a);
    co_await c.output().write("?");
    co_await c.output().flush();
    co_return co_await drain_input(c);
}

std::atomic<int> g_idle_aborted{0};

/// `stop()` is past accepting (the listening socket is closed only once the accept loop has left it) and parked:
/// in the drain, which only the handlers' end or the drain timeout ends.
bool stop_waits(const join_handle<void>& stopping, int fds_while_listening) {
    return stopping.waiting() && count_fds() < fds_while_listening;
}

task<> idle_handler(connection c) {
    try {
        buffer b = co_await c.input().read(); // the client never sends
    } catch (const aborted&) {
        g_idle_aborted.fetch_add(1);
        throw;
    }
}

/// The server's accept-retry path, in a child process since it changes RLIMIT_NOFILE. \return 0, or the step that
/// went wrong.
task<int> serve_after_emfile_body() {
    percore::test::log_capture log;
    fd_shortage shortage;
    server srv({.address = loopback_any_port()}, echo_factory());
    co_await srv.start();
    const socket_address a = srv.local_address();
    // A connection served: the server's accept request was prepared under the low limit (the accept loop asks
    // again as soon as it has taken a connection, before that connection's first read completes).
    const bool served = co_await with_timeout(5s, echo_round_trip(a, "warm", 4));
    if (!served) {
        co_return child_failed(1, "the first connection was not served");
    }
    if (shortage.exhaust() == 0) {
        co_return child_failed(2, "no descriptor to take");
    }
    // A client connects: the kernel has no descriptor to give the accepted socket.
    connection client = co_await connect(a);
    const bool reported = co_await wait_until([&] { return log.contains({"accept failed", "Too many open files"}); });
    if (!reported) {
        co_return child_failed(3, "no accept failure logged: " + log.all());
    }
    // The server went on trying; asking again, with descriptors to be had, it takes the client that waited.
    const std::string got = co_await send_and_receive(client, client, "ping");
    if (got != "ping") {
        co_return child_failed(4, "the echo was '" + got + "'");
    }
    const server_stats s = co_await srv.stats();
    if (s.accepted != 2 || s.failed != 0) {
        co_return child_failed(5, "accepted " + std::to_string(s.accepted) + ", failed " + std::to_string(s.failed));
    }
    co_await client.output().close();
    co_await srv.stop();
    co_return 0;
}

int run_serve_after_emfile() {
    try {
        return sync_wait(serve_after_emfile_body(), percore::test::reactor_config_for_tests());
    } catch (const std::exception& e) {
        return child_failed(100, e.what());
    }
}

} // namespace

TEST_SUITE("net/server") {
    RUNTIME_TEST_CASE("a server echoes on the port it bound, and counts what it served") {
        server srv({.address = loopback_any_port()}, echo_factory());
        co_await srv.start();
        CHECK(srv.local_address().port() != 0);
        std::vector<task<bool>> clients;
        for (int i = 0; i < 20; ++i) {
            clients.push_back(echo_round_trip(srv.local_address(), random_bytes(1000 * i, i), 333));
        }
        std::vector<bool> ok = co_await with_timeout(10s, when_all(std::move(clients)));
        for (bool b : ok) {
            CHECK(b);
        }
        // The clients have their echo; the handlers end just after.
        server_stats s = co_await stats_when(srv, [](const server_stats& st) { return st.active == 0; });
        CHECK(s.accepted == 20);
        CHECK(s.rejected == 0);
        CHECK(s.failed == 0);
        CHECK(s.active == 0);
        co_await srv.stop();
        co_await srv.stop(); // idempotent
    }

    RUNTIME_TEST_CASE("connections over max_connections are closed at once and counted as rejected") {
        server srv({.address = loopback_any_port(), .max_connections = 2}, echo_factory());
        co_await srv.start();
        const socket_address a = srv.local_address();
        connection c1 = co_await connect(a);
        connection c2 = co_await connect(a);
        const server_stats first_two =
            co_await stats_when(srv, [](const server_stats& st) { return st.accepted == 2; });
        REQUIRE(first_two.active == 2);
        connection c3 = co_await connect(a);
        const auto start = std::chrono::steady_clock::now();
        std::string third = co_await with_timeout(5s, drain_input(c3));
        CHECK((third.empty() || third == "<error 104>")); // EOF or reset: closed by the server
        CHECK(std::chrono::steady_clock::now() - start < 1s);
        // The first two are served.
        co_await c1.output().write("one");
        co_await c1.output().flush();
        buffer b = co_await with_timeout(5s, c1.input().read_exactly(3));
        CHECK(b.view() == "one");
        server_stats s = co_await srv.stats();
        CHECK(s.rejected == 1);
        CHECK(s.accepted == 2);
        CHECK(s.active == 2);
        // A slot freed is a slot available again.
        c2.close();
        s = co_await stats_when(srv, [](const server_stats& st) { return st.active == 1; });
        REQUIRE(s.active == 1);
        const bool ok = co_await with_timeout(5s, echo_round_trip(a, "again", 5));
        CHECK(ok);
        co_await c1.output().close();
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("a client reset mid-stream fails its connection only; the server serves others") {
        server srv({.address = loopback_any_port()}, echo_factory());
        co_await srv.start();
        const socket_address a = srv.local_address();
        for (int i = 0; i < 5; ++i) {
            connection c = co_await connect(a);
            co_await c.output().write(std::string_view(random_bytes(200'000, i)));
            co_await c.output().flush();
            buffer some = co_await with_timeout(5s, c.input().read_exactly(1000));
            CHECK(some.size() == 1000);
            set_linger_zero(c.fd());
            c.close();
        }
        const bool ok = co_await with_timeout(10s, echo_round_trip(a, random_bytes(100'000, 99), 4096));
        CHECK(ok);
        server_stats s =
            co_await stats_when(srv, [](const server_stats& st) { return st.accepted == 6 && st.active == 0; });
        CHECK(s.accepted == 6);
        CHECK(s.failed == 5);
        CHECK(s.active == 0);
        co_await srv.stop();
    }

    RUNTIME_TEST_CASE("stop lets a busy connection finish and aborts an idle one after drain_timeout") {
        g_request_read.reset();
        g_may_reply.reset();
        // A drain timeout far longer than the test: the busy handler ends because it finished, not because stop
        // gave up on it.
        server busy({.address = loopback_any_port(), .drain_timeout = 60s},
                    [] { return connection_handler(&busy_then_reply); });
        co_await busy.start();
        connection c = co_await connect(busy.local_address());
        co_await c.output().write("abcd");
        co_await c.output().flush();
        co_await with_timeout(5s, waited(g_request_read));
        const int fds_while_listening = count_fds();
        auto stopping = spawn(busy.stop());
        const bool draining = co_await wait_until([&] { return stop_waits(stopping, fds_while_listening); });
        REQUIRE(draining);
        g_may_reply.set(); // the handler ends on its own, with stop waiting for it
        co_await with_timeout(10s, joined(std::move(stopping)));
        std::string reply = co_await with_timeout(5s, drain_input(c));
        CHECK(reply == "done:abcd"); // neither aborted nor cut off
        // No new connections once stopped.
        std::string what;
        bool refused = false;
        try {
            connection late = co_await connect(busy.local_address());
        } catch (const std::system_error& e) {
            refused = e.code().value() == ECONNREFUSED;
        }
        CHECK(refused);

        g_idle_aborted = 0;
        server idle({.address = loopback_any_port(), .drain_timeout = 200ms},
                    [] { return connection_handler(&idle_handler); });
        co_await idle.start();
        connection i = co_await connect(idle.local_address());
        const server_stats serving = co_await stats_when(idle, [](const server_stats& st) { return st.active == 1; });
        REQUIRE(serving.active == 1);
        // The drain timeout is what this part is about: stop waits for it, then aborts the idle handler.
        const auto start = std::chrono::steady_clock::now();
        co_await with_timeout(10s, idle.stop());
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(took >= 190ms);
        CHECK(took < 2s);
        CHECK(g_idle_aborted.load() == 1);
        std::string rest = co_await with_timeout(5s, drain_input(i));
        CHECK((rest.empty() || rest == "<error 104>"));
    }

    // Issue 10, item 1: start_send refused once the connection was closed and on_send stopped there, so the bytes
    // queued behind an in-flight send, and the rest of a short send, were dropped.
    RUNTIME_TEST_CASE("flushed bytes reach the peer when a handler returns without closing") {
        server srv({.address = loopback_any_port()}, [] { return connection_handler(&flush_twice_and_return); });
        co_await srv.start();
        std::vector<task<std::string>> clients;
        for (int i = 0; i < 50; ++i) {
            clients.push_back(poke_and_read_all(srv.local_address()));
        }
        std::vector<std::string> got = co_await with_timeout(20s, when_all(std::move(clients)));
        const std::string expected = random_bytes(200 * 1024, 1) + random_bytes(200 * 1024, 2);
        int complete = 0;
        for (const std::string& g : got) {
            complete += g == expected ? 1 : 0;
        }
        CHECK(complete == 50);
        co_await srv.stop();
    }

    TEST_CASE(
        "a server whose accept runs out of descriptors reports it, keeps trying, and serves the client that waited") {
        auto st = percore::test::run_in_child(&run_serve_after_emfile, std::chrono::seconds(30));
        INFO(st.err);
        CHECK(st.exited);
        CHECK(st.code == 0);
    }

    RUNTIME_TEST_CASE("starting on an address in use throws naming it") {
        auto l = listener::listen(loopback_any_port());
        server srv({.address = l.local_address(), .mode = accept_mode::handoff}, echo_factory());
        std::string what;
        try {
            co_await srv.start();
        } catch (const std::system_error& e) {
            what = e.what();
        }
        CHECK(what.find(l.local_address().to_string()) != std::string::npos);
    }

    TEST_CASE("parse_accept_mode knows both modes and rejects others") {
        CHECK(parse_accept_mode("reuseport") == accept_mode::reuse_port);
        CHECK(parse_accept_mode("handoff") == accept_mode::handoff);
        CHECK_THROWS_AS((void)parse_accept_mode("roundrobin"), std::invalid_argument);
    }
}

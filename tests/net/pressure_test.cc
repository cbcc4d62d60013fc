// Tests that change net::config: each runs on a fresh reactor, whose network context reads the config once.
#include <chrono>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "net/config.hh"
#include "net/connection.hh"
#include "net/listener.hh"
#include "runtime/errors.hh"
#include "runtime/spawn.hh"
#include "runtime/sync_wait.hh"
#include "runtime/timer.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
#include "tests/net/net_test.hh"
#include "tests/support/child_process.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool under_asan = true;
#else
constexpr bool under_asan = false;
#endif
#else
constexpr bool under_asan = false;
#endif

/// Runs `body` on a fresh reactor with `c` as the network configuration, then restores the default.
void run_with_config(const config& c, task<> (*body)()) {
    set_config(c);
    try {
        sync_wait(body(), percore::test::reactor_config_for_tests());
    } catch (...) {
        set_config(config{});
        throw;
    }
    set_config(config{});
}

void small_kernel_buffers(int fd) {
    int size = 64 * 1024;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0);
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
}

std::size_t g_server_read = 0;

task<> counting_echo(connection c) {
    small_kernel_buffers(c.fd());
    for (;;) {
        buffer b = co_await c.input().read();
        if (b.empty()) {
            break;
        }
        g_server_read += b.size();
        co_await c.output().write(std::move(b));
        co_await c.output().flush();
    }
    co_await c.output().close();
}

std::size_t g_client_written = 0;

task<> counting_writer(output_stream& out, const std::string& data) {
    for (std::size_t pos = 0; pos < data.size(); pos += 64 * 1024) {
        co_await out.write(std::string_view(data).substr(pos, 64 * 1024));
        g_client_written = pos + 64 * 1024;
    }
    co_await out.close();
}

task<> slow_reader_body() {
    g_server_read = 0;
    g_client_written = 0;
    const std::string payload = random_bytes(8 << 20, 8);
    auto l = listener::listen(loopback_any_port());
    auto acceptor = [](listener& lst) -> task<> {
        connection c = co_await lst.accept();
        co_await counting_echo(std::move(c));
    };
    auto server = spawn(acceptor(l));
    connection c = co_await connect(l.local_address());
    small_kernel_buffers(c.fd());
    co_await sleep_for(20ms);
    const long rss_before = rss_kib();
    auto writer = spawn(counting_writer(c.output(), payload));
    co_await sleep_for(500ms); // the client does not read: everything backs up
    const long rss_stalled = rss_kib();
    MESSAGE("stalled: client wrote ", g_client_written, " bytes, server read ", g_server_read, " bytes, RSS grew by ",
            rss_stalled - rss_before, " KiB");
    CHECK(g_client_written < payload.size());       // the writer waits for the socket
    CHECK(g_server_read < 4u << 20);                // the server stopped reading what it could not send
    if (!under_asan) {                              // ASan's quarantine of freed blocks makes RSS meaningless here
        CHECK(rss_stalled - rss_before < 6 * 1024); // and nobody buffered the 8 MiB
    }
    std::string back = co_await with_timeout(20s, read_all(c.input()));
    co_await writer;
    co_await server;
    CHECK(back.size() == payload.size());
    CHECK(back == payload);
}

task<> ring_dry_body() {
    auto l = listener::listen(loopback_any_port());
    constexpr std::size_t n = 40;
    auto server = spawn(accept_and_echo(l, n));
    std::vector<task<bool>> clients;
    for (std::size_t i = 0; i < n; ++i) {
        clients.push_back(echo_round_trip(l.local_address(), random_bytes(50'000 + 1000 * i, i), 3000));
    }
    std::vector<bool> ok = co_await with_timeout(20s, when_all(std::move(clients)));
    co_await server;
    std::size_t good = 0;
    for (bool b : ok) {
        good += b ? 1 : 0;
    }
    CHECK(good == n);
}

/// A reader parked on a connection that another task closes must not be stranded.
task<> close_under_reader_body() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    connection client = co_await connect(l.local_address());
    connection server = co_await accepted;
    auto reader = [](connection& c) -> task<int> {
        try {
            buffer b = co_await c.input().read();
            co_return b.empty() ? 1 : 2;
        } catch (const std::exception&) {
            co_return 3;
        }
    };
    auto h = spawn(reader(server));
    co_await sleep_for(10ms);
    server.close();
    for (int i = 0; i < 100 && !h.done(); ++i) {
        co_await sleep_for(10ms);
    }
    if (!h.done()) {
        std::fprintf(stderr, "reader stranded after close\n");
        std::fflush(stderr);
        h.abort(); // its cancel hook points at the freed stream state: ASan reports a use after free
        co_await h.wait();
        std::_Exit(3);
    }
    const int outcome = co_await h;
    CHECK(outcome == 3); // a read on a closed connection ends with an error
}

task<std::size_t> count_until_eof(input_stream& in) {
    std::size_t n = 0;
    for (;;) {
        buffer b = co_await in.read();
        if (b.empty()) {
            co_return n;
        }
        n += b.size();
    }
}

/// A writer that always keeps the socket busy (its queue never empties) must not grow memory with the bytes it
/// has already sent.
task<> long_stream_body() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    connection client = co_await connect(l.local_address());
    connection server = co_await accepted;
    auto counting = spawn(count_until_eof(client.input()));
    constexpr std::size_t writes = 1'000'000;
    constexpr std::size_t piece = 128;
    const std::string bytes(piece, 'w');
    long rss_at_start = 0;
    for (std::size_t i = 0; i < writes; ++i) {
        co_await server.output().write(buffer::copy_of(bytes)); // zero-copy path: one queue entry per write
        if (i == writes / 10) {
            rss_at_start = rss_kib(); // the queue is at its working size by now
        }
    }
    const long rss_at_end = rss_kib();
    co_await server.output().close();
    const std::size_t got = co_await with_timeout(20s, joined(std::move(counting)));
    CHECK(got == writes * piece);
    MESSAGE("RSS grew by ", rss_at_end - rss_at_start, " KiB over ", writes * 9 / 10, " writes of ", piece, " bytes");
    if (!under_asan) { // ASan's quarantine keeps every freed buffer resident for a while
        CHECK(rss_at_end - rss_at_start < 8 * 1024);
    }
}

int run_close_under_reader() {
    sync_wait(close_under_reader_body(), percore::test::reactor_config_for_tests());
    return 0;
}

} // namespace

TEST_SUITE("net/pressure") {
    TEST_CASE("a client that stops reading stops the server; once it reads, all 8 MiB arrive intact") {
        config c;
        c.recv_buffers = 64; // a 1 MiB ring: its pages do not blur the RSS measure
        run_with_config(c, &slow_reader_body);
    }

    TEST_CASE("with the receive ring run dry connections go on through heap buffers, intact") {
        config c;
        c.recv_buffers = 4;
        c.recv_buffer_size = 1024;
        run_with_config(c, &ring_dry_body);
    }

    TEST_CASE("set_config rejects bad values naming them") {
        config c;
        c.recv_buffers = 3;
        CHECK_THROWS_WITH_AS(set_config(c), doctest::Contains("recv_buffers = 3"), std::invalid_argument);
        c = config{};
        c.recv_buffer_size = 100;
        CHECK_THROWS_WITH_AS(set_config(c), doctest::Contains("recv_buffer_size = 100"), std::invalid_argument);
        c = config{};
        c.max_unsent = 0;
        CHECK_THROWS_AS(set_config(c), std::invalid_argument);
        CHECK(current_config().recv_buffers == config{}.recv_buffers);
    }

    RUNTIME_TEST_CASE("a writer that keeps the socket busy does not grow memory with what it already sent") {
        co_await with_timeout(25s, long_stream_body());
    }

    TEST_CASE("closing a connection wakes a task parked in read on it") {
        auto st = percore::test::run_in_child(&run_close_under_reader, std::chrono::seconds(20));
        INFO(st.err);
        CHECK(st.exited);
        CHECK(st.code == 0);
    }
}

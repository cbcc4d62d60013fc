// Tests that change net::config: each runs on a fresh reactor, whose network context reads the config once.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "net/config.hh"
#include "net/connection.hh"
#include "net/detail/net_context.hh"
#include "net/listener.hh"
#include "runtime/errors.hh"
#include "runtime/preempt.hh"
#include "runtime/spawn.hh"
#include "runtime/sync/event.hh"
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
bool g_server_writing = false; // counting_echo is in a write or flush, not in a read

task<> counting_echo(connection c) {
    small_kernel_buffers(c.fd());
    for (;;) {
        buffer b = co_await c.input().read();
        if (b.empty()) {
            break;
        }
        g_server_read += b.size();
        g_server_writing = true;
        co_await c.output().write(std::move(b));
        co_await c.output().flush();
        g_server_writing = false;
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
    g_server_writing = false;
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
    const bool serving = co_await wait_until([&] { return l.accepted() == 1 && server.waiting(); });
    REQUIRE(serving); // parked in its first read
    const long rss_before = rss_kib();
    auto writer = spawn(counting_writer(c.output(), payload));
    // The client does not read, so everything backs up: the server waits to send (its unsent bytes over the
    // limit, the client's window shut), so it reads no more, and the client's writer waits too. Neither can move
    // again until the client reads.
    const bool stalled = co_await wait_until([&] { return server.waiting() && g_server_writing && writer.waiting(); });
    REQUIRE(stalled);
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
    co_await until_waiting(h);
    server.close();
    const bool ended = co_await wait_until([&] { return h.done(); }, 1s);
    if (!ended) {
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

// ---------------------------------------------------------------------------------------------------- the ring

net::detail::net_context& ctx() {
    return net::detail::net_context::local();
}

/// Reads once (which arms the connection's receive) and keeps what it read, then reads nothing until `release`
/// is set.
task<> stalled_handler(connection c, event& release) {
    buffer kept = co_await c.input().read();
    co_await release.wait();
}

/// Sends `n` messages of 64 bytes, each once the kernel took the one before (so that each tends to arrive, and
/// be received, on its own), never reading.
task<> pipeline_small(connection& c, int n) {
    const std::string message(64, 'p');
    for (int i = 0; i < n; ++i) {
        co_await c.output().write(std::string_view(message));
        co_await c.output().wait_sent();
    }
}

/// Issue 10, item 5: back-pressure counted bytes only, so one connection pipelining 64-byte messages (a whole
/// 16 KiB ring buffer each) could hold every buffer of the ring while far below max_unread, and every other
/// connection then received through heap buffers.
task<> greedy_pipeliner_body() {
    auto l = listener::listen(loopback_any_port());
    event release;
    auto greedy_server = spawn([&]() -> task<> { co_await stalled_handler(co_await l.accept(), release); });
    connection greedy = co_await connect(l.local_address());
    auto greedy_writer = spawn(pipeline_small(greedy, 20'000));
    const unsigned total = ctx().buffers().count();
    const unsigned bound = ctx().max_unread_buffers();
    // The stalled connection has taken its share and paused; before the fix it went on until the ring was empty.
    // (One-shot receives, on kernels before 6.0, take one buffer per read: a stalled reader cannot take more.)
    const bool multishot = ctx().multishot_recv();
    const bool stopped_taking = co_await wait_until(
        [&] { return !multishot || ctx().stats().receives_paused > 0 || ctx().free_buffers() == 0; });
    REQUIRE(stopped_taking);

    constexpr std::size_t others = 100;
    auto server = spawn(accept_and_echo(l, others));
    std::vector<task<bool>> clients;
    for (std::size_t i = 0; i < others; ++i) {
        clients.push_back(echo_round_trip(l.local_address(), random_bytes(64 * 20, i), 64));
    }
    std::vector<bool> ok = co_await with_timeout(20s, when_all(std::move(clients)));
    co_await server;
    std::size_t good = 0;
    for (bool b : ok) {
        good += b ? 1 : 0;
    }
    const unsigned held = total - ctx().free_buffers();
    MESSAGE("the stalled connection holds ", held, " of ", total, " ring buffers (bound ", bound, "); ",
            ctx().stats().heap_receives, " heap receives, ", ctx().stats().receives_paused, " receives paused");
    CHECK(good == others);
    CHECK(held <= 2 * bound); // the bound, plus completions that landed before the pause took effect
    CHECK(ctx().stats().heap_receives == 0);
    CHECK((!multishot || ctx().stats().receives_paused > 0));
    greedy_writer.abort();
    co_await greedy_writer.wait();
    release.set();
    co_await greedy_server;
}

/// Review of issue 10 (D3): an echo handler hands each received ring buffer to its output without a copy, and
/// only bytes (max_unsent) limited what it queued: a client pipelining 64-byte messages and never reading the
/// replies pinned every ring buffer in the send queue, and every other connection received through heap buffers.
task<> greedy_echo_client_body() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    // A raw client that sends and never reads, with a small window so the echoes back up at once.
    const socket_address a = l.local_address();
    const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    REQUIRE(::connect(fd, a.native(), a.length()) == 0);
    connection server = co_await accepted;
    REQUIRE(::setsockopt(server.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    auto echo = spawn(echo_handler(std::move(server)));
    const unsigned total = ctx().buffers().count();
    const unsigned bound = ctx().max_unread_buffers();
    const std::string message(64, 'p');
    // Paced (not a synchronisation): spaced sends arrive, and are received, one by one instead of coalescing, so
    // each takes a ring buffer of its own, which is what a pipelining client does to a busy server.
    for (int i = 0; i < 3000 && ctx().stats().receives_paused == 0 && ctx().free_buffers() > 0; ++i) {
        (void)::send(fd, message.data(), message.size(), MSG_DONTWAIT);
        co_await sleep_for(std::chrono::microseconds(50));
    }
    const bool stopped_taking = co_await wait_until(
        [&] { return !ctx().multishot_recv() || ctx().stats().receives_paused > 0 || ctx().free_buffers() == 0; });
    REQUIRE(stopped_taking);

    constexpr std::size_t others = 50;
    auto server2 = spawn(accept_and_echo(l, others));
    std::vector<task<bool>> clients;
    for (std::size_t i = 0; i < others; ++i) {
        clients.push_back(echo_round_trip(l.local_address(), random_bytes(64 * 10, i), 64));
    }
    std::vector<bool> ok = co_await with_timeout(20s, when_all(std::move(clients)));
    co_await server2;
    std::size_t good = 0;
    for (bool b : ok) {
        good += b ? 1 : 0;
    }
    const unsigned held = total - ctx().free_buffers();
    MESSAGE("the echoed-to, never-reading client holds ", held, " of ", total, " ring buffers (bound ", bound,
            " unread plus ", bound, " queued to send); ", ctx().stats().heap_receives, " heap receives");
    CHECK(good == others);
    CHECK(held <= 3 * bound);
    CHECK(ctx().stats().heap_receives == 0);
    ::close(fd); // with replies unread: a reset, which ends the echo handler's writes with an error
    int ended = 0;
    try {
        co_await with_timeout(10s, joined(std::move(echo)));
    } catch (const std::system_error& e) {
        ended = e.code().value();
    }
    CHECK((ended == 0 || ended == ECONNRESET || ended == EPIPE));
}

/// With every ring buffer held, idle readers wait with a readiness poll: they hold no heap buffer until data
/// arrives, and none again once they have read it.
task<> idle_readers_body() {
    auto l = listener::listen(loopback_any_port());
    event release;
    // As many stalled connections as the ring has buffers, each keeping what it read (one-shot receives take one
    // buffer per read; a multishot receive takes more).
    const unsigned stalled = ctx().buffers().count();
    std::vector<connection> stallers;
    std::vector<join_handle<void>> stalled_servers;
    std::vector<join_handle<void>> stalled_writers;
    for (unsigned i = 0; i < stalled; ++i) {
        auto accepted = spawn(l.accept());
        stallers.push_back(co_await connect(l.local_address()));
        stalled_servers.push_back(spawn(stalled_handler(co_await accepted, release)));
    }
    for (connection& c : stallers) {
        stalled_writers.push_back(spawn(pipeline_small(c, 5000))); // 320 KB each: more than the buffers hold
    }
    const bool ring_empty = co_await wait_until([&] { return ctx().free_buffers() == 0; });
    REQUIRE(ring_empty);

    constexpr int readers = 20;
    std::vector<join_handle<void>> handlers;
    std::vector<connection> clients;
    for (int i = 0; i < readers; ++i) {
        auto accepted = spawn(l.accept());
        clients.push_back(co_await connect(l.local_address()));
        handlers.push_back(spawn(echo_handler(co_await accepted)));
    }
    const bool all_parked = co_await wait_until(
        [&] { return std::all_of(handlers.begin(), handlers.end(), [](const auto& h) { return h.waiting(); }); });
    REQUIRE(all_parked);
    CHECK(ctx().stats().heap_receives_in_flight == 0);

    for (int i = 0; i < readers; ++i) {
        const std::string message = "message " + std::to_string(i);
        co_await clients[i].output().write(std::string_view(message));
        co_await clients[i].output().flush();
        buffer back = co_await with_timeout(5s, clients[i].input().read_exactly(message.size()));
        CHECK(back.view() == message);
    }
    CHECK(ctx().stats().heap_receives >= readers);
    const bool parked_again = co_await wait_until(
        [&] { return std::all_of(handlers.begin(), handlers.end(), [](const auto& h) { return h.waiting(); }); });
    CHECK(parked_again);
    CHECK(ctx().stats().heap_receives_in_flight == 0);

    for (connection& c : clients) {
        co_await c.output().close();
    }
    for (auto& h : handlers) {
        co_await with_timeout(5s, joined(std::move(h)));
    }
    for (auto& w : stalled_writers) {
        w.abort();
        co_await w.wait();
    }
    release.set();
    for (auto& h : stalled_servers) {
        co_await h;
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

    TEST_CASE("a client pipelining small messages holds only its share of the ring; others never fall back") {
        run_with_config(config{}, &greedy_pipeliner_body);
    }

    TEST_CASE("an echo to a client that never reads holds only its share of the ring; others never fall back") {
        run_with_config(config{}, &greedy_echo_client_body);
    }

    TEST_CASE("with the ring empty, idle readers hold no heap buffer, before or after they read") {
        config c;
        c.recv_buffers = 4;
        c.max_unread_buffers = 4; // one stalled connection may take them all
        run_with_config(c, &idle_readers_body);
    }

    TEST_CASE("set_config rejects bad values naming them") {
        config c;
        c.recv_buffers = 3;
        CHECK_THROWS_WITH_AS(set_config(c), doctest::Contains("recv_buffers = 3"), std::invalid_argument);
        c = config{};
        c.recv_buffer_size = 100;
        CHECK_THROWS_WITH_AS(set_config(c), doctest::Contains("recv_buffer_size = 100"), std::invalid_argument);
        c = config{};
        c.max_unread_buffers = 1024;
        CHECK_THROWS_WITH_AS(set_config(c), doctest::Contains("max_unread_buffers = 1024"), std::invalid_argument);
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

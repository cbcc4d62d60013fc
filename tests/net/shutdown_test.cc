// What happens to connections when their shard stops, or lingers after their handler let go: tests that each run
// a reactor of their own and look at what is left after it ends.
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

#include "net/config.hh"
#include "net/connection.hh"
#include "net/detail/net_context.hh"
#include "net/listener.hh"
#include "runtime/reactor.hh"
#include "runtime/spawn.hh"
#include "runtime/sync_wait.hh"
#include "tests/net/net_test.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

net::detail::net_context& ctx() {
    return net::detail::net_context::local();
}

/// A raw socket connected to `a` with a small receive buffer, so a sender fills it quickly.
int raw_peer(const socket_address& a) {
    const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    int size = 16 * 1024;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0);
    REQUIRE(::connect(fd, a.native(), a.length()) == 0);
    return fd;
}

/// Reads `fd` until EOF or a reset (true), or until 10 s pass without either (false: the socket was never closed).
bool peer_sees_the_end(int fd) {
    timeval tv{10, 0};
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return false; // EAGAIN: the timeout
        }
    }
}

// ---------------------------------------------------------------------------------------------------- D1

std::optional<connection> g_kept;
std::optional<connection> g_kept_peer;

task<> keep_a_connection_with_unread_data() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    connection client = co_await connect(l.local_address());
    connection server = co_await accepted;
    // An aborted read leaves the multishot receive armed: data then lands in ring buffers nobody reads.
    const bool aborted = co_await abort_while_parked(spawn(read_once(server.input())));
    REQUIRE(aborted);
    const unsigned free_before = ctx().free_buffers();
    co_await client.output().write("held unread in a ring buffer");
    co_await client.output().flush();
    const bool received = co_await wait_until([&] { return ctx().free_buffers() < free_before; });
    REQUIRE(received);
    g_kept.emplace(std::move(server));
    g_kept_peer.emplace(std::move(client));
}

// ---------------------------------------------------------------------------------------------------- D2

int g_peer_fd = -1;

/// Created after the network context, so destroyed just before it: lets the peer read once, so that a send
/// stuck on the full window completes after the reactor's last reap and before the context cancels anything.
struct drain_peer_once final : reactor_extension {
    explicit drain_peer_once(reactor&) {}
    ~drain_peer_once() override {
        char buf[65536];
        while (::recv(g_peer_fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        }
    }
};

task<> linger_into_shutdown() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    g_peer_fd = raw_peer(l.local_address());
    connection server = co_await accepted;
    int size = 16 * 1024;
    REQUIRE(::setsockopt(server.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
    co_await server.output().write(std::string(512 << 10, 'x')); // under max_unsent: write does not wait
    co_await server.output().flush();
    server.close(); // lingers: a send is stuck on the peer's full window, more flushed bytes queued behind it
    (void)this_reactor().extension<drain_peer_once>();
    co_return;
}

// ---------------------------------------------------------------------------------------------------- linger

task<> linger_expires() {
    auto l = listener::listen(loopback_any_port());
    auto accepted = spawn(l.accept());
    const int peer = raw_peer(l.local_address());
    connection server = co_await accepted;
    const int before = count_fds();
    int size = 16 * 1024;
    REQUIRE(::setsockopt(server.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
    co_await server.output().write(std::string(512 << 10, 'x')); // under max_unsent: write does not wait
    co_await server.output().flush();
    server.close(); // the peer never reads: after close_linger the send is cancelled and the socket closed
    const bool closed = co_await wait_until([&] { return count_fds() == before - 1; }, 10s);
    CHECK(closed);
    CHECK(peer_sees_the_end(peer));
    ::close(peer);
}

// ---------------------------------------------------------------------------------------------------- item 6

task<> many_closes_in_one_pass() {
    auto l = listener::listen(loopback_any_port());
    std::vector<connection> servers;
    std::vector<connection> clients;
    for (int i = 0; i < 50; ++i) {
        auto accepted = spawn(l.accept());
        clients.push_back(co_await connect(l.local_address()));
        servers.push_back(co_await accepted);
        // An aborted read leaves a receive armed: closing then submits a cancel.
        const bool aborted = co_await abort_while_parked(spawn(read_once(servers.back().input())));
        REQUIRE(aborted);
    }
    const int before = count_fds();
    servers.clear(); // 50 cancels from one pass, through a 4-entry submission queue: get_sqe submits as it goes
    const bool closed = co_await wait_until([&] { return count_fds() == before - 50; });
    CHECK(closed);
    for (connection& c : clients) {
        const buffer b = co_await with_timeout(5s, read_once(c.input()));
        CHECK(b.empty()); // EOF: every server side is really closed
    }
}

} // namespace

TEST_SUITE("net/shutdown") {
    // Issue 10, item 6, end to end: closing connections (each cancels its receive) with the submission queue
    // full runs through get_sqe's full-queue path while completion handlers are live; nothing may run inside it.
    TEST_CASE("closing many connections in one pass through a tiny submission queue closes every one") {
        reactor_config rc = percore::test::reactor_config_for_tests();
        rc.ring_entries = 4;
        sync_wait(many_closes_in_one_pass(), rc);
    }

    // Review of issue 10 (D1): a stream state that outlived its shard walked its unread chain through the
    // network context, which was already freed (ASan: heap-use-after-free in ~stream_state); the ring buffers it
    // held were never given back, so the ring's memory leaked.
    TEST_CASE("a connection holding unread data, destroyed after its shard, frees its buffers safely") {
        sync_wait(keep_a_connection_with_unread_data(), percore::test::reactor_config_for_tests());
        REQUIRE(g_kept.has_value());
        g_kept_peer.reset();
        g_kept.reset(); // after the reactor: only the socket is left to close; the ring memory is freed now
    }

    // Review of issue 10 (D2): a lingering send that completed between the reactor's last reap and the context's
    // cancel started the next send, which nobody cancelled: a 5 s stall, then the connection was leaked (and in
    // debug builds its linger timer tripped the timer wheel's assertion).
    TEST_CASE("a connection lingering when its shard stops is closed, not leaked") {
        sync_wait(linger_into_shutdown(), percore::test::reactor_config_for_tests());
        CHECK(peer_sees_the_end(g_peer_fd));
        ::close(g_peer_fd);
    }

    TEST_CASE("a dropped connection whose peer never reads is closed once close_linger passes") {
        config c;
        c.close_linger = std::chrono::milliseconds(100);
        set_config(c);
        sync_wait(linger_expires(), percore::test::reactor_config_for_tests());
        set_config(config{});
    }
}

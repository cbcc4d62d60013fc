#include <optional>
#include <string>
#include <vector>

#include "net/connection.hh"
#include "net/detail/net_context.hh"
#include "net/listener.hh"
#include "runtime/spawn.hh"
#include "runtime/sync_wait.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
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

/// A connected pair over loopback.
struct socket_pair {
    listener l;
    connection client;
    connection server;
};

task<socket_pair> make_pair() {
    socket_pair p;
    p.l = listener::listen(loopback_any_port());
    auto accepted = spawn(p.l.accept());
    p.client = co_await connect(p.l.local_address());
    p.server = co_await accepted;
    co_return p;
}

/// One message from the client, received by the server into a ring buffer.
task<buffer> receive_one(socket_pair& p, std::string message) {
    co_await p.client.output().write(std::string_view(message));
    co_await p.client.output().flush();
    co_return co_await p.server.input().read();
}

std::optional<buffer> g_kept;

task<> keep_a_received_buffer() {
    socket_pair p = co_await make_pair();
    buffer b = co_await receive_one(p, "outlives the shard");
    REQUIRE(ctx().free_buffers() < ctx().buffers().count()); // it is a ring buffer
    g_kept = std::move(b);
}

/// Ends connections every way a receive can end: EOF, a peer reset, a dropped connection with a receive armed,
/// and an aborted read; some with data still unread.
task<> end_connections_every_way() {
    for (int i = 0; i < 40; ++i) {
        socket_pair p = co_await make_pair();
        buffer got = co_await receive_one(p, "payload " + std::to_string(i));
        CHECK(!got.empty());
        switch (i % 4) {
        case 0: { // EOF
            p.client.close();
            buffer eof = co_await with_timeout(5s, read_once(p.server.input()));
            CHECK(eof.empty());
            break;
        }
        case 1: { // reset, with a message unread on the server
            co_await p.client.output().write("unread");
            co_await p.client.output().flush();
            set_linger_zero(p.client.fd());
            p.client.close();
            break;
        }
        case 2: { // the server drops the connection while its receive is armed
            auto h = spawn(read_once(p.server.input()));
            co_await until_waiting(h);
            h.abort();
            co_await h.wait();
            (void)h.exception();
            break;
        }
        default: // the server drops it with data it never read
            co_await p.client.output().write("never read");
            co_await p.client.output().flush();
            break;
        }
    }
}

} // namespace

TEST_SUITE("net/recv_ring") {
    // Issue 10, item 9: the reference count was 16 bits, so the 65 536th share wrapped it and the buffer went
    // back to the kernel (to be overwritten by the next receive) while shares still pointed into it.
    RUNTIME_TEST_CASE("a ring buffer shared 70 000 times stays held until the last share is dropped") {
        socket_pair p = co_await make_pair();
        buffer b = co_await receive_one(p, "shared widely");
        const unsigned free_while_held = ctx().free_buffers();
        std::vector<buffer> shares;
        shares.reserve(70'000);
        for (int i = 0; i < 70'000; ++i) {
            shares.push_back(b.share());
        }
        b.reset();
        CHECK(ctx().free_buffers() == free_while_held);
        CHECK(shares.back().view() == "shared widely");
        shares.clear();
        CHECK(ctx().free_buffers() == free_while_held + 1);
    }

    // Issue 10, item 9: the network context unmapped the ring when its shard ended, although buffers could still
    // be held: reading one was a segfault.
    TEST_CASE("a received buffer kept after its shard's reactor is gone stays readable") {
        sync_wait(keep_a_received_buffer(), percore::test::reactor_config_for_tests());
        REQUIRE(g_kept.has_value());
        CHECK(g_kept->view() == "outlives the shard");
        g_kept.reset(); // the last holder frees the ring's memory (ASan checks that it is freed, once)
    }

    // Issue 10, item 9: a completion that carried a buffer without bytes (res <= 0) never gave it back.
    RUNTIME_TEST_CASE("every ring buffer comes back after connections end by EOF, reset, drop or abort") {
        const unsigned total = ctx().buffers().count();
        co_await end_connections_every_way();
        const bool all_back = co_await wait_until([&] { return ctx().free_buffers() == total; });
        CHECK(all_back);
        CHECK(ctx().free_buffers() == total);
    }
}

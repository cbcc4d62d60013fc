#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "net/connection.hh"
#include "net/server.hh"
#include "runtime/spawn.hh"
#include "runtime/when_all.hh"
#include "runtime/with_timeout.hh"
#include "shard/shard_id.hh"
#include "tests/net/net_test.hh"
#include "tests/support/sharded_test.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

/// Says which shard serves the connection (one byte), then echoes.
task<> tell_shard_then_echo(connection c) {
    const char id = static_cast<char>('0' + this_shard_id());
    co_await c.output().write(std::string_view(&id, 1));
    co_await c.output().flush();
    co_await echo_handler(std::move(c));
}

/// One client: \return the serving shard's digit, or 'X' if the echo did not come back intact.
task<char> shard_client(socket_address a, int i) {
    connection c = co_await connect(a);
    buffer id = co_await c.input().read_exactly(1);
    const std::string payload = random_bytes(static_cast<std::size_t>(5000 + 1000 * i), i);
    co_await c.output().write(std::string_view(payload));
    co_await c.output().close();
    std::string back = co_await read_all(c.input());
    co_return back == payload&& id.size() == 1 ? id[0] : 'X';
}

task<> serve_on_both_shards(accept_mode mode, std::size_t connections) {
    server srv({.address = loopback_any_port(), .mode = mode},
               [] { return connection_handler(&tell_shard_then_echo); });
    co_await srv.start();
    std::vector<task<char>> clients;
    for (std::size_t i = 0; i < connections; ++i) {
        clients.push_back(shard_client(srv.local_address(), static_cast<int>(i)));
    }
    std::vector<char> shards = co_await with_timeout(20s, when_all(std::move(clients)));
    int on[2] = {0, 0};
    int bad = 0;
    for (char s : shards) {
        if (s == '0' || s == '1') {
            ++on[s - '0'];
        } else {
            ++bad;
        }
    }
    CHECK(bad == 0);
    CHECK(on[0] > 0);
    CHECK(on[1] > 0);
    MESSAGE("shard 0 served ", on[0], ", shard 1 served ", on[1]);
    // The clients have their echo; the handlers end just after.
    server_stats s = co_await stats_when(srv, [](const server_stats& st) { return st.active == 0; });
    CHECK(s.accepted == connections);
    CHECK(s.failed == 0);
    co_await srv.stop();
}

task<> limit_over_shards() {
    server srv({.address = loopback_any_port(), .mode = accept_mode::handoff, .max_connections = 4},
               [] { return connection_handler(&echo_handler); });
    co_await srv.start();
    std::vector<connection> open;
    for (int i = 0; i < 10; ++i) {
        open.push_back(co_await connect(srv.local_address()));
    }
    server_stats s = co_await stats_when(srv, [](const server_stats& st) { return st.accepted + st.rejected == 10; });
    CHECK(s.accepted == 4);
    CHECK(s.rejected == 6);
    CHECK(s.active == 4);
    open.clear();
    co_await srv.stop();
}

/// max_connections = 2 over 2 shards: each shard admits its share (one). Handoff is round-robin, so the third
/// connection lands on shard 0 again and is refused while shard 0's first one is open, whatever shard 1 holds.
task<> limit_is_split_over_shards() {
    server srv({.address = loopback_any_port(), .mode = accept_mode::handoff, .max_connections = 2},
               [] { return connection_handler(&tell_shard_then_echo); });
    co_await srv.start();
    connection a = co_await connect(srv.local_address()); // shard 0
    connection b = co_await connect(srv.local_address()); // shard 1
    buffer ida = co_await with_timeout(5s, a.input().read_up_to(1));
    buffer idb = co_await with_timeout(5s, b.input().read_up_to(1));
    CHECK(ida.view() == "0");
    CHECK(idb.view() == "1");
    b.close();
    const server_stats after_close = co_await stats_when(srv, [](const server_stats& st) { return st.active == 1; });
    REQUIRE(after_close.active == 1);                     // shard 1 saw b go
    connection c = co_await connect(srv.local_address()); // shard 0 again: over its share
    buffer idc = co_await with_timeout(5s, c.input().read_up_to(1));
    CHECK(idc.empty());                                   // closed at once
    connection d = co_await connect(srv.local_address()); // shard 1: its slot was freed
    buffer idd = co_await with_timeout(5s, d.input().read_up_to(1));
    CHECK(idd.view() == "1");
    server_stats s = co_await srv.stats();
    CHECK(s.accepted == 3);
    CHECK(s.rejected == 1);
    a.close(); // their handlers end on their own: stop need not wait out the drain timeout
    d.close();
    co_await srv.stop();
}

} // namespace

TEST_SUITE("net/server across shards") {
    SHARDED_TEST_CASE(2, "reuse_port mode serves connections on both shards") {
        co_await serve_on_both_shards(accept_mode::reuse_port, 64);
    }

    SHARDED_TEST_CASE(2, "handoff mode spreads connections over both shards") {
        co_await serve_on_both_shards(accept_mode::handoff, 40);
    }

    SHARDED_TEST_CASE(2, "max_connections is shared among the shards in handoff mode") {
        co_await limit_over_shards();
    }

    SHARDED_TEST_CASE(2, "max_connections is split evenly: each shard refuses past its own share") {
        co_await limit_is_split_over_shards();
    }

    SHARDED_TEST_CASE(2, "a server left running is stopped at engine shutdown") {
        auto* srv = new server({.address = loopback_any_port()}, [] { return connection_handler(&echo_handler); });
        co_await srv->start();
        const bool ok = co_await with_timeout(10s, echo_round_trip(srv->local_address(), "x", 1));
        CHECK(ok);
        delete srv; // the shutdown hook keeps its state and stops it
    }
}

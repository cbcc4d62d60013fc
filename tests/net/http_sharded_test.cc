// http::server over several shards: each shard builds its own router, connections handed out reach both, and
// stop() closes the idle kept-alive connections of every shard (not only the one that called it).
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "net/connection.hh"
#include "net/http/server.hh"
#include "runtime/with_timeout.hh"
#include "shard/shard_id.hh"
#include "tests/net/http_client.hh"
#include "tests/net/net_test.hh"
#include "tests/support/sharded_test.hh"

using namespace percore;
using namespace percore::net;
using namespace percore::net::test;
using namespace std::chrono_literals;

namespace {

http::router shard_router() {
    const unsigned built_on = this_shard_id();
    http::router r;
    r.add(http::method::get, "/shard", [built_on](http::request&) -> task<http::response> {
        // The router answering was built on the shard serving the connection.
        co_return http::response::text(200, std::to_string(this_shard_id()) + "/" + std::to_string(built_on));
    });
    return r;
}

task<> serve_on_both_shards_then_stop() {
    http::server_options o;
    o.net.mode = accept_mode::handoff;
    o.net.drain_timeout = 30s; // a stop that waited for idle connections would show as a with_timeout failure
    http::server srv(o, shard_router);
    co_await srv.start();
    std::vector<connection> conns;
    std::set<std::string> answers;
    for (int i = 0; i < 8; ++i) {
        conns.push_back(co_await connect(srv.local_address()));
        co_await send_raw(conns.back(), "GET /shard HTTP/1.1\r\nHost: t\r\n\r\n");
        http_reader reader(conns.back());
        http_reply r = co_await reader.next();
        CHECK(r.status == 200);
        answers.insert(r.body);
    }
    CHECK(answers == std::set<std::string>{"0/0", "1/1"});
    co_await with_timeout(10s, srv.stop());
    for (connection& c : conns) {
        http_reader reader(c);
        CHECK(co_await reader.at_eof());
    }
}

} // namespace

TEST_SUITE("net/http_sharded") {
    SHARDED_TEST_CASE(2, "each shard routes its own connections, and stop() closes the idle ones everywhere") {
        co_await serve_on_both_shards_then_stop();
    }
}

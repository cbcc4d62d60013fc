/// \file
/// \brief `http::server`: HTTP/1.1 on `net::server`: keep-alive, pipelining, chunked bodies, 100-continue, HEAD,
/// limits and timeouts, a router per shard.
///
/// \code
/// http::server_options o;
/// o.net.address = net::socket_address::parse("127.0.0.1:8080");
/// o.limits.max_body_size = 8 * 1024 * 1024;
/// http::server srv(o, [] {                      // runs on every shard: each has its own router
///     http::router r;
///     r.add(http::method::get, "/hello", [](http::request&) -> task<http::response> {
///         co_return http::response::text(200, "Hello, World!\n");
///     });
///     return r;
/// });
/// co_await srv.start();
/// ...
/// co_await srv.stop();                          // idle keep-alive connections close at once, busy ones finish
/// \endcode
///
/// Per connection, requests are read and answered in order; the responses to a pipelined batch go out with one
/// send, when the server has to wait for more bytes. Request heads are parsed in place in the receive buffer.
/// Each violation of `limits` is answered with its status and a short body, then the connection is closed.
///
/// \shard_local start/stop/stats on the shard that made the server; handlers run on the connection's shard.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/connection.hh"
#include "net/http/limits.hh"
#include "net/http/router.hh"
#include "net/server.hh"
#include "runtime/task.hh"

namespace percore::net::http {

namespace detail {
struct shard_context;
}

struct server_options {
    /// Address (127.0.0.1:0 by default), accept mode, connection limit, drain timeout.
    net::server_options net{};
    http::limits limits{};
    /// The Server header's value ("" sends none).
    std::string server_name = "percore";
};

/// Serves HTTP on one connection until the client or a limit closes it: what `http::server` runs for each.
/// `r` and `o` must outlive the returned task. \shard_local
[[nodiscard]] task<> serve(connection c, const router& r, const server_options& o);

class server {
public:
    /// `make_router` runs once on every shard.
    server(server_options options, std::function<router()> make_router);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    /// Binds and starts accepting. \throws std::system_error naming the address
    [[nodiscard]] task<> start();
    /// Stops accepting, closes idle connections, lets requests in progress finish (up to drain_timeout).
    [[nodiscard]] task<> stop();
    /// The bound address. \pre started
    [[nodiscard]] const socket_address& local_address() const noexcept;
    /// Connection counters summed over the shards.
    [[nodiscard]] task<net::server_stats> stats();

private:
    /// Each shard's context (its router, its live sessions), indexed by shard id; owned by the handlers.
    std::shared_ptr<std::vector<detail::shard_context*>> _contexts;
    net::server _net;
    bool _stopped = false;
};

} // namespace percore::net::http

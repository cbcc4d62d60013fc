/// \file
/// \brief The /metrics endpoint: every shard's metrics in the Prometheus text format, and /healthz, over HTTP/1.1
/// (net/http), started by the engine flags --metrics-port / --metrics-address.
///
/// \code
/// int main(int argc, char** argv) {
///     percore::app app("percore-echo", "...");
///     percore::net::serve_metrics(app);      // --metrics-port N now serves http://127.0.0.1:N/metrics
///     return app.run(argc, argv, main_task);
/// }
/// \endcode
///
/// GET /metrics gathers one snapshot per shard over the bus (shard/gather_metrics.hh), so a scrape costs each
/// shard the time to copy its values, and nothing between scrapes. GET /healthz answers "ok" once every shard
/// has answered a no-op message (a wedged shard makes it time out). Its connections count under
/// `percore_net_connections_*{server="metrics"}`.
#pragma once

#include <memory>

#include "net/http/server.hh"
#include "net/socket_address.hh"
#include "runtime/task.hh"

namespace percore {
class app;
}

namespace percore::net {

class metrics_endpoint {
public:
    explicit metrics_endpoint(socket_address address);
    metrics_endpoint(const metrics_endpoint&) = delete;
    metrics_endpoint& operator=(const metrics_endpoint&) = delete;

    /// Binds (on every shard) and serves. \throws std::system_error naming the address \shard_local
    [[nodiscard]] task<> start();
    /// \shard_local
    [[nodiscard]] task<> stop();
    /// \pre started
    [[nodiscard]] const socket_address& local_address() const noexcept { return _http.local_address(); }

private:
    http::server _http;
};

/// Makes `a` serve /metrics when --metrics-port (or [metrics] port) is set: the endpoint starts before the
/// program's main task and stops after it.
void serve_metrics(app& a);

} // namespace percore::net

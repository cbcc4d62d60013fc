/// \file
/// \brief `server`: accepts connections on every shard and runs a handler for each on the shard that owns it.
///
/// \code
/// net::server srv({.address = net::socket_address::parse("127.0.0.1:7000"),
///                  .mode = net::accept_mode::reuse_port, .max_connections = 10000},
///                 [] { return [](net::connection c) -> percore::task<> { co_await serve(std::move(c)); }; });
/// co_await srv.start();       // binds (every shard, or shard 0 for handoff); throws on bind errors
/// ...
/// co_await srv.stop();        // stops accepting, lets connections finish, aborts them after drain_timeout
/// \endcode
///
/// Two ways to spread connections: `reuse_port` (a listener per shard on the same address, the kernel picks one
/// by the connection's hash: no cross-shard traffic) and `handoff` (shard 0 accepts and hands each socket to
/// the next shard round-robin over the bus: even spread whatever the hash, one bus message per connection).
/// A server started and not stopped is stopped at engine shutdown (a shutdown hook), so SIGTERM drains it.
///
/// \shard_local start/stop/stats run on the shard that made the server; handlers run on every shard.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/connection.hh"
#include "net/listener.hh"
#include "net/socket_address.hh"
#include "runtime/task.hh"

namespace percore::net {

enum class accept_mode {
    reuse_port, ///< a listener on every shard (SO_REUSEPORT)
    handoff,    ///< shard 0 accepts and hands sockets out round-robin
};

/// "reuseport" or "handoff". \throws std::invalid_argument
[[nodiscard]] accept_mode parse_accept_mode(std::string_view text);

struct server_options {
    socket_address address = socket_address::from_host_port("127.0.0.1", 0);
    accept_mode mode = accept_mode::reuse_port;
    listen_options listen{};
    /// Connections open at once over all shards. Shards share nothing, so each admits an equal share (the first
    /// ones one more when it does not divide) and closes a connection past its own share as soon as it is
    /// accepted, counting it: the total never exceeds the limit, but a shard may refuse while another has room.
    /// 0: no limit.
    std::size_t max_connections = 0;
    /// How long stop() lets open connections finish before it aborts their handlers.
    std::chrono::milliseconds drain_timeout{5000};
    /// The `server` label of this server's percore_net_connections_* metrics (give each server of a program its
    /// own).
    std::string name = "tcp";
};

using connection_handler = std::function<task<>(connection)>;

struct server_stats {
    std::uint64_t accepted = 0; ///< connections handed to the handler
    std::uint64_t rejected = 0; ///< closed at once: over max_connections
    std::uint64_t active = 0;   ///< handlers running now
    std::uint64_t failed = 0;   ///< handlers that ended with an exception (logged at debug level)
};

class server {
public:
    /// `make_handler` runs once on every shard and returns that shard's handler.
    server(server_options options, std::function<connection_handler()> make_handler);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    /// Binds and starts accepting. \throws std::system_error naming the address (EADDRINUSE...)
    task<> start();
    /// Stops accepting, waits up to drain_timeout for handlers to finish, aborts the rest. Idempotent.
    task<> stop();
    /// The bound address (the chosen port when the options asked for port 0). \pre started
    [[nodiscard]] const socket_address& local_address() const noexcept;
    /// Counters summed over the shards.
    [[nodiscard]] task<server_stats> stats();

    struct state;

private:
    std::shared_ptr<state> _state;
};

} // namespace percore::net

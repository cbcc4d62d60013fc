// percore-echo: a per-core TCP echo server.
//
//   percore-echo [--address 127.0.0.1] [--port 7000] [--max-connections N] [--idle-timeout-ms MS]
//                [--accept-mode reuseport|handoff] [engine flags: --shards, --cpuset, --metrics-port, ...]
//
// Every shard accepts (SO_REUSEPORT) or shard 0 hands connections out (handoff). SIGTERM or SIGINT: stop
// accepting, let open connections finish (--drain-timeout-ms), print the counters, exit 0. With --metrics-port,
// /metrics shows the runtime's metrics, the server's (server="echo") and percore_echo_*.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "apps/echo/echo_service.hh"
#include "net/config.hh"
#include "net/metrics_endpoint.hh"
#include "net/serve_until_signal.hh"
#include "net/server.hh"
#include "runtime/run.hh"
#include "shard/app.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace {

struct echo_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 7000;
    std::size_t max_connections = 0;
    unsigned idle_timeout_ms = 0;
    unsigned drain_timeout_ms = 5000;
    std::string accept_mode = "reuseport";
    percore::net::config net;
};

percore::task<int> run_echo(echo_options o) {
    using namespace percore;
    net::server_options so;
    so.address = net::socket_address::from_host_port(o.address, o.port);
    so.mode = net::parse_accept_mode(o.accept_mode);
    so.max_connections = o.max_connections;
    so.drain_timeout = std::chrono::milliseconds(o.drain_timeout_ms);
    so.name = "echo";
    co_await invoke_on_all([] { echo::register_metrics(); });
    const auto idle = std::chrono::milliseconds(o.idle_timeout_ms);
    net::server srv(so, [idle] { return [idle](net::connection c) { return echo::serve(std::move(c), idle); }; });
    co_await net::serve_until_signal(srv, "percore-echo", std::to_string(shard_count()) + " shards, " + o.accept_mode,
                                     "draining open ones");
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    percore::app app("percore-echo", "A per-core TCP echo server");
    percore::net::serve_metrics(app);
    echo_options o;
    auto& cli = app.cli();
    cli.add_option("--address", o.address, "IP address to listen on (loopback by default)")->capture_default_str();
    cli.add_option("--port", o.port, "TCP port (0: any free port)")->capture_default_str();
    cli.add_option("--max-connections", o.max_connections,
                   "connections open at once over all shards, each shard admitting an equal share; more are "
                   "closed at once and counted (0: no limit)")
        ->capture_default_str();
    cli.add_option("--idle-timeout-ms", o.idle_timeout_ms, "close a connection idle this long (0: never)")
        ->capture_default_str();
    cli.add_option("--drain-timeout-ms", o.drain_timeout_ms,
                   "on SIGTERM, how long open connections may finish before they are cut")
        ->capture_default_str();
    cli.add_option("--accept-mode", o.accept_mode,
                   "reuseport: every shard accepts; handoff: shard 0 accepts and hands connections out")
        ->check(CLI::IsMember({"reuseport", "handoff"}))
        ->capture_default_str();
    cli.add_option("--recv-buffers", o.net.recv_buffers, "receive ring buffers per shard (a power of two)")
        ->capture_default_str();
    cli.add_option("--recv-buffer-size", o.net.recv_buffer_size, "bytes per receive buffer (a multiple of 64)")
        ->capture_default_str();
    return app.run(argc, argv, [&]() -> percore::task<int> {
        try {
            // Other shards read it when they first open a socket: after the bus messages of srv.start().
            percore::net::set_config(o.net);
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "percore-echo: %s\n", e.what());
            co_return 2;
        }
        co_return co_await run_echo(o);
    });
}

/// \file
/// \brief `app`: the usual main() of a percore program: command line and config file, shard plan, engine.
///
/// \code
/// int main(int argc, char** argv) {
///     percore::app app("percore-echo", "per-core echo server");
///     std::uint16_t port = 7000;
///     app.cli().add_option("--port", port, "TCP port");
///     return app.run(argc, argv, [&]() -> percore::task<int> { co_return co_await serve(port); });
/// }
/// \endcode
///
/// Every app gets the engine flags (--shards, --cpuset, --placement, --config FILE, --print-topology, --log-level,
/// --log-format, --metrics-port, ... see shard/config.hh). Errors in them are printed with the bad value and the app
/// exits 2 without starting.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/task.hh"
#include "shard/config.hh"

namespace percore {

class app {
public:
    app(std::string name, std::string description);
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    /// Add the program's own options here before run().
    CLI::App& cli() noexcept { return _cli; }

    /// Parses the command line, plans the shards, starts them and runs `main` on shard 0. \return the exit code:
    /// main's, 0 after --help or --print-topology, 2 for a bad command line or config. \blocking
    int run(int argc, char** argv, std::function<task<int>()> main);

    /// The resolved configuration, valid inside `main`.
    [[nodiscard]] const engine_config& config() const noexcept { return _config; }

    /// What serves /metrics when --metrics-port is set: it runs on shard 0 in place of `main`, around it
    /// (net::serve_metrics(app) installs net's HTTP endpoint). Without one, run() refuses --metrics-port.
    using metrics_service = std::function<task<int>(const engine_config&, std::function<task<int>()> main)>;
    void set_metrics_service(metrics_service service) { _metrics_service = std::move(service); }

private:
    std::string _name;
    CLI::App _cli;
    engine_options _options;
    engine_config _config;
    metrics_service _metrics_service;
};

} // namespace percore

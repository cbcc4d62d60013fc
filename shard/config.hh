/// \file
/// \brief Engine configuration: shard placement, reactor tuning, task queues, from a TOML file and command-line
/// flags (flags override the file).
///
/// \code
/// # percore.toml
/// [shards]
/// count = "auto"          # or a number; "auto" = one per physical core (or hardware thread)
/// cpuset = "0-3,6"
/// placement = "core"      # "core" | "thread"
/// overprovision = false
/// numa_bind = true
///
/// [reactor]
/// task_quota_us = 500
/// idle_poll_us = 20
/// reply_poll_us = 200     # idle polling while cross-shard replies are awaited
/// stall_threshold_ms = 25  # 0 disables the stall detector
///
/// [task_queues.background]
/// shares = 200
/// latency_sensitive = false
///
/// [log]
/// level = "info,net=debug"   # default level, then per-component levels
/// format = "json"            # or "text"
///
/// [metrics]
/// address = "127.0.0.1"
/// port = 9100                # 0 (default): no /metrics endpoint
/// \endcode
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/log.hh"
#include "runtime/reactor.hh"
#include "runtime/task_queue.hh"
#include "shard/cpuset.hh"
#include "shard/placement.hh"

namespace CLI {
class App;
}

namespace percore {

struct engine_config {
    placement_request placement;
    bool numa_bind = true;
    reactor_config reactor;
    /// Created on every shard at start, looked up with find_task_queue(name).
    std::vector<task_queue_config> task_queues;
    /// Messages in flight per (source, target) pair before submit_to waits.
    unsigned bus_max_in_flight = 256;
    unsigned blocking_threads = 4;
    /// Default and per-component log levels ("info,net=debug"); unset: the environment's or info.
    std::optional<log_levels> log;
    /// Text or JSON lines; unset: PERCORE_LOG_FORMAT or text.
    std::optional<percore::log_format> log_format;
    /// The /metrics and /healthz endpoint (net/metrics_endpoint.hh): port 0 keeps it off.
    std::string metrics_address = "127.0.0.1";
    std::uint16_t metrics_port = 0;
};

/// Parses TOML text. \throws config_error naming the source, line and key (syntax error, unknown key, bad value).
engine_config parse_engine_config(std::string_view toml_text, std::string_view source_name, engine_config base = {});

/// Reads and parses a TOML file. \throws config_error (also when the file cannot be read).
engine_config load_engine_config(const std::string& path, engine_config base = {});

/// The engine's command-line flags, registered on a CLI11 app. After parsing, resolve() applies them on top of
/// the file named by --config (if any).
class engine_options {
public:
    explicit engine_options(CLI::App& app);
    engine_options(const engine_options&) = delete;
    engine_options& operator=(const engine_options&) = delete;

    /// \throws config_error for bad values or a bad config file.
    [[nodiscard]] engine_config resolve() const;
    [[nodiscard]] bool print_topology() const noexcept { return _print_topology; }

private:
    std::string _config_file;
    std::string _shards;
    std::string _cpuset;
    std::string _placement;
    bool _overprovision = false;
    bool _numa_bind = true;
    bool _numa_bind_given = false;
    long _task_quota_us = -1;
    long _idle_poll_us = -1;
    long _reply_poll_us = -1;
    long _stall_threshold_ms = -1;
    long _ring_entries = -1;
    long _bus_max_in_flight = -1;
    long _blocking_threads = -1;
    std::string _log_level;
    std::string _log_format;
    std::string _metrics_address;
    long _metrics_port = -1;
    std::vector<std::string> _task_queues;
    bool _print_topology = false;
};

/// Parses "name=shares" or "name=shares:latency" (the --task-queue flag). \throws config_error
task_queue_config parse_task_queue_flag(std::string_view text);

/// Parses a shard count: "auto" (nullopt) or a positive number. \throws config_error
std::optional<unsigned> parse_shard_count(std::string_view text);

} // namespace percore

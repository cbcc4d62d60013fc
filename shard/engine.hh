/// \file
/// \brief The engine: N shards, each a thread pinned to its CPU with its own reactor, joined by the bus.
///
/// \code
/// percore::engine_config cfg;                       // or engine_options / a TOML file
/// cfg.placement.shards = 4;
/// int code = percore::run_engine(cfg, [] -> percore::task<int> {
///     co_await percore::invoke_on_all([] { std::printf("hello from shard %u\n", percore::this_shard_id()); });
///     co_return 0;
/// });
/// \endcode
///
/// Shard 0 runs on the calling thread and runs `main`. When main ends (or SIGINT/SIGTERM aborts it), shard 0 runs
/// its shutdown hooks (reverse order of registration), tells the other shards to stop (they run theirs), then
/// every shard aborts its remaining tasks and keeps serving the bus until all shards are quiet at once, so no
/// message in flight is lost or left dangling. Then the threads join and run_engine returns main's exit code.
#pragma once

#include <functional>
#include <vector>

#include "runtime/task.hh"
#include "shard/config.hh"
#include "shard/placement.hh"
#include "shard/topology.hh"

namespace percore {

/// Starts the shards of `plan` and runs `main` on shard 0. \return main's exit code (128 + signal after a stop
/// signal; 1 if a shard could not start, after printing why). \blocking
int run_engine(const engine_config& config, const topology& machine, const std::vector<shard_placement>& plan,
               std::function<task<int>()> main);

/// Same, planning the shards from `config` on the discovered machine. \throws config_error for an impossible plan.
int run_engine(const engine_config& config, std::function<task<int>()> main);

} // namespace percore

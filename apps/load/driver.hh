/// \file
/// \brief `run_load`: percore-load's coordinator on shard 0. Connects every shard's share of the connections,
/// fixes the run's timeline, prints a progress line each second while the shards drive their connections, then
/// merges the shards' histograms and prints the summary.
#pragma once

#include "apps/load/options.hh"
#include "runtime/task.hh"

namespace percore::load {

/// Runs the whole load test. \return the exit status: 0, 1 when a connection could not be opened or any message
/// failed, 2 for options that cannot work together. \shard_local on shard 0, inside percore::app::run
[[nodiscard]] task<int> run_load(load_options options);

} // namespace percore::load

/// \file
/// \brief Gathers every shard's metrics over the bus (submit_to, no shared state) and formats them for Prometheus.
///
/// \code
/// std::string body = co_await percore::gather_prometheus_text();   // from any shard
/// \endcode
#pragma once

#include <string>
#include <vector>

#include "runtime/metrics/snapshot.hh"
#include "runtime/task.hh"

namespace percore {

/// One snapshot per shard, in shard order; each is taken on its own shard. \shard_local
task<std::vector<metrics::shard_snapshot>> gather_metrics();

/// gather_metrics() in the Prometheus text format 0.0.4 (metrics/exposition.hh). \shard_local
task<std::string> gather_prometheus_text();

} // namespace percore

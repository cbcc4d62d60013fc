/// \file
/// \brief percore-kv's metrics, per shard, read from the counters INFO already keeps (nothing counted twice):
/// percore_kv_commands_total{command}, percore_kv_keys, percore_kv_keys_with_expiry,
/// percore_kv_expired_keys_total, percore_kv_evicted_keys_total, percore_kv_keyspace_hits_total,
/// percore_kv_keyspace_misses_total, percore_kv_used_memory_bytes, percore_kv_connected_clients,
/// percore_kv_connections_received_total, percore_kv_connections_rejected_total.
///
/// Persistence (or any later subsystem) adds its own series through `shard_state::extra_metrics`, e.g.
/// \code
/// st.extra_metrics = [&log](metrics::sample_sink& out) {
///     out.gauge("percore_kv_persistence_enabled", "Whether writes go to the log", {}, 1);
/// };
/// \endcode
#pragma once

#include "runtime/metrics/registry.hh"

namespace percore::kv {

class shard_state;

/// Registers the collector of `st` on the calling shard's registry. \shard_local
[[nodiscard]] metrics::registration register_kv_metrics(shard_state& st);

} // namespace percore::kv

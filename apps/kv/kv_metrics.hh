/// \file
/// \brief percore-kv's metrics, per shard, read from the counters INFO already keeps (nothing counted twice):
/// percore_kv_commands_total{command}, percore_kv_keys, percore_kv_keys_with_expiry,
/// percore_kv_expired_keys_total, percore_kv_evicted_keys_total, percore_kv_keyspace_hits_total,
/// percore_kv_keyspace_misses_total, percore_kv_used_memory_bytes, percore_kv_connected_clients,
/// percore_kv_connections_received_total, percore_kv_connections_rejected_total; persistence as INFO persistence
/// has it: percore_kv_aof_enabled, percore_kv_aof_last_write_ok, percore_kv_aof_size_bytes,
/// percore_kv_aof_{records,commands,writes,fsyncs,failed_appends}_total, percore_kv_snapshot_in_progress,
/// percore_kv_snapshot_last_ok, percore_kv_snapshot_last_success_timestamp_seconds, percore_kv_snapshots_total.
///
/// \code
/// auto registration = register_kv_metrics(st); // on each shard; /metrics gathers them with shard="N"
/// \endcode
#pragma once

#include "runtime/metrics/registry.hh"

namespace percore::kv {

class shard_state;

/// Registers the collector of `st` on the calling shard's registry. \shard_local
[[nodiscard]] metrics::registration register_kv_metrics(shard_state& st);

} // namespace percore::kv

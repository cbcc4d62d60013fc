/// \file
/// \brief INFO [section ...]: Redis's sections (server, clients, memory, persistence, stats, replication, cpu,
/// modules, cluster, keyspace) with the fields percore-kv can truly fill, and a `shards` section: one line per
/// shard.
#pragma once

#include <cstdint>
#include <string>

#include "apps/kv/command.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// INFO: gathers every shard's counters and replies the text (RESP3: a verbatim string, as Redis).
task<> info_command(sharded<shard_state>& shards, argv_t argv, resp::reply_writer& out);

/// CONFIG RESETSTAT's part: zeroes this shard's counters (the keyspace's, from now on). \shard_local
void reset_stats(shard_state& st);

/// Bytes as Redis prints them for humans: "512B", "1.50K", "23.54G".
[[nodiscard]] std::string human_bytes(std::uint64_t n);

} // namespace percore::kv

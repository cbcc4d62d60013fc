/// \file
/// \brief BGSAVE, BGREWRITEAOF and LASTSAVE: snapshots of every shard (shard_snapshots.hh), as Redis's commands.
///
/// Both BGSAVE and BGREWRITEAOF start the same thing on every shard: a point-in-time snapshot of its keyspace
/// that becomes its log's new base (there is no separate RDB file: the log starts with the snapshot).
#pragma once

#include "apps/kv/command.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// BGSAVE [SCHEDULE] and BGREWRITEAOF: `rewrite` picks the replies of the latter. \shard_local
task<> start_snapshots(sharded<shard_state>& shards, argv_t argv, bool rewrite, resp::reply_writer& out);
/// LASTSAVE: when every shard last completed a snapshot (the server's start until each has). \shard_local
task<> lastsave(sharded<shard_state>& shards, resp::reply_writer& out);

} // namespace percore::kv

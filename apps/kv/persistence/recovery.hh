/// \file
/// \brief Start-up recovery of every shard's log, in parallel, with multi-shard writes applied all or nothing.
///
/// Two passes: every shard reads its log for the transaction records it holds (cutting a torn tail, refusing
/// corruption unless --repair-log); shard 0 gathers them and keeps the transactions every participant holds;
/// then every shard replays its log through the command table, skipping the others. Prints, per shard, the keys
/// loaded, the records and the time, and what a torn tail or a repair cost.
///
/// \code
/// if (int code = co_await recover_shards(shards, settings); code != 0) { co_return code; }
/// \endcode
#pragma once

#include "apps/kv/settings.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

class shard_state;

/// Recovers and opens every shard's log under `s.dir`. \return 0, or the exit status after a message on stderr
/// (corruption naming the file and offset, an unreadable directory). \shard_local (shard 0, at start)
task<int> recover_shards(sharded<shard_state>& shards, const settings& s);

/// Opens every shard's log as a snapshot of what it holds now (CONFIG SET appendonly yes).
task<> start_logs_from_memory(sharded<shard_state>& shards, settings s);

} // namespace percore::kv

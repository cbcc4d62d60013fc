/// \file
/// \brief Commands whose keys live on several shards, made atomic with per-shard locks taken in shard order.
///
/// A multi-shard operation takes `shard_state::lock` on every shard it touches, in ascending shard order
/// (exclusive to write, shared to read), does its work there, then releases them all. Batches of ordinary commands
/// take the same lock for their (synchronous) duration, so while an operation holds a shard nobody else reads or
/// writes there: no reader sees half of an MSET, MULTI/EXEC or RENAME, and a reader holding shard A's lock while it
/// waits for shard B's keeps any writer of both out. Taking the locks in one global order rules out deadlock.
///
/// MGET, MSET, MSETNX, DEL, UNLINK, EXISTS and TOUCH split their keys by shard and merge the results. Any other
/// keyed command (RENAME, COPY, set algebra...) gathers copies of its keys' values from their shards into a
/// scratch keyspace, runs there unchanged, and writes back the keys it changed.
#pragma once

#include <vector>

#include "apps/kv/command.hh"
#include "apps/kv/shard_state.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// The locks of one multi-shard operation. Acquisition and release run to their end even if the task is aborted.
class shard_lock_set {
public:
    explicit shard_lock_set(sharded<shard_state>& shards) noexcept
        : _shards(shards) {}
    shard_lock_set(const shard_lock_set&) = delete;
    shard_lock_set& operator=(const shard_lock_set&) = delete;
    /// Locks still held (an exception between acquire() and release()) are released by one-way messages: a
    /// shard is never left locked for good.
    ~shard_lock_set();

    /// Takes the lock of every shard in `shards` (any order, duplicates allowed), in ascending order. Exclusive
    /// locks start a transaction of the shard logs: what the operation changes on each shard is logged as one
    /// part of a multi-shard record.
    task<> acquire(std::vector<unsigned> shards, bool exclusive);
    /// Releases the locks. After exclusive ones, first makes the transaction durable: each shard that changed
    /// appends its part (txn id + participants) and the locks go once every part is acknowledged under the
    /// policy (so nothing reads the transaction's result before it is durable, and an incomplete transaction is
    /// the last record of every log holding a part). durable() then says whether it worked.
    task<> release();
    /// False if a part of the transaction could not be made durable (a shard's log failed: -MISCONF).
    [[nodiscard]] bool durable() const noexcept { return _durable; }
    [[nodiscard]] bool holds(unsigned shard) const noexcept;
    [[nodiscard]] const std::vector<unsigned>& held() const noexcept { return _held; }

private:
    sharded<shard_state>& _shards;
    std::vector<unsigned> _held;
    bool _exclusive = false;
    bool _durable = true;
};

/// Whether any of `on` refuses writes (-MISCONF); \return its error text, or "".
task<std::string> misconf_on(sharded<shard_state>& shards, const std::vector<unsigned>& on);
/// The error for a write that could not be made durable: `misconf` (a shard's MISCONF text) or a generic one.
[[nodiscard]] std::string not_durable_error(std::string misconf);

/// The owning shard of each of `argv`'s keys (in key order) and the sorted set of shards.
void shards_of_keys(const command_spec& spec, argv_t argv, std::vector<std::size_t>& key_pos,
                    std::vector<unsigned>& owners, std::vector<unsigned>& involved);

/// maxmemory for an operation that writes on several shards, as `shard_state::execute_one` does for one: makes
/// room on each of `shards` (allkeys-lru) or finds it has none (noeviction). \return whether all have room
task<bool> make_room_on(sharded<shard_state>& shards, const std::vector<unsigned>& on);

/// Runs `spec` (a keyed command whose keys live on several shards), writing its reply to `out`. Takes the locks
/// itself, unless `held` (EXEC) already holds every shard involved.
task<> run_cross_shard(sharded<shard_state>& shards, const command_spec& spec, argv_t argv, resp::reply_writer& out,
                       shard_lock_set* held);

} // namespace percore::kv

/// \file
/// \brief `snapshot_writer`: writes one shard's keyspace, as of one instant, into its log's compaction while the
/// shard goes on serving (no fork, no copy of the keyspace).
///
/// \code
/// snapshot_writer w(state.db, {.pending_limit = 4 << 20});
/// co_await w.run(log);     // the cut, the walk, commit: obsolete segments go once the snapshot is durable
/// // meanwhile, before running a batch:  if (w.over_limit()) co_await w.wait_for_room();
/// \endcode
///
/// How: run() calls keyspace::begin_snapshot() and append_log::begin_compaction() with no suspension between them,
/// so the cut in the keyspace (every key present now is "unsaved") and the cut in the log (records appended from
/// now on go after the snapshot) are the same instant. The walk then saves unsaved keys a few buckets per step and
/// yields; a command that is about to change or delete an unsaved key saves its value first (keyspace.hh,
/// "Snapshots"). Keys are serialized as commands (key_records.hh) into `pending` records, which run() writes out.
///
/// Memory bound: `pending` holds the records waiting to be written. The walk stops stepping while it holds
/// `pending_limit` bytes or more; the shard's batches wait (wait_for_room()) before they run while it does. So it
/// never exceeds pending_limit + the records of one walk step (`keys_per_step` keys) or of the keys one batch
/// touches, each key's records being about its value's size. The log's file_writer buffer comes on top.
///
/// Invariants
/// - Shard-local. One per running snapshot; the keyspace points at it from begin_snapshot() to end_snapshot().
/// - A walk, once begun, runs to its end even when writing failed (its records are then dropped): the keyspace's
///   per-key flags must all be "saved" again before the next snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "apps/kv/keyspace.hh"
#include "runtime/sync/condition_variable.hh"
#include "runtime/task.hh"
#include "storage/append_log.hh"

namespace percore::kv {

struct snapshot_options {
    /// Bytes of records waiting to be written past which the walk pauses and the shard's writes wait.
    std::size_t pending_limit = std::size_t{4} << 20;
    /// Keys (about) saved per walk step before the walk yields.
    std::size_t keys_per_step = 256;
};

struct snapshot_stats {
    std::uint64_t keys = 0;       ///< keys saved
    std::uint64_t by_writes = 0;  ///< of which saved by the write hook before the walk reached them
    std::uint64_t records = 0;    ///< records written
    std::uint64_t bytes = 0;      ///< payload bytes written (the snapshot's size, framing aside)
    std::size_t peak_pending = 0; ///< largest `pending` seen, in bytes
    std::uint64_t waits = 0;      ///< batches that waited for room
};

class snapshot_writer final : public keyspace::key_saver {
public:
    snapshot_writer(keyspace& db, snapshot_options options);
    ~snapshot_writer();
    snapshot_writer(const snapshot_writer&) = delete;
    snapshot_writer& operator=(const snapshot_writer&) = delete;

    /// Takes the snapshot and makes it the base of `log`. \throws what the log raised; the snapshot is then
    /// abandoned and the log keeps its old segments. \shard_local
    task<> run(storage::append_log& log);

    /// Whether the shard's commands should wait before running (pending is at its limit).
    [[nodiscard]] bool over_limit() const noexcept { return _pending_bytes >= _options.pending_limit; }
    /// Returns once pending is below its limit (or the snapshot is over). \shard_local
    task<> wait_for_room();

    /// Makes run() give up soon (shutdown): the walk finishes without writing and the snapshot is abandoned.
    void cancel() noexcept { _cancelled = true; }

    [[nodiscard]] const snapshot_stats& stats() const noexcept { return _stats; }
    [[nodiscard]] std::size_t pending_bytes() const noexcept { return _pending_bytes; }

    void save(std::string_view key, const object& value, std::int64_t expiry_ms) override;

private:
    void drop_pending() noexcept;

    keyspace& _db;
    snapshot_options _options;
    std::deque<std::string> _pending; ///< records to write; small keys share one, up to snapshot_chunk_bytes
    std::deque<std::string> _scratch; ///< one key's records on their way to `_pending`
    std::size_t _pending_bytes = 0;
    bool _in_step = false; ///< saves come from the walk, not from the write hook
    bool _discard = false; ///< writing failed: the walk finishes without keeping records
    bool _over = false;
    bool _cancelled = false;
    condition_variable _room;
    snapshot_stats _stats;
};

} // namespace percore::kv

/// \file
/// \brief `shard_snapshots`: one shard's snapshots of its keyspace into its log: BGSAVE and BGREWRITEAOF start
/// one, the automatic rewrite starts one when the log has grown enough, and INFO and LASTSAVE read their state.
///
/// \code
/// if (!st.snapshots.start(st)) { /* one is running already, or no log */ }
/// st.snapshots.maybe_rewrite(st);                 // the shard's timer: Redis's auto-aof-rewrite rule
/// if (st.snapshots.over_limit()) co_await st.snapshots.wait_for_room();   // before a batch runs
/// co_await st.snapshots.stop();                   // shutdown: waits for the running one
/// \endcode
///
/// A snapshot (snapshot_writer.hh) becomes the log's new base: once it is durable, the segments before its cut
/// are removed. The cut is taken under the shard's exclusive lock after every record of what the shard already
/// applied has been handed to the log, so no command is both in the snapshot and after the cut (a multi-shard
/// write holds that lock until its record is durable).
///
/// Invariants
/// - Shard-local; at most one snapshot per shard at a time; `_writer` lives until the next one starts (INFO).
#pragma once

#include <cstdint>
#include <memory>

#include "apps/kv/snapshot/snapshot_writer.hh"
#include "runtime/sync/condition_variable.hh"
#include "runtime/sync/gate.hh"
#include "runtime/task.hh"

namespace percore::kv {

class shard_state;

/// What INFO persistence and LASTSAVE show of one shard's snapshots.
struct snapshot_status {
    bool in_progress = false;
    bool scheduled = false;            ///< another one starts when this one ends (BGSAVE SCHEDULE)
    bool last_ok = true;               ///< the last snapshot succeeded (or none ran)
    std::int64_t last_save_unix = 0;   ///< when the last successful one finished (s since the epoch; 0: none)
    std::int64_t last_duration_s = -1; ///< how long the last one took (-1: none)
    std::int64_t current_start_ms = 0; ///< when the running one started
    std::uint64_t saves = 0;           ///< successful snapshots
    std::uint64_t last_bytes = 0;      ///< payload bytes of the last successful one
    std::uint64_t last_keys = 0;
    std::size_t last_peak_pending = 0; ///< the largest pending buffer of the last one, bytes
};

class shard_snapshots {
public:
    /// Starts a snapshot of `st` into its log, in the background. \return false if one is running, or the shard
    /// has no log, or its log refuses writes (MISCONF). \shard_local
    bool start(shard_state& st);
    /// The automatic rewrite (Redis's auto-aof-rewrite-min-size and -percentage): starts one when the log is
    /// past min_size and has grown by percentage since its base. \return whether it started one \shard_local
    bool maybe_rewrite(shard_state& st);
    [[nodiscard]] bool running() const noexcept { return _status.in_progress; }
    /// BGSAVE SCHEDULE while one runs: another starts when it ends.
    void schedule() noexcept { _status.scheduled = true; }

    /// Whether batches should wait before they run (the running snapshot's pending records are at their limit).
    [[nodiscard]] bool over_limit() const noexcept { return _writer && _status.in_progress && _writer->over_limit(); }
    task<> wait_for_room();

    [[nodiscard]] const snapshot_status& status() const noexcept { return _status; }
    /// The running (or last) snapshot's counters, if any.
    [[nodiscard]] const snapshot_writer* writer() const noexcept { return _writer.get(); }
    /// Cancels the running snapshot, if any, and waits until it is over (the log is about to close or reopen:
    /// the snapshot's compaction refers to it). Later ones may start. \shard_local
    task<> interrupt();
    /// interrupt(), and no new one starts after. \shard_local
    task<> stop();

private:
    task<> run(shard_state& st, gate::holder hold);

    std::unique_ptr<snapshot_writer> _writer;
    snapshot_status _status;
    /// After a failed snapshot, the automatic rewrite waits this long before it tries again (a full disk would
    /// otherwise start one every tick); BGSAVE is not held back.
    static constexpr std::int64_t auto_retry_delay_ms = 10'000;
    std::int64_t _retry_after_ms = 0;
    bool _cancel = false;   ///< the running one should give up (interrupt(), stop())
    bool _past_cut = false; ///< the running one took its cut: its compaction refers to the log
    condition_variable _finished;
    gate _gate;
};

} // namespace percore::kv

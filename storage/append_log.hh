/// \file
/// \brief `append_log`: a durable, ordered log of byte records in a directory of segment files, with group
/// commit, three durability policies, rotation, compaction and crash recovery.
///
/// \code
/// using namespace percore::storage;
/// auto log = co_await append_log::open(dir, {.policy = durability::always}, [&](std::span<const std::byte> r) {
///     state.apply(r);                              // replay, in order, at open
/// });
/// co_await log->append(bytes);                     // returns once the record is durable (one fdatasync per pass)
/// auto c = co_await log->begin_compaction();       // the cut: later appends go after the snapshot
/// for (auto& rec : state.snapshot()) { co_await c.add(rec); }
/// co_await c.commit();                             // rename + directory fsync, older segments removed
/// co_await log->close();
/// \endcode
///
/// Invariants
/// - Everything is shard-local: the log, its batches and its flusher fiber belong to the shard that opened it.
/// - Batches: appends copy their framed record into the *gathering* batch and wait on it. The flusher fiber takes
///   batches in id order and runs at most one write (+ fdatasync) at a time; while it runs, the next batch
///   gathers. A batch is freed (back to the pool, its buffer's capacity kept) when the log and every appender
///   waiting on it have let go of it (`refs`).
/// - Acknowledgement: an append returns when its batch is *finished*: under `always` after the fdatasync that
///   covers it completed; under `everysec` and `no` after its write completed (everysec syncs every
///   sync_interval; `no` leaves it to the kernel, to sync() and to close()).
/// - Sync markers: a batch starts with a sync marker (sync_marker.hh) filled in by the flusher just before the
///   write: the segment, the batch's offset, and `_synced_size`, the bytes of the segment that a *completed*
///   fdatasync covered by then. It travels in the batch's own write (no extra write or sync); recovery uses the
///   markers to tell a torn tail from corruption (log_recovery.hh, why-sync-markers.md).
/// - Segments: the active segment is the only file written. Before a batch goes to a new segment, every byte of
///   the old one is synced and the new file's directory entry is synced, so a record is never acknowledged in a
///   segment whose name could vanish, and only the newest segment can have a torn tail.
/// - Write failure (ENOSPC, EIO from write): the batch's appends fail, the segment is truncated back to the size
///   before the batch, and the log goes on; if that truncation fails, the log fails as below. The truncation
///   counts as unsynced: the next fdatasync (a batch's under always, a rotation's, sync(), close()) covers it,
///   so the failed bytes cannot come back after a power cut in a segment that is no longer the last.
/// - Sync failure: the kernel may have dropped the dirty pages it could not write and will not report it again,
///   so a retried fdatasync would succeed and lie. The covered appends fail, and the log turns *failed*: every
///   later append, sync and compaction raises the same error. close() and reopen (recovery) to go on from what is
///   on disk.
/// - Compaction: begin_compaction() seals the gathering batch; batches up to it go to the old segments, later
///   ones to a segment numbered above the snapshot. commit() waits for the old batches, syncs the snapshot,
///   renames it into place, syncs the directory, then removes the older segments.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/clock.hh"
#include "runtime/metrics/registry.hh"
#include "runtime/sync/condition_variable.hh"
#include "runtime/sync/event.hh"
#include "runtime/sync/gate.hh"
#include "runtime/task.hh"
#include "runtime/timer.hh"
#include "storage/file.hh"
#include "storage/file_stream.hh"
#include "storage/log_recovery.hh"

namespace percore::storage {

enum class durability : std::uint8_t {
    always,   ///< an append returns once it is on stable storage (group commit: one fdatasync per batch)
    everysec, ///< an append returns once written; an fdatasync every sync_interval (~1 s of loss at most)
    no,       ///< an append returns once written; the kernel decides when it reaches the disk
};

struct log_options {
    durability policy = durability::always;
    /// A new segment is started when a batch would take the active one past this size (a segment always takes
    /// at least one batch, so it can be larger).
    std::uint64_t segment_size = std::uint64_t{64} << 20;
    /// Largest payload append() accepts; recovery refuses longer lengths as corruption.
    std::size_t max_record_size = std::size_t{16} << 20;
    /// A batch is sealed once it holds this many bytes: the largest write the log issues (a single record may
    /// exceed it). Memory stays bounded by what the appenders in flight hold, since each waits for its batch.
    std::size_t max_batch_bytes = std::size_t{4} << 20;
    /// How often `everysec` syncs.
    duration sync_interval = std::chrono::seconds(1);
    /// Reserve segment blocks ahead of the writes (fallocate KEEP_SIZE, 16 MiB at a time), so that a sync does
    /// not have to journal a block allocation for every batch.
    bool preallocate = true;
    /// Recovery keeps the valid prefix of a log damaged before its tail instead of refusing to open it.
    bool repair = false;
};

/// Counters, for tests and benchmarks.
struct log_stats {
    std::uint64_t appends = 0;     ///< records acknowledged
    std::uint64_t batches = 0;     ///< batches written (write calls of whole batches)
    std::uint64_t syncs = 0;       ///< fdatasync calls on segments
    std::uint64_t rotations = 0;   ///< segments started after the first
    std::uint64_t compactions = 0; ///< snapshots committed
    std::uint64_t failed_appends = 0;
    std::uint64_t bytes_written = 0; ///< by batch writes (records, framing and sync markers)
};

class append_log;

/// A snapshot being written by begin_compaction()'s caller. Commit or abandon it; dropping it abandons it (the
/// temporary file is removed by the next recovery). \shard_local
class log_compaction {
public:
    log_compaction(log_compaction&& o) noexcept;
    log_compaction& operator=(log_compaction&&) noexcept = delete;
    ~log_compaction();

    /// Adds one record of the live state to the snapshot.
    task<> add(std::span<const std::byte> payload);
    /// Makes the snapshot the base of the log: sync, rename, directory sync, old segments removed.
    task<> commit();
    /// Gives up: removes the temporary file. The log is unchanged (but for the segment boundary).
    task<> abandon();

private:
    friend class append_log;
    log_compaction(append_log& log, std::uint64_t seq, std::uint64_t last_old_batch);
    task<> open_file();
    task<> remove_temporary();

    append_log* _log;
    std::uint64_t _seq;
    std::uint64_t _last_old_batch;
    std::string _tmp_path;
    std::unique_ptr<file> _file;
    std::unique_ptr<file_writer> _writer;
    std::vector<std::byte> _frame;
    bool _done = false;
};

class append_log {
public:
    append_log(const append_log&) = delete;
    append_log& operator=(const append_log&) = delete;
    /// \warning close() must have completed (or no append, sync or compaction may be in progress): the flusher
    /// fiber and the kernel may still use the log's buffers otherwise. Destroying a busy log terminates.
    ~append_log();

    /// Opens (creating the directory if needed) and recovers the log in `dir`, calling `on_record` for every
    /// record in order. \throws log_corruption_error, std::system_error. \shard_local
    static task<std::unique_ptr<append_log>> open(std::string dir, log_options options, record_handler on_record);

    /// Appends one record; returns when it is acknowledged under the policy. The payload is copied before the
    /// first suspension, so records are in the order of the calls. \throws std::system_error naming the failed
    /// operation and file (the record may or may not be on disk); std::invalid_argument for a payload over
    /// max_record_size. \shard_local
    task<> append(std::span<const std::byte> payload);

    /// Returns once every record appended before the call is on stable storage (an fdatasync unless nothing
    /// changed since the last). \shard_local
    task<> sync();

    /// Cuts the log for a snapshot: records appended before this call stay in the old segments, later ones go
    /// after the snapshot (returns once the segment that follows the cut exists). The caller then adds its live state
    /// *as of this call* to the returned object and commits it. One compaction at a time. \shard_local
    task<log_compaction> begin_compaction();

    /// Writes and syncs what is pending, waits for the flusher, closes the segment. Later appends raise.
    /// \shard_local
    task<> close();

    [[nodiscard]] const recovery_report& recovery() const noexcept { return _recovery; }
    [[nodiscard]] const log_stats& stats() const noexcept { return _stats; }
    [[nodiscard]] const std::string& directory() const noexcept { return _dir; }
    [[nodiscard]] const log_options& options() const noexcept { return _options; }
    /// A sync failed: the log refuses further work (see the invariants).
    [[nodiscard]] bool failed() const noexcept { return _failure != nullptr; }

private:
    friend class log_compaction;
    struct batch {
        std::uint64_t id = 0;
        std::unique_ptr<std::byte[]> data; ///< the sync marker, then framed records; grows, never shrinks
        std::size_t size = 0;
        std::size_t capacity = 0;
        /// Room for `n` more bytes at data + size (the caller fills them and adds n to size).
        std::byte* grow(std::size_t n) {
            if (size + n > capacity) {
                const std::size_t cap = std::max(size + n, capacity * 2);
                std::unique_ptr<std::byte[]> bigger(new std::byte[cap]);
                if (size != 0) {
                    std::memcpy(bigger.get(), data.get(), size);
                }
                data = std::move(bigger);
                capacity = cap;
            }
            return data.get() + size;
        }
        std::uint64_t records = 0; ///< 0: only the room for the marker, nothing to write
        unsigned refs = 0;
        event done;
        std::exception_ptr error;
    };

    append_log(std::string dir, log_options options);

    batch* new_batch();
    void release(batch* b) noexcept;
    void seal();
    void kick();
    task<> flush_loop(gate::holder hold);
    task<> write_batch(batch* b);
    task<> sync_segment();
    task<> rotate(std::uint64_t seq);
    /// Reserves the active segment's blocks up to `end` and a step beyond (fallocate KEEP_SIZE).
    task<> reserve(std::uint64_t end);
    void fail(std::exception_ptr e) noexcept;
    void finish(batch* b) noexcept;
    void throw_if_unusable() const;
    void on_sync_timer() noexcept;
    /// The id of the newest batch holding records.
    [[nodiscard]] std::uint64_t last_filled_batch() const noexcept;
    /// Waits until batches up to `written` are written, up to `synced` are synced and no compaction cut is
    /// pending; raises the log's error if it fails first.
    task<> wait_progress(std::uint64_t written, std::uint64_t synced);

    std::string _dir;
    log_options _options;
    recovery_report _recovery;
    log_stats _stats;

    file _segment; ///< the active segment
    std::uint64_t _segment_seq = 0;
    std::uint64_t _segment_size = 0; ///< bytes written to it (durable or not)
    std::uint64_t _synced_size = 0;  ///< of which a completed fdatasync covers this many (the next sync marker's)
    std::uint64_t _reserved_end = 0; ///< blocks up to here are preallocated
    std::uint64_t _next_seq = 1;

    std::vector<std::unique_ptr<batch>> _pool;
    std::vector<batch*> _free;
    batch* _gathering = nullptr;
    std::vector<batch*> _sealed; ///< sealed batches waiting for the flusher, oldest first
    std::uint64_t _last_batch_id = 0;
    std::uint64_t _written_id = 0;  ///< batches up to this id are written (or failed and cut off)
    std::uint64_t _synced_id = 0;   ///< batches up to this id are on stable storage (or failed)
    std::uint64_t _sync_wanted = 0; ///< sync() callers wait for _synced_id to reach this

    std::uint64_t _rotate_after = 0; ///< with _rotate_seq: start segment _rotate_seq once batch _rotate_after is out
    std::uint64_t _rotate_seq = 0;
    bool _compacting = false;

    bool _flusher_running = false;
    bool _sync_due = false; ///< everysec: the timer fired
    bool _closing = false;
    std::exception_ptr _failure;
    condition_variable _progress; ///< broadcast whenever the flusher finished a step
    gate _flusher_gate;
    timer _sync_timer;
    metrics::registration _metrics; ///< percore_storage_log_*{log="<dir>"}, read from _stats
};

} // namespace percore::storage

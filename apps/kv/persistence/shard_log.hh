/// \file
/// \brief `shard_log`: one shard's append-only log (`<dir>/shard-N/`): recovery into the keyspace at start, one
/// record per batch of commands that changed data, group commit, multi-shard transactions, and the MISCONF state
/// after a failed write or fdatasync.
///
/// \code
/// // at start, on every shard (main.cc): first the transaction census, then the replay
/// auto census = co_await shard_log::census(dir, repair);                 // txn ids this shard's log holds
/// co_await st.plog.open(st, dir, {.policy = durability::always}, incomplete);   // replay (but `incomplete` txns)
/// // while serving (shard_state::execute / run)
/// st.plog.record(argv);                       // after a command that changed data (or its rewritten effect)
/// bool durable = co_await st.plog.commit();   // the batch's record: returns once acknowledged under the policy
/// \endcode
///
/// Invariants
/// - Shard-local: the log, the pending record and the MISCONF state belong to the shard's thread.
/// - Records are appended in the order the shard applied their commands: a batch's commands are encoded while
///   it runs (synchronously, under `shard_state::lock`) and its commit() starts the append before any other batch
///   can run, so log order is apply order.
/// - A multi-shard write (between begin_txn() and commit_txn()) records into its own buffer; each participant
///   appends one record carrying the txn id and the participants, while the coordinator still holds every
///   participant's lock; the locks are released only once every part is durable. So an incomplete transaction
///   is the last record of each log that holds a part of it, and recovery drops it (all or nothing).
/// - Once an append fails (write or fdatasync), no record appended after it is acknowledged either (it may
///   depend on what failed), writes are refused with -MISCONF, and a reload (every second until it works) rebuilds
///   the keyspace from the log under the shard's exclusive lock, so memory never keeps what the disk lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "apps/kv/command.hh"
#include "runtime/sync/condition_variable.hh"
#include "runtime/sync/gate.hh"
#include "runtime/task.hh"
#include "storage/append_log.hh"
#include "storage/record.hh"

namespace percore::kv {

class shard_state;

/// What a shard's log holds of multi-shard transactions (recovery's first pass).
struct txn_census {
    /// id -> participants, for every transaction record of the log.
    std::vector<std::pair<std::uint64_t, std::vector<unsigned>>> txns;
    storage::recovery_report report; ///< the torn tail cut, the repair done (the replay finds nothing more)
};

/// Transaction ids (recovery's: those not durable on every participant, left out of the replay).
using txn_set = std::unordered_set<std::uint64_t>;

/// What INFO persistence shows of one shard.
struct log_status {
    bool enabled = false;
    bool misconf = false;
    std::string last_error;      ///< why the last append failed ("" if none)
    std::uint64_t size = 0;      ///< bytes in the log directory's segments
    std::uint64_t base_size = 0; ///< of which the log held when it was opened
    std::uint64_t records = 0;   ///< records appended since start
    std::uint64_t commands = 0;  ///< commands in them
    std::uint64_t failed_appends = 0;
    std::uint64_t syncs = 0;       ///< fdatasync calls of the log
    std::uint64_t batches = 0;     ///< writes of the log (group commits)
    std::uint64_t loaded_keys = 0; ///< keys after the last replay
    std::uint64_t loaded_records = 0;
    std::uint64_t load_ms = 0;
    std::uint64_t reloads = 0; ///< rebuilds after a failure
};

class shard_log {
public:
    /// The largest record a shard's log takes: storage's limit (1 GiB), not its 16 MiB default, so that any value
    /// the protocol accepts (proto-max-bulk-len, 512 MiB by default) can be logged.
    static constexpr std::size_t max_record_size = storage::max_data_payload;

    shard_log() = default;
    shard_log(const shard_log&) = delete;
    shard_log& operator=(const shard_log&) = delete;
    ~shard_log();

    /// The log directory of shard `shard` under the data directory.
    [[nodiscard]] static std::string directory(const std::string& data_dir, unsigned shard);
    /// Recovery's first pass over `dir` (cuts a torn tail; refuses corruption unless `repair`): which
    /// transactions the log holds parts of. \throws storage::log_corruption_error, std::system_error \shard_local
    static task<txn_census> census(std::string dir, bool repair);

    /// Opens the log in `dir` and replays it into `st` (but the transactions in `incomplete`), then appends to it.
    /// \throws storage::log_corruption_error, std::system_error, std::runtime_error (a malformed payload)
    /// \shard_local
    task<> open(shard_state& st, std::string dir, storage::log_options options, txn_set incomplete);
    /// Opens the log in `dir` without replaying it and makes it a snapshot of `st`'s keyspace (CONFIG SET
    /// appendonly yes). The caller holds `st.lock` exclusively. \shard_local
    task<> start_from_memory(shard_state& st, std::string dir, storage::log_options options);
    /// Syncs and closes the log (SHUTDOWN, SIGTERM, CONFIG SET appendonly no). \shard_local
    task<> close();
    /// Returns once everything appended so far is on stable storage (SHUTDOWN). \throws std::system_error
    task<> sync();
    /// Closes and reopens the log with another policy (CONFIG SET appendfsync), without touching the keyspace.
    task<> set_policy(storage::durability policy);

    [[nodiscard]] bool enabled() const noexcept { return _log != nullptr; }
    /// \pre enabled()
    [[nodiscard]] storage::append_log& log() noexcept { return *_log; }
    [[nodiscard]] storage::durability policy() const noexcept { return _options.policy; }

    // ---- while commands run (\shard_local, synchronous)
    /// Whether commands that change data must be recorded now (a log is open and no replay runs).
    [[nodiscard]] bool recording() const noexcept { return _log != nullptr && !_replaying; }
    /// Records one command (or the command that has its effect), to run at `clock` on replay.
    void record(std::int64_t clock, argv_t argv);
    /// Records the deletion of `key` (expiry, eviction).
    void record_del(std::int64_t clock, std::string_view key);
    /// Records the current value of `key` in `st` as commands (its deletion if absent).
    void record_value(std::int64_t clock, shard_state& st, std::string_view key);
    [[nodiscard]] bool has_pending() const noexcept { return !_pending.empty(); }
    /// Appends what was recorded since the last commit as one record. \return true once it is acknowledged
    /// under the policy; false if it (or an earlier record) failed: the shard is then in MISCONF.
    task<bool> commit();
    /// commit() in the background (what the expiry timer recorded).
    void commit_soon();

    // ---- multi-shard writes (\shard_local)
    /// From now on, records go to this transaction's part (the shard's lock is held exclusively).
    void begin_txn() noexcept { _in_txn = true; }
    /// Whether this transaction recorded anything here. Recording goes back to normal.
    bool end_txn() noexcept {
        _in_txn = false;
        return !_txn_part.empty();
    }
    /// Drops what the transaction recorded here (it failed half way, with an exception).
    void abandon_txn() noexcept {
        _in_txn = false;
        _txn_part.clear();
        _txn_clock.reset();
    }
    /// Appends this shard's part of transaction `id` (after end_txn() returned true on every participant).
    task<bool> commit_txn(std::uint64_t id, std::vector<unsigned> participants);
    /// A fresh transaction id, unique over the shards and over restarts.
    [[nodiscard]] static std::uint64_t next_txn_id() noexcept;

    // ---- errors
    /// Writes are refused with -MISCONF (an append failed and the keyspace is not rebuilt from the log yet).
    [[nodiscard]] bool misconf() const noexcept { return _misconf; }
    /// The error text for a refused write: Redis's "MISCONF Errors writing to the AOF file: ...".
    [[nodiscard]] std::string misconf_error() const;
    [[nodiscard]] log_status status() const;
    void set_load_report(std::uint64_t keys, std::uint64_t ms) noexcept {
        _status.loaded_keys = keys;
        _status.load_ms = ms;
    }
    /// A snapshot became the log's base (apps/kv/snapshot/shard_snapshots.hh): the log is now its
    /// `snapshot_bytes` plus what was appended after its cut, taken when the log held `size_at_cut` bytes.
    void rewritten(std::uint64_t snapshot_bytes, std::uint64_t size_at_cut) noexcept {
        _status.size = snapshot_bytes + (_status.size >= size_at_cut ? _status.size - size_at_cut : 0);
        _status.base_size = _status.size;
    }

private:
    task<> open_log(bool replay);
    /// Closes the log (errors logged, not raised) and keeps its counters.
    task<> close_log();
    void replay(std::span<const std::byte> payload);
    void on_failure(std::uint64_t seq, const std::string& why);
    task<> reload_loop(gate::holder hold);
    task<bool> append_now(std::string record);
    std::string take(std::string& from);
    void record_to(std::string& out, std::optional<std::int64_t>& out_clock, std::int64_t clock, argv_t argv);

    shard_state* _st = nullptr;
    std::string _dir;
    storage::log_options _options;
    std::unique_ptr<storage::append_log> _log;
    /// Transactions left out at recovery (a reload leaves out the same; later ones were acknowledged whole, or
    /// refused with -MISCONF on a shard whose log failed, and are then left to the next start).
    txn_set _incomplete;
    bool _replaying = false;
    std::string _pending;
    std::optional<std::int64_t> _pending_clock;
    bool _in_txn = false;
    std::string _txn_part;
    std::optional<std::int64_t> _txn_clock;
    std::vector<std::string> _spare;           ///< payload buffers kept for reuse
    std::uint64_t _appended = 0;               ///< sequence number of the last append started
    std::optional<std::uint64_t> _failed_from; ///< appends from this one on are not acknowledged
    bool _misconf = false;
    std::string _misconf_reason; ///< strerror text of the failure
    bool _reloading = false;
    unsigned _inflight = 0; ///< commits waiting for their append
    condition_variable _idle;
    condition_variable _wake;     ///< close() wakes the reload loop
    std::uint64_t _old_syncs = 0; ///< of the logs closed before this one (INFO counts the whole run)
    std::uint64_t _old_batches = 0;
    log_status _status;
    std::unique_ptr<gate> _background = std::make_unique<gate>(); ///< commit_soon() and the reload
    std::vector<std::string_view> _argv_scratch;
    std::vector<std::string_view> _ahead_scratch; // replay's look-ahead reader
    std::string _reply_scratch;
};

} // namespace percore::kv

/// \file
/// \brief `shard_state`: one shard's part of the server: its keyspace, the lock that cross-shard operations take
/// on it, its clients, its counters, its copy of the settings.
///
/// Invariants
/// - One per shard (a `sharded<shard_state>`); only that shard's thread touches it.
/// - Batches of keyed commands run synchronously, one after another, under `lock` taken for their duration: a
///   multi-shard operation holding `lock` on this shard (exclusive to write, shared to read) holds back every
///   conflicting batch until it releases it, so no command sees half of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/kv/command.hh"
#include "apps/kv/keyspace.hh"
#include "apps/kv/persistence/shard_log.hh"
#include "apps/kv/settings.hh"
#include "apps/kv/snapshot/shard_snapshots.hh"
#include "runtime/metrics/registry.hh"
#include "runtime/sync/gate.hh"
#include "runtime/sync/shared_mutex.hh"
#include "runtime/task.hh"
#include "runtime/timer.hh"

namespace percore::kv {

class session;

/// Commands of one connection for one shard, and where their replies go.
struct batch {
    std::vector<const command_spec*> specs;
    std::vector<argv_t> argvs;
    int protocol = 2;
    bool writes = false;
    /// execute() stops after the command that takes `replies` to this size; the next call goes on from there
    /// (the session delivers what is there first: a client that does not read cannot make it hold more).
    std::size_t reply_budget = SIZE_MAX;
    std::string replies;           ///< filled by execute()
    std::vector<std::size_t> ends; ///< end of each executed command's reply, counting `trimmed` bytes
    std::size_t trimmed = 0;       ///< bytes delivered and dropped from the front of `replies`
    [[nodiscard]] bool finished() const noexcept { return ends.size() == specs.size(); }
};

struct shard_counters {
    std::uint64_t commands = 0;
    std::uint64_t connections_received = 0;
    std::uint64_t rejected_connections = 0;
    std::uint64_t evicted_keys = 0;
    std::uint64_t net_input_bytes = 0;
    std::uint64_t net_output_bytes = 0;
    std::uint64_t reads_processed = 0;  ///< receives from clients
    std::uint64_t writes_processed = 0; ///< writes to clients
    // The keyspace's own counters when CONFIG RESETSTAT last ran (INFO reports what came since).
    std::uint64_t hits_at_reset = 0;
    std::uint64_t misses_at_reset = 0;
    std::uint64_t expired_at_reset = 0;
    /// Calls per command, by command_index() (sized on first count).
    std::vector<std::uint64_t> command_calls;

    void count_command(const command_spec& spec) {
        ++commands;
        const std::size_t i = command_index(spec);
        if (i >= command_calls.size()) {
            command_calls.resize(all_commands().size() + 1);
        }
        ++command_calls[i];
    }
};

class shard_state {
public:
    explicit shard_state(settings s);

    keyspace db;
    shared_mutex lock;
    shard_counters counters;
    /// This shard's append-only log (`<dir>/shard-N/`), when --appendonly yes.
    shard_log plog;
    /// Snapshots of `db` into the log (BGSAVE, BGREWRITEAOF, the automatic rewrite).
    shard_snapshots snapshots;

    [[nodiscard]] const settings& config() const noexcept { return _settings; }
    [[nodiscard]] settings& config() noexcept { return _settings; }

    /// Runs `b`'s commands not run yet, in order, within its reply budget (waiting for `lock` first if a
    /// multi-shard operation holds it). With a log, returns once what they changed is acknowledged under the
    /// policy (group commit); if that failed, their write commands reply -MISCONF instead.
    task<> run(batch& b);
    /// Runs them now. \pre the caller holds `lock` (or knows nobody does)
    void execute(batch& b);
    /// execute() holding `lock` (taken by the caller), which it releases, also when a command throws.
    void execute_locked(batch& b);
    /// Runs one command into `out`: the MISCONF and maxmemory checks, then the command; what it changed is
    /// recorded in the log's pending record.
    void execute_one(const command_spec& spec, argv_t argv, resp::reply_writer& out);

    /// Frees memory past this shard's share of maxmemory (allkeys-lru). \return false if still over it
    bool make_room();
    [[nodiscard]] std::uint64_t maxmemory_share() const noexcept;

    // ---- clients of this shard
    void add_client(session& s) { _clients.push_back(&s); }
    void remove_client(session& s) { std::erase(_clients, &s); }
    [[nodiscard]] const std::vector<session*>& clients() const noexcept { return _clients; }
    [[nodiscard]] std::size_t client_share() const noexcept;

    /// Frees what FLUSHALL/FLUSHDB left (keyspace::clear()) in a fiber of its own, a slice per scheduler pass,
    /// unless one is at it already.
    void free_flushed_in_background();

    /// Starts the active expiry timer. \shard_local
    void start();
    /// Takes new settings (CONFIG SET): the expiry timer follows `hz`. Sessions pick up theirs themselves.
    void reconfigure(const settings& s);
    task<> stop();

private:
    /// After a failed commit: the write commands `b` ran from `first` on reply -MISCONF (`from` is where their
    /// replies start in b.replies).
    void refuse_writes(batch& b, std::size_t first, std::size_t from);
    static void on_expire(void* self, std::string_view key);
    /// Closes connections idle past `timeout` (the expiry timer calls it).
    void close_idle_clients();

    task<> free_flushed();

    settings _settings;
    std::vector<session*> _clients;
    timer _expiry_timer;
    gate _background;
    bool _freeing = false;
    metrics::registration _metrics; // percore_kv_* (kv_metrics.hh), registered by start()
};

/// Wall-clock time in ms since the epoch.
[[nodiscard]] std::int64_t now_ms() noexcept;

} // namespace percore::kv

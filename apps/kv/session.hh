/// \file
/// \brief `session`: one client connection: reads requests, runs them where their keys live, writes the
/// replies in request order.
///
/// A read's worth of pipelined commands is one *window*: consecutive commands are grouped by the shard that owns
/// their keys, one batch per shard, sent at once (the local shard's batch runs inline), and the replies are put
/// back in request order (pipeline squashing). A command that changes the connection's state (HELLO, AUTH...),
/// covers every shard (DBSIZE, KEYS...) or has keys on several shards ends the window: the batches before it
/// complete first, then it runs on its own.
///
/// A window's replies go out whenever they reach a budget (256 KiB), and writing waits while more than
/// `net::config::max_unsent` bytes are unsent; the session reads again only when the window is done. So a client
/// that pipelines commands with large replies and never reads makes the session hold about: the budget and one
/// reply in its output, as much again per other shard in replies not yet delivered, max_unsent and a 64 KiB
/// slice in the send queue, and max_unread of input; never the whole window. With `timeout` set, a client that
/// takes no reply for that long is closed, as Redis does.
///
/// Invariants
/// - A session lives on the shard that accepted its connection; all its state is that shard's.
/// - Arguments point into the parser's receive buffers until the window's replies are written; commands queued
///   by MULTI are copied.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apps/kv/command.hh"
#include "apps/kv/resp/request_parser.hh"
#include "apps/kv/shard_state.hh"
#include "net/connection.hh"
#include "runtime/task.hh"
#include "shard/sharded.hh"

namespace percore::kv {

/// A command queued by MULTI, or handed to a cross-shard operation: it owns its arguments.
struct owned_command {
    const command_spec* spec = nullptr;
    std::vector<std::string> args;
    std::vector<std::string_view> views;
    void assign(const command_spec* s, argv_t argv) {
        spec = s;
        args.assign(argv.begin(), argv.end());
        views.assign(args.begin(), args.end());
    }
    [[nodiscard]] argv_t argv() const noexcept { return views; }
};

class session {
public:
    session(net::connection c, sharded<shard_state>& shards);
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session();

    /// Serves the connection until the client leaves, QUIT, a protocol error or CLIENT KILL.
    task<> run();

    // ---- what CLIENT LIST and CLIENT KILL see (from this shard)
    [[nodiscard]] std::uint64_t id() const noexcept { return _id; }
    [[nodiscard]] const std::string& name() const noexcept { return _name; }
    [[nodiscard]] std::string describe() const;
    [[nodiscard]] std::string peer() const { return _peer; }
    [[nodiscard]] std::string local() const { return _local; }
    /// Closes the connection (CLIENT KILL); run() returns.
    void kill() noexcept;
    /// Replies to what was asked, then closes (CLIENT KILL of the connection itself).
    void close_after_reply() noexcept { _closing = true; }
    /// Takes the shard's settings after CONFIG SET: request limits, idle timeout.
    void apply_settings();
    /// How long the client has sent nothing, at `now` (ms since the epoch); 0 while its commands run.
    [[nodiscard]] std::int64_t idle_ms(std::int64_t now) const noexcept { return _in_window ? 0 : now - _last_ms; }

    [[nodiscard]] int protocol() const noexcept { return _protocol; }
    [[nodiscard]] shard_state& local_shard() noexcept { return _shards.local(); }
    [[nodiscard]] sharded<shard_state>& shards() noexcept { return _shards; }

private:
    struct pending {
        const command_spec* spec;
        std::uint32_t arg_begin;
        std::uint32_t arg_count;
        int shard;                 ///< -1: a literal reply (an error decided here)
        std::uint32_t literal_end; ///< for a literal: its end in _literals (it starts where the previous ended)
    };

    task<> serve();
    task<> process_window();
    /// Adds `argv` to the window (or answers it at once: an error, +QUEUED). \return null, or the command when
    /// it must run alone (a barrier: the window is flushed first).
    const command_spec* dispatch(argv_t argv);
    void add_literal(std::string_view encoded_error);
    void add_to_window(const command_spec* spec, argv_t argv, int shard);
    task<> flush_window();
    /// flush_window() for batches on several shards: in rounds, within their reply budgets.
    task<> run_batches_in_rounds();
    /// Replies for a command that must run alone (after the window is flushed).
    task<> run_barrier(const command_spec& spec, argv_t argv);
    task<> run_session_command(const command_spec& spec, argv_t argv);
    task<> run_global_command(const command_spec& spec, argv_t argv);
    /// The shard that owns all of `argv`'s keys, -1 when they live on several shards.
    int owner_shard(const command_spec& spec, argv_t argv);
    void queue_in_multi(const command_spec& spec, argv_t argv);
    task<> exec();
    task<> write_out();

    // session commands
    void hello(argv_t argv);
    void auth(argv_t argv);
    task<> client_command(argv_t argv);
    void reset();
    task<> unwatch_all();

    net::connection _conn;
    sharded<shard_state>& _shards;
    resp::request_parser _parser;
    std::uint64_t _id;
    std::string _name;
    std::string _lib_name;
    std::string _lib_ver;
    std::string _peer;
    std::string _local;
    std::int64_t _created_ms;
    std::int64_t _last_ms;
    std::string_view _last_command; ///< a command table name (static): no copy per command
    int _protocol = 2;
    bool _authenticated = true;
    bool _closing = false; // reply what was asked, then close (QUIT, protocol error)
    bool _killed = false;
    bool _in_window = false;     // commands of the last read are running (never idle then)
    bool _no_evict = false;      // CLIENT NO-EVICT (shown in CLIENT LIST; clients are never evicted)
    std::size_t _argv_bytes = 0; // arguments of the command running alone (CLIENT LIST argv-mem)

    // the window
    std::vector<std::string_view> _argv; // the command being parsed
    std::vector<std::string_view> _args; // every argument of the window's commands
    std::vector<pending> _window;
    std::string _literals;
    std::vector<batch> _batches;           // per shard, reused
    std::vector<std::uint32_t> _positions; // per shard: replies of its batch already placed
    std::vector<std::size_t> _keys;        // scratch for key positions
    std::string _out;                      // replies to write

    // MULTI / WATCH
    bool _in_multi = false;
    bool _multi_failed = false;
    std::vector<owned_command> _queued;
    std::vector<unsigned> _watched_shards; // shards where this client watches keys
};

} // namespace percore::kv

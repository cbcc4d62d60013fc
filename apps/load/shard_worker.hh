/// \file
/// \brief `shard_worker`: one shard's share of percore-load's connections, their driving loop and statistics.
///
/// Connection `i` (of all connections) lives on shard `i % shards`. A connection keeps up to `depth` messages in
/// flight (a sliding window): a sender fiber takes one of `depth` slots per message and writes the messages that
/// may go (closed loop: as soon as a slot is free; open loop: once due and a slot is free), flushing once per
/// burst; the connection's own task reads and verifies the replies in order and frees a slot per reply. Each
/// latency runs from the message's intended send time (the write time in closed loop) to its verified reply, so
/// a server that stalls an open-loop run is charged for the messages it delayed (no coordinated omission).
/// Replies that arrive after sending ended (the planned end, Ctrl-C) are verified but not recorded.
///
/// Invariants
/// - Everything here is touched only on its own shard; shard 0 reads it through `take_progress` / `results`
///   (bus messages that run here).
/// - A connection that sees an error (wrong reply, EOF, receive or send error, timeout) counts it and its
///   messages left in flight as errors, and ends; the others go on. A wrong reply that left the stream in step
///   (a RESP error reply) is counted and the connection goes on.
/// - A watchdog aborts a connection whose oldest message in flight has waited `timeout_ms` for its reply (from
///   its send or the previous reply, whichever came later), and every connection still running at the plan's
///   hard stop.
/// - A connection's sender never outlives its task: the task stops and joins it before ending.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/load/histogram.hh"
#include "apps/load/options.hh"
#include "apps/load/protocol.hh"
#include "apps/load/report.hh"
#include "net/connection.hh"
#include "runtime/spawn.hh"
#include "runtime/task.hh"
#include "runtime/timer.hh"

namespace percore::load {

/// Errors described in detail (per shard); the rest are only counted.
inline constexpr std::size_t max_error_details = 5;

struct connect_report {
    unsigned connected = 0;
    unsigned failed = 0;
    std::string first_error;
};

/// What shard 0 collects every second: counts since the previous sample.
struct progress_sample {
    std::uint64_t messages = 0;
    std::uint64_t errors = 0;
    histogram latency;
    std::vector<std::string> error_details;
};

/// What shard 0 collects at the end.
struct final_sample {
    std::uint64_t messages = 0; // measured
    std::uint64_t errors = 0;
    histogram latency; // measured
    time_point last_reply{};
    std::vector<std::string> error_details; // not yet collected by take_progress
    std::vector<kind_counts> kinds;         // per protocol::kinds()
};

class shard_worker {
public:
    explicit shard_worker(load_options options);
    shard_worker(const shard_worker&) = delete;
    shard_worker& operator=(const shard_worker&) = delete;
    ~shard_worker();

    /// Opens this shard's connections (concurrently). \shard_local
    task<connect_report> connect_all(net::socket_address address);
    /// Drives every connection of this shard through the plan; completes when all ended. \shard_local
    task<> run(run_plan plan);
    /// Sends nothing more: each connection verifies the replies in flight, unrecorded, and ends (Ctrl-C).
    /// \shard_local
    void stop_sending() noexcept { _stopping = true; }

    progress_sample take_progress();
    final_sample results();

    /// Closes the connections (sharded<T> calls it before destruction). \shard_local
    task<> stop();

private:
    struct conn;
    task<> connect_one(conn* c, net::socket_address address);
    task<> drive(conn* c);
    task<> send_loop(conn* c);
    task<> send_messages(conn* c);
    task<std::string> receive_replies(conn* c);
    [[nodiscard]] bool sending_over(const conn* c, time_point now) const noexcept;
    task<> finish(conn* c);
    void on_watchdog() noexcept;
    void add_error(std::uint64_t count, std::string detail);

    load_options _options;
    std::unique_ptr<protocol> _protocol;
    std::vector<std::unique_ptr<conn>> _conns;
    run_plan _plan;
    timer _watchdog;
    bool _stopping = false;
    // statistics
    std::uint64_t _measured = 0;
    std::uint64_t _errors = 0;
    std::uint64_t _interval_messages = 0;
    std::uint64_t _interval_errors = 0;
    histogram _total;
    histogram _interval;
    time_point _last_reply{};
    std::vector<std::string> _error_details; // not yet collected
    std::size_t _details_kept = 0;
    std::vector<kind_counts> _kinds; // measured replies per kind of request; errors over the whole run
};

} // namespace percore::load

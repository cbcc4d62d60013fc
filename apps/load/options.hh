/// \file
/// \brief percore-load's settings (from the command line) and the timeline of one run, shared by every shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "apps/load/protocol.hh"
#include "net/socket_address.hh"
#include "runtime/clock.hh"

namespace percore::load {

struct load_options {
    std::string mode = "echo";
    std::string address = "127.0.0.1";
    std::uint16_t port = 7000; // 6379 in resp mode unless given
    unsigned connections = 50;
    /// Payload bytes per message (echo), value bytes (resp).
    std::size_t size = 64;
    // ---- resp (protocol_options in protocol.hh says what they mean)
    std::string commands = "set,get";
    std::uint64_t keyspace = 1;
    unsigned mset_keys = 10;
    bool hash_tag = false;
    std::string auth;
    // ---- http
    std::string path = "/hello";
    /// Messages in flight per connection (a sliding window: each verified reply frees a slot for the next).
    unsigned depth = 1;
    /// Measured seconds after the warm-up; <= 0: no time limit (only with `messages`).
    double duration_s = 5;
    double warmup_s = 1;
    /// Stop after this many measured messages over all connections (0: time-bounded).
    std::uint64_t messages = 0;
    /// Open loop: messages per second over all connections (0: closed loop).
    double rate = 0;
    bool json = false;
    /// A connect or a reply slower than this ends the connection with an error.
    unsigned timeout_ms = 2000;
};

/// What the protocol needs of the options.
[[nodiscard]] inline protocol_options protocol_options_of(const load_options& o) {
    return {.size = o.size,
            .commands = o.commands,
            .keyspace = o.keyspace,
            .mset_keys = o.mset_keys,
            .hash_tag = o.hash_tag,
            .auth = o.auth,
            .path = o.path};
}

/// One run's timeline, fixed by shard 0 once every connection is up.
struct run_plan {
    load_options options;
    net::socket_address address;
    /// Connections start sending.
    time_point start;
    /// Messages whose (intended) send time is at or after this are measured.
    time_point measure_from;
    /// No message is sent at or after this (time_point::max(): only the message count ends the run).
    time_point measure_until;
    /// Connections still busy at this time are cut, their messages in flight counted as errors.
    time_point hard_stop;
};

} // namespace percore::load

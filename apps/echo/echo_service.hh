/// \file
/// \brief The echo protocol: every byte a client sends comes back, in order; after the client half-closes, the
/// rest is echoed and the connection closed.
///
/// Each shard counts what it echoed (percore_echo_messages_total: reads echoed, percore_echo_bytes_total), plain
/// shard-local adds; register_metrics() exposes them on /metrics.
#pragma once

#include <chrono>

#include "net/connection.hh"
#include "runtime/task.hh"

namespace percore::echo {

/// Serves one connection until EOF (or `idle_timeout` without a byte from the client; zero: no limit).
task<> serve(net::connection c, std::chrono::milliseconds idle_timeout);

/// Registers this shard's echo counters in its metrics registry (again: replaces the registration). \shard_local
void register_metrics();

} // namespace percore::echo

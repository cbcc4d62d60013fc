/// \file
/// \brief The echo protocol: every byte a client sends comes back, in order; after the client half-closes, the
/// rest is echoed and the connection closed.
#pragma once

#include <chrono>

#include "net/connection.hh"
#include "runtime/task.hh"

namespace percore::echo {

/// Serves one connection until EOF (or `idle_timeout` without a byte from the client; zero: no limit).
task<> serve(net::connection c, std::chrono::milliseconds idle_timeout);

} // namespace percore::echo

/// \file
/// \brief `sync_wait(task)`: run a task to completion on a fresh reactor on the calling thread.
///
/// \code
/// int main() { return percore::sync_wait(percore_main()); }   // tests and small tools
/// \endcode
#pragma once

#include "runtime/reactor.hh"

namespace percore {

/// Creates a reactor on this thread, runs `t` and whatever it spawns, tears the reactor down, returns the result
/// (or rethrows). \throws uring_setup_error when io_uring is unavailable. \blocking
template <typename T>
T sync_wait(task<T> t, const reactor_config& config = {}) {
    reactor r(config);
    return r.run(std::move(t));
}

} // namespace percore

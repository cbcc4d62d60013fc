/// \file
/// \brief Program entry point: run a main task on a reactor, stop cleanly on SIGINT/SIGTERM, exit with its code.
///
/// \code
/// percore::task<int> serve() {
///     percore::handle_signal(SIGTERM, [] { stop_accepting(); });   // optional: drain instead of abort
///     co_await accept_loop();
///     co_return 0;
/// }
/// int main() { return percore::run(serve); }
/// \endcode
///
/// By default the first SIGINT or SIGTERM stops the reactor: every task, main included, is aborted at its
/// suspension point and allowed to unwind; run() then returns 128 + the signal number. A second signal while
/// stopping exits at once. If io_uring cannot be set up, run() prints the cause (sysctl, seccomp, memlock limit,
/// kernel version) and returns 1.
#pragma once

#include <functional>

#include "runtime/reactor.hh"
#include "runtime/task.hh"

namespace percore {

/// Runs `main()` on a reactor created on the calling thread. \return main's value, 128 + signal after a stop
/// signal, 1 when main threw or io_uring is unavailable. \blocking
int run(const reactor_config& config, std::function<task<int>()> main);
int run(std::function<task<int>()> main);

/// Replaces the default reaction (stop everything) to SIGINT or SIGTERM while run() is active on this thread.
/// The handler runs on the reactor, outside any task; it may spawn tasks and must not block. \shard_local
void handle_signal(int signo, std::function<void()> handler);

} // namespace percore

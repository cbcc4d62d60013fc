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
/// By default the first SIGINT or SIGTERM aborts the main task (it raises `aborted` at its suspension point and
/// unwinds); then the shutdown hooks run, every other task is aborted and awaited, and run() returns 128 + the
/// signal number. A second signal while stopping exits at once. If io_uring cannot be set up, run() prints the
/// cause (sysctl, seccomp, memlock limit, kernel version) and returns 1.
///
/// \note SIGINT and SIGTERM are blocked on the calling thread and on every thread started after run() begins
/// (the runtime's own threads block all signals). A thread the program started before calling run() still has them
/// unblocked and may be picked to receive them; start such threads from inside run(), or block the signals in them.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/reactor.hh"
#include "runtime/task.hh"

namespace percore {

/// Runs `main()` on a reactor created on the calling thread. \return main's value, 128 + signal after a stop
/// signal, 1 when main threw or io_uring is unavailable. \blocking
int run(const reactor_config& config, std::function<task<int>()> main);
int run(std::function<task<int>()> main);

/// Replaces the default reaction (abort the main task) to SIGINT or SIGTERM while run() is active on this thread.
/// The handler runs on the reactor, outside any task; it may spawn tasks and must not block. \shard_local
void handle_signal(int signo, std::function<void()> handler);

/// Registers `hook` to run once the main task has ended (returned, thrown, or aborted by a stop signal), before
/// the remaining tasks are aborted. Hooks run one after another, in reverse order of registration, on the shard
/// that registered them; an exception from one is logged and the next still runs. \return an id for
/// remove_shutdown_hook. \shard_local
std::uint64_t add_shutdown_hook(std::function<task<>()> hook);
void remove_shutdown_hook(std::uint64_t id) noexcept;

} // namespace percore

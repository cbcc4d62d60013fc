/// \file
/// \brief The pieces of run() that the multi-shard engine reuses on its first shard: stop-signal handling
/// through a signalfd read on the reactor's ring, and the main-task wrapper (abort on signal, shutdown hooks).
#pragma once

#include <functional>
#include <map>
#include <signal.h>
#include <sys/signalfd.h>

#include "runtime/detail/rearming_read.hh"
#include "runtime/reactor.hh"
#include "runtime/task.hh"

namespace percore::detail {

/// Blocks SIGINT and SIGTERM on the calling thread (threads it starts afterwards inherit that) and opens a
/// signalfd for them; restores the mask on destruction.
class stop_signal_block {
public:
    stop_signal_block();
    stop_signal_block(const stop_signal_block&) = delete;
    stop_signal_block& operator=(const stop_signal_block&) = delete;
    ~stop_signal_block();
    [[nodiscard]] int fd() const noexcept { return _fd; }

private:
    int _fd = -1;
    sigset_t _previous;
};

/// Reads the signalfd through `r`'s ring and dispatches each signal: a handler from handle_signal(), else the
/// default action set by the main runner. Makes handle_signal() work on this thread while alive.
class signal_watch final : public rearming_read {
public:
    signal_watch(reactor& r, int fd);
    ~signal_watch();

    void set_handler(int signo, std::function<void()> handler);
    void set_default_action(std::function<void()> action) { _default = std::move(action); }
    /// The first stop signal received without a handler, or 0.
    [[nodiscard]] int stop_signal() const noexcept { return _stop_signal; }

private:
    void on_read(int bytes) noexcept override;
    void dispatch(int signo) noexcept;

    reactor& _r;
    signalfd_siginfo _info{};
    std::map<int, std::function<void()>> _handlers;
    std::function<void()> _default;
    int _stop_signal = 0;
};

/// Runs `main` as its own task so a stop signal can abort it, then the shutdown hooks; yields the exit code.
task<int> run_main(std::function<task<int>()> main, signal_watch& signals);

/// Runs `body(signals)` as the main task of `r` with a signal_watch on `signal_fd`: what run() and the engine's
/// first shard both do. \return the task's value; if a stop signal ended the reactor before the task finished,
/// 128 + that signal (1 for any other failure, which is logged). The reactor must not run again afterwards: its
/// ring still holds the signalfd read, whose watch is gone (destroy the reactor next).
int run_with_stop_signals(reactor& r, int signal_fd, const std::function<task<int>(signal_watch&)>& body);

/// Runs this shard's shutdown hooks in reverse order of registration (used by run_main and by the engine's
/// other shards).
task<> run_shutdown_hooks();

} // namespace percore::detail

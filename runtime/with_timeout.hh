/// \file
/// \brief `with_timeout`: bound a task by a deadline; on expiry the task is aborted and `timed_out` raised.
///
/// \code
/// try {
///     auto reply = co_await percore::with_timeout(200ms, client.call(req));
/// } catch (const percore::timed_out&) {
///     // call() was aborted at its suspension point and has fully unwound
/// }
/// \endcode
///
/// The inner task runs as a child fiber. When the deadline passes it is aborted and awaited (its io_uring
/// operations are cancelled, its destructors run) before `timed_out` is raised. If it still finished with a
/// result, or with another exception, that outcome is delivered instead.
#pragma once

#include <exception>

#include "runtime/clock.hh"
#include "runtime/spawn.hh"
#include "runtime/timer.hh"

namespace percore {

/// \shard_local
template <typename T>
task<T> with_timeout(time_point deadline, task<T> t) {
    auto child = spawn(std::move(t));
    bool expired = false;
    timer guard([&] {
        expired = true;
        child.abort();
    });
    guard.arm(deadline);
    std::exception_ptr interrupted;
    try {
        co_await child.wait();
    } catch (const aborted&) {
        interrupted = std::current_exception();
    }
    guard.cancel();
    if (interrupted) {
        child.abort();
        {
            detail::abort_shield shield;
            co_await child.wait();
        }
        (void)child.exception();
        std::rethrow_exception(interrupted);
    }
    if (expired) {
        if (std::exception_ptr e = child.exception()) {
            try {
                std::rethrow_exception(e);
            } catch (const aborted&) {
                throw timed_out();
            }
        }
    }
    co_return child.result();
}

/// \shard_local
template <typename T>
task<T> with_timeout(duration timeout, task<T> t) {
    return with_timeout(detail::deadline_after(timeout), std::move(t));
}

} // namespace percore

/// \file
/// \brief Exceptions the runtime raises for cancellation and closed primitives.
///
/// \code
/// try {
///     co_await percore::with_timeout(10ms, fetch());
/// } catch (const percore::timed_out&) {
///     // fetch() was cancelled at its next suspension point
/// }
/// \endcode
#pragma once

#include <exception>

namespace percore {

/// Raised inside a task at a suspension point after `join_handle::abort()` (or a cancelling combinator) asked it
/// to stop. Once raised, every later suspension of the same task raises it again, so the task unwinds promptly.
class aborted : public std::exception {
public:
    const char* what() const noexcept override { return "task aborted"; }
};

/// Raised by `with_timeout` when the deadline passed before the inner task completed.
class timed_out : public std::exception {
public:
    const char* what() const noexcept override { return "operation timed out"; }
};

/// Raised by `semaphore::wait` after `semaphore::broken()`.
class broken_semaphore : public std::exception {
public:
    const char* what() const noexcept override { return "semaphore broken"; }
};

/// Raised by `channel::send` once the channel is closed.
class channel_closed : public std::exception {
public:
    const char* what() const noexcept override { return "channel closed"; }
};

/// Raised by `gate::enter` once `gate::close()` was called.
class gate_closed : public std::exception {
public:
    const char* what() const noexcept override { return "gate closed"; }
};

} // namespace percore

/// \file
/// \brief `spawn_blocking(fn)`: run blocking code (a legacy library, getaddrinfo, a CPU-heavy hash) on a small
/// pool of threads outside the reactors; the awaiting task gets the result, or the exception, on its own shard.
///
/// \code
/// std::string digest = co_await percore::spawn_blocking([path] { return sha256_file(path); });
/// \endcode
///
/// The pool is shared by all shards and started on first use (`set_blocking_threads` sizes it; default 4).
/// The job cannot be interrupted: a task aborted while its job runs stays parked until the job returns (its
/// result is delivered), and the abort shows at the task's next suspension point.
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "runtime/detail/fiber.hh"
#include "runtime/detail/outcome.hh"
#include "runtime/reactor.hh"

namespace percore {

/// Sets the number of blocking-pool threads. Takes effect only before the first spawn_blocking.
/// \throws std::invalid_argument for 0. \any_shard
void set_blocking_threads(unsigned threads);

namespace detail {

class blocking_job : public foreign_completion {
public:
    blocking_job() = default;
    blocking_job(const blocking_job&) = delete;
    blocking_job& operator=(const blocking_job&) = delete;
    virtual ~blocking_job() = default;

    /// Runs on a pool thread.
    virtual void execute() noexcept = 0;
    /// Runs on the home reactor once execute() returned.
    void complete() noexcept override;

    reactor* _home = nullptr;
    fiber* _waiter = nullptr;
};

/// Hands `job` to the pool; its completion is posted back to the calling reactor. \shard_local
void submit_blocking(blocking_job* job);

template <typename F>
class blocking_job_impl final : public blocking_job {
public:
    using result_type = std::invoke_result_t<F&>;

    explicit blocking_job_impl(F fn)
        : _fn(std::move(fn)) {}

    void execute() noexcept override { _outcome.capture(_fn); }
    result_type take() { return _outcome.take(); }

private:
    F _fn;
    outcome<result_type> _outcome;
};

template <typename F>
class blocking_awaiter {
public:
    explicit blocking_awaiter(F fn)
        : _job(std::move(fn)) {}

    bool await_ready() const noexcept { return false; }

    bool await_suspend(std::coroutine_handle<> h) {
        if (abort_pending()) {
            _cancelled = true;
            return false;
        }
        // No cancel hook: the job may use this task's memory (its captures, buffers it points at), so the task
        // stays parked until the job is back, as an io_uring operation waits for its CQE.
        _job._waiter = park_current(h, {});
        submit_blocking(&_job);
        return true;
    }

    auto await_resume() {
        if (_cancelled) {
            throw_aborted();
        }
        return _job.take();
    }

private:
    blocking_job_impl<F> _job;
    bool _cancelled = false;
};

} // namespace detail

/// Runs `fn()` on the blocking pool; awaiting the result is a suspension point. \shard_local
template <typename F>
[[nodiscard]] detail::blocking_awaiter<F> spawn_blocking(F fn) {
    return detail::blocking_awaiter<F>(std::move(fn));
}

} // namespace percore

/// \file
/// \brief Condition variable for tasks of one shard. No mutex is needed: nothing runs between checking the
/// predicate and parking, since tasks of a shard never run in parallel.
///
/// \code
/// percore::condition_variable cv;
/// co_await cv.wait([&] { return !queue.empty(); });          // consumer
/// queue.push_back(item); cv.signal();                         // producer
/// bool ok = co_await cv.wait_for(100ms);                      // false on timeout
/// \endcode
#pragma once

#include <coroutine>

#include "runtime/clock.hh"
#include "runtime/detail/fast_clock.hh"
#include "runtime/detail/timer_wheel.hh"
#include "runtime/detail/waiter_list.hh"
#include "runtime/task.hh"

namespace percore {

class condition_variable {
public:
    /// Parks until signalled, or until the deadline when one is given (then await_resume returns false).
    class wait_awaiter : detail::waiter_node {
    public:
        wait_awaiter(condition_variable& cv, time_point deadline) noexcept
            : _cv(cv)
            , _timeout(this)
            , _deadline(deadline) {}
        wait_awaiter(const wait_awaiter&) = delete;
        wait_awaiter& operator=(const wait_awaiter&) = delete;
        ~wait_awaiter() { disarm(); }

        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h);
        bool await_resume() {
            disarm();
            return finish() == detail::wait_outcome::done;
        }

    private:
        struct timeout_entry : detail::timer_entry {
            explicit timeout_entry(wait_awaiter* owner) noexcept
                : timer_entry(&on_timeout)
                , _owner(owner) {}
            wait_awaiter* _owner;
        };
        static void on_timeout(detail::timer_entry* e) noexcept;
        void disarm() noexcept;

        condition_variable& _cv;
        timeout_entry _timeout;
        time_point _deadline;
    };

    condition_variable() noexcept = default;
    condition_variable(const condition_variable&) = delete;
    condition_variable& operator=(const condition_variable&) = delete;

    /// Parks until signal() or broadcast(). A suspension point. \shard_local
    [[nodiscard]] wait_awaiter wait() noexcept { return {*this, time_point::max()}; }
    /// \return false when the deadline passed first. \shard_local
    [[nodiscard]] wait_awaiter wait_until(time_point deadline) noexcept { return {*this, deadline}; }
    [[nodiscard]] wait_awaiter wait_for(duration timeout) noexcept { return {*this, detail::deadline_after(timeout)}; }

    /// Parks until `pred()` holds (checked first, and after every wake-up). \shard_local
    template <typename Pred>
    task<> wait(Pred pred) {
        while (!pred()) {
            co_await wait();
        }
    }

    /// \return false if the deadline passed while `pred()` was still false. \shard_local
    template <typename Pred>
    task<bool> wait_until(time_point deadline, Pred pred) {
        while (!pred()) {
            // Bound to a variable first: GCC 12 miscompiles co_await inside an if condition (scripts/lint).
            const bool signalled = co_await wait_until(deadline);
            if (!signalled) {
                co_return pred();
            }
        }
        co_return true;
    }

    /// Wakes the longest-waiting task.
    void signal() noexcept {
        if (!_waiters.empty()) {
            _waiters.complete_front(detail::wait_outcome::done);
        }
    }
    /// Wakes every waiting task.
    void broadcast() noexcept { _waiters.complete_all(detail::wait_outcome::done); }

    [[nodiscard]] std::size_t waiters() const noexcept { return _waiters.size(); }

private:
    detail::waiter_list _waiters;
};

} // namespace percore

/// \file
/// \brief A manual-reset event: tasks wait until it is set; setting it releases all of them.
///
/// \code
/// percore::event ready;
/// auto h = percore::spawn(worker(ready));   // worker: co_await ready.wait();
/// ready.set();
/// \endcode
#pragma once

#include <coroutine>

#include "runtime/detail/waiter_list.hh"

namespace percore {

class event {
public:
    class wait_awaiter : detail::waiter_node {
    public:
        explicit wait_awaiter(event& e) noexcept
            : _e(e) {}
        bool await_ready() const noexcept { return _e._set && !detail::abort_pending(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (detail::abort_pending()) {
                _outcome = detail::wait_outcome::cancelled;
                return false;
            }
            if (_e._set) {
                return false;
            }
            _e._waiters.park(*this, h);
            return true;
        }
        void await_resume() const { (void)finish(); }

    private:
        event& _e;
    };

    event() noexcept = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Completes when the event is set (at once if it already is). A suspension point. \shard_local
    [[nodiscard]] wait_awaiter wait() noexcept { return wait_awaiter(*this); }

    void set() noexcept {
        _set = true;
        _waiters.complete_all(detail::wait_outcome::done);
    }
    void reset() noexcept { _set = false; }
    [[nodiscard]] bool is_set() const noexcept { return _set; }
    [[nodiscard]] std::size_t waiters() const noexcept { return _waiters.size(); }

private:
    bool _set = false;
    detail::waiter_list _waiters;
};

} // namespace percore

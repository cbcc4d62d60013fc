/// \file
/// \brief Counting semaphore with units, strict FIFO fairness and `try_wait`. Single shard, no atomics.
///
/// \code
/// percore::semaphore limit(64);            // at most 64 requests in flight
/// co_await limit.wait();                   // or limit.wait(bytes) to count units of memory
/// auto release = percore::defer([&] { limit.signal(); });   // runtime/defer.hh
/// \endcode
///
/// Invariants
/// - Waiters are served in arrival order: a waiter asking for many units holds back later small ones, so big
///   requests are not starved.
/// - A granted waiter that is aborted before it resumes keeps its units: completion wins over abort, units are
///   never lost, and the abort shows at the next suspension point.
#pragma once

#include <coroutine>
#include <cstddef>

#include "runtime/detail/waiter_list.hh"
#include "runtime/errors.hh"
#include "runtime/preempt.hh"

namespace percore {

class semaphore {
    struct waiter : detail::waiter_node {
        std::size_t _units = 0;
    };

public:
    class wait_awaiter : waiter {
    public:
        wait_awaiter(semaphore& s, std::size_t units) noexcept
            : _sem(s) {
            _units = units;
        }

        // Takes the units without suspending unless the time slice is over (then it takes them and yields).
        bool await_ready() noexcept {
            if (_sem.can_take(_units) && !need_preempt() && !detail::abort_pending()) {
                _sem._count -= _units;
                _outcome = detail::wait_outcome::done;
                return true;
            }
            return false;
        }

        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (detail::abort_pending()) {
                _outcome = detail::wait_outcome::cancelled;
                return false;
            }
            if (_sem._broken) {
                _outcome = detail::wait_outcome::closed;
                return false;
            }
            if (_sem.can_take(_units)) {
                _sem._count -= _units;
                _outcome = detail::wait_outcome::done;
                detail::park_and_yield(h);
                return true;
            }
            _sem._waiters.park(*this, h);
            return true;
        }

        void await_resume() const {
            if (finish() == detail::wait_outcome::closed) {
                throw broken_semaphore();
            }
        }

    private:
        semaphore& _sem;
    };

    explicit semaphore(std::size_t units) noexcept
        : _count(units) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore() { broken(); }

    /// Waits until `units` are available and takes them. A suspension point. \throws broken_semaphore
    /// \shard_local
    [[nodiscard]] wait_awaiter wait(std::size_t units = 1) noexcept { return {*this, units}; }

    /// Takes `units` if they are available now and nobody is queued. \shard_local
    bool try_wait(std::size_t units = 1) noexcept {
        if (can_take(units)) {
            _count -= units;
            return true;
        }
        return false;
    }

    /// Returns `units` and wakes the waiters they satisfy, in order. \shard_local
    void signal(std::size_t units = 1) noexcept {
        _count += units;
        grant();
    }

    /// Fails every current and future wait with broken_semaphore. \shard_local
    void broken() noexcept {
        _broken = true;
        _waiters.complete_all(detail::wait_outcome::closed);
    }

    [[nodiscard]] std::size_t available_units() const noexcept { return _count; }
    [[nodiscard]] std::size_t waiters() const noexcept { return _waiters.size(); }

private:
    [[nodiscard]] bool can_take(std::size_t units) const noexcept {
        return !_broken && _waiters.empty() && _count >= units;
    }

    void grant() noexcept {
        while (!_waiters.empty()) {
            auto& w = static_cast<waiter&>(_waiters.front());
            if (w._units > _count) {
                break;
            }
            _count -= w._units;
            _waiters.complete(w, detail::wait_outcome::done);
        }
    }

    static void regrant(void* self) noexcept { static_cast<semaphore*>(self)->grant(); }

    std::size_t _count;
    bool _broken = false;
    detail::waiter_list _waiters{&regrant, this};
};

} // namespace percore

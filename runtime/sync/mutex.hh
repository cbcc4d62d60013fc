/// \file
/// \brief A FIFO mutex for tasks of one shard (nothing to do with threads: no atomics, never blocks the reactor).
///
/// \code
/// percore::mutex m;
/// {
///     auto lock = co_await m.scoped_lock();   // unlocked when `lock` goes out of scope
///     co_await write_header(out);
///     co_await write_body(out);                // no other task interleaves its writes here
/// }
/// \endcode
#pragma once

#include <cassert>
#include <utility>

#include "runtime/sync/semaphore.hh"

namespace percore {

class mutex {
public:
    /// Owns a lock; unlocks on destruction.
    class [[nodiscard]] guard {
    public:
        explicit guard(mutex& m) noexcept
            : _m(&m) {}
        guard(guard&& o) noexcept
            : _m(std::exchange(o._m, nullptr)) {}
        guard& operator=(guard&& o) noexcept {
            if (this != &o) {
                unlock();
                _m = std::exchange(o._m, nullptr);
            }
            return *this;
        }
        ~guard() { unlock(); }
        void unlock() noexcept {
            if (_m != nullptr) {
                std::exchange(_m, nullptr)->unlock();
            }
        }

    private:
        mutex* _m;
    };

    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    /// Waits for the lock. A suspension point. Pair with unlock(). \shard_local
    [[nodiscard]] semaphore::wait_awaiter lock() noexcept { return _sem.wait(1); }

    /// Waits for the lock and returns a guard that releases it. \shard_local
    [[nodiscard]] auto scoped_lock() noexcept {
        struct awaiter {
            mutex& m;
            semaphore::wait_awaiter inner;
            bool await_ready() noexcept { return inner.await_ready(); }
            bool await_suspend(std::coroutine_handle<> h) noexcept { return inner.await_suspend(h); }
            guard await_resume() {
                inner.await_resume();
                return guard(m);
            }
        };
        return awaiter{*this, _sem.wait(1)};
    }

    [[nodiscard]] bool try_lock() noexcept { return _sem.try_wait(1); }

    void unlock() noexcept {
        assert(locked());
        _sem.signal(1);
    }

    [[nodiscard]] bool locked() const noexcept { return _sem.available_units() == 0; }

private:
    semaphore _sem{1};
};

} // namespace percore

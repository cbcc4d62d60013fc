/// \file
/// \brief Reader/writer lock for tasks of one shard, FIFO: a queued writer holds back later readers, so writers
/// are not starved.
///
/// \code
/// percore::shared_mutex m;
/// co_await m.lock_shared();   ... m.unlock_shared();   // many readers at once
/// co_await m.lock();          ... m.unlock();          // one writer, no readers
/// \endcode
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>

#include "runtime/detail/waiter_list.hh"
#include "runtime/preempt.hh"

namespace percore {

class shared_mutex {
    struct waiter : detail::waiter_node {
        bool _exclusive = false;
    };

public:
    class lock_awaiter : waiter {
    public:
        lock_awaiter(shared_mutex& m, bool exclusive) noexcept
            : _m(m) {
            _exclusive = exclusive;
        }

        bool await_ready() noexcept {
            if (_m.can_take(_exclusive) && !need_preempt() && !detail::abort_pending()) {
                _m.take(_exclusive);
                return true;
            }
            return false;
        }

        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (detail::abort_pending()) {
                _outcome = detail::wait_outcome::cancelled;
                return false;
            }
            if (_m.can_take(_exclusive)) {
                _m.take(_exclusive);
                detail::park_and_yield(h);
                return true;
            }
            _m._waiters.park(*this, h);
            return true;
        }

        void await_resume() const { (void)finish(); }

    private:
        shared_mutex& _m;
    };

    shared_mutex() noexcept = default;
    shared_mutex(const shared_mutex&) = delete;
    shared_mutex& operator=(const shared_mutex&) = delete;

    /// Exclusive lock. A suspension point. \shard_local
    [[nodiscard]] lock_awaiter lock() noexcept { return {*this, true}; }
    /// Shared lock. A suspension point. \shard_local
    [[nodiscard]] lock_awaiter lock_shared() noexcept { return {*this, false}; }

    [[nodiscard]] bool try_lock() noexcept { return try_take(true); }
    [[nodiscard]] bool try_lock_shared() noexcept { return try_take(false); }

    void unlock() noexcept {
        assert(_writer);
        _writer = false;
        grant();
    }

    void unlock_shared() noexcept {
        assert(_readers > 0);
        --_readers;
        grant();
    }

    [[nodiscard]] std::size_t readers() const noexcept { return _readers; }
    [[nodiscard]] bool locked_exclusive() const noexcept { return _writer; }

private:
    [[nodiscard]] bool free_for(bool exclusive) const noexcept {
        return exclusive ? !_writer && _readers == 0 : !_writer;
    }
    [[nodiscard]] bool can_take(bool exclusive) const noexcept { return _waiters.empty() && free_for(exclusive); }

    void take(bool exclusive) noexcept {
        if (exclusive) {
            _writer = true;
        } else {
            ++_readers;
        }
    }

    bool try_take(bool exclusive) noexcept {
        if (!can_take(exclusive)) {
            return false;
        }
        take(exclusive);
        return true;
    }

    void grant() noexcept {
        while (!_waiters.empty()) {
            auto& w = static_cast<waiter&>(_waiters.front());
            if (!free_for(w._exclusive)) {
                break;
            }
            take(w._exclusive);
            _waiters.complete(w, detail::wait_outcome::done);
        }
    }

    static void regrant(void* self) noexcept { static_cast<shared_mutex*>(self)->grant(); }

    std::size_t _readers = 0;
    bool _writer = false;
    detail::waiter_list _waiters{&regrant, this};
};

} // namespace percore

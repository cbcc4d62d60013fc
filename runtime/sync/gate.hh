/// \file
/// \brief `gate`: tracks work in progress so shutdown can wait for it (detached tasks in particular).
///
/// \code
/// percore::gate g;
/// percore::spawn_in(g, handle_connection(std::move(conn)));   // detached, but counted
/// ...
/// co_await g.close();   // refuses new work, waits until every counted task has finished
/// \endcode
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <utility>

#include "runtime/detail/waiter_list.hh"
#include "runtime/errors.hh"
#include "runtime/spawn.hh"

namespace percore {

class gate {
public:
    /// One unit of work inside the gate; leaves it on destruction.
    class [[nodiscard]] holder {
    public:
        holder() noexcept = default;
        explicit holder(gate& g) noexcept
            : _g(&g) {}
        holder(holder&& o) noexcept
            : _g(std::exchange(o._g, nullptr)) {}
        holder& operator=(holder&& o) noexcept {
            if (this != &o) {
                release();
                _g = std::exchange(o._g, nullptr);
            }
            return *this;
        }
        ~holder() { release(); }
        void release() noexcept {
            if (_g != nullptr) {
                std::exchange(_g, nullptr)->leave();
            }
        }

    private:
        gate* _g = nullptr;
    };

    class close_awaiter : detail::waiter_node {
    public:
        explicit close_awaiter(gate& g) noexcept
            : _g(g) {
            g._closed = true;
        }
        bool await_ready() const noexcept { return _g._count == 0; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (detail::abort_pending()) {
                _outcome = detail::wait_outcome::cancelled;
                return false;
            }
            _g._closers.park(*this, h);
            return true;
        }
        void await_resume() const { (void)finish(); }

    private:
        gate& _g;
    };

    gate() noexcept = default;
    gate(const gate&) = delete;
    gate& operator=(const gate&) = delete;
    ~gate() { assert(_count == 0 && "gate destroyed with work inside: close() it first"); }

    /// \throws gate_closed after close(). \shard_local
    void enter() {
        if (_closed) {
            throw gate_closed();
        }
        ++_count;
    }
    [[nodiscard]] bool try_enter() noexcept {
        if (_closed) {
            return false;
        }
        ++_count;
        return true;
    }
    void leave() noexcept {
        assert(_count > 0);
        if (--_count == 0) {
            _closers.complete_all(detail::wait_outcome::done);
        }
    }
    /// enter() wrapped in a holder. \throws gate_closed
    holder hold() {
        enter();
        return holder(*this);
    }

    /// Refuses new entries (at once, even before it is awaited) and completes when the last one left.
    /// A suspension point. \shard_local
    [[nodiscard]] close_awaiter close() noexcept { return close_awaiter(*this); }

    [[nodiscard]] std::size_t count() const noexcept { return _count; }
    [[nodiscard]] bool is_closed() const noexcept { return _closed; }

private:
    std::size_t _count = 0;
    bool _closed = false;
    detail::waiter_list _closers;
};

namespace detail {
template <typename T>
task<> run_in_gate(gate::holder held, task<T> t) {
    (void)held; // leaves the gate when this frame is destroyed, i.e. when the task has finished
    co_await std::move(t);
}
} // namespace detail

/// Spawns `t` detached, counted by `g` until it finishes. \throws gate_closed after g.close(). \shard_local
template <typename T>
void spawn_in(gate& g, task<T> t) {
    spawn(detail::run_in_gate(g.hold(), std::move(t))).detach();
}

} // namespace percore

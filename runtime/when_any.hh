/// \file
/// \brief `when_any`: run tasks concurrently, take the first to finish, abort the others.
///
/// \code
/// auto r = co_await percore::when_any(from_primary(key), from_replica(key));
/// // r.index() says which finished first; std::get<0>(r) / std::get<1>(r) holds its result
/// \endcode
///
/// The first task to finish wins, whether it returned or threw (its exception is rethrown). The others are
/// aborted and awaited before when_any returns, so none outlives the call.
///
/// \warning A loser that completed anyway is discarded with its result: if a loser was receiving from a channel
/// and a value reached it just before the abort, that value is dropped. Do not race a channel receive against
/// other work with when_any when losing an item matters; receive in one task and signal the others instead.
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/spawn.hh"
#include "runtime/when_all.hh"

namespace percore {

namespace detail {

/// Parks the caller until the first of `fibers` finishes. \return its index.
class first_finished final : public finish_listener {
public:
    explicit first_finished(const std::vector<fiber*>& fibers) noexcept
        : _fibers(fibers) {}

    bool await_ready() noexcept {
        for (std::size_t i = 0; i < _fibers.size(); ++i) {
            if (_fibers[i]->_done) {
                _winner = i;
                return true;
            }
        }
        return false;
    }

    bool await_suspend(std::coroutine_handle<> h) noexcept {
        if (abort_pending()) {
            _cancelled = true;
            return false;
        }
        for (fiber* f : _fibers) {
            f->_listener = this;
        }
        _waiter = park_current(h, {&cancel, this});
        return true;
    }

    std::size_t await_resume() {
        detach();
        if (_cancelled) {
            throw_aborted();
        }
        return _winner;
    }

    void on_finished(fiber& f) noexcept override {
        if (_winner != npos) {
            return; // a later finisher between the wake-up and the resume
        }
        for (std::size_t i = 0; i < _fibers.size(); ++i) {
            if (_fibers[i] == &f) {
                _winner = i;
            }
        }
        wake(_waiter);
    }

private:
    static constexpr std::size_t npos = ~std::size_t{0};

    void detach() noexcept {
        for (fiber* f : _fibers) {
            if (f->_listener == this) {
                f->_listener = nullptr;
            }
        }
    }

    static void cancel(void* p) noexcept {
        auto* self = static_cast<first_finished*>(p);
        self->detach();
        self->_cancelled = true;
        wake(self->_waiter);
    }

    const std::vector<fiber*>& _fibers;
    std::size_t _winner = npos;
    fiber* _waiter = nullptr;
    bool _cancelled = false;
};

/// Waits for the first fiber to finish, aborts and awaits the rest, and marks the losers' results as seen.
/// \return the winner's index. If the caller is aborted, every fiber is aborted and awaited, then `aborted` raised.
inline task<std::size_t> race(std::vector<fiber*> fibers) {
    std::exception_ptr interrupted;
    std::size_t winner = 0;
    try {
        winner = co_await first_finished(fibers);
    } catch (const aborted&) {
        interrupted = std::current_exception();
    }
    for (fiber* f : fibers) {
        fiber_abort(f);
    }
    {
        abort_shield shield;
        for (fiber* f : fibers) {
            co_await done_awaiter(f);
        }
    }
    for (std::size_t i = 0; i < fibers.size(); ++i) {
        if (i != winner || interrupted) {
            fibers[i]->_result_observed = true; // losers usually ended with `aborted`: discarded on purpose
        }
    }
    if (interrupted) {
        std::rethrow_exception(interrupted);
    }
    co_return winner;
}

template <std::size_t I, typename Variant, typename Tuple>
Variant take_indexed(Tuple& handles, std::size_t index) {
    if constexpr (I + 1 < std::tuple_size_v<Tuple>) {
        if (index != I) {
            return take_indexed<I + 1, Variant>(handles, index);
        }
    }
    return Variant(std::in_place_index<I>, take_non_void(std::get<I>(handles)));
}

} // namespace detail

/// Runs the tasks concurrently; \return the first finished task's result, at its index in the variant.
/// \shard_local
template <typename... Ts>
task<std::variant<detail::non_void_t<Ts>...>> when_any(task<Ts>... tasks) {
    static_assert(sizeof...(Ts) > 0, "when_any needs at least one task");
    std::tuple<join_handle<Ts>...> handles{spawn(std::move(tasks))...};
    auto fibers = std::apply([](auto&... h) { return std::vector<detail::fiber*>{h.fiber_ptr()...}; }, handles);
    const std::size_t winner = co_await detail::race(std::move(fibers));
    co_return detail::take_indexed<0, std::variant<detail::non_void_t<Ts>...>>(handles, winner);
}

/// Runs the tasks concurrently; \return the index and result of the first to finish (just the index for void).
/// \shard_local
template <typename T>
auto when_any(std::vector<task<T>> tasks)
    -> task<std::conditional_t<std::is_void_v<T>, std::size_t, std::pair<std::size_t, T>>> {
    if (tasks.empty()) {
        throw std::invalid_argument("when_any needs at least one task");
    }
    std::vector<join_handle<T>> handles;
    std::vector<detail::fiber*> fibers;
    handles.reserve(tasks.size());
    for (auto& t : tasks) {
        handles.push_back(spawn(std::move(t)));
        fibers.push_back(handles.back().fiber_ptr());
    }
    const std::size_t winner = co_await detail::race(std::move(fibers));
    if constexpr (std::is_void_v<T>) {
        handles[winner].result();
        co_return winner;
    } else {
        co_return std::pair<std::size_t, T>(winner, handles[winner].result());
    }
}

} // namespace percore

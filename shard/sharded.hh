/// \file
/// \brief `sharded<S>`: one instance of a service per shard, constructed and destroyed on its own shard.
///
/// \code
/// struct counter {
///     long hits = 0;
///     percore::task<> stop() { co_return; }                    // optional: awaited before destruction
/// };
/// percore::sharded<counter> counters;
/// co_await counters.start();                                   // a counter on every shard
/// co_await counters.invoke_on(2, [](counter& c) { ++c.hits; });
/// long total = co_await counters.map_reduce([](counter& c) { return c.hits; }, std::plus<long>(), 0L);
/// co_await counters.stop();
/// \endcode
///
/// A service started and not stopped explicitly is stopped by the engine at shutdown (shutdown hooks run in the
/// reverse order of start), even if the sharded object itself went away with an aborted main task.
#pragma once

#include <cassert>
#include <concepts>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "runtime/run.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore {

template <typename S>
class sharded {
    struct state {
        std::vector<S*> instances;
        std::uint64_t hook = 0;
        bool stopped = false;
    };

public:
    sharded() = default;
    sharded(const sharded&) = delete;
    sharded& operator=(const sharded&) = delete;

    /// Constructs `S(args...)` on every shard, each with its own copy of the arguments. \shard_local
    template <typename... Args>
    task<> start(Args... args) {
        if (_state) {
            throw std::logic_error("sharded<S>::start called twice");
        }
        _state = std::make_shared<state>();
        _state->instances.assign(shard_count(), nullptr);
        state* st = _state.get();
        co_await percore::invoke_on_all([st, args...]() { st->instances[this_shard_id()] = new S(args...); });
        std::shared_ptr<state> keep = _state;
        _state->hook = add_shutdown_hook([keep]() { return stop_state(keep); });
    }

    /// Runs `S::stop()` (if it has one) and destroys the instance on every shard. Idempotent. \shard_local
    task<> stop() {
        if (!_state || _state->stopped) {
            co_return;
        }
        remove_shutdown_hook(_state->hook);
        co_await stop_state(_state);
    }

    /// This shard's instance. \pre started
    S& local() noexcept {
        assert(_state && !_state->stopped);
        return *_state->instances[this_shard_id()];
    }

    /// Runs `fn(S&)` on shard `shard`'s instance; fn may return a value or a task. `budget`: as submit_to's.
    /// \shard_local
    template <typename F>
    auto invoke_on(unsigned shard, F fn, in_flight budget = in_flight::bounded) {
        state* st = live_state();
        return submit_to(
            shard, [st, fn = std::move(fn)]() mutable { return fn(*st->instances[this_shard_id()]); }, budget);
    }

    /// Runs `fn(S&)` on every instance concurrently. \shard_local
    template <typename F>
    task<> invoke_on_all(F fn) {
        state* st = live_state();
        co_await percore::invoke_on_all([st, fn]() mutable { return fn(*st->instances[this_shard_id()]); });
    }

    /// Maps every instance with `mapper(S&)` and folds in shard order. \shard_local
    template <typename Mapper, typename Reducer, typename T>
    task<T> map_reduce(Mapper mapper, Reducer reducer, T initial) {
        state* st = live_state();
        co_return co_await percore::map_reduce(
            [st, mapper]() mutable { return mapper(*st->instances[this_shard_id()]); }, std::move(reducer),
            std::move(initial));
    }

private:
    state* live_state() const {
        if (!_state || _state->stopped) {
            throw std::logic_error("sharded<S> used before start() or after stop()");
        }
        return _state.get();
    }

    static task<> stop_state(std::shared_ptr<state> st) {
        if (st->stopped) {
            co_return;
        }
        st->stopped = true;
        state* raw = st.get();
        co_await percore::invoke_on_all([raw]() -> task<> {
            S* s = std::exchange(raw->instances[this_shard_id()], nullptr);
            if constexpr (requires(S & x) {
                              { x.stop() } -> std::same_as<task<>>;
                          }) {
                co_await s->stop();
            }
            delete s;
        });
    }

    std::shared_ptr<state> _state;
};

} // namespace percore

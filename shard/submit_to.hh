/// \file
/// \brief Explicit cross-shard work: `submit_to`, `invoke_on_all`, `invoke_on_others`, `map_reduce`, `post_to`.
///
/// \code
/// int n = co_await percore::submit_to(1, [] { return local_counter(); });          // a value...
/// auto v = co_await percore::submit_to(2, [k] { return store().get(k); });          // ...or a task
/// co_await percore::invoke_on_all([] { reset_stats(); });
/// long total = co_await percore::map_reduce([] { return local_count(); }, std::plus<long>(), 0L);
/// \endcode
///
/// `fn` is moved into a message, runs on the target shard (a returned task runs there as its own fiber), and its
/// result or exception comes back to the awaiting task on its own shard. Submitting to the calling shard runs `fn`
/// directly. When `max_in_flight` messages toward a shard await their replies, submit_to waits (backpressure).
/// A request whose handler may wait on the target for something that only another request on the same pair can
/// bring (a lock released by a message) is sent `in_flight::exempt`: see "The waiting rule" in bus.hh.
/// Aborting the waiting task resumes it at once with `aborted`; the message still runs on the target and its
/// result is dropped when it comes back.
///
/// \warning `fn`'s captures travel to another core: capture values, or pointers to data owned by the target
/// shard, never references to the caller's locals that the target would use after the caller moved on.
#pragma once

#include <algorithm>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/detail/outcome.hh"
#include "runtime/spawn.hh"
#include "runtime/task.hh"
#include "runtime/when_all.hh"
#include "shard/bus.hh"
#include "shard/shard_id.hh"

namespace percore {

namespace detail {

template <typename T>
struct unwrap_task {
    using type = T;
};
template <typename T>
struct unwrap_task<task<T>> {
    using type = T;
};

/// What submit_to(shard, fn) yields: R for fn returning R or task<R>.
template <typename F>
using submit_result_t = typename unwrap_task<std::invoke_result_t<F&>>::type;

template <typename F>
task<submit_result_t<F>> invoke_here(F& fn) {
    if constexpr (is_task<std::invoke_result_t<F&>>::value) {
        co_return co_await fn();
    } else {
        co_return fn();
    }
}

/// How a message for a shard leaves the calling thread.
enum class route {
    here,          ///< it is the calling shard: run directly
    bus,           ///< another shard, through this shard's end of the bus
    unreachable,   ///< another shard, but the bus has closed or this thread's end of it is gone (engine stopped)
    no_such_shard, ///< out of range
};

/// \return how; `route::bus` means the caller must now send (during shutdown this shard has left the quiet count).
inline route route_to(unsigned shard) noexcept {
    if (shard == this_shard_id()) {
        return route::here;
    }
    shard_bus* bus = shard_bus::try_local();
    const unsigned known = bus != nullptr ? bus->shards() : std::max(shard_count(), detail::g_engine_shards);
    if (shard >= known) {
        return route::no_such_shard;
    }
    return bus != nullptr && bus->may_send() ? route::bus : route::unreachable;
}

[[noreturn]] void throw_no_such_shard(const char* who, unsigned shard);
[[noreturn]] void throw_unreachable(const char* who, unsigned shard);
/// Logs that a message for `shard` is leaked because that shard can no longer be reached.
void report_unreachable(const char* who, unsigned shard) noexcept;

/// Ends `value`'s life here without running its destructor: what it owns stays allocated, untouched. For a message
/// that cannot reach its shard, whose captures must not be freed on this one.
template <typename T>
void leak(T&& value) noexcept {
    using type = std::remove_cvref_t<T>;
    union never_destroyed {
        type kept;
        explicit never_destroyed(T&& v)
            : kept(std::forward<T>(v)) {}
        never_destroyed(const never_destroyed&) = delete;
        never_destroyed& operator=(const never_destroyed&) = delete;
        ~never_destroyed() {}
    };
    [[maybe_unused]] never_destroyed box(std::forward<T>(value));
}

/// A request whose reply resumes a waiting task. Abandoned (and freed on arrival) if that task is aborted.
template <typename F>
class submit_item final : public bus_item {
public:
    using result_type = submit_result_t<F>;

    explicit submit_item(F&& fn)
        : _fn(std::move(fn)) {}

    void process() noexcept override {
        if constexpr (is_task<std::invoke_result_t<F&>>::value) {
            spawn(run_async(this)).detach();
        } else {
            run_sync();
            shard_bus::local().respond(this);
        }
    }

    void complete() noexcept override {
        if (_abandoned) {
            delete this;
        } else {
            wake(_waiter);
        }
    }

    /// Parks the caller until the reply arrives.
    class reply_awaiter {
    public:
        explicit reply_awaiter(submit_item* item) noexcept
            : _item(item) {}
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            _item->_waiter = park_current(h, {&cancel, this});
            return true;
        }
        result_type await_resume() {
            if (_cancelled) {
                throw_aborted();
            }
            // The item came back: free it whatever happens next.
            std::unique_ptr<submit_item> owned(_item);
            return owned->_outcome.take();
        }

    private:
        static void cancel(void* p) noexcept {
            auto* self = static_cast<reply_awaiter*>(p);
            self->_item->_abandoned = true; // the bus frees it when it comes back
            self->_cancelled = true;
            wake(self->_item->_waiter);
        }
        submit_item* _item;
        bool _cancelled = false;
    };

private:
    void run_sync() noexcept { _outcome.capture(_fn); }

    static task<> run_async(submit_item* self) {
        try {
            if constexpr (std::is_void_v<result_type>) {
                co_await self->_fn();
            } else {
                self->_outcome.set_value(co_await self->_fn());
            }
        } catch (...) {
            self->_outcome.set_exception(std::current_exception());
        }
        shard_bus::local().respond(self);
    }

    F _fn;
    outcome<result_type> _outcome;
    fiber* _waiter = nullptr;
    bool _abandoned = false;
};

/// A one-way message: runs `fn` on the target, comes back only to be freed.
template <typename F>
class post_item final : public bus_item {
public:
    explicit post_item(F&& fn)
        : _fn(std::move(fn)) {}
    void process() noexcept override {
        try {
            _fn();
        } catch (...) {
            report_unobserved_exception(std::current_exception());
        }
        shard_bus::local().respond(this);
    }
    void complete() noexcept override { delete this; }

private:
    F _fn;
};

/// Queues `fn` for `shard` on this shard's end of the bus. \pre route_to(shard) == route::bus
template <typename F>
void send_one_way(unsigned shard, F&& fn) {
    using type = std::remove_cvref_t<F>;
    if constexpr (fits_in_slot<type>) {
        shard_bus::local().send_inline(shard, std::forward<F>(fn)); // no allocation, no return trip
    } else {
        shard_bus::local().send(shard, new post_item<type>(std::forward<F>(fn)));
    }
}

} // namespace detail

/// Whether a request takes one of the `max_in_flight` slots of its (source, target) pair.
enum class in_flight {
    bounded, ///< waits for a slot (backpressure) and gives it back when the reply arrives: the default
    /// Takes no slot, but travels the same ring in the same order. For a handler that may wait on the target for
    /// something another request on the same pair must bring (bus.hh, "The waiting rule"); the caller bounds how
    /// many such requests it has in flight.
    exempt,
};

/// Runs `fn()` on shard `shard` and yields its result (fn may return a value or a task). \shard_local
/// \throws std::out_of_range when `shard` does not exist; std::runtime_error when it can no longer be reached
/// (the engine has stopped).
template <typename F>
task<detail::submit_result_t<F>> submit_to(unsigned shard, F fn, in_flight budget = in_flight::bounded) {
    switch (detail::route_to(shard)) {
    case detail::route::here:
        co_return co_await detail::invoke_here(fn);
    case detail::route::unreachable:
        detail::throw_unreachable("submit_to", shard);
    case detail::route::no_such_shard:
        detail::throw_no_such_shard("submit_to", shard);
    case detail::route::bus:
        break;
    }
    shard_bus& bus = shard_bus::local();
    const bool bounded = budget == in_flight::bounded;
    if (bounded) {
        co_await bus.reserve(shard);
    }
    auto* item = new detail::submit_item<F>(std::move(fn));
    item->_holds_slot = bounded;
    bus.send(shard, item);
    co_return co_await typename detail::submit_item<F>::reply_awaiter(item);
}

/// Runs `fn()` on shard `shard` without waiting and without a reply; exceptions are logged there. Usable
/// anywhere on a shard thread (destructors, timer callbacks). Not bounded by max_in_flight. \shard_local
///
/// \throws std::out_of_range when `shard` does not exist (as submit_to does).
/// \note Once the bus has closed (every shard was quiet at once during shutdown) or this thread's end of it is
/// gone (thread_local and static destructors run after that), `fn` can no longer run on another shard. It is then
/// neither run here nor destroyed, since its captures may belong to the target (a foreign_ptr's object, for one): it is
/// leaked, and an error is logged.
template <typename F>
void post_to(unsigned shard, F fn) {
    switch (detail::route_to(shard)) {
    case detail::route::here:
        fn();
        return;
    case detail::route::bus:
        detail::send_one_way(shard, std::move(fn));
        return;
    case detail::route::unreachable:
        detail::report_unreachable("post_to", shard);
        detail::leak(std::move(fn));
        return;
    case detail::route::no_such_shard:
        break;
    }
    detail::throw_no_such_shard("post_to", shard);
}

/// Runs `fn()` on every shard concurrently (each gets a copy); completes when all did. Rethrows the first
/// exception (in shard order) after all finished. \shard_local
template <typename F>
task<> invoke_on_all(F fn) {
    std::vector<task<detail::submit_result_t<F>>> calls;
    for (unsigned s = 0; s < shard_count(); ++s) {
        calls.push_back(submit_to(s, fn));
    }
    co_await when_all(std::move(calls));
}

/// Like invoke_on_all, but skips the calling shard. \shard_local
template <typename F>
task<> invoke_on_others(F fn) {
    std::vector<task<detail::submit_result_t<F>>> calls;
    for (unsigned s = 0; s < shard_count(); ++s) {
        if (s != this_shard_id()) {
            calls.push_back(submit_to(s, fn));
        }
    }
    co_await when_all(std::move(calls));
}

/// Runs `mapper()` on every shard concurrently and folds the results in shard order:
/// `reducer(...reducer(reducer(initial, r0), r1)..., rN-1)`. \shard_local
template <typename Mapper, typename Reducer, typename T>
task<T> map_reduce(Mapper mapper, Reducer reducer, T initial) {
    std::vector<task<detail::submit_result_t<Mapper>>> calls;
    for (unsigned s = 0; s < shard_count(); ++s) {
        calls.push_back(submit_to(s, mapper));
    }
    auto results = co_await when_all(std::move(calls));
    T acc = std::move(initial);
    for (auto& r : results) {
        acc = reducer(std::move(acc), std::move(r));
    }
    co_return acc;
}

} // namespace percore

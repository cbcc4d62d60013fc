/// \file
/// \brief `when_all`: run tasks concurrently (each as its own fiber) and wait for all of them.
///
/// \code
/// auto [user, orders] = co_await percore::when_all(load_user(id), load_orders(id));
/// std::vector<int> sizes = co_await percore::when_all(std::move(fetches));   // vector<task<int>>
/// \endcode
///
/// Every task runs to its end even if another fails; then the first exception in argument order is rethrown
/// (void tasks give std::monostate in the tuple). If the waiting task is aborted, the children are aborted too,
/// and it waits for them to unwind before raising `aborted`, so no child outlives the call.
#pragma once

#include <exception>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "runtime/spawn.hh"

namespace percore {

namespace detail {

template <typename T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
non_void_t<T> take_non_void(join_handle<T>& h) {
    if constexpr (std::is_void_v<T>) {
        h.result();
        return {};
    } else {
        return h.result();
    }
}

/// Waits for every handle. If the caller is aborted meanwhile, aborts them all, waits (shielded), rethrows.
template <typename Range>
task<> wait_all_range(Range& handles) {
    std::exception_ptr interrupted;
    try {
        for (auto& h : handles) {
            co_await h.wait();
        }
    } catch (const aborted&) {
        interrupted = std::current_exception();
    }
    if (interrupted) {
        for (auto& h : handles) {
            h.abort();
        }
        abort_shield shield;
        for (auto& h : handles) {
            co_await h.wait();
        }
        std::rethrow_exception(interrupted);
    }
}

template <typename... H>
task<> wait_all(H&... handles) {
    std::exception_ptr interrupted;
    try {
        (co_await handles.wait(), ...);
    } catch (const aborted&) {
        interrupted = std::current_exception();
    }
    if (interrupted) {
        (handles.abort(), ...);
        abort_shield shield;
        (co_await handles.wait(), ...);
        std::rethrow_exception(interrupted);
    }
}

inline void keep_first(std::exception_ptr& first, std::exception_ptr e) noexcept {
    if (e && !first) {
        first = std::move(e);
    }
}

} // namespace detail

/// Runs all tasks concurrently; \return their results in argument order. \shard_local
template <typename... Ts>
task<std::tuple<detail::non_void_t<Ts>...>> when_all(task<Ts>... tasks) {
    std::tuple<join_handle<Ts>...> handles{spawn(std::move(tasks))...};
    co_await std::apply([](auto&... h) { return detail::wait_all(h...); }, handles);
    std::exception_ptr first;
    std::apply([&](auto&... h) { (detail::keep_first(first, h.exception()), ...); }, handles);
    if (first) {
        std::rethrow_exception(first);
    }
    co_return std::apply([](auto&... h) { return std::tuple<detail::non_void_t<Ts>...>{detail::take_non_void(h)...}; },
                         handles);
}

/// Runs all tasks concurrently; \return their results in order (nothing for void tasks). \shard_local
template <typename T>
auto when_all(std::vector<task<T>> tasks) -> task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
    std::vector<join_handle<T>> handles;
    handles.reserve(tasks.size());
    for (auto& t : tasks) {
        handles.push_back(spawn(std::move(t)));
    }
    co_await detail::wait_all_range(handles);
    std::exception_ptr first;
    for (auto& h : handles) {
        detail::keep_first(first, h.exception());
    }
    if (first) {
        std::rethrow_exception(first);
    }
    if constexpr (!std::is_void_v<T>) {
        std::vector<T> results;
        results.reserve(handles.size());
        for (auto& h : handles) {
            results.push_back(h.result());
        }
        co_return results;
    }
}

} // namespace percore

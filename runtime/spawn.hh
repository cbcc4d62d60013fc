/// \file
/// \brief `spawn()`: run a task as its own fiber on this shard; `join_handle<T>` to await, abort or detach it.
///
/// \code
/// auto h = percore::spawn(fetch(key));         // starts on the next scheduler pass, in the caller's task queue
/// auto timer = percore::spawn(heartbeat());
/// std::string v = co_await h;                  // result, or the exception fetch() threw
/// timer.abort();                               // heartbeat() raises percore::aborted at its next suspension
/// co_await timer.wait();
/// \endcode
///
/// A spawned task never leaves the shard that spawned it. Dropping a join_handle detaches the task (it runs on;
/// an exception nobody retrieves is logged); the reactor aborts every task still running when its main task ends.
#pragma once

#include <cassert>
#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "runtime/detail/fiber.hh"
#include "runtime/errors.hh"
#include "runtime/scheduler.hh"
#include "runtime/task.hh"
#include "runtime/task_queue.hh"

namespace percore {

template <typename T>
class join_handle;

namespace detail {

void report_unobserved_exception(std::exception_ptr e) noexcept;

/// Takes the result out of a finished root task's promise (or rethrows its exception).
template <typename T>
decltype(auto) take_result(task_promise<T>& p) {
    p._result_observed = true;
    if constexpr (std::is_void_v<T>) {
        p.result();
    } else if constexpr (std::is_reference_v<T>) {
        return p.result();
    } else {
        return T(std::move(p).result());
    }
}

/// The fiber's destroy_fn for a root task<T>: reports an exception nobody retrieved, frees the frame.
template <typename T>
void destroy_spawned(fiber* f) noexcept {
    auto& p = static_cast<task_promise<T>&>(*f);
    if (p._done && !p._result_observed && p.has_exception()) {
        report_unobserved_exception(p.exception());
    }
    std::coroutine_handle<task_promise<T>>::from_promise(p).destroy();
}

[[noreturn]] void throw_spawn_outside_reactor();

/// The queue a spawn without an explicit queue goes to. \throws std::logic_error outside a reactor thread.
inline task_queue& default_spawn_queue() {
    if (fiber* f = tl_current_fiber) {
        return *f->_queue;
    }
    if (tl_scheduler == nullptr) {
        throw_spawn_outside_reactor();
    }
    return tl_scheduler->default_queue();
}

inline void start_fiber(fiber* f, task_queue& q) noexcept {
    tl_scheduler->register_fiber(*f);
    q.push(f);
}

/// Waits for a fiber to finish. One waiter per fiber at a time.
class done_awaiter final : public finish_listener {
public:
    explicit done_awaiter(fiber* target) noexcept
        : _target(target) {}

    // A finished target wins over a pending abort of the waiter: the result is not lost.
    bool await_ready() const noexcept { return _target->_done; }

    bool await_suspend(std::coroutine_handle<> h) noexcept {
        if (abort_pending()) {
            _cancelled = true;
            return false;
        }
        assert(_target->_listener == nullptr && "a task is awaited by one waiter at a time");
        _target->_listener = this;
        _waiter = park_current(h, {&cancel, this});
        return true;
    }

    void await_resume() const {
        if (_cancelled) {
            throw_aborted();
        }
    }

    void on_finished(fiber&) noexcept override { wake(_waiter); }

private:
    static void cancel(void* p) noexcept {
        auto* self = static_cast<done_awaiter*>(p);
        self->_target->_listener = nullptr;
        self->_cancelled = true;
        wake(self->_waiter);
    }

    fiber* _target;
    fiber* _waiter = nullptr;
    bool _cancelled = false;
};

/// Waits for a fiber to finish, then yields its result (or rethrows its exception).
template <typename T>
class join_awaiter {
public:
    explicit join_awaiter(task_promise<T>* target) noexcept
        : _target(target)
        , _done(target) {}

    bool await_ready() const noexcept { return _done.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return _done.await_suspend(h); }
    decltype(auto) await_resume() {
        _done.await_resume();
        return take_result(*_target);
    }

private:
    task_promise<T>* _target;
    done_awaiter _done;
};

template <typename T>
struct is_task : std::false_type {};
template <typename T>
struct is_task<task<T>> : std::true_type {};

/// Keeps a callable (a lambda and its captures) alive for as long as the task it returns runs.
template <typename F, typename... Args>
std::invoke_result_t<F&, Args&...> call_owned(F fn, Args... args) {
    co_return co_await std::invoke(fn, args...);
}

} // namespace detail

template <typename F, typename... Args>
concept task_factory = std::invocable<F&, Args&...> && detail::is_task<std::invoke_result_t<F&, Args&...>>::value;

/// Handle to a spawned task. Move-only; destroying it detaches the task.
template <typename T>
class [[nodiscard("dropping a join_handle detaches the task; call detach() to say so")]] join_handle {
public:
    join_handle() noexcept = default;
    explicit join_handle(detail::task_promise<T> * f) noexcept
        : _f(f) {
    }
    join_handle(join_handle && other) noexcept
        : _f(std::exchange(other._f, nullptr)) {
    }
    join_handle& operator=(join_handle&& other) noexcept {
        if (this != &other) {
            reset();
            _f = std::exchange(other._f, nullptr);
        }
        return *this;
    }
    join_handle(const join_handle&) = delete;
    join_handle& operator=(const join_handle&) = delete;
    ~join_handle() {
        reset();
    }

    /// False for a default-constructed, moved-from or detached handle.
    [[nodiscard]] bool valid() const noexcept {
        return _f != nullptr;
    }
    /// The task ran to its end (returned, threw, or unwound after abort).
    [[nodiscard]] bool done() const noexcept {
        return _f != nullptr && _f->_done;
    }

    /// The task is suspended in a wait that abort() cancels at once (I/O, a timer, a sync primitive), rather than
    /// running, runnable or finished. For tests and diagnostics.
    [[nodiscard]] bool waiting() const noexcept {
        return _f != nullptr && !_f->_done && _f->_cancel.fn != nullptr;
    }

    /// Asks the task to stop: a task parked in a wait is resumed now with `aborted`; a runnable one raises it at
    /// its next suspension point. No effect on a finished task. \shard_local
    void abort() noexcept {
        if (_f != nullptr) {
            detail::fiber_abort(_f);
        }
    }

    /// Lets the task run on unobserved. \shard_local
    void detach() noexcept {
        reset();
    }

    /// Waits for the task and yields its result (or rethrows its exception). Await once. \shard_local
    auto operator co_await() noexcept {
        return detail::join_awaiter<T>(_f);
    }

    /// Waits for the task to finish without taking its result or its exception. \shard_local
    [[nodiscard]] detail::done_awaiter wait() noexcept {
        return detail::done_awaiter(_f);
    }

    /// The result of a finished task (or its exception, rethrown). \pre done()
    decltype(auto) result() {
        assert(done());
        return detail::take_result(*_f);
    }

    /// The exception a finished task ended with, or null; counts as observing it. \pre done()
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        assert(done());
        _f->_result_observed = true;
        return _f->exception();
    }

    /// The fiber behind the handle, for the runtime's own use.
    [[nodiscard]] detail::fiber* fiber_ptr() const noexcept {
        return _f;
    }

private:
    void reset() noexcept {
        if (_f != nullptr) {
            detail::fiber_release(std::exchange(_f, nullptr));
        }
    }

    detail::task_promise<T>* _f = nullptr;
};

/// Runs `t` as a new fiber in queue `q` of this shard. \shard_local
template <typename T>
join_handle<T> spawn(task_queue& q, task<T> t) {
    assert(t.valid() && !t.done());
    auto h = t.release();
    detail::task_promise<T>& p = h.promise();
    p.init(&q, h, &detail::destroy_spawned<T>);
    detail::start_fiber(&p, q);
    return join_handle<T>(&p);
}

/// Runs `t` as a new fiber in the caller's task queue. \shard_local
template <typename T>
join_handle<T> spawn(task<T> t) {
    return spawn(detail::default_spawn_queue(), std::move(t));
}

/// Calls `fn(args...)` and runs the task it returns as a new fiber; `fn` and `args` are moved into the fiber and
/// live until it finishes, so a lambda's captures stay valid across suspensions. \shard_local
template <typename F, typename... Args>
requires task_factory<F, Args...>
auto spawn(F fn, Args... args) {
    return spawn(detail::call_owned(std::move(fn), std::move(args)...));
}

/// spawn(fn, args...) into task queue `q`. \shard_local
template <typename F, typename... Args>
requires task_factory<F, Args...>
auto spawn(task_queue& q, F fn, Args... args) {
    return spawn(q, detail::call_owned(std::move(fn), std::move(args)...));
}

} // namespace percore

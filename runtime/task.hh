/// \file
/// \brief `task<T>`: a lazy, move-only coroutine with symmetric transfer.
///
/// A task does nothing until it is awaited (it then runs inline on the awaiting fiber) or handed to `spawn()`
/// (it then runs as its own fiber). Its result, or the exception it threw, reaches whoever awaits it.
///
/// \code
/// percore::task<int> answer() { co_return 42; }
/// percore::task<> caller() {
///     int v = co_await answer();   // runs answer() now, resumes here when it finishes
/// }
/// \endcode
///
/// Invariants
/// - The frame is owned by exactly one `task` object (or, once spawned, by the fiber); destroying it destroys the
///   frame, started or not.
/// - Finishing resumes the continuation directly (symmetric transfer): awaiting a chain of tasks costs no scheduler
///   round trip and no stack growth.
/// - Frames come from the per-thread size-class cache (detail/frame_allocator.hh).
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "runtime/detail/fiber.hh"
#include "runtime/detail/frame_allocator.hh"

namespace percore {

template <typename T = void>
class task;

namespace detail {

/// Every task's promise is also the fiber it becomes if spawned (see detail/fiber.hh).
class task_promise_base : public fiber {
public:
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }

        template <typename Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
            task_promise_base& p = h.promise();
            if (p._continuation) {
                return p._continuation;
            }
            // No continuation: this is the root of a spawned fiber. May destroy this frame: it is suspended, which
            // makes that legal.
            fiber_finished(&p);
            return std::noop_coroutine();
        }

        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }

    static void* operator new(std::size_t size) { return frame_alloc(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

    std::coroutine_handle<> _continuation;
};

template <typename T>
class task_promise final : public task_promise_base {
    enum class state : unsigned char { empty, value, exception };
    union {
        T _value;
        std::exception_ptr _exception;
    };
    state _state = state::empty;

public:
    task_promise() noexcept {}
    task_promise(const task_promise&) = delete;
    task_promise& operator=(const task_promise&) = delete;
    ~task_promise() {
        if (_state == state::value) {
            _value.~T();
        } else if (_state == state::exception) {
            _exception.~exception_ptr();
        }
    }

    task<T> get_return_object() noexcept;

    void unhandled_exception() noexcept {
        ::new (static_cast<void*>(&_exception)) std::exception_ptr(std::current_exception());
        _state = state::exception;
    }

    template <typename U = T>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&_value)) T(std::forward<U>(v));
        _state = state::value;
    }

    [[nodiscard]] bool has_exception() const noexcept { return _state == state::exception; }
    [[nodiscard]] std::exception_ptr exception() const noexcept {
        return _state == state::exception ? _exception : nullptr;
    }

    T& result() & {
        if (_state == state::exception) {
            std::rethrow_exception(_exception);
        }
        assert(_state == state::value);
        return _value;
    }

    T&& result() && { return std::move(result()); }
};

template <typename T>
class task_promise<T&> final : public task_promise_base {
    T* _value = nullptr;
    std::exception_ptr _exception;

public:
    task<T&> get_return_object() noexcept;
    void unhandled_exception() noexcept { _exception = std::current_exception(); }
    void return_value(T& v) noexcept { _value = std::addressof(v); }
    [[nodiscard]] bool has_exception() const noexcept { return static_cast<bool>(_exception); }
    [[nodiscard]] std::exception_ptr exception() const noexcept { return _exception; }
    T& result() {
        if (_exception) {
            std::rethrow_exception(_exception);
        }
        return *_value;
    }
};

template <>
class task_promise<void> final : public task_promise_base {
    std::exception_ptr _exception;

public:
    task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { _exception = std::current_exception(); }
    void return_void() noexcept {}
    [[nodiscard]] bool has_exception() const noexcept { return static_cast<bool>(_exception); }
    [[nodiscard]] std::exception_ptr exception() const noexcept { return _exception; }
    void result() {
        if (_exception) {
            std::rethrow_exception(_exception);
        }
    }
};

} // namespace detail

/// A lazily started coroutine producing a `T` (or throwing). Move-only; `[[nodiscard]]` so a dropped task, which
/// would never run, is a compile error under `-Werror=unused-result`.
template <typename T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

    task() noexcept = default;
    explicit task(handle_type h) noexcept
        : _h(h) {}
    task(task&& other) noexcept
        : _h(std::exchange(other._h, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            _h = std::exchange(other._h, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    /// False for a default-constructed or moved-from task.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(_h); }
    /// True once the coroutine ran to its end.
    [[nodiscard]] bool done() const noexcept { return _h && _h.done(); }

    /// Awaiting an rvalue task yields its result by value (moved out of the frame).
    auto operator co_await() && noexcept {
        struct awaiter : awaiter_base {
            decltype(auto) await_resume() {
                if constexpr (std::is_void_v<T>) {
                    this->_h.promise().result();
                } else if constexpr (std::is_reference_v<T>) {
                    return this->_h.promise().result();
                } else {
                    return T(std::move(this->_h.promise()).result());
                }
            }
        };
        return awaiter{{_h}};
    }

    /// Awaiting an lvalue task yields a reference to the result kept in the frame.
    auto operator co_await() & noexcept {
        struct awaiter : awaiter_base {
            decltype(auto) await_resume() { return this->_h.promise().result(); }
        };
        return awaiter{{_h}};
    }

    /// The coroutine handle; ownership stays with the task.
    [[nodiscard]] handle_type handle() const noexcept { return _h; }
    /// Gives up ownership of the frame (spawn() hands it to the fiber machinery).
    [[nodiscard]] handle_type release() noexcept { return std::exchange(_h, {}); }

private:
    struct awaiter_base {
        handle_type _h;
        bool await_ready() const noexcept { return _h.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            _h.promise()._continuation = awaiting;
            return _h;
        }
    };

    void destroy() noexcept {
        if (_h) {
            _h.destroy();
            _h = {};
        }
    }

    handle_type _h;
};

namespace detail {

template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}

template <typename T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}

inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

} // namespace detail

} // namespace percore

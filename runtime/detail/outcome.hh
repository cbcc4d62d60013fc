/// \file
/// \brief `outcome<T>`: a value or an exception produced in one place (another thread, another shard) and taken
/// in another.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace percore::detail {

template <typename T>
class outcome {
public:
    /// Runs `fn` and keeps what it returned or threw.
    template <typename Fn>
    void capture(Fn& fn) noexcept {
        try {
            if constexpr (std::is_void_v<T>) {
                fn();
            } else {
                _value.emplace(fn());
            }
        } catch (...) {
            _error = std::current_exception();
        }
    }

    template <typename U = T>
    requires(!std::is_void_v<U>) void set_value(U&& v) { _value.emplace(std::forward<U>(v)); }
    void set_exception(std::exception_ptr e) noexcept { _error = std::move(e); }

    /// The value, moved out, or the exception, rethrown.
    T take() {
        if (_error) {
            std::rethrow_exception(_error);
        }
        if constexpr (!std::is_void_v<T>) {
            return std::move(*_value);
        }
    }

private:
    std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> _value{};
    std::exception_ptr _error;
};

} // namespace percore::detail

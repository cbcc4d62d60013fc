/// \file
/// \brief `defer(fn)`: run a callable when the scope ends (release units, close handles).
///
/// \code
/// co_await limit.wait();
/// auto release = percore::defer([&] { limit.signal(); });
/// \endcode
#pragma once

#include <utility>

namespace percore {

/// Runs a callable when it goes out of scope (releasing units, closing handles). Also usable on its own.
template <typename F>
class [[nodiscard]] deferred_action {
public:
    explicit deferred_action(F f) noexcept
        : _f(std::move(f)) {}
    deferred_action(deferred_action&& o) noexcept
        : _f(std::move(o._f))
        , _armed(std::exchange(o._armed, false)) {}
    deferred_action(const deferred_action&) = delete;
    deferred_action& operator=(const deferred_action&) = delete;
    ~deferred_action() {
        if (_armed) {
            _f();
        }
    }
    void cancel() noexcept { _armed = false; }

private:
    F _f;
    bool _armed = true;
};

template <typename F>
deferred_action<F> defer(F f) noexcept {
    return deferred_action<F>(std::move(f));
}

} // namespace percore

#include "runtime/sync/condition_variable.hh"

#include "runtime/reactor.hh"

namespace percore {

bool condition_variable::wait_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (detail::abort_pending()) {
        _outcome = detail::wait_outcome::cancelled;
        return false;
    }
    _cv._waiters.park(*this, h);
    if (_deadline != time_point::max()) {
        reactor& r = *detail::tl_reactor;
        _timeout._deadline = r.to_tick_ceil(_deadline);
        r.timers().insert(_timeout);
    }
    return true;
}

void condition_variable::wait_awaiter::on_timeout(detail::timer_entry* e) noexcept {
    wait_awaiter* self = static_cast<timeout_entry*>(e)->_owner;
    if (self->_outcome == detail::wait_outcome::pending) {
        self->_cv._waiters.complete(*self, detail::wait_outcome::closed);
    }
}

void condition_variable::wait_awaiter::disarm() noexcept {
    if (_timeout.linked()) {
        detail::tl_reactor->timers().remove(_timeout);
    }
}

} // namespace percore

#include "runtime/timer.hh"

#include "runtime/log.hh"
#include "runtime/reactor.hh"

namespace percore {

namespace {
logger timer_log("timer");
} // namespace

timer::timer() noexcept
    : timer_entry(&on_fire) {
}

timer::timer(std::function<void()> callback) noexcept
    : timer_entry(&on_fire)
    , _callback(std::move(callback)) {
}

timer::~timer() {
    cancel();
}

void timer::insert(time_point at) {
    if (_reactor == nullptr) {
        _reactor = &this_reactor();
    }
    _at = at;
    _deadline = _reactor->to_tick_ceil(at);
    _reactor->timers().insert(*this);
}

void timer::arm(time_point at) {
    cancel();
    _period = duration::zero();
    insert(at);
}

void timer::arm_periodic(duration period) {
    cancel();
    _period = period;
    insert(detail::deadline_after(period));
}

bool timer::cancel() noexcept {
    if (!linked()) {
        return false;
    }
    _reactor->timers().remove(*this);
    return true;
}

void timer::on_fire(detail::timer_entry* e) noexcept {
    auto* self = static_cast<timer*>(e);
    if (self->_period > duration::zero()) {
        time_point next = detail::saturating_add(self->_at, self->_period);
        const time_point now = detail::fast_now();
        if (next <= now) {
            next = detail::saturating_add(now, self->_period); // fell behind: skip the missed ticks
        }
        self->insert(next);
    }
    try {
        if (self->_callback) {
            self->_callback(); // may cancel, re-arm or destroy the timer: touch nothing after this
        }
    } catch (const std::exception& ex) {
        timer_log.error("timer callback threw: {}", ex.what());
    } catch (...) {
        timer_log.error("timer callback threw an exception of unknown type");
    }
}

namespace detail {

bool sleep_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (abort_pending()) {
        _cancelled = true;
        return false;
    }
    reactor& r = *tl_reactor;
    _deadline = r.to_tick_ceil(_at);
    r.timers().insert(*this);
    _waiter = park_current(h, {&cancel, this});
    return true;
}

void sleep_awaiter::on_fire(timer_entry* e) noexcept {
    wake(static_cast<sleep_awaiter*>(e)->_waiter);
}

void sleep_awaiter::cancel(void* self) noexcept {
    auto* s = static_cast<sleep_awaiter*>(self);
    tl_reactor->timers().remove(*s);
    s->_cancelled = true;
    wake(s->_waiter);
}

} // namespace detail

detail::sleep_awaiter interval::tick() noexcept {
    const time_point at = _next;
    _next = detail::saturating_add(_next, _period);
    const time_point now = detail::fast_now();
    if (_next <= now) {
        // The consumer fell more than a period behind: realign instead of returning a burst of ready ticks.
        _next = detail::saturating_add(now, _period);
    }
    return detail::sleep_awaiter(at);
}

} // namespace percore

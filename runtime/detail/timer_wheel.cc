#include "runtime/detail/timer_wheel.hh"

#include <bit>

namespace percore::detail {

namespace {
constexpr std::uint64_t max_span = (std::uint64_t{1} << (timer_wheel::levels * timer_wheel::level_bits)) - 1;
// Farthest a clamped entry may be placed: one top-level slot short of a full turn, so it never lands in the
// slot the wheel is in now (which next() would report as due at once, forever).
constexpr std::uint64_t max_placement = (std::uint64_t{1} << (timer_wheel::levels * timer_wheel::level_bits)) -
                                        (std::uint64_t{1} << ((timer_wheel::levels - 1) * timer_wheel::level_bits));
} // namespace

void timer_wheel::place(timer_entry& e) noexcept {
    std::uint64_t when = e._deadline < _elapsed ? _elapsed : e._deadline;
    if (when - _elapsed > max_placement) {
        when = _elapsed + max_placement; // cascades back here until the real deadline is in range
    }
    std::uint64_t differing = (when ^ _elapsed) | (slots - 1);
    if (differing > max_span) {
        // `when` is in the top level's next turn (it crossed a 2^48 boundary): keep it in the top level.
        differing = max_span;
    }
    const unsigned level = static_cast<unsigned>(63 - std::countl_zero(differing)) / level_bits;
    const unsigned slot = static_cast<unsigned>(when >> (level * level_bits)) & (slots - 1);
    e._level = static_cast<std::uint8_t>(level);
    e._slot = static_cast<std::uint8_t>(slot);
    _slots[level][slot].push_back(e);
    _occupied[level] |= std::uint64_t{1} << slot;
}

void timer_wheel::insert(timer_entry& e) noexcept {
    place(e);
    ++_count;
}

void timer_wheel::remove(timer_entry& e) noexcept {
    e.unlink();
    --_count;
    if (e._level != expired_level && _slots[e._level][e._slot].empty()) {
        _occupied[e._level] &= ~(std::uint64_t{1} << e._slot);
    }
}

std::optional<timer_wheel::expiration> timer_wheel::next() const noexcept {
    for (unsigned level = 0; level < levels; ++level) {
        const std::uint64_t occupied = _occupied[level];
        if (occupied == 0) {
            continue;
        }
        const unsigned shift = level * level_bits;
        const unsigned now_slot = static_cast<unsigned>(_elapsed >> shift) & (slots - 1);
        const unsigned slot =
            (now_slot + static_cast<unsigned>(std::countr_zero(std::rotr(occupied, static_cast<int>(now_slot))))) &
            (slots - 1);
        const std::uint64_t slot_span = std::uint64_t{1} << shift;
        const std::uint64_t level_span = slot_span << level_bits;
        std::uint64_t deadline = (_elapsed & ~(level_span - 1)) + slot * slot_span;
        if (slot < now_slot) {
            deadline += level_span; // defensive: the slot belongs to the next turn of this level
        }
        return expiration{deadline, level, slot};
    }
    return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
    if (!_expired.empty()) {
        return _elapsed;
    }
    if (auto e = next()) {
        return e->deadline;
    }
    return std::nullopt;
}

void timer_wheel::abandon() noexcept {
    for (auto& level : _slots) {
        for (auto& slot : level) {
            slot.abandon();
        }
    }
    _expired.abandon();
    for (auto& bits : _occupied) {
        bits = 0;
    }
    _count = 0;
}

std::size_t timer_wheel::advance(std::uint64_t now) noexcept {
    for (;;) {
        auto exp = next();
        if (!exp || exp->deadline > now) {
            break;
        }
        if (exp->deadline > _elapsed) {
            _elapsed = exp->deadline;
        }
        auto& slot = _slots[exp->level][exp->slot];
        _occupied[exp->level] &= ~(std::uint64_t{1} << exp->slot);
        intrusive_list<timer_entry> moving;
        moving.splice_back(slot);
        while (!moving.empty()) {
            timer_entry& e = moving.pop_front();
            if (e._deadline <= _elapsed) {
                e._level = expired_level;
                _expired.push_back(e);
            } else {
                place(e); // cascade to a lower level
            }
        }
    }
    if (now > _elapsed) {
        _elapsed = now;
    }
    std::size_t fired = 0;
    while (!_expired.empty()) {
        timer_entry& e = _expired.pop_front();
        --_count;
        ++fired;
        e._fire(&e);
    }
    return fired;
}

} // namespace percore::detail

/// \file
/// \brief Hierarchical timer wheel: O(1) insert and cancel, next deadline in O(levels) through occupancy bitmaps.
///
/// Time is counted in ticks of 1024 ns. Level L has 64 slots of 64^L ticks each; eight levels cover 2^48 ticks
/// (about nine years), farther deadlines are clamped. A timer sits in the level where its deadline first differs
/// from the wheel's current tick, so every timer of level L expires after every timer of level L-1, and the first
/// occupied slot found from level 0 upwards is the next expiration. Reaching a slot of level L > 0 moves its timers
/// down ("cascade"); level 0 slots hold timers of exactly one tick.
///
/// Invariants
/// - `_occupied[L]` bit s is set exactly when `_slots[L][s]` is non-empty.
/// - No timer of a slot before the current tick remains in the wheel after advance().
/// - Entries being fired sit in `_expired` with `_level == expired_level`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "runtime/detail/intrusive_list.hh"

namespace percore::detail {

struct timer_entry : list_hook<> {
    using fire_fn = void (*)(timer_entry*) noexcept;

    explicit timer_entry(fire_fn fire) noexcept
        : _fire(fire) {}

    std::uint64_t _deadline = 0; ///< in ticks
    fire_fn _fire;
    std::uint8_t _level = 0;
    std::uint8_t _slot = 0;
};

class timer_wheel {
public:
    static constexpr unsigned tick_shift = 10; ///< one tick = 1024 ns
    static constexpr unsigned level_bits = 6;
    static constexpr unsigned slots = 1u << level_bits;
    static constexpr unsigned levels = 8;
    static constexpr std::uint8_t expired_level = 0xff;

    explicit timer_wheel(std::uint64_t now = 0) noexcept
        : _elapsed(now) {}
    timer_wheel(const timer_wheel&) = delete;
    timer_wheel& operator=(const timer_wheel&) = delete;

    /// Adds an entry whose `_deadline` is set. A deadline in the past fires on the next advance().
    void insert(timer_entry& e) noexcept;
    /// Removes a linked entry (from the wheel, or from the list being fired).
    void remove(timer_entry& e) noexcept;

    /// Tick at which advance() next has work (a timer to fire or a slot to cascade), if any.
    [[nodiscard]] std::optional<std::uint64_t> next_expiration() const noexcept;

    /// Fires, in deadline order, every entry with a deadline <= now. Callbacks may insert and remove entries;
    /// entries inserted for a past deadline fire on the next call. \return entries fired.
    std::size_t advance(std::uint64_t now) noexcept;

    /// Forgets every entry without touching it (entries living in leaked frames).
    void abandon() noexcept;

    [[nodiscard]] bool empty() const noexcept { return _count == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return _count; }
    [[nodiscard]] std::uint64_t elapsed() const noexcept { return _elapsed; }

private:
    struct expiration {
        std::uint64_t deadline;
        unsigned level;
        unsigned slot;
    };
    [[nodiscard]] std::optional<expiration> next() const noexcept;
    void place(timer_entry& e) noexcept;

    std::uint64_t _elapsed;
    std::size_t _count = 0;
    std::uint64_t _occupied[levels] = {};
    intrusive_list<timer_entry> _slots[levels][slots];
    intrusive_list<timer_entry> _expired;
};

} // namespace percore::detail

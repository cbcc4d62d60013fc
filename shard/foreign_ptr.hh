/// \file
/// \brief `foreign_ptr<P>`: hand an object owned by one shard to another; it is always destroyed on its owner.
///
/// \code
/// auto doc = percore::make_foreign(std::make_unique<document>(parse(text)));   // owned by this shard
/// co_await percore::submit_to(2, [d = std::move(doc)]() mutable { index(*d); });
/// // when shard 2 drops `d`, the document is deleted back on the shard that made it
/// \endcode
///
/// Shard-local memory allocators, caches and non-thread-safe reference counts all assume an object dies where it
/// was born; foreign_ptr keeps that true when pointers travel over the bus.
///
/// During shutdown the engine keeps every shard serving the bus until all are quiet, so a foreign_ptr dropped by
/// a task the engine aborts still goes home and is freed there. One dropped after that, from a thread_local or
/// static destructor, can no longer reach its owner (its reactor is gone): the object is then leaked, with an
/// error in the log, rather than freed on the wrong thread. A leak at exit is harmless; a free on the wrong shard
/// corrupts a shard-local allocator or reference count.
#pragma once

#include <cassert>
#include <memory>
#include <utility>

#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore {

/// P is a smart pointer (std::unique_ptr, std::shared_ptr) or another type with reset(), get() and bool.
template <typename P>
class foreign_ptr {
public:
    using element_type = typename std::pointer_traits<P>::element_type;

    foreign_ptr() noexcept = default;
    /// Takes ownership on the calling shard, which becomes the owner.
    explicit foreign_ptr(P p) noexcept
        : _p(std::move(p))
        , _owner(this_shard_id()) {}
    foreign_ptr(foreign_ptr&& o) noexcept
        : _p(std::move(o._p))
        , _owner(o._owner) {}
    foreign_ptr& operator=(foreign_ptr&& o) noexcept {
        if (this != &o) {
            reset();
            _p = std::move(o._p);
            _owner = o._owner;
        }
        return *this;
    }
    foreign_ptr(const foreign_ptr&) = delete;
    foreign_ptr& operator=(const foreign_ptr&) = delete;
    ~foreign_ptr() { reset(); }

    /// Drops the object: destroyed now on the owner shard, or sent back to it (leaked, with a log line, if the
    /// owner can no longer be reached). \pre on a shard thread
    void reset() noexcept {
        if (!_p) {
            return;
        }
        switch (detail::route_to(_owner)) {
        case detail::route::here:
            _p = P();
            return;
        case detail::route::bus:
            detail::send_one_way(_owner, [p = std::move(_p)]() mutable { p = P(); });
            break;
        case detail::route::unreachable:
        case detail::route::no_such_shard: // the engine it came from has ended
            detail::report_unreachable("foreign_ptr", _owner);
            detail::leak(std::move(_p));
            break;
        }
        _p = P(); // moved from: empty
    }

    /// Gives up ownership without destroying (the caller takes over the pointer and the owner-shard duty).
    P release() noexcept { return std::move(_p); }

    [[nodiscard]] element_type* get() const noexcept { return std::to_address(_p); }
    element_type& operator*() const noexcept { return *get(); }
    element_type* operator->() const noexcept { return get(); }
    explicit operator bool() const noexcept { return static_cast<bool>(_p); }
    [[nodiscard]] unsigned owner_shard() const noexcept { return _owner; }

    /// A second foreign_ptr to the same object (shared_ptr only), its count updated on the owner shard.
    task<foreign_ptr> copy() const requires std::is_copy_constructible_v<P> {
        const P* source = &_p;
        P copied = co_await submit_to(_owner, [source] { return *source; });
        foreign_ptr out;
        out._p = std::move(copied);
        out._owner = _owner;
        co_return out;
    }

private:
    P _p{};
    unsigned _owner = 0;
};

template <typename P>
foreign_ptr<P> make_foreign(P p) {
    return foreign_ptr<P>(std::move(p));
}

} // namespace percore

#include "runtime/detail/frame_allocator.hh"

namespace percore::detail {

namespace {

// Its destructor runs at thread exit and returns the cached blocks to the heap. Touched only on the slow path, so
// the fast path never pays for the TLS guard a non-trivial thread_local needs.
struct frame_cache_cleanup {
    ~frame_cache_cleanup() {
        frame_cache_release();
        tl_frame_cache.torn_down = true;
    }
};

} // namespace

void* frame_alloc_slow(std::size_t size_class) {
    frame_cache& fc = tl_frame_cache;
    if (!fc.registered && !fc.torn_down) {
        static thread_local frame_cache_cleanup cleanup;
        (void)cleanup;
        fc.registered = true;
    }
    return ::operator new((size_class + 1) * frame_cache::granule);
}

void frame_cache_release() noexcept {
    frame_cache& fc = tl_frame_cache;
    for (std::size_t c = 0; c < frame_cache::classes; ++c) {
        while (frame_cache::block* b = fc.free[c]) {
            fc.free[c] = b->next;
            ::operator delete(b);
        }
        fc.count[c] = 0;
    }
    fc.cached_bytes = 0;
}

} // namespace percore::detail

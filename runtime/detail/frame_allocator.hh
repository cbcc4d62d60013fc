/// \file
/// \brief Per-thread size-class cache for coroutine frames and fibers.
///
/// Frames are allocated and freed on the shard that runs them, so a thread-local free list per size class turns
/// the common spawn/complete cycle into two pointer pops and pushes with no locks. Blocks come from the global heap
/// one by one, so a block freed on another thread is still valid memory: it just joins that thread's cache.
/// Under AddressSanitizer the cache is bypassed so use-after-free of a frame is still reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace percore::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool frame_cache_enabled = false;
#else
inline constexpr bool frame_cache_enabled = true;
#endif

struct frame_cache {
    static constexpr std::size_t granule = 32;
    static constexpr std::size_t classes = 64; // frames up to 2 KiB are cached
    /// Bytes one size class may keep cached (16384 frames of 128 bytes), and all classes together: enough for
    /// tens of thousands of live tasks to be recycled without touching the heap, with a bound per shard.
    static constexpr std::size_t max_cached_bytes_per_class = std::size_t{2} << 20;
    static constexpr std::size_t max_cached_bytes = std::size_t{32} << 20;
    static constexpr std::uint32_t max_cached(std::size_t size_class) noexcept {
        return static_cast<std::uint32_t>(max_cached_bytes_per_class / ((size_class + 1) * granule));
    }

    struct block {
        block* next;
    };
    block* free[classes];
    std::uint32_t count[classes];
    std::size_t cached_bytes;
    bool registered; // thread-exit cleanup installed
    bool torn_down;  // thread is exiting: stop caching
};

// Trivial type with constant initialisation: accessing it compiles to one %fs-relative address, no TLS wrapper.
inline constinit thread_local frame_cache tl_frame_cache{};

void* frame_alloc_slow(std::size_t size_class);
void frame_cache_release() noexcept;

inline void* frame_alloc(std::size_t size) {
    if constexpr (frame_cache_enabled) {
        const std::size_t c = (size - 1) / frame_cache::granule;
        if (c < frame_cache::classes) {
            frame_cache& fc = tl_frame_cache;
            if (frame_cache::block* b = fc.free[c]) {
                fc.free[c] = b->next;
                --fc.count[c];
                fc.cached_bytes -= (c + 1) * frame_cache::granule;
                return b;
            }
            return frame_alloc_slow(c);
        }
    }
    return ::operator new(size);
}

inline void frame_free(void* p, std::size_t size) noexcept {
    if constexpr (frame_cache_enabled) {
        const std::size_t c = (size - 1) / frame_cache::granule;
        frame_cache& fc = tl_frame_cache;
        if (c < frame_cache::classes && fc.count[c] < frame_cache::max_cached(c) &&
            fc.cached_bytes < frame_cache::max_cached_bytes && !fc.torn_down) {
            auto* b = static_cast<frame_cache::block*>(p);
            b->next = fc.free[c];
            fc.free[c] = b;
            ++fc.count[c];
            fc.cached_bytes += (c + 1) * frame_cache::granule;
            return;
        }
    }
    ::operator delete(p);
}

} // namespace percore::detail

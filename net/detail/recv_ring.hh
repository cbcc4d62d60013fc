/// \file
/// \brief A shard's provided-buffer ring: the receive buffers the kernel fills for multishot receives, and their
/// reference counts while `net::buffer`s hold them.
///
/// Invariants
/// - A buffer id (bid) is in exactly one place: the kernel's ring (free), a connection's unread queue (refs 1,
///   linked through `next`), or held by `net::buffer`s (refs = number of them). It returns to the kernel when its
///   reference count drops to zero.
/// - The ring outlives the network context that made it while any buffer is held: `detach()` (the context going
///   away with its io_uring) unregisters it from the kernel, and the last release then frees the memory. A buffer
///   kept past the shard's end therefore stays valid instead of pointing into unmapped memory.
/// - Shard-local: every call comes from the thread of the shard that made it.
#pragma once

#include <cstdint>
#include <memory>

#include "net/buffer.hh"

struct io_uring;
struct io_uring_buf_ring;

namespace percore::net::detail {

class recv_ring final : public buffer_owner {
public:
    static constexpr std::uint16_t no_buffer = 0xffff;
    static constexpr std::uint16_t buffer_group = 0;

    /// Maps `count` buffers of `size` bytes and registers them with `ring`. \return null when the kernel refuses
    /// (before 5.19, or a seccomp filter), with the reason in `error` (an errno). \throws std::system_error when
    /// the memory cannot be mapped.
    static recv_ring* create(io_uring& ring, unsigned count, unsigned size, int& error);

    recv_ring(const recv_ring&) = delete;
    recv_ring& operator=(const recv_ring&) = delete;

    /// The io_uring is going away: unregister from it; free now if no buffer is held, else at the last release.
    void detach() noexcept;
    /// The kernel may still write into the buffers (shutdown gave up waiting for it): never free or reuse them.
    void abandon() noexcept;

    [[nodiscard]] unsigned free_buffers() const noexcept { return _free; }
    [[nodiscard]] unsigned count() const noexcept { return _count; }

    /// A buffer id the kernel just filled with `len` bytes: now held once, by the caller.
    void filled(std::uint16_t bid, std::uint32_t len) noexcept {
        --_free;
        _refs[bid] = 1;
        _length[bid] = len;
    }
    /// A buffer id the kernel consumed without filling it (a completion with no bytes): straight back.
    void unused(std::uint16_t bid) noexcept {
        --_free;
        recycle(bid);
    }
    [[nodiscard]] std::uint32_t length(std::uint16_t bid) const noexcept { return _length[bid]; }
    std::uint16_t& next(std::uint16_t bid) noexcept { return _next[bid]; }
    /// Hands out the caller's reference to `bid` as a buffer over its filled bytes.
    [[nodiscard]] buffer to_buffer(std::uint16_t bid) noexcept { return buffer(slot(bid), _length[bid], this, bid); }

    void retain(std::uintptr_t bid) noexcept override { ++_refs[bid]; }
    void release(std::uintptr_t bid) noexcept override {
        if (--_refs[bid] == 0) {
            recycle(static_cast<std::uint16_t>(bid));
        }
    }

private:
    recv_ring(unsigned count, unsigned size, void* mapping, std::size_t mapping_size, std::size_t ring_bytes);
    ~recv_ring();
    [[nodiscard]] char* slot(std::uint16_t bid) const noexcept {
        return _memory + static_cast<std::size_t>(bid) * _size;
    }
    void recycle(std::uint16_t bid) noexcept;

    unsigned _count;
    unsigned _size;
    void* _mapping; // descriptor ring, then the buffers
    std::size_t _mapping_size;
    char* _memory;
    io_uring_buf_ring* _kernel_ring;
    io_uring* _uring = nullptr; // null once detached
    unsigned _free = 0;         // buffers the kernel may fill
    bool _abandoned = false;
    // 32-bit counts: a buffer can be shared more than 65 535 times (a reply fanned out to many connections).
    std::unique_ptr<std::uint32_t[]> _refs;
    std::unique_ptr<std::uint16_t[]> _next;
    std::unique_ptr<std::uint32_t[]> _length;
};

} // namespace percore::net::detail

/// \file
/// \brief A shard's network state: the provided-buffer ring connections receive into, and the registry of socket
/// objects whose operations must finish before the reactor's ring goes away.
///
/// Invariants
/// - One per reactor (a reactor_extension), created on the first socket a shard opens; shard-local throughout.
/// - A ring buffer (bid) is in exactly one place: the kernel's ring (free), a connection's unread queue (refs 1,
///   linked through `_next`), or held by `net::buffer`s (refs = number of them). It returns to the kernel when
///   its reference count drops to zero.
/// - Every socket object with an SQE in flight is registered here. The destructor cancels them and reaps until
///   none is left, so the kernel never writes into memory that was freed.
#pragma once

#include <cstdint>
#include <memory>

#include "net/buffer.hh"
#include "net/config.hh"
#include "runtime/detail/intrusive_list.hh"
#include "runtime/reactor.hh"

struct io_uring_buf_ring;

namespace percore::net::detail {

struct net_object_tag {};

/// Base of socket objects that own in-flight SQEs (connections, listeners, UDP channels).
class net_object : public percore::detail::list_hook<net_object_tag> {
public:
    /// Asks the kernel to cancel every operation in flight (the shard is shutting down).
    virtual void cancel_all() noexcept = 0;
    /// True once nothing is in flight.
    [[nodiscard]] virtual bool idle() const noexcept = 0;

protected:
    ~net_object() = default;
};

class net_context final : public reactor_extension, public buffer_owner {
public:
    static constexpr std::uint16_t no_buffer = 0xffff;
    static constexpr std::uint16_t buffer_group = 0;

    explicit net_context(reactor& r);
    ~net_context() override;

    /// This shard's context (created on first use). \shard_local
    static net_context& local();

    [[nodiscard]] reactor& owner() noexcept { return _reactor; }
    [[nodiscard]] const config& settings() const noexcept { return _config; }

    /// Whether the kernel accepted the buffer ring (else connections receive into heap buffers, one at a time).
    [[nodiscard]] bool ring_available() const noexcept { return _ring != nullptr; }
    [[nodiscard]] unsigned free_buffers() const noexcept { return _free; }
    /// Multishot receive (Linux 6.0+) and accept (5.19+): older kernels get one operation per arm. Multishot
    /// is a flag of an existing opcode, so the opcode probe cannot tell; the kernel version does.
    [[nodiscard]] bool multishot_recv() const noexcept { return _multishot_recv; }
    [[nodiscard]] bool multishot_accept() const noexcept { return _multishot_accept; }

    /// A buffer id the kernel just filled with `len` bytes: now held once, by the caller.
    void filled(std::uint16_t bid, std::uint32_t len) noexcept {
        --_free;
        _refs[bid] = 1;
        _length[bid] = len;
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

    void track(net_object& o) noexcept { _objects.push_back(o); }
    static void untrack(net_object& o) noexcept { o.unlink(); }

private:
    [[nodiscard]] char* slot(std::uint16_t bid) const noexcept {
        return _memory + static_cast<std::size_t>(bid) * _config.recv_buffer_size;
    }
    void recycle(std::uint16_t bid) noexcept;

    reactor& _reactor;
    config _config;
    void* _mapping = nullptr; // descriptor ring, then the buffers
    char* _memory = nullptr;
    std::size_t _memory_size = 0;
    io_uring_buf_ring* _ring = nullptr;
    unsigned _free = 0;
    bool _multishot_recv = false;
    bool _multishot_accept = false;
    std::unique_ptr<std::uint16_t[]> _refs;
    std::unique_ptr<std::uint16_t[]> _next;
    std::unique_ptr<std::uint32_t[]> _length;
    percore::detail::intrusive_list<net_object, net_object_tag> _objects;
};

} // namespace percore::net::detail

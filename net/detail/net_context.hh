/// \file
/// \brief A shard's network state: the provided-buffer ring connections receive into, and the registry of socket
/// objects whose operations must finish before the reactor's ring goes away.
///
/// Invariants
/// - One per reactor (a reactor_extension), created on the first socket a shard opens; shard-local throughout.
/// - The receive buffers live in a `recv_ring` (see there), which outlives this context while buffers are held.
/// - Every socket object with an SQE in flight is registered here. The destructor cancels them and reaps until
///   none is left, so the kernel never writes into memory that was freed.
#pragma once

#include <cstdint>
#include <memory>

#include "net/buffer.hh"
#include "net/config.hh"
#include "net/detail/recv_ring.hh"
#include "runtime/detail/intrusive_list.hh"
#include "runtime/reactor.hh"

namespace percore::net::detail {

struct net_object_tag {};

/// Base of socket objects that own in-flight SQEs (connections, listeners, UDP channels).
class net_object : public percore::detail::list_hook<net_object_tag> {
public:
    /// Asks the kernel to cancel every operation in flight (the shard is shutting down).
    virtual void cancel_all() noexcept = 0;
    /// True once nothing is in flight.
    [[nodiscard]] virtual bool idle() const noexcept = 0;
    /// The shard's network context is going away while this object lives on (held by code that outlives the
    /// shard): let go of everything that belongs to the shard (ring buffers, timers) now, and touch nothing of it
    /// again (the destructor then only closes the socket).
    virtual void detach() noexcept {}

protected:
    ~net_object() = default;
};

/// Stream counters of one shard (its percore_net_* metrics read them).
struct net_stats {
    std::uint64_t bytes_received = 0; ///< by TCP/Unix streams
    std::uint64_t bytes_sent = 0;
    /// Receives that ended with ENOBUFS: the provided-buffer ring was empty (the stream then falls back to a heap
    /// buffer, counted in heap_receives).
    std::uint64_t recv_enobufs = 0;
    /// Receives into a heap buffer because the ring had no free buffer when data arrived.
    std::uint64_t heap_receives = 0;
    /// Receives armed now that hold a heap buffer (0 whenever no data is waiting: idle readers wait with a
    /// readiness poll, not a buffer).
    std::uint64_t heap_receives_in_flight = 0;
    /// Multishot receives stopped because a connection held too much unread data or too many ring buffers.
    std::uint64_t receives_paused = 0;
};

class net_context final : public reactor_extension {
public:
    static constexpr std::uint16_t no_buffer = recv_ring::no_buffer;
    static constexpr std::uint16_t buffer_group = recv_ring::buffer_group;

    explicit net_context(reactor& r);
    ~net_context() override;

    /// This shard's context (created on first use). \shard_local
    static net_context& local();

    [[nodiscard]] reactor& owner() noexcept { return _reactor; }
    [[nodiscard]] const config& settings() const noexcept { return _config; }

    /// Whether the kernel accepted the buffer ring (else connections receive into heap buffers, one at a time).
    [[nodiscard]] bool ring_available() const noexcept { return _buffers != nullptr; }
    /// The ring. \pre ring_available()
    [[nodiscard]] recv_ring& buffers() noexcept { return *_buffers; }
    [[nodiscard]] unsigned free_buffers() const noexcept { return _buffers != nullptr ? _buffers->free_buffers() : 0; }
    /// Ring buffers one connection may hold unread before its receive pauses (config::max_unread_buffers, or
    /// its default).
    [[nodiscard]] unsigned max_unread_buffers() const noexcept { return _max_unread_buffers; }
    /// Multishot receive (Linux 6.0+) and accept (5.19+): older kernels get one operation per arm. Multishot
    /// is a flag of an existing opcode, so the opcode probe cannot tell; the kernel version does (or
    /// PERCORE_NET_ONESHOT=1, to run the older path on a newer kernel).
    [[nodiscard]] bool multishot_recv() const noexcept { return _multishot_recv; }
    [[nodiscard]] bool multishot_accept() const noexcept { return _multishot_accept; }

    [[nodiscard]] net_stats& stats() noexcept { return _stats; }

    void track(net_object& o) noexcept { _objects.push_back(o); }
    static void untrack(net_object& o) noexcept { o.unlink(); }

private:
    reactor& _reactor;
    config _config;
    recv_ring* _buffers = nullptr; // frees itself (see recv_ring)
    unsigned _max_unread_buffers = 0;
    bool _multishot_recv = false;
    bool _multishot_accept = false;
    net_stats _stats;
    metrics::registration _metrics;
    percore::detail::intrusive_list<net_object, net_object_tag> _objects;
};

} // namespace percore::net::detail

/// \file
/// \brief The cross-shard message bus: for every ordered pair of shards two Boost.Lockfree SPSC rings, one for
/// requests and one for their completions. Users go through submit_to.hh; this is the machinery.
///
/// Invariants
/// - An item is allocated on its source shard and freed there: it travels source -> target on the request ring
///   and target -> source on the completion ring, and is only touched by one shard at a time. Small trivially
///   copyable one-way closures travel inside the ring slot instead and need neither.
/// - Per (source, target) pair, requests are processed in the order they were sent.
/// - Senders batch: items wait in a per-target pending list and are pushed at the end of the reactor pass (or as
///   soon as 64 are waiting: each push costs the target's poll hint, a full barrier and a look at its sleep flag). A
///   full ring never blocks or drops: leftovers stay pending for the next flush, and a shard with leftovers does not
///   sleep.
/// - In-flight requests per pair are bounded by a semaphore (`max_in_flight`): submit_to waits for a slot, which is
///   the backpressure, and which keeps two shards flooding each other from deadlocking on full rings.
/// - After pushing, a sender asks the target to poll soon (its poll hint, which also cuts a busy target's time
///   slice short) and wakes it only if it announced sleep (store, barrier, check: see runtime/detail/fence.hh).
/// - Counters touched by other shards live on their own cache lines.
/// - Shutdown (quiescent()): every shard keeps serving the bus until all are counted quiet at once, which closes
///   the bus for good. A shard counts itself quiet only when its own messages have all been taken out of the rings,
///   and leaves the count before it takes or sends one; so a full count means no message is in a ring or being
///   handled. Sends after the close are refused (may_send()): submit_to throws, post_to leaks with a log line.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "runtime/poller.hh"
#include "runtime/reactor.hh"
#include "runtime/sync/semaphore.hh"

namespace percore {

namespace detail {

/// One unit of cross-shard work.
class bus_item {
public:
    bus_item() = default;
    bus_item(const bus_item&) = delete;
    bus_item& operator=(const bus_item&) = delete;
    virtual ~bus_item() = default;

    /// On the target shard: do the work, then call `shard_bus::local().respond(this)` (now, or later from a task).
    virtual void process() noexcept = 0;
    /// Back on the source shard: deliver the result. May delete the item.
    virtual void complete() noexcept = 0;

    static void* operator new(std::size_t size) { return frame_alloc(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

    bus_item* _next = nullptr; // link in one pending list at a time
    unsigned _source = 0;
    unsigned _target = 0;
    bool _holds_slot = false; // took an in-flight unit of the (source, target) semaphore
};

/// What a request ring carries: a heap item (request/reply, or a one-way message with a non-trivial closure), or a
/// small trivially copyable one-way closure stored in the slot itself, which needs no allocation and no return
/// trip. Both kinds share one ring, so per-pair order holds across them.
struct bus_slot {
    using call_fn = void (*)(bus_slot&) noexcept;
    static constexpr std::size_t inline_capacity = 24;

    call_fn call = nullptr; // null: `item` is a heap item
    union {
        bus_item* item;
        alignas(8) unsigned char payload[inline_capacity];
    };

    bus_slot() noexcept
        : item(nullptr) {}
};
static_assert(sizeof(bus_slot) == 32, "two slots per cache line");

template <typename F>
inline constexpr bool fits_in_slot = std::is_trivially_copyable_v<F> && sizeof(F) <= bus_slot::inline_capacity &&
                                     alignof(F) <= 8;

void report_inline_failure(std::exception_ptr e) noexcept;

/// Test seam (tests/shard/bus_shutdown_test.cc): when set, shard_bus::quiescent() calls it after deciding that its
/// shard is quiet and before it touches the shared quiet count, so a test can run another shard in that window.
/// Set it only while no engine runs. Null otherwise: one well-predicted branch per pass, during shutdown only.
using quiescent_probe_fn = void (*)(unsigned shard);
inline constinit quiescent_probe_fn quiescent_probe = nullptr; // a typedef: GCC refuses constinit on the declarator

} // namespace detail

class bus;

/// One shard's end of the bus; the poller its reactor runs every pass.
class shard_bus final : public poller {
public:
    shard_bus(bus& b, unsigned id, reactor& r);
    shard_bus(const shard_bus&) = delete;
    shard_bus& operator=(const shard_bus&) = delete;
    ~shard_bus() override;

    /// The endpoint of the calling shard. \pre an engine runs on this thread
    static shard_bus& local() noexcept { return *tl_local; }
    static shard_bus* try_local() noexcept { return tl_local; }

    [[nodiscard]] unsigned id() const noexcept { return _id; }
    [[nodiscard]] unsigned shards() const noexcept { return static_cast<unsigned>(_out.size()); }

    /// Waits for an in-flight slot toward `target` (backpressure). \shard_local
    [[nodiscard]] semaphore::wait_awaiter reserve(unsigned target) noexcept { return _slots[target]->wait(1); }

    /// Queues a request; the item must hold a slot from reserve() unless it is a one-way message. \shard_local
    void send(unsigned target, detail::bus_item* item) noexcept;

    /// Queues a small one-way closure, carried in the ring slot itself. \shard_local
    template <typename F>
    requires detail::fits_in_slot<F>
    void send_inline(unsigned target, F fn) noexcept {
        detail::bus_slot slot;
        // The closure is built in the slot; the rings then copy the slot bytewise, which for a trivially copyable
        // type is a copy of the object.
        ::new (static_cast<void*>(slot.payload)) F(std::move(fn));
        slot.call = [](detail::bus_slot& s) noexcept {
            try {
                (*std::launder(reinterpret_cast<F*>(s.payload)))();
            } catch (...) {
                detail::report_inline_failure(std::current_exception());
            }
        };
        enqueue(target, slot);
    }

    /// Queues the completion of a processed request back to its source. \shard_local
    void respond(detail::bus_item* item) noexcept;

    /// Call before send() or send_inline(). During shutdown a shard counted quiet leaves the count first.
    /// \return false once the bus has closed (every shard was quiet at once): nothing can be delivered any more.
    /// \shard_local
    [[nodiscard]] bool may_send() noexcept { return !_counted_quiet || leave_quiet(); }

    // poller
    bool poll() override;
    bool try_enter_sleep() override;
    bool quiescent() override;
    bool expecting() override { return _outstanding != 0; }

    /// Over all peers. Once the engine has stopped, the sums over all shards satisfy sent == processed, and
    /// completed == sent minus the one-way messages carried in ring slots.
    struct stats {
        std::uint64_t sent = 0;      ///< requests queued by this shard (one-way ones included)
        std::uint64_t processed = 0; ///< requests run on this shard (one-way ones included)
        std::uint64_t completed = 0; ///< completions that came back to this shard
        std::uint64_t flushes = 0;   ///< flushes that pushed something
        std::uint64_t wakeups = 0;   ///< eventfd writes: a peer we pushed to had announced sleep
    };
    [[nodiscard]] const stats& counters() const noexcept { return _stats; }

private:
    /// Items waiting to go back to their source (intrusive: an item is in one list at a time).
    struct pending_list {
        detail::bus_item* head = nullptr;
        detail::bus_item* tail = nullptr;
        std::uint32_t count = 0;
        void push(detail::bus_item* item) noexcept;
    };

    /// Requests waiting for room in a ring, in order: [head, slots.size()).
    struct pending_slots {
        std::vector<detail::bus_slot> slots;
        std::size_t head = 0;
        [[nodiscard]] std::size_t count() const noexcept { return slots.size() - head; }
    };

    void enqueue(unsigned target, const detail::bus_slot& slot) noexcept;

    /// Pops every incoming ring of one kind, in batches, handing each element to `handle`.
    template <typename RingMember, typename Handle>
    bool drain(RingMember ring, Handle handle);
    bool drain_completions();
    bool drain_requests();
    bool flush();
    void notify_touched() noexcept;
    bool flush_requests(unsigned peer);
    bool flush_completions(unsigned peer);
    void touch(unsigned peer);
    [[nodiscard]] bool has_incoming() const noexcept;
    [[nodiscard]] bool has_pending() const noexcept;
    /// Whether our peers took everything we pushed into their rings.
    [[nodiscard]] bool all_delivered() const noexcept;
    /// Leaves the shutdown quiet count. \return false if the bus has closed.
    bool leave_quiet() noexcept;

    static inline constinit thread_local shard_bus* tl_local = nullptr;

    bus& _bus;
    unsigned _id;
    reactor& _reactor;
    std::vector<pending_slots> _out; // requests, by target
    std::vector<pending_list> _back; // completions, by source
    std::vector<std::unique_ptr<semaphore>> _slots;
    std::vector<unsigned> _touched;  // peers pushed to in the current flush
    std::uint64_t _outstanding = 0;  // requests sent whose completion has not come back
    bool _counted_quiet = false;     // counted in bus::_quiet_shards (shutdown)
    bool _awaiting_delivery = false; // shutdown: quiet but for messages of ours still in a peer's rings
    stats _stats;
};

/// The queues between all shards of an engine, plus the shutdown rendezvous. Created before the shards start and
/// destroyed after they all stopped.
class bus {
public:
    static constexpr std::size_t ring_capacity = 128;
    static constexpr std::uint32_t flush_batch = 64;

    bus(unsigned shards, unsigned max_in_flight);
    bus(const bus&) = delete;
    bus& operator=(const bus&) = delete;
    ~bus();

    [[nodiscard]] unsigned shards() const noexcept { return _shards; }
    [[nodiscard]] unsigned max_in_flight() const noexcept { return _max_in_flight; }

    /// Registers shard `id`'s reactor; call on that shard's thread, before any shard sends. \return its endpoint.
    std::unique_ptr<shard_bus> attach(unsigned id, reactor& r);

private:
    friend class shard_bus;
    struct rings;

    rings& between(unsigned from, unsigned to) noexcept { return *_rings[from * _shards + to]; }
    /// After pushing to `shard`'s rings: ask it to poll, and wake it if it sleeps. \return whether it slept.
    bool notify(unsigned shard) noexcept;

    unsigned _shards;
    unsigned _max_in_flight;
    std::vector<std::unique_ptr<rings>> _rings;
    std::vector<reactor*> _reactors;
    /// Shards counted quiet during shutdown; once it reaches `_shards` it never moves again (the bus is closed).
    alignas(64) std::atomic<unsigned> _quiet_shards{0};
};

} // namespace percore

#include "shard/bus.hh"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/lockfree/spsc_queue.hpp>

#include "runtime/log.hh"
#include "runtime/spawn.hh"
#include "shard/shard_id.hh"
#include "shard/submit_to.hh"

namespace percore {

namespace {
logger bus_log("bus");
} // namespace

namespace detail {

void report_inline_failure(std::exception_ptr e) noexcept {
    report_unobserved_exception(std::move(e));
}

void throw_no_such_shard(const char* who, unsigned shard) {
    const shard_bus* bus = shard_bus::try_local();
    const unsigned shards = bus != nullptr ? bus->shards() : shard_count();
    throw std::out_of_range(std::string(who) + ": shard " + std::to_string(shard) + " does not exist (" +
                            std::to_string(shards) + (shards == 1 ? " shard)" : " shards)"));
}

void throw_unreachable(const char* who, unsigned shard) {
    throw std::runtime_error(std::string(who) + ": shard " + std::to_string(shard) +
                             " can no longer be reached: the engine has stopped");
}

void report_unreachable(const char* who, unsigned shard) noexcept {
    bus_log.error("{}: shard {} can no longer be reached (the engine has stopped); what was sent there is leaked, "
                  "neither run nor freed on shard {}",
                  who, shard, this_shard_id());
}

} // namespace detail

struct bus::rings {
    // Padding between the two keeps the request and completion rings off each other's cache lines.
    boost::lockfree::spsc_queue<detail::bus_slot, boost::lockfree::capacity<ring_capacity>> requests;
    alignas(64) boost::lockfree::spsc_queue<detail::bus_item*, boost::lockfree::capacity<ring_capacity>> completions;
};

bus::bus(unsigned shards, unsigned max_in_flight)
    : _shards(shards)
    , _max_in_flight(max_in_flight)
    , _reactors(shards, nullptr) {
    _rings.resize(static_cast<std::size_t>(shards) * shards);
    for (unsigned from = 0; from < shards; ++from) {
        for (unsigned to = 0; to < shards; ++to) {
            if (from != to) {
                _rings[from * shards + to] = std::make_unique<rings>();
            }
        }
    }
}

bus::~bus() = default;

bool bus::notify(unsigned shard) noexcept {
    reactor& r = *_reactors[shard];
    r.request_poll(); // cuts a busy peer's slice short so it polls soon
    r.notify_barrier();
    return r.wake(); // only if it announced sleep
}

std::unique_ptr<shard_bus> bus::attach(unsigned id, reactor& r) {
    _reactors[id] = &r;
    return std::make_unique<shard_bus>(*this, id, r);
}

void shard_bus::pending_list::push(detail::bus_item* item) noexcept {
    item->_next = nullptr;
    if (tail != nullptr) {
        tail->_next = item;
    } else {
        head = item;
    }
    tail = item;
    ++count;
}

shard_bus::shard_bus(bus& b, unsigned id, reactor& r)
    : _bus(b)
    , _id(id)
    , _reactor(r)
    , _out(b.shards())
    , _back(b.shards()) {
    _slots.reserve(b.shards());
    for (unsigned t = 0; t < b.shards(); ++t) {
        _slots.push_back(std::make_unique<semaphore>(b.max_in_flight()));
    }
    _touched.reserve(b.shards());
    _peers.resize(b.shards());
    tl_local = this;
    r.add_poller(*this);
    _metrics = r.metrics().add_collector([this](metrics::sample_sink& out) {
        for (unsigned peer = 0; peer < shards(); ++peer) {
            if (peer == _id) {
                continue;
            }
            const metrics::labels l{{"peer", std::to_string(peer)}};
            out.counter("percore_bus_messages_sent_total", "Cross-shard requests queued toward a peer shard", l,
                        static_cast<double>(_peers[peer].sent));
            out.counter("percore_bus_messages_received_total", "Cross-shard requests taken from a peer shard", l,
                        static_cast<double>(_peers[peer].received));
            out.gauge("percore_bus_queue_depth_messages",
                      "Requests toward a peer it has not taken yet (waiting for ring room, or in the ring)", l,
                      static_cast<double>(queue_depth(peer)));
        }
        out.counter("percore_bus_wakeups_total", "Peers woken from sleep (eventfd writes) after a flush", {},
                    static_cast<double>(_stats.wakeups));
    });
}

shard_bus::~shard_bus() {
    _reactor.remove_poller(*this);
    tl_local = nullptr;
    assert(_outstanding == 0 && !has_pending());
}

bool shard_bus::leave_quiet() noexcept {
    unsigned quiet = _bus._quiet_shards.load(std::memory_order_relaxed);
    do {
        if (quiet == _bus._shards) {
            return false; // closed: every shard was quiet at once, and the count never moves again
        }
    } while (!_bus._quiet_shards.compare_exchange_weak(quiet, quiet - 1, std::memory_order_acq_rel,
                                                       std::memory_order_relaxed));
    _counted_quiet = false;
    return true;
}

void shard_bus::send(unsigned target, detail::bus_item* item) noexcept {
    item->_source = _id;
    item->_target = target;
    ++_outstanding;
    detail::bus_slot slot;
    slot.item = item;
    enqueue(target, slot);
}

void shard_bus::enqueue(unsigned target, const detail::bus_slot& slot) noexcept {
    assert(!_counted_quiet && "a shard counted quiet sends nothing: call may_send() first");
    _awaiting_delivery = false;
    ++_stats.sent;
    ++_peers[target].sent;
    pending_slots& p = _out[target];
    p.slots.push_back(slot);
    if (p.count() >= bus::flush_batch) {
        flush_requests(target);
        notify_touched();
    }
}

void shard_bus::respond(detail::bus_item* item) noexcept {
    assert(!_counted_quiet);
    ++_stats.processed;
    _back[item->_source].push(item);
}

void shard_bus::touch(unsigned peer) {
    if (std::find(_touched.begin(), _touched.end(), peer) == _touched.end()) {
        _touched.push_back(peer);
    }
}

bool shard_bus::flush_requests(unsigned peer) {
    pending_slots& p = _out[peer];
    if (p.count() == 0) {
        return false;
    }
    const std::size_t pushed = _bus.between(_id, peer).requests.push(p.slots.data() + p.head, p.count());
    if (pushed == 0) {
        return false; // ring full: the rest waits for the next flush
    }
    p.head += pushed;
    if (p.head == p.slots.size()) {
        p.slots.clear(); // keeps the capacity: the common case allocates nothing
        p.head = 0;
    } else if (p.head >= 4096 && p.head * 2 >= p.slots.size()) {
        // A target that lags behind a steady stream never lets the list drain: drop the sent prefix now and then.
        p.slots.erase(p.slots.begin(), p.slots.begin() + static_cast<std::ptrdiff_t>(p.head));
        p.head = 0;
    }
    touch(peer);
    return true;
}

bool shard_bus::flush_completions(unsigned peer) {
    pending_list& pending = _back[peer];
    if (pending.count == 0) {
        return false;
    }
    auto& ring = _bus.between(_id, peer).completions;
    bool pushed_any = false;
    while (pending.head != nullptr) {
        detail::bus_item* batch[bus::ring_capacity];
        const std::size_t room = std::min<std::size_t>(ring.write_available(), bus::ring_capacity);
        std::size_t n = 0;
        detail::bus_item* rest = pending.head;
        for (; rest != nullptr && n < room; rest = rest->_next) {
            batch[n++] = rest;
        }
        // `rest` was read before the push: once pushed, an item belongs to the peer, which reuses its link.
        const std::size_t pushed = n == 0 ? 0 : ring.push(batch, n);
        if (pushed == 0) {
            break; // ring full: the rest waits for the next flush
        }
        pushed_any = true;
        pending.count -= static_cast<std::uint32_t>(pushed);
        pending.head = pushed < n ? batch[pushed] : rest;
        if (pending.head == nullptr) {
            pending.tail = nullptr;
        }
        if (pushed < n) {
            break;
        }
    }
    if (pushed_any) {
        touch(peer);
    }
    return pushed_any;
}

void shard_bus::notify_touched() noexcept {
    if (_touched.empty()) {
        return;
    }
    ++_stats.flushes;
    for (unsigned peer : _touched) {
        _stats.wakeups += _bus.notify(peer) ? 1 : 0;
    }
    _touched.clear();
}

bool shard_bus::flush() {
    bool any = false;
    for (unsigned peer = 0; peer < _out.size(); ++peer) {
        if (peer == _id) {
            continue;
        }
        any |= flush_completions(peer);
        any |= flush_requests(peer);
    }
    notify_touched();
    return any;
}

template <typename RingMember, typename Handle>
bool shard_bus::drain(RingMember ring, Handle handle) {
    using ring_type = std::remove_reference_t<decltype(std::declval<bus::rings&>().*ring)>;
    bool any = false;
    typename ring_type::value_type batch[64];
    for (unsigned peer = 0; peer < _out.size(); ++peer) {
        if (peer == _id) {
            continue;
        }
        while (std::size_t n = (_bus.between(peer, _id).*ring).pop(batch, 64)) {
            any = true;
            for (std::size_t i = 0; i < n; ++i) {
                handle(batch[i], peer);
            }
        }
    }
    return any;
}

bool shard_bus::drain_completions() {
    return drain(&bus::rings::completions, [this](detail::bus_item* item, unsigned) {
        --_outstanding;
        ++_stats.completed;
        if (item->_holds_slot) {
            _slots[item->_target]->signal(1);
        }
        item->complete(); // may free the item
    });
}

bool shard_bus::drain_requests() {
    return drain(&bus::rings::requests, [this](detail::bus_slot& slot, unsigned peer) {
        ++_peers[peer].received;
        if (slot.call != nullptr) {
            ++_stats.processed; // a heap item counts when it responds
            slot.call(slot);
        } else {
            slot.item->process();
        }
    });
}

bool shard_bus::poll() {
    if (_counted_quiet) {
        // Shutdown, and counted quiet. Leave the count before taking anything out of a ring: a sender counts itself
        // quiet only once its messages have left the rings, so while we handle them, the count cannot be full.
        if (!has_incoming()) {
            return false;
        }
        [[maybe_unused]] const bool left = leave_quiet();
        assert(left && "a message arrived after the bus closed");
    }
    bool did = drain_completions();
    if (drain_requests()) {
        did = true;
        _awaiting_delivery = false; // new work (maybe tasks): quiescent() will look again once it is done
    }
    did |= flush();
    return did;
}

bool shard_bus::has_incoming() const noexcept {
    for (unsigned peer = 0; peer < _out.size(); ++peer) {
        if (peer == _id) {
            continue;
        }
        auto& r = _bus.between(peer, _id);
        if (r.requests.read_available() != 0 || r.completions.read_available() != 0) {
            return true;
        }
    }
    return false;
}

bool shard_bus::all_delivered() const noexcept {
    for (unsigned peer = 0; peer < _out.size(); ++peer) {
        if (peer == _id) {
            continue;
        }
        // The producer's view: the peer has taken everything we pushed (an acquire load of its read index).
        auto& r = _bus.between(_id, peer);
        if (r.requests.write_available() != bus::ring_capacity ||
            r.completions.write_available() != bus::ring_capacity) {
            return false;
        }
    }
    return true;
}

std::size_t shard_bus::queue_depth(unsigned peer) const noexcept {
    if (peer == _id || peer >= _out.size()) {
        return 0;
    }
    // write_available() is the producer's view (an acquire load of the peer's read index): ours to call.
    const std::size_t in_ring = bus::ring_capacity - _bus.between(_id, peer).requests.write_available();
    return _out[peer].count() + in_ring;
}

bool shard_bus::has_pending() const noexcept {
    for (unsigned peer = 0; peer < _out.size(); ++peer) {
        if (_out[peer].count() != 0 || _back[peer].count != 0) {
            return true;
        }
    }
    return false;
}

bool shard_bus::try_enter_sleep() {
    flush();
    // Leftovers in a full ring: stay awake until the peer drains it (it is awake: it was just notified).
    if (has_pending() || has_incoming()) {
        return false;
    }
    // Shutdown. We published `sleeping` before these loads, and a peer notifies us after it counts itself quiet
    // (which it does only after taking our messages): either it sees us asleep, or we see its change here.
    if (_awaiting_delivery && all_delivered()) {
        return false; // our last messages were taken: go and count ourselves quiet instead
    }
    return !(_counted_quiet && _bus._quiet_shards.load(std::memory_order_seq_cst) == _bus._shards);
}

bool shard_bus::quiescent() {
    // During shutdown every shard keeps serving the bus until all are counted quiet at once; then the count is
    // full for good (the bus is closed) and every shard stops. The count can only be full when no message is in a
    // ring or being handled, because of three rules:
    // - a shard counts itself quiet only when it has nothing pending or awaiting a reply, nothing incoming, and
    //   every message it sent has been taken out of the rings by its target (all_delivered);
    // - a shard counted quiet leaves the count before it takes a message out of a ring (poll) or sends one
    //   (may_send), and it has no task left that could do either;
    // - so when a sender sees its message taken (an acquire load of the target's read index, which the target
    //   released after leaving the count), the target's leaving precedes the sender's own count. The target comes
    //   back only after handling the message, and anything that sends is caught by the same rules.
    // Checking our own incoming rings and then reading the count is not enough: a peer could push to us between
    // the two reads and count itself quiet, and both would stop with its message never run.
    if (!_counted_quiet) {
        const bool quiet = _outstanding == 0 && !has_pending() && !has_incoming();
        const bool delivered = quiet && all_delivered();
        // Quiet but for messages still in a peer's rings: that peer notifies us when it counts itself quiet.
        _awaiting_delivery = quiet && !delivered;
        if (!delivered) {
            return false;
        }
        if (detail::quiescent_probe != nullptr) {
            detail::quiescent_probe(_id);
        }
        _counted_quiet = true;
        _bus._quiet_shards.fetch_add(1, std::memory_order_acq_rel);
        // Peers may be waiting for this: one whose last message we took, or every one if we completed the count.
        for (unsigned peer = 0; peer < _bus._shards; ++peer) {
            if (peer != _id) {
                _bus.notify(peer);
            }
        }
    } else if (detail::quiescent_probe != nullptr) {
        detail::quiescent_probe(_id);
    }
    return _bus._quiet_shards.load(std::memory_order_acquire) == _bus._shards;
}

} // namespace percore

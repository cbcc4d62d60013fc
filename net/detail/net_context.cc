#include "net/detail/net_context.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <sys/utsname.h>
#include <utility>

#include <fmt/format.h>

#include "runtime/log.hh"

namespace percore::net {

namespace {
logger net_log("net");
// Written before the shards start, read when each shard creates its context.
config g_config;
} // namespace

void set_config(const config& c) {
    auto pow2 = [](unsigned v) { return v != 0 && (v & (v - 1)) == 0; };
    if (!pow2(c.recv_buffers) || c.recv_buffers > 32768) {
        throw std::invalid_argument(
            fmt::format("recv_buffers = {}: must be a power of two between 1 and 32768", c.recv_buffers));
    }
    if (c.recv_buffer_size < 64 || c.recv_buffer_size % 64 != 0 || c.recv_buffer_size > (1U << 24)) {
        throw std::invalid_argument(
            fmt::format("recv_buffer_size = {}: must be a multiple of 64 between 64 and 16 MiB", c.recv_buffer_size));
    }
    if (c.max_unread_buffers > c.recv_buffers) {
        throw std::invalid_argument(fmt::format("max_unread_buffers = {}: more than the {} recv_buffers",
                                                c.max_unread_buffers, c.recv_buffers));
    }
    if (c.max_unread == 0 || c.max_unsent == 0) {
        throw std::invalid_argument("max_unread and max_unsent must be positive");
    }
    g_config = c;
}

const config& current_config() noexcept {
    return g_config;
}

namespace detail {

namespace {
constinit thread_local net_context* tl_context = nullptr;
}

namespace {
// (major, minor) of the running kernel; (0, 0) if uname fails.
std::pair<int, int> kernel_version() noexcept {
    utsname u{};
    int major = 0;
    int minor = 0;
    if (::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2) {
        return {major, minor};
    }
    return {0, 0};
}
} // namespace

net_context::net_context(reactor& r)
    : _reactor(r)
    , _config(g_config) {
    const auto kv = kernel_version();
    const char* oneshot = std::getenv("PERCORE_NET_ONESHOT");
    const bool force_oneshot = oneshot != nullptr && std::string_view(oneshot) == "1";
    _multishot_recv = kv >= std::pair{6, 0} && !force_oneshot;
    _multishot_accept = kv >= std::pair{5, 19} && !force_oneshot;
    _max_unread_buffers =
        _config.max_unread_buffers != 0 ? _config.max_unread_buffers : std::max(2U, _config.recv_buffers / 16);
    int error = 0;
    _buffers = recv_ring::create(*r.ring().native(), _config.recv_buffers, _config.recv_buffer_size, error);
    if (_buffers == nullptr) {
        // Kernels before 5.19 (or a seccomp filter) refuse: connections then receive one heap buffer at a time.
        net_log.warn("provided buffer ring unavailable ({}): receiving without it", std::strerror(error));
    }
    _metrics = r.metrics().add_collector([this](metrics::sample_sink& out) {
        out.counter("percore_net_received_bytes_total", "Bytes received by TCP and Unix streams", {},
                    static_cast<double>(_stats.bytes_received));
        out.counter("percore_net_sent_bytes_total", "Bytes sent by TCP and Unix streams", {},
                    static_cast<double>(_stats.bytes_sent));
        const unsigned total = _buffers != nullptr ? _buffers->count() : 0;
        out.gauge("percore_net_recv_buffers", "Buffers in the shard's provided-buffer receive ring", {}, total);
        out.gauge("percore_net_recv_buffers_in_use", "Receive ring buffers holding data not yet consumed", {},
                  total - free_buffers());
        out.counter("percore_net_recv_enobufs_total", "Receives that found the receive ring empty (ENOBUFS)", {},
                    static_cast<double>(_stats.recv_enobufs));
        out.counter("percore_net_heap_receives_total",
                    "Receives into a heap buffer because no ring buffer was free (the ENOBUFS fallback)", {},
                    static_cast<double>(_stats.heap_receives));
        out.counter("percore_net_receives_paused_total",
                    "Receives stopped because a connection held too much unread data", {},
                    static_cast<double>(_stats.receives_paused));
    });
}

net_context::~net_context() {
    // Cancel what is in flight and reap until every object is quiet: buffers, fds and the objects themselves
    // belong to the kernel until their last completion. Cancelling again on each round catches an operation a
    // completion started meanwhile (cancel_all also stops a closed connection from sending more).
    uring& ring = _reactor.ring();
    const auto deadline = clock_type::now() + std::chrono::seconds(5);
    for (;;) {
        bool busy = false;
        _objects.for_each([&](net_object& o) {
            if (!o.idle()) {
                o.cancel_all();
                busy = true;
            }
        });
        if (!busy) {
            break;
        }
        if (clock_type::now() > deadline) {
            net_log.error("socket operations still in flight after 5 s of shutdown; leaking their memory");
            _objects.for_each([](net_object& o) { o.detach(); });
            _objects.abandon();
            if (_buffers != nullptr) {
                _buffers->abandon();
            }
            break;
        }
        duration slice = std::chrono::milliseconds(1);
        ring.wait(&slice);
        ring.reap();
    }
    // Objects still alive (held by code that outlives the shard) must no longer reach this context.
    while (!_objects.empty()) {
        net_object& o = _objects.front();
        o.detach();
        _objects.pop_front();
    }
    if (_buffers != nullptr) {
        _buffers->detach(); // buffers still held keep the memory until they are released
    }
    if (tl_context == this) {
        tl_context = nullptr;
    }
}

net_context& net_context::local() {
    net_context* c = tl_context;
    if (c == nullptr) { // the destructor clears the cache, so a cached context always belongs to this reactor
        c = &this_reactor().extension<net_context>();
        tl_context = c;
    }
    return *c;
}

} // namespace detail
} // namespace percore::net

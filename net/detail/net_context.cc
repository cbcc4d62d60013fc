#include "net/detail/net_context.hh"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <utility>

#include <fmt/format.h>
#include <liburing.h>

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
    _multishot_recv = kv >= std::pair{6, 0};
    _multishot_accept = kv >= std::pair{5, 19};
    const unsigned n = _config.recv_buffers;
    _refs = std::make_unique<std::uint16_t[]>(n);
    _next = std::make_unique<std::uint16_t[]>(n);
    _length = std::make_unique<std::uint32_t[]>(n);

    // One mapping: the ring of buffer descriptors (page aligned, as the kernel wants) followed by the buffers.
    const std::size_t ring_bytes = (sizeof(io_uring_buf) * n + 4095) & ~std::size_t{4095};
    _memory_size = ring_bytes + std::size_t{n} * _config.recv_buffer_size;
    void* mem = ::mmap(nullptr, _memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        throw std::system_error(errno, std::system_category(), "mmap of the receive buffer ring");
    }
    _mapping = mem;
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    _memory = static_cast<char*>(mem) + ring_bytes;

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br);
    reg.ring_entries = n;
    reg.bgid = buffer_group;
    int rc = io_uring_register_buf_ring(r.ring().native(), &reg, 0);
    if (rc < 0) {
        // Kernels before 5.19 (or a seccomp filter) refuse: connections then receive one heap buffer at a time.
        net_log.warn("provided buffer ring unavailable ({}): receiving without it", std::strerror(-rc));
        ::munmap(_mapping, _memory_size);
        _mapping = nullptr;
        return;
    }
    _ring = br;
    io_uring_buf_ring_init(_ring);
    const int mask = io_uring_buf_ring_mask(n);
    for (unsigned bid = 0; bid < n; ++bid) {
        io_uring_buf_ring_add(_ring, slot(static_cast<std::uint16_t>(bid)), _config.recv_buffer_size,
                              static_cast<unsigned short>(bid), mask, static_cast<int>(bid));
    }
    io_uring_buf_ring_advance(_ring, static_cast<int>(n));
    _free = n;
}

net_context::~net_context() {
    // Cancel what is in flight and reap until every object is quiet: buffers, fds and the objects themselves
    // belong to the kernel until their last completion.
    _objects.for_each([](net_object& o) { o.cancel_all(); });
    uring& ring = _reactor.ring();
    const auto deadline = clock_type::now() + std::chrono::seconds(5);
    for (;;) {
        bool busy = false;
        _objects.for_each([&](net_object& o) { busy |= !o.idle(); });
        if (!busy) {
            break;
        }
        if (clock_type::now() > deadline) {
            net_log.error("socket operations still in flight after 5 s of shutdown; leaking their memory");
            _objects.abandon();
            _ring = nullptr;
            _mapping = nullptr;
            break;
        }
        duration slice = std::chrono::milliseconds(1);
        ring.wait(&slice);
        ring.reap();
    }
    // Objects still alive (held by code that outlives the shard) must no longer reach this context.
    while (!_objects.empty()) {
        _objects.pop_front();
    }
    if (_ring != nullptr) {
        io_uring_unregister_buf_ring(ring.native(), buffer_group);
    }
    if (_mapping != nullptr) {
        ::munmap(_mapping, _memory_size);
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

void net_context::recycle(std::uint16_t bid) noexcept {
    if (_ring == nullptr) {
        return; // shutdown gave up on the kernel: the memory is leaked, not reused
    }
    ++_free;
    io_uring_buf_ring_add(_ring, slot(bid), _config.recv_buffer_size, bid, io_uring_buf_ring_mask(_config.recv_buffers),
                          0);
    io_uring_buf_ring_advance(_ring, 1);
}

} // namespace detail
} // namespace percore::net

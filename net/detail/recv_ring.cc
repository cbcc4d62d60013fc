#include "net/detail/recv_ring.hh"

#include <cerrno>
#include <sys/mman.h>
#include <system_error>

#include <liburing.h>

namespace percore::net::detail {

recv_ring* recv_ring::create(io_uring& ring, unsigned count, unsigned size, int& error) {
    // One mapping: the ring of buffer descriptors (page aligned, as the kernel wants) followed by the buffers.
    const std::size_t ring_bytes = (sizeof(io_uring_buf) * count + 4095) & ~std::size_t{4095};
    const std::size_t mapping_size = ring_bytes + std::size_t{count} * size;
    void* mem = ::mmap(nullptr, mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        throw std::system_error(errno, std::system_category(), "mmap of the receive buffer ring");
    }
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem);
    reg.ring_entries = count;
    reg.bgid = buffer_group;
    if (const int rc = io_uring_register_buf_ring(&ring, &reg, 0); rc < 0) {
        ::munmap(mem, mapping_size);
        error = -rc;
        return nullptr;
    }
    auto* r = new recv_ring(count, size, mem, mapping_size, ring_bytes);
    r->_uring = &ring;
    return r;
}

recv_ring::recv_ring(unsigned count, unsigned size, void* mapping, std::size_t mapping_size, std::size_t ring_bytes)
    : _count(count)
    , _size(size)
    , _mapping(mapping)
    , _mapping_size(mapping_size)
    , _memory(static_cast<char*>(mapping) + ring_bytes)
    , _kernel_ring(static_cast<io_uring_buf_ring*>(mapping))
    , _refs(std::make_unique<std::uint32_t[]>(count))
    , _next(std::make_unique<std::uint16_t[]>(count))
    , _length(std::make_unique<std::uint32_t[]>(count)) {
    io_uring_buf_ring_init(_kernel_ring);
    const int mask = io_uring_buf_ring_mask(count);
    for (unsigned bid = 0; bid < count; ++bid) {
        io_uring_buf_ring_add(_kernel_ring, slot(static_cast<std::uint16_t>(bid)), size,
                              static_cast<unsigned short>(bid), mask, static_cast<int>(bid));
    }
    io_uring_buf_ring_advance(_kernel_ring, static_cast<int>(count));
    _free = count;
}

recv_ring::~recv_ring() {
    ::munmap(_mapping, _mapping_size);
}

void recv_ring::detach() noexcept {
    if (_uring != nullptr && !_abandoned) {
        io_uring_unregister_buf_ring(_uring, buffer_group);
    }
    _uring = nullptr;
    if (_abandoned) {
        return; // leaked on purpose
    }
    if (_free == _count) {
        delete this;
    }
}

void recv_ring::abandon() noexcept {
    _abandoned = true;
}

void recv_ring::recycle(std::uint16_t bid) noexcept {
    ++_free;
    if (_uring == nullptr) {
        if (_free == _count && !_abandoned) {
            delete this; // detached, and the last buffer came back
        }
        return;
    }
    io_uring_buf_ring_add(_kernel_ring, slot(bid), _size, bid, io_uring_buf_ring_mask(_count), 0);
    io_uring_buf_ring_advance(_kernel_ring, 1);
}

} // namespace percore::net::detail

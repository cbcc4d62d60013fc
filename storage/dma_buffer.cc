#include "storage/dma_buffer.hh"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace percore::storage {

dma_buffer::dma_buffer(std::size_t alignment, std::size_t size)
    : _alignment(alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        throw std::invalid_argument("dma_buffer: alignment must be a power of two");
    }
    if (size == 0) {
        return;
    }
    _size = align_up(size, alignment);
    void* p = nullptr;
    if (::posix_memalign(&p, std::max(alignment, sizeof(void*)), _size) != 0) {
        throw std::bad_alloc();
    }
    // Zeroed: padding that reaches the disk (the tail of a DMA block) must never carry stale heap contents.
    std::memset(p, 0, _size);
    _data = static_cast<std::byte*>(p);
}

void dma_buffer::release() noexcept {
    std::free(_data);
    _data = nullptr;
    _size = 0;
}

} // namespace percore::storage

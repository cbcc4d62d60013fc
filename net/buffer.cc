#include "net/buffer.hh"

#include <cstdlib>
#include <cstring>
#include <new>

namespace percore::net {

namespace {

// A heap block: the reference count sits in front of the bytes; the token is the block's address.
struct heap_block {
    std::uint32_t refs;
};
constexpr std::size_t heap_header = alignof(std::max_align_t);

class heap_owner final : public detail::buffer_owner {
public:
    void retain(std::uintptr_t token) noexcept override { ++reinterpret_cast<heap_block*>(token)->refs; }
    void release(std::uintptr_t token) noexcept override {
        auto* block = reinterpret_cast<heap_block*>(token);
        if (--block->refs == 0) {
            std::free(block);
        }
    }
};

heap_owner the_heap_owner;

} // namespace

buffer::buffer(std::size_t size) {
    void* mem = std::malloc(heap_header + size);
    if (mem == nullptr) {
        throw std::bad_alloc();
    }
    auto* block = ::new (mem) heap_block{1};
    _data = static_cast<char*>(mem) + heap_header;
    _size = size;
    _owner = &the_heap_owner;
    _token = reinterpret_cast<std::uintptr_t>(block);
}

buffer buffer::copy_of(std::string_view bytes) {
    buffer b(bytes.size());
    if (!bytes.empty()) {
        std::memcpy(b.writable(), bytes.data(), bytes.size());
    }
    return b;
}

} // namespace percore::net

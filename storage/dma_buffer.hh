/// \file
/// \brief `dma_buffer`: an owned, aligned byte buffer that O_DIRECT reads and writes accept, and the alignment
/// arithmetic that goes with it.
///
/// \code
/// percore::storage::dma_buffer buf(f.alignment(), 64 * 1024);   // 64 KiB aligned to what the file asks
/// std::memcpy(buf.data(), src, n);
/// co_await f.write_at(0, buf.data(), buf.size());
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace percore::storage {

/// The alignment used when the file system does not say (statx STATX_DIOALIGN): 4 KiB satisfies every block device
/// with 512-byte or 4 KiB logical sectors.
inline constexpr std::size_t default_dma_alignment = 4096;

[[nodiscard]] constexpr std::uint64_t align_down(std::uint64_t v, std::uint64_t alignment) noexcept {
    return v - v % alignment;
}
[[nodiscard]] constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t alignment) noexcept {
    return align_down(v + alignment - 1, alignment);
}

/// Move-only; the memory is freed when the buffer is destroyed. Size 0 holds no memory.
class dma_buffer {
public:
    dma_buffer() noexcept = default;
    /// \param alignment a power of two. \param size bytes, rounded up to a multiple of `alignment`.
    /// \throws std::bad_alloc
    dma_buffer(std::size_t alignment, std::size_t size);
    dma_buffer(dma_buffer&& o) noexcept
        : _data(std::exchange(o._data, nullptr))
        , _size(std::exchange(o._size, 0))
        , _alignment(o._alignment) {}
    dma_buffer& operator=(dma_buffer&& o) noexcept {
        if (this != &o) {
            release();
            _data = std::exchange(o._data, nullptr);
            _size = std::exchange(o._size, 0);
            _alignment = o._alignment;
        }
        return *this;
    }
    dma_buffer(const dma_buffer&) = delete;
    dma_buffer& operator=(const dma_buffer&) = delete;
    ~dma_buffer() { release(); }

    [[nodiscard]] std::byte* data() noexcept { return _data; }
    [[nodiscard]] const std::byte* data() const noexcept { return _data; }
    [[nodiscard]] std::size_t size() const noexcept { return _size; }
    [[nodiscard]] std::size_t alignment() const noexcept { return _alignment; }
    [[nodiscard]] std::span<std::byte> span() noexcept { return {_data, _size}; }

private:
    void release() noexcept;

    std::byte* _data = nullptr;
    std::size_t _size = 0;
    std::size_t _alignment = default_dma_alignment;
};

} // namespace percore::storage

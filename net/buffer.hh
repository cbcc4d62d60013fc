/// \file
/// \brief `net::buffer`: a move-only, zero-copy view of bytes that keeps its storage alive.
///
/// Bytes a connection receives arrive in the shard's provided-buffer ring and reach the reader as a `buffer`
/// pointing into that ring; the slot goes back to the kernel when the last buffer sharing it is destroyed.
/// Writing such a buffer to an output stream sends it without copying (the echo server's whole data path).
///
/// \code
/// net::buffer b = co_await conn.input().read();        // a slice of the shard's receive ring
/// net::buffer head = b.share(0, 4);                    // no copy: both keep the slot alive
/// b.trim_front(4);
/// co_await conn.output().write(std::move(b));          // queued, sent without a copy
/// auto owned = net::buffer::copy_of("hello\n");        // heap storage, reference counted
/// \endcode
///
/// \shard_local A buffer belongs to the shard that made it (its storage is released there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace percore::net {

namespace detail {
/// Storage that buffers point into; reference counts live with the storage, keyed by `token`.
class buffer_owner {
public:
    virtual void retain(std::uintptr_t token) noexcept = 0;
    virtual void release(std::uintptr_t token) noexcept = 0;

protected:
    ~buffer_owner() = default;
};
} // namespace detail

class buffer {
public:
    buffer() noexcept = default;
    /// Uninitialised heap storage of `size` bytes (fill it through `writable()`).
    explicit buffer(std::size_t size);
    /// A buffer over `owner`'s storage; takes over one reference the caller holds on `token`.
    buffer(char* data, std::size_t size, detail::buffer_owner* owner, std::uintptr_t token) noexcept
        : _data(data)
        , _size(size)
        , _owner(owner)
        , _token(token) {}
    buffer(buffer&& o) noexcept
        : _data(std::exchange(o._data, nullptr))
        , _size(std::exchange(o._size, 0))
        , _owner(std::exchange(o._owner, nullptr))
        , _token(o._token) {}
    buffer& operator=(buffer&& o) noexcept {
        if (this != &o) {
            reset();
            _data = std::exchange(o._data, nullptr);
            _size = std::exchange(o._size, 0);
            _owner = std::exchange(o._owner, nullptr);
            _token = o._token;
        }
        return *this;
    }
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    ~buffer() { reset(); }

    /// A heap copy of `bytes`.
    static buffer copy_of(std::string_view bytes);

    [[nodiscard]] const char* data() const noexcept { return _data; }
    /// Mutable access: only for storage this code owns alone (a fresh heap buffer).
    [[nodiscard]] char* writable() noexcept { return _data; }
    [[nodiscard]] std::size_t size() const noexcept { return _size; }
    [[nodiscard]] bool empty() const noexcept { return _size == 0; }
    [[nodiscard]] std::string_view view() const noexcept { return {_data, _size}; }
    [[nodiscard]] std::string str() const { return std::string(view()); }
    const char& operator[](std::size_t i) const noexcept { return _data[i]; }

    /// Drops the first `n` bytes (n <= size).
    void trim_front(std::size_t n) noexcept {
        _data += n;
        _size -= n;
    }
    /// Keeps the first `n` bytes (n <= size).
    void trim(std::size_t n) noexcept { _size = n; }

    /// Another buffer over bytes [pos, pos + len) of this one, sharing (not copying) the storage.
    [[nodiscard]] buffer share(std::size_t pos, std::size_t len) const noexcept {
        if (_owner != nullptr) {
            _owner->retain(_token);
        }
        return buffer(_data + pos, len, _owner, _token);
    }
    [[nodiscard]] buffer share() const noexcept { return share(0, _size); }

    /// Whether the storage belongs to `owner` (a receive ring's buffers, say).
    [[nodiscard]] bool owned_by(const detail::buffer_owner* owner) const noexcept {
        return _owner != nullptr && _owner == owner;
    }

    /// Releases the storage; the buffer becomes empty.
    void reset() noexcept {
        if (_owner != nullptr) {
            _owner->release(_token);
            _owner = nullptr;
        }
        _data = nullptr;
        _size = 0;
    }

private:
    char* _data = nullptr;
    std::size_t _size = 0;
    detail::buffer_owner* _owner = nullptr;
    std::uintptr_t _token = 0;
};

} // namespace percore::net

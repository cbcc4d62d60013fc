/// \file
/// \brief Fixed-capacity FIFO storage for non-default-constructible values (channel buffers).
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace percore::detail {

template <typename T>
class ring_buffer {
public:
    explicit ring_buffer(std::size_t capacity)
        : _slots(std::allocator<T>().allocate(capacity))
        , _capacity(capacity) {}
    ring_buffer(const ring_buffer&) = delete;
    ring_buffer& operator=(const ring_buffer&) = delete;
    ~ring_buffer() {
        while (!empty()) {
            pop();
        }
        std::allocator<T>().deallocate(_slots, _capacity);
    }

    [[nodiscard]] bool empty() const noexcept { return _size == 0; }
    [[nodiscard]] bool full() const noexcept { return _size == _capacity; }
    [[nodiscard]] std::size_t size() const noexcept { return _size; }
    [[nodiscard]] std::size_t capacity() const noexcept { return _capacity; }

    void push(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>) {
        assert(!full());
        std::size_t tail = _head + _size;
        if (tail >= _capacity) {
            tail -= _capacity;
        }
        ::new (static_cast<void*>(_slots + tail)) T(std::move(value));
        ++_size;
    }

    T pop() noexcept(std::is_nothrow_move_constructible_v<T>) {
        assert(!empty());
        T* slot = _slots + _head;
        T value(std::move(*slot));
        slot->~T();
        if (++_head == _capacity) {
            _head = 0;
        }
        --_size;
        return value;
    }

private:
    T* _slots;
    std::size_t _capacity;
    std::size_t _head = 0;
    std::size_t _size = 0;
};

} // namespace percore::detail

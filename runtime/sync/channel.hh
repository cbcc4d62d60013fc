/// \file
/// \brief Bounded multi-producer multi-consumer channel between tasks of one shard, with close semantics.
///
/// \code
/// percore::channel<request> requests(128);
/// co_await requests.send(req);                   // waits while the channel is full
/// while (auto r = co_await requests.recv()) {    // std::nullopt once closed and drained
///     handle(*r);
/// }
/// requests.close();
/// \endcode
///
/// Invariants
/// - Receivers wait only while the buffer is empty; senders only while it is full. A send meeting a waiting
///   receiver hands the value over directly.
/// - After close(): sends fail with channel_closed (waiting senders too: their values are dropped), receives
///   drain what is buffered and then return std::nullopt.
/// - A value handed to a receiver that is aborted before it resumes is still returned (completion wins), so no
///   value is lost to an abort.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>

#include "runtime/detail/ring_buffer.hh"
#include "runtime/detail/waiter_list.hh"
#include "runtime/errors.hh"
#include "runtime/preempt.hh"

namespace percore {

template <typename T>
class channel {
    struct send_waiter : detail::waiter_node {
        T* _value = nullptr;
    };
    struct recv_waiter : detail::waiter_node {
        std::optional<T>* _slot = nullptr;
    };

public:
    class send_awaiter : send_waiter {
    public:
        send_awaiter(channel& ch, T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)
            : _ch(ch)
            , _v(std::move(v)) {
            this->_value = &_v;
        }

        bool await_ready() {
            if (!_ch._closed && _ch.can_send() && !need_preempt() && !detail::abort_pending()) {
                _ch.deliver(std::move(_v));
                this->_outcome = detail::wait_outcome::done;
                return true;
            }
            return false;
        }

        bool await_suspend(std::coroutine_handle<> h) {
            if (detail::abort_pending()) {
                this->_outcome = detail::wait_outcome::cancelled;
                return false;
            }
            if (_ch._closed) {
                this->_outcome = detail::wait_outcome::closed;
                return false;
            }
            if (_ch.can_send()) {
                _ch.deliver(std::move(_v));
                this->_outcome = detail::wait_outcome::done;
                detail::park_and_yield(h);
                return true;
            }
            _ch._senders.park(*this, h);
            return true;
        }

        void await_resume() const {
            if (this->finish() == detail::wait_outcome::closed) {
                throw channel_closed();
            }
        }

    private:
        channel& _ch;
        T _v;
    };

    class recv_awaiter : recv_waiter {
    public:
        explicit recv_awaiter(channel& ch) noexcept
            : _ch(ch) {
            this->_slot = &_result;
        }

        bool await_ready() {
            if (_ch.can_recv() && !need_preempt() && !detail::abort_pending()) {
                _ch.take_into(_result);
                this->_outcome = detail::wait_outcome::done;
                return true;
            }
            return false;
        }

        bool await_suspend(std::coroutine_handle<> h) {
            if (detail::abort_pending()) {
                this->_outcome = detail::wait_outcome::cancelled;
                return false;
            }
            if (_ch.can_recv()) {
                _ch.take_into(_result);
                this->_outcome = detail::wait_outcome::done;
                detail::park_and_yield(h);
                return true;
            }
            _ch._receivers.park(*this, h);
            return true;
        }

        std::optional<T> await_resume() {
            (void)this->finish();
            return std::move(_result);
        }

    private:
        channel& _ch;
        std::optional<T> _result;
    };

    /// \throws std::invalid_argument for capacity 0.
    explicit channel(std::size_t capacity)
        : _buffer(check_capacity(capacity)) {}
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    ~channel() { close(); }

    /// Sends `value`, waiting while the channel is full. A suspension point. \throws channel_closed
    /// \shard_local
    [[nodiscard]] send_awaiter send(T value) noexcept(std::is_nothrow_move_constructible_v<T>) {
        return send_awaiter(*this, std::move(value));
    }

    /// Sends without waiting. \return false (leaving `value` untouched) when full or closed. \shard_local
    bool try_send(T&& value) {
        if (_closed || !can_send()) {
            return false;
        }
        deliver(std::move(value));
        return true;
    }

    /// Receives the next value, waiting while the channel is empty; std::nullopt once closed and drained.
    /// A suspension point. \shard_local
    [[nodiscard]] recv_awaiter recv() noexcept { return recv_awaiter(*this); }

    /// Receives without waiting; std::nullopt when empty.
    std::optional<T> try_recv() {
        std::optional<T> out;
        if (!_buffer.empty()) {
            take_into(out);
        }
        return out;
    }

    /// Refuses further sends; receivers drain the buffer, then get std::nullopt. Idempotent. \shard_local
    void close() noexcept {
        _closed = true;
        _senders.complete_all(detail::wait_outcome::closed);
        _receivers.complete_all(detail::wait_outcome::done); // they wait only when empty: std::nullopt
    }

    [[nodiscard]] bool is_closed() const noexcept { return _closed; }
    [[nodiscard]] std::size_t size() const noexcept { return _buffer.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return _buffer.capacity(); }
    [[nodiscard]] bool empty() const noexcept { return _buffer.empty(); }

private:
    static std::size_t check_capacity(std::size_t capacity) {
        if (capacity == 0) {
            throw std::invalid_argument("channel capacity must be at least 1");
        }
        return capacity;
    }

    [[nodiscard]] bool can_send() const noexcept { return !_buffer.full(); }
    [[nodiscard]] bool can_recv() const noexcept { return !_buffer.empty() || _closed; }

    /// Hands `v` to the first waiting receiver, or buffers it.
    void deliver(T&& v) {
        if (!_receivers.empty()) {
            auto& r = static_cast<recv_waiter&>(_receivers.front());
            r._slot->emplace(std::move(v));
            _receivers.complete(r, detail::wait_outcome::done);
        } else {
            _buffer.push(std::move(v));
        }
    }

    /// Takes the oldest value (if any) and lets the first waiting sender refill the freed slot.
    void take_into(std::optional<T>& out) {
        if (_buffer.empty()) {
            return; // closed and drained
        }
        out.emplace(_buffer.pop());
        if (!_senders.empty()) {
            auto& s = static_cast<send_waiter&>(_senders.front());
            _buffer.push(std::move(*s._value));
            _senders.complete(s, detail::wait_outcome::done);
        }
    }

    detail::ring_buffer<T> _buffer;
    detail::waiter_list _senders;
    detail::waiter_list _receivers;
    bool _closed = false;
};

} // namespace percore

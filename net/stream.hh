/// \file
/// \brief Buffered byte streams over a connection: `input_stream` (read, read_exactly, read_until) and
/// `output_stream` (write, flush, close), both over zero-copy `net::buffer`s.
///
/// \code
/// auto& in = conn.input();
/// auto& out = conn.output();
/// for (;;) {
///     net::buffer line = co_await in.read_until("\n", 4096);  // throws std::length_error past 4096 bytes
///     if (line.empty()) break;                                 // EOF
///     co_await out.write(std::move(line));                     // queued, no copy
///     co_await out.flush();                                    // on its way (one send per flush)
/// }
/// co_await out.close();                                        // everything sent, then half-close (FIN)
/// \endcode
///
/// Reads never copy unless a result spans receive buffers. Writes are queued and go out in one send (or one
/// sendmsg of up to 64 buffers) per flush. Neither write nor flush waits for the kernel unless more than
/// `config::max_unsent` bytes are still unsent (back-pressure): a request/response loop costs one wake-up per
/// request, not two. A failed send (peer reset, EPIPE) raises std::system_error from the next write, flush,
/// wait_sent or close of this stream only.
///
/// \shard_local Streams belong to the shard that accepted or connected the socket; one reader and one writer
/// at a time.
#pragma once

#include <coroutine>
#include <cstddef>
#include <string_view>

#include "net/buffer.hh"
#include "net/detail/stream_state.hh"
#include "runtime/preempt.hh"
#include "runtime/task.hh"

namespace percore::net {

class input_stream {
public:
    class read_awaiter {
    public:
        explicit read_awaiter(input_stream& in) noexcept
            : _in(in)
            , _state(in._state) {}
        // A read is a preemption point: a reader whose bytes are always there (a peer sending faster than it
        // parses) would otherwise never give the shard back.
        bool await_ready() const noexcept { return has_bytes() && !need_preempt(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            if (has_bytes()) {
                // Yielding is suspending: close_handle() must see this reader as it sees a parked one.
                _yielded = true;
                _state->reader_yielding();
                return percore::detail::yield_now(h);
            }
            _parked = _state->park_reader(h);
            return _parked;
        }
        buffer await_resume() {
            // After a park or a yield, only _state may be touched until it says the connection is still there:
            // another task may have closed it, or destroyed the connection and this stream with it.
            if (_yielded) {
                _state->after_reader_wake();
                percore::detail::throw_if_aborted();
                if (!_in._current.empty()) {
                    return std::move(_in._current);
                }
                return _state->take();
            }
            // Nothing was put back during a park (one reader at a time), so _current is still empty then.
            if (!_parked && !_in._current.empty()) {
                return std::move(_in._current);
            }
            _state->after_reader_wake();
            return _state->take();
        }

    private:
        [[nodiscard]] bool has_bytes() const noexcept { return !_in._current.empty() || _state->readable(); }

        input_stream& _in;
        detail::stream_state* _state;
        bool _parked = false;
        bool _yielded = false;
    };

    input_stream() noexcept = default;
    explicit input_stream(detail::stream_state* s) noexcept
        : _state(s) {}

    /// The next bytes available, as soon as there are any; an empty buffer at EOF. \throws std::system_error
    /// (receive error), percore::timed_out (read timeout), percore::aborted
    [[nodiscard]] read_awaiter read() noexcept { return read_awaiter(*this); }
    /// At most `n` bytes (n > 0); empty at EOF.
    [[nodiscard]] task<buffer> read_up_to(std::size_t n);
    /// Exactly `n` bytes, fewer only at EOF.
    [[nodiscard]] task<buffer> read_exactly(std::size_t n);
    /// Bytes up to and including `delimiter`; at EOF what was left (maybe nothing), without it.
    /// \throws std::length_error when `max` bytes arrived without the delimiter (the stream stays usable: those
    /// first `max` bytes are dropped, what follows them is read next)
    [[nodiscard]] task<buffer> read_until(std::string_view delimiter, std::size_t max);
    /// Discards `n` bytes (fewer at EOF).
    [[nodiscard]] task<> skip(std::size_t n);
    /// Puts bytes back in front of the stream (a parser that read too far). \pre nothing unread was put back
    void unread(buffer b) noexcept { _current = std::move(b); }

    /// Every read waiting longer than `d` raises percore::timed_out (zero: no timeout).
    void set_timeout(duration d) noexcept { _state->set_read_timeout(d); }

private:
    detail::stream_state* _state = nullptr;
    buffer _current; // read from the socket, not yet given to the user
};

class output_stream {
public:
    /// Completes when the unsent bytes are within the limit (at once, usually).
    class write_awaiter {
    public:
        write_awaiter(detail::stream_state* s, std::uint64_t target) noexcept
            : _state(s)
            , _target(target) {}
        bool await_ready() const noexcept { return _state->writer_may_go(_target) && _state->send_error() == 0; }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return _state->park_writer(h, _target); }
        void await_resume() { _state->after_writer_wake(); }

    private:
        detail::stream_state* _state;
        std::uint64_t _target;
    };

    output_stream() noexcept = default;
    explicit output_stream(detail::stream_state* s) noexcept
        : _state(s) {}

    /// Queues `b` (no copy). \throws std::system_error once a send failed
    [[nodiscard]] write_awaiter write(buffer&& b) {
        _state->throw_if_send_failed();
        push_staged(); // keep the order of copied and zero-copy writes
        _state->enqueue(std::move(b));
        return limit_awaiter();
    }
    /// Queues a copy of `bytes` (small writes are packed into shared chunks).
    [[nodiscard]] write_awaiter write(std::string_view bytes);
    /// Starts sending everything written. Completes at once unless more than `max_unsent` bytes wait.
    [[nodiscard]] write_awaiter flush() noexcept {
        push_staged();
        _state->start_send();
        return limit_awaiter();
    }
    /// Flushes and completes when the kernel has accepted every byte written so far.
    [[nodiscard]] write_awaiter wait_sent();
    /// Waits until everything written was sent, then shuts the sending side (the peer reads EOF); the input
    /// side stays open.
    [[nodiscard]] task<> close();

    /// Bytes written and not yet accepted by the kernel.
    [[nodiscard]] std::size_t unsent() const noexcept { return _state->written() - _state->sent() + staged(); }

private:
    [[nodiscard]] std::size_t staged() const noexcept { return _staged_end - _staged_begin; }
    void push_staged() noexcept {
        if (staged() != 0) {
            enqueue_staged();
        }
    }
    void enqueue_staged() noexcept;
    [[nodiscard]] write_awaiter limit_awaiter() const noexcept {
        const std::uint64_t written = _state->written();
        const std::uint64_t limit = _state->max_unsent();
        return {_state, written > limit ? written - limit : 0};
    }

    detail::stream_state* _state = nullptr;
    buffer _staging; // chunk that small writes are copied into
    std::size_t _staged_begin = 0;
    std::size_t _staged_end = 0;
    bool _shut = false;
};

} // namespace percore::net

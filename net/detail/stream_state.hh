/// \file
/// \brief The kernel-facing half of a stream socket: one multishot receive into the shard's buffer ring, one send
/// (or sendmsg of up to 64 buffers) in flight, and the reader and writer parked on them.
///
/// Invariants
/// - Heap-allocated; owned by the `connection` handle until it is dropped, then by its in-flight operations and
///   by fibers that were parked on it (another task reading or writing): the last of them deletes it.
/// - At most one receive and one send are in flight (`_inflight` counts them, plus nothing else).
/// - Unread data is a chain of ring buffer ids (linked through the context's `next` array) followed by at most
///   one heap buffer (`_rx_heap`, from a plain receive when the ring had no free buffer): arrival order.
/// - A receive is armed lazily, on the first read that finds nothing. With a free ring buffer it is a multishot
///   receive into the ring, armed until it ends (EOF, error, ENOBUFS, or a cancel once `max_unread` bytes or
///   `max_unread_buffers` ring buffers wait unread). With none, the reader waits with a readiness poll, which
///   holds no memory, and only then receives into a heap buffer of its own (or the ring, if a buffer came back):
///   an idle connection never holds a buffer.
/// - Bytes are counted in totals: `_written` (queued by the writer), `_flushed` (the writer asked for them to go
///   out: flush, or a write waiting on the unsent limit) and `_sent` (accepted by the kernel); sends never go
///   past `_flushed`. A parked writer waits for `_sent >= _writer_target`: flush() targets `_written`; a write
///   over the unsent limit targets `_written - max_unsent`.
/// - Closing (close_handle): flushed bytes keep going out, one send after another, until all are sent, a send
///   fails, or `close_linger` passes (then the send in flight is cancelled); bytes written after the last flush
///   are dropped. The socket is closed when the last operation completed.
#pragma once

#include <coroutine>
#include <cstdint>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>
#include <vector>

#include "net/buffer.hh"
#include "net/detail/net_context.hh"
#include "runtime/clock.hh"
#include "runtime/detail/fiber.hh"
#include "runtime/detail/io_completion.hh"
#include "runtime/detail/timer_wheel.hh"

namespace percore::net::detail {

class recv_side : public percore::detail::io_completion {
    void complete(int res, unsigned flags) noexcept final { on_recv(res, flags); }

protected:
    ~recv_side() = default;
    virtual void on_recv(int res, unsigned flags) noexcept = 0;
};

class send_side : public percore::detail::io_completion {
    void complete(int res, unsigned flags) noexcept final { on_send(res, flags); }

protected:
    ~send_side() = default;
    virtual void on_send(int res, unsigned flags) noexcept = 0;
};

class stream_state final : public net_object, recv_side, send_side {
public:
    /// Takes ownership of `fd` (a connected, non-blocking or blocking stream socket).
    stream_state(int fd, net_context& ctx) noexcept;
    stream_state(const stream_state&) = delete;
    stream_state& operator=(const stream_state&) = delete;

    [[nodiscard]] int fd() const noexcept { return _fd; }
    [[nodiscard]] net_context& context() noexcept { return _ctx; }

    // ---- reading
    /// Data, EOF or an error is waiting for the reader.
    [[nodiscard]] bool readable() const noexcept {
        return _rx_head != net_context::no_buffer || _rx_heap_ready || _rx_eof || _rx_error != 0 || _timed_out;
    }
    /// The next piece of unread data; empty at EOF. \throws std::system_error on a receive error,
    /// percore::timed_out after the read timeout. \pre readable()
    buffer take() {
        if (_rx_head != net_context::no_buffer) [[likely]] {
            recv_ring& ring = _ctx.buffers();
            const std::uint16_t bid = _rx_head;
            _rx_head = ring.next(bid);
            _rx_bytes -= ring.length(bid);
            --_rx_slots;
            return ring.to_buffer(bid);
        }
        return take_slow();
    }
    /// Parks the running fiber until readable() (arming the receive if needed). \return false if it need not park.
    bool park_reader(std::coroutine_handle<> h) noexcept;
    /// A reader with bytes ready yields (its slice is up): it is suspended as a parked one is, without a wake-up.
    void reader_yielding() noexcept { _reader_in_await = true; }
    /// After a park or a yield: raises ECANCELED if the connection closed meanwhile, `aborted` if abort() pulled
    /// the reader out.
    void after_reader_wake() {
        if (std::exchange(_reader_in_await, false) && _closed) [[unlikely]] {
            leave_closed();
        }
        if (std::exchange(_reader_cancelled, false)) {
            percore::detail::throw_aborted();
        }
    }
    void set_read_timeout(duration d) noexcept { _read_timeout = d; }
    [[nodiscard]] std::size_t unread_bytes() const noexcept { return _rx_bytes; }

    // ---- writing
    void enqueue(buffer&& b) noexcept {
        if (!b.empty() && _tx_error == 0) {
            _written += b.size();
            _tx_slots += holds_ring_slot(b) ? 1 : 0;
            _tx.push_back(std::move(b));
        }
    }
    [[nodiscard]] std::uint64_t written() const noexcept { return _written; }
    [[nodiscard]] std::uint64_t max_unsent() const noexcept { return _max_unsent; }
    [[nodiscard]] std::uint64_t sent() const noexcept { return _sent; }
    [[nodiscard]] int send_error() const noexcept { return _tx_error; }
    /// Marks everything written as flushed and hands it to the kernel unless a send is already in flight (its
    /// completion sends the rest).
    void start_send() noexcept {
        _flushed = _written;
        send_more();
    }
    /// Whether a writer waiting for `sent() >= target` may go on: that, and no more than its share of the ring's
    /// buffers queued (a zero-copy echo of small messages would otherwise pin a ring buffer per message), or a
    /// send error.
    [[nodiscard]] bool writer_may_go(std::uint64_t target) const noexcept {
        return (_sent >= target && _tx_slots <= _ctx.max_unread_buffers()) || _tx_error != 0;
    }
    /// Parks the running fiber until writer_may_go(target). \return false if it need not park.
    bool park_writer(std::coroutine_handle<> h, std::uint64_t target) noexcept;
    /// After a park: raises `aborted` if abort() pulled the writer out, std::system_error for a failed send
    /// (EPIPE, ECONNRESET...).
    void after_writer_wake() {
        if (std::exchange(_writer_in_await, false) && _closed) [[unlikely]] {
            leave_closed();
        }
        if (std::exchange(_writer_cancelled, false)) {
            percore::detail::throw_aborted();
        }
        throw_if_send_failed();
    }
    void throw_if_send_failed() const {
        if (_tx_error != 0) [[unlikely]] {
            throw_send_error();
        }
    }
    /// Flush until everything written was accepted by the kernel (or a send failed).
    [[nodiscard]] bool all_sent() const noexcept { return _sent == _written || _tx_error != 0; }

    /// The connection handle let go: cancel what is in flight, close the socket, free this once quiet.
    void close_handle() noexcept;

    void cancel_all() noexcept override;
    [[nodiscard]] bool idle() const noexcept override { return _inflight == 0; }
    void detach() noexcept override;

private:
    ~stream_state();
    void on_recv(int res, unsigned flags) noexcept override;
    void on_send(int res, unsigned flags) noexcept override;
    buffer take_slow();
    /// A fiber that close_handle() woke leaves: the state may go now. \throws std::system_error(ECANCELED)
    [[noreturn]] void leave_closed();
    void send_more() noexcept {
        if (!_send_in_flight && _sent < _flushed && _tx_error == 0 && !_no_more_sends) {
            submit_send();
        }
    }
    void submit_send() noexcept;
    void cancel_send() noexcept;
    [[nodiscard]] bool holds_ring_slot(const buffer& b) const noexcept {
        return _ctx.ring_available() && b.owned_by(&_ctx.buffers());
    }
    /// Drops every queued send (after an error, or when the state goes).
    void clear_tx() noexcept {
        _tx.clear();
        _tx_head = 0;
        _tx_slots = 0;
    }
    [[noreturn]] void throw_send_error() const;
    void arm_recv() noexcept;
    void queue_ring_buffer(std::uint16_t bid, std::uint32_t len) noexcept;
    void wake_reader() noexcept;
    void wake_writer_if_done() noexcept;
    void release_if_closed() noexcept;
    static void cancel_reader(void* self) noexcept;
    static void cancel_writer(void* self) noexcept;

    struct read_timer : percore::detail::timer_entry {
        explicit read_timer(stream_state& s) noexcept
            : timer_entry(&fire)
            , owner(s) {}
        static void fire(timer_entry* e) noexcept;
        stream_state& owner;
    };

    int _fd;
    net_context& _ctx;
    std::uint8_t _inflight = 0;
    bool _closed = false;
    std::uint8_t _parked = 0;      // fibers that were parked when close_handle() ran and have not left their awaiter
    bool _reader_in_await = false; // a reader parked (or woken and not yet resumed)
    bool _writer_in_await = false;
    // receive
    enum class recv_kind : std::uint8_t { none, ring, heap, poll };
    recv_kind _recv = recv_kind::none; // the receive in flight
    bool _recv_cancelling = false;
    bool _rx_ready = false; // a poll said data (or EOF, or an error) waits
    bool _rx_eof = false;
    bool _rx_heap_ready = false;
    bool _timed_out = false;
    bool _reader_cancelled = false;
    int _rx_error = 0;
    std::uint16_t _rx_head = net_context::no_buffer;
    std::uint16_t _rx_tail = net_context::no_buffer;
    std::size_t _rx_bytes = 0;
    unsigned _rx_slots = 0; // ring buffers in the unread chain
    buffer _rx_heap;
    percore::detail::fiber* _reader = nullptr;
    duration _read_timeout{};
    read_timer _timer{*this};
    // send
    bool _send_in_flight = false;
    bool _writer_cancelled = false;
    bool _no_more_sends = false; // closed and close_linger passed, or the shard is stopping
    bool _send_cancelling = false;
    bool _detached = false; // the network context is gone: only the socket is left to close
    int _tx_error = 0;
    std::size_t _tx_head = 0;
    std::vector<buffer> _tx;
    unsigned _tx_slots = 0; // ring buffers among the queued sends
    std::vector<iovec> _iov;
    msghdr _msg{};
    std::uint64_t _written = 0;
    std::uint64_t _flushed = 0;
    std::uint64_t _sent = 0;
    std::uint64_t _writer_target = 0;
    std::uint64_t _max_unsent;
    percore::detail::fiber* _writer = nullptr;
};

} // namespace percore::net::detail

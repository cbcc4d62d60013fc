#include "net/detail/stream_state.hh"

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <system_error>
#include <unistd.h>

#include <liburing.h>

#include "runtime/errors.hh"
#include "runtime/io_op.hh"
#include "runtime/task_queue.hh"

namespace percore::net::detail {

namespace {
// More iovecs per sendmsg buy little: 64 buffers are already far more than one pass produces per connection.
constexpr std::size_t max_iov = 64;

void* completion_ptr(percore::detail::io_completion* c) noexcept {
    return c;
}
} // namespace

stream_state::stream_state(int fd, net_context& ctx) noexcept
    : _fd(fd)
    , _ctx(ctx)
    , _max_unsent(ctx.settings().max_unsent) {
    ctx.track(*this);
}

stream_state::~stream_state() {
    if (!_detached) {
        detach();
        if (linked()) {
            net_context::untrack(*this);
        }
    }
    ::close(_fd);
}

void stream_state::detach() noexcept {
    if (_timer.linked()) {
        _ctx.owner().timers().remove(_timer);
    }
    while (_rx_head != net_context::no_buffer) {
        std::uint16_t bid = _rx_head;
        _rx_head = _ctx.buffers().next(bid);
        _ctx.buffers().release(bid);
    }
    _rx_slots = 0;
    _rx_heap.reset();
    _detached = true;
}

// ---------------------------------------------------------------------------------------------------- reading

buffer stream_state::take_slow() {
    if (_rx_heap_ready) {
        _rx_heap_ready = false;
        _rx_bytes -= _rx_heap.size();
        return std::move(_rx_heap);
    }
    if (_timed_out) {
        _timed_out = false;
        throw timed_out();
    }
    if (_rx_error != 0) {
        throw std::system_error(_rx_error, std::system_category(), "receive");
    }
    return {}; // EOF
}

bool stream_state::park_reader(std::coroutine_handle<> h) noexcept {
    if (percore::detail::abort_pending()) {
        _reader_cancelled = true;
        return false;
    }
    arm_recv();
    _reader = percore::detail::park_current(h, {&cancel_reader, this});
    _reader_in_await = true;
    if (_read_timeout > duration::zero()) {
        reactor& r = _ctx.owner();
        if (_timer.linked()) {
            r.timers().remove(_timer);
        }
        _timer._deadline = r.to_tick_ceil(clock_type::now() + _read_timeout);
        r.timers().insert(_timer);
    }
    return true;
}

void stream_state::arm_recv() noexcept {
    if (_recv != recv_kind::none || _rx_eof || _rx_error != 0) {
        return;
    }
    io_uring_sqe* sqe = _ctx.owner().ring().get_sqe();
    if (_ctx.free_buffers() > 0) {
        if (_ctx.multishot_recv()) {
            io_uring_prep_recv_multishot(sqe, _fd, nullptr, 0, 0);
        } else {
            io_uring_prep_recv(sqe, _fd, nullptr, 0, 0); // kernels before 6.0: one receive per arm
        }
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = net_context::buffer_group;
        _recv = recv_kind::ring;
        _rx_ready = false;
    } else if (_rx_ready) {
        // Data waits and every ring buffer is held (or there is no ring): a buffer of our own keeps this reader
        // going, held only until the reader is done with these bytes.
        _rx_heap = buffer(_ctx.settings().recv_buffer_size);
        io_uring_prep_recv(sqe, _fd, _rx_heap.writable(), _rx_heap.size(), 0);
        _recv = recv_kind::heap;
        _rx_ready = false;
        ++_ctx.stats().heap_receives;
        ++_ctx.stats().heap_receives_in_flight;
    } else {
        io_uring_prep_poll_add(sqe, _fd, POLLIN);
        _recv = recv_kind::poll;
    }
    // The SQE points at this object (and maybe _rx_heap): both outlive it (see the invariants).
    io_uring_sqe_set_data(sqe, completion_ptr(static_cast<recv_side*>(this)));
    ++_inflight;
}

void stream_state::queue_ring_buffer(std::uint16_t bid, std::uint32_t len) noexcept {
    recv_ring& ring = _ctx.buffers();
    ring.filled(bid, len);
    ring.next(bid) = net_context::no_buffer;
    if (_rx_head == net_context::no_buffer) {
        _rx_head = bid;
    } else {
        ring.next(_rx_tail) = bid;
    }
    _rx_tail = bid;
    ++_rx_slots;
}

void stream_state::on_recv(int res, unsigned flags) noexcept {
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    const recv_kind kind = _recv;
    if (!more) {
        _recv = recv_kind::none;
        _recv_cancelling = false;
        --_inflight;
        if (kind == recv_kind::heap) {
            --_ctx.stats().heap_receives_in_flight;
        }
    }
    const bool has_buffer = (flags & IORING_CQE_F_BUFFER) != 0;
    const auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (kind == recv_kind::poll) {
        if (res > 0) {
            _rx_ready = true; // readable, hung up or failed: the receive armed next tells which
        } else if (res != -ECANCELED) {
            _rx_error = -res;
        }
    } else if (res > 0) {
        if (has_buffer) {
            queue_ring_buffer(bid, static_cast<std::uint32_t>(res));
        } else {
            _rx_heap.trim(static_cast<std::size_t>(res));
            _rx_heap_ready = true;
        }
        _rx_bytes += static_cast<std::size_t>(res);
        _ctx.stats().bytes_received += static_cast<std::uint64_t>(res);
        if (more && !_recv_cancelling &&
            (_rx_bytes >= _ctx.settings().max_unread || _rx_slots >= _ctx.max_unread_buffers())) {
            // The reader is behind: stop receiving, so the peer sees a full window instead of this connection
            // holding more bytes, or more of the ring's buffers, than its share.
            percore::detail::submit_cancel(static_cast<recv_side*>(this));
            _recv_cancelling = true;
            ++_ctx.stats().receives_paused;
        }
    } else {
        if (has_buffer) {
            _ctx.buffers().unused(bid); // a completion with no bytes that consumed a buffer anyway
        }
        if (res == 0) {
            _rx_eof = true;
        } else if (res == -ENOBUFS || res == -ECANCELED) {
            _ctx.stats().recv_enobufs += res == -ENOBUFS ? 1 : 0;
            _rx_heap.reset(); // the ring ran dry / we stopped it; a waiting reader re-arms below
        } else {
            _rx_error = -res;
        }
    }
    if (_closed) {
        release_if_closed();
        return;
    }
    if (_reader != nullptr) {
        if (readable()) {
            wake_reader();
        } else {
            arm_recv(); // after a poll, or ENOBUFS, with the reader still waiting
        }
    }
}

void stream_state::wake_reader() noexcept {
    percore::detail::fiber* f = std::exchange(_reader, nullptr);
    if (_timer.linked()) {
        _ctx.owner().timers().remove(_timer);
    }
    percore::detail::wake(f);
}

void stream_state::read_timer::fire(timer_entry* e) noexcept {
    stream_state& s = static_cast<read_timer*>(e)->owner;
    if (s._reader != nullptr) {
        s._timed_out = true;
        s.wake_reader();
    } else if (s._closed && s._send_in_flight) {
        // Closed, and the peer has not taken the flushed bytes within close_linger (a zero window, say): give up
        // on them so the socket can be closed.
        s._no_more_sends = true;
        s.cancel_send();
    }
}

void stream_state::cancel_reader(void* self) noexcept {
    auto* s = static_cast<stream_state*>(self);
    s->_reader_cancelled = true;
    s->wake_reader(); // the receive stays armed: data it brings waits for the next read
}

// ---------------------------------------------------------------------------------------------------- writing

void stream_state::submit_send() noexcept {
    // Up to the flush mark: bytes written after the last flush wait for the next one (and are dropped on close).
    std::uint64_t budget = _flushed - _sent;
    io_uring_sqe* sqe = _ctx.owner().ring().get_sqe();
    const buffer& first = _tx[_tx_head];
    if (first.size() >= budget || _tx.size() - _tx_head == 1) {
        io_uring_prep_send(sqe, _fd, first.data(), std::min<std::uint64_t>(first.size(), budget), MSG_NOSIGNAL);
    } else {
        _iov.clear();
        for (std::size_t i = _tx_head; i < _tx.size() && _iov.size() < max_iov && budget > 0; ++i) {
            const buffer& b = _tx[i];
            const std::size_t len = std::min<std::uint64_t>(b.size(), budget);
            _iov.push_back({const_cast<char*>(b.data()), len});
            budget -= len;
        }
        _msg.msg_iov = _iov.data();
        _msg.msg_iovlen = _iov.size();
        // The kernel reads _msg and _iov when it submits the SQE; both live in this object, which outlives it.
        io_uring_prep_sendmsg(sqe, _fd, &_msg, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data(sqe, completion_ptr(static_cast<send_side*>(this)));
    _send_in_flight = true;
    ++_inflight;
}

void stream_state::on_send(int res, unsigned) noexcept {
    _send_in_flight = false;
    _send_cancelling = false;
    --_inflight;
    if (res == 0) {
        res = -EPIPE; // a stream send of a non-empty buffer accepting nothing: treat the socket as broken
    }
    if (res > 0) {
        _sent += static_cast<std::uint64_t>(res);
        _ctx.stats().bytes_sent += static_cast<std::uint64_t>(res);
        auto left = static_cast<std::size_t>(res);
        while (left > 0) {
            buffer& front = _tx[_tx_head];
            if (front.size() <= left) {
                left -= front.size();
                _tx_slots -= holds_ring_slot(front) ? 1 : 0;
                front.reset();
                ++_tx_head;
            } else {
                front.trim_front(left);
                left = 0;
            }
        }
        if (_tx_head == _tx.size()) {
            clear_tx();
        } else if (_tx_head >= 64 && _tx_head * 2 >= _tx.size()) {
            // A writer that never lets the queue run empty: drop the sent entries (no send is in flight now,
            // and the iovecs point at buffer data, not at these entries).
            _tx.erase(_tx.begin(), _tx.begin() + static_cast<std::ptrdiff_t>(_tx_head));
            _tx_head = 0;
        }
    } else {
        _tx_error = -res; // ECANCELED too: the shard is stopping, or a closed connection's linger ran out
        clear_tx();
    }
    send_more(); // flushed bytes queued behind this send, or the rest of a short one; closed or not
    if (_closed) {
        release_if_closed();
        return;
    }
    wake_writer_if_done();
}

bool stream_state::park_writer(std::coroutine_handle<> h, std::uint64_t target) noexcept {
    if (percore::detail::abort_pending()) {
        _writer_cancelled = true;
        return false;
    }
    start_send();
    if (writer_may_go(target)) {
        return false;
    }
    _writer_target = target;
    _writer = percore::detail::park_current(h, {&cancel_writer, this});
    _writer_in_await = true;
    return true;
}

void stream_state::wake_writer_if_done() noexcept {
    if (_writer != nullptr && writer_may_go(_writer_target)) {
        percore::detail::wake(std::exchange(_writer, nullptr));
    }
}

void stream_state::cancel_writer(void* self) noexcept {
    auto* s = static_cast<stream_state*>(self);
    s->_writer_cancelled = true;
    percore::detail::wake(std::exchange(s->_writer, nullptr));
}

void stream_state::throw_send_error() const {
    throw std::system_error(_tx_error, std::system_category(), "send");
}

// ---------------------------------------------------------------------------------------------------- closing

void stream_state::close_handle() noexcept {
    _closed = true;
    // Tasks parked here (another fiber reading or writing) learn that the connection is gone.
    if (_reader_in_await) {
        ++_parked;
        if (_reader != nullptr) {
            wake_reader();
        }
    }
    if (_writer_in_await) {
        ++_parked;
        if (_writer != nullptr) {
            percore::detail::wake(std::exchange(_writer, nullptr));
        }
    }
    if (_recv != recv_kind::none && !_recv_cancelling) {
        percore::detail::submit_cancel(static_cast<recv_side*>(this));
        _recv_cancelling = true;
    }
    if (_send_in_flight) {
        // Flushed bytes still go out (flush does not wait for the kernel), for at most close_linger: on_send
        // goes on sending them.
        reactor& r = _ctx.owner();
        if (_timer.linked()) {
            r.timers().remove(_timer);
        }
        _timer._deadline = r.to_tick_ceil(clock_type::now() + _ctx.settings().close_linger);
        r.timers().insert(_timer);
    }
    release_if_closed();
}

void stream_state::cancel_all() noexcept {
    if (_recv != recv_kind::none && !_recv_cancelling) {
        percore::detail::submit_cancel(static_cast<recv_side*>(this));
        _recv_cancelling = true;
    }
    _no_more_sends = true; // a lingering connection must not start another send once the shard is stopping
    cancel_send();
}

void stream_state::cancel_send() noexcept {
    if (_send_in_flight && !_send_cancelling) {
        percore::detail::submit_cancel(static_cast<send_side*>(this));
        _send_cancelling = true;
    }
}

void stream_state::release_if_closed() noexcept {
    if (_closed && _inflight == 0 && _parked == 0) {
        delete this;
    }
}

void stream_state::leave_closed() {
    --_parked;
    release_if_closed(); // may delete this
    throw std::system_error(ECANCELED, std::system_category(), "connection closed");
}

} // namespace percore::net::detail

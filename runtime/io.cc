#include "runtime/io.hh"

#include <algorithm>
#include <cerrno>
#include <new>

#include <liburing.h>

#include "runtime/reactor.hh"

namespace percore {

bool io_op::await_suspend(std::coroutine_handle<> h) {
    if (detail::abort_pending()) {
        _cancel_requested = true;
        _res = -ECANCELED;
        return false;
    }
    io_uring_sqe* sqe = detail::tl_reactor->ring().get_sqe();
    prepare(sqe);
    io_uring_sqe_set_data(sqe, static_cast<detail::io_completion*>(this));
    _waiter = detail::park_current(h, {&cancel, this});
    // get_sqe() may have reaped completions whose handlers aborted this very fiber before the hook existed.
    if (detail::abort_pending()) {
        _waiter->_cancel = {};
        cancel(this);
    }
    return true;
}

int io_op::await_resume() {
    // io-wq reports a cancelled operation that had started running as -EINTR.
    if (_cancel_requested && (_res == -ECANCELED || _res == -EINTR)) {
        detail::throw_aborted();
    }
    return _res;
}

void io_op::complete(int res, unsigned) noexcept {
    _res = res;
    detail::wake(_waiter);
}

void io_op::cancel(void* self) noexcept {
    auto* op = static_cast<io_op*>(self);
    op->_cancel_requested = true;
    // The fiber stays parked: the op's own CQE (cancelled or not) wakes it.
    detail::submit_cancel(op);
}

namespace detail {

void submit_cancel(const io_completion* target) {
    io_uring_sqe* sqe = tl_reactor->ring().get_sqe();
    io_uring_prep_cancel(sqe, const_cast<io_completion*>(target), 0);
    io_uring_sqe_set_data64(sqe, 0);
}

} // namespace detail

namespace io {

void read_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_read(sqe, _fd, _buf, _len, _offset);
}

void write_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_write(sqe, _fd, _buf, _len, _offset);
}

void readv_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_readv(sqe, _fd, _iov, _count, _offset);
}

void writev_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_writev(sqe, _fd, _iov, _count, _offset);
}

void poll_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_poll_add(sqe, _fd, _events);
}

timeout_op::timeout_op(duration d) noexcept
    : _ns(std::max<long long>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count())) {
}

void timeout_op::prepare(io_uring_sqe* sqe) noexcept {
    static_assert(sizeof(__kernel_timespec) <= sizeof(_timespec));
    auto* ts = ::new (static_cast<void*>(_timespec)) __kernel_timespec{_ns / 1'000'000'000, _ns % 1'000'000'000};
    io_uring_prep_timeout(sqe, ts, 0, 0);
}

int timeout_op::await_resume() {
    int r = io_op::await_resume();
    return r == -ETIME ? 0 : r;
}

void close_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_close(sqe, _fd);
}

void nop_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_nop(sqe);
}

} // namespace io
} // namespace percore

/// \file
/// \brief `io_op`: base of one-shot io_uring operations a fiber awaits.
///
/// A derived op fills its SQE in `prepare()`; awaiting it queues the SQE (submitted with everything else prepared
/// in the same reactor pass) and parks the fiber until the CQE arrives. The result is the CQE's `res`: >= 0 on
/// success, -errno on failure, never an exception for I/O errors.
///
/// Abort: the op asks the kernel to cancel it (IORING_OP_ASYNC_CANCEL) and still waits for its CQE, because the
/// buffers it points at belong to the kernel until then. If the CQE says cancelled the awaiter raises `aborted`;
/// if the op completed anyway, its result is returned and the abort shows at the next suspension point.
///
/// \warning The op object, and every buffer its SQE points at, must stay put until the CQE arrives. Awaiting the
/// op as a temporary inside a coroutine (`co_await io::read(...)`) guarantees it: it lives in the frame.
#pragma once

#include <coroutine>

#include "runtime/detail/fiber.hh"
#include "runtime/detail/io_completion.hh"

struct io_uring_sqe;

namespace percore {

class io_op : public detail::io_completion {
public:
    io_op(const io_op&) = delete;
    io_op& operator=(const io_op&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    int await_resume();

protected:
    io_op() = default;
    ~io_op() = default;
    /// Fills the SQE; user_data is set by the caller.
    virtual void prepare(io_uring_sqe* sqe) noexcept = 0;

private:
    void complete(int res, unsigned flags) noexcept override;
    static void cancel(void* self) noexcept;

    detail::fiber* _waiter = nullptr;
    int _res = 0;
    bool _cancel_requested = false;
};

namespace detail {
/// Queues an IORING_OP_ASYNC_CANCEL for the SQE whose user_data is `target`.
void submit_cancel(const io_completion* target);
} // namespace detail

} // namespace percore

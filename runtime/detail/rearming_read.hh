/// \file
/// \brief A read kept armed on a file descriptor through the reactor's ring: the reactor's wake-up eventfd and the
/// stop-signal signalfd each keep one, with no task waiting on it.
#pragma once

#include "runtime/detail/io_completion.hh"

namespace percore {
class uring;
}

namespace percore::detail {

/// Every completion is handed to on_read() and the read is queued again. A transient error (EINTR, EAGAIN,
/// ECANCELED) re-arms too; any other would repeat forever, so it is logged and the read stops. Ring teardown
/// delivers no completion, so the object may go away with the ring.
class rearming_read : public io_completion {
public:
    /// `what` names the descriptor in the error message, e.g. "the wake-up eventfd".
    rearming_read(uring& ring, void* buf, unsigned len, const char* what) noexcept
        : _ring(ring)
        , _buf(buf)
        , _len(len)
        , _what(what) {}
    rearming_read(const rearming_read&) = delete;
    rearming_read& operator=(const rearming_read&) = delete;

    /// Queues the first read of `fd`. \shard_local
    void start(int fd);

protected:
    ~rearming_read() = default;
    /// A read of `bytes` > 0 completed into the buffer.
    virtual void on_read(int bytes) noexcept = 0;

private:
    void complete(int res, unsigned flags) noexcept final;
    void arm();

    uring& _ring;
    void* _buf;
    unsigned _len;
    const char* _what;
    int _fd = -1;
};

} // namespace percore::detail

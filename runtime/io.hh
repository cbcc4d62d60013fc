/// \file
/// \brief Awaitable io_uring operations on file descriptors: read, write, readv, writev, poll, timeout, close, nop.
///
/// \code
/// char buf[4096];
/// int n = co_await percore::io::read(fd, buf, sizeof buf);   // bytes read, 0 at EOF, or -errno
/// if (n < 0) throw std::system_error(-n, std::system_category(), "read");
/// \endcode
///
/// Results follow the kernel: >= 0 on success, -errno on failure. Offsets default to the file position
/// (`current_position`), which is what pipes and sockets need.
#pragma once

#include <cstdint>
#include <sys/uio.h>

#include "runtime/clock.hh"
#include "runtime/io_op.hh"

namespace percore::io {

/// Use (and advance) the file position instead of an explicit offset.
inline constexpr std::uint64_t current_position = ~std::uint64_t{0};

class read_op final : public io_op {
public:
    read_op(int fd, void* buf, unsigned len, std::uint64_t offset) noexcept
        : _fd(fd)
        , _buf(buf)
        , _len(len)
        , _offset(offset) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    void* _buf;
    unsigned _len;
    std::uint64_t _offset;
};

class write_op final : public io_op {
public:
    write_op(int fd, const void* buf, unsigned len, std::uint64_t offset) noexcept
        : _fd(fd)
        , _buf(buf)
        , _len(len)
        , _offset(offset) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    const void* _buf;
    unsigned _len;
    std::uint64_t _offset;
};

class readv_op final : public io_op {
public:
    readv_op(int fd, const iovec* iov, unsigned count, std::uint64_t offset) noexcept
        : _fd(fd)
        , _iov(iov)
        , _count(count)
        , _offset(offset) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    const iovec* _iov;
    unsigned _count;
    std::uint64_t _offset;
};

class writev_op final : public io_op {
public:
    writev_op(int fd, const iovec* iov, unsigned count, std::uint64_t offset) noexcept
        : _fd(fd)
        , _iov(iov)
        , _count(count)
        , _offset(offset) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    const iovec* _iov;
    unsigned _count;
    std::uint64_t _offset;
};

class poll_op final : public io_op {
public:
    poll_op(int fd, unsigned events) noexcept
        : _fd(fd)
        , _events(events) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    unsigned _events;
};

class timeout_op final : public io_op {
public:
    explicit timeout_op(duration d) noexcept;
    /// 0 when the time elapsed (the kernel's -ETIME), else -errno.
    int await_resume();

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    long long _ns;
    alignas(8) unsigned char _timespec[16]; // a __kernel_timespec; the kernel reads it when the SQE is submitted
};

class close_op final : public io_op {
public:
    explicit close_op(int fd) noexcept
        : _fd(fd) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
};

class nop_op final : public io_op {
private:
    void prepare(io_uring_sqe* sqe) noexcept override;
};

/// \shard_local for all of these.
[[nodiscard]] inline read_op read(int fd, void* buf, unsigned len, std::uint64_t offset = current_position) noexcept {
    return {fd, buf, len, offset};
}
[[nodiscard]] inline write_op write(int fd, const void* buf, unsigned len,
                                    std::uint64_t offset = current_position) noexcept {
    return {fd, buf, len, offset};
}
[[nodiscard]] inline readv_op readv(int fd, const iovec* iov, unsigned count,
                                    std::uint64_t offset = current_position) noexcept {
    return {fd, iov, count, offset};
}
[[nodiscard]] inline writev_op writev(int fd, const iovec* iov, unsigned count,
                                      std::uint64_t offset = current_position) noexcept {
    return {fd, iov, count, offset};
}
/// Waits until `fd` reports one of `events` (POLLIN, POLLOUT...). \return the events that fired, or -errno.
[[nodiscard]] inline poll_op poll(int fd, unsigned events) noexcept {
    return {fd, events};
}
/// A kernel-side timeout; prefer `sleep_for` (timer wheel, no SQE) unless the SQE itself is wanted.
[[nodiscard]] inline timeout_op timeout(duration d) noexcept {
    return timeout_op(d);
}
[[nodiscard]] inline close_op close(int fd) noexcept {
    return close_op(fd);
}
[[nodiscard]] inline nop_op nop() noexcept {
    return {};
}

} // namespace percore::io

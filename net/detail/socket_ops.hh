/// \file
/// \brief Socket syscalls and io_uring operations shared by connections, listeners and UDP channels.
#pragma once

#include <string_view>
#include <sys/socket.h>

#include "net/socket_address.hh"
#include "runtime/io_op.hh"

namespace percore::net::detail {

/// socket(2) for `family` with CLOEXEC. \throws std::system_error naming `what`
[[nodiscard]] int open_socket(int family, int type, std::string_view what);
/// setsockopt of an int. \throws std::system_error naming the option
void set_int_option(int fd, int level, int name, int value, std::string_view what);
/// Closes fd on scope exit unless released.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept
        : _fd(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard();
    int release() noexcept {
        int fd = _fd;
        _fd = -1;
        return fd;
    }
    [[nodiscard]] int get() const noexcept { return _fd; }

private:
    int _fd;
};

/// "connect to 127.0.0.1:80" style text for errors.
[[nodiscard]] std::string describe(std::string_view op, const socket_address& a);
[[nodiscard]] socket_address local_address_of(int fd);
[[nodiscard]] socket_address peer_address_of(int fd);

class connect_op final : public io_op {
public:
    connect_op(int fd, const socket_address& a) noexcept
        : _fd(fd)
        , _address(a) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    socket_address _address; // the kernel reads it when the SQE is submitted
};

class sendmsg_op final : public io_op {
public:
    sendmsg_op(int fd, const msghdr* msg, int flags) noexcept
        : _fd(fd)
        , _msg(msg)
        , _flags(flags) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    const msghdr* _msg;
    int _flags;
};

class recvmsg_op final : public io_op {
public:
    recvmsg_op(int fd, msghdr* msg, int flags) noexcept
        : _fd(fd)
        , _msg(msg)
        , _flags(flags) {}

private:
    void prepare(io_uring_sqe* sqe) noexcept override;
    int _fd;
    msghdr* _msg;
    int _flags;
};

} // namespace percore::net::detail

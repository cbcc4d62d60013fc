#include "net/detail/socket_ops.hh"

#include <cerrno>
#include <string>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>
#include <liburing.h>

namespace percore::net::detail {

int open_socket(int family, int type, std::string_view what) {
    int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::system_error(errno, std::system_category(), std::string(what));
    }
    return fd;
}

void set_int_option(int fd, int level, int name, int value, std::string_view what) {
    if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
        throw std::system_error(errno, std::system_category(), fmt::format("setsockopt {}", what));
    }
}

fd_guard::~fd_guard() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

std::string describe(std::string_view op, const socket_address& a) {
    return fmt::format("{} {}", op, a.to_string());
}

namespace {
using name_fn = int (*)(int, sockaddr*, socklen_t*) noexcept;

socket_address address_of(int fd, name_fn get, const char* what) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        throw std::system_error(errno, std::system_category(), what);
    }
    return socket_address(reinterpret_cast<sockaddr*>(&ss), len);
}
} // namespace

socket_address local_address_of(int fd) {
    return address_of(fd, &::getsockname, "getsockname");
}

socket_address peer_address_of(int fd) {
    return address_of(fd, &::getpeername, "getpeername");
}

void connect_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_connect(sqe, _fd, _address.native(), _address.length());
}

void sendmsg_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_sendmsg(sqe, _fd, _msg, static_cast<unsigned>(_flags));
}

void recvmsg_op::prepare(io_uring_sqe* sqe) noexcept {
    io_uring_prep_recvmsg(sqe, _fd, _msg, static_cast<unsigned>(_flags));
}

} // namespace percore::net::detail

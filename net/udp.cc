#include "net/udp.hh"

#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>
#include <system_error>
#include <unistd.h>

#include "net/detail/socket_ops.hh"

namespace percore::net {

udp_channel udp_channel::bind(const socket_address& address, const udp_options& options) {
    detail::fd_guard fd(detail::open_socket(address.family(), SOCK_DGRAM, detail::describe("socket for", address)));
    if (::bind(fd.get(), address.native(), address.length()) != 0) {
        throw std::system_error(errno, std::system_category(), detail::describe("bind", address));
    }
    udp_channel ch;
    ch._fd = fd.release();
    ch._options = options;
    return ch;
}

udp_channel::udp_channel(udp_channel&& o) noexcept
    : _fd(std::exchange(o._fd, -1))
    , _options(o._options) {
}

udp_channel& udp_channel::operator=(udp_channel&& o) noexcept {
    if (this != &o) {
        close();
        _fd = std::exchange(o._fd, -1);
        _options = o._options;
    }
    return *this;
}

udp_channel::~udp_channel() {
    close();
}

void udp_channel::close() noexcept {
    if (_fd >= 0) {
        ::close(std::exchange(_fd, -1));
    }
}

task<> udp_channel::send_to(socket_address to, std::string_view data) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_name = to.native();
    msg.msg_namelen = to.length();
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    int rc = co_await detail::sendmsg_op(_fd, &msg, MSG_NOSIGNAL);
    if (rc < 0) {
        throw std::system_error(-rc, std::system_category(), detail::describe("send to", to));
    }
}

task<datagram> udp_channel::receive() {
    datagram d{buffer(_options.max_datagram), socket_address()};
    iovec iov{d.data.writable(), d.data.size()};
    msghdr msg{};
    msg.msg_name = d.from.native();
    msg.msg_namelen = sizeof(sockaddr_storage);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    int rc = co_await detail::recvmsg_op(_fd, &msg, 0);
    if (rc < 0) {
        throw std::system_error(-rc, std::system_category(), "receive datagram");
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
        throw std::system_error(EMSGSIZE, std::system_category(), "receive datagram (longer than max_datagram)");
    }
    d.data.trim(static_cast<std::size_t>(rc));
    d.from = socket_address(d.from.native(), msg.msg_namelen);
    co_return d;
}

socket_address udp_channel::local_address() const {
    return detail::local_address_of(_fd);
}

} // namespace percore::net

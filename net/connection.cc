#include "net/connection.hh"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <system_error>

#include "net/detail/socket_ops.hh"
#include "runtime/with_timeout.hh"

namespace percore::net {

connection::connection(int fd)
    : _state(new detail::stream_state(fd, detail::net_context::local()))
    , _in(_state)
    , _out(_state) {
}

connection::connection(connection&& o) noexcept
    : _state(std::exchange(o._state, nullptr))
    , _in(std::move(o._in))
    , _out(std::move(o._out)) {
}

connection& connection::operator=(connection&& o) noexcept {
    if (this != &o) {
        close();
        _state = std::exchange(o._state, nullptr);
        _in = std::move(o._in);
        _out = std::move(o._out);
    }
    return *this;
}

connection::~connection() {
    close();
}

void connection::close() noexcept {
    if (_state != nullptr) {
        _in = input_stream(); // drop held buffers before the state may go
        _out = output_stream();
        std::exchange(_state, nullptr)->close_handle();
    }
}

int connection::fd() const noexcept {
    return _state != nullptr ? _state->fd() : -1;
}

socket_address connection::local_address() const {
    return detail::local_address_of(fd());
}

socket_address connection::remote_address() const {
    return detail::peer_address_of(fd());
}

void connection::set_nodelay(bool on) {
    if (local_address().is_unix()) {
        return; // TCP_NODELAY means nothing to a Unix socket (the kernel refuses it): no effect, as documented
    }
    detail::set_int_option(fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY");
}

void connection::set_keepalive(bool on, const keepalive_params& p) {
    detail::set_int_option(fd(), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, "SO_KEEPALIVE");
    if (on) {
        detail::set_int_option(fd(), IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(p.idle.count()), "TCP_KEEPIDLE");
        detail::set_int_option(fd(), IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(p.interval.count()), "TCP_KEEPINTVL");
        detail::set_int_option(fd(), IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(p.count), "TCP_KEEPCNT");
    }
}

namespace {

task<int> connect_fd(int fd, socket_address address) {
    co_return co_await detail::connect_op(fd, address);
}

} // namespace

task<connection> connect(socket_address address, connect_options options) {
    detail::fd_guard fd(detail::open_socket(address.family(), SOCK_STREAM, detail::describe("socket for", address)));
    if (options.nodelay && !address.is_unix()) {
        detail::set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    }
    int rc = 0;
    if (options.timeout > duration::zero()) {
        try {
            rc = co_await with_timeout(options.timeout, connect_fd(fd.get(), address));
        } catch (const timed_out&) {
            throw std::system_error(ETIMEDOUT, std::system_category(), detail::describe("connect to", address));
        }
    } else {
        rc = co_await detail::connect_op(fd.get(), address);
    }
    if (rc < 0) {
        throw std::system_error(-rc, std::system_category(), detail::describe("connect to", address));
    }
    co_return connection(fd.release());
}

} // namespace percore::net

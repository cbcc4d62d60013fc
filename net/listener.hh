/// \file
/// \brief `listener`: a listening TCP or Unix socket that accepts with one multishot accept.
///
/// \code
/// auto l = net::listener::listen(net::socket_address::parse("127.0.0.1:0"), {.reuse_port = true});
/// fmt::print("on {}\n", l.local_address().to_string());
/// for (;;) {
///     net::connection c = co_await l.accept();
///     (void)percore::spawn(serve(std::move(c))).detach();
/// }
/// \endcode
///
/// One SQE accepts every connection for as long as the listener lives: accepted sockets queue here until
/// `accept()` takes them (up to `listen_options::accept_queue`, after which accepting pauses and the kernel's
/// backlog holds the rest). Unix-domain paths: a stale socket file at the path is replaced.
///
/// \shard_local
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/connection.hh"
#include "net/socket_address.hh"

namespace percore::net {

struct listen_options {
    /// The kernel's queue of connections not yet accepted.
    int backlog = 1024;
    /// SO_REUSEPORT: one listener per shard on the same address, the kernel spreads connections among them.
    bool reuse_port = false;
    /// Accepted sockets held for accept() before accepting pauses.
    std::size_t accept_queue = 4096;
    /// TCP_NODELAY on accepted TCP connections.
    bool nodelay = true;
};

namespace detail {
class listener_state;
}

class listener {
public:
    /// Binds and listens. \throws std::system_error naming the address (EADDRINUSE, EACCES...). \shard_local
    static listener listen(const socket_address& address, const listen_options& options = {});

    listener() noexcept = default;
    listener(listener&& o) noexcept;
    listener& operator=(listener&& o) noexcept;
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;
    /// Stops accepting; connections not yet taken by accept() are closed.
    ~listener();

    /// The next connection. \throws std::system_error when accepting failed (EMFILE: out of file descriptors;
    /// the next call tries again), percore::aborted
    [[nodiscard]] task<connection> accept();
    /// The next accepted socket as a bare descriptor the caller owns: for handing it to another shard, which
    /// wraps it in a `connection` there. Same errors as accept().
    [[nodiscard]] task<int> accept_fd();
    /// The bound address (with the port the kernel chose for port 0).
    [[nodiscard]] socket_address local_address() const;
    [[nodiscard]] std::uint64_t accepted() const noexcept;
    /// Closes the listening socket now; a pending accept() raises std::system_error(ECANCELED).
    void close() noexcept;

private:
    explicit listener(detail::listener_state* s) noexcept
        : _state(s) {}
    detail::listener_state* _state = nullptr;
};

} // namespace percore::net

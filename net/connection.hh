/// \file
/// \brief `connection`: a connected TCP or Unix stream socket with its input and output streams; `connect()`.
///
/// \code
/// net::connection c = co_await net::connect(net::socket_address::parse("127.0.0.1:7000"),
///                                           {.timeout = std::chrono::seconds(2)});
/// co_await c.output().write("ping\n");
/// co_await c.output().flush();
/// net::buffer reply = co_await c.input().read_until("\n", 1024);
/// \endcode
///
/// Dropping a connection closes it: its receive is cancelled, bytes written and not flushed are discarded, a send
/// already in flight may finish (for up to `config::close_linger`), then the socket is closed. Call
/// `output().close()` first for an orderly end (everything sent, then FIN).
///
/// \shard_local A connection is used on the shard that accepted or connected it.
#pragma once

#include <chrono>
#include <memory>

#include "net/socket_address.hh"
#include "net/stream.hh"
#include "runtime/clock.hh"
#include "runtime/task.hh"

namespace percore::net {

/// TCP keepalive probing: after `idle` without traffic, a probe every `interval`, `count` unanswered probes
/// end the connection (reads then fail with ETIMEDOUT).
struct keepalive_params {
    std::chrono::seconds idle{60};
    std::chrono::seconds interval{10};
    unsigned count = 6;
};

struct connect_options {
    /// Zero: the kernel's own limit (about two minutes for TCP).
    duration timeout{};
    /// TCP only: disable Nagle's algorithm (the default: a flush is meant to go out now).
    bool nodelay = true;
};

class connection {
public:
    connection() noexcept = default;
    /// Adopts a connected stream socket (blocking or not): this object closes it. \shard_local
    explicit connection(int fd);
    connection(connection&& o) noexcept;
    connection& operator=(connection&& o) noexcept;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    [[nodiscard]] input_stream& input() noexcept { return _in; }
    [[nodiscard]] output_stream& output() noexcept { return _out; }
    [[nodiscard]] explicit operator bool() const noexcept { return _state != nullptr; }
    [[nodiscard]] int fd() const noexcept;

    /// getsockname / getpeername. \throws std::system_error
    [[nodiscard]] socket_address local_address() const;
    [[nodiscard]] socket_address remote_address() const;

    /// TCP_NODELAY (TCP only; no effect on Unix sockets). \throws std::system_error
    void set_nodelay(bool on);
    /// SO_KEEPALIVE with the given probing (TCP only). \throws std::system_error
    void set_keepalive(bool on, const keepalive_params& params = {});
    /// Reads waiting longer than `d` raise percore::timed_out (zero: never).
    void set_read_timeout(duration d) noexcept { _in.set_timeout(d); }

    /// Closes now (as the destructor does).
    void close() noexcept;

private:
    detail::stream_state* _state = nullptr;
    input_stream _in;
    output_stream _out;
};

/// Connects to `address` (TCP or Unix). \throws std::system_error naming the address (ECONNREFUSED, and
/// ETIMEDOUT after `options.timeout`). \shard_local
[[nodiscard]] task<connection> connect(socket_address address, connect_options options = {});

} // namespace percore::net

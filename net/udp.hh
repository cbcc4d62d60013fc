/// \file
/// \brief `udp_channel`: a bound UDP (or Unix datagram) socket that sends and receives datagrams.
///
/// \code
/// auto ch = net::udp_channel::bind(net::socket_address::parse("127.0.0.1:0"));
/// co_await ch.send_to(peer, "ping");
/// net::datagram d = co_await ch.receive();          // d.data: the payload, d.from: the sender
/// \endcode
///
/// \shard_local One receiver and any number of senders at a time, on the channel's shard.
#pragma once

#include <cstddef>
#include <string_view>

#include "net/buffer.hh"
#include "net/socket_address.hh"
#include "runtime/task.hh"

namespace percore::net {

struct datagram {
    buffer data;
    socket_address from;
};

struct udp_options {
    /// Largest datagram received whole; longer ones are truncated and reported (`receive` throws EMSGSIZE).
    std::size_t max_datagram = 65536;
};

class udp_channel {
public:
    /// \throws std::system_error naming the address. \shard_local
    static udp_channel bind(const socket_address& address, const udp_options& options = {});

    udp_channel() noexcept = default;
    udp_channel(udp_channel&& o) noexcept;
    udp_channel& operator=(udp_channel&& o) noexcept;
    udp_channel(const udp_channel&) = delete;
    udp_channel& operator=(const udp_channel&) = delete;
    ~udp_channel();

    /// Sends one datagram. \throws std::system_error (EMSGSIZE, ECONNREFUSED from an earlier ICMP error...)
    [[nodiscard]] task<> send_to(socket_address to, std::string_view data);
    /// The next datagram. \throws std::system_error (EMSGSIZE for one longer than max_datagram: it is dropped)
    [[nodiscard]] task<datagram> receive();
    [[nodiscard]] socket_address local_address() const;
    void close() noexcept;

private:
    int _fd = -1;
    udp_options _options;
};

} // namespace percore::net

/// \file
/// \brief `socket_address`: an IPv4, IPv6 or Unix-domain address, parsed from text with errors that say what is
/// wrong.
///
/// \code
/// auto a = net::socket_address::parse("127.0.0.1:7000");
/// auto b = net::socket_address::parse("[::1]:7000");
/// auto c = net::socket_address::parse("unix:/run/app.sock");  // or "/run/app.sock"; "unix:@name" is abstract
/// auto d = net::socket_address::from_host_port("::1", 7000);
/// fmt::print("{}\n", a.to_string());                        // 127.0.0.1:7000
/// \endcode
///
/// Only numeric hosts (and "localhost") are accepted: name resolution blocks, and a reactor thread must not.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace percore::net {

/// A text address that cannot be parsed; `what()` quotes it and says why.
class address_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

class socket_address {
public:
    /// The unspecified IPv4 address, port 0.
    socket_address() noexcept;
    /// Copies a kernel address (as returned by accept or getsockname).
    socket_address(const sockaddr* sa, socklen_t len) noexcept;

    /// "HOST:PORT" (IPv4, "[IPv6]:PORT", "localhost:PORT"), "unix:PATH", "unix:@ABSTRACT", or an absolute path.
    /// \throws address_error
    static socket_address parse(std::string_view text);
    /// A numeric IPv4/IPv6 host (brackets optional) or "localhost", and a port. \throws address_error
    static socket_address from_host_port(std::string_view host, std::uint16_t port);
    /// A Unix-domain socket path ("@name" for the abstract namespace). \throws address_error if too long or empty
    static socket_address unix_path(std::string_view path);

    [[nodiscard]] int family() const noexcept { return _storage.ss_family; }
    [[nodiscard]] bool is_unix() const noexcept { return family() == AF_UNIX; }
    /// The port (0 for Unix addresses).
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// The same address with another port (IP only).
    [[nodiscard]] socket_address with_port(std::uint16_t port) const noexcept;

    [[nodiscard]] const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&_storage); }
    [[nodiscard]] sockaddr* native() noexcept { return reinterpret_cast<sockaddr*>(&_storage); }
    [[nodiscard]] socklen_t length() const noexcept { return _length; }

    /// "1.2.3.4:80", "[::1]:80", "unix:/path" or "unix:@name".
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

private:
    sockaddr_storage _storage;
    socklen_t _length;
};

} // namespace percore::net

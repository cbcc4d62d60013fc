#include "net/socket_address.hh"

#include <arpa/inet.h>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <sys/un.h>

#include <fmt/format.h>

namespace percore::net {

namespace {

[[noreturn]] void fail(std::string_view text, std::string_view why) {
    throw address_error(fmt::format("invalid address '{}': {}", text, why));
}

std::uint16_t parse_port(std::string_view text, std::string_view port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size()) {
        fail(text, fmt::format("port '{}' is not a number", port));
    }
    if (value > 65535) {
        fail(text, fmt::format("port {} is out of range (0-65535)", value));
    }
    return static_cast<std::uint16_t>(value);
}

} // namespace

socket_address::socket_address() noexcept
    : _storage{}
    , _length(sizeof(sockaddr_in)) {
    _storage.ss_family = AF_INET;
}

socket_address::socket_address(const sockaddr* sa, socklen_t len) noexcept
    : _storage{}
    , _length(std::min<socklen_t>(len, sizeof(_storage))) {
    std::memcpy(&_storage, sa, _length);
}

socket_address socket_address::parse(std::string_view text) {
    if (text.starts_with("unix:")) {
        return unix_path(text.substr(5));
    }
    if (text.starts_with('/')) {
        return unix_path(text);
    }
    if (text.empty()) {
        fail(text, "empty (expected HOST:PORT, [IPv6]:PORT or unix:PATH)");
    }
    std::string_view host;
    std::string_view port;
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            fail(text, "'[' without a closing ']'");
        }
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            fail(text, "expected ':PORT' after the bracketed IPv6 address");
        }
        port = text.substr(close + 2);
    } else {
        std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            fail(text, "missing ':PORT'");
        }
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            fail(text, "an IPv6 address with a port is written [ADDRESS]:PORT");
        }
        port = text.substr(colon + 1);
    }
    const std::uint16_t number = parse_port(text, port); // its errors quote `text` already
    if (host.empty()) {
        fail(text, "missing host");
    }
    try {
        return from_host_port(host, number);
    } catch (const address_error&) {
        fail(text, host.find(':') != std::string_view::npos
                       ? "not a numeric IPv6 address"
                       : "not a numeric IPv4 address (host names are not resolved: a lookup would block the reactor)");
    }
}

socket_address socket_address::from_host_port(std::string_view host, std::uint16_t port) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    std::string h(host);
    socket_address a;
    if (host.find(':') != std::string_view::npos) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, h.c_str(), &sin6.sin6_addr) != 1) {
            fail(host, "not a numeric IPv6 address");
        }
        return socket_address(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
    }
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (inet_pton(AF_INET, h.c_str(), &sin.sin_addr) != 1) {
        fail(host, host.empty() ? "missing host"
                                : "not a numeric IPv4 address (host names are not resolved: a lookup would block "
                                  "the reactor)");
    }
    return socket_address(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

socket_address socket_address::unix_path(std::string_view path) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.empty() || path == "@") {
        fail(path, "empty Unix socket path");
    }
    if (path.size() >= sizeof(sun.sun_path)) {
        fail(path, fmt::format("Unix socket path longer than {} bytes", sizeof(sun.sun_path) - 1));
    }
    std::memcpy(sun.sun_path, path.data(), path.size());
    bool abstract = path.front() == '@';
    if (abstract) {
        sun.sun_path[0] = '\0'; // the abstract namespace: no file, no terminating NUL counted
    }
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
    return socket_address(reinterpret_cast<const sockaddr*>(&sun), len);
}

std::uint16_t socket_address::port() const noexcept {
    switch (family()) {
    case AF_INET:
        return ntohs(reinterpret_cast<const sockaddr_in*>(&_storage)->sin_port);
    case AF_INET6:
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&_storage)->sin6_port);
    default:
        return 0;
    }
}

socket_address socket_address::with_port(std::uint16_t port) const noexcept {
    socket_address a = *this;
    if (family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&a._storage)->sin_port = htons(port);
    } else if (family() == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&a._storage)->sin6_port = htons(port);
    }
    return a;
}

std::string socket_address::to_string() const {
    char host[INET6_ADDRSTRLEN] = {};
    switch (family()) {
    case AF_INET:
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&_storage)->sin_addr, host, sizeof(host));
        return fmt::format("{}:{}", host, port());
    case AF_INET6:
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&_storage)->sin6_addr, host, sizeof(host));
        return fmt::format("[{}]:{}", host, port());
    case AF_UNIX: {
        const auto* sun = reinterpret_cast<const sockaddr_un*>(&_storage);
        std::size_t n = _length > offsetof(sockaddr_un, sun_path) ? _length - offsetof(sockaddr_un, sun_path) : 0;
        if (n == 0) {
            return "unix:(unnamed)";
        }
        if (sun->sun_path[0] == '\0') {
            return fmt::format("unix:@{}", std::string_view(sun->sun_path + 1, n - 1));
        }
        return fmt::format("unix:{}", std::string_view(sun->sun_path, strnlen(sun->sun_path, n)));
    }
    default:
        return fmt::format("(address family {})", family());
    }
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
    return a._length == b._length && std::memcmp(&a._storage, &b._storage, a._length) == 0;
}

} // namespace percore::net

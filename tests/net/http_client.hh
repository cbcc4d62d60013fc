/// \file
/// \brief A minimal HTTP/1.1 client for the tests: raw bytes out, responses parsed back (Content-Length,
/// chunked, or until EOF), interim 1xx responses returned as responses of their own.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/connection.hh"
#include "runtime/task.hh"

namespace percore::net::test {

struct http_reply {
    int status = 0;   ///< 0: the connection ended before a status line
    std::string head; ///< status line and headers
    std::string body;
    bool closed = false; ///< the server closed the connection after this reply (or before one)

    /// A header's value ("" when absent); names compared case-insensitively.
    [[nodiscard]] std::string header(std::string_view name) const {
        std::size_t pos = head.find("\r\n");
        while (pos != std::string::npos && pos + 2 < head.size()) {
            const std::size_t start = pos + 2;
            const std::size_t end = head.find("\r\n", start);
            std::string_view line = std::string_view(head).substr(start, end - start);
            const std::size_t colon = line.find(':');
            if (colon != std::string_view::npos && colon == name.size()) {
                bool same = true;
                for (std::size_t i = 0; i < colon; ++i) {
                    same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                                       std::tolower(static_cast<unsigned char>(name[i]));
                }
                if (same) {
                    std::string_view v = line.substr(colon + 1);
                    while (!v.empty() && v.front() == ' ') {
                        v.remove_prefix(1);
                    }
                    return std::string(v);
                }
            }
            pos = end;
        }
        return {};
    }
};

/// Reads HTTP responses from a connection, keeping what it read past the current one.
class http_reader {
public:
    explicit http_reader(connection& c) noexcept
        : _c(c) {}

    /// The next response. `head_request`: the response to a HEAD (no body whatever its headers say).
    task<http_reply> next(bool head_request = false) {
        http_reply r;
        std::size_t end;
        while ((end = _data.find("\r\n\r\n")) == std::string::npos) {
            const bool got = co_await more();
            if (!got) {
                r.closed = true;
                co_return r;
            }
        }
        r.head = _data.substr(0, end);
        _data.erase(0, end + 4);
        r.status = std::atoi(r.head.substr(9, 3).c_str());
        const std::string length = r.header("content-length");
        const bool chunked = r.header("transfer-encoding") == "chunked";
        if (head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) {
            // no body
        } else if (!length.empty()) {
            const std::size_t n = std::strtoull(length.c_str(), nullptr, 10);
            while (_data.size() < n) {
                const bool got = co_await more();
                if (!got) {
                    r.closed = true;
                    r.body = _data;
                    co_return r;
                }
            }
            r.body = _data.substr(0, n);
            _data.erase(0, n);
        } else if (chunked) {
            std::size_t pos = 0; // erased once at the end: erasing each chunk would copy the rest every time
            for (;;) {
                std::size_t line_end;
                while ((line_end = _data.find("\r\n", pos)) == std::string::npos) {
                    const bool got = co_await more();
                    if (!got) {
                        r.closed = true;
                        co_return r;
                    }
                }
                const std::size_t size = std::strtoull(_data.c_str() + pos, nullptr, 16);
                while (_data.size() < line_end + 2 + size + 2) {
                    const bool got = co_await more();
                    if (!got) {
                        r.closed = true;
                        co_return r;
                    }
                }
                r.body.append(_data, line_end + 2, size);
                pos = line_end + 2 + size + 2;
                if (size == 0) {
                    break;
                }
            }
            _data.erase(0, pos);
        } else {
            while (co_await more()) {
            }
            r.body = std::move(_data);
            _data.clear();
            r.closed = true;
        }
        if (r.header("connection") == "close") {
            r.closed = !co_await more() && _data.empty();
        }
        co_return r;
    }

    /// Whether the server closed the connection (EOF or reset) with nothing more to read.
    task<bool> at_eof() {
        if (!_data.empty()) {
            co_return false;
        }
        co_return !co_await more();
    }

private:
    task<bool> more() {
        try {
            buffer b = co_await _c.input().read();
            if (b.empty()) {
                co_return false;
            }
            _data.append(b.view());
            co_return true;
        } catch (const std::system_error&) {
            co_return false; // reset: the server closed with bytes unread
        }
    }

    connection& _c;
    std::string _data;
};

/// Writes `bytes` and flushes.
inline task<> send_raw(connection& c, std::string bytes) {
    co_await c.output().write(std::string_view(bytes));
    co_await c.output().flush();
}

} // namespace percore::net::test

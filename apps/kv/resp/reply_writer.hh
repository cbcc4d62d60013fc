/// \file
/// \brief `reply_writer`: encodes replies in RESP2 or RESP3 into a byte string, the way Redis 7.0 does.
///
/// \code
/// std::string bytes;
/// resp::reply_writer out(bytes, 3);
/// out.map(1);                 // "%1\r\n" (RESP2: "*2\r\n")
/// out.bulk("proto");
/// out.integer(3);
/// out.null();                 // "_\r\n" (RESP2: "$-1\r\n")
/// \endcode
///
/// Aggregates are written as a header followed by their elements: the caller writes exactly as many elements
/// as it announced (twice that many for a map). Errors carry their code: `error("ERR syntax error")`.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace percore::kv::resp {

class reply_writer {
public:
    reply_writer(std::string& out, int protocol) noexcept
        : _out(&out)
        , _proto(protocol) {}

    [[nodiscard]] int protocol() const noexcept { return _proto; }
    void set_protocol(int p) noexcept { _proto = p; }
    [[nodiscard]] std::string& bytes() noexcept { return *_out; }

    void simple(std::string_view s) {
        _out->push_back('+');
        _out->append(s);
        crlf();
    }
    void ok() { _out->append("+OK\r\n", 5); }
    /// `s` starts with the error code: "ERR ...", "WRONGTYPE ...". Newlines are replaced by spaces, as Redis does.
    void error(std::string_view s) {
        _out->push_back('-');
        const std::size_t at = _out->size();
        _out->append(s);
        for (std::size_t i = at; i < _out->size(); ++i) {
            if ((*_out)[i] == '\r' || (*_out)[i] == '\n') {
                (*_out)[i] = ' ';
            }
        }
        crlf();
    }
    void integer(std::int64_t v) { prefixed(':', v); }
    void bulk(std::string_view s) {
        prefixed('$', static_cast<std::int64_t>(s.size()));
        _out->append(s);
        crlf();
    }
    /// A bulk string of the decimal form of `v` (what INCR keeps, what LRANGE of numbers returns).
    void bulk_integer(std::int64_t v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        bulk(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    }
    /// The null bulk string ("$-1"; RESP3 "_").
    void null() {
        if (_proto >= 3) {
            _out->append("_\r\n", 3);
        } else {
            _out->append("$-1\r\n", 5);
        }
    }
    /// The null array ("*-1"; RESP3 "_").
    void null_array() {
        if (_proto >= 3) {
            _out->append("_\r\n", 3);
        } else {
            _out->append("*-1\r\n", 5);
        }
    }
    void array(std::size_t n) { prefixed('*', static_cast<std::int64_t>(n)); }
    /// `n` key-value pairs (RESP2: a flat array of 2n elements).
    void map(std::size_t n) {
        if (_proto >= 3) {
            prefixed('%', static_cast<std::int64_t>(n));
        } else {
            prefixed('*', static_cast<std::int64_t>(2 * n));
        }
    }
    /// An unordered collection (RESP2: an array).
    void set(std::size_t n) { prefixed(_proto >= 3 ? '~' : '*', static_cast<std::int64_t>(n)); }
    /// A double, as Redis 7.0 formats it ("%.17g", "inf", "-inf"); RESP2: a bulk string.
    void dbl(double d) {
        char buf[64];
        std::string_view text;
        if (std::isinf(d)) {
            text = d > 0 ? "inf" : "-inf";
        } else {
            const int n = std::snprintf(buf, sizeof buf, "%.17g", d);
            text = std::string_view(buf, static_cast<std::size_t>(n));
        }
        if (_proto >= 3) {
            _out->push_back(',');
            _out->append(text);
            crlf();
        } else {
            bulk(text);
        }
    }
    /// RESP3 boolean; RESP2 the integers 1 and 0.
    void boolean(bool b) {
        if (_proto >= 3) {
            _out->append(b ? "#t\r\n" : "#f\r\n", 4);
        } else {
            integer(b ? 1 : 0);
        }
    }
    /// RESP3 verbatim string of format `fmt` (3 letters, "txt"); RESP2: a bulk string.
    void verbatim(std::string_view text, std::string_view fmt = "txt") {
        if (_proto >= 3) {
            prefixed('=', static_cast<std::int64_t>(text.size() + 4));
            _out->append(fmt);
            _out->push_back(':');
            _out->append(text);
            crlf();
        } else {
            bulk(text);
        }
    }
    /// Bytes already encoded (a reply computed elsewhere).
    void raw(std::string_view encoded) { _out->append(encoded); }

private:
    void crlf() { _out->append("\r\n", 2); }
    void prefixed(char type, std::int64_t v) {
        char buf[24];
        buf[0] = type;
        auto r = std::to_chars(buf + 1, buf + sizeof buf - 2, v);
        *r.ptr++ = '\r';
        *r.ptr++ = '\n';
        _out->append(buf, static_cast<std::size_t>(r.ptr - buf));
    }

    std::string* _out;
    int _proto;
};

} // namespace percore::kv::resp

#include "apps/kv/persistence/record_codec.hh"

#include <charconv>
#include <cstring>

namespace percore::kv::persistence {

namespace {

void put_number_line(std::string& out, char prefix, std::size_t n) {
    char buf[24];
    buf[0] = prefix;
    auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
    (void)ec;
    *end++ = '\r';
    *end++ = '\n';
    out.append(buf, static_cast<std::size_t>(end - buf));
}

template <typename T>
void put_le(std::string& out, T v) {
    char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        b[i] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
    }
    out.append(b, sizeof(T));
}

template <typename T>
bool get_le(std::string_view in, std::size_t& at, T& v) {
    if (in.size() - at < sizeof(T)) {
        return false;
    }
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
    }
    v = static_cast<T>(x);
    at += sizeof(T);
    return true;
}

std::optional<txn_header> read_txn(std::string_view in, std::size_t& at) {
    txn_header h;
    std::uint16_t n = 0;
    if (in.empty() || in[0] != 'X') {
        return std::nullopt;
    }
    at = 1;
    if (!get_le(in, at, h.id) || !get_le(in, at, n)) {
        return std::nullopt;
    }
    for (std::uint16_t i = 0; i < n; ++i) {
        std::uint16_t s = 0;
        if (!get_le(in, at, s)) {
            return std::nullopt;
        }
        h.participants.push_back(s);
    }
    return h;
}

} // namespace

void encode_command(std::string& out, std::span<const std::string_view> argv) {
    std::size_t need = 16;
    for (std::string_view a : argv) {
        need += a.size() + 16;
    }
    out.reserve(out.size() + need);
    put_number_line(out, '*', argv.size());
    for (std::string_view a : argv) {
        put_number_line(out, '$', a.size());
        out.append(a);
        out.append("\r\n", 2);
    }
}

void encode_clock(std::string& out, std::int64_t ms) {
    out.push_back('T');
    put_le(out, ms);
}

void encode_txn_header(std::string& out, std::uint64_t txn_id, std::span<const unsigned> participants) {
    out.push_back('X');
    put_le(out, txn_id);
    put_le(out, static_cast<std::uint16_t>(participants.size()));
    for (unsigned s : participants) {
        put_le(out, static_cast<std::uint16_t>(s));
    }
}

std::optional<txn_header> peek_txn(std::span<const std::byte> payload) {
    std::size_t at = 0;
    return read_txn(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), at);
}

record_reader::record_reader(std::string_view payload) noexcept
    : _in(payload) {
    if (!_in.empty() && _in[0] == 'X') {
        try {
            _txn = read_txn(_in, _at);
        } catch (...) {
            _txn.reset();
        }
        if (!_txn) {
            _error = "truncated transaction header";
        }
    }
}

bool record_reader::fail(const char* what) {
    _error = std::string(what) + " at payload offset " + std::to_string(_at);
    return false;
}

bool record_reader::read_line_number(char prefix, std::int64_t& n) {
    if (_at >= _in.size() || _in[_at] != prefix) {
        return false;
    }
    const std::size_t eol = _in.find("\r\n", _at + 1);
    if (eol == std::string_view::npos) {
        return false;
    }
    auto [p, ec] = std::from_chars(_in.data() + _at + 1, _in.data() + eol, n);
    if (ec != std::errc() || p != _in.data() + eol || n < 0) {
        return false;
    }
    _at = eol + 2;
    return true;
}

bool record_reader::next(std::vector<std::string_view>& argv) {
    argv.clear();
    if (!_error.empty()) {
        return false;
    }
    while (_at < _in.size() && _in[_at] == 'T') {
        std::int64_t ms = 0;
        ++_at;
        if (!get_le(_in, _at, ms)) {
            return fail("truncated clock");
        }
        _clock = ms;
    }
    if (_at >= _in.size()) {
        return false;
    }
    const std::size_t start = _at;
    std::int64_t n = 0;
    if (!read_line_number('*', n) || n == 0) {
        _at = start;
        return fail("malformed command header");
    }
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t len = 0;
        if (!read_line_number('$', len) || _in.size() - _at < static_cast<std::size_t>(len) + 2 ||
            _in.compare(_at + static_cast<std::size_t>(len), 2, "\r\n") != 0) {
            return fail("malformed argument");
        }
        argv.push_back(_in.substr(_at, static_cast<std::size_t>(len)));
        _at += static_cast<std::size_t>(len) + 2;
    }
    return true;
}

} // namespace percore::kv::persistence

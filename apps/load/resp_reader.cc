#include "apps/load/resp_reader.hh"

#include <algorithm>
#include <cstring>

namespace percore::load::resp {

bool resp_reader::try_line(std::string_view& line) {
    const std::string_view v = _buf.view();
    if (v.empty()) {
        return false; // (memchr of an empty buffer's null data is undefined)
    }
    const void* nl = std::memchr(v.data(), '\n', v.size());
    if (nl == nullptr) {
        return false;
    }
    const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - v.data());
    if (end == 0 || v[end - 1] != '\r') {
        return false; // line() reports it (or it is a CR in the previous piece)
    }
    line = v.substr(0, end - 1);
    _buf.trim_front(end + 1);
    return true;
}

task<std::string_view> resp_reader::line() {
    _scratch.clear();
    for (;;) {
        if (_buf.empty()) {
            co_await fill();
        }
        const std::string_view v = _buf.view();
        const void* nl = std::memchr(v.data(), '\n', v.size());
        if (nl == nullptr) {
            if (_scratch.size() + v.size() > max_line) {
                throw reply_error("a reply line longer than 4096 bytes");
            }
            _scratch.append(v); // the line goes on in the next receive buffer: the one copy we cannot avoid
            _buf.reset();
            continue;
        }
        const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - v.data());
        std::string_view line;
        if (_scratch.empty()) {
            line = v.substr(0, end);
        } else {
            _scratch.append(v.substr(0, end));
            line = _scratch;
        }
        _buf.trim_front(end + 1);
        if (line.empty() || line.back() != '\r') {
            throw reply_error("a reply line ends in LF without CR");
        }
        line.remove_suffix(1);
        co_return line;
    }
}

task<std::string_view> resp_reader::some(std::size_t max) {
    if (_buf.empty()) {
        co_await fill();
    }
    const std::size_t n = std::min(max, _buf.size());
    const std::string_view piece = _buf.view().substr(0, n);
    _buf.trim_front(n); // the storage stays alive until the next call
    co_return piece;
}

task<> resp_reader::crlf() {
    static constexpr char want[] = "\r\n";
    for (int i = 0; i < 2; ++i) {
        if (_buf.empty()) {
            co_await fill();
        }
        if (_buf[0] != want[i]) {
            throw reply_error("a bulk payload is not followed by CRLF (wrong length?)");
        }
        _buf.trim_front(1);
    }
}

task<> resp_reader::fill() {
    _buf = co_await _in.read();
    if (_buf.empty()) {
        throw reply_error("connection closed by the server");
    }
}

} // namespace percore::load::resp

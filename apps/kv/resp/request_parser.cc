#include "apps/kv/resp/request_parser.hh"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

namespace percore::kv::resp {

namespace {

// A value larger than this gets room for all of it as soon as its length is known (Redis's PROTO_MBULK_BIG_ARG);
// smaller ones grow with what arrives.
constexpr std::size_t reserve_threshold = 32 * 1024;
// The argument references of a request with more arguments than this are freed after it, not kept for reuse.
constexpr std::size_t kept_args = 1024;

/// Redis's string2ll: an optional '-', then digits without a leading zero (but "0"); no '+', no spaces.
bool parse_ll(std::string_view s, std::int64_t& out) noexcept {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    std::size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (s.size() == 1) {
            return false;
        }
    }
    if (s[i] == '0') {
        if (s.size() == 1) {
            out = 0;
            return true;
        }
        return false;
    }
    std::uint64_t v = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') {
            return false;
        }
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (negative) {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
            return false;
        }
        out = static_cast<std::int64_t>(0 - v);
    } else {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return false;
        }
        out = static_cast<std::int64_t>(v);
    }
    return true;
}

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return (c | 0x20) - 'a' + 10;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

/// Redis's sdssplitargs: words separated by spaces; "double quotes" with \n \r \t \b \a \\ \" \xHH escapes,
/// 'single quotes' with \' only; a closing quote must be followed by a space or the end. \return false for
/// unbalanced quotes.
bool split_args(std::string_view line, std::vector<std::string>& out) {
    std::size_t p = 0;
    for (;;) {
        while (p < line.size() && is_space(line[p])) {
            ++p;
        }
        if (p == line.size()) {
            return true;
        }
        std::string current;
        bool in_dq = false;
        bool in_sq = false;
        bool done = false;
        while (!done) {
            if (in_dq) {
                if (p == line.size()) {
                    return false;
                }
                if (line[p] == '\\' && p + 3 < line.size() && line[p + 1] == 'x' && is_hex(line[p + 2]) &&
                    is_hex(line[p + 3])) {
                    current += static_cast<char>(hex_value(line[p + 2]) * 16 + hex_value(line[p + 3]));
                    p += 3;
                } else if (line[p] == '\\' && p + 1 < line.size()) {
                    ++p;
                    switch (line[p]) {
                    case 'n':
                        current += '\n';
                        break;
                    case 'r':
                        current += '\r';
                        break;
                    case 't':
                        current += '\t';
                        break;
                    case 'b':
                        current += '\b';
                        break;
                    case 'a':
                        current += '\a';
                        break;
                    default:
                        current += line[p];
                        break;
                    }
                } else if (line[p] == '"') {
                    if (p + 1 < line.size() && !is_space(line[p + 1])) {
                        return false; // closing quote must be followed by a space or nothing at all
                    }
                    done = true;
                } else {
                    current += line[p];
                }
            } else if (in_sq) {
                if (p == line.size()) {
                    return false;
                }
                if (line[p] == '\\' && p + 1 < line.size() && line[p + 1] == '\'') {
                    ++p;
                    current += '\'';
                } else if (line[p] == '\'') {
                    if (p + 1 < line.size() && !is_space(line[p + 1])) {
                        return false;
                    }
                    done = true;
                } else {
                    current += line[p];
                }
            } else {
                if (p == line.size()) {
                    done = true;
                    break;
                }
                switch (line[p]) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0':
                    done = true;
                    break;
                case '"':
                    in_dq = true;
                    break;
                case '\'':
                    in_sq = true;
                    break;
                default:
                    current += line[p];
                    break;
                }
            }
            if (p < line.size()) {
                ++p;
            }
        }
        out.push_back(std::move(current));
    }
}

} // namespace

void request_parser::feed(net::buffer chunk) {
    if (chunk.empty()) {
        return;
    }
    assert(_chunk.empty() && "feed() before next() returned need_more");
    _chunk = std::move(chunk);
    _chunk_pos = 0;
    _chunk_used = false;
}

parse_status request_parser::fail(std::string message) {
    _error = std::move(message);
    return parse_status::error;
}

void request_parser::let_go_of_chunk() noexcept {
    if (_chunk_used) {
        _held.push_back(std::move(_chunk));
    }
    _chunk.reset(); // a ring slot goes back to the kernel at once when nothing points into it
    _chunk_pos = 0;
    _chunk_used = false;
}

parse_status request_parser::next(std::vector<std::string_view>& argv) {
    argv.clear();
    if (failed()) {
        return parse_status::error;
    }
    for (;;) {
        parse_status s;
        if (!_pending.empty()) {
            s = gather(argv);
        } else if (_chunk_pos < _chunk.size()) {
            s = parse(_chunk.view(), _chunk_pos, argv);
            if (s == parse_status::need_more) {
                start_gathering();
                continue;
            }
            _chunk_used = _chunk_used || s == parse_status::command;
        } else {
            let_go_of_chunk();
            return parse_status::need_more;
        }
        if (s == parse_status::command && argv.empty()) {
            continue; // "*0", "*-1" or a blank inline line: nothing to run
        }
        return s;
    }
}

void request_parser::start_gathering() {
    const std::string_view tail = _chunk.view().substr(_cmd_start);
    for (arg_ref& a : _args) {
        a.offset -= _cmd_start;
    }
    _pos = _chunk_pos - _cmd_start;
    _cmd_start = 0;
    _chunk_pos = _chunk.size();
    reserve_for_bulk(); // before copying: the value's start is copied once
    _pending.insert(_pending.end(), tail.begin(), tail.end());
}

void request_parser::reserve_for_bulk() {
    if (_argc == 0 || _bulk <= static_cast<std::int64_t>(reserve_threshold)) {
        return;
    }
    const std::size_t total = _pos + static_cast<std::size_t>(_bulk) + 2;
    if (total <= _pending.capacity() || total > _limits.max_query_buffer) {
        return; // room already, or a request that will be refused anyway: no room for it ahead of its bytes
    }
    // At least double (within the limit): a request of many large values is copied a bounded number of times,
    // not once per value.
    _pending.reserve(std::min(std::max(total, 2 * _pending.capacity()), _limits.max_query_buffer));
}

std::size_t request_parser::wanted(std::string_view rest) const noexcept {
    if (_argc > 0 && _bulk >= 0) {
        // A payload and the two bytes after it: exactly what is missing.
        return std::min(_pos + static_cast<std::size_t>(_bulk) + 2 - _pending.size(), rest.size());
    }
    // A line: an inline command up to its '\n', or a "*N" / "$N" header up to the byte after its '\r'.
    const bool inline_line = _argc == 0 && _pending[0] != '*';
    if (!inline_line && _pending.size() > _pos && _pending.back() == '\r') {
        return 1;
    }
    const void* end = std::memchr(rest.data(), inline_line ? '\n' : '\r', rest.size());
    if (end == nullptr) {
        return rest.size();
    }
    const auto at = static_cast<std::size_t>(static_cast<const char*>(end) - rest.data());
    return std::min(at + (inline_line ? 1 : 2), rest.size());
}

parse_status request_parser::gather(std::vector<std::string_view>& argv) {
    for (;;) {
        const std::string_view rest = _chunk.view().substr(_chunk_pos);
        if (rest.empty()) {
            let_go_of_chunk();
            if (_pending.size() > _limits.max_query_buffer) {
                _silent = true;
                return fail("ERR query buffer limit reached");
            }
            return parse_status::need_more;
        }
        const std::size_t n = wanted(rest);
        _pending.insert(_pending.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
        _chunk_pos += n;
        const parse_status s = parse(std::string_view(_pending.data(), _pending.size()), _pos, argv);
        if (s == parse_status::need_more) {
            reserve_for_bulk();
            continue;
        }
        if (s == parse_status::command) {
            // Complete. Its arguments point into _pending (unless inline): kept until release_consumed(). What
            // follows in the receive is parsed in place.
            if (!argv.empty() && _pending[0] == '*') {
                _gathered.push_back(std::move(_pending));
            }
            std::vector<char>().swap(_pending);
            _pos = 0;
        }
        return s;
    }
}

namespace {

/// A header's number, "1".."999999999999999999", up to its '\r' (and the byte after it, which Redis skips
/// unchecked): the only form parse_whole() takes; anything else (a sign, a leading zero, 19 digits or more, a
/// missing '\r') is left to the general path, which has the errors.
[[gnu::always_inline]] inline bool header_number(const char*& p, const char* end, std::uint64_t& out) noexcept {
    constexpr std::ptrdiff_t max_digits = 18; // below 2^63: no overflow check needed
    const char* q = p;
    if (q == end || *q < '1' || *q > '9') {
        return false;
    }
    std::uint64_t v = 0;
    while (q != end && static_cast<unsigned char>(*q - '0') <= 9) {
        if (q - p == max_digits) {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(*q - '0');
        ++q;
    }
    if (end - q < 2 || *q != '\r') {
        return false;
    }
    p = q + 2;
    out = v;
    return true;
}

} // namespace

bool request_parser::parse_whole(std::string_view data, std::size_t& pos, std::vector<std::string_view>& argv) {
    const char* p = data.data() + pos + 1; // after '*'
    const char* const end = data.data() + data.size();
    std::uint64_t n = 0;
    if (!header_number(p, end, n) || n > _limits.max_args || (n > 10 && !_authenticated)) {
        return false;
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t len = 0;
        if (p == end || *p != '$') {
            return false;
        }
        ++p;
        if (!header_number(p, end, len) || len > _limits.max_bulk || (len > 16384 && !_authenticated) ||
            static_cast<std::uint64_t>(end - p) < len + 2) {
            return false;
        }
        argv.emplace_back(p, static_cast<std::size_t>(len));
        p += len + 2; // the two bytes after the payload are skipped, not checked (as Redis and parse())
    }
    pos = static_cast<std::size_t>(p - data.data());
    return true;
}

parse_status request_parser::parse(std::string_view data, std::size_t& pos, std::vector<std::string_view>& argv) {
    if (_argc == 0) {
        _cmd_start = pos;
        if (data[pos] != '*') {
            return parse_inline(data, pos, argv);
        }
        // The usual request: complete in this receive, every number in its plain form.
        if (parse_whole(data, pos, argv)) {
            return parse_status::command;
        }
        argv.clear();
        const char* base = data.data() + pos;
        const std::size_t avail = data.size() - pos;
        const void* cr = std::memchr(base, '\r', avail);
        if (cr == nullptr) {
            if (avail > _limits.max_inline) {
                return fail("ERR Protocol error: too big mbulk count string");
            }
            return parse_status::need_more;
        }
        const auto line = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
        if (line + 2 > avail) {
            return parse_status::need_more; // the byte after '\r' has not arrived
        }
        std::int64_t n = 0;
        if (!parse_ll(std::string_view(base + 1, line - 1), n) || n > static_cast<std::int64_t>(_limits.max_args)) {
            return fail("ERR Protocol error: invalid multibulk length");
        }
        if (n > 10 && !_authenticated) {
            return fail("ERR Protocol error: unauthenticated multibulk length");
        }
        pos += line + 2;
        if (n <= 0) {
            return parse_status::command; // empty request: nothing to run
        }
        _argc = n;
        _bulk = -1;
        _args.clear();
        _args.reserve(static_cast<std::size_t>(std::min<std::int64_t>(n, kept_args)));
    }
    while (static_cast<std::int64_t>(_args.size()) < _argc) {
        if (_bulk < 0) {
            const char* base = data.data() + pos;
            const std::size_t avail = data.size() - pos;
            const void* cr = std::memchr(base, '\r', avail);
            if (cr == nullptr) {
                if (avail > _limits.max_inline) {
                    return fail("ERR Protocol error: too big bulk count string");
                }
                return parse_status::need_more;
            }
            const auto line = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
            if (line + 2 > avail) {
                return parse_status::need_more;
            }
            if (base[0] != '$') {
                return fail(std::string("ERR Protocol error: expected '$', got '") + base[0] + "'");
            }
            std::int64_t len = 0;
            if (!parse_ll(std::string_view(base + 1, line - 1), len) || len < 0 ||
                static_cast<std::uint64_t>(len) > _limits.max_bulk) {
                return fail("ERR Protocol error: invalid bulk length");
            }
            if (len > 16384 && !_authenticated) {
                return fail("ERR Protocol error: unauthenticated bulk length");
            }
            pos += line + 2;
            _bulk = len;
        }
        const auto need = static_cast<std::size_t>(_bulk) + 2;
        if (data.size() - pos < need) {
            return parse_status::need_more;
        }
        // Like Redis, the two bytes after the payload are skipped, not checked.
        _args.push_back({pos, static_cast<std::size_t>(_bulk)});
        pos += need;
        _bulk = -1;
    }
    argv.reserve(_args.size());
    for (const arg_ref& a : _args) {
        argv.emplace_back(data.data() + a.offset, a.length);
    }
    _argc = 0;
    if (_args.capacity() > kept_args) {
        std::vector<arg_ref>().swap(_args);
    } else {
        _args.clear();
    }
    return parse_status::command;
}

parse_status request_parser::parse_inline(std::string_view data, std::size_t& pos,
                                          std::vector<std::string_view>& argv) {
    const char* base = data.data() + pos;
    const std::size_t avail = data.size() - pos;
    const void* nl = std::memchr(base, '\n', avail);
    if (nl == nullptr) {
        if (avail > _limits.max_inline) {
            return fail("ERR Protocol error: too big inline request");
        }
        return parse_status::need_more;
    }
    auto line = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
    const std::size_t consumed = line + 1;
    if (line > 0 && base[line - 1] == '\r') {
        --line;
    }
    std::vector<std::string> words;
    if (!split_args(std::string_view(base, line), words)) {
        return fail("ERR Protocol error: unbalanced quotes in request");
    }
    pos += consumed;
    for (std::string& w : words) {
        _owned.push_back(std::move(w));
        argv.emplace_back(_owned.back());
    }
    return parse_status::command;
}

void request_parser::release_consumed() noexcept {
    _held.clear();
    _gathered.clear();
    _owned.clear();
    _chunk_used = false;
}

} // namespace percore::kv::resp
